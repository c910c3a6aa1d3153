"""The digital layer kinds added for imported graphs: `eltwise` (stated ops per element, broadcasting
inputs), `reshape` (a view), and workload `notes` carried into the result."""
import math

import pytest

from tlm.engines.analytic import live_bits, simulate
from tlm.errors import InputError
from tlm.hw import postproc as hw_pp
from tlm.engines.result import KIND_NAMES
from tlm.config.workload import parse_workload
from tlm.config.yamlio import load_text

BASE = """
name: t
input: {shape: [4, 6, 6], bits: 8}
notes: [hello from the importer]
layers:
  - {name: c, type: conv2d, out_channels: 8, kernel: 3, padding: 1}
  - {name: g, type: global_avgpool}
  - {name: s, type: eltwise, op: sigmoid, ops_per_element: 1}
  - {name: m, type: eltwise, op: Mul, ops_per_element: 1, inputs: [c, s]}
  - {name: r, type: reshape, shape: [2, 12, 12]}
  - {name: f, type: flatten}
  - {name: fc, type: dense, out_features: 3}
"""


def parse(text):
    return parse_workload(load_text(text, "t.yaml"), "t.yaml")


def test_eltwise_broadcast_reshape_and_notes(arch):
    wl = parse(BASE)
    L = {l.name: l for l in wl.layers}
    assert L["m"].out_shape == (8, 6, 6) and L["m"].in_shapes == ((8, 6, 6), (8, 1, 1))
    assert L["r"].out_shape == (2, 12, 12) and L["fc"].in_shape == (288,)
    r = simulate(arch, wl)
    i = [l.name for l in wl.layers].index
    assert int(r.per_layer["postproc_ops"][i("m")]) == 8 * 6 * 6
    assert int(r.per_layer["postproc_ops"][i("s")]) == 8
    assert r.energy_pj[i("m"), KIND_NAMES.index("postproc")] == pytest.approx(
        hw_pp.op_energy_pj(arch, 8 * 6 * 6))
    # the multiply reads both inputs (the (8,1,1) one is small) and writes its output
    assert int(r.per_layer["sram_read_bits"][i("m")]) == (8 * 36 + 8) * 8
    # a reshape moves nothing and stores nothing
    assert int(r.per_layer["sram_read_bits"][i("r")]) == 0 and int(r.per_layer["postproc_ops"][i("r")]) == 0
    live = live_bits(wl)
    assert live[i("r")] == live[i("f")] == live[i("fc")] - 3 * 8
    assert r.notes[0] == "hello from the importer"


@pytest.mark.parametrize("bad, field", [
    ("{name: r, type: reshape, shape: [5, 12, 12]}", "layers[4](r).shape"),
    ("{name: r, type: reshape, shape: [2, 12]}", "layers[4](r).shape"),
    ("{name: r, type: eltwise, op: Mul, inputs: [c, g, m], ops_per_element: 1}", None),
    ("{name: r, type: eltwise, op: '', ops_per_element: 1}", "layers[4](r).op"),
    ("{name: r, type: eltwise, op: x, ops_per_element: -1}", "layers[4](r).ops_per_element"),
])
def test_bad_digital_layers_name_the_field(bad, field):
    lines = BASE.splitlines()
    k = next(j for j, x in enumerate(lines) if x.strip().startswith("- {name: r,"))
    lines[k] = "  - " + bad
    text = "\n".join(lines[:k + 1]) + "\n"
    if "inputs: [c, g, m]" in bad:  # broadcasting (8,6,6) with (8,1,1) works; with itself too: valid
        assert parse(text).layers[-1].out_shape == (8, 6, 6)
        bad_text = text.replace("inputs: [c, g, m]", "inputs: [g, c]")
        with pytest.raises(InputError, match="does not broadcast"):
            parse(bad_text)
        return
    with pytest.raises(InputError) as e:
        parse(text)
    assert e.value.field == field and e.value.where.line == k + 1


def test_eltwise_elements_scale_cost(arch):
    wl1 = parse(BASE.replace("op: sigmoid, ops_per_element: 1", "op: sigmoid, ops_per_element: 4"))
    wl0 = parse(BASE)
    i = [l.name for l in wl0.layers].index("s")
    r0, r1 = simulate(arch, wl0), simulate(arch, wl1)
    assert int(r1.per_layer["postproc_ops"][i]) == 4 * int(r0.per_layer["postproc_ops"][i]) == 4 * math.prod((8,))
