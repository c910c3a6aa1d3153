"""`mapping.policy: auto` does not schedule a policy that cannot win (tlm/engines/analytic.py
`_unbeatable`, tlm/mapping/bounds.py): with the objective throughput and a batch of 4 images or more, a
streamed policy whose job chains or busiest resource (one job at a time, after the earliest its first job
can start) take more cycles than a policy already counted is skipped (bounds.stream_bound); so is the
layer-by-layer resident policy when its layers one after the other (each as long as its most loaded
macro) with the image transfers and post-processing take more (bounds.layer_by_layer_bound), at any
batch (more in tests/test_auto_prune.py).  The choice and every number of the chosen run are those of the best pinned policy;
the bound is below the skipped policy's own cycles.  Removing the skip fails the note check below;
a bound that is not a lower bound fails the invariant."""
import dataclasses

from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.engines.registry import run
from tlm.mapping import mapper
from tlm.mapping.plan import digital_ops
from tlm.mapping.bounds import stream_bound


def test_auto_skips_a_stream_that_cannot_win(root):
    a = load_arch(root / "configs" / "imagine.yaml")  # auto, objective throughput
    a = dataclasses.replace(a, macro=dataclasses.replace(a.macro, count=2))
    wl = dataclasses.replace(load_workload(root / "workloads" / "mnist_cnn.yaml"), batch=33)
    got = run("analytic", a, wl)
    pinned = {p: run("analytic", mapper.with_policy(a, p), wl) for p in mapper.CONCRETE}
    best = min(pinned, key=lambda p: (mapper.score(pinned[p], "throughput"), mapper.CONCRETE.index(p)))
    assert got.row() == pinned[best].row()
    assert "pipelined: its jobs' chains and busiest block take at least" in got.notes[-1]
    ops = [digital_ops(l) for l in wl.layers]
    ap = mapper.with_policy(a, "pipelined")
    lb = stream_bound(ap, wl, mapper.assign(ap, wl, "pipelined", ops), ops)
    assert pinned[best].cycles < lb <= pinned["pipelined"].cycles
    # at least one image's busiest resource x the batch: a 1-image schedule's own stage of that resource
    one = mapper.build_schedule(ap, dataclasses.replace(wl, batch=1), mapper.assign(ap, wl, "pipelined", ops), ops)
    assert lb >= 33 * max(one.stage.values())


def test_auto_skips_resident_when_its_layers_alone_are_slower(root):
    a = load_arch(root / "configs" / "imagine.yaml")
    a = dataclasses.replace(a, macro=dataclasses.replace(a.macro, count=4))
    wl = load_workload(root / "workloads" / "resnet8.yaml")  # batch 1
    got = run("analytic", a, wl)
    pinned = {p: run("analytic", mapper.with_policy(a, p), wl) for p in mapper.CONCRETE}
    best = min(pinned, key=lambda p: (mapper.score(pinned[p], "throughput"), mapper.CONCRETE.index(p)))
    assert got.row() == pinned[best].row()
    note = got.notes[-1]
    assert "resident: its layers one after the other take at least" in note
    lb = int(note.split("take at least ")[1].split(" cycles")[0].replace(",", ""))
    assert pinned[best].cycles < lb <= pinned["resident"].cycles
    # the bound by hand: each compute layer's tiles on 4 macros, ceil(tiles / 4) of them on one macro, each
    # tile over the layer's rows (tlm/mapping/assign.row_cycles); the layers one after the other, with the
    # digital layers' post-processing and the image in before them and out after them
    from tlm.config.workload import VIEW_TYPES
    from tlm.hw import dma as hw_dma
    from tlm.hw import postproc as hw_pp
    from tlm.mapping.packing import comp_mapping
    m, comp = comp_mapping(a, wl)
    want = 0
    for j, i in enumerate(comp):
        r0, r1 = mapper.row_cycles(a, wl.layers[i], int(m.outputs_per_tile[j]))
        want += -(-int(m.tiles[j]) // 4) * (r0 + (mapper._hw(wl.layers[i].out_shape)[0] - 1) * r1)
    want += sum(int(hw_pp.op_cycles(a, digital_ops(l))) for l in wl.layers
                if not l.is_compute and l.type not in VIEW_TYPES)
    want += hw_dma.transfer_cycles(a, 3 * 32 * 32 * wl.input_bits) + hw_dma.transfer_cycles(a, 10 * wl.layers[-1].bits_out)
    assert lb == want
