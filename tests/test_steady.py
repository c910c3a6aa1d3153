"""A stream's steady state (tlm/mapping/steady.py): the schedule of B images from a few images' probe runs,
number for number the full job list's, at a cost that does not grow with the batch; the pacing of the
stream's inputs it rests on (tlm/mapping/schedule._time)."""
import dataclasses

import numpy as np
import pytest

from helpers import with_changes, workload
from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.engines.registry import run
from tlm.mapping.mapper import with_policy


def analytic(a, w):
    return run("analytic", a, w)


def _same(x, y):
    assert x.cycles == y.cycles
    assert x.extra["mapping"] == y.extra["mapping"]  # makespan, fill, drain, line buffers, image latency...
    for k in x.per_layer:
        assert np.array_equal(x.per_layer[k], y.per_layer[k]), k
    assert np.allclose(x.energy_pj, y.energy_pj, rtol=1e-12, atol=0)
    assert x.notes == y.notes


@pytest.fixture
def fresh(monkeypatch):
    """Probe runs of 4, else 16 images, cold caches; the plans found (`found`) and a switch for the full
    schedule (`full()`)."""
    from tlm.mapping import steady
    monkeypatch.setattr(steady, "PROBES", (4, 16))
    monkeypatch.setattr(steady, "_CACHE", {})
    found, real = [], steady._extend
    monkeypatch.setattr(steady, "_extend", lambda *x: found.append(x[2]) or real(*x))

    def full(on=True):
        monkeypatch.setattr(steady, "steady_schedule", (lambda *a, **k: None) if on else real_steady)
    real_steady = steady.steady_schedule
    return found, full


# (workload, architecture, macros, DMA channels, policy, batches, period in images)
CASES = [
    ("mnist_cnn", "imagine_4macro", 4, 1, "pipelined", range(1, 17), 1),
    ("mnist_cnn", "imagine_4macro", 4, 1, "replicate", [*range(1, 17), 40], 1),  # 40: the peak from fewer
    ("mnist_cnn", "imagine", 2, 2, "replicate", range(1, 17), 1),
    ("mnist_cnn", "imagine", 8, 1, "replicate", (4, 7, 13, 16), 1),
    ("ds_cnn", "imagine", 4, 1, "replicate", (5, 9, 16), 1),
    ("resnet8", "imagine", 8, 1, "pipelined", (5, 9, 16), 1),
    ("resnet8", "imagine", 12, 2, "replicate", (16, 19, 40), 2),  # multi-rate: every 2 images
    ("ds_cnn", "imagine", 8, 1, "pipelined", [*range(4, 17), 41, 60], 2),  # multi-rate: the state repeats every 2 images
]


@pytest.mark.parametrize("name,config,macros,channels,policy,batches,k", CASES)
def test_steady_state_is_the_full_schedule(root, fresh, name, config, macros, channels, policy, batches, k):
    """The analytic Result from the steady state is the one from the full job list, number for number, at
    every batch (each period's jobs laid out, the line-buffer peak over every row of every image)."""
    found, full = fresh
    wl = load_workload(root / "workloads" / f"{name}.yaml")
    a = with_policy(with_changes(load_arch(root / "configs" / f"{config}.yaml"),
                                 **{"macro.count": macros, "dma.channels": channels}), policy)
    for B in batches:
        w = dataclasses.replace(wl, batch=B)
        full(False)
        x = analytic(a, w)
        full(True)
        _same(x, analytic(a, w))
    assert found and {p.k for p in found} == {k}  # taken, with the period expected (not full against full)


def test_scheduled_images_stay_bounded_as_the_batch_grows(root, monkeypatch):
    """Batches 50 and 400 schedule the same jobs (the probe run, the first size's job list: its state
    repeats within it), never the batch's own; and the 350 images more take 350 periods, each the
    bottleneck's work per image (macro3's conv1 rows)."""
    from tlm.mapping import schedule, steady
    monkeypatch.setattr(steady, "_CACHE", {})
    jobs, real = [], schedule._time
    monkeypatch.setattr(schedule, "_time", lambda S, *x: jobs.append(len(S.res)) or real(S, *x))
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    a = with_policy(load_arch(root / "configs" / "imagine_4macro.yaml"), "replicate")
    counts, ms = [], []
    for B in (50, 400):
        steady._CACHE.clear()
        jobs.clear()
        r = analytic(a, dataclasses.replace(wl, batch=B))
        counts.append(sum(jobs))
        ms.append(r.extra["mapping"])
    # jobs per image: one per output row (conv1's 28 rows over its 3 copies, pool1 14, conv2 14, pool2 7,
    # flatten 1), fc's one row on each of the 2 macros holding its 2 row tiles, the image in and out
    J = 28 + 14 + 14 + 7 + 1 + 2 + 2
    assert counts[0] == counts[1] == steady.PROBES[0] * J
    assert ms[1]["makespan_cycles"] - ms[0]["makespan_cycles"] == 350 * ms[1]["stage_cycles"][ms[1]["bottleneck"]]


def test_inputs_are_paced_by_the_initiation_interval(arch):
    """A flow shop (tests/test_mapper.py's two layers on two macros, batch 4): stages per image
    [in 18, L1 268, L2 100, out 14], so ii = 268, the busiest resource's work per image, and image b's input
    transfer starts at b x 268 (its channel is otherwise idle); the makespan is unchanged by the pacing:
    fill 286 + 3 x 268 + drain 114 = 1204."""
    from tlm.mapping.plan import build_plan
    wl = workload([{"name": "l1", "type": "conv2d", "out_channels": 8, "kernel": 1,
                    "precision": {"input": 8, "weight": 8, "output": 2}},
                   {"name": "l2", "type": "conv2d", "out_channels": 8, "kernel": 1,
                    "precision": {"input": 2, "weight": 8, "output": 8}}], shape=(16, 1, 4), batch=4)
    a = with_policy(with_changes(arch, **{"macro.count": 2, "dma.channels": 2, "dma.latency_cycles": 10,
                                          "dma.bandwidth_bits_per_cycle": 64, "macro.dp_cycles_per_bit": 8}),
                    "pipelined")
    S = build_plan(a, wl).schedule
    assert S.ii == 268
    inputs = [int(S.start[j]) for j in range(len(S.res)) if S.layer[j] == 2 and S.row[j] == 0]
    assert inputs == [0, 268, 536, 804]
    assert S.makespan == 1204
    one = build_plan(a, dataclasses.replace(wl, batch=1)).schedule
    assert one.ii == 0  # one image: nothing to pace


def test_batches_up_to_the_repeat_come_from_the_probe_run(root, monkeypatch):
    """mnist_cnn on 2 macros and 2 DMA channels, replicate: its state repeats from an image m >= 2 on, so
    batches 2 .. m are the probe run up to their last image's release, then without it (listsched._time
    forks), and m + 1 .. 20 lay out its period over a base run of m + 1 .. m + k images (forks too): the 19
    batches schedule one job list, the probe's (their numbers: test_steady_state_is_the_full_schedule)."""
    from tlm.mapping import schedule, steady
    monkeypatch.setattr(steady, "_CACHE", {})
    runs, real = [], schedule._time
    monkeypatch.setattr(schedule, "_time", lambda S, *x: runs.append(len(S.res)) or real(S, *x))
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"),
                                 **{"macro.count": 2, "dma.channels": 2}), "replicate")
    for B in range(2, 21):
        analytic(a, dataclasses.replace(wl, batch=B))
    (P,) = steady._CACHE.values()
    assert P.m >= 2 and P.m + P.k < 20  # (batches below and past the repeat)
    assert len(runs) == 1 and sorted(P.forks) == list(range(2, P.m + P.k + 1))


def test_kept_job_costs_follow_the_fields_they_read(root):
    """schedule.one_image keeps its jobs' cycles per skeleton, row cycles, digital ops and image bits, and
    the values of the architecture fields they read: a DMA twice as wide halves the image transfers
    (ResNet-8's 3 x 32 x 32 x 8-bit image: latency + 24,576 / rate cycles), never the kept costs; and a
    recording architecture notes the fields on a hit too (tlm/mapping/reuse.py shares plans by them)."""
    from tlm.mapping import reuse, schedule
    from tlm.mapping.plan import build_plan, digital_ops
    wl = load_workload(root / "workloads" / "resnet8.yaml")
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 4}), "pipelined")
    p = build_plan(a, wl)
    ops = [digital_ops(l) for l in wl.layers]
    schedule.clear_skeletons()

    def image_in(arch):
        _k, sk, spec, *_ = schedule.one_image(arch, wl, p.multi, ops, p.mapping)
        return spec[sk.spec_of[0]]  # (job 0: the image's input transfer)
    lat, rate = a.dma.latency_cycles, a.dma.bandwidth_bits_per_cycle
    assert image_in(a) == lat + -(-24576 // rate)
    wide = with_changes(a, **{"dma.bandwidth_bits_per_cycle": 2 * rate})
    assert image_in(wide) == lat + -(-24576 // (2 * rate))
    assert image_in(a) == lat + -(-24576 // rate)
    read = set()
    assert image_in(reuse.recording(a, read)) == lat + -(-24576 // rate)  # (a hit: the costs of `a`)
    assert ("dma", "bandwidth_bits_per_cycle") in read


def test_a_streams_dependencies_are_image_0s_shifted():
    """schedule.ImageDeps: 3 jobs an image (in; a row after it; out after both), 2 images: image 1's jobs
    are 3 .. 5 and depend on image 1's, the same list as written out job by job."""
    from tlm.mapping.schedule import ImageDeps
    d = ImageDeps([[], [0], [0, 1]], 2)
    assert len(d) == 6 and d == [[], [0], [0, 1], [], [3], [3, 4]]
    assert d[-1] == [3, 4] and d[1:3] == [[0], [0, 1]] and d.counts() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(IndexError):
        d[6]


def test_kept_plans_stay_within_the_jobs_held(root, monkeypatch):
    """Past MAX_JOBS_HELD jobs (probe runs and their forks), the least recently used plans go: with room
    for one probe run only, a second stream's plan leaves the first one's out; the latest stays."""
    from tlm.mapping import steady
    monkeypatch.setattr(steady, "_CACHE", {})
    monkeypatch.setattr(steady, "MAX_JOBS_HELD", 1)
    wl = dataclasses.replace(load_workload(root / "workloads" / "mnist_cnn.yaml"), batch=4)
    a = load_arch(root / "configs" / "imagine_4macro.yaml")
    analytic(with_policy(a, "replicate"), wl)
    (first,) = steady._CACHE.values()
    analytic(with_policy(a, "pipelined"), wl)
    (second,) = steady._CACHE.values()
    assert second is not first and second.jobs >= steady.PROBES[0] * 2  # (at least 2 jobs an image)


def test_a_longer_probe_keeps_the_shorter_ones_forks(root, monkeypatch):
    """ResNet-8 at 1 bit on 3 macros, pipelined: its state repeats late (one macro's leftover busy time at
    each release shrinks image by image until it settles), so the 8-image probe finds no repeat and goes on
    as the 32-image one (listsched._grow) -- the same run up to image 7's release --, its forks (batches
    2 .. 7) kept and the later ones forked on.  Each fork is the paced schedule of its b images built whole
    (listsched._time over b images, no probe, no fork), start for start."""
    from tlm.config.overrides import with_precision
    from tlm.mapping import schedule, steady
    monkeypatch.setattr(steady, "_CACHE", {})
    monkeypatch.setattr(steady, "PROBES", (8, 32))
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), 1, 1, 1, batch=2)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 3}), "pipelined")
    analytic(a, wl)
    (P,) = steady._CACHE.values()
    assert P.w == 32 and P.m >= 8  # (the first probe's forks kept, the longer run's own past them)
    arch, w0, asg, ops, m, rc, group = P.ctx
    for b in range(2, P.m + P.k + 1):
        S = schedule.build_schedule(arch, dataclasses.replace(w0, batch=b), asg, ops, stream=True, m=m, rc=rc,
                                    group=group, ii=P.ii)
        st, en = steady._fork(P, b)
        assert np.array_equal(st, S.start) and np.array_equal(en, S.end), b


def test_a_fork_holds_the_jobs_it_started_and_the_probe_the_images_released(root, monkeypatch):
    """The probe run of test_a_longer_probe_keeps_the_shorter_ones_forks stops at image m + k's release:
    its arrays hold the jobs of images 0 .. m + k - 1 only (later images were never released), not the
    32 images' it grew to; and each fork b holds only the jobs it started itself -- those of images
    < b the probe had not started at image b's release (every other job keeps the probe's times, which
    steady._fork lays out: checked against whole runs there), run by the forks' own loop (listsched._drain,
    no release, no probe state)."""
    from tlm.config.overrides import with_precision
    from tlm.mapping import steady
    monkeypatch.setattr(steady, "_CACHE", {})
    monkeypatch.setattr(steady, "PROBES", (8, 32))
    from tlm.mapping import listsched
    loops, real = [], listsched._events
    monkeypatch.setattr(listsched, "_events", lambda *x: loops.append(x[2] is not None) or real(*x))
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), 1, 1, 1, batch=2)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": 3}), "pipelined")
    analytic(a, wl)
    (P,) = steady._CACHE.values()
    assert loops == [True, True]  # (the probe run, before and after it grew; its forks run in listsched._drain)
    S0, snaps = P.runs[P.w]
    J = len(P.sk1.res)
    assert len(S0.start) == len(S0.end) == len(S0.seq) == (P.m + P.k) * J < P.w * J
    for b in range(2, P.m + P.k + 1):
        jobs, st, en = P.forks[b]
        seq_b = snaps[b - 1][2]  # (jobs started before image b's release)
        assert len(jobs) == np.count_nonzero(S0.seq[:b * J] >= seq_b) < b * J, b
        assert (S0.seq[jobs] >= seq_b).all() and (jobs < b * J).all(), b


def test_a_streams_ready_jobs_at_the_start():
    """listsched._ready of a paced stream (3 jobs an image: the input transfer, a job after it, a job that
    depends on nothing; 3 images): ready at time 0 are image 0's input and every image's job that depends
    on nothing (2, 5, 8); images 1 and 2's inputs wait for their release.  Unpaced, every image's input too:
    the jobs whose dependencies left are none, as a scan of every job finds them."""
    from types import SimpleNamespace
    from tlm.mapping.listsched import _ready
    from tlm.mapping.schedule import ImageDeps
    deps = ImageDeps([[], [0], []], 3)
    S = SimpleNamespace(res=[0, 1, 1] * 3, image=[0] * 3 + [1] * 3 + [2] * 3, deps=deps)
    for ii, ready in ((5, [0, 2, 5, 8]), (0, [0, 2, 3, 5, 6, 8])):
        left, queues, first, _rank = _ready(S, ii, 3)
        assert sorted(x for q in queues for x in q) == ready == [j for j in range(9) if not left[j]]
        assert first == [0, 1]


@pytest.mark.parametrize("macros", [3, 2])
def test_copies_stacked_on_one_macro_run_as_one(root, monkeypatch, macros):
    """ResNet-8 at 1 bit, replicate: on 3 macros conv1's 3 copies all sit on one macro, so its chunks, dealt
    to copy q mod 3, are the single copy's jobs (assign.job_places keys the skeleton as one copy); on 2
    macros its copies sit on macros 0, 1, 0 and stay apart.  Either way every number of the analytic Result,
    at batches 1, 3 and 25 (steady state), is the one from the skeleton of every copy as placed."""
    from tlm.config.overrides import with_precision
    from tlm.mapping import assign, schedule
    from tlm.mapping.plan import build_plan
    from tlm.services.bench import cold
    wl = with_precision(load_workload(root / "workloads" / "resnet8.yaml"), 1, 1, 1)
    a = with_policy(with_changes(load_arch(root / "configs" / "imagine.yaml"), **{"macro.count": macros}),
                    "replicate")
    asg = build_plan(a, wl).multi
    stacked = assign.job_places(asg) != assign.place_keys(asg)
    assert stacked == (macros == 3) and asg.replicas[0] == 3

    def results():
        cold()  # (nothing kept from the other way)
        return [analytic(a, dataclasses.replace(wl, batch=B)) for B in (1, 3, 25)]
    got = results()
    monkeypatch.setattr(schedule, "job_places", assign.place_keys)  # (schedule._structure's)
    for x, y in zip(got, results()):
        _same(x, y)


def test_batches_of_a_stream_share_one_copys_sums(root, monkeypatch):
    """mapper.apply sums a steady-state schedule's jobs per (row, resource) once per job list: every job of
    it stands for the batch's B jobs, so batches 5, 9 and 13 of one stream take one copy's sums times B (one
    `_int_sums` for the three); their Results are the full job list's (test_steady_state_is_the_full_schedule
    runs its batches one after the other through the same kept sums)."""
    from tlm.mapping import mapper, steady
    monkeypatch.setattr(steady, "_CACHE", {})
    monkeypatch.setattr(mapper, "_SUMS", {})
    calls, real = [], mapper._int_sums
    monkeypatch.setattr(mapper, "_int_sums", lambda *x: calls.append(len(x[1])) or real(*x))
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    a = with_policy(load_arch(root / "configs" / "imagine_4macro.yaml"), "replicate")
    cycles = [analytic(a, dataclasses.replace(wl, batch=B)).cycles for B in (5, 9, 13)]
    assert len(calls) == 1 and cycles[0] < cycles[1] < cycles[2]
