"""The multi-macro mapper (tlm/mapping/mapper.py): packing, pipelining, line buffers, replication, auto.

Cycle constants of the shipped IMAGINE config used in the derivations below:
- DP phase of one pixel = bits_in x macro.dp_cycles_per_bit = 8 x 8 = 64 cycles (8b inputs);
- one conversion round = adc.fixed_cycles + bits_out x adc.cycles_per_bit = 1 + 8 = 9 cycles (8b out);
  up to 256 converters: one round per pixel for <= 32 output channels of 8b weights;
- adc.pipelined is false: a pixel costs DP + conversion = 73 cycles (8b in/out);
- DMA (set in `_arch`): latency 10 cycles + bits / 64 per burst; 2 channels (image in on one, out on
  the other, so they form separate pipeline stages).
"""
import dataclasses
import math
import subprocess
import sys

import pytest

from helpers import with_changes, workload
from tlm.mapping import mapper
from tlm.engines.analytic import digital_ops, simulate as analytic
from tlm.engines.transaction.system import simulate as tlm_sim
from tlm.errors import InputError
from tlm.mapping.mapper import with_policy
from tlm.engines.registry import run


def auto(a, wl):
    """The analytic engine with `mapping.policy: auto` resolved (once, by the registry)."""
    return run("analytic", a, wl)


def _arch(arch, policy, macros, **more):
    """IMAGINE on `macros` macros, with the 8-cycle DP phase the hand derivations below use (the derived
    value follows the circuit model, tlm/hw/circuit.py, and may move)."""
    a = with_changes(arch, **{"macro.count": macros, "dma.channels": 2, "dma.latency_cycles": 10,
                              "dma.bandwidth_bits_per_cycle": 64, "macro.dp_cycles_per_bit": 8, **more})
    return with_policy(a, policy)


def _sched(a, wl):
    ops = [digital_ops(l) for l in wl.layers]
    asg = mapper.assign(a, wl, a.mapping.policy, ops)
    return asg, mapper.build_schedule(a, wl, asg, ops, stream=a.mapping.policy in ("pipelined", "replicate"))


def test_two_layers_two_macros_pipelined_batch4_is_fill_plus_3_stages_plus_drain(arch):
    # input 16 x 1 x 4 (one row of 4 pixels), 8b: 512 bits.
    # L1: 1x1 conv 16 -> 8 channels, in 8b, out 2b: pixel = 64 + (1 + 2) = 67, row of 4 = 268 cycles.
    # L2: 1x1 conv 8 -> 8, in 2b, out 8b: pixel = 16 + 9 = 25, row = 100 cycles.
    # image in: 10 + 512/64 = 18; image out: 8 ch x 4 px x 8b = 256 bits -> 10 + 4 = 14.
    # Both tiles fit one macro (macros_for_residency 1) but with 2 macros each layer gets its own.
    # Stages per image [18, 268, 100, 14]: a flow shop, so batch 4 =
    #   fill (18 + 268 = 286) + 3 x 268 + drain (100 + 14 = 114) = 1204.
    wl = workload([{"name": "l1", "type": "conv2d", "out_channels": 8, "kernel": 1,
                    "precision": {"input": 8, "weight": 8, "output": 2}},
                   {"name": "l2", "type": "conv2d", "out_channels": 8, "kernel": 1,
                    "precision": {"input": 2, "weight": 8, "output": 8}}], shape=(16, 1, 4), batch=4)
    a = _arch(arch, "pipelined", 2)
    asg, S = _sched(a, wl)
    assert asg.macros_for_residency == 1
    assert asg.layer_macros(0) == [0] and asg.layer_macros(1) == [1]
    assert S.stage == {"macro0": 268, "macro1": 100, "postproc": 0, "dma.ch0": 18, "dma.ch1": 14} or \
        {k: v for k, v in S.stage.items() if v} == {"macro0": 268, "macro1": 100, "dma.ch0": 18, "dma.ch1": 14}
    assert (S.fill, S.drain, S.bottleneck) == (286, 114, "macro0")
    assert S.makespan == 286 + 3 * 268 + 114 == 1204
    assert analytic(a, wl).cycles == 1204
    assert tlm_sim(a, wl, contention=False).cycles == 1204  # the TLM executes the same plan
    assert tlm_sim(a, wl).cycles >= 1204
    # the same two layers one after the other on one macro (resident): 18 + 4 x 268 + 4 x 100 + 14 x 4
    # (the batch in at once: 10 + 2048/64 = 42; out at once: 10 + 1024/64 = 26) = 42 + 1072 + 400 + 26
    r = analytic(_arch(arch, "resident", 1), wl)
    assert r.cycles == 42 + 4 * 268 + 4 * 100 + 26


def test_second_3x3_conv_starts_after_kernel_height_rows_of_the_first(arch):
    # input 4 x 6 x 6 (8b, 1152 bits: in = 10 + 18 = 28 cycles).  a: 3x3 conv, no padding -> 4 x 4 x 4;
    # b: 3x3 conv -> 4 x 2 x 2.  A row of a = 4 px x 73 = 292; a row of b = 2 x 73 = 146.
    # b's output row 0 reads a's rows 0..2: it starts when a's row 2 is done, 28 + 3 x 292 = 904, while a
    # computes its row 3 (until 28 + 4 x 292 = 1196) on the other macro; b's row 1 (a rows 1..3) then
    # runs 1196..1342; out: 4 x 2 x 2 x 8 = 128 bits -> 10 + 2 = 12: latency 1354 at batch 1.
    wl = workload([{"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3},
                   {"name": "b", "type": "conv2d", "out_channels": 4, "kernel": 3}], shape=(4, 6, 6))
    a = _arch(arch, "pipelined", 2)
    asg, S = _sched(a, wl)
    jobs_b = [j for j in range(len(S.res)) if S.layer[j] == 1]
    assert [int(S.start[j]) for j in jobs_b] == [904, 1196]
    assert S.makespan == 1354
    assert analytic(a, wl).cycles == 1354
    assert tlm_sim(a, wl, contention=False).cycles == 1354
    # layer by layer it would be 28 + 4 x 292 + 2 x 146 + 12 = 1500
    assert analytic(_arch(arch, "resident", 2), wl).cycles == 1500


def test_replicated_layer_stage_halves(arch):
    # one 3x3 conv (pad 1) 4 -> 4 channels on 4 x 6 x 6: 6 rows of 6 px x 73 = 438 cycles, 2628 per image.
    # On 2 macros `replicate` copies it (factor 2, printed); copy k computes rows k, k+2, k+4: 3 x 438 = 1314.
    # Batch 1: in 28 + 1314 + out (4 x 36 x 8 = 1152 bits: 28) = 1370; unreplicated 28 + 2628 + 28 = 2684.
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}],
                  shape=(4, 6, 6))
    asg, S = _sched(_arch(arch, "replicate", 2), wl)
    assert asg.replicas == {0: 2}
    assert S.stage["macro0"] == S.stage["macro1"] == 1314 == 2628 // 2
    assert S.makespan == 1370
    _, S1 = _sched(_arch(arch, "pipelined", 2), wl)
    assert S1.stage["macro0"] == 2628 and S1.makespan == 2684
    r = analytic(_arch(arch, "replicate", 2), wl)
    assert r.cycles == 1370 and any("replicas: c x2" in n for n in r.notes)


def test_two_small_layers_pack_into_one_macro(arch):
    # each conv: rows 3 x 3 x 4 = 36 -> one DP-split block of 128 rows; columns 8 ch x 8b = 64.
    # FFD: a opens a shelf [0, 128) on macro 0 at column 0; b goes beside it at column 64.
    wl = workload([{"name": "a", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1},
                   {"name": "b", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}],
                  shape=(4, 6, 6))
    wl.layers[1].in_shape  # noqa: B018  (b reads a's 8 channels: 72 rows, still one block)
    asg = mapper.assign(_arch(arch, "resident", 1), wl, "resident")
    got = sorted((p.layer, p.macro, p.row0, p.rows, p.col0, p.cols, p.used_rows) for p in asg.places)
    assert got == [(0, 0, 0, 128, 0, 64, 36), (1, 0, 0, 128, 64, 64, 72)]
    assert asg.macros_for_residency == 1 and asg.macros_used == 1


def test_dp_split_blocks_decide_what_shares_a_macro(arch):
    # 600 rows -> 5 blocks of 128 = 640 rows occupied.  Two such tiles of 128 columns sit side by side in
    # one shelf (640 rows, 256 columns); of 192 columns they neither fit side by side (384 > 256) nor
    # stacked (1280 > 1152 rows): 2 macros.  (600 rows = 3 x 3 x c_in is not an integer: use a dense
    # layer of 600 inputs on a 600 x 1 x 1 input.)
    def two(cols_ch):
        return workload([{"name": "f1", "type": "conv2d", "out_channels": cols_ch, "kernel": 1},
                         {"name": "f2", "type": "conv2d", "input": "input", "out_channels": cols_ch,
                          "kernel": 1}], shape=(600, 1, 1))
    assert mapper.assign(_arch(arch, "resident", 4), two(16), "resident").macros_for_residency == 1
    assert mapper.assign(_arch(arch, "resident", 4), two(24), "resident").macros_for_residency == 2


def test_needs_n_macros_error_one_line(arch, root, tmp_path):
    wl_path = tmp_path / "w.yaml"
    wl_path.write_text("name: w\ninput: {shape: [600, 1, 1], bits: 8}\nlayers:\n"
                       "  - {name: f1, type: conv2d, out_channels: 24, kernel: 1}\n"
                       "  - {name: f2, type: conv2d, input: input, out_channels: 24, kernel: 1}\n")
    wl = workload([{"name": "f1", "type": "conv2d", "out_channels": 24, "kernel": 1},
                   {"name": "f2", "type": "conv2d", "input": "input", "out_channels": 24, "kernel": 1}],
                  shape=(600, 1, 1))
    # (the two 640 x 192 tiles are taller and wider than half a macro: a lower bound of 2 without packing)
    with pytest.raises(InputError, match="need at least 2 macros"):
        analytic(_arch(arch, "pipelined", 1), wl)
    p = subprocess.run([sys.executable, "-m", "tlm", "simulate", str(root / "configs" / "imagine.yaml"),
                        str(wl_path), "--mapping", "resident"], capture_output=True, text=True,
                       env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "need at least 2 macros" in err[0] and "mapping.policy" in err[0]
    # auto falls back to sequential and says why
    r = auto(with_policy(arch, "auto"), wl)
    assert any("chose sequential" in n and "need at least 2 macros" in n for n in r.notes)


def test_line_buffer_sram_and_spill(arch):
    # the chain of two 3x3 convs: at most a's 3 rows being read + ... is held; shrinking the SRAM below the
    # line buffers makes the excess spill (out and back over the DMA) and costs time.
    wl = workload([{"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3},
                   {"name": "b", "type": "conv2d", "out_channels": 4, "kernel": 3}], shape=(4, 6, 6))
    _, S = _sched(_arch(arch, "pipelined", 2), wl)
    whole = 4 * 36 * 8 + 4 * 16 * 8 + 4 * 4 * 8  # every tensor of the image at once
    assert 0 < S.line_buffer_bits < whole and S.spill_bits == 0
    small = _arch(arch, "pipelined", 2, **{"sram.capacity_kib": 64 / 8192})  # 64 bits
    _, S2 = _sched(small, wl)
    assert S2.spill_bits == S2.line_buffer_bits - 64 > 0
    assert S2.makespan == S.makespan + 2 * (10 + math.ceil(S2.spill_bits / 64))


def test_power_gating_removes_leakage_of_empty_macros(arch):
    wl = workload([{"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}],
                  shape=(4, 6, 6))
    on = analytic(_arch(arch, "pipelined", 8), wl)
    off = analytic(_arch(arch, "pipelined", 8, **{"macro.power_gating": True}), wl)
    k = list(on.energy_by_kind_pj).index("leakage")
    t_ns = on.cycles * arch.clock.period_ns
    per_macro_uw = arch.macro.leakage_uw + arch.adc.leakage_uw
    # 7 of 8 macros hold no weights: 7 x (macro + ADC leakage) x time less
    assert on.energy_pj[:, k].sum() - off.energy_pj[:, k].sum() == pytest.approx(7 * per_macro_uw * t_ns / 1000)


# ---- properties on the shipped workloads ------------------------------------------------------------
SHIPPED = ["mnist_cnn", "resnet8", "ds_cnn", "fc_autoencoder", "mobilenet_v1_vww", "cifar10_vgg"]


@pytest.mark.parametrize("name", SHIPPED)
def test_auto_more_macros_never_worse(arch, root, name):
    from tlm.config.workload import load_workload
    wl = load_workload(root / "workloads" / f"{name}.yaml")
    for objective in ("throughput", "latency"):
        prev = None
        for n in (1, 2, 4, 8, 16, 32):
            a = with_changes(arch, **{"macro.count": n, "mapping.policy": "auto", "mapping.objective": objective})
            r = auto(a, wl)
            from tlm.mapping.mapper import image_latency_cycles
            v = r.cycles if objective == "throughput" else image_latency_cycles(r)
            if prev is not None:
                assert v <= prev, f"{name} {objective}: {n} macros worse than {n // 2}"
            prev = v


@pytest.mark.parametrize("name", ["mnist_cnn", "resnet8", "ds_cnn", "fc_autoencoder"])
def test_tlm_never_below_the_bound(arch, root, name):
    from tlm.config.workload import load_workload
    wl = load_workload(root / "workloads" / f"{name}.yaml")
    wl = dataclasses.replace(wl, batch=4)
    need = analytic(with_policy(arch, "sequential"), wl).extra["mapping"]["macros_for_residency"]
    for pol in ("resident", "pipelined", "replicate"):
        a = with_policy(with_changes(arch, **{"macro.count": 2 * need}), pol)
        bound = analytic(a, wl).cycles
        assert tlm_sim(a, wl).cycles >= bound
        assert tlm_sim(a, wl, contention=False).cycles == bound


def test_resnet8_tlm_within_15_percent_of_the_pipeline_bound(arch, resnet8):
    wl = dataclasses.replace(resnet8, batch=16)
    for n, pol in ((8, "pipelined"), (32, "replicate")):
        a = with_policy(with_changes(arch, **{"macro.count": n}), pol)
        bound = analytic(a, wl).cycles
        got = tlm_sim(a, wl).cycles
        assert bound <= got <= 1.15 * bound


def test_resnet8_targets(arch, resnet8):
    """At 32 macros and batch 16 throughput >= 8x one macro sequential; batch 1 on 16 macros: latency
    at most half of one macro's."""
    one16 = analytic(with_policy(arch, "sequential"), dataclasses.replace(resnet8, batch=16))
    best16 = auto(with_changes(arch, **{"macro.count": 32, "mapping.policy": "auto"}),
                      dataclasses.replace(resnet8, batch=16))
    assert best16.summary()["inferences_per_s"] >= 8 * one16.summary()["inferences_per_s"]
    one1 = analytic(with_policy(arch, "sequential"), resnet8)
    lat = auto(with_changes(arch, **{"macro.count": 16, "mapping.policy": "auto", "mapping.objective": "latency"}),
                   resnet8)
    assert lat.cycles <= one1.cycles / 2


def test_json_and_mapping_fields(arch, resnet8):
    r = analytic(with_policy(with_changes(arch, **{"macro.count": 16}), "replicate"), resnet8)
    d = r.to_json_dict()
    assert d["summary"]["macros_used"] == 16 and d["summary"]["macros_for_residency"] == 3
    conv1 = d["layers"][0]
    assert conv1["replicas"] >= 2 and len(conv1["macros"]) == conv1["replicas"]  # one-tile copies on their own macros
    assert all(0 <= m < 16 for L in d["layers"] if "macros" in L for m in L["macros"])


def test_mapping_doc_is_current(root):
    r = subprocess.run([sys.executable, str(root / "scripts" / "gen_mapping_table.py"), "--check"])
    assert r.returncode == 0, "docs/mapping.md is stale: run python scripts/gen_mapping_table.py"


def test_trace_has_one_track_per_macro_with_its_busy_cycles(arch, resnet8, tmp_path):
    import json
    a = with_policy(with_changes(arch, **{"macro.count": 16}), "replicate")
    r = tlm_sim(a, resnet8, trace=str(tmp_path / "t.json"))
    d = json.loads((tmp_path / "t.json").read_text())
    tid = {e["args"]["name"]: e["tid"] for e in d["traceEvents"] if e["name"] == "thread_name"}
    assert [n for n in tid if n.startswith("macro")] == [f"macro{k}" for k in range(16)]
    for k in range(16):
        busy = sum(e["args"]["cycles"] for e in d["traceEvents"]
                   if e.get("tid") == tid[f"macro{k}"] and e.get("cat") == "busy")
        assert busy == r.extra["instances"][f"macro{k}"]["busy_cycles"] > 0


def test_shared_sram_contention_is_attributed_and_only_slows(arch, resnet8):
    # one narrow SRAM bank shared by 8 macros running at once: their activation reads queue ('sram'
    # stalls on the macros), so the run is later than the contention-free bound, never earlier.
    a = with_policy(with_changes(arch, **{"macro.count": 8, "sram.banks": 1, "sram.width_bits": 4}), "pipelined")
    bound = analytic(a, resnet8).cycles
    r = tlm_sim(a, resnet8)
    assert r.cycles > bound
    assert r.component_stall_cycles["macro"]["sram"] > 0
    assert r.component_stall_cycles["macro"]["line buffer"] > 0  # consumers wait for their producers
    assert tlm_sim(a, resnet8, contention=False).cycles == bound


def test_mapping_table_in_simulate_fits_80_columns(root, tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text(f"extends: {root / 'configs' / 'imagine.yaml'}\nmacro: {{count: 16, dp_cycles_per_bit: 8}}\n"
                   "mapping: {policy: replicate}\n")
    p = subprocess.run([sys.executable, "-m", "tlm", "simulate", str(cfg), str(root / "workloads" / "resnet8.yaml"),
                        "--engine", "analytic"], capture_output=True, text=True,
                       env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "80"})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    start = next(i for i, s in enumerate(lines) if "mapping: replicate" in s)
    table = "\n".join(lines[start:start + 22])  # the mapping table (the other tables are w-tables' concern)
    assert max(len(s) for s in table.splitlines()) <= 80
    # conv1 (32 rows of 2,336 cycles: 74,752 per image) is copied 4 times: copy r computes rows r, r + 4..,
    # 8 rows = 18,688 cycles; one 128x128 block per copy
    row = next(s for s in table.splitlines() if s.split() and s.split()[0] == "conv1")
    assert row.split()[2:] == ["128x128", "4", "18,688"]


@pytest.mark.parametrize("name", ["published/jia_jssc2020", "published/wang_vlsi2022", "imagine"])
def test_mapped_tlm_counts_the_general_macro_events_as_the_analytic_engine(name):
    """The multi-macro TLM path (tlm/engines/transaction/pipeline.py) takes its per-pixel events from the plan's tiles
    (tlm/hw/: DP phases of a multi-level input, conversions of bit columns, the digital shift-add), as
    the analytic engine does: without contention both give the same cycles and every energy kind.  Jia's
    design converts bit columns separately (8 conversions per output per input bit), Wang's drives 8b
    inputs in one DAC phase (1 DP phase per pixel, not 8): counting either as IMAGINE's scheme fails."""
    from tlm.config.arch import load_arch
    from tlm.config.paths import resolve
    from tlm.config.workload import load_workload
    wl = load_workload(resolve("mnist_cnn", "workloads", "resnet8"))
    a = load_arch(resolve(name, "configs", "imagine"))
    need = analytic(with_policy(a, "sequential"), wl).extra["mapping"]["macros_for_residency"]
    for pol in ("resident", "pipelined"):
        b = with_policy(with_changes(a, **{"macro.count": 2 * need}), pol)
        x, y = analytic(b, wl), tlm_sim(b, wl, contention=False)
        assert y.cycles == x.cycles
        for k, v in x.energy_by_kind_pj.items():
            assert y.energy_by_kind_pj[k] == pytest.approx(v, rel=1e-9), (pol, k)
