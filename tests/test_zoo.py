"""The workload zoo: architectures (layer counts, strides, channels) and MAC totals derived by hand from
each network's definition, and the mapping of the layer kinds they use."""
import math
from pathlib import Path

import pytest

from tlm.engines.analytic import simulate
from tlm.mapping.geometry import map_layers
from tlm.config.workload import load_workload

ROOT = Path(__file__).resolve().parent.parent


def wl(name):
    return load_workload(ROOT / "workloads" / f"{name}.yaml")


def conv_macs(h, w, cout, k, cin_per_group):
    return h * w * cout * k * k * cin_per_group


def test_every_zoo_file_names_its_source():
    for p in (ROOT / "workloads").glob("*.yaml"):
        text = p.read_text()
        assert text.startswith("#") and "source:" in text, p.name


def test_resnet8_macs():
    """MLPerf Tiny ResNet-8 on 32x32x3: 3x3 convs, stacks of 16/32/64 channels, 1x1 shortcuts."""
    macs = conv_macs(32, 32, 16, 3, 3)  # stem
    macs += 2 * conv_macs(32, 32, 16, 3, 16)  # stack 1
    macs += conv_macs(16, 16, 32, 3, 16) + conv_macs(16, 16, 32, 3, 32) + conv_macs(16, 16, 32, 1, 16)
    macs += conv_macs(8, 8, 64, 3, 32) + conv_macs(8, 8, 64, 3, 64) + conv_macs(8, 8, 64, 1, 32)
    macs += 64 * 10
    assert wl("resnet8").macs == macs
    assert macs == pytest.approx(12.5e6, rel=0.01)


def test_ds_cnn_small():
    """49x10 MFCC -> conv 10x4/2 'same' (25x5x64) -> 4 x (dw 3x3 + pw 1x1, 64) -> avgpool 24x5 -> dense 12."""
    w = wl("ds_cnn")
    assert w.layers[0].out_shape == (64, 25, 5)  # ceil(49/2), ceil(10/2)
    assert w.layers[0].padding == (4, 1, 5, 1)  # 'same': total (24*2+10-49, 4*2+4-10) = (9, 2)
    dw = [l for l in w.layers if l.groups > 1]
    assert len(dw) == 4 and all(l.groups == l.c_in == l.c_out == 64 for l in dw)
    macs = conv_macs(25, 5, 64, 1, 1) * 10 * 4  # 10x4 kernel over one channel
    macs += 4 * (25 * 5 * 64 * 9 + conv_macs(25, 5, 64, 1, 64))
    macs += 64 * 12
    assert w.macs == macs == 2_656_768  # ~2.7 MMACs
    assert w.layers[-3].out_shape == (64, 1, 1)


def test_mobilenet_v1_025_vww():
    w = wl("mobilenet_v1_vww")
    dw = [l for l in w.layers if l.groups > 1]
    pw = [l for l in w.layers if l.type == "conv2d" and l.kernel == (1, 1)]
    assert len(dw) == len(pw) == 13
    assert [l.c_out for l in pw] == [16, 32, 32, 64, 64] + [128] * 6 + [256, 256]
    assert [i for i, l in enumerate(dw, 1) if l.stride == (2, 2)] == [2, 4, 6, 12]
    macs, hw, c = conv_macs(48, 48, 8, 3, 3), 48, 8
    for i, cout in enumerate([16, 32, 32, 64, 64] + [128] * 6 + [256, 256], 1):
        if i in (2, 4, 6, 12):
            hw //= 2
        macs += hw * hw * c * 9 + hw * hw * c * cout
        c = cout
    macs += 256 * 2
    assert hw == 3 and w.macs == macs
    assert macs == pytest.approx(7.5e6, rel=0.01)


def test_fc_autoencoder():
    w = wl("fc_autoencoder")
    widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    assert [l.out_shape[0] for l in w.layers] == widths[1:]
    assert w.macs == sum(a * b for a, b in zip(widths, widths[1:])) == 264_192


def test_resnet18_imagenet():
    w = wl("resnet18")
    convs = [l for l in w.layers if l.type == "conv2d"]
    assert len(convs) == 1 + 16 + 3 and sum(l.type == "add" for l in w.layers) == 8
    macs = conv_macs(112, 112, 64, 7, 3)
    hw, c = 56, 64
    for width in (64, 128, 256, 512):
        if width != 64:
            hw //= 2
            macs += conv_macs(hw, hw, width, 3, c) + conv_macs(hw, hw, width, 1, c)  # strided + shortcut
            macs += 3 * conv_macs(hw, hw, width, 3, width)
        else:
            macs += 4 * conv_macs(hw, hw, width, 3, width)
        c = width
    macs += 512 * 1000
    assert w.macs == macs == 1_814_073_344  # ~1.82 GMACs
    assert w.layers[-3].out_shape == (512, 1, 1)


@pytest.mark.parametrize("name", ["ds_cnn", "mobilenet_v1_vww", "fc_autoencoder", "resnet18"])
def test_zoo_simulates_with_every_mac_counted(name, arch):
    w = wl(name)
    r = simulate(arch, w)
    assert r.macs == w.macs
    # every compute layer streams each input bit-plane once per tile and output pixel
    comp = [i for i, l in enumerate(w.layers) if l.is_compute]
    m = map_layers(arch, [w.layers[i] for i in comp])
    for j, i in enumerate(comp):
        l = w.layers[i]
        assert int(r.per_layer["dp_cycles"][i]) == int(m.tiles[j]) * l.out_pixels * l.bits_in


def test_depthwise_maps_honestly(arch):
    """A depthwise 3x3 layer of 64 channels: 9 useful rows and r_w columns per channel, packed
    block-diagonally; the utilization reports the empty off-diagonal cells."""
    l = next(l for l in wl("ds_cnn").layers if l.groups == 64)
    m = map_layers(arch, [l])
    per_tile = min(arch.macro.rows // 9, arch.macro.columns // l.bits_w, 64)
    assert int(m.groups_per_tile[0]) == per_tile
    assert int(m.tiles[0]) == math.ceil(64 / per_tile)
    useful = 64 * 9 * l.bits_w
    assert float(m.spatial_utilization[0]) == pytest.approx(useful / (m.tiles[0] * arch.macro.rows
                                                                      * arch.macro.columns))
