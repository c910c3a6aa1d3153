"""The transaction-level engine (tlm/engines/transaction/) against the analytic core and against hand-computed
schedules; its contention, watchdog, trace and CLI."""
import json
import math

import numpy as np
import pytest

from tlm.engines.analytic import simulate as analytic
from tlm.config.arch import load_arch
from tlm.cli import main
from tlm.engines.transaction.system import SimulationStalled, System, simulate
from tlm.hw import controller as hw_ctrl
from tlm.hw import dma as hw_dma
from tlm.config.workload import load_workload

from conftest import ROOT, SHIPPED_WORKLOADS

SHIPPED_CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
COUNTED = ("weight_bits_loaded", "conversions", "dp_cycles", "sram_read_bits", "sram_write_bits", "dma_bits",
           "spill_bits", "postproc_ops")


def _wl(name):
    return load_workload(ROOT / "workloads" / f"{name}.yaml")


def _cfg(name):
    from conftest import sequential  # the layer-by-layer schedule these tests derive
    return sequential(load_arch(ROOT / "configs" / f"{name}.yaml"))


def _with(arch, **changes):
    from helpers import with_changes
    return with_changes(arch, **changes)


def _tiny_workload(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text("name: tiny\ninput: {shape: [128, 4, 4], bits: 8}\nprecision: {input: 8, weight: 8, output: 8}\n"
                 "layers:\n  - {name: conv, type: conv2d, out_channels: 96, kernel: 3, padding: 1}\n")
    return load_workload(p)


# ---- equality with the analytic core ------------------------------------------------------------
@pytest.mark.parametrize("cfg", SHIPPED_CONFIGS)
@pytest.mark.parametrize("wl_name", SHIPPED_WORKLOADS)
def test_without_contention_equals_analytic(cfg, wl_name):
    arch, wl = _cfg(cfg), _wl(wl_name)
    a = analytic(arch, wl)
    t = simulate(arch, wl, contention=False)
    assert t.engine == "tlm"
    assert t.cycles == a.cycles
    np.testing.assert_array_equal(t.per_layer["cycles"], a.per_layer["cycles"])
    for k in ("compute_cycles", "load_cycles", "spill_cycles") + COUNTED:
        np.testing.assert_array_equal(t.per_layer[k], a.per_layer[k], err_msg=k)
    np.testing.assert_allclose(t.energy_pj, a.energy_pj, rtol=1e-9, atol=1e-9 * np.abs(a.energy_pj).max())
    assert math.isclose(t.on_chip_energy_pj, a.on_chip_energy_pj, rel_tol=1e-9)


def test_without_contention_equals_analytic_with_spills_rounds_and_bounded_dma():
    """Spills (small SRAM), several rounds, 2 channels, double buffering, pipelined ADC: still equal."""
    arch = _with(_cfg("imagine_4macro"), **{"sram.capacity_kib": 4, "dma.channels": 2,
                                            "dma.bandwidth_bits_per_cycle": 16, "adc.pipelined": True,
                                            "macro.count": 3})
    spilled = 0
    for name in SHIPPED_WORKLOADS:
        wl = _wl(name)
        a, t = analytic(arch, wl), simulate(arch, wl, contention=False)
        # every workload whose activations exceed the 4 KiB SRAM spills
        assert (a.per_layer["spill_bits"].sum() > 0) == (a.per_layer["live_bits"].max() > arch.sram.capacity_bits)
        spilled += a.per_layer["spill_bits"].sum() > 0
        np.testing.assert_array_equal(t.per_layer["cycles"], a.per_layer["cycles"])
        np.testing.assert_allclose(t.energy_pj.sum(), a.energy_pj.sum(), rtol=1e-9)
    assert spilled >= len(SHIPPED_WORKLOADS) - 1


AWKWARD = """name: awkward
input: {shape: [40, 9, 9], bits: 4}
precision: {input: 4, weight: 3, output: 5}
batch: 3
layers:
  - {name: dw, type: conv2d, out_channels: 40, kernel: 3, padding: 1, groups: 40, relu: true}
  - {name: grp, type: conv2d, out_channels: 60, kernel: 3, stride: 2, groups: 20}
  - {name: wide, type: conv2d, out_channels: 200, kernel: 3, padding: 1, precision: {weight: 8}}
  - {name: packed, type: conv2d, out_channels: 200, kernel: 3, padding: 1, groups: 100}
  - {name: big, type: conv2d, out_channels: 200, kernel: 5, padding: 2, precision: {weight: 8}}
  - {name: pool, type: maxpool, kernel: 2}
  - {name: flat, type: flatten}
  - {name: fc, type: dense, out_features: 33, precision: {output: 2}}
"""


@pytest.mark.parametrize("cfg", SHIPPED_CONFIGS)
def test_without_contention_equals_analytic_on_awkward_layers(tmp_path, cfg):
    """Depthwise, grouped (packed with a remainder group tile), row- and column-tiled layers, odd
    precisions and a batch of 3; the ADC pipelined and not."""
    p = tmp_path / "awkward.yaml"
    p.write_text(AWKWARD)
    wl = load_workload(p)
    for pipelined in (False, True):
        arch = _with(_cfg(cfg), **{"adc.pipelined": pipelined})
        a, t = analytic(arch, wl), simulate(arch, wl, contention=False)
        gpt = int(a.per_layer["groups_per_tile"][3])
        assert gpt > 1 and 100 % gpt  # packed groups, the last group tile partly filled
        assert (a.per_layer["row_tiles"] > 1).any() and (a.per_layer["col_tiles"] > 1).any()
        np.testing.assert_array_equal(t.per_layer["cycles"], a.per_layer["cycles"])
        for k in COUNTED:
            np.testing.assert_array_equal(t.per_layer[k], a.per_layer[k], err_msg=k)
        np.testing.assert_allclose(t.energy_pj, a.energy_pj, rtol=1e-9, atol=1e-9 * np.abs(a.energy_pj).max())


# ---- strict vs decoupled ------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", SHIPPED_CONFIGS)
@pytest.mark.parametrize("wl_name", SHIPPED_WORKLOADS)
def test_strict_equals_decoupled_on_shipped(cfg, wl_name):
    arch, wl = _cfg(cfg), _wl(wl_name)
    strict = simulate(arch, wl, quantum_cycles=0)
    for q in (1, 1000, 10**9):
        np.testing.assert_array_equal(simulate(arch, wl, quantum_cycles=q).per_layer["cycles"],
                                      strict.per_layer["cycles"])


def test_strict_equals_decoupled_with_a_saturated_sram():
    """One initiator on a saturated SRAM: decoupling must not change its timing."""
    arch = _with(_cfg("imagine"), **{"sram.banks": 1, "sram.width_bits": 4})
    wl = _wl("resnet8")
    strict = simulate(arch, wl, quantum_cycles=0)
    assert strict.component_stall_cycles["macro"]["sram"] > 0
    for q in (7, 2000, 10**9):
        assert simulate(arch, wl, quantum_cycles=q).cycles == strict.cycles


# ---- contention ---------------------------------------------------------------------------------
def test_bounded_dma_stalls_compute_and_more_bandwidth_is_never_slower():
    """Spilled activations share the single DMA channel with the weight reloads of each round: the
    TLM run is slower than the analytic (serial, one-burst) figure, the macro's statistics show the
    wait on the DMA, and a faster DMA never makes it slower."""
    base = _with(_cfg("imagine"), **{"sram.capacity_kib": 8, "dma.channels": 1})
    wl = _wl("resnet8")
    prev_cycles, prev_stall = None, None
    for bw in (2, 8, 32, 128, 1024, math.inf):
        arch = _with(base, **{"dma.bandwidth_bits_per_cycle": bw})
        a, t = analytic(arch, wl), simulate(arch, wl)
        assert t.cycles > a.cycles, bw
        stall = t.component_stall_cycles["macro"]["weight load"]
        assert stall > 0
        assert t.extra["instances"]["dma.ch0"]["busy_cycles"] > 0
        if prev_cycles is not None:
            assert t.cycles <= prev_cycles and stall <= prev_stall, bw
        prev_cycles, prev_stall = t.cycles, stall
    # with every weight load 4x slower, the wait on the DMA grows by at least 3x (latency is fixed)
    s = [simulate(_with(base, **{"dma.bandwidth_bits_per_cycle": bw}), wl).component_stall_cycles["macro"]
         ["weight load"] for bw in (64, 16)]
    assert s[1] > 3 * s[0]


def test_narrow_sram_stalls_the_macro_streams_and_wider_is_never_slower():
    wl = _wl("resnet8")
    prev = None
    for width in (1, 2, 4, 16, 128, 1024):
        arch = _with(_cfg("imagine_4macro"), **{"sram.banks": 1, "sram.width_bits": width})
        a, t = analytic(arch, wl), simulate(arch, wl)
        if width <= 4:
            assert t.cycles > a.cycles
            assert t.component_stall_cycles["macro"]["sram"] > 0
        if prev is not None:
            assert t.cycles <= prev
        prev = t.cycles
    # 1024 bits/cycle is enough for one macro: with nothing shared no contention is left
    one = _with(_cfg("imagine"), **{"sram.banks": 1, "sram.width_bits": 1024})
    assert simulate(one, wl).cycles == analytic(one, wl).cycles


def test_contention_never_beats_no_contention_without_spills():
    for cfg in SHIPPED_CONFIGS:
        arch = _with(_cfg(cfg), **{"sram.width_bits": 2, "postproc.ops_per_cycle": 1})
        for name in SHIPPED_WORKLOADS:
            wl = _wl(name)
            if analytic(arch, wl).per_layer["spill_bits"].any():
                continue
            assert simulate(arch, wl).cycles >= simulate(arch, wl, contention=False).cycles


# ---- a hand-computed schedule -------------------------------------------------------------------
def test_exact_event_order_on_a_tiny_case(tmp_path):
    """Conv 3x3 of a 128 x 4 x 4 input (8 bits) into 96 channels on 2 macros, no double buffering, one
    DMA channel, one chunk per tile: 1152 rows x 768 columns = 3 column tiles of 32 channels, rounds
    {t0 on macro0, t1 on macro1}, {t2 on macro0}.  Every column tile reads the whole input, 128 x 16 x 8
    = 16,384 bits, which lies in SRAM bank 0 (one contiguous 262,144-bit range per bank): in round 0 the
    two macros read that bank at once, macro0 first, so macro1 waits 16,384 / 128 = 128 cycles for it."""
    arch = _with(_cfg("imagine"), **{"macro.count": 2, "macro.weight_double_buffer": False,
                                     "tlm.compute_txn_macs": 10**9, "dma.channels": 1})
    wl = _tiny_workload(tmp_path)
    m = arch.macro
    io_in = 20 + 128 * 16 * 8 // 64  # DMA latency + 16,384 bits at 64 bits/cycle = 276
    assert io_in == hw_dma.transfer_cycles(arch, 128 * 16 * 8)
    # a tile of 1152 x 256 weight bits: the DMA (64 b/cycle) is slower than the write port (256 b/cycle)
    load = 20 + 1152 * 32 * 8 // 64  # 4,628
    tile = 16 * (8 * m.dp_cycles_per_bit + arch.adc.fixed_cycles + 8 * arch.adc.cycles_per_bit)  # 1,168
    assert tile == int(hw_ctrl.tile_cycles(arch, 8, 8, 32, 16))
    io_out = 20 + 96 * 16 * 8 // 64  # 212
    conflict = 128 * 16 * 8 // arch.sram.width_bits  # macro1 waits for macro0's read of bank 0
    t1 = io_in + 2 * load  # both tiles of round 0 through the single channel
    t2 = t1 + conflict + tile + load  # round 1 (after the barrier: macro1 is the last): tile 2 on macro0
    expected = [("dma.ch0", 0, io_in), ("dma.ch0", io_in, load), ("dma.ch0", io_in + load, load),
                ("macro0", t1, tile), ("macro1", t1 + conflict, tile), ("dma.ch0", t1 + conflict + tile, load),
                ("macro0", t2, tile), ("dma.ch0", t2 + tile, io_out)]
    path = tmp_path / "trace.json"
    r = simulate(arch, wl, quantum_cycles=0, trace=path)
    assert r.cycles == t2 + tile + io_out == analytic(arch, wl).cycles + conflict
    assert r.extra["instances"]["macro1"]["stall_cycles"] == {"sram": conflict, "weight load": 2 * load}
    ev = json.loads(path.read_text())["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
    got = sorted(((names[e["tid"]], e["ts"] * 1000 / arch.clock.period_ns, e["args"]["cycles"]) for e in ev
                  if e["ph"] == "X" and e["cat"] == "busy" and names[e["tid"]] in ("dma.ch0", "macro0", "macro1")),
                 key=lambda x: (round(x[1]), x[0]))
    assert [(n, round(t), c) for n, t, c in got] == expected


# ---- watchdog -----------------------------------------------------------------------------------
def test_deadlock_stops_with_the_blocked_component_named():
    arch, wl = _cfg("imagine_4macro"), _wl("resnet8")
    sys = System(arch, wl)
    sys.macros[1].assign = lambda plan, tile, barrier: None  # macro1 never receives its tile
    with pytest.raises(SimulationStalled) as e:
        sys.run()
    msg = str(e.value)
    assert "deadlock" in msg and "controller waits for macros macro0, macro1" in msg
    assert "macro1 waits for a tile from the controller" in msg


def test_a_transfer_that_never_ends_trips_the_watchdog():
    arch = _with(_cfg("imagine"), **{"tlm.watchdog_cycles": 10_000})
    sys = System(arch, _wl("mnist_cnn"))
    submit = sys.dma.submit

    def endless(transfers):  # a burst that never completes in practice
        for tr in transfers:
            tr.cycles = 10**12
        return submit(transfers)
    sys.dma.submit = endless
    with pytest.raises(SimulationStalled) as e:
        sys.run()
    assert "controller waits for the DMA (image in)" in str(e.value)


# ---- trace --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", SHIPPED_CONFIGS)
def test_trace_is_valid_and_busy_time_matches_statistics(tmp_path, cfg):
    arch = _with(_cfg(cfg), **{"sram.width_bits": 4})  # some stalls too
    path = tmp_path / "t.json"
    r = simulate(arch, _wl("resnet8"), trace=path)
    doc = json.loads(path.read_text())
    ev = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    busy, stall = {}, {}
    for e in ev:
        if e["ph"] != "X":
            continue
        assert e["ts"] >= 0 and e["dur"] > 0
        assert math.isclose(e["dur"], e["args"]["cycles"] * arch.clock.period_ns / 1000, rel_tol=1e-12)
        tgt = busy if e["cat"] == "busy" else stall
        tgt[names[e["tid"]]] = tgt.get(names[e["tid"]], 0) + e["args"]["cycles"]
    inst = r.extra["instances"]
    for name, s in inst.items():
        assert busy.get(name, 0) == s["busy_cycles"], name
        assert stall.get(name, 0) == sum(s["stall_cycles"].values()), name
    assert sum(v for n, v in busy.items() if n.startswith("macro")) == r.component_busy_cycles["macro"]
    assert busy["controller"] == r.cycles


# ---- CLI ----------------------------------------------------------------------------------------
def test_cli_tlm_trace_and_json(tmp_path, capsys):
    tr, js = tmp_path / "t.json", tmp_path / "r.json"
    assert main(["simulate", "imagine", "mnist_cnn", "--engine", "tlm", "--quantum", "0", "--trace", str(tr),
                 "--json", str(js), "-q"]) == 0
    r = json.loads(js.read_text())
    assert r["engine"] == "tlm" and r["extra"]["quantum_cycles"] == 0
    # strict lock-step gives the decoupled run's cycles: one macro, nothing shared between initiators
    assert r["summary"]["cycles_per_batch"] == simulate(_cfg("imagine"), _wl("mnist_cnn")).cycles
    assert json.loads(tr.read_text())["traceEvents"]


def test_cli_rejects_tlm_flags_for_the_analytic_engine(tmp_path, capsys):
    tr = tmp_path / "t.json"
    assert main(["simulate", "--engine", "analytic", "--trace", str(tr)]) == 2
    assert "--trace" in capsys.readouterr().err and not tr.exists()
    assert main(["simulate", "--quantum", "-1"]) == 2


def test_tlm_section_is_validated(tmp_path):
    from tlm.errors import InputError
    p = tmp_path / "bad.yaml"
    p.write_text(f"extends: {ROOT / 'configs' / 'imagine.yaml'}\ntlm:\n  quantum_cycle: 5\n")
    with pytest.raises(InputError) as e:
        load_arch(p)
    assert "quantum_cycles" in str(e.value)


# ---- one plan: the digital layers' data movement is one rule -------------------------------------
RESHAPE_CHAIN = """name: reshape_chain
input: {shape: [4, 6, 6], bits: 8}
precision: {input: 8, weight: 8, output: 8}
layers:
  - {name: conv, type: conv2d, out_channels: 16, kernel: 3, padding: 1}
  - {name: rs, type: reshape, shape: [64, 3, 3]}
  - {name: flat, type: flatten}
  - {name: fc, type: dense, out_features: 10}
"""


def test_reshape_and_flatten_move_no_data_in_either_engine(tmp_path):
    """conv -> reshape -> flatten -> dense.  The reshape and the flatten are views: 0 SRAM bits in both
    engines (the TLM engine used to give the reshape 16 x 6 x 6 x 8 = 4,608 bits read and written).  The
    conv reads its 4 x 6 x 6 x 8 = 1,152 input bits once (one column tile) and writes 16 x 36 x 8 = 4,608;
    the dense reads the 4,608 bits back and writes 10 x 8 = 80."""
    p = tmp_path / "chain.yaml"
    p.write_text(RESHAPE_CHAIN)
    wl = load_workload(p)
    arch = _cfg("imagine")
    a = analytic(arch, wl)
    for contention in (False, True):
        t = simulate(arch, wl, contention=contention)
        for r in (a, t):
            assert r.per_layer["sram_read_bits"][:4].tolist() == [1152, 0, 0, 4608], r.engine
            assert r.per_layer["sram_write_bits"][:4].tolist() == [4608, 0, 0, 80], r.engine
        np.testing.assert_array_equal(t.per_layer["cycles"], a.per_layer["cycles"])
        assert math.isclose(t.on_chip_energy_pj, a.on_chip_energy_pj, rel_tol=1e-12)
