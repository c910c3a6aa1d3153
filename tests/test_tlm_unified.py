"""One transaction-level engine for every mapping policy (tlm/engines/transaction/pipeline.py drives the
same blocks as the sequential controller), `auto` resolved once above both engines
(tlm/engines/registry.py), and block mechanisms no other test pins down: the SRAM's one read/write port,
the calendar's out-of-order service, the write-back stall and the ADC FIFO stall of a mapped run.
Every expected number is derived by hand in the test's docstring or comment."""
import dataclasses
import numpy as np
import pytest
import simpy

from tlm.config.arch import load_arch
from tlm.config.workload import load_workload
from tlm.engines.analytic import simulate as analytic
from tlm.engines.registry import resolve_policy, run
from tlm.engines.transaction.calendar import Calendar
from tlm.engines.transaction.system import simulate
from tlm.errors import InputError
from tlm.mapping.mapper import with_policy

from conftest import ROOT, sequential
from helpers import with_changes


def _cfg(**changes):
    """IMAGINE with the 8-cycle DP phase the hand derivations use (the derived value follows the circuit
    model, tlm/hw/circuit.py, and may move)."""
    return with_changes(sequential(load_arch(ROOT / "configs" / "imagine.yaml")),
                        **{"macro.dp_cycles_per_bit": 8, **changes})


def _conv(tmp_path, c_in, c_out):
    """One 3x3 conv (padding 1) of a c_in x 4 x 4 8-bit input into c_out channels: 16 output pixels in 4
    rows of 4 (the same layer as tests/test_tlm_blocks.py)."""
    p = tmp_path / "one.yaml"
    p.write_text(f"name: one\ninput: {{shape: [{c_in}, 4, 4], bits: 8}}\nprecision: {{input: 8, weight: 8, output: 8}}\n"
                 f"layers:\n  - {{name: conv, type: conv2d, out_channels: {c_out}, kernel: 3, padding: 1}}\n")
    return load_workload(p)


# ---- the SRAM's ports ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ports, cycles, sram_stall", [("1r1w", 4052, 0), ("1rw", 5476, 3946)])
def test_one_read_write_port_makes_reads_queue_behind_the_write_back(tmp_path, ports, cycles, sram_stall):
    """Conv 3x3 of 1 x 4 x 4 (128 input bits) into 32 channels, one macro, one bank with a 1-bit port,
    one pixel per chunk, ADC not pipelined (t_dp = 64, t_cv = 9).  A chunk reads 128 / 16 = 8 input bits
    (8 cycles of the port), computes 64 + converts 9 cycles, then writes 32 x 8 = 256 output bits (256
    cycles); the macro starts its next chunk when that write has begun.  The image in (DMA 20 + 128 / 64
    = 22 cycles) writes its 128 bits into the bank during [0, 128).
    1r1w: reads never wait.  Chunk 0 reads at 22, converts until 95, its write waits for the write port
    until 128; chunk k's write begins at 128 + 256 k, the last at 3,968; the output (4,096 bits) leaves
    through the read port: 20 + 64 = 84 cycles.  4,052 cycles; the macro's waits are 'adc' (write-back).
    1rw: the reads share the port.  Chunk 0's read waits 128 - 22 = 106, then 73 cycles to its write
    [201, 457); every later read waits for the previous write (256 cycles): chunk k's write begins at 201
    + 329 k, the last at 5,136 and ends at 5,392, when the image out may read: 5,392 + 84 = 5,476; the
    macro waits 'sram' 106 + 15 x 256 = 3,946 cycles."""
    arch = _cfg(**{"sram.width_bits": 1, "sram.banks": 1, "sram.ports": ports, "tlm.compute_txn_macs": 1})
    r = simulate(arch, _conv(tmp_path, 1, 32))
    assert r.cycles == cycles
    assert r.extra["instances"]["macro0"]["stall_cycles"].get("sram", 0) == sram_stall


# ---- the calendar ---------------------------------------------------------------------------------------
def test_the_calendar_serves_a_late_request_in_an_earlier_gap():
    """Bookings that arrive out of time order (a decoupled initiator ahead of the kernel) go into the first
    gap long enough at or after their time; a plain busy-until would put each behind the latest one."""
    cal = Calendar(simpy.Environment())
    assert cal.book(100, 10) == 100  # [100, 110)
    assert cal.book(0, 50) == 0  # fits the gap [0, 100) before it (busy-until: 110)
    assert cal.book(60, 50) == 110  # [60, 100) is 40 cycles: the first gap of 50 is after 110
    assert cal.book(50, 50) == 50  # exactly fills [50, 100): one interval [0, 160) remains
    assert (cal.starts, cal.ends) == ([0], [160])
    assert cal.book(200, 0) == 200 and cal.busy_until == 160  # no work: no booking


# ---- a mapped run executes on the blocks ----------------------------------------------------------------
@pytest.mark.parametrize("policy", ["resident", "pipelined"])
def test_the_write_back_stall_of_a_mapped_run(tmp_path, policy):
    """The case of tests/test_tlm_blocks.py (a write-back that waits), run under a resident mapping: conv
    3x3 of 1 x 4 x 4 into 32 channels on one macro, pipelined ADC (t_dp = 64 > t_cv = 9), FIFO depth 1, one
    pixel per chunk, outputs through a 1-bit write port: every 256-bit output write keeps the port 256
    cycles.  Pixel 0 converts [64, 73) after the run starts, its write [73, 329); the converters wait for
    each acceptance, so pixel k >= 2 waits 247 cycles (pixel 1: 192): the ADC stalls 192 + 14 x 247 =
    3,650 cycles on 'sram' and the layer takes 73 + 15 x 256 = 3,913 cycles, the write port's pace,
    whether the mapped job covers the whole layer (resident) or one row of 4 pixels per job (pipelined).
    The bound: resident 16 x 64 + 9 = 1,033; pipelined 4 jobs x (64 + 9 + 3 x 64) = 1,060 (each tile run
    fills and drains its pipeline)."""
    arch = with_policy(_cfg(**{"adc.pipelined": True, "sram.width_bits": 1, "sram.ports": "1r1w",
                               "tlm.compute_txn_macs": 1}), policy)
    wl = _conv(tmp_path, 1, 32)
    r = simulate(arch, wl)
    assert int(r.per_layer["cycles"][0]) == 73 + 15 * 256
    assert analytic(arch, wl).per_layer["cycles"][0] == {"resident": 1033, "pipelined": 1060}[policy]
    stalls = r.extra["instances"]["adc0"]["stall_cycles"]
    if policy == "resident":
        assert stalls == {"sram": 192 + 14 * 247}
    else:  # each row job's first write waits less (the port pace carries over): some wait, never more
        assert 0 < stalls["sram"] <= 192 + 14 * 247
    assert simulate(arch, wl, contention=False).cycles == analytic(arch, wl).cycles


@pytest.mark.parametrize("depth, stall", [(1, {"adc": 204}), (4, {"adc drain": 204})])
def test_the_adc_fifo_stall_in_a_mapped_run_with_slow_conversions(tmp_path, depth, stall):
    """Conv 3x3 of 128 x 4 x 4 into 32 on one macro, mapping pipelined: one job per output row, a tile
    run over its 4 pixels.  Pipelined ADC with 10 cycles per SAR bit: t_cv = 1 + 80 = 81 > t_dp = 64.
    Depth 1: pixel i >= 1 of a run waits for the slot until the previous conversion ends, 81 - 64 = 17
    cycles: 3 x 17 = 51 per run ('adc').  Depth 4: the FIFO never fills in 4 pixels, but at the run's end
    the macro waits for the pixels still converting: the last conversion ends at 64 + 4 x 81 = 388, the
    last pixel entered at 4 x 64 = 256, its own conversion 81 is the macro's: 388 - 256 - 81 = 51 ('adc
    drain').  Four runs: 204 either way.  Each run takes 388 cycles, the schedule's job cost
    (64 + 81 + 3 x 81): image in 20 + 16,384 / 64 = 276, 4 x 388, image out 84 = 1,912, the bound."""
    arch = with_policy(_cfg(**{"adc.pipelined": True, "adc.cycles_per_bit": 10, "adc.fifo_depth": depth,
                               "tlm.compute_txn_macs": 10**9}), "pipelined")
    wl = _conv(tmp_path, 128, 32)
    r = simulate(arch, wl)
    assert r.extra["instances"]["macro0"]["stall_cycles"] == stall
    assert r.extra["instances"]["macro0"]["busy_cycles"] == 4 * (4 * 64 + 81)
    assert r.cycles == 276 + 4 * 388 + 84 == analytic(arch, wl).cycles


# ---- --functional on every policy -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    """The shipped MNIST network (weights in workloads/) and 6 test images of 6 different classes."""
    from tlm.services import accuracy as A
    from tlm.functional import model as F
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", 600)
    pick = [int(np.nonzero(y == c)[0][0]) for c in range(6)]
    x, y = x[pick], y[pick]
    wl = dataclasses.replace(wl, batch=len(x))
    arch = _cfg(**{"functional.dp_noise": "off"})
    return wl, x, y, F.build(arch, wl)


def _functional(arch, wl, net, x, **kw):
    from tlm.engines.transaction.datapath import DataPath
    data = DataPath(net, x, "adaptive", 0.0)
    res = simulate(arch, wl, data=data, **kw)
    return res, data.outputs()


@pytest.mark.parametrize("macros", [4, 8])
@pytest.mark.parametrize("policy", ["pipelined", "replicate"])
def test_functional_mapped_mnist_same_outputs_as_sequential(mnist, policy, macros):
    """Zero noise: the data path's values do not depend on when the rows run, so a mapped run's outputs
    are the sequential run's bit for bit; its cycles are the mapped bound without contention and never
    below it with contention."""
    wl, x, y, net = mnist
    base = _cfg(**{"functional.dp_noise": "off", "macro.count": macros})
    _, ref = _functional(base, wl, net, x)
    a = with_policy(base, policy)
    bound = analytic(a, wl).cycles
    r, out = _functional(a, wl, net, x)
    assert np.array_equal(out, ref)
    assert (out.argmax(1) == ref.argmax(1)).all()
    assert r.cycles >= bound and r.extra["mapping"]["policy"] == policy
    r0, out0 = _functional(a, wl, net, x, contention=False)
    assert r0.cycles == bound and np.array_equal(out0, ref)


def test_functional_image_by_image_layers_same_outputs(mnist):
    """A small activation SRAM makes the plan run layers image by image (tlm/mapping/batching.py: `passes`
    = the batch, each pass chunked from its own first pixel).  The data path's kernel blocks then must not
    cross a pass (an MNIST image's conv1 has 784 output pixels, not a multiple of the chunk): the outputs
    are the whole-batch run's bit for bit (zero noise).  Fails with an IndexError when a block crosses."""
    from tlm.mapping.plan import build_plan
    wl, x, y, net = mnist
    x = np.concatenate([x] * 10)  # 60 images: kernel blocks span several passes
    wl = dataclasses.replace(wl, batch=len(x))
    _, ref = _functional(_cfg(**{"functional.dp_noise": "off"}), wl, net, x)
    small = _cfg(**{"functional.dp_noise": "off", "sram.capacity_kib": 16})
    passes = [lp.passes for lp in build_plan(small, wl).layers if lp.compute]
    assert max(passes) == len(x)  # some layer runs image by image
    _, out = _functional(small, wl, net, x)
    assert np.array_equal(out, ref)


def test_cli_functional_runs_a_pipelined_mapping(tmp_path, mnist, capsys):
    """`tlm simulate --functional --mapping pipelined` on 4 macros (in-process: the images already loaded):
    no refusal; the JSON has the mapped run's policy and its predictions."""
    import json
    from tlm.cli import main
    out = tmp_path / "r.json"
    code = main(["simulate", "imagine", "mnist_cnn", "--functional", "--images", "4", "--mapping", "pipelined",
                 "--set", "macro.count=4", "--json", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    j = json.loads(out.read_text())
    assert j["extra"]["mapping"]["policy"] == "pipelined"
    assert len(j["extra"]["functional"]["predictions"]) == 4


# ---- auto, once -----------------------------------------------------------------------------------------
def test_an_engine_refuses_auto_the_registry_resolves_it(tmp_path):
    """Both engines given `auto` refuse it with one error (their plan refuses it); the registry resolves
    it once: the chosen policy's plan goes to the TLM engine, whose Result keeps `auto` as given."""
    wl = _conv(tmp_path, 16, 32)
    a = with_policy(_cfg(**{"macro.count": 4}), "auto")
    for engine in (analytic, simulate):
        with pytest.raises(InputError, match="auto is resolved above the engines"):
            engine(a, wl)
    r = resolve_policy(a, wl)
    assert r.arch.mapping.policy != "auto" and r.plan.policy == r.arch.mapping.policy
    res = run("tlm", a, wl)
    assert res.arch.mapping.policy == "auto" and res.extra["mapping"]["policy"] == r.arch.mapping.policy
    assert any(n.startswith("mapping auto") for n in res.notes)
