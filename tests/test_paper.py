"""The shipped IMAGINE config against the paper's figures, through the simulator's event counts."""
import dataclasses

import numpy as np
import pytest

from tlm.hw import adc as hw_adc
from tlm.services import calibrate, paper
from tlm.engines.analytic import simulate
from tlm.cli import main
from tlm.mapping.geometry import map_layers
from tlm.engines.result import KIND_NAMES

PX = paper.MAP_HW * paper.MAP_HW
# IMAGINE's SARs convert on the array (adc.cdac: array): a b-bit conversion switches on average
# sum_{i=1..b} 2^(b+1-2i) (2^i - 1) C_u V^2 with C_T = 2^b C_u (conventional switching): at 1b 1 C_u = 0.5 C_T;
# at 8b 128 + 96 + 56 + 30 + 15.5 + 7.875 + 3.96875 + 1.9921875 = 339.3359375 C_u over 256 C_u.
SWITCHING = {1: 0.5, 8: 339.3359375 / 256}


def array_dac_ff(arch, bits):
    """The capacitance an IMAGINE conversion switches on average: r_w merged columns of 1152 cells."""
    return SWITCHING[bits] * bits * arch.macro.rows * arch.macro.c_cell_ff


def test_every_figure_has_a_model_value_and_its_error(arch):
    """IMAGINE's figures are predicted from global constants and its structure (no fit to them alone): the
    error column is model / paper - 1, whatever it is (docs/validation.md reports it)."""
    for fig, model, err in paper.comparison(arch):
        assert model > 0 and err == pytest.approx(model / fig.value - 1)
    assert (arch.macro.rows, arch.macro.columns) == (1152, 256)


def test_density_is_weight_bytes_over_macro_area(arch):
    m, a = arch.macro, arch.adc
    # the converter: a comparator and 8 register bits; its DAC is the column's own cells (adc.cdac: array),
    # where a CDAC of its own would add 256 units of 1 fF (the 22nm smallest unit) at 2.5 fF/um2 = 102.4 um2
    area = m.rows * m.columns * m.bitcell_area_um2 / 1e6 + m.periphery_area_mm2 \
        + a.converters_per_macro * (a.comparator_area_um2 + 8 * a.logic_area_um2_per_bit) / 1e6
    own = dataclasses.replace(arch, adc=dataclasses.replace(a, cdac="separate"))
    assert hw_adc.area_parts_um2(own)["reference"] == pytest.approx(102.4)
    assert hw_adc.area_parts_um2(arch)["reference"] == 0.0
    assert paper.density_kb_per_mm2(arch) == pytest.approx(m.rows * m.columns / 8 / 1024 / area)


def test_efficiency_falls_monotonically_from_1b_to_8b(arch):
    s = paper.sweep(arch)
    eff = [p.tops_per_w for p in s]
    area = [p.tops_per_mm2 for p in s]
    assert all(a > b for a, b in zip(eff, eff[1:])), eff
    assert all(a > b for a, b in zip(area, area[1:])), area
    assert [p.bits for p in s] == list(range(1, 9))


@pytest.mark.parametrize("bits", [1, 8])
def test_macro_peak_energy_is_counts_times_event_energy(arch, bits):
    """Recompute the peak macro energy by hand from the config: counts x C x V^2."""
    m, a, t = arch.macro, arch.adc, arch.technology
    d = arch.activity.input_bit_density
    c_out = m.columns // bits
    cols = c_out * bits
    va2, vd2 = t.vdd_array_v ** 2, t.vdd_digital_v ** 2
    dp = PX * bits * (m.rows * cols * d * m.c_cell_ff + cols * m.c_column_ff) * va2
    drv = PX * bits * m.rows * d * m.c_row_driver_ff * vd2
    # the ABN bank acts on the converted line: r_w merged columns of the widest 8 (tlm/hw/adc.py)
    adc = PX * c_out * (bits * a.c_comparator_ff * vd2 + (array_dac_ff(arch, bits) + a.c_abn_ff * bits / 8)
                        * va2)
    cycles = PX * (bits * m.dp_cycles_per_bit + a.fixed_cycles + bits * a.cycles_per_bit)
    leak = (m.leakage_uw + a.leakage_uw) * cycles * arch.clock.period_ns  # uW x ns = fJ
    p = paper.macro_peak(arch, bits)
    assert p.energy_pj == pytest.approx((dp + drv + adc + leak) / 1000, rel=1e-9)
    assert p.time_ns == pytest.approx(cycles * arch.clock.period_ns)
    assert p.ops == 2 * PX * m.rows * c_out


def test_changing_only_precision_changes_event_counts_as_expected(arch):
    """Same layer (3x3x128 -> 32 channels), only r changes from 1 to 8: input-serial DP cycles x8,
    weight-parallel columns (active cells) x8, conversions and pixels unchanged."""
    runs, maps = {}, {}
    for r in (1, 8):
        wl = paper.conv_workload(r, 128, 32, f"only_{r}b")
        runs[r] = simulate(arch, wl).per_layer
        maps[r] = map_layers(arch, [wl.layers[0]])
    assert runs[8]["dp_cycles"][0] == 8 * runs[1]["dp_cycles"][0] == 8 * PX
    assert runs[8]["conversions"][0] == runs[1]["conversions"][0] == 32 * PX
    assert maps[8].active_cells[0] == 8 * maps[1].active_cells[0] == 1152 * 256
    assert maps[8].active_rows[0] == maps[1].active_rows[0] == 1152
    assert runs[8]["macs"][0] == runs[1]["macs"][0]


def test_peak_counts_1b_vs_8b(arch):
    """The peak runs: 8x the DP cycles, 1/8 the conversions, the same active cells (full array), 8x fewer
    MACs per pixel -- the 1b/8b ratios come from these counts."""
    p1, p8 = paper.macro_peak(arch, 1), paper.macro_peak(arch, 8)
    assert (p1.dp_cycles, p8.dp_cycles) == (PX, 8 * PX)
    assert (p1.conversions, p8.conversions) == (256 * PX, 32 * PX)
    m1 = map_layers(arch, paper.peak_workload(arch, 1).layers)
    m8 = map_layers(arch, paper.peak_workload(arch, 8).layers)
    assert m1.active_cells[0] == m8.active_cells[0] == 1152 * 256
    assert p1.ops == 8 * p8.ops


def test_voltage_scaling_per_kind(arch):
    """Each kind scales with the square of its block's supply; the ADC is split between both."""
    ka, kd = 1.5, 0.75
    t = arch.technology
    hi = dataclasses.replace(arch, technology=dataclasses.replace(
        t, vdd_array_v=t.vdd_array_v * ka, vdd_digital_v=t.vdd_digital_v * kd))
    e0 = paper.reference_run(arch).energy_by_kind_pj
    e1 = paper.reference_run(hi).energy_by_kind_pj
    assert e1["dp_array"] == pytest.approx(e0["dp_array"] * ka ** 2, rel=1e-12)
    for k in ("input_drivers", "sram_read", "sram_write", "dma", "controller"):
        assert e1[k] == pytest.approx(e0[k] * kd ** 2, rel=1e-12), k
    assert e1["leakage"] == pytest.approx(e0["leakage"])  # static power is given at the supplies
    assert e1["external"] == pytest.approx(e0["external"])
    a, r = arch.adc, paper.REF_BITS
    conv = paper.REF_C_OUT * PX
    comp = conv * r * a.c_comparator_ff / 1000
    arr = conv * (array_dac_ff(arch, r) + a.c_abn_ff) / 1000
    assert e0["adc"] == pytest.approx(comp * t.vdd_digital_v ** 2 + arr * t.vdd_array_v ** 2, rel=1e-12)
    assert e1["adc"] == pytest.approx(comp * (kd * t.vdd_digital_v) ** 2 + arr * (ka * t.vdd_array_v) ** 2,
                                      rel=1e-12)


def test_system_reference_counts_all_on_chip_energy(arch):
    r = paper.reference_run(arch)
    on = [k for k in KIND_NAMES if k != "external"]
    total = sum(r.energy_by_kind_pj[k] for k in on)
    assert r.summary()["tops_per_w"] == pytest.approx(2 * r.macs / total)
    assert r.macs == PX * 32 * 1152
    assert r.energy_by_kind_pj["weight_write"] == 0  # weights resident: loaded before the run


def test_calibrate_refuses_a_design_with_nothing_to_calibrate(tmp_path, capsys, root):
    """Issue 21: a design whose published.fitted is empty (or which has no published: section) and whose
    circuit is not derived fitted IMAGINE's six parameters to IMAGINE's figures (and --write would have
    overwritten the user's file); now: one line, exit 2, the file untouched."""
    for extra in ("", "published:\n  citation: x\n  fitted: []\n  figures:\n    - {key: d, metric: density, "
                      "value: 100.0, unit: kB/mm2, input_bits: 8, weight_bits: 8, output_bits: 8}\n"):
        p = tmp_path / "mine.yaml"
        text = f"extends: {root / 'configs' / 'imagine.yaml'}\ncircuit:\n  derive: false\n{extra}"
        p.write_text(text)
        assert main(["calibrate", str(p), "--write", str(p)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "nothing to calibrate" in err and "mine.yaml" in err
        assert p.read_text() == text


def test_substitute_round_trips_the_shipped_file(root, arch):
    text = (root / "configs" / "imagine.yaml").read_text()
    vals = calibrate.derived_written(arch)
    assert calibrate.substitute(text, vals) == text
    new = calibrate.substitute(text, {"macro.c_cell_ff": 12.5})
    old_lines, new_lines = text.split("\n"), new.split("\n")
    diff = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert len(old_lines) == len(new_lines) and len(diff) == 1
    a, b = diff[0]
    assert b.strip().startswith("c_cell_ff: 12.5") and a.index("#") == b.index("#")


def test_substitute_adds_inherited_fields_to_an_extending_file(root):
    text = (root / "configs" / "imagine_4macro.yaml").read_text()
    new = calibrate.substitute(text, {"macro.c_cell_ff": 1.5, "controller.c_ff_per_cycle": 100.0})
    calibrate.check_substituted(new, {"macro.c_cell_ff": 1.5, "controller.c_ff_per_cycle": 100.0}, "x")
    assert "  count: 4" in new  # the section's own fields stay


def test_cli_calibrate_write_reproduces_the_file(root, tmp_path, capsys):
    out = tmp_path / "imagine.yaml"
    assert main(["calibrate", str(root / "configs" / "imagine.yaml"), "--write", str(out)]) == 0
    assert out.read_text() == (root / "configs" / "imagine.yaml").read_text()


def test_cli_paper_bad_inputs_exit_2(tmp_path, capsys, root):
    assert main(["paper", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.yaml" in err


def test_four_macro_config_keeps_the_macro_figures(arch, arch4):
    for b in (1, 8):
        assert paper.macro_peak(arch4, b).tops_per_w == pytest.approx(paper.macro_peak(arch, b).tops_per_w,
                                                                      rel=1e-9)
    assert np.isclose(paper.density_kb_per_mm2(arch4), paper.density_kb_per_mm2(arch))


def test_docs_show_the_table_as_tlm_paper_prints_it(root, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # the width scripts/gen_validation_doc.py renders at
    assert main(["paper"]) == 0
    printed = [ln.rstrip() for ln in capsys.readouterr().out.split("\n")]
    doc = [ln.rstrip() for ln in (root / "docs" / "validation.md").read_text().split("\n")]
    start = doc.index(printed[0])
    assert doc[start:start + len(printed) - 1] == printed[:-1]


def test_substitute_adds_a_missing_section():
    text = "name: x\nmacro:\n  count: 2   # two\n"
    new = calibrate.substitute(text, {"controller.c_ff_per_cycle": 5.0, "macro.count": 3})
    assert new.startswith("name: x\nmacro:\n  count: 3   # two\n")
    calibrate.check_substituted(new, {"controller.c_ff_per_cycle": 5.0, "macro.count": 3}, "x")
