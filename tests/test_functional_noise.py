"""Noise where it physically is (tlm/functional/model.py): a DP-line noise in volts at the column, before the
ABN gain, and the comparator noise after it.  Today's single input-referred noise is `dp_noise: off`."""
import math

import numpy as np
import pytest

from tlm.functional import model as F
from tlm.functional.model import _from_matrix_output

from helpers import with_changes, workload


def _old_cim(q, x, arch, noise_lsb, rng):
    """The CIM layer as it was before the DP-line noise existed (adaptive swing): one Gaussian of
    noise_lsb (in noise_ref_bits LSB, fixed in volts) after the ABN gain, the same draws in the same order."""
    L, g, top = q.layer, q.layer.groups, q.top
    tiles, _ = q.dp_tiles(x, arch)
    s = noise_lsb * 2.0 ** (L.bits_out - arch.functional.noise_ref_bits)
    gain, off = q.gain.reshape(g, 1, -1), q.offset.reshape(g, 1, -1)
    if len(tiles) == 1:
        y = np.clip(np.rint(gain * tiles[0] + off + rng.standard_normal(tiles[0].shape, dtype=np.float32) * s), 0, top)
    else:
        mid = float(1 << (L.bits_out - 1))
        acc = 0.0
        for dp in tiles:
            acc = acc + np.clip(np.rint(gain * dp + mid + rng.standard_normal(dp.shape, dtype=np.float32) * s), 0, top) - mid
        y = np.clip(np.rint(acc + off), 0, top)
    return _from_matrix_output(y, L, len(x))


def _net(arch, layers, shape, scales=None, seed=0):
    wl = workload(layers, shape=shape)
    x = np.random.default_rng(seed).integers(0, 256, size=(8, *shape))
    params = F.random_params(arch, wl, x, seed=seed)
    if scales is not None:
        name = wl.layers[0].name
        params[name + ".w"] = params[name + ".w"] * np.asarray(scales).reshape((-1,) + (1,) * (params[name + ".w"].ndim - 1))
    return F.FunctionalNet(arch, wl, params), x


@pytest.mark.parametrize("rows", [1152, 64])  # one row tile; three row tiles of a 64-row macro
def test_dp_noise_off_is_the_previous_model(arch, rows):
    """`dp_noise: off` with noise_lsb = sigma gives exactly the outputs of the old single-noise model."""
    a = with_changes(arch, **{"functional.dp_noise": "off", "macro.rows": rows, "macro.dp_split_blocks": 1})
    net, x = _net(a, [{"name": "c", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}], (16, 6, 6))
    q = net.q["c"]
    xc = x.astype(np.float32)
    new = q.cim(xc, a, "adaptive", 1.5, np.random.default_rng(7))
    old = _old_cim(q, xc, a, 1.5, np.random.default_rng(7))
    assert np.array_equal(new, old)
    # and the default (kT/C) is a different setting: it changes the outputs
    b = with_changes(a, **{"functional.dp_noise": "ktc"})
    assert not np.array_equal(q.cim(xc, b, "adaptive", 1.5, np.random.default_rng(7)), old)


def test_ktc_noise_of_the_line(arch):
    """kT/C of 128 connected cells of 1.997 fF plus the 120 fF column at 300 K:
    C = 128 * 1.997 + 120 = 375.6 fF, kT = 1.380649e-23 * 300 = 4.142e-21 J, sqrt(kT/C) = 0.1050 mV;
    with all 1152 rows connected, C = 2420.5 fF: 0.04137 mV (more rows, more charge, less noise in volts).
    (Those capacitances pinned: IMAGINE's derived values follow the circuit model, tlm/hw/circuit.py.)"""
    arch = with_changes(arch, **{"macro.c_cell_ff": 1.997, "macro.c_column_ff": 120.0})
    assert F.dp_line_noise_v(arch, 128) == pytest.approx(0.10501e-3, rel=1e-3)
    assert F.dp_line_noise_v(arch, 1152) == pytest.approx(0.04137e-3, rel=1e-3)
    m = with_changes(arch, **{"functional.dp_noise": "measured", "functional.dp_noise_mv": 0.3})
    assert F.dp_line_noise_v(m, 128) == pytest.approx(0.3e-3)
    # in DP units: the line swings 0.3 V at the worst case DP of 128 rows x 255 x 128 = 4,177,920 units
    assert F.dp_noise_units(arch, 128, 255 * 128) == pytest.approx(0.10501e-3 * 4_177_920 / 0.3, rel=1e-3)


def test_dp_noise_follows_the_abn_gain(arch):
    """The DP-line noise enters before the ABN gain: a channel with a 4x larger ABN gain (here its weights
    are 4x larger for the same output range) sees 4x the noise in output LSB; the comparator noise
    does not depend on the gain.  Measured over 8 images x 100 pixels, against the unrounded ideal output."""
    a = with_changes(arch, **{"functional.dp_noise": "measured", "functional.dp_noise_mv": 0.6})
    net, x = _net(a, [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}],
                  (16, 10, 10), scales=[1.0, 4.0])
    q = net.q["c"]
    q.offset[:] = 128  # mid-scale, so that nothing clips
    q.gain[:] = q.gain * 0.2
    xc = x.astype(np.float32)
    tiles, conn = q.dp_tiles(xc, a)
    ref = _from_matrix_output(q._affine(tiles[0]), q.layer, len(x))
    st = F.LayerStats()
    err = q.cim(xc, a, "adaptive", 0.0, np.random.default_rng(1), st) - ref
    assert st.clipped == 0
    std = err.transpose(1, 0, 2, 3).reshape(2, -1).std(1)
    assert q.gain[1] > 3 * q.gain[0]  # the per-channel weight steps differ too: compare with the gains
    want = q.gain * F.dp_noise_units(a, conn[0], 255 * 128)  # output LSB rms, before rounding
    assert want[0] > 1.0  # large against the rounding noise (1/sqrt(12) LSB)
    np.testing.assert_allclose(std, np.sqrt(want ** 2 + 1 / 12), rtol=0.12)
    # the comparator noise alone: the same in both channels whatever their gain
    off = with_changes(a, **{"functional.dp_noise": "off"})
    err = q.cim(xc, off, "adaptive", 2.0 * 4, np.random.default_rng(1)) - ref  # 8 LSB of 8 bits = 8 codes
    std = err.transpose(1, 0, 2, 3).reshape(2, -1).std(1)
    assert std[1] == pytest.approx(std[0], rel=0.12) and std[0] == pytest.approx(math.sqrt(64 + 1 / 12), rel=0.12)
