"""What the batches of a stream below its steady state share (tlm/mapping/steady.py): the line buffers of
the runs of B <= m images from one run's early part (`_short_line_buffers`), and auto's test that
replicate is pipelined's run, kept with the assignments it reads (tlm/engines/analytic._as_pipelined)."""
import dataclasses

import numpy as np
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.config.workload import load_workload
from tlm.engines.registry import run
from tlm.mapping.mapper import with_policy


def _late_repeat(root, monkeypatch, policy="pipelined"):
    """ResNet-8 at 1 bit on 3 macros (test_steady.py test_a_longer_probe_keeps_the_shorter_ones_forks): its
    state repeats late, so batches 2 .. m (m >= 8) are forks of one probe run."""
    from tlm.mapping import steady
    monkeypatch.setattr(steady, "_CACHE", {})
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), 1, 1, 1, batch=2)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 3}), policy)
    return a, wl


def test_short_batches_line_buffers_are_the_whole_runs(root, monkeypatch):
    """The line-buffer peak of each run of B = 2 .. m images (its rows made or freed before image B's
    release read off the run of m + k images, the rest of its own images still running then) is the peak
    over every row of every image of that run (linebuf.stream_line_buffers of its whole B x J ends), at
    1-bit and 8-bit outputs (the prefix kept per bits); and from some B on it reads fewer images than B."""
    from tlm.mapping import linebuf, steady
    a, wl = _late_repeat(root, monkeypatch)
    run("analytic", a, wl)
    (P,) = steady._CACHE.values()
    assert P.m >= 8
    J = len(P.sk1.res)
    seen, real = [], steady._held
    monkeypatch.setattr(steady, "_held", lambda w, sk, en, *x: seen.append(en.shape[0]) or real(w, sk, en, *x))
    w8 = with_precision(wl, 1, 1, 8, batch=2)  # (other bits on the same run: their own prefix)
    for w in (wl, w8):
        for B in range(2, P.m + 1):
            en = steady._fork(P, B)[1].reshape(B, J)
            whole = linebuf.stream_line_buffers(w, P.sk1, en, 0, J - 1)
            seen.clear()
            assert steady._short_line_buffers(P, w, B, en) == whole > 0, B
            assert seen[-1] <= B
        assert seen[-1] < P.m  # (the last batch's first images were done before its release)


@pytest.mark.parametrize("bits,same", [(4, True), (1, False)])
def test_replicate_as_pipelined_is_asked_once_per_architecture(root, monkeypatch, bits, same):
    """auto on ResNet-8 on 3 macros: at 4 bits replicate places every tile where pipelined does (no copy
    made), so it is skipped as pipelined's run; at 1 bit it makes copies (stacked on one macro) and is
    counted.  Either way the batches of one architecture and layers ask once (the answer reads the
    assignments alone, kept with them), and each batch's Result is its cold run's."""
    from tlm.engines import analytic
    from tlm.services.bench import cold
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), bits, bits, bits)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 3}), "auto")
    cold()
    calls, real = [], analytic._same_places
    monkeypatch.setattr(analytic, "_same_places", lambda *x: calls.append(1) or real(*x))
    got = [run("analytic", a, dataclasses.replace(wl, batch=B)) for B in (1, 2, 5)]
    assert len(calls) == 1
    assert [any("pipelined's run" in n for n in r.notes) for r in got] == [same] * 3
    for B, r in zip((1, 2, 5), got):
        cold()
        x = run("analytic", a, dataclasses.replace(wl, batch=B))
        assert x.cycles == r.cycles and x.notes == r.notes
        assert np.allclose(x.energy_pj, r.energy_pj, rtol=1e-12, atol=0)


def test_a_probe_without_a_repeat_goes_on_to_the_longer_one(root, monkeypatch):
    """ResNet-8 at 1 bit on 3 macros: no state repeats by image 7's release, so the 8-image probe goes on
    as the 32-image one (listsched._grow at image 8's release), one list-scheduled run, not two; and that
    run is the one set up with 32 images from the start: the same states at every release, the same forks,
    starts, ends and start order."""
    from tlm.mapping import schedule, steady
    a, wl = _late_repeat(root, monkeypatch)
    monkeypatch.setattr(steady, "PROBES", (8, 32))
    runs, real = [], schedule._time
    monkeypatch.setattr(schedule, "_time", lambda S, *x: runs.append(len(S.res)) or real(S, *x))
    run("analytic", a, wl)
    (P,) = steady._CACHE.values()
    J = len(P.sk1.res)
    assert P.w == 32 and P.m >= 8 and runs == [8 * J]  # (set up for 8 images, grown to 32)
    arch, w0, asg, ops, m, rc, group = P.ctx
    S0, snaps0 = P.runs[32]
    rep, forks = steady._Repeat(), {}
    S, snaps = steady._run(arch, w0, asg, ops, m, rc, group, 32, P.ii, rep, forks)  # (no growing)
    assert rep.found == (P.m, P.k) and snaps == snaps0 and sorted(forks) == sorted(P.forks)
    for b in forks:
        assert all(np.array_equal(x, y) for x, y in zip(forks[b], P.forks[b])), b
    for f in ("start", "end", "seq"):
        assert np.array_equal(getattr(S, f), getattr(S0, f)), f
    assert S.order == S0.order


def test_the_batches_of_a_stream_find_its_plan_from_what_they_share(root, monkeypatch):
    """mnist_cnn on 4 macros, auto (replicate chosen), batches 2 .. 9: what each stream's steady state is
    keyed by (one image's jobs and cycles: steady._context) is made once for the eight
    (steady._recent keeps it per the objects the batches share: analytic._kept); the plan is still found in
    steady._CACHE by that key, so a cleared cache (bench.cold) probes again; every Result is the one from
    the full job list."""
    from tlm.mapping import steady
    monkeypatch.setattr(steady, "_CACHE", {})
    monkeypatch.setattr(steady, "_RECENT", {})
    made, real = [], steady._context
    monkeypatch.setattr(steady, "_context", lambda *x: made.append(1) or real(*x))
    probes, real_run = [], steady._run
    monkeypatch.setattr(steady, "_run", lambda *x, **k: probes.append(1) or real_run(*x, **k))
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    a = with_policy(load_arch(root / "configs" / "imagine_4macro.yaml"), "auto")
    got = [run("analytic", a, dataclasses.replace(wl, batch=B)) for B in range(2, 10)]
    assert {r.extra["mapping"]["policy"] for r in got} == {"replicate"}
    streams = len(steady._CACHE)  # (replicate's, and pipelined's where its bound does not skip it)
    assert len(made) == len(probes) == streams <= 2  # (once per stream, not per batch)
    steady._CACHE.clear()
    again = run("analytic", a, dataclasses.replace(wl, batch=9))
    assert len(made) == streams and len(probes) == streams + len(steady._CACHE)
    assert again.cycles == got[-1].cycles
    monkeypatch.setattr(steady, "steady_schedule", lambda *x, **k: None)  # (the full job list)
    for B, r in zip(range(2, 10), got):
        x = run("analytic", a, dataclasses.replace(wl, batch=B))
        assert x.cycles == r.cycles and x.extra["mapping"] == r.extra["mapping"], B
