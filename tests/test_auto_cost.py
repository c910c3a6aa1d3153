"""What `mapping.policy: auto` saves in a sweep changes no row (tlm/engines/analytic.py, registry.run_group
brief, tlm/mapping/assign.py and packing.py): each point's row is the row of the best of the four pinned
policies, each run alone from cold caches (the exhaustive choice).

Which test fails when a mechanism is removed or wrong:
- the brief choice (analytic.contenders: only the policies with the fewest cycles get a Result; brief_best:
  the energy per inference as summary() computes it), the kept packings and assignments (a key missing a
  field they read: macros, row cycles through adc.cycles_per_bit, the precision), what auto keeps per
  architecture and layer objects (analytic._kept: row cycles, the assignments' memo, the policies'
  architectures), and the bounds a sweep stops asking (analytic._worth_asking):
  test_sweep_rows_are_the_exhaustive_best (36 points: 1, 2 and 4 macros, three precisions, two ADC
  speeds, batches 1 and 4; sequential, pipelined and replicate each win);
- a streamed policy left uncounted (its cycles read off its schedule): test_sweep_rows_are_the_exhaustive_best
  and test_a_streams_cycles_are_its_makespan;
- the sharing itself: test_assignments_and_packings_are_kept (one packing and one assignment per policy
  for points that differ in the batch only; a fresh one for another ADC speed, equal to its own built
  from cold caches) and test_a_bound_that_never_skips_is_asked_less (fewer stream bounds asked, the same
  rows).
"""
import csv
import dataclasses
import io

import pytest

from tlm.cli.commands.sweep import engine_args
from tlm.config.arch import load_arch
from tlm.config.overrides import format_cell
from tlm.engines import analytic
from tlm.engines.registry import run
from tlm.mapping import assign, mapper, packing
from tlm.services import sweep
from tlm.services.bench import cold
from tlm.services.sweep.evaluate import RESULT_COLUMNS, result_row

SETS = ["macro.count=1,2,4", "workload.precision=1,2,6", "adc.cycles_per_bit=1,3", "workload.batch=1,4"]


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput


def _job(arch, wl, sets):
    return sweep.Job(arch_dict=arch.to_dict(), workload=wl, settings=tuple(sweep.parse_settings(sets, arch)),
                     engine="analytic", engine_args=engine_args("analytic"))


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def _exhaustive(arch, wl):
    """The row of the best pinned policy (throughput, then energy per inference, ties to the simpler
    policy: mapping.objective's rule), every policy run alone from cold caches."""
    pinned = {}
    for q in mapper.CONCRETE:
        cold()
        try:
            pinned[q] = run("analytic", mapper.with_policy(arch, q), wl)
        except Exception:  # noqa: BLE001  (a resident policy on too few macros)
            pass
    best = min(pinned, key=lambda q: (pinned[q].cycles, pinned[q].summary()["energy_per_inference_pj"],
                                      mapper.CONCRETE.index(q)))
    row = result_row(pinned[best])
    return best, [format_cell(row[c]) for c in RESULT_COLUMNS]


def _rows_are_the_exhaustive_best(job, tmp_path) -> set:
    """Runs the sweep `job` from cold caches and checks every row against the exhaustive best pinned
    policy of its point (_exhaustive); returns the policies that won."""
    cold()
    rows = _rows(sweep.run_sweep(job, tmp_path / "a.csv")[0])
    assert len(rows) == job.n_points
    builder = sweep.PointBuilder(job)
    won = set()
    for i, r in enumerate(rows):
        best, cells = _exhaustive(*builder.build(i))
        assert [r[c] for c in RESULT_COLUMNS] == cells, job.label(i)
        won.add(best)
    return won


def test_sweep_rows_are_the_exhaustive_best(imagine, resnet8, tmp_path, monkeypatch):
    monkeypatch.setattr(analytic, "BOUND_GIVE_UP", 2)  # (so that the sweep stops asking some bounds here)
    monkeypatch.setattr(analytic, "BOUND_PROBE", 3)
    job = _job(imagine, resnet8, SETS)
    assert job.n_points == 36
    won = _rows_are_the_exhaustive_best(job, tmp_path)
    assert {"sequential", "pipelined", "replicate"} <= won, won  # (else the grid checks a choice less)


def test_assignments_and_packings_are_kept(imagine, resnet8, monkeypatch):
    a = dataclasses.replace(imagine, macro=dataclasses.replace(imagine.macro, count=4))
    made = {"assign": 0, "packing": 0}
    resident_assign, pack_ffd = assign._resident_assign, packing.pack_ffd

    def counting_assign(*x, **k):
        made["assign"] += 1
        return resident_assign(*x, **k)

    def counting_pack(*x, **k):
        made["packing"] += 1
        return pack_ffd(*x, **k)
    monkeypatch.setattr(assign, "_resident_assign", counting_assign)
    monkeypatch.setattr(packing, "pack_ffd", counting_pack)
    cold()
    got = {b: run("analytic", a, dataclasses.replace(resnet8, batch=b)) for b in (1, 2, 3)}
    # batch 1 makes the packing once and one assignment per resident policy it asks for; batches 2 and 3
    # read the same macros, tiles, rows and row cycles: nothing new
    first = dict(made)
    assert first["packing"] == 1 and 2 <= first["assign"] <= 3
    slow = dataclasses.replace(a, adc=dataclasses.replace(a.adc, cycles_per_bit=a.adc.cycles_per_bit + 2))
    got["slow"] = run("analytic", slow, resnet8)
    assert made["packing"] == 1 and made["assign"] > first["assign"]  # other row cycles: other assignments
    for k, res in got.items():  # each the run it is from cold caches
        arch, wl = (slow, resnet8) if k == "slow" else (a, dataclasses.replace(resnet8, batch=k))
        kept = res.to_json()
        cold()
        assert run("analytic", arch, wl).to_json() == kept, k


def test_a_bound_that_never_skips_is_asked_less(imagine, resnet8, tmp_path, monkeypatch):
    """4 macros at batches 4..43: replicate, counted first, beats sequential at every point, so its bound
    (against sequential alone) never skips it: after BOUND_GIVE_UP tries it is asked once in BOUND_PROBE.
    (Each point of the batch grid is its own workload, so run_group gets one point per call and runs it on
    its own, not through the grouping, which asks every bound: registry.RECORD_ONE.)"""
    from tlm.engines import registry
    from tlm.mapping import bounds
    asked = []
    stream_bound = bounds.stream_bound
    monkeypatch.setattr(bounds, "stream_bound", lambda *x, **k: asked.append(x[2].policy) or stream_bound(*x, **k))
    a = dataclasses.replace(imagine, macro=dataclasses.replace(imagine.macro, count=4))
    job = _job(a, resnet8, ["workload.batch=4..43"])
    texts = {}
    for give_up in (10**9, analytic.BOUND_GIVE_UP):
        monkeypatch.setattr(analytic, "BOUND_GIVE_UP", give_up)
        asked.clear()
        cold()
        texts[give_up] = sweep.run_sweep(job, tmp_path / f"{give_up}.csv")[0]
        n = asked.count("replicate")
        if give_up == 10**9:
            assert n == 40 and {r["policy"] for r in _rows(texts[give_up])} == {"replicate"}
        else:  # 16 tries, then 16 points held back, the last of them asked (a probe), then 8 held back
            assert not registry.RECORD_ONE and give_up == analytic.BOUND_PROBE == 16 and n == 16 + 1
    assert texts[10**9] == texts[analytic.BOUND_GIVE_UP]


def test_a_streams_cycles_are_its_makespan(imagine, resnet8):
    """A sweep's auto leaves a streamed policy uncounted until it may win (analytic.policy_plans lazy): its
    cycles are then its schedule's makespan, which the counts share out over the rows exactly
    (mapper.clock_shares), at one image and from the steady state (batch 6)."""
    from tlm.config.overrides import with_precision
    seen = 0
    for n, p, b in ((1, 1, 1), (4, 2, 1), (4, 6, 6), (5, 1, 6)):
        a = dataclasses.replace(imagine, macro=dataclasses.replace(imagine.macro, count=n))
        w = dataclasses.replace(with_precision(resnet8, input=p, weight=p, output=p), batch=b)
        lazy, _ = analytic.policy_plans(a, w, steady=True, lazy=True)
        full, _ = analytic.policy_plans(a, w, steady=True)
        for q in set(lazy) & set(mapper.STREAM):
            assert lazy[q][2] is None
            assert analytic.cycles_of(lazy[q]) == int(full[q][2]["cycles"].sum()) == full[q][1].schedule.makespan
            seen += 1
    assert seen >= 4
