"""ONNX import: small graphs built with onnx.helper checked against hand counts, every real model graph
shipped in the onnx wheel, and the command line (exit codes, one-line errors, written files)."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tlm.engines.analytic import simulate  # noqa: E402
from tlm.cli import main  # noqa: E402
from tlm.errors import InputError  # noqa: E402
from tlm.mapping.geometry import map_layers  # noqa: E402
from tlm.onnxio.graph import load_onnx, onnx_to_yaml, parse_yaml  # noqa: E402
from tlm.onnxio.operators import LRN_OPS_EXTRA  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
F = TensorProto.FLOAT


# ---- graph building helpers ------------------------------------------------------------------------
class G:
    """A tiny graph builder: weights as initializers, Constant or ConstantOfShape nodes."""

    def __init__(self, shape, name="x"):
        self.nodes, self.inits, self.k = [], [], 0
        self.input = helper.make_tensor_value_info(name, F, list(shape))
        self.last = name

    def _n(self, prefix):
        self.k += 1
        return f"{prefix}{self.k}"

    def weight(self, shape, how="init"):
        name = self._n("w")
        if how == "init":  # a real initializer with values
            self.inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), name))
        elif how == "constant":
            self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(
                np.zeros(shape, np.float32))))
        else:  # ConstantOfShape fed by an int64 shape initializer: no weight values anywhere
            self.inits.append(numpy_helper.from_array(np.array(shape, np.int64), name + "_shape"))
            self.nodes.append(helper.make_node("ConstantOfShape", [name + "_shape"], [name]))
        return name

    def weight_const_i64(self, values):
        """A small int64 initializer (shapes, pads, axes, indices)."""
        name = self._n("k")
        self.inits.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    def node(self, op, inputs=None, name=None, n_out=1, **attrs):
        name = name or self._n(op.lower())
        outs = [f"{name}_out{i}" if i else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, [self.last] if inputs is None else inputs, outs, name=name,
                                           **attrs))
        self.last = outs[0]
        return outs[0]

    def conv(self, cin, cout, k, how="init", group=1, **attrs):
        w = self.weight([cout, cin // group, k, k], how)
        return self.node("Conv", [self.last, w], group=group, **attrs)

    def bn(self, c):
        ps = [self.weight([c]) for _ in range(4)]
        return self.node("BatchNormalization", [self.last, *ps])

    def save(self, path, out_shape=None):
        out = helper.make_tensor_value_info(self.last, F, out_shape)
        graph = helper.make_graph(self.nodes, "g", [self.input], [out], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(model, str(path))
        return path


def by_name(wl):
    return {l.name: l for l in wl.layers}


# ---- small graphs against hand counts --------------------------------------------------------------
def test_residual_block_with_bn_relu_and_final_dense(tmp_path, arch):
    g = G([1, 16, 8, 8])
    g.conv(16, 16, 3, how="constant", pads=[1, 1, 1, 1], name="c1")
    g.bn(16)
    g.node("Relu")
    g.conv(16, 16, 3, how="shape_only", pads=[1, 1, 1, 1], name="c2")
    g.bn(16)
    g.node("Add", [g.last, "x"], name="res")
    g.node("Relu")
    g.node("GlobalAveragePool", name="gap")
    g.node("Flatten", name="flat")
    w = g.weight([10, 16], how="shape_only")
    g.node("Gemm", [g.last, w], name="fc", transB=1)
    g.node("Softmax")
    wl = load_onnx(g.save(tmp_path / "res.onnx"))
    assert [(l.type, l.relu) for l in wl.layers] == [
        ("conv2d", True), ("conv2d", False), ("add", True), ("global_avgpool", False), ("flatten", False),
        ("dense", False)]
    L = by_name(wl)
    assert L["res"].inputs == ("c2", "input")  # the shortcut reads the graph input
    assert L["c2"].out_shape == (16, 8, 8) and L["fc"].out_shape == (10,)
    assert wl.macs == 2 * (8 * 8 * 16 * 3 * 3 * 16) + 16 * 10
    text = " ".join(wl.notes)
    assert "2 BatchNormalization" in text and "Softmax" in text
    # the dense layer fits one macro: 16 rows, 10 x 8 columns
    m = map_layers(arch, [L["fc"]])
    assert int(m.tiles[0]) == 1 and int(m.rows_per_tile[0]) == 16 and int(m.cols_per_tile[0]) == 10 * 8


def test_grouped_strided_asymmetric_conv_maps_block_diagonally(tmp_path, arch):
    g = G([1, 32, 16, 16])
    g.conv(32, 64, 3, group=4, strides=[2, 2], pads=[0, 0, 1, 1], name="gc")
    g.conv(64, 64, 3, group=64, dilations=[2, 2], auto_pad="SAME_UPPER", name="dw")
    wl = load_onnx(g.save(tmp_path / "g.onnx"))
    gc, dw = wl.layers
    ho = (16 + 0 + 1 - 3) // 2 + 1  # = 8
    assert gc.out_shape == (64, ho, ho) and gc.padding == (0, 0, 1, 1) and gc.groups == 4
    assert gc.macs == ho * ho * 64 * 3 * 3 * (32 // 4)
    # SAME_UPPER, dilation 2: effective kernel 5, total pad 4 split 2/2, output keeps 8x8
    assert dw.out_shape == (64, 8, 8) and dw.padding == (2, 2, 2, 2) and dw.dilation == (2, 2)
    assert dw.macs == 8 * 8 * 64 * 9
    m = map_layers(arch, [gc, dw])
    R, C = arch.macro.rows, arch.macro.columns
    per_macro = C // gc.bits_w  # output channels a macro holds
    gpt = min(R // (9 * 8), per_macro // 16, 4)  # groups packed block-diagonally per tile
    assert int(m.groups_per_tile[0]) == gpt and int(m.tiles[0]) == math.ceil(4 / gpt)
    gpt_dw = min(R // 9, per_macro // 1, 64)
    assert int(m.groups_per_tile[1]) == gpt_dw and int(m.tiles[1]) == math.ceil(64 / gpt_dw)
    assert float(m.spatial_utilization[1]) == pytest.approx(64 * 9 * 8 / (m.tiles[1] * R * C))


def test_bn_folds_only_into_a_conv_output_nothing_else_reads(tmp_path, arch):
    g = G([1, 8, 6, 6])
    g.bn(8)  # on the graph input: nothing to fold into -> digital affine
    g.node("Relu")
    c = g.conv(8, 8, 1, name="c")
    g.bn(8)  # folded
    g.node("Relu")
    c2 = g.conv(8, 8, 1, name="c2")
    g.bn(8)  # c2's raw output is also read by the add: cannot fold
    bn_out = g.last
    g.node("Add", [bn_out, c2], name="a")
    wl = load_onnx(g.save(tmp_path / "bn.onnx"))
    types = [(l.type, l.op, l.relu) for l in wl.layers]
    assert types == [("eltwise", "affine", True), ("conv2d", "", True), ("conv2d", "", False),
                     ("eltwise", "affine", False), ("add", "", False)]
    r = simulate(arch, wl)
    assert int(r.per_layer["postproc_ops"][0]) == 8 * 6 * 6 * 2  # multiply + add per element
    assert int(r.per_layer["postproc_ops"][3]) == 8 * 6 * 6 * 2
    assert any("1 BatchNormalization" in n and "folded" in n for n in wl.notes)


def test_pools_ceil_mode_pad_lrn_concat_and_shuffle(tmp_path, arch):
    g = G([1, 8, 9, 9])
    g.node("Pad", [g.last, g.weight_const_i64([0, 0, 1, 1, 0, 0, 1, 1])], name="pad")
    a = g.conv(8, 12, 3, name="c")  # pad folded into the conv: 9 + 2 - 3 + 1 = 9
    g.node("MaxPool", [a], name="mp", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)  # 9 -> 5 (ceil)
    mp = g.last
    g.node("AveragePool", [a], name="ap", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])  # -> 5
    g.node("Concat", [mp, g.last], name="cat", axis=1)
    g.node("LRN", name="lrn", size=5)
    # channel shuffle: (1, 24, 5, 5) -> (1, 3, 8, 5, 5) -> transpose -> (1, 24, 5, 5)
    g.node("Reshape", [g.last, g.weight_const_i64([1, 3, 8, 5, 5])], name="r1")
    g.node("Transpose", name="t", perm=[0, 2, 1, 3, 4])
    g.node("Reshape", [g.last, g.weight_const_i64([1, 24, 5, 5])], name="r2")
    g.conv(24, 4, 1, name="c2")
    wl = load_onnx(g.save(tmp_path / "p.onnx"))
    L = by_name(wl)
    assert [l.name for l in wl.layers] == ["c", "mp", "ap", "cat", "lrn", "c2"]
    assert L["c"].padding == (1, 1, 1, 1) and L["c"].out_shape == (12, 9, 9)
    assert L["mp"].out_shape == (12, 5, 5) and L["mp"].padding == (0, 0, 1, 1)
    assert L["cat"].out_shape == (24, 5, 5)
    assert L["c2"].inputs == ("lrn",) and L["c2"].in_shape == (24, 5, 5)
    assert any("permute" in n for n in wl.notes)
    r = simulate(arch, wl)
    assert int(r.per_layer["postproc_ops"][4]) == 24 * 5 * 5 * (2 * 5 + LRN_OPS_EXTRA)


def test_matmul_dense_and_reshape_from_shape_arithmetic(tmp_path):
    # PyTorch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    g = G([1, 4, 3, 3])
    x = g.last
    s = g.node("Shape", [x])
    idx = g.weight_const_i64(0)
    g.node("Gather", [s, idx], axis=0)
    g.node("Unsqueeze", [g.last, g.weight_const_i64([0])])
    shp = g.node("Concat", [g.last, g.weight_const_i64([-1])], axis=0)
    g.node("Reshape", [x, shp], name="view")
    g.node("MatMul", [g.last, g.weight([36, 5], how="shape_only")], name="mm")
    wl = load_onnx(g.save(tmp_path / "mm.onnx"))
    assert [l.type for l in wl.layers] == ["flatten", "dense"]
    assert wl.layers[1].in_shape == (36,) and wl.layers[1].macs == 36 * 5


def test_nhwc_input_and_output_layer_last(tmp_path):
    g = G([1, 8, 8, 3])
    g.node("Transpose", name="to_nchw", perm=[0, 3, 1, 2])
    c1 = g.conv(3, 4, 3, name="c1", pads=[1, 1, 1, 1])
    g.node("GlobalAveragePool", name="gap")
    g.node("Flatten", name="flat")
    g.node("Gemm", [g.last, g.weight([5, 4])], name="fc", transB=1)
    out = g.last
    g.node("Relu", [c1], name="dangling")  # read by nothing, listed after the output's producer
    g.last = out
    wl = load_onnx(g.save(tmp_path / "nhwc.onnx"))
    assert wl.input_shape == (3, 8, 8) and wl.layers[0].in_shape == (3, 8, 8)
    assert wl.layers[-1].name == "fc" and wl.layers[-1].inputs == ("gap_flat",)
    assert [l.name for l in wl.layers] == ["c1", "gap", "gap_flat", "dangling", "fc"]
    assert any("transposed" in n for n in wl.notes)


def test_squeeze_excite_multiply_broadcasts_digitally(tmp_path, arch):
    g = G([1, 8, 4, 4])
    x = g.conv(8, 8, 3, name="c", pads=[1, 1, 1, 1])
    g.node("GlobalAveragePool", name="gap")
    g.node("Sigmoid", name="sig")
    g.node("Mul", [g.last, x], name="scale")  # (1,8,1,1) x (1,8,4,4): the small one first
    wl = load_onnx(g.save(tmp_path / "se.onnx"))
    L = by_name(wl)
    assert L["scale"].inputs == ("c", "sig") and L["scale"].out_shape == (8, 4, 4)
    r = simulate(arch, wl)
    i = [l.name for l in wl.layers].index
    assert int(r.per_layer["postproc_ops"][i("scale")]) == 8 * 4 * 4
    assert int(r.per_layer["postproc_ops"][i("sig")]) == 8  # one look-up per element


def test_ds_cnn_from_onnx_equals_the_zoo_yaml(tmp_path, root):
    """DS-CNN as a Keras export would write it (NHWC input, SAME_UPPER, BN, ReLU as Clip(0, 6) with
    constant bounds, Dropout, Softmax) imports to the same layers as workloads/ds_cnn.yaml."""
    from tlm.config.workload import load_workload
    g = G([1, 49, 10, 1])
    g.node("Transpose", perm=[0, 3, 1, 2])
    lo, hi = g.weight([]), g.weight([])
    w = g.weight([64, 1, 10, 4], how="shape_only")
    g.node("Conv", [g.last, w], auto_pad="SAME_UPPER", strides=[2, 2])
    g.bn(64)
    g.node("Clip", [g.last, lo, hi])
    g.node("Dropout")
    for _ in range(4):
        g.conv(64, 64, 3, group=64, how="shape_only", auto_pad="SAME_UPPER")
        g.bn(64)
        g.node("Relu")
        g.conv(64, 64, 1, how="shape_only")
        g.bn(64)
        g.node("Relu")
    g.node("AveragePool", kernel_shape=[24, 5], strides=[24, 5])
    g.node("Flatten")
    g.node("Gemm", [g.last, g.weight([64, 12], how="constant")])
    g.node("Softmax")
    wl = load_onnx(g.save(tmp_path / "ds_cnn.onnx"))
    ref = load_workload(root / "workloads" / "ds_cnn.yaml")
    got = [(l.type, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding, l.groups, l.relu, l.macs)
           for l in wl.layers]
    want = [(l.type, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding, l.groups, l.relu, l.macs)
            for l in ref.layers]
    assert got == want


def test_reduce_mean_and_opset13_squeeze_feed_a_dense(tmp_path):
    g = G([2, 6, 5, 5])  # a batch of two images
    g.conv(6, 6, 3, name="c")
    g.node("ReduceMean", name="mean", axes=[2, 3], keepdims=1)
    g.node("Squeeze", [g.last, g.weight_const_i64([2, 3])], name="sq")
    g.node("Gemm", [g.last, g.weight([4, 6])], name="fc", transB=1)
    wl = load_onnx(g.save(tmp_path / "rm.onnx"))
    assert wl.batch == 2
    assert [(l.type, l.out_shape) for l in wl.layers] == [
        ("conv2d", (6, 3, 3)), ("global_avgpool", (6, 1, 1)), ("flatten", (6,)), ("dense", (4,))]
    assert wl.macs == 3 * 3 * 6 * 9 * 6 + 6 * 4  # per image; the batch multiplies it in the result


def test_unsupported_ops_are_listed_with_node_names(tmp_path):
    g = G([1, 4, 8, 8])
    g.node("Resize", [g.last, "", g.weight([4])], name="up1", mode="nearest")
    g.node("Einsum", [g.last], name="e1", equation="nchw->nchw")
    g.node("Resize", [g.last, "", g.weight([4])], name="up2", mode="nearest")
    path = g.save(tmp_path / "u.onnx")
    with pytest.raises(InputError) as e:
        load_onnx(path)
    msg = str(e.value)
    assert "Einsum (e1)" in msg and "Resize (up1, up2)" in msg and str(path) in msg


def test_missing_input_names_node(tmp_path, capsys):
    g = G([1, 4, 8, 8])
    g.node("Relu", ["nowhere"], name="r")
    path = g.save(tmp_path / "m.onnx")
    assert main(["simulate", "imagine", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "'r'" in err and "nowhere" in err


@pytest.mark.parametrize("content", [b"", b"hello, not a protobuf", "truncated"])
def test_bad_onnx_file_is_one_line_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.onnx"
    if content == "truncated":
        good = G([1, 4, 8, 8])
        good.conv(4, 4, 3)
        full = good.save(tmp_path / "good.onnx").read_bytes()
        content = full[: len(full) * 2 // 3]
    path.write_bytes(content)
    out = tmp_path / "o.yaml"
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}") and not out.exists()


def test_missing_onnx_package_says_how_to_install(tmp_path, monkeypatch):
    import sys
    g = G([1, 4, 8, 8])
    g.conv(4, 4, 3)
    path = g.save(tmp_path / "a.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(InputError, match=r'pip install onnx .*pip install -e "\.\[onnx\]"'):
        load_onnx(path)


# ---- command line ----------------------------------------------------------------------------------
def test_import_writes_yaml_that_simulates_like_the_onnx(tmp_path, capsys):
    model = LIGHT / "light_squeezenet.onnx"
    out = tmp_path / "sq.yaml"
    assert main(["import", str(model), "-o", str(out), "--precision", "4", "--precision-w", "2"]) == 0
    text = out.read_text()
    assert text.startswith("# Imported by `tlm import` from light_squeezenet.onnx (sha256 ")
    assert text == onnx_to_yaml(model, {"input": 4, "weight": 2, "output": 4})  # same bytes every time
    j1, j2 = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["simulate", "imagine", str(out), "--json", str(j1), "-q"]) == 0
    wl = json.loads(j1.read_text())["workload"]
    comp = [l for l in wl["layers"] if l["type"] == "conv2d"]
    assert comp and all(l["precision"] == {"input": 4, "weight": 2, "output": 4} for l in comp)
    # the ONNX file directly gives the same numbers (8b defaults on both sides)
    out8 = tmp_path / "sq8.yaml"
    assert main(["import", str(model), "-o", str(out8)]) == 0
    assert main(["simulate", "imagine", str(out8), "--json", str(j1), "-q"]) == 0
    assert main(["simulate", "imagine", str(model), "--json", str(j2), "-q"]) == 0
    s1, s2 = json.loads(j1.read_text())["summary"], json.loads(j2.read_text())["summary"]
    assert s1 == s2


def test_bad_precision_flag_is_exit_2(tmp_path, capsys):
    out = tmp_path / "x.yaml"
    assert main(["import", str(LIGHT / "light_vgg19.onnx"), "-o", str(out), "--precision", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not out.exists()


# ---- real model graphs shipped in the onnx wheel ---------------------------------------------------
LIGHT_MODELS = sorted(p.name for p in LIGHT.glob("light_*.onnx")) if LIGHT.is_dir() else []


def _independent_macs(path):
    """MACs of every Conv/Gemm from onnx's own shape inference and the weight shapes (not our code)."""
    m = onnx.shape_inference.infer_shapes(onnx.load(str(path)), data_prop=True)
    shp = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
           for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    for t in m.graph.initializer:
        shp[t.name] = list(t.dims)
    total, n = 0, 0
    for node in m.graph.node:
        if node.op_type == "Conv":
            w = shp[node.input[1]]
            total += math.prod(shp[node.output[0]][1:]) * math.prod(w[1:])
            n += 1
        elif node.op_type == "Gemm":
            w = shp[node.input[1]]
            total += w[0] * w[1]
            n += 1
    return total, n


def test_light_models_are_shipped():
    assert {"light_resnet50.onnx", "light_vgg19.onnx", "light_squeezenet.onnx", "light_shufflenet.onnx",
            "light_inception_v1.onnx", "light_inception_v2.onnx", "light_densenet121.onnx",
            "light_bvlc_alexnet.onnx", "light_zfnet512.onnx"} <= set(LIGHT_MODELS)


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_real_models_import_and_simulate(name, arch):
    path = LIGHT / name
    wl = load_onnx(path)
    macs, n_compute = _independent_macs(path)
    assert wl.macs == macs
    assert sum(l.is_compute for l in wl.layers) == n_compute
    # the last layer produces the network's 1000 class scores
    assert math.prod(wl.layers[-1].out_shape) == 1000
    r = simulate(arch, wl)
    assert r.macs == macs and r.cycles > 0
    e = r.energy_by_kind_pj
    assert e["dp_array"] > 0 and e["adc"] > 0
    n_conv_nodes = sum(1 for nd in onnx.load(str(path)).graph.node if nd.op_type in ("Conv", "Gemm"))
    assert int((r.per_layer["tiles"] > 0).sum()) == n_conv_nodes


@pytest.mark.parametrize("name, gmacs", [
    # ResNet-50 at 224x224 (stride in the 3x3 conv, as the shipped caffe2 graph): 4.09 GMACs incl. FC
    ("light_resnet50.onnx", 4.09),
    # VGG-19 at 224x224: 19.6 GMACs (19.5 in the convs, 0.12 in the three FC layers)
    ("light_vgg19.onnx", 19.6),
])
def test_well_known_mac_totals(name, gmacs):
    assert load_onnx(LIGHT / name).macs == pytest.approx(gmacs * 1e9, rel=0.01)


def test_vgg19_macs_by_hand():
    """VGG-19 from its definition: 3x3 convs (64 x2, 128 x2, 256 x4, 512 x4, 512 x4) with 2x2 pools."""
    macs, c, hw = 0, 3, 224
    for width, n in ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4)):
        for _ in range(n):
            macs += hw * hw * width * 9 * c
            c = width
        hw //= 2
    macs += 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert load_onnx(LIGHT / "light_vgg19.onnx").macs == macs


@pytest.mark.parametrize("name", ["light_shufflenet.onnx", "light_inception_v1.onnx"])
def test_written_yaml_and_direct_load_are_the_same_workload(name):
    path = LIGHT / name
    text = onnx_to_yaml(path, {"weight": 4})
    assert text == onnx_to_yaml(path, {"weight": 4})  # same bytes every time
    assert parse_yaml(text, path).to_dict() == load_onnx(path, {"weight": 4}).to_dict()
