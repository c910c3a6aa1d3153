"""The blocks of the TLM engine, each mechanism against a schedule derived by hand (the derivation is
in each test), plus the properties that tie the two engines: the analytic engine is the contention-
free bound, reached when nothing is shared.  Each test fails when its mechanism is removed."""
import math
import random
from collections import deque

import numpy as np
import pytest

from tlm.engines.analytic import simulate as analytic
from tlm.config.arch import load_arch
from tlm.engines.transaction.adc import fifo_chunk
from tlm.engines.transaction.payload import TransactionError
from tlm.engines.transaction.system import System, simulate
from tlm.hw import postproc as hw_pp
from tlm.config.workload import load_workload

from conftest import ROOT, SHIPPED_WORKLOADS


def _cfg(name="imagine"):
    """The config on the layer-by-layer schedule these tests derive, with the 8-cycle DP phase the
    derivations below use (IMAGINE's derived value follows the circuit model and may move)."""
    from conftest import sequential
    return _with(sequential(load_arch(ROOT / "configs" / f"{name}.yaml")), **{"macro.dp_cycles_per_bit": 8})


def _with(arch, **changes):
    from helpers import with_changes
    return with_changes(arch, **changes)


def _conv(tmp_path, c_in, c_out, name="one"):
    """One 3x3 conv (padding 1) of a c_in x 4 x 4 8-bit input: 16 output pixels."""
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\ninput: {{shape: [{c_in}, 4, 4], bits: 8}}\nprecision: {{input: 8, weight: 8, output: 8}}\n"
                 f"layers:\n  - {{name: conv, type: conv2d, out_channels: {c_out}, kernel: 3, padding: 1}}\n")
    return load_workload(p)


# IMAGINE numbers the derivations use (configs/imagine.yaml): DMA 64 bits/cycle + 20 cycles latency, weight
# port 256 bits/cycle, 8 cycles per input bit-plane (t_dp = 64 for 8-bit inputs), a conversion of 8 bits
# = 1 + 8 x cycles_per_bit cycles, 256 converters (32 channels x 8-bit weights convert in one round).
IO_IN_256 = 20 + 256 * 16 * 8 // 64  # the 256 x 4 x 4 x 8 = 32,768-bit image: 532 cycles
LOAD = 20 + 1152 * 256 // 64  # a full 1152 x 256 weight tile, DMA-bound: 4,628 cycles
IO_OUT_32 = 20 + 32 * 16 * 8 // 64  # the 32 x 4 x 4 x 8 = 4,096-bit output: 84 cycles


# ---- SRAM banks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("interleave,conflict", [(65536, 128), (16384, 0)], ids=["one-bank", "two-banks"])
def test_two_macros_reading_one_bank_wait_for_each_other_on_two_banks_they_do_not(tmp_path, interleave,
                                                                                  conflict):
    """Conv 3x3, 256 -> 32 channels on 2 macros: 2304 rows = 2 row tiles of 1152 (input channels 0-127
    and 128-255), 1 column tile; round 0 = {row tile 0 on macro0, row tile 1 on macro1}.  Tile 0 reads
    bits [0, 16384) of the input, tile 1 bits [16384, 32768), each in one chunk, at the same cycle.
    Banks: (address // interleave) % 2.  With 65,536-bit ranges both halves lie in bank 0: macro0 reads
    first, macro1 waits for its 16,384 / 128 = 128 cycles.  With 16,384-bit ranges tile 1's half is in
    bank 1: nobody waits.  (Outputs and partial sums go to other banks' write ports; the partial-sum
    read-back of tile 1 comes after the activations are read.)
    Schedule: image in 532; the 2 tiles fit the 2 macros, weights resident (no load); both tiles 16
    pixels x (64 + 9) = 1,168 cycles (non-pipelined ADC), macro1 after its wait; image out 84."""
    arch = _with(_cfg(), **{"macro.count": 2, "macro.weight_double_buffer": False, "tlm.compute_txn_macs": 10**9,
                            "sram.banks": 2, "sram.interleave_bits": interleave})
    wl = _conv(tmp_path, 256, 32)
    tile = 16 * (64 + 9)
    expected = IO_IN_256 + conflict + tile + IO_OUT_32
    for q in (0, 2000):
        r = simulate(arch, wl, quantum_cycles=q)
        assert r.cycles == expected
        inst = r.extra["instances"]
        assert inst["macro1"]["stall_cycles"].get("sram", 0) == conflict
        assert inst["macro0"]["stall_cycles"].get("sram", 0) == 0
    assert analytic(arch, wl).cycles == expected - conflict  # the contention-free bound


def test_a_bank_port_saturated_by_one_macro_paces_it(tmp_path):
    """One macro, one pixel per chunk, a 1-bit read port.  Conv 3x3 of 128 x 4 x 4 into 32: one tile
    reading the whole 16,384-bit input in 16 chunks of 1,024 bits (16,384 x k // 16).  At 1 bit/cycle a chunk's read keeps the bank 1,024 cycles, longer than
    the 73-cycle chunk: every chunk after the first waits for the previous read, so chunk k starts at
    k x 1,024 and the tile ends at 15 x 1,024 + 73 = 15,433 cycles after it starts instead of 1,168."""
    arch = _with(_cfg(), **{"sram.width_bits": 1, "tlm.compute_txn_macs": 1})
    wl = _conv(tmp_path, 128, 32)
    r = simulate(arch, wl)
    a = analytic(arch, wl)
    assert r.per_layer["cycles"][0] - a.per_layer["cycles"][0] == 15 * 1024 + 73 - 1168
    assert r.extra["instances"]["macro0"]["stall_cycles"]["sram"] == 15 * (1024 - 73)


# ---- ADC FIFO and back-pressure ---------------------------------------------------------------------
@pytest.mark.parametrize("depth,fifo_stall,drain", [(1, 255, 0), (4, 12, 243)])
def test_adc_fifo_depth_sets_the_macro_stall_when_conversion_is_slower(tmp_path, depth, fifo_stall, drain):
    """Pipelined ADC with 10 cycles per SAR bit: t_cv = 1 + 8 x 10 = 81 > t_dp = 64.  One tile of 16
    pixels in one chunk, from t = 0 (the tile's start):  pixel i's DP is over at d_i = push_(i-1) + 64, it
    enters the FIFO at push_i = max(d_i, end of the conversion D pixels earlier), the converters run back
    to back from 64, so pixel j's conversion ends at 64 + 81 (j + 1).
    D = 1: push_i = end_(i-1) = 64 + 81 i, d_i = 64 + 81 (i - 1) + 64: the macro waits 17 cycles for each
    pixel 1..15: 255 cycles "adc"; its last pixel converts at once (no drain).
    D = 4: the FIFO fills after 17 i > 81 (D - 1), i.e. only pixel 15 waits: end_11 = 1,036 - d_15 =
    1,024 = 12 cycles; then the macro waits for the 3 pixels still in the FIFO: s_15 - push_15 = end_14 -
    1,036 = 1,279 - 1,036 = 243 cycles "adc drain".  The tile ends at 64 + 81 x 16 = 1,360 either way."""
    arch = _with(_cfg(), **{"adc.pipelined": True, "adc.cycles_per_bit": 10, "adc.fifo_depth": depth,
                            "tlm.compute_txn_macs": 10**9})
    wl = _conv(tmp_path, 128, 32)
    r = simulate(arch, wl)
    st = r.extra["instances"]["macro0"]["stall_cycles"]
    assert st.get("adc", 0) == fifo_stall
    assert st.get("adc drain", 0) == drain
    assert r.extra["instances"]["macro0"]["busy_cycles"] == 16 * 64 + 81
    compute = r.per_layer["compute_cycles"][0]
    assert compute == 64 + 81 * 16 == analytic(arch, wl).per_layer["compute_cycles"][0]


def test_a_write_back_that_waits_stalls_the_converters_and_then_the_macro(tmp_path):
    """Back-pressure from the SRAM: pipelined ADC (t_dp = 64 > t_cv = 9), FIFO depth 1, one pixel per
    chunk, the outputs written through a 1-bit write port: a pixel's 32 outputs x 8 bits = 256 bits keep
    the port 256 cycles (its 8-bit activation reads use the read port).  Pixel 0 converts [64, 73), its
    write takes the port [73, 329).  The converters are busy until their write-back is accepted, so
    pixel k >= 2 converts from the previous acceptance 73 + 256 (k - 1) and its write waits 247 cycles
    (pixel 1: 329 - 137 = 192); the FIFO fills and the macro stalls.  The tile is over when the last write
    is accepted: 73 + 15 x 256 = 3,913 cycles instead of 64 + 9 + 15 x 64 = 1,033."""
    arch = _with(_cfg(), **{"adc.pipelined": True, "sram.width_bits": 1, "sram.ports": "1r1w",
                            "tlm.compute_txn_macs": 1})
    wl = _conv(tmp_path, 1, 32)
    r = simulate(arch, wl)
    inst = r.extra["instances"]
    assert r.per_layer["compute_cycles"][0] == 73 + 15 * 256
    assert analytic(arch, wl).per_layer["compute_cycles"][0] == 64 + 9 + 15 * 64
    assert inst["adc0"]["stall_cycles"] == {"sram": 192 + 14 * 247}
    m = inst["macro0"]
    assert m["busy_cycles"] == 16 * 64 + 9
    assert m["stall_cycles"]["adc"] > 0
    assert sum(m["stall_cycles"].values()) == 73 + 15 * 256 - (16 * 64 + 9)


def test_the_fifo_state_machine_matches_a_pixel_by_pixel_run():
    """fifo_chunk jumps over periodic stretches; a plain per-pixel recurrence is the reference."""
    rng = random.Random(7)

    def ref(d, p, t_dp, t_cv, D, free, slots, held=None):
        stall, first, push, e = 0, None, d, d
        ends = list(slots)  # every conversion end so far: a pixel holds its slot until its conversion is over
        for _ in range(p):
            push = slots[0] if len(slots) >= D and slots[0] > d else d
            s = max(push, free)
            first = s if first is None else first
            stall += push - d
            e = free = s + t_cv
            slots.append(e)
            ends.append(e)
            if held is not None:
                held.append((push, e, sum(x > push for x in ends)))
            if len(slots) > D:
                slots.popleft()
            d = push + t_dp
        return push, e, stall, first

    for _ in range(3000):
        t_dp, t_cv, D = rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 5)
        st, free, d = deque(), 0, rng.randint(0, 20)
        for _ in range(rng.randint(0, 3)):  # a reachable state: earlier chunks, write-back waits
            push, e, _, _ = ref(d, rng.randint(1, 8), t_dp, t_cv, D, free, st)
            free = e + rng.choice([0, 0, rng.randint(0, 30)])
            d = push + rng.randint(0, 20) + t_dp
        p = rng.randint(1, 60)
        a, b, c = deque(st), deque(st), deque(st)
        held, peak, log = [], [0], []
        want = ref(d, p, t_dp, t_cv, D, free, b, held)
        assert fifo_chunk(d, p, t_dp, t_cv, D, free, a, peak) == want
        assert a == b
        # the most slots held at once, with the jumps, is the pixel-by-pixel count (never above the depth)
        assert peak[0] == max(n for _, _, n in held) <= D
        assert fifo_chunk(d, p, t_dp, t_cv, D, free, c, None, log) == want  # the trace's pixel-by-pixel path
        assert c == b and log == [(x, y) for x, y, _ in held]


# ---- DMA channels -----------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 2])
def test_weight_reloads_over_one_and_two_dma_channels(tmp_path, channels):
    """Conv 3x3, 128 -> 96 channels: 3 column tiles of 32 channels on 2 macros, no double buffering:
    round 0 loads 2 tiles, round 1 one.  Each load is 4,628 cycles (DMA-bound).  One channel serves the
    two loads of round 0 one after the other (2 x 4,628), two channels side by side (4,628).  Both
    column tiles read the same input in bank 0 at once: macro1 waits 16,384 / 128 = 128 cycles.
    Total: image in 20 + 16,384 / 64 = 276, loads, 128 + 1,168, load 4,628, 1,168, image out 212."""
    arch = _with(_cfg(), **{"macro.count": 2, "macro.weight_double_buffer": False, "tlm.compute_txn_macs": 10**9,
                            "dma.channels": channels})
    wl = _conv(tmp_path, 128, 96)
    round0_loads = LOAD * (2 if channels == 1 else 1)
    expected = 276 + round0_loads + 128 + 1168 + LOAD + 1168 + 212
    r = simulate(arch, wl)
    assert r.cycles == expected
    busy = [r.extra["instances"][f"dma.ch{c}"]["busy_cycles"] for c in range(channels)]
    assert sum(busy) == 276 + 3 * LOAD + 212
    if channels == 2:
        assert min(busy) >= LOAD  # the second channel took one of round 0's loads
    assert r.extra["instances"]["macro0"]["stall_cycles"]["weight load"] == 276 - 276 + round0_loads + LOAD


# ---- temporal decoupling --------------------------------------------------------------------------------
CONTENDED = [("4 macros, 1 bank x 8 bits", "imagine_4macro", {"sram.banks": 1, "sram.width_bits": 8}),
             ("6 macros, pipelined, 4-bit banks", "imagine_4macro", {"macro.count": 6, "adc.pipelined": True,
                                                                     "sram.width_bits": 4})]


@pytest.mark.parametrize("label,cfg,changes", CONTENDED, ids=[c[0] for c in CONTENDED])
def test_strict_and_decoupled_agree_on_a_contended_multi_macro_run(label, cfg, changes):
    """The bound stated in docs/tlm-engine.md: 0 cycles.  A macro whose round runs on several macros
    synchronises before each SRAM read (QuantumKeeper.need_sync(shared=True)), so the banks see the
    shared requests in time order, first come first served, exactly as in strict mode; only the
    unshared work (its own DPs, its own ADC) runs ahead.  The test fails when that rule is removed (the
    arbitration of a saturated bank then follows the model's call order, not time)."""
    arch = _with(_cfg(cfg), **changes)
    wl = load_workload(ROOT / "workloads" / "ds_cnn.yaml")
    strict = simulate(arch, wl, quantum_cycles=0)
    assert sum(v.get("sram", 0) for v in strict.component_stall_cycles.values()) > 10_000  # contended
    for q in (100, 2000, 10**9):
        d = simulate(arch, wl, quantum_cycles=q)
        np.testing.assert_array_equal(d.per_layer["cycles"], strict.per_layer["cycles"])
        assert d.component_stall_cycles == strict.component_stall_cycles


def test_decoupling_is_used_where_nothing_is_shared():
    """One macro: it runs a quantum ahead, so far fewer kernel events than in strict mode, same cycles."""
    arch, wl = _cfg(), load_workload(ROOT / "workloads" / "resnet8.yaml")
    runs = {}
    for q in (0, 2000):
        s = System(arch, wl, quantum_cycles=q)
        n = 0
        done = s.start()
        while not done.triggered:
            s.env.step()
            n += 1
        runs[q] = (n, s.env.now)
    assert runs[0][1] == runs[2000][1]
    assert runs[2000][0] * 3 < runs[0][0]


# ---- the analytic engine as the contention-free bound ------------------------------------------------------
def _nothing_shared():
    """One macro, one SRAM bank per tensor (256 banks of 4 Mbit, contiguous ranges, 64 kbit/cycle ports),
    no spills: no block is used by two initiators at once."""
    return _with(_cfg(), **{"sram.capacity_kib": 1 << 17, "sram.banks": 256, "sram.width_bits": 1 << 16})


@pytest.mark.parametrize("wl_name", SHIPPED_WORKLOADS)
def test_both_engines_agree_when_nothing_is_shared(wl_name):
    """Contention on, every block modelled, nothing shared: the TLM run is the contention-free
    schedule, cycle for cycle and pJ for pJ -- except that the post-processing is shared in time
    between a row-tiled layer's last partial-sum accumulation and a digital layer right after it: that
    layer starts when the accumulation of the last chunk (its pixels x the tile's outputs ops, at 32 ops
    per cycle) is over."""
    arch = _nothing_shared()
    wl = load_workload(ROOT / "workloads" / f"{wl_name}.yaml")
    a, t = analytic(arch, wl), simulate(arch, wl)
    sys = System(arch, wl)
    tail = np.zeros(len(wl.layers) + 1, dtype=np.int64)
    for i, p in enumerate(sys.plans[:-1]):
        nxt = sys.plans[i + 1]
        if p.compute and p.tiles[-1].row_tile > 0 and not nxt.compute and nxt.ops:
            last = p.pixels - (p.pixels - 1) // p.chunk_pixels * p.chunk_pixels  # pixels of the last chunk
            tail[i + 1] = hw_pp.op_cycles(arch, last * p.tiles[-1].outputs)
    np.testing.assert_array_equal(t.per_layer["cycles"], a.per_layer["cycles"] + tail)
    for k in ("weight_bits_loaded", "conversions", "dp_cycles", "sram_read_bits", "sram_write_bits", "dma_bits",
              "postproc_ops"):
        np.testing.assert_array_equal(t.per_layer[k], a.per_layer[k], err_msg=k)
    if not tail.any():
        np.testing.assert_allclose(t.energy_pj, a.energy_pj, rtol=1e-9, atol=1e-9 * np.abs(a.energy_pj).max())
    assert not t.component_stall_cycles.get("macro", {}).keys() - {"weight load"}


def test_shipped_single_macro_config_is_not_quite_nothing_shared():
    """configs/imagine.yaml has one macro but 8 banks of 256 kbit: ResNet-8's tensors share banks with
    the partial sums of nobody (no row tiles) but its digital layers stream a whole tensor through one
    128-bit bank port, slower than the post-processing: the TLM run is longer than the bound."""
    arch, wl = _cfg(), load_workload(ROOT / "workloads" / "resnet8.yaml")
    a, t = analytic(arch, wl), simulate(arch, wl)
    assert t.cycles > a.cycles
    assert t.component_stall_cycles["postproc"]["sram"] == t.cycles - a.cycles


# ---- transactions -----------------------------------------------------------------------------------------
def test_an_error_response_stops_the_run_with_a_clear_message(tmp_path):
    """The image-in DMA writes the SRAM at the input tensor's address; an address outside the SRAM gets
    an ADDRESS_ERROR response, which the DMA channel checks: the run stops, naming target and work."""
    arch, wl = _cfg(), _conv(tmp_path, 128, 32)
    sys = System(arch, wl)
    sys.plan.sram.address["input"] = arch.sram.capacity_bits + 5
    with pytest.raises(TransactionError) as e:
        sys.run()
    msg = str(e.value)
    assert msg.startswith(f"sram answered address error to WRITE of 16384 bits at address "
                          f"{arch.sram.capacity_bits + 5} from dma (layer (image I/O)")


# ---- the plan's assignment ---------------------------------------------------------------------------
def test_both_engines_execute_the_plans_assignment(tmp_path):
    """Conv 128 -> 96: 3 column tiles.  Sequential on 2 macros: rounds {t0, t1}, {t2}.  Reassigned (as a
    mapper would) to macro1 alone, one tile per round: 3 x (load 4,628 + tile 1,168) after the image in
    (276) and before the image out (212) = 17,876 cycles in both engines; macro0 does nothing."""
    from tlm.mapping.plan import build_plan
    arch = _with(_cfg(), **{"macro.count": 2, "macro.weight_double_buffer": False, "tlm.compute_txn_macs": 10**9})
    wl = _conv(tmp_path, 128, 96)
    plan = build_plan(arch, wl)
    assert [t.macro for t in plan.layers[0].tiles] == [0, 1, 0] and plan.layers[0].rounds == 2
    plan.set_assignment(0, [1, 1, 1], [0, 1, 2])
    expected = 276 + 3 * (LOAD + 1168) + 212
    assert analytic(arch, wl, plan=plan).cycles == expected
    r = simulate(arch, wl, plan=plan)
    assert r.cycles == expected
    assert r.extra["instances"]["macro0"]["busy_cycles"] == 0
    assert r.extra["instances"]["macro1"]["busy_cycles"] == 3 * 1168


def test_the_meter_settles_as_it_goes_and_keeps_the_peak():
    """stats.Meter: intervals booked out of time order, never starting before the kernel's time; settling
    every few additions (limit 8) gives the peak a count over every cycle gives, and keeps few intervals."""
    from types import SimpleNamespace

    from tlm.engines.transaction.stats import Meter
    rng = random.Random(11)
    for _ in range(200):
        env = SimpleNamespace(now=0)
        m, spans, kept, live = Meter(env, limit=8), [], 0, 0
        for _ in range(rng.randint(1, 120)):
            env.now += rng.choice([0, 0, 1, rng.randint(0, 9)])
            a = env.now + rng.randint(0, 12)  # booked ahead of the kernel, never behind it
            b = a + rng.randint(1, 10)
            m.add(a, b)
            spans.append((a, b))
            kept = max(kept, len(m.ends))
            live = max(live, sum(e > env.now for _, e in spans))  # not over yet: must be kept
        want = max(sum(a <= t < b for a, b in spans) for t in range(max(b for _, b in spans)))
        assert m.value == want
        assert kept <= max(8, 2 * live) + 1  # the intervals over are dropped as the kernel moves on
