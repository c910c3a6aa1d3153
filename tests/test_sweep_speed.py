"""The shortcuts that make a sweep's `auto` points cheaper, each against the number made without it.

Which test fails when a mechanism is removed or wrong:
- one image's stream schedule whose transfers alone changed, from the skeleton's last run shifted
  (tlm/mapping/retime.shifted): test_transfer_change_shifts_the_last_run, test_other_change_is_not_shifted;
- the architecture with another policy as a copy (mapper.with_policy): test_with_policy_is_replace;
- mapper.apply's compute rows kept for the last layers (mapper._compute_rows): test_compute_rows_kept_per_layers;
- the layers' shapes kept per layer objects (schedule._shapes): test_shapes_kept_per_layer_objects;
- one image's job costs read off the batch's workload (schedule.one_image): test_one_image_costs_read_no_batch;
- one image's skeleton and costs kept across batches (schedule._kept_image): test_one_image_kept_across_batches;
- a sweep's points of one precision share their layers (sweep.PointBuilder._workload):
  test_batches_share_their_layers;
- the per-row sums of mapper.apply by one bincount (mapper._int_sums): test_int_sums_is_add_at;
- an assignment's keys and described layers kept on it (assign.place_keys, mapper._placed_layers):
  test_kept_assignment_keys_are_fresh.
"""
import dataclasses

import numpy as np
import pytest

from tlm.config.arch import load_arch
from tlm.config.overrides import with_precision
from tlm.mapping import mapper, retime, schedule
from tlm.mapping.rules import digital_ops
from tlm.services.bench import cold as _cold


def cold():
    """Nothing kept: the plans, assignments and the schedules' skeletons (with their kept runs)."""
    _cold()
    schedule.clear_skeletons()


@pytest.fixture(scope="module")
def imagine(root):
    return load_arch(root / "configs" / "imagine.yaml")


def _point(arch, macros=2, **sections):
    kw = {"macro": dataclasses.replace(arch.macro, count=macros)}
    for sec, ch in sections.items():
        kw[sec] = dataclasses.replace(getattr(arch, sec), **ch)
    return mapper.with_policy(dataclasses.replace(arch, **kw), "pipelined")


def _stream(arch, wl):
    """(the pipelined schedule of one image, the assignment)."""
    ops = [digital_ops(l) for l in wl.layers]
    asg = mapper.assign(arch, wl, "pipelined", ops)
    return mapper.build_schedule(arch, wl, asg, ops, stream=True), asg


def _same(a, b):
    assert a.start.tolist() == b.start.tolist() and a.end.tolist() == b.end.tolist()
    assert list(a.order.items()) == list(b.order.items())
    for k in ("makespan", "line_buffer_bits", "spill_bits", "spill_cycles", "latency", "fill", "drain",
              "bottleneck", "stage", "layer_stage"):
        assert getattr(a, k) == getattr(b, k), k


@pytest.fixture
def spy(monkeypatch):
    got = []
    real = retime.shifted
    monkeypatch.setattr(retime, "shifted", lambda S, sk: got.append(real(S, sk)) or got[-1])
    return got


def test_transfer_change_shifts_the_last_run(imagine, resnet8, spy):
    """Two points that differ in the DMA bandwidth only: the image's transfers take other cycles, every
    other job the same.  The second point's schedule comes from the first's shifted, and is the one a cold
    build makes (every start, end and each resource's order; the line buffers, latency, stages)."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    a = _point(imagine, dma={"bandwidth_bits_per_cycle": 64})
    b = _point(imagine, dma={"bandwidth_bits_per_cycle": 8})
    cold()
    Sa, _ = _stream(a, wl)
    Sb, _ = _stream(b, wl)
    assert spy == [False, True]  # (the first: nothing kept yet)
    assert Sb.cost[0] > Sa.cost[0] and Sb.cost[1:-1] == Sa.cost[1:-1]  # (a slower input transfer)
    assert Sb.start[1] - Sa.start[1] == Sb.cost[0] - Sa.cost[0]
    cold()
    S_cold, _ = _stream(b, wl)
    assert spy[-1] is False
    _same(Sb, S_cold)


def test_other_change_is_not_shifted(imagine, resnet8, spy):
    """A point whose layers' cycles differ (slower ADC) is not the last run shifted: timed again, the cold
    build's schedule (a rule that compared the transfers only would give the first point's times)."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    a = _point(imagine)
    c = _point(imagine, adc={"cycles_per_bit": imagine.adc.cycles_per_bit + 2})
    cold()
    Sa, asg_a = _stream(a, wl)
    Sc, asg_c = _stream(c, wl)
    assert Sc.cost[1:-1] != Sa.cost[1:-1]
    if mapper.place_keys(asg_a) == mapper.place_keys(asg_c):  # (the same skeleton: the rule was asked)
        assert spy == [False, False]
    cold()
    S_cold, _ = _stream(c, wl)
    _same(Sc, S_cold)


def test_with_policy_is_replace(imagine):
    """The copy with another policy equals dataclasses.replace's, names the same file, and naming a source
    sets it on the copy only."""
    for p in ("sequential", "pipelined", "replicate", "resident"):
        got = mapper.with_policy(imagine, p)
        want = dataclasses.replace(imagine, mapping=dataclasses.replace(imagine.mapping, policy=p))
        assert got == want and got.mapping.policy == p and imagine.mapping.policy == "auto"
        assert got.source_file == imagine.source_file
    named = mapper.with_policy(imagine, "resident", "--mapping resident (command line)")
    assert named.source_file == "--mapping resident (command line)" and imagine.source_file != named.source_file


def test_shapes_kept_per_layer_objects(resnet8):
    """Two workloads with their own lists of the same layers share one key; a changed layer (another
    object) gets its own, the changed one."""
    w1, w2 = with_precision(resnet8, batch=2), with_precision(resnet8, batch=3)
    assert w1.layers is not w2.layers
    assert schedule._shapes(w1.layers) is schedule._shapes(w2.layers)
    moved = list(w1.layers)
    i = next(k for k, l in enumerate(moved) if l.type == "conv2d")
    moved[i] = dataclasses.replace(moved[i], padding=(0, 0))
    got = schedule._shapes(moved)
    assert got[i].padding == (0, 0) and got != schedule._shapes(w1.layers)


def test_one_image_costs_read_no_batch(imagine, resnet8):
    """One image's job costs (schedule.one_image) at batch 7 are those at batch 1, computed cold each."""
    a = _point(imagine)
    w1 = with_precision(resnet8, input=2, weight=2, output=2)
    w7 = dataclasses.replace(w1, batch=7)
    ops = [digital_ops(l) for l in w1.layers]
    asg = mapper.assign(a, w1, "pipelined", ops)
    cold()
    c7 = schedule.one_image(a, w7, asg, ops)[2]
    cold()
    c1 = schedule.one_image(a, w1, asg, ops)[2]
    assert c7 == c1


def test_int_sums_is_add_at():
    """One bincount per row and resource is np.add.at's exact int64 sums, below 2^53 and (add.at itself)
    above it and with a negative weight."""
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 17, 500)
    for w in (rng.integers(0, 10 ** 9, 500), rng.integers(0, 2 ** 50, 500), np.full(500, 2 ** 60 // 500 + 1),
              rng.integers(-5, 5, 500)):
        want = np.zeros(20, dtype=np.int64)
        np.add.at(want, idx, w.astype(np.int64))
        assert mapper._int_sums(idx, w.astype(np.int64), 20).tolist() == want.tolist()


def test_kept_assignment_keys_are_fresh(imagine, resnet8):
    """The keys and described layers kept on an assignment are what its places give, for two assignments
    that differ (replicate copies layers, pipelined does not)."""
    wl = with_precision(resnet8, input=1, weight=1, output=1)
    a = _point(imagine, macros=4)
    ops = [digital_ops(l) for l in wl.layers]
    cold()
    for p in ("pipelined", "replicate"):
        asg = mapper.assign(mapper.with_policy(a, p), wl, p, ops)
        for _ in range(2):  # (made, then kept)
            keys = mapper.place_keys(asg)
            assert keys == (tuple((q.layer, q.replica, q.macro) for q in asg.places), tuple(sorted(asg.replicas.items())))
            layers, used = mapper._placed_layers(asg)
            assert used == len({q.macro for q in asg.places})
            assert sum(len(d["rects"]) for d in layers.values()) == len(asg.places)
            assert all(d["replicas"] == asg.replicas.get(i, 1) for i, d in layers.items())


def test_one_image_kept_across_batches(imagine, resnet8):
    """one_image on the same architecture and assignment at another batch (the same layers) is the cold
    call's; with other row cycles it is not the kept one (their costs); a recording architecture reads
    its fields every time (registry.run_group groups points by them)."""
    from tlm.mapping import reuse
    from tlm.mapping.assign import layer_row_cycles
    from tlm.mapping.packing import comp_mapping
    a = _point(imagine)
    w1 = with_precision(resnet8, input=2, weight=2, output=2)
    w5 = dataclasses.replace(w1, batch=5)
    ops = [digital_ops(l) for l in w1.layers]
    asg = mapper.assign(a, w1, "pipelined", ops)
    m, comp = comp_mapping(a, w1)
    rc = layer_row_cycles(a, w1, m, comp)
    slow = {i: (r0 + 7, r1 + 3) for i, (r0, r1) in rc.items()}
    cold()
    schedule.one_image(a, w1, asg, ops, m, rc)
    warm = schedule.one_image(a, w5, asg, ops, m, rc)
    warm_slow = schedule.one_image(a, w5, asg, ops, m, slow)
    for got, r in ((warm, rc), (warm_slow, slow)):
        cold()
        want = schedule.one_image(a, w5, asg, ops, m, r)
        assert got[0] == want[0] and got[2] == want[2] and got[3:] == want[3:]
    assert warm[2] != warm_slow[2]
    read = set()
    schedule.one_image(reuse.recording(a, read), w5, asg, ops, m, rc)
    assert ("dma", "bandwidth_bits_per_cycle") in read


def test_batches_share_their_layers(imagine, resnet8):
    """A sweep's point workload is with_precision of its settings (every field equal), and the points that
    differ in the batch only hold the same layer objects (what is kept per layers is shared)."""
    from tlm.cli.commands.sweep import engine_args
    from tlm.services import sweep
    sets = ["workload.precision=2,4", "workload.batch=1,3"]
    job = sweep.Job(arch_dict=imagine.to_dict(), workload=resnet8, settings=tuple(sweep.parse_settings(sets, imagine)),
                    engine="analytic", engine_args=engine_args("analytic"))
    builder = sweep.PointBuilder(job)
    got = {}
    for i in range(job.n_points):
        p, b = job.values(i)
        got[(p, b)] = builder.build(i)[1]
        assert got[(p, b)] == with_precision(resnet8, input=p, weight=p, output=p, batch=b)
    for p in (2, 4):
        assert all(x is y for x, y in zip(got[(p, 1)].layers, got[(p, 3)].layers))
    assert not any(x is y for x, y in zip(got[(2, 1)].layers, got[(4, 1)].layers) if x.is_compute)


def test_compute_rows_kept_per_layers(resnet8):
    """mapper.apply's compute rows of a workload's layers (each row + the image I/O's: is it a compute
    layer; the compute rows) are made once for the same layer objects (another list of them included) and
    anew for other layers (another precision's: other objects)."""
    comp, ci = mapper._compute_rows(resnet8.layers)
    assert comp.tolist() == [l.is_compute for l in resnet8.layers] + [False]
    assert ci.tolist() == [i for i, l in enumerate(resnet8.layers) if l.is_compute]
    assert mapper._compute_rows(list(resnet8.layers))[0] is comp
    other = with_precision(resnet8, 2)
    assert mapper._compute_rows(other.layers)[0] is not comp
    assert mapper._compute_rows(other.layers)[0].tolist() == comp.tolist()
