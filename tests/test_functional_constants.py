"""The functional model's fixed-swing fraction and noise reference bits, by their behaviour on hand-built
conversions (tlm/functional/macro.py: fixed_lsb, conversion_sigma, adc_partial, adc_final), not by a hash
of the source: a mutation that drops or inverts either changes these numbers."""
import numpy as np
import pytest

from tlm.functional import macro as M
from tlm.functional import model as F

from helpers import with_changes, workload


def _dense(arch, fraction):
    """A 4-input, 1-output dense layer of 2b inputs, 2b weights, 4b outputs on a 4-row macro (one DP block:
    all 4 rows connected), weights all +1, ABN gain 1 and offset 0, fixed-swing fraction `fraction`."""
    a = with_changes(arch, **{"macro.rows": 4, "macro.dp_split_blocks": 1, "functional.dp_noise": "off",
                              "functional.fixed_range_fraction": fraction})
    wl = workload([{"name": "d", "type": "dense", "out_features": 1, "relu": True}], shape=(4,), bits=2,
                  precision={"input": 2, "weight": 2, "output": 4})
    q = F.QLayer(layer=wl.layers[0], w_int=np.ones((1, 4), dtype=np.int64), gain=np.ones(1), offset=np.zeros(1),
                 relu=True, zp_out=0)
    return a, q


# x = (3, 3, 3, 3): DP 12 (the worst case's half); (1, 0, 0, 0): DP 1; (3, 2, 0, 0): DP 5
X = np.array([[3, 3, 3, 3], [1, 0, 0, 0], [3, 2, 0, 0]], dtype=np.float32)


@pytest.mark.parametrize("fraction, expected", [
    # worst case per row: (2^2 - 1) x 2^(2-1) = 6 DP units; 4 connected rows: FS = 24; 16 codes over
    # [-FS x f, FS x f): LSB = 2 x 24 x f / 16 = 3 f.  Code = clip(rint(DP / LSB + 8), 0, 15), back to DP
    # units (code - 8) x LSB, then the digital BN (gain 1, offset 0) and rint:
    # f = 1    (LSB 3):    DP 12 -> 12 -> 12;  DP 1 -> 8.33 -> 8 -> 0;  DP 5 -> 9.67 -> 10 -> 6
    (1.0, [12, 0, 6]),
    # f = 0.25 (LSB 0.75): DP 12 -> 24 clips at 15 -> 5.25 -> 5;  DP 1 -> 9.33 -> 9 -> 0.75 -> 1;
    #                      DP 5 -> 14.67 -> 15 -> 5.25 -> 5   (finer steps, but the large DPs clip)
    (0.25, [5, 1, 5]),
])
def test_fixed_swing_fraction_sets_the_adc_range(arch, fraction, expected):
    a, q = _dense(arch, fraction)
    assert M.fixed_lsb(a, q.layer, 4) == pytest.approx(3 * fraction)
    y = q.cim(X, a, "fixed", 0.0, np.random.default_rng(0))
    assert y.reshape(-1).tolist() == expected


def test_adaptive_swing_ignores_the_fixed_fraction(arch):
    """The adaptive swing's range is the ABN's (gain, offset), not the worst case: code = clip(rint(DP)),
    12, 1 and 5, whatever the fixed-swing fraction."""
    outs = [_dense(arch, f)[1].cim(X, _dense(arch, f)[0], "adaptive", 0.0, np.random.default_rng(0))
            for f in (1.0, 0.25)]
    assert outs[0].reshape(-1).tolist() == outs[1].reshape(-1).tolist() == [12, 1, 5]


@pytest.mark.parametrize("ref_bits, bits_out, sigma_lsb", [
    # noise_lsb = 1.6 LSB of a ref_bits conversion, fixed in volts: in LSB of a bits_out conversion it is
    # 1.6 x 2^(bits_out - ref_bits)
    (8, 4, 0.1),   # 1.6 / 16
    (4, 4, 1.6),   # the reference resolution itself
    (8, 8, 1.6),
    (6, 8, 6.4),   # 1.6 x 4: a finer conversion sees more of the same volts
])
def test_noise_follows_the_reference_bits(arch, ref_bits, bits_out, sigma_lsb):
    a = with_changes(arch, **{"functional.dp_noise": "off", "functional.noise_ref_bits": ref_bits})
    L = workload([{"name": "d", "type": "dense", "out_features": 1}], shape=(4,),
                 precision={"output": bits_out}).layers[0]
    assert M.conversion_sigma(a, L, "adaptive", np.ones(1), 4, 1.6) == pytest.approx(sigma_lsb)
    assert M.conversion_sigma(a, L, "fixed", np.ones(1), 4, 1.6) == pytest.approx(sigma_lsb)


def test_measured_noise_of_conversions_follows_the_reference_bits(arch):
    """200,000 conversions of DP 0 at mid-scale (offset 8 of a 4b ADC), comparator noise 1.6 LSB of a
    ref-bit conversion.  ref 4: sigma 1.6 LSB, and rounding adds a uniform 1/12 LSB^2: std of the codes
    sqrt(1.6^2 + 1/12) = 1.626 (clipping at 0 and 15 is 4.7 sigma away).  ref 8: sigma 0.1 LSB, a code
    moves only past 0.5 LSB = 5 sigma (p = 6e-7): every code is 8."""
    dp = np.zeros((1, 200_000, 1))
    L = workload([{"name": "d", "type": "dense", "out_features": 1}], shape=(4,),
                 precision={"output": 4}).layers[0]
    std = {}
    for ref in (4, 8):
        a = with_changes(arch, **{"functional.dp_noise": "off", "functional.noise_ref_bits": ref})
        y = M.adc_final(dp, np.ones((1, 1, 1)), np.full((1, 1, 1), 8.0), 4, L, True, a, 1.6,
                        np.random.default_rng(1))
        std[ref] = float(y.std())
    assert std[4] == pytest.approx(1.626, rel=0.02)
    assert std[8] == 0.0
