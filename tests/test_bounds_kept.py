"""auto's lower bounds (tlm/mapping/bounds.py) over the batches of one point of a sweep: what they read of
one image is read once (kept per the objects the batches share, tlm/engines/analytic._kept), the batch
only multiplies it; the bounds are those computed afresh."""
import dataclasses

from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.engines import analytic
from tlm.hw import dma as hw_dma
from tlm.mapping import bounds
from tlm.mapping import mapper
from tlm.mapping.plan import digital_ops
from tlm.services.bench import cold


def test_layer_by_layer_bound_of_a_batch_is_its_image_sum_times_the_batch(root, monkeypatch):
    """ResNet-8 on 4 macros at batches 1, 3 and 7, the same Mapping, row cycles and digital ops: the layers'
    sum for one image is made once (bounds._per_image: its loop over the layers runs for batch 1 only),
    and the bound at batch B is B times it with the transfers of B images in and out (the hand-derived
    bound of tests/test_auto_bound.py at batch 1, the integers multiplied: exact)."""
    from tlm.mapping.packing import comp_mapping
    cold()
    a = load_arch(root / "configs" / "imagine.yaml")
    a = dataclasses.replace(a, macro=dataclasses.replace(a.macro, count=4))
    wl = load_workload(root / "workloads" / "resnet8.yaml")
    m, comp = comp_mapping(a, wl)
    rc = mapper.layer_row_cycles(a, wl, m, comp)
    ops = [digital_ops(l) for l in wl.layers]
    walks, real = [], bounds._hw
    monkeypatch.setattr(bounds, "_hw", lambda s: walks.append(1) or real(s))
    one = bounds.layer_by_layer_bound(a, wl, m, comp, rc, ops)
    per = one - hw_dma.transfer_cycles(a, 3 * 32 * 32 * wl.input_bits) \
        - hw_dma.transfer_cycles(a, 10 * wl.layers[-1].bits_out)
    n = len(walks)
    assert n == len(comp)  # (one walk over the compute layers)
    for B in (3, 7):
        got = bounds.layer_by_layer_bound(a, dataclasses.replace(wl, batch=B), m, comp, rc, ops)
        assert got == B * per + hw_dma.transfer_cycles(a, B * 3 * 32 * 32 * wl.input_bits) \
            + hw_dma.transfer_cycles(a, B * 10 * wl.layers[-1].bits_out)
    assert len(walks) == n  # (batches 3 and 7 read the kept sum)


def test_stream_bound_reads_one_image_once_for_the_batches(root, monkeypatch):
    """mnist_cnn on 2 macros, pipelined, batches 4 .. 9 with the same architecture, assignment, row cycles
    and digital ops: one image's jobs are walked for the bound once (bounds._one_image), every batch's
    bound is the one computed from cold caches, and grows by one busiest-resource image per image."""
    cold()
    a = mapper.with_policy(dataclasses.replace(load_arch(root / "configs" / "imagine.yaml"), macro=dataclasses.replace(
        load_arch(root / "configs" / "imagine.yaml").macro, count=2)), "pipelined")
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    ops = [digital_ops(l) for l in wl.layers]
    from tlm.mapping.packing import comp_mapping
    m, comp = comp_mapping(a, wl)
    rc = mapper.layer_row_cycles(a, wl, m, comp)
    asg = mapper.assign(a, wl, "pipelined", ops, m=m, rc=rc)
    walks, real = [], bounds._one_image
    monkeypatch.setattr(bounds, "_one_image", lambda *x: walks.append(1) or real(*x))
    got = [bounds.stream_bound(a, dataclasses.replace(wl, batch=B), asg, ops, m, rc) for B in range(4, 10)]
    assert len(walks) == 1
    steps = {y - x for x, y in zip(got, got[1:])}
    fresh = []
    for B in range(4, 10):
        cold()
        fresh.append(bounds.stream_bound(a, dataclasses.replace(wl, batch=B), asg, ops, m, rc))
    assert got == fresh and len(walks) == 7
    sk, cost, _key = real(a, wl, asg, ops, m, rc)
    work = {}
    for j, r in enumerate(sk.res):
        work[r] = work.get(r, 0) + cost[j]
    assert steps == {max(work.values())}  # (the busiest resource's term grows by its work per image)
