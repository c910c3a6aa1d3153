"""Policy sequential's assignment and description are kept between the batches of one architecture, Mapping
and layer list (tlm/mapping/template._batchless: a structure per batch keeps them for that batch only):
a later batch's plan reads the same values a plan built from scratch has, and the kept ones are the first
batch's objects.  Fails when nothing is kept (the objects are new) or when a value is kept for objects it
was not made from (another macro count: a different description)."""
import dataclasses

import numpy as np

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.mapping import mapper, template
from tlm.mapping.plan import build_plan
from tlm.services.bench import cold


def _seq(root, count):
    return mapper.with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": count}),
                              "sequential")


def test_a_later_batch_reads_the_first_batchs_values(root, resnet8):
    cold()
    arch = _seq(root, 3)
    p1 = build_plan(arch, dataclasses.replace(resnet8, batch=1), None, steady=True)
    shared = {"mapping": p1.mapping}  # (the plans of a sweep's batches share the Mapping: analytic._kept)
    p2 = build_plan(arch, dataclasses.replace(resnet8, batch=2), None, steady=True, shared=shared)
    assert p2.mapping is p1.mapping
    kept = template._BATCHLESS["sequential_desc"][1][0]
    assert p2.assignment[0][0] is p1.assignment[0][0] and p2.mapping_desc["layers"] is p1.mapping_desc["layers"]
    cold()
    fresh = build_plan(arch, dataclasses.replace(resnet8, batch=2), None, steady=True)
    assert p2.mapping_desc == fresh.mapping_desc and p2.mapping_desc == kept
    assert all(np.array_equal(a, b) for x, y in zip(p2.assignment, fresh.assignment) for a, b in zip(x, y))
    other = build_plan(_seq(root, 5), dataclasses.replace(resnet8, batch=2), None, steady=True)
    assert other.mapping_desc["macros"] == 5 and other.mapping_desc != p2.mapping_desc


def test_auto_passes_the_kept_mapping_to_the_next_batchs_plans(root, resnet8):
    """auto keeps the Mapping with the inputs of its bounds (analytic._inputs), so the next batch's plans (the
    same architecture and layers) read it: one Mapping object, the sequential description kept."""
    from tlm.engines import analytic
    cold()
    arch = with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 4})
    plans = [analytic.policy_plans(arch, dataclasses.replace(resnet8, batch=b), steady=True, lazy=True)[0]
             for b in (2, 3)]
    seq = [analytic._plan_of(p["sequential"]) for p in plans]
    assert seq[1].mapping is seq[0].mapping
    assert seq[1].mapping_desc["layers"] is seq[0].mapping_desc["layers"]
