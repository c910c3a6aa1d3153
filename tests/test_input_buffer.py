"""The input-vector buffer of a bit-serial macro loaded over a bus (`circuit.input_buffer`,
tlm/hw/circuit.input_buffer_um2): Jia et al., JSSC 2020 (configs/published/jia_jssc2020.yaml)."""
import pytest

from helpers import with_changes
from tlm.config.arch import load_arch
from tlm.hw import circuit

JIA = "configs/published/jia_jssc2020.yaml"
LEE = "configs/published/lee_vlsi2021.yaml"


@pytest.fixture(scope="module")
def jia(root):
    return load_arch(root / JIA)


def _periphery_mm2(arch, g, **changes):
    a = with_changes(arch, **{f"circuit.{k}": v for k, v in changes.items()})
    return circuit.areas(a, circuit.constants(g))["periphery_mm2"]


def test_jia_buffer_by_hand(jia):
    """2304 logical rows x 8 b (its widest input precision) = 18,432 bits, one flip-flop equivalent of
    `logic_cells` 6T cells each: at 30 cells of the 65nm 6T (0.52 um2, tlm/hw/technology_table.py) 18,432 x
    30 x 0.52 = 287,539 um2 = 0.2875 mm2 of periphery; at 10 cells a third of it, 0.0958 mm2."""
    for cells, mm2 in ((30.0, 0.2875392), (10.0, 0.0958464)):
        g = {"logic_cells": cells}
        with_buffer = _periphery_mm2(jia, g, input_buffer=True)
        assert with_buffer - _periphery_mm2(jia, g, input_buffer=False) == pytest.approx(mm2, rel=1e-9)
    assert circuit.derived_values(jia)["macro.periphery_area_mm2"] == pytest.approx(
        _periphery_mm2(jia, None, input_buffer=True))  # the shipped config holds its vector


def test_buffer_only_for_bus_loaded_bit_serial_rows(jia, root):
    """No bus (the vector staged in parallel: IMAGINE's window registers), or a narrower widest precision:
    4b inputs hold half the bits (0.1438 mm2 at 30 cells); a multi-level row (Lee et al.'s 5b switch DACs)
    keeps its code in its DAC's logic (`input_dac_logic_area_um2`), so the buffer adds nothing there."""
    g = {"logic_cells": 30.0}
    off = _periphery_mm2(jia, g, input_buffer=False)
    assert _periphery_mm2(jia, g, input_buffer=True, input_load_bits_per_cycle=0) == pytest.approx(off)
    four = with_changes(jia, **{"precision.input_bits": [1, 2, 3, 4]})
    assert _periphery_mm2(four, g, input_buffer=True) - off == pytest.approx(0.1437696, rel=1e-9)
    lee = load_arch(root / LEE)
    assert _periphery_mm2(lee, g, input_buffer=True) == pytest.approx(_periphery_mm2(lee, g, input_buffer=False))
