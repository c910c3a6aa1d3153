"""The speed-ups of `mapping.policy: auto` in sweeps change no number (tlm/mapping/plan.py `build_plan(shared=...)`,
tlm/mapping/mapper.py `_skeleton`).

`choose_policy` builds the four policies' plans from one shared dict (the policy-independent fields, the
tile packing, the balanced spread, the row cycles, a schedule two assignments both give), and
`build_schedule` takes the jobs and dependencies of a schedule from a cache keyed by its structure, so a
sweep's points that differ in timing or precision only share them.  Each plan must be the one it would be
alone, built from cold caches: the sweep's CSV is byte-identical either way, and so is every point's
whole Result (notes and mapping included).
"""
import pytest

from tlm.engines import analytic
from tlm.engines.registry import run
from tlm.mapping import mapper, schedule
from tlm.services import sweep
from tlm.cli.commands.sweep import engine_args
from tlm.mapping.plan import build_plan

# 16 points: 1 and 4 macros (4 runs all four policies), two precisions, two ADC speeds, two batch sizes
SETS = ["macro.count=1,4", "workload.precision=2,8", "adc.cycles_per_bit=1,3", "workload.batch=1,2"]


def _alone(arch, wl, input_density=None, policy=None, shared=None, steady=False):
    """build_plan as if nothing were shared: no shared dict, no cached schedule skeleton or base run."""
    from tlm.mapping import steady as st
    schedule.clear_skeletons()
    st._CACHE.clear()
    return build_plan(arch, wl, input_density, policy, steady=steady)


@pytest.fixture
def job(root, resnet8):
    from tlm.config.arch import load_arch
    arch = load_arch(root / "configs" / "imagine.yaml")  # mapping.policy: auto
    assert arch.mapping.policy == "auto"
    return sweep.Job(arch_dict=arch.to_dict(), workload=resnet8, settings=tuple(sweep.parse_settings(SETS, arch)),
                     engine="analytic", engine_args=engine_args("analytic"))


def test_sweep_csv_is_the_same_with_plans_built_alone(job, tmp_path, monkeypatch):
    schedule.clear_skeletons()
    fast, _ = sweep.run_sweep(job, tmp_path / "fast.csv")
    builder = sweep.PointBuilder(job)
    fast_results = [run("analytic", *builder.build(i)).to_json() for i in range(job.n_points)]
    monkeypatch.setattr(analytic, "build_plan", _alone)
    alone, _ = sweep.run_sweep(job, tmp_path / "alone.csv")
    assert fast.count("\n") == 1 + 16
    assert fast == alone
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    builder = sweep.PointBuilder(job)
    for i in range(job.n_points):
        assert run("analytic", *builder.build(i)).to_json() == fast_results[i], job.label(i)


def test_every_policy_from_a_shared_dict_equals_its_plan_alone(job):
    builder = sweep.PointBuilder(job)
    for i in range(job.n_points):
        arch, wl = builder.build(i)
        shared = {}
        for p in mapper.CONCRETE:
            ap = mapper.with_policy(arch, p)
            try:
                fast = analytic.simulate(ap, wl, plan=build_plan(ap, wl, shared=shared)).to_json()
            except Exception as e:  # a policy that does not fit refuses the same way alone
                fast = repr(e)
            try:
                alone = analytic.simulate(ap, wl, plan=_alone(ap, wl)).to_json()
            except Exception as e:
                alone = repr(e)
            assert fast == alone, (job.label(i), p)


def test_a_shared_dict_refuses_another_workload(job):
    builder = sweep.PointBuilder(job)
    arch, wl = builder.build(0)
    _arch, wl2 = builder.build(1)  # another batch: another workload object
    assert wl2 is not wl
    arch = mapper.with_policy(arch, "sequential")
    shared = {}
    build_plan(arch, wl, shared=shared)
    with pytest.raises(ValueError, match="same workload"):
        build_plan(arch, wl2, shared=shared)
