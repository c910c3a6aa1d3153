"""The general macro model: event counts of the input drive, weight mode and ADC resolution; the
technology rule; the published designs against their papers (each within 25% with at most two fitted
parameters); a made-up design with no fitted value and hand-computed figures; `tlm chips` in the docs."""
import dataclasses

import pytest

from helpers import with_changes
from tlm.services import calibrate, chips, paper
from tlm.engines.analytic import simulate
from tlm.config.arch import load_arch, load_with_published
from tlm.cli import main
from tlm.hw import adc as hw_adc
from tlm.hw import area as hw_area
from tlm.hw import macro as hw_macro
from tlm.hw import technology
from tlm.config.paths import resolve

PX = paper.MAP_HW * paper.MAP_HW


def with_changes(arch, **changes):
    by = {}
    for k, v in changes.items():
        s, f = k.split(".")
        by.setdefault(s, {})[f] = v
    return dataclasses.replace(arch, **{s: dataclasses.replace(getattr(arch, s), **kv) for s, kv in by.items()})


def conv(bits_in, bits_w, bits_out, c_in=16, c_out=8):
    return paper.conv_workload(bits_in, c_in, c_out, "t", 3, bits_w, bits_out)


# ---- event counts: change one thing, check the counts ------------------------------------------------
def test_input_drive_changes_only_the_dp_phases(arch):
    """8b inputs: bit-serial = 8 DP phases per pixel; a 4b DAC = ceil(8/4) = 2; an 8b DAC = 1; a 3b DAC
    = ceil(8/3) = 3.  Conversions stay one per output channel per pixel (analog weights)."""
    wl = conv(8, 8, 8)
    for mode, k, phases in (("bit_serial", 1, 8), ("multi_level", 4, 2), ("multi_level", 8, 1),
                            ("multi_level", 3, 3)):
        a = with_changes(arch, **{"macro.input_drive": mode, "macro.input_dac_bits": k})
        assert hw_macro.dp_phases(a, 8) == phases
        pl = simulate(a, wl).per_layer
        assert pl["dp_cycles"][0] == PX * phases  # one tile
        assert pl["conversions"][0] == PX * 8
        assert hw_adc.shift_adds_per_pixel(a, 8, 8, 8) == 0


def test_multi_level_dac_energy_and_area(arch):
    """A 4b row DAC of 3 fF units: 2^4 x 3 fF per driven row per phase at vdd_digital; its area 16 x 3 fF
    / cap density + logic per row."""
    a = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4,
                              "macro.c_input_dac_unit_ff": 3.0, "macro.input_dac_logic_area_um2": 10.0})
    vd = a.technology.vdd_digital_v
    assert hw_macro.dac_energy_pj(a, 100) == pytest.approx(100 * 16 * 3.0 * vd * vd / 1000)
    assert hw_macro.dac_energy_pj(arch, 100) == 0
    per_row = 16 * 3.0 / a.technology.cap_density_ff_per_um2 + 10.0
    assert hw_area.macro_mm2(a) - hw_area.macro_mm2(arch) == pytest.approx(a.macro.rows * per_row / 1e6)


def test_row_dacs_are_their_own_energy_kind_by_hand(arch):
    """8b inputs through 4b row DACs of 2 fF units, 16 -> 8 channels 3x3 (144 rows), one tile: ceil(8/4) = 2
    DP phases per pixel; the `input_dac` kind is 144 rows x 1,024 pixels x 2 phases x 2^4 units x 2 fF x
    Vd^2, and `input_drivers` is the rows' lines alone (144 x 1,024 x 2 x density x c_row x Vd^2)."""
    a = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4,
                              "macro.c_input_dac_unit_ff": 2.0})
    vd, d = a.technology.vdd_digital_v, a.activity.input_bit_density
    r = simulate(a, conv(8, 8, 8))
    e = r.energy_by_kind_pj
    assert e["input_dac"] == pytest.approx(144 * PX * 2 * 16 * 2.0 * vd * vd / 1e3, rel=1e-12)
    assert e["input_drivers"] == pytest.approx(144 * PX * 2 * d * a.macro.c_row_driver_ff * vd * vd / 1e3, rel=1e-12)
    assert simulate(arch, conv(8, 8, 8)).energy_by_kind_pj["input_dac"] == 0  # bit-serial: no DAC
    shares = paper.macro_energy_shares(a, paper.imagine_published().figures[1])  # 8b peak
    peak = simulate(a, paper.peak_workload(a, 8)).energy_pj[0]
    from tlm.engines.result import KIND_NAMES
    own = sum(peak[KIND_NAMES.index(k)] for k in ("dp_array", "input_drivers", "input_dac", "adc"))
    assert shares["dac"] == pytest.approx(peak[KIND_NAMES.index("input_dac")] / own, rel=1e-12)


def test_weight_mode_changes_conversions_and_shift_adds(arch):
    """4b inputs, 2b weights, 8 output channels: analog = 8 conversions per pixel, no shift-add; bit
    columns = 8 x 2 columns x 4 phases = 64 conversions and 8 x (2 x 4 - 1) = 56 shift-adds per pixel.
    The DP phases are the same (4)."""
    wl = conv(4, 2, 8)
    runs = {}
    for mode in ("analog", "bit_columns"):
        a = with_changes(arch, **{"macro.weight_mode": mode})
        runs[mode] = simulate(a, wl).per_layer
    assert runs["analog"]["conversions"][0] == PX * 8
    assert runs["bit_columns"]["conversions"][0] == PX * 64
    assert runs["analog"]["dp_cycles"][0] == runs["bit_columns"]["dp_cycles"][0] == PX * 4
    bc = with_changes(arch, **{"macro.weight_mode": "bit_columns"})
    assert hw_adc.shift_adds_per_pixel(bc, 8, 4, 2) == 56
    assert hw_adc.shift_adds_per_pixel(arch, 8, 4, 2) == 0
    assert hw_adc.rescales_per_pixel(bc, 8, 8) == 8


def test_bit_columns_conversion_time_per_phase(arch):
    """Bit columns convert after every phase: 4 phases x ceil(16 values / 256 converters) x (1 + 8) + the
    overhead cycles per operation; analog converts once: ceil(8 / 256) x (1 + 8)."""
    bc = with_changes(arch, **{"macro.weight_mode": "bit_columns", "macro.op_overhead_cycles": 2})
    a = arch.adc
    assert hw_adc.pixel_cycles(bc, 8, 4, 2, 8) == 4 * (1 * (a.fixed_cycles + 8 * a.cycles_per_bit) + 2)
    assert hw_adc.pixel_cycles(arch, 8, 4, 2, 8) == a.fixed_cycles + 8 * a.cycles_per_bit
    few = with_changes(bc, **{"adc.converters_per_macro": 5})  # column multiplexing: ceil(16 / 5) = 4 rounds
    assert hw_adc.pixel_cycles(few, 8, 4, 2, 8) == 4 * (4 * (a.fixed_cycles + 8 * a.cycles_per_bit) + 2)


def test_adc_resolution_changes_conversion_cost_not_counts(arch):
    """A 6b ADC under 8b outputs: the same conversions, 6 SAR decisions each (1 + 6 cycles, 6 comparator
    decisions, 2^6 CDAC units), and one digital rescale per output."""
    wl = conv(8, 8, 8)
    arch = with_changes(arch, **{"adc.cdac": "separate"})  # a CDAC of its own (IMAGINE converts on the array)
    a6 = with_changes(arch, **{"adc.resolution_bits": 6})
    p8, p6 = simulate(arch, wl).per_layer, simulate(a6, wl).per_layer
    assert p8["conversions"][0] == p6["conversions"][0] == PX * 8
    assert hw_adc.conversion_cycles(a6, 8) == arch.adc.fixed_cycles + 6 * arch.adc.cycles_per_bit
    a, t = arch.adc, arch.technology
    e6 = (6 * a.c_comparator_ff * t.vdd_digital_v ** 2 + (64 * a.c_dac_unit_ff + a.c_abn_ff) * t.vdd_array_v ** 2) / 1e3
    assert hw_adc.conversion_energy_pj(a6, 8) == pytest.approx(e6)
    assert hw_adc.rescales_per_pixel(a6, 8, 8) == 8 and hw_adc.rescales_per_pixel(arch, 8, 8) == 0
    assert hw_adc.rescales_per_pixel(a6, 8, 6) == 0  # 6b outputs: the conversion already fits
    assert hw_adc.area_um2_per_converter(a6) < hw_adc.area_um2_per_converter(arch)  # a 2^6 CDAC


def test_both_engines_count_the_new_events_alike(arch):
    """Multi-level inputs with bit-column weights and a 6b ADC: the TLM engine counts the same DP phases,
    conversions and energy as the analytic engine (both from tlm/hw/)."""
    a = with_changes(arch, **{"macro.input_drive": "multi_level", "macro.input_dac_bits": 4,
                              "macro.c_input_dac_unit_ff": 2.0, "macro.weight_mode": "bit_columns",
                              "adc.resolution_bits": 6, "adc.c_shift_add_ff": 30.0, "adc.c_rescale_ff": 20.0})
    from tlm.engines.transaction.system import simulate as simulate_tlm
    wl = conv(8, 4, 8, c_in=32, c_out=40)
    ra, rt = simulate(a, wl), simulate_tlm(a, wl, contention=False)
    for k in ("dp_cycles", "conversions"):
        assert int(ra.per_layer[k][0]) == int(rt.per_layer[k][0]), k
    assert ra.per_layer["conversions"][0] == PX * 40 * 4 * 2  # 40 outputs x 4 bit columns x 2 phases
    for k, v in ra.energy_by_kind_pj.items():
        assert rt.energy_by_kind_pj[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
    shift = PX * 40 * (4 * 2 - 1) * 30.0 * a.technology.vdd_digital_v ** 2 / 1e3
    resc = PX * 40 * 20.0 * a.technology.vdd_digital_v ** 2 / 1e3
    assert ra.energy_by_kind_pj["postproc"] == pytest.approx(shift + resc)


def test_fold_precharges_fold_physical_lines(arch):
    a = with_changes(arch, **{"macro.fold": 3})
    va = arch.technology.vdd_array_v
    assert hw_macro.dp_array_energy_pj(a, 0, 10, 0.5) == pytest.approx(3 * 10 * arch.macro.c_column_ff * va * va / 1e3)


# ---- the technology rule ----------------------------------------------------------------------------
def test_technology_rule_scales_inherited_values_only(arch):
    """Jia (65nm) extends IMAGINE (22nm): inherited capacitances x 65/22, areas x (65/22)^2; the values its
    own file writes (every derived macro value) are taken as written."""
    jia = load_arch(resolve("published/jia_jssc2020", "configs", "imagine"))
    s = 65 / 22
    assert jia.controller.c_ff_per_cycle == pytest.approx(arch.controller.c_ff_per_cycle * s)
    assert jia.sram.area_mm2 == pytest.approx(arch.sram.area_mm2 * s * s)
    assert jia.controller.area_mm2 == pytest.approx(arch.controller.area_mm2 * s * s)
    assert jia.sram.leakage_uw == arch.sram.leakage_uw  # leakage is not a capacitance or area
    assert jia.adc.c_comparator_ff != pytest.approx(arch.adc.c_comparator_ff * s)  # written: derived at 65nm
    assert technology.kind_of("node_nm") is None and technology.kind_of("vdd_array_v") is None


def test_alpha_power_clock():
    assert technology.alpha_power_clock_mhz(100, 1.0, 1.0, 0.3, 1.3) == pytest.approx(100)
    f = technology.alpha_power_clock_mhz(100, 1.0, 0.65, 0.3, 1.3)
    assert f == pytest.approx(100 * (0.35 / 0.7) ** 1.3 * 1.0 / 0.65)
    assert f < 100


# ---- the published designs -------------------------------------------------------------------------
def _design(name):
    return chips.evaluate(resolve(name, "configs", "imagine"), name)


def test_shipped_designs_have_no_fitted_parameter_of_their_own(root):
    """Issue 21: no [fitted] value and no published.fitted in any shipped config; every shipped published
    design derives its parameters from its circuit; at least six, one of them current-domain."""
    names = chips.shipped_designs()
    assert len(names) >= 6 and "imagine_4macro" not in names  # a base's published: is not inherited
    domains = set()
    for name, path in names.items():
        arch, pub = load_with_published(path)
        assert arch.circuit.derive and not pub.fitted, name
        assert "[fitted]" not in path.read_text(), name
        domains.add(arch.circuit.dp_domain)
    assert domains == {"charge", "current"}
    assert "[fitted]" not in (root / "configs" / "imagine_4macro.yaml").read_text()


def test_written_values_are_what_the_circuit_derives():
    """Every derived value a shipped config writes is what tlm/hw/circuit.py derives from its circuit:
    section with the shipped global constants (4 significant digits; `tlm calibrate --global
    --write-global` rewrites them)."""
    from tlm.hw import circuit
    for name, path in {**chips.shipped_designs(), "imagine_4macro": resolve("imagine_4macro", "configs", "x")}.items():
        arch = load_arch(path)
        for p, v in circuit.derived_values(arch).items():
            assert calibrate.get(arch, p) == pytest.approx(v, rel=6e-4), (name, p)


# ---- a design a user writes from a paper, nothing fitted --------------------------------------------
MADE_UP = """\
name: madeup
technology: {node_nm: 22, vdd_array_v: 0.5, vdd_digital_v: 0.5, cap_density_ff_per_um2: 2.0}
clock: {frequency_mhz: 100.0}
precision: {input_bits: [1, 2], weight_bits: [1, 2], output_bits: [4]}
macro:
  count: 1
  rows: 144
  columns: 64
  dp_split_blocks: 1
  dp_cycles_per_bit: 2
  weight_mode: bit_columns
  op_overhead_cycles: 3
  c_cell_ff: 2.0
  c_column_ff: 100.0
  c_row_driver_ff: 50.0
  c_weight_write_ff_per_bit: 1.0
  weight_write_bits_per_cycle: 64
  weight_double_buffer: false
  bitcell_area_um2: 1.0
  periphery_area_mm2: 0.001
  leakage_uw: 0.0
adc:
  converters_per_macro: 64
  resolution_bits: 4
  fixed_cycles: 1
  cycles_per_bit: 1
  pipelined: false
  c_comparator_ff: 10.0
  c_dac_unit_ff: 1.0
  c_abn_ff: 0.0
  comparator_area_um2: 20.0
  logic_area_um2_per_bit: 5.0
  leakage_uw: 0.0
sram: {capacity_kib: 64, banks: 1, width_bits: 64, c_read_ff_per_bit: 1.0, c_write_ff_per_bit: 1.0,
       area_mm2: 0.0, leakage_uw: 0.0}
dma: {channels: 1, bandwidth_bits_per_cycle: 64, latency_cycles: 0, c_ff_per_bit: 1.0,
      external_energy_pj_per_bit: 0.0}
controller: {c_ff_per_cycle: 0.0, c_ff_per_row_cycle: 0.0, psum_bits: 16, area_mm2: 0.0, leakage_uw: 0.0}
postproc: {ops_per_cycle: 8, c_ff_per_op: 1.0}
activity: {input_bit_density: 0.5}
published:
  citation: "A. Nobody, A made-up macro, Journal of Tests 1, 2026"
  tolerance: 0.25
  figures:
    - {key: eff_1b, metric: energy_efficiency, value: 3000.0, unit: TOPS/W, ops: raw, input_bits: 1,
       weight_bits: 1, output_bits: 4}
    - {key: eff_2b, metric: energy_efficiency, value: 3000.0, unit: TOPS/W, ops: 1b, input_bits: 2,
       weight_bits: 2, output_bits: 4}
    - {key: area_1b, metric: area_efficiency, value: 15.0, unit: TOPS/mm2, ops: raw, input_bits: 1,
       weight_bits: 1, output_bits: 4}
    - {key: tops_2b, metric: throughput, value: 0.05, unit: TOPS, ops: raw, input_bits: 2, weight_bits: 2,
       output_bits: 4}
    - {key: density, metric: density, value: 80.0, unit: kB/mm2, input_bits: 1, weight_bits: 1,
       output_bits: 4}
"""


def test_made_up_design_by_hand(tmp_path, capsys):
    """Peak run: 3x3 conv over 144 / 9 = 16 channels, 32 x 32 pixels, V^2 = 0.25, no leakage.
    1b/1b/4b, 64 outputs, one phase, bit columns -> 64 conversions per pixel:
      DP array  144 x 64 cells x 0.5 x 2 fF + 64 columns x 100 fF = 9,216 + 6,400 = 15,616 fF
      drivers   144 rows x 0.5 x 50 fF                           =  3,600 fF
      ADC       64 x (4 decisions x 10 fF + 2^4 x 1 fF)            =  3,584 fF
      -> 22,800 fF x 0.25 V^2 = 5.7 pJ per pixel for 2 x 144 x 64 = 18,432 ops: 3,233.68 TOPS/W
      time      DP 1 phase x 2 + conversion ceil(64/64) x (1 + 4) + 3 overhead = 10 cycles = 100 ns
      area      cells 9,216 um2 + periphery 1,000 um2 + 64 ADCs x (16 x 1 fF / 2 fF/um2 + 20 + 4 x 5 = 48)
                = 13,288 um2 -> 0.18432 TOPS / 0.013288 mm2 = 13.871 TOPS/mm2
      density   144 x 64 bits = 1.125 kB / 0.013288 mm2 = 84.663 kB/mm2
    2b/2b/4b, 32 outputs, two phases, 2 x 2 x 32 = 128 conversions per pixel:
      (2 x 15,616 + 2 x 3,600 + 128 x 56) fF = 45,600 fF x 0.25 = 11.4 pJ for 9,216 raw ops:
      808.42 raw = 3,233.68 1b-normalized TOPS/W
      time 2 x 2 DP + 2 operations x (1 x 5 + 3) = 20 cycles = 200 ns: 9,216 / 200 ns = 0.04608 TOPS"""
    p = tmp_path / "madeup.yaml"
    p.write_text(MADE_UP)
    d = chips.evaluate(p)
    got = {r.figure.key: r.model for r in d.rows}
    assert got["eff_1b"] == pytest.approx(18432 / 5.7, rel=1e-9)
    assert got["eff_2b"] == pytest.approx(4 * 9216 / 11.4, rel=1e-9)
    assert got["area_1b"] == pytest.approx(0.18432 / 0.013288, rel=1e-9)
    assert got["tops_2b"] == pytest.approx(9216 / 200 / 1e3, rel=1e-9)
    assert got["density"] == pytest.approx(144 * 64 / 8 / 1024 / 0.013288, rel=1e-9)
    errs = {r.figure.key: r.error for r in d.rows}
    assert errs["eff_1b"] == pytest.approx(18432 / 5.7 / 3000 - 1, rel=1e-9)
    assert d.fitted == {}
    assert main(["paper", str(p)]) == 0
    out = capsys.readouterr().out
    assert "A. Nobody" in out and "Kneip" not in out and "1b-norm" in out


def test_bad_published_sections_exit_2(tmp_path, capsys):
    cases = {
        "fitted: [macro.c_cell_ff, macro.c_column_ff, adc.c_abn_ff]": "at most 2 fitted",
        "fitted: [macro.nothing]": "is not a parameter",
    }
    for line, msg in cases.items():
        p = tmp_path / "bad.yaml"
        p.write_text(MADE_UP.replace('  tolerance: 0.25\n', f'  tolerance: 0.25\n  {line}\n'))
        assert main(["paper", str(p)]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1 and "bad.yaml:" in err
    p = tmp_path / "unit.yaml"
    p.write_text(MADE_UP.replace("value: 15.0, unit: TOPS/mm2", "value: 15.0, unit: TOPS/W"))
    assert main(["chips"]) == 0
    capsys.readouterr()
    assert main(["paper", str(p)]) == 2
    err = capsys.readouterr().err
    assert "area_efficiency figure is in TOPS/mm2" in err and "unit.yaml:" in err


def test_a_figure_states_its_data_activity(tmp_path, capsys):
    """A figure's `input_bit_density` replaces the config's activity (0.5) in its run.  The made-up design's
    eff_1b per pixel (test_made_up_design_by_hand) at input density d: cells 144 x 64 x d x 2 fF + columns
    6,400 fF, drivers 144 x d x 50 fF, ADC 3,584 fF; at d = 0: 9,984 fF x 0.25 V^2 = 2.496 pJ -> 18,432 /
    2.496 TOPS/W; at d = 1: (18,432 + 6,400 + 7,200 + 3,584) fF x 0.25 = 8.904 pJ.  Bad values: one line,
    exit 2, the file named (out of range; on a figure the data does not move)."""
    got = {}
    for d in (0.0, 1.0):
        p = tmp_path / f"act{d:g}.yaml"
        p.write_text(MADE_UP.replace("output_bits: 4}", f"output_bits: 4, input_bit_density: {d}}}", 1))
        got[d] = {r.figure.key: r.model for r in chips.evaluate(p).rows}
    assert got[0.0]["eff_1b"] == pytest.approx(18432 / 2.496, rel=1e-9)
    assert got[1.0]["eff_1b"] == pytest.approx(18432 / 8.904, rel=1e-9)
    assert got[0.0]["eff_2b"] == got[1.0]["eff_2b"] == pytest.approx(4 * 9216 / 11.4, rel=1e-9)  # the config's
    cases = {("value: 3000.0, unit: TOPS/W, ops: raw", "input_bit_density: 1.5, "): "expected <= 1.0",
             ("value: 15.0, unit: TOPS/mm2", "input_bit_density: 0.0, "): "does not depend on the data",
             ("value: 3000.0, unit: TOPS/W, ops: raw", "input_bit_density: high, "): "expected a number"}
    for (at, add), msg in cases.items():
        p = tmp_path / "bad.yaml"
        p.write_text(MADE_UP.replace(at, add + at, 1))
        assert main(["paper", str(p)]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1 and "bad.yaml:" in err and "input_bit_density" in err


def test_normalize_converts_raw_to_1b(capsys):
    assert main(["paper", "published/wang_vlsi2022", "--normalize", "1b"]) == 0
    out = capsys.readouterr().out
    assert "2,061" in out  # 32.2 raw TOPS/W at 8b x 8b = 2,060.8 1b-normalized
    assert main(["paper", "published/wang_vlsi2022"]) == 0
    assert "32.2" in capsys.readouterr().out


def test_sensitivity_moves_what_each_constant_touches(arch):
    """A derived design's sensitivity is over the global constants: the driver area moves density, no
    energy; the converters' height moves energy and, since the strip's gates are its area (tlm/hw/circuit.py
    converter_strip_um2), density too, where the strip is wider than the bare latch and register (a 2 fF unit:
    IMAGINE's own 0.70 um column gives a strip of 31.8 um2, under the 36 um2 minimum converter, at the
    shipped height)."""
    pub = paper.imagine_published()
    s = calibrate.sensitivity(with_changes(arch, **{"circuit.c_unit_ff": 2.0}), pub=pub)
    rows = s["rows"]
    assert set(rows) == {c.name for c in __import__("tlm.hw.constants", fromlist=["x"]).CONSTANTS}
    assert rows["converter_height"]["figures"]["eff_8b"] < 0
    assert rows["converter_height"]["figures"]["density"] < 0
    assert rows["driver_cells"]["figures"]["density"] < -0.001
    assert rows["driver_cells"]["figures"]["eff_1b"] == 0
    assert abs(sum(s["share"].values()) - 1) < 1e-9


def test_sensitivity_of_a_fitted_design_is_over_its_own_parameters(tmp_path):
    """Issue 21: `paper --sensitivity` showed IMAGINE's parameters for any design; a design naming its own
    fitted parameters gets those, with its own figures."""
    p = tmp_path / "own.yaml"
    text = MADE_UP.replace("  tolerance: 0.25\n", "  tolerance: 0.25\n  fitted: [macro.c_cell_ff]\n")
    p.write_text(text.replace("precision: {input_bits: [1, 2], weight_bits: [1, 2], output_bits: [4]}",
                              "precision: {input_bits: [1, 2, 8], weight_bits: [1, 2, 8], output_bits: [4, 8]}"))
    arch, pub = load_with_published(p)
    s = calibrate.sensitivity(arch, pub=pub)
    assert list(s["rows"]) == ["macro.c_cell_ff"] and s["figures"] == [f.key for f in pub.figures]


def test_overhead_components_add_up_to_the_controller(arch):
    ref = paper.reference_run(arch)
    parts = calibrate.overhead_breakdown(arch, ref.workload)
    assert sum(parts.values()) == pytest.approx(ref.energy_by_kind_pj["controller"], rel=1e-9)
    assert min(parts.values()) > 0


def test_docs_show_tlm_chips(root, capsys):
    assert main(["chips"]) == 0
    printed = [ln.rstrip() for ln in capsys.readouterr().out.split("\n")]
    doc = [ln.rstrip() for ln in (root / "docs" / "validation.md").read_text().split("\n")]
    start = doc.index(printed[0])
    assert doc[start:start + len(printed) - 1] == printed[:-1]


def test_published_names_resolve(root):
    assert resolve("published/jia_jssc2020", "configs", "imagine") == root / "configs" / "published" / "jia_jssc2020.yaml"
    assert main(["simulate", "published/wang_vlsi2022", "-q"]) == 0


def test_named_overhead_components_are_within_their_published_ranges(arch):
    """Every named controller component of IMAGINE sits inside its published 22nm range (no remainder term:
    tlm/hw/controller.py; tests/test_controller_ranges.py checks the ranges themselves)."""
    from tlm.hw import controller as hw_ctrl
    for f in ("c_ff_per_cycle", "c_ff_per_window_bit_cycle", "c_ff_per_window_bit", "c_ff_per_abn_bit",
              "c_ff_per_row_cycle"):
        lo, hi = hw_ctrl.published_ff(arch, f)
        assert lo <= getattr(arch.controller, f) <= hi * (1 + 1e-3), f
    jia = load_arch(resolve("published/jia_jssc2020", "configs", "imagine"))
    lo22, hi22 = hw_ctrl.PUBLISHED_FF_22NM["c_ff_per_window_bit"]
    assert hw_ctrl.published_ff(jia, "c_ff_per_window_bit") == pytest.approx((lo22 * 65 / 22, hi22 * 65 / 22))


def test_validation_doc_is_what_the_script_generates(root):
    """docs/validation.md holds `tlm chips`, `tlm paper --sensitivity`, `tlm calibrate`, the constants and
    technology tables exactly as scripts/gen_validation_doc.py writes them (regenerate with that script);
    the leave-one-out tables (minutes to recompute) carry the fingerprint of their inputs, checked here."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_validation_doc", root / "scripts" / "gen_validation_doc.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = (root / "docs" / "validation.md").read_text()
    assert gen.FINGERPRINT + gen.fingerprint() in text, "stale leave-one-out tables: run the script"
    assert gen.generate(text, recompute_loo=False) == text


def test_every_published_config_value_says_where_it_comes_from(root):
    """Each `key: value` line of a shipped published config carries a [paper]/[derived]/[memory]/[assumed]
    tag (as tests/test_docs.py checks for configs/*.yaml), and each names its parameters' sources."""
    import re
    for path in sorted((root / "configs" / "published").glob("*.yaml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.match(r"^\s+(- \{)?[a-z_0-9]+:\s*(\S.*)$", code):
                assert re.search(r"#.*\[(paper|derived|memory|assumed)\]", line), f"{path.name}:{n}: {line.strip()}"
        text = path.read_text()
        assert "citation:" in text and "source:" in text


def test_clock_follows_the_supply_when_a_figure_gives_no_clock(arch):
    """clock.follows_supply (a design whose circuit is not derived): a figure at 0.8 V digital supply without
    a clock runs at 500 MHz x ((0.8 - 0.35) / (0.6 - 0.35))^1.3 x 0.6 / 0.8 = 500 x 1.8^1.3 x 0.75 =
    807.6 MHz; with a stated clock that clock wins; without follows_supply the config's clock stays."""
    from tlm.config.published import Figure
    arch = with_changes(arch, **{"circuit.derive": False, "clock.frequency_mhz": 500.0})
    fig = Figure(key="x", metric="throughput", value=1.0, unit="TOPS", input_bits=1, weight_bits=1, output_bits=1,
                 vdd_digital_v=0.8)
    a = with_changes(arch, **{"clock.follows_supply": True})
    assert paper.at_conditions(a, fig).clock.frequency_mhz == pytest.approx(500 * 1.8 ** 1.3 * 0.75)
    assert paper.at_conditions(arch, fig).clock.frequency_mhz == 500
    stated = dataclasses.replace(fig, clock_mhz=123.0)
    assert paper.at_conditions(a, stated).clock.frequency_mhz == 123.0
    # the throughput follows the clock: a pure cycle count
    assert paper.model_value(a, fig) / paper.model_value(arch, fig) == pytest.approx(1.8 ** 1.3 * 0.75)


def test_a_non_numeric_fitted_parameter_is_refused(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text(MADE_UP.replace('  tolerance: 0.25\n', '  tolerance: 0.25\n  fitted: [macro.weight_mode]\n'))
    assert main(["calibrate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "cannot be fitted" in err and err.count("\n") == 1


def test_leakage_follows_the_supply_when_asked(arch):
    """technology.leakage_v_per_decade = 0.5: at 0.4 V instead of 0.3 V the array leaks 0.4 / 0.3 x
    10^(0.1 / 0.5) = 2.113x; at 0.8 V instead of 0.6 V the digital blocks 0.8 / 0.6 x 10^(0.2 / 0.5) = 3.349x."""
    from tlm.config.published import Figure
    fig = Figure(key="x", metric="throughput", value=1.0, unit="TOPS", input_bits=1, weight_bits=1, output_bits=1,
                 vdd_array_v=0.4, vdd_digital_v=0.8)
    a = with_changes(arch, **{"technology.leakage_v_per_decade": 0.5})
    b = paper.at_conditions(a, fig)
    assert b.macro.leakage_uw == pytest.approx(arch.macro.leakage_uw * 0.4 / 0.3 * 10 ** 0.2)
    assert b.sram.leakage_uw == pytest.approx(arch.sram.leakage_uw * 0.8 / 0.6 * 10 ** 0.4)
    assert b.adc.leakage_uw == pytest.approx(arch.adc.leakage_uw * 0.8 / 0.6 * 10 ** 0.4)
    assert paper.at_conditions(arch, fig).sram.leakage_uw == arch.sram.leakage_uw  # off by default


def test_sensitivity_of_a_design_without_8b_runs_on_its_own_reference(capsys):
    """ResNet-8 is 8b; Lee VLSI 2021 supports 5b inputs only: `paper --sensitivity` broke its energy down on
    the design's own reference layer (5b x 1b -> 8b) instead of failing on the default workload."""
    assert main(["paper", "published/lee_vlsi2021", "--sensitivity"]) == 0
    assert "reference_5b" in capsys.readouterr().out
    from tlm.config.arch import load_with_published
    from tlm.config.paths import resolve
    arch, pub = load_with_published(resolve("published/lee_vlsi2021", "configs", "published/lee_vlsi2021"))
    wl = calibrate.sensitivity(arch, pub=pub)["workload"]
    assert wl == "reference_5b"


def test_jia_energy_shares_and_efficiencies_are_one_measurement():
    """Jia JSSC 2020's Table I (ADC 1.79 / 3.56 pJ, CiM 9.7 / 20.4 pJ per column operation, via CiMLoop) and
    Table II (400 / 192 1b-TOPS/W) describe the same operating points: a column operation is 2 x 2304 1b-ops,
    2 x 2304 / 11.49 pJ = 401.0 and / 23.96 pJ = 192.3 TOPS/W; the shipped shares are 1.79 / 11.49 = 15.6%
    and 3.56 / 23.96 = 14.9% at the efficiency figures' supplies."""
    from tlm.config.arch import load_with_published
    from tlm.config.paths import resolve
    _, pub = load_with_published(resolve("published/jia_jssc2020", "configs", "published/jia_jssc2020"))
    f = {x.key: x for x in pub.figures}
    for v, adc, cim in ((0.85, 1.79, 9.7), (1.2, 3.56, 20.4)):
        tag = f"{round(100 * v):03d}v"
        assert 2 * 2304 / (adc + cim) == pytest.approx(f[f"eff_1b_{tag}"].value, rel=0.01)
        assert f[f"e_adc_{tag}"].value == pytest.approx(100 * adc / (adc + cim), abs=0.05)
        assert f[f"e_adc_{tag}"].vdd_array_v == f[f"eff_1b_{tag}"].vdd_array_v == v
