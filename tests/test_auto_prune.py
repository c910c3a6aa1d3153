"""`mapping.policy: auto` counts only the policies that can win, and chooses exactly as if it had counted
them all (tlm/engines/analytic.policy_plans; the bounds in tlm/mapping/bounds.py).

Which test fails when a mechanism is removed:
- any bound that is not a lower bound, or a skip that changes the choice: test_auto_is_the_best_pinned_policy
  (every point's auto row against the best of the four pinned runs, which skip nothing);
- resident's bound (layers one after the other + transfers + post-processing), the replicate-is-pipelined
  skip, or the stream bound: test_auto_builds_only_what_can_win (plans and schedules counted);
- the one-macro shortcut of the replicate walk (tlm/mapping/replicate.search): test_one_macro_walk_stays_put
  (no step taken, and the walk's own answer);
- the walk kept under its row cycles divided by their common factor: test_walk_kept_for_scaled_row_cycles;
- the walk's packings kept between walks (replicate._ffd): test_walks_share_their_packings;
- the PRUNE switch compared both ways through a whole sweep: test_sweep_bytes_with_and_without_pruning;
- the stream bound's batch-independent terms kept between points (bounds._TERMS):
  test_stream_bound_terms_kept_across_batches.
"""
import dataclasses

import numpy as np
import pytest

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.config.workload import VIEW_TYPES
from tlm.engines import analytic
from tlm.engines.registry import run
from tlm.mapping import mapper, reuse, steady

# (macros, precision, batch) of ResNet-8 on IMAGINE: sequential wins (1, 8, 1); pipelined (1, 1, 1),
# (2, 4, 1), (5, 1, 1), (3, 3, 4); replicate (3, 6, 1), (4, 6, 1), (5, 2, 4); resident is skipped by its
# bound everywhere a resident policy fits, replicate as pipelined's twin on one or two macros, pipelined by
# the stream bound at (5, 2, 4)
POINTS = [(1, 8, 1), (1, 1, 1), (2, 4, 1), (5, 1, 1), (3, 3, 4), (3, 6, 1), (4, 6, 1), (5, 2, 4)]


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput


def _point(arch, wl, n, p, b):
    a = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=n))
    return a, dataclasses.replace(with_precision(wl, input=p, weight=p, output=p), batch=b)


def test_auto_is_the_best_pinned_policy(imagine, resnet8):
    won, skips = set(), set()
    for n, p, b in POINTS:
        a, w = _point(imagine, resnet8, n, p, b)
        got = run("analytic", a, w)
        pinned = {}
        for q in mapper.CONCRETE:
            try:
                pinned[q] = run("analytic", mapper.with_policy(a, q), w)
            except Exception:  # noqa: BLE001  (a resident policy on too few macros)
                pass
        best = min(pinned, key=lambda q: (mapper.score(pinned[q], "throughput"), mapper.CONCRETE.index(q)))
        assert got.row() == pinned[best].row(), (n, p, b)
        for k, v in got.per_layer.items():
            assert np.array_equal(v, pinned[best].per_layer[k]), (n, p, b, k)
        assert np.array_equal(got.energy_pj, pinned[best].energy_pj), (n, p, b)
        won.add(best)
        note = got.notes[-1]
        for kind in ("its layers one after the other", "no copies, every tile where pipelined",
                     "its jobs' chains and busiest block"):
            if kind in note:
                skips.add(kind)
                if kind != "no copies, every tile where pipelined":  # a bound: below the skipped one's cycles
                    q, lb = _skipped(note, kind)
                    assert pinned[best].cycles < lb <= pinned[q].cycles, (n, p, b, q)
    assert won == {"sequential", "pipelined", "replicate"}  # (resident never wins on throughput here)
    assert len(skips) == 3  # (else this grid checks a skip less)


def _skipped(note, kind):
    part = next(s for s in note.split("; ") if kind in s)
    q = part.split(":")[0].split(", ")[-1]
    return q, int(part.split("take at least ")[1].split(" cycles")[0].replace(",", ""))


def _counting(monkeypatch):
    """Count the plans built per policy and the schedules built, job list or steady state (a run from cold
    caches)."""
    seen = {"plans": [], "schedules": 0}
    build_plan, build_schedule, steady_schedule = analytic.build_plan, mapper.build_schedule, steady.steady_schedule

    def plan(a, *args, **kw):
        seen["plans"].append(a.mapping.policy)
        return build_plan(a, *args, **kw)

    def schedule(*args, **kw):
        seen["schedules"] += 1
        return build_schedule(*args, **kw)
    monkeypatch.setattr(analytic, "build_plan", plan)
    def from_steady(*args, **kw):
        S = steady_schedule(*args, **kw)
        seen["schedules"] += S is not None
        return S
    monkeypatch.setattr(mapper, "build_schedule", schedule)
    monkeypatch.setattr(steady, "steady_schedule", from_steady)
    reuse.clear()
    with steady._LOCK:
        steady._CACHE.clear()
    return seen


def test_auto_builds_only_what_can_win(imagine, resnet8, monkeypatch):
    # one macro, 1-bit: the 13 tiles fit one macro.  replicate's walk cannot leave its start on one macro
    # and pipelined's spread puts every tile at the same place: replicate is pipelined's run, not counted.
    # resident, layers one after the other, takes at least sum over layers of tiles x (first row + further
    # rows) + the post-processing + the image in and out (below, by hand), more than pipelined's cycles:
    # its plan and schedule are not built.  So: the sequential and the pipelined plan, one schedule.
    a, w = _point(imagine, resnet8, 1, 1, 1)
    seen = _counting(monkeypatch)
    got = run("analytic", a, w)
    assert sorted(seen["plans"]) == ["pipelined", "sequential"] and seen["schedules"] == 1
    from tlm.hw import dma as hw_dma
    from tlm.hw import postproc as hw_pp
    from tlm.mapping.packing import comp_mapping
    from tlm.mapping.plan import digital_ops
    m, comp = comp_mapping(a, w)
    want = 0
    for j, i in enumerate(comp):  # one macro holds every tile of the layer
        r0, r1 = mapper.row_cycles(a, w.layers[i], int(m.outputs_per_tile[j]))
        want += int(m.tiles[j]) * (r0 + (mapper._hw(w.layers[i].out_shape)[0] - 1) * r1)
    want += sum(int(hw_pp.op_cycles(a, digital_ops(l))) for l in w.layers
                if not l.is_compute and l.type not in VIEW_TYPES)
    assert tuple(w.input_shape) == (3, 32, 32) and w.input_bits == 1 and w.layers[-1].out_shape == (10,)
    want += hw_dma.transfer_cycles(a, 3 * 32 * 32 * 1) + hw_dma.transfer_cycles(a, 10 * 1)  # 1-bit image, 10 logits
    assert f"resident: its layers one after the other take at least {want:,} cycles" in got.notes[-1]
    assert got.cycles < want
    # 5 macros, 2-bit, batch 4: replicate (counted first) beats the stream bound of pipelined, whose
    # schedule is then not built: one schedule (replicate's), no resident one
    a, w = _point(imagine, resnet8, 5, 2, 4)
    seen = _counting(monkeypatch)
    run("analytic", a, w)
    assert sorted(seen["plans"]) == ["replicate", "sequential"] and seen["schedules"] == 1


def test_stream_bound_at_every_batch(imagine, resnet8):
    """Below the stream's own cycles, and at least the busiest resource's work (the old bound), at batch 1
    too; on 5 macros the fill it adds is visible."""
    from tlm.mapping.bounds import busy_bound, stream_bound
    from tlm.mapping.plan import digital_ops
    stronger = 0
    for n, p, b in ((3, 6, 1), (5, 1, 1), (5, 2, 4), (1, 1, 1)):
        a, w = _point(imagine, resnet8, n, p, b)
        ops = [digital_ops(l) for l in w.layers]
        for q in mapper.STREAM:
            aq = mapper.with_policy(a, q)
            asg = mapper.assign(aq, w, q, ops)
            lb, busy = stream_bound(aq, w, asg, ops), busy_bound(aq, w, asg, ops)
            assert busy <= lb <= run("analytic", aq, w).cycles, (n, p, b, q)
            stronger += lb > busy
    assert stronger >= 4


def test_one_macro_walk_stays_put(imagine, resnet8):
    """replicate.search on one macro returns at once what the walk's first (tight) step returns."""
    from tlm.mapping import replicate
    from tlm.mapping.packing import comp_mapping, packing
    for p in (1, 2):
        a, w = _point(imagine, resnet8, 1, p, 1)
        m, comp = comp_mapping(a, w)
        rects, m, comp, items, need, where = packing(a, w, m)
        assert need == 1
        rc = mapper.layer_row_cycles(a, w, m, comp)
        H = {i: mapper._hw(w.layers[i].out_shape)[0] for i in comp}
        walk = replicate._Walk(a, rects, comp, rc, H)
        f0 = {i: 1 for i in comp}
        f, places, _ = replicate._step(walk, (f0, dict(where), walk.loads(f0, where, 1)), 1, tight=True)
        steps = []
        step = replicate._step
        replicate._WALKS.clear()
        replicate._step = lambda *x, **k: steps.append(1) or step(*x, **k)
        try:
            assert replicate.search(a, rects, comp, rc, H, need, where, 1) == (f, places)
        finally:
            replicate._step = step
        assert not steps  # (no walk: the shortcut)


def _walk_inputs(imagine, resnet8):
    from tlm.mapping.packing import comp_mapping, packing
    a, w = _point(imagine, resnet8, 4, 6, 1)
    m, comp = comp_mapping(a, w)
    rects, m, comp, items, need, where = packing(a, w, m)
    rc = mapper.layer_row_cycles(a, w, m, comp)
    H = {i: mapper._hw(w.layers[i].out_shape)[0] for i in comp}
    return a, rects, comp, rc, H, need, where


def _forget_walks():
    from tlm.mapping import replicate
    with replicate._LOCK:
        replicate._PACKS.clear()
        replicate._WALKS.clear()


def test_walks_share_their_packings(imagine, resnet8, monkeypatch):
    """The replicate walk's packings (which tiles fit one macro) read no cycle count: the same walk run
    again (its kept steps forgotten) packs nothing anew (tlm/mapping/replicate._ffd)."""
    from tlm.mapping import replicate
    a, rects, comp, rc, H, need, where = _walk_inputs(imagine, resnet8)
    calls = []
    ffd = replicate.pack_ffd
    monkeypatch.setattr(replicate, "pack_ffd", lambda *x: calls.append(1) or ffd(*x))
    _forget_walks()
    first = replicate.search(a, rects, comp, rc, H, need, where, 4)
    n_first = len(calls)
    with replicate._LOCK:
        replicate._WALKS.clear()
    assert replicate.search(a, rects, comp, rc, H, need, where, 4) == first
    assert n_first > 0 and len(calls) == n_first


def test_walk_kept_for_scaled_row_cycles(imagine, resnet8, monkeypatch):
    """Row cycles all x3 (a sweep's ADC and DP speeds changed together) compare as before: the kept walk
    answers without a step, and its answer is the one a fresh walk of the tripled cycles gives."""
    from tlm.mapping import replicate
    a, rects, comp, rc, H, need, where = _walk_inputs(imagine, resnet8)
    rc3 = {i: (3 * r0, 3 * r1) for i, (r0, r1) in rc.items()}
    _forget_walks()
    fresh = replicate.search(a, rects, comp, rc3, H, need, where, 4)
    _forget_walks()
    replicate.search(a, rects, comp, rc, H, need, where, 4)
    steps = []
    step = replicate._step
    monkeypatch.setattr(replicate, "_step", lambda *x, **k: steps.append(1) or step(*x, **k))
    assert replicate.search(a, rects, comp, rc3, H, need, where, 4) == fresh
    assert not steps


def test_sweep_bytes_with_and_without_pruning(imagine, resnet8, tmp_path, monkeypatch):
    """A sweep with auto writes the same CSV whether the policies that cannot win are counted or not
    (analytic.PRUNE), on a grid where sequential, pipelined and replicate each win and every skip occurs."""
    from tlm.cli.commands.sweep import engine_args
    from tlm.services import sweep
    from tlm.services.bench import cold
    sets = ["macro.count=1,3,5", "workload.precision=1,2,6,8", "workload.batch=1,4"]
    settings = sweep.parse_settings(sets, imagine)
    job = sweep.Job(arch_dict=imagine.to_dict(), workload=resnet8, settings=tuple(settings), engine="analytic",
                    engine_args=engine_args("analytic"))
    texts = {}
    for prune in (True, False):
        monkeypatch.setattr(analytic, "PRUNE", prune)
        cold()
        texts[prune] = sweep.run_sweep(job, tmp_path / f"{prune}.csv")[0]
    assert texts[True] == texts[False]
    import csv
    import io
    policies = [r["policy"] for r in csv.DictReader(io.StringIO(texts[True]))]
    assert {"sequential", "pipelined", "replicate"} <= set(policies), policies


def test_stream_bound_terms_kept_across_batches(imagine, resnet8):
    """What the stream bound walks (one image's job chains and each resource's head, work and tail) does not
    depend on the batch: points differing only in it walk the jobs once, and the bound is the same number as
    a walk from scratch (head + B x work + tail is linear in B)."""
    from tlm.mapping import bounds
    from tlm.mapping.plan import digital_ops
    a, w = _point(imagine, resnet8, 5, 2, 4)
    ops = [digital_ops(l) for l in w.layers]
    aq = mapper.with_policy(a, "pipelined")
    asg = mapper.assign(aq, w, "pipelined", ops)
    got = {}
    with bounds._LOCK:
        bounds._TERMS.clear()
    for b in (4, 5, 6, 7):
        got[b] = bounds.stream_bound(aq, dataclasses.replace(w, batch=b), asg, ops)
    kept = len(bounds._TERMS)
    assert 1 <= kept < 4  # (a batch may change the job granularity, hence the skeleton)
    for b in (4, 5, 6, 7):
        with bounds._LOCK:
            bounds._TERMS.clear()
        assert bounds.stream_bound(aq, dataclasses.replace(w, batch=b), asg, ops) == got[b]
    assert got[4] < got[5] < got[6] < got[7]
