"""A structure's key (tlm/mapping/template.key) keeps each frozen architecture's part per architecture
object (`_arch_key`): a sweep's point asks twice, its look before the points run (tlm/engines/pretime.py)
and its plan.  test_arch_part_kept_per_object fails without it; test_last_key_is_one_object without the
last key kept as one object (template._LAST)."""
import dataclasses

from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.mapping import template


def test_arch_part_kept_per_object(root, monkeypatch):
    """The second key of one architecture object reads no section; an equal architecture (another
    object) and one whose ADC differs in a timing setting get the same key, one with another macro count
    (structural) another key."""
    arch = load_arch(root / "configs" / "imagine.yaml")
    wl = load_workload(root / "workloads" / "resnet8.yaml")
    template.clear()
    read = []
    real = template._section_key
    monkeypatch.setattr(template, "_section_key", lambda n, s: read.append(n) or real(n, s))
    k1 = template.key(arch, wl)
    assert read and k1 is not None
    del read[:]
    assert template.key(arch, wl) == k1 and read == []
    same = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro))
    timing = dataclasses.replace(arch, adc=dataclasses.replace(arch.adc, cycles_per_bit=arch.adc.cycles_per_bit + 1))
    other = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=arch.macro.count + 1))
    assert template.key(same, wl) == k1 and template.key(timing, wl) == k1
    assert template.key(other, wl) != k1
    assert template.key(arch, dataclasses.replace(wl, batch=wl.batch + 1)) != k1  # (the workload's part: asked)


def test_pretime_look_keys_the_plans_architecture(root, monkeypatch):
    """tlm/engines/pretime.py looks at an `auto` point's structure through the architecture its plans are
    built on (auto's sequential one, kept for its run: analytic._with_policy): the point's run then computes
    no key's architecture part again (ResNet-8 at 8 bits on one macro: no stream fits, the look stops there)."""
    from tlm.engines import pretime
    from tlm.engines.registry import run
    from tlm.mapping.mapper import with_policy
    from tlm.services.bench import cold
    arch = with_policy(load_arch(root / "configs" / "imagine.yaml"), "auto")
    points = [dataclasses.replace(arch, adc=dataclasses.replace(arch.adc, cycles_per_bit=c)) for c in (1, 2)]
    wl = load_workload(root / "workloads" / "resnet8.yaml")
    cold()
    assert pretime.pretime_streams(points, wl) == 0
    read = []
    real = template._section_key
    monkeypatch.setattr(template, "_section_key", lambda n, s: read.append(n) or real(n, s))
    res = run("analytic", points[1], wl)
    assert read == [] and res.extra["mapping"]["policy"] == "sequential"


def test_last_key_is_one_object(root):
    """The key asked again for the same architecture and workload objects is the same object, hashed once
    (template._LAST: a point's look, then its plan); another workload object (even an equal one) and another
    architecture get their own, equal where they should be."""
    arch = load_arch(root / "configs" / "imagine.yaml")
    wl = load_workload(root / "workloads" / "resnet8.yaml")
    template.clear()
    k1 = template.key(arch, wl)
    assert template.key(arch, wl) is k1 and hash(k1) == hash(tuple(k1))
    wl2 = dataclasses.replace(wl)
    k2 = template.key(arch, wl2)
    assert k2 is not k1 and k2 == k1
    other = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=arch.macro.count + 1))
    assert template.key(other, wl) != k1 and template.key(arch, wl) == k1
