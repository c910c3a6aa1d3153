"""benchmarks/peers.py: the inputs it writes for the peers say what the project's workload says, and a
peer that is not installed is skipped, not an error.  (The timings themselves are benchmarks.)"""
import importlib.util
import sys

from conftest import ROOT


def _peers():
    spec = importlib.util.spec_from_file_location("peers", ROOT / "benchmarks" / "peers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scalesim_topology_of_resnet8_is_the_workload_with_its_padding():
    """workloads/resnet8.yaml: conv1 3 -> 16 channels, 3x3, padding 1 on a 32x32 input: SCALE-Sim pads
    nothing, so its IFMAP is 32 + 1 + 1 = 34 square; s2_short is the 1x1 stride-2 shortcut 16 -> 32 on
    the 32x32 output of stack 1 (no padding); the dense layer 64 -> 10 is a 1x1 convolution on a 1x1 map.
    The adds are not GEMMs: no row.  10 compute layers: 9 convolutions and the dense layer."""
    p = _peers()
    rows = [r.rstrip(",").split(", ") for r in p.scalesim_topology(p.compute_layers("resnet8")).splitlines()]
    by = {r[0]: r[1:] for r in rows[1:]}
    assert by["conv1"] == ["34", "34", "3", "3", "3", "16", "1"]
    assert by["s2_short"] == ["32", "32", "1", "1", "16", "32", "2"]
    assert by["fc"] == ["1", "1", "1", "1", "64", "10", "1"]
    assert len(by) == 10 and not any("add" in k for k in by)


def test_zigzag_graph_follows_the_residual_connections():
    """The ONNX graph given to ZigZag links each layer to the layer producing its input through the
    digital layers: s2_short reads s1_add (the output of stack 1), s2_add adds s2_short and s2_conv2, and
    the classifier reads s3_add through the global pool."""
    p = _peers()
    layers = p.compute_layers("resnet8")
    idx = {l["name"]: i for i, l in enumerate(layers)}
    assert layers[idx["s2_short"]]["sources"] == [idx["s1_add"]]
    assert sorted(layers[idx["s2_add"]]["sources"]) == sorted([idx["s2_short"], idx["s2_conv2"]])
    assert layers[idx["fc"]]["sources"] == [idx["s3_add"]] and layers[idx["fc"]]["pooled"]
    assert layers[idx["conv1"]]["sources"] == [None]  # the network's input


def test_absent_peers_are_reported_as_skipped():
    """This interpreter has neither ZigZag nor SCALE-Sim (they are never tlm dependencies): both are None,
    and a skipped row prints as such."""
    p = _peers()
    found = p.installed(sys.executable)
    assert set(found) == {"zigzag", "scalesim"}
    if any(found.values()):  # (a developer's environment may have them)
        return
    res = {"rows": [{"network": "resnet8", "tool": t, "version": None, "skipped": "not installed"} for t in found]}
    out = p.render(res).splitlines()
    assert len(out) == 3 and all("skipped: not installed" in ln for ln in out[1:])
