"""Functional bit-accurate model of the charge-domain CIM macro, and of whole networks on it.

One macro operation (one row tile of one group of a conv/dense layer, for a block of output pixels):

1. Inputs are unsigned r_in-bit codes; they are streamed one bit-plane per DP cycle (no DACs).
2. A signed r_w-bit weight sits in r_w adjacent columns as its two's-complement bits; the columns of
   one weight are combined in charge with binary weights (+2^j, the MSB column -2^(r_w-1)).  Each
   bit-plane's DP over the tile's rows is one float32 matmul of a 0/1 matrix (exact: every partial sum
   is an integer below 2^24).
3. The bit-planes are accumulated in the charge domain with weights 2^b: the tile's dot product DP,
   exactly the integer sum(x * w) of its rows (float64 from here, exact below 2^53).
4. The rows are split channel-wise into `macro.dp_split_blocks` blocks; only the blocks holding the
   layer's rows are connected to the column line.  The connected rows set the voltage swing the
   converter sees (the `fixed` swing policy's range); the partial DPs of the blocks add up in charge.
5. Conversion, with Gaussian noise of `functional.noise_lsb` ADC LSB (input-referred, seeded numpy
   Generator) added at the converter input, rounding and clipping to r_out bits:
   - `adaptive` swing (IMAGINE): the in-ADC analog batch-norm (ABN) applies a per-output-channel
     gain g and offset b before the conversion, so the ADC range spans that channel's output range:
     code = clip(round(g * DP + b + noise), 0, 2^r_out - 1).  g and b come from the folded batch-norm
     and the calibrated output range of the trained network (or from data, for random weights).
   The noise is fixed in volts: given in LSB of a `functional.noise_ref_bits`-bit conversion, it is
   2^(r_out - noise_ref_bits) times that in LSB of an r_out-bit one.
   - `fixed` swing: the ADC range is the worst-case DP range of the connected rows (times
     `functional.fixed_range_fraction`, 1 by default), the same for every channel; the code is
     rescaled to DP units and the batch-norm (g, b) is applied digitally after the converter, then
     requantized to r_out bits.  Most of the ADC's codes are never used: fewer effective bits.
6. Row tiles (rows > macro rows): each tile is converted on its own (signed partial, centred at
   mid-scale, same gain) and the partial codes are accumulated digitally; the offset and the final
   rounding and clipping are applied to the sum.  Row tiles are the shared plan's (tlm/mapping/plan.py): full
   tiles of macro.rows rows first, the remainder last.

Three models of a network share the layer plumbing: `float` (float weights and activations), `ideal`
(integer weights and r-bit activations computed exactly: round(g * sum(x * w) + b)), and `cim`
(the steps above).  Activations travel as unsigned codes with a zero point (0 after a ReLU, 2^(r-1)
for signed outputs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tlm.errors import InputError, Where, short

SWINGS = ("adaptive", "fixed")
MODES = ("float", "ideal", "cim")
CHUNK_ELEMS = 1 << 22  # bit-plane matrix elements per matmul chunk (16 MB of float32)


# ---- im2col --------------------------------------------------------------------------------------------
def im2col(x: np.ndarray, layer) -> np.ndarray:
    """(N, C, H, W) -> (G, N*Ho*Wo, C/G*kh*kw), rows ordered (c, kh, kw) like the weights' rows."""
    n, c, h, w = x.shape
    kh, kw = layer.kernel
    sh, sw = layer.stride
    dh, dw = layer.dilation
    pt, pl, pb, pr = layer.padding
    ho, wo = layer.out_shape[1:]
    g = layer.groups
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) if any(layer.padding) else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    win = win[:, :, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, ::dh, ::dw]  # N, C, Ho, Wo, kh, kw
    win = win.reshape(n, g, c // g, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    return np.ascontiguousarray(win).reshape(g, n * ho * wo, (c // g) * kh * kw)


def _as_matrix_input(x: np.ndarray, layer) -> np.ndarray:
    """The rows each output pixel reads: im2col for a conv, the flat vector for a dense layer."""
    if layer.type == "dense":
        return x.reshape(1, len(x), -1)
    return im2col(x, layer)


def _from_matrix_output(y: np.ndarray, layer, n: int) -> np.ndarray:
    """(G, M, Cout/G) -> (N, Cout, Ho, Wo) or (N, Cout)."""
    g, m, cg = y.shape
    if layer.type == "dense":
        return y[0]
    ho, wo = layer.out_shape[1:]
    return y.reshape(g, n, ho, wo, cg).transpose(1, 0, 4, 2, 3).reshape(n, g * cg, ho, wo)


# ---- the macro operation ---------------------------------------------------------------------------------
def weight_bit_columns(w_int: np.ndarray, bits_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Signed weights (rows, C) -> their two's-complement bit columns (rows, C*r_w) as 0/1 float32,
    column j of output c at index c*r_w + j, and the binary weight of each bit column (r_w,)."""
    u = np.mod(w_int.astype(np.int64), 1 << bits_w)
    cols = (u[:, :, None] >> np.arange(bits_w)) & 1
    colw = 2.0 ** np.arange(bits_w)
    colw[-1] = -colw[-1]  # two's complement: the MSB column counts negative
    return cols.reshape(len(w_int), -1).astype(np.float32), colw.astype(np.float32)


def input_bit_planes(x_codes: np.ndarray, bits_in: int) -> np.ndarray:
    """Unsigned codes (M, rows) -> bit-planes (r_in, M, rows) as 0/1 float32, LSB first."""
    dt = np.uint8 if bits_in <= 8 else np.uint32
    xu = x_codes.astype(dt)
    return ((xu[None] >> np.arange(bits_in, dtype=dt)[:, None, None]) & 1).astype(np.float32)


@dataclass
class DpStats:
    """Activity measured while computing DPs: input bits that are 1, and (input AND weight) bits."""

    input_ones: float = 0.0
    input_bits: float = 0.0
    cell_ones: float = 0.0
    cell_bits: float = 0.0
    bits_w: int = 1  # bit columns per output channel
    plane_ones: np.ndarray | None = None  # (r_in,) input bits that are 1, per bit-plane (LSB first)
    plane_bits: float = 0.0  # input bits per bit-plane
    pixel_ones: list = field(default_factory=list)  # scratch: per macro operation, ones per pixel
    image_ones: list = field(default_factory=list)  # per run batch: (N,) input bits that are 1 per image
    image_bits: float = 0.0  # input bits per image (all row tiles and groups, every bit-plane)

    @property
    def plane_density(self) -> np.ndarray:
        """Fraction of input bits that are 1, per bit-plane (LSB first)."""
        return (self.plane_ones if self.plane_ones is not None else np.zeros(0)) / max(self.plane_bits, 1)

    @property
    def image_density(self) -> np.ndarray:
        """Input bit density per image, in run order."""
        return np.concatenate(self.image_ones) / max(self.image_bits, 1) if self.image_ones else np.zeros(0)


def combine_columns(wcols: np.ndarray, colw: np.ndarray) -> np.ndarray:
    """The binary-weighted sum of each weight's adjacent bit columns: (rows, C*r_w) -> (rows, C)."""
    rows, bits_w = len(wcols), len(colw)
    return wcols.reshape(rows, -1, bits_w) @ colw  # signed integers, exact in float32


def macro_dp(x_codes: np.ndarray, w_comb: np.ndarray, bits_in: int, stats: DpStats | None = None,
             weight_ones: np.ndarray | None = None) -> np.ndarray:
    """One macro operation: the exact DP (M, C) of unsigned r_in-bit inputs (M, rows) with the weights
    `w_comb` = combine_columns(bit columns, column weights) (rows, C).  float64 result.

    The binary weighting of a weight's adjacent columns is linear and happens in charge before the
    conversion (where the noise enters), so it is applied to the bit columns first: the matmul of each
    input bit-plane with the combined columns gives the same integers as per-column popcounts weighted
    afterwards (every partial sum is below rows * 2^(r_w-1) < 2^24, exact in float32), for r_w times
    less work.  The bit-planes are then accumulated with weights 2^b (charge-domain accumulation).
    `weight_ones` (rows,): weight bits that are 1 per row, for the DP activity in `stats`."""
    m, rows = x_codes.shape
    c = w_comb.shape[1]
    out = np.empty((m, c), dtype=np.float64)
    pw = 2.0 ** np.arange(bits_in)
    step = max(1, CHUNK_ELEMS // max(1, bits_in * max(rows, c)))
    dt = np.uint8 if bits_in <= 8 else np.uint32
    shifts = np.arange(bits_in, dtype=dt)[:, None, None]
    for s in range(0, m, step):
        xu = x_codes[s:s + step].astype(dt)
        planes = ((xu[None] >> shifts) & 1).astype(np.float32)  # (r_in, m', rows): one DP cycle each
        mm = planes.shape[1]
        per_plane = planes.reshape(bits_in * mm, rows) @ w_comb  # (r_in*m', C) per-bit-plane DPs
        out[s:s + mm] = np.tensordot(pw, per_plane.reshape(bits_in, mm, c), axes=(0, 0))  # charge accumulation
        if stats is not None:
            _count_ones(stats, xu, bits_in, c, weight_ones)
    return out


_POP8 = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint8)  # ones of each 8-bit code
_BITS8 = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float64)  # code -> its bits, LSB first


def _count_ones(stats, xu, bits_in, c, weight_ones):
    """The activity of one macro operation from its input codes (m', rows): bits that are 1 per bit-plane,
    per pixel and per row (popcounts of the codes, the same counts as summing the bit-planes)."""
    mm, rows = xu.shape
    if bits_in <= 8:
        pc = _POP8[xu]
        po = np.bincount(xu.ravel(), minlength=256) @ _BITS8[:, :bits_in]
    else:
        planes = (xu[None] >> np.arange(bits_in, dtype=xu.dtype)[:, None, None]) & 1
        pc = planes.sum(axis=0, dtype=np.int64)
        po = planes.sum(axis=(1, 2), dtype=np.float64)
    stats.plane_ones = po if stats.plane_ones is None else stats.plane_ones + po
    stats.plane_bits += mm * rows
    stats.pixel_ones.append(pc.sum(axis=1, dtype=np.int64).astype(np.float64))
    ones_per_row = pc.sum(axis=0, dtype=np.int64).astype(np.float64)
    n_bits = float(bits_in) * mm * rows
    stats.input_ones += float(ones_per_row.sum())
    stats.input_bits += n_bits
    stats.cell_ones += float(ones_per_row @ weight_ones)  # input bit 1 AND weight bit 1
    stats.cell_bits += n_bits * c * stats.bits_w


def row_tiles(rows: int, macro_rows: int) -> list[slice]:
    """A group's rows in row tiles as the shared plan tiles them (tlm/mapping/plan.py, Plan._build_tiles): full
    tiles of `macro_rows` rows first, the remainder last (tests/test_functional_tlm.py checks they agree)."""
    return [slice(a, min(a + macro_rows, rows)) for a in range(0, rows, macro_rows)]


def connected_rows(rows_in_tile: int, arch) -> int:
    """Rows whose DP blocks are connected to the column line: whole blocks of the channel-wise split."""
    blk = arch.macro.rows // arch.macro.dp_split_blocks
    return -(-rows_in_tile // blk) * blk


# ---- conversion -----------------------------------------------------------------------------------------
@dataclass
class LayerStats:
    """Per-layer error statistics of the CIM model against the exact (unrounded) integer output."""

    n: int = 0
    ref_sum: float = 0.0
    ref_sq: float = 0.0
    err_sq: float = 0.0
    ideal_err_sq: float = 0.0
    conversions: int = 0
    clipped: int = 0
    dp: DpStats = field(default_factory=DpStats)

    def add(self, ref, y, y_ideal):
        self.n += ref.size
        self.ref_sum += float(ref.sum())
        self.ref_sq += float(np.square(ref).sum())
        self.err_sq += float(np.square(y - ref).sum())
        self.ideal_err_sq += float(np.square(y_ideal - ref).sum())

    @staticmethod
    def _db(sig, err):
        return math.inf if err == 0 else 10 * math.log10(sig / err) if sig > 0 else -math.inf

    @property
    def signal_var(self):
        m = self.ref_sum / max(self.n, 1)
        return max(self.ref_sq / max(self.n, 1) - m * m, 0.0)

    @property
    def sqnr_db(self) -> float:
        return self._db(self.signal_var, self.err_sq / max(self.n, 1))

    @property
    def ideal_sqnr_db(self) -> float:
        return self._db(self.signal_var, self.ideal_err_sq / max(self.n, 1))

    @staticmethod
    def enob(db):
        return (db - 1.76) / 6.02

    @property
    def clip_rate(self) -> float:
        return self.clipped / max(self.conversions, 1)

    @property
    def input_density(self) -> float:
        return self.dp.input_ones / max(self.dp.input_bits, 1)

    @property
    def dp_activity(self) -> float:
        return self.dp.cell_ones / max(self.dp.cell_bits, 1)


BOLTZMANN_J_PER_K = 1.380649e-23


def dp_line_noise_v(arch, n_conn: int) -> float:
    """rms noise of the DP line at the column, volts (`functional.dp_noise`): the kT/C sampling noise of
    the line's capacitance (the connected cells and the column wire), a measured-equivalent value, or 0."""
    f = arch.functional
    if f.dp_noise == "off":
        return 0.0
    if f.dp_noise == "measured":
        return f.dp_noise_mv * 1e-3
    c_f = (n_conn * arch.macro.c_cell_ff + arch.macro.c_column_ff) * 1e-15
    return math.sqrt(BOLTZMANN_J_PER_K * f.temperature_k / c_f) if c_f > 0 else 0.0


def dp_noise_units(arch, n_conn: int, fs_per_row: float) -> float:
    """The DP-line noise in DP units (what one cell with input bit 1 and weight bit 1 adds): the line swings
    `dp_swing_fraction x vdd_array_v` at the worst-case DP of the connected rows, n_conn x fs_per_row."""
    v_fs = arch.functional.dp_swing_fraction * arch.technology.vdd_array_v
    return dp_line_noise_v(arch, n_conn) * n_conn * fs_per_row / v_fs


def _noise(shape, sigma, rng):
    """Gaussian noise of rms `sigma` (a scalar, or per channel broadcasting over `shape`): one standard
    normal draw per conversion, so the stream of draws does not depend on the sigmas.  The draws are
    float32 (7 significant digits of a noise of about an LSB: far below any rounding step)."""
    if np.all(np.asarray(sigma) <= 0):
        return 0.0
    return rng.standard_normal(shape, dtype=np.float32) * sigma


def _convert(u, top, st, low_is_clip):
    """Round and clip analog values `u` (in ADC LSB) to codes 0..top; count clipped conversions."""
    if st is not None:
        st.conversions += u.size
        st.clipped += int(np.count_nonzero(u > top + 0.5))
        if low_is_clip:
            st.clipped += int(np.count_nonzero(u < -0.5))
    return np.clip(np.rint(u), 0, top)


# ---- the ADC pipeline: noise, ABN gain/offset, rounding and clipping (shared with tlm/engines/transaction/adc.py) -----------
def _fs_per_row(L) -> float:
    return float(((1 << L.bits_in) - 1) * (1 << (L.bits_w - 1)))  # max |DP| per connected row


def conversion_sigma(arch, L, swing, gain, n_conn, noise_lsb):
    """rms noise of one conversion in ADC LSB: the DP-line noise (volts at the column, before the ABN gain)
    in this conversion's LSB, and the comparator noise `noise_lsb` (noise_ref_bits LSB, fixed in volts)."""
    cmp = noise_lsb * 2.0 ** (L.bits_out - arch.functional.noise_ref_bits)
    dpn = dp_noise_units(arch, n_conn, _fs_per_row(L))
    if swing == "adaptive":
        return np.sqrt(np.square(gain * dpn) + cmp ** 2) if dpn > 0 else cmp
    return math.sqrt((dpn / fixed_lsb(arch, L, n_conn)) ** 2 + cmp ** 2)


def fixed_lsb(arch, L, n_conn) -> float:
    """The fixed swing's LSB in DP units: 2^r codes over [-FS, FS) of the connected rows' worst case."""
    top = (1 << L.bits_out) - 1
    return 2.0 * n_conn * _fs_per_row(L) * arch.functional.fixed_range_fraction / (top + 1)


def adc_final(dp, gain, offset, n_conn, L, relu, arch, noise_lsb, rng, stats=None):
    """Adaptive swing, the layer's only row tile: the ABN gain and offset in the ADC, ReLU = clipping at
    code 0: code = clip(round(g * DP + b + noise))."""
    sig = conversion_sigma(arch, L, "adaptive", gain, n_conn, noise_lsb)
    return _convert(gain * dp + offset + _noise(dp.shape, sig, rng), (1 << L.bits_out) - 1, stats, not relu)


def adc_partial(dp, gain, n_conn, L, arch, swing, noise_lsb, rng, stats=None):
    """One row tile's partial DP converted (signed, mid-scale) for digital accumulation: in output LSB
    (adaptive: same gain, no offset) or in DP units (fixed: the ADC spans the worst case, BN after it)."""
    top = (1 << L.bits_out) - 1
    mid = float(1 << (L.bits_out - 1))
    sig = conversion_sigma(arch, L, swing, gain, n_conn, noise_lsb)
    if swing == "adaptive":
        return _convert(gain * dp + mid + _noise(dp.shape, sig, rng), top, stats, True) - mid
    lsb = fixed_lsb(arch, L, n_conn)
    return (_convert(dp / lsb + mid + _noise(dp.shape, sig, rng), top, stats, True) - mid) * lsb


def adc_finish(acc, gain, offset, L, swing):
    """The accumulated partials to output codes: offset (adaptive) or the digital BN (fixed), rounding,
    clipping to r_out bits."""
    top = (1 << L.bits_out) - 1
    if swing == "adaptive":
        return np.clip(np.rint(acc + offset), 0, top)
    return np.clip(np.rint(acc * gain + offset), 0, top)


# ---- one compute layer -------------------------------------------------------------------------------------
@dataclass
class QLayer:
    """A conv/dense layer prepared for the macro: integer weights and the ABN gain and offset."""

    layer: object  # tlm.config.workload.Layer
    w_int: np.ndarray  # (Cout, Cin/G, kh, kw) or (Cout, Fin), signed r_w-bit integers
    gain: np.ndarray  # (Cout,) ABN gain: output LSB per DP unit
    offset: np.ndarray  # (Cout,) ABN offset in output LSB (incl. output zero point, input zp correction)
    relu: bool
    zp_out: int  # zero point of the output codes
    w_float: np.ndarray | None = None  # for the float model
    b_float: np.ndarray | None = None
    _cols: dict = field(default_factory=dict, repr=False)  # macro rows -> per group, per row tile

    @property
    def top(self) -> int:
        return (1 << self.layer.bits_out) - 1

    def weight_matrix(self) -> np.ndarray:
        """(G, rows per group, Cout/G) integer weights."""
        g = self.layer.groups
        co = self.w_int.shape[0]
        return self.w_int.reshape(g, co // g, -1).transpose(0, 2, 1)

    def columns(self, arch):
        """Per group, per row tile: (row slice, combined weight columns, weight bits set per row), cached."""
        R = arch.macro.rows
        if R not in self._cols:
            groups = []
            for wg in self.weight_matrix():
                tiles = []
                for sl in row_tiles(wg.shape[0], R):
                    wcols, colw = weight_bit_columns(wg[sl], self.layer.bits_w)
                    tiles.append((sl, combine_columns(wcols, colw), wcols.sum(1, dtype=np.float64)))
                groups.append(tiles)
            self._cols[R] = groups
        return self._cols[R]

    def dp_tiles(self, x_codes, arch, stats=None):
        """Exact partial DPs per row tile: list over tiles of (G, M, Cout/G), and connected rows."""
        xm = _as_matrix_input(x_codes, self.layer)
        cols = self.columns(arch)
        st = stats.dp if stats is not None else None
        if st is not None:
            st.bits_w = self.layer.bits_w
        out = []
        for t in range(len(cols[0])):
            out.append(np.stack([macro_dp(xm[gi][:, cols[gi][t][0]], cols[gi][t][1], self.layer.bits_in, st,
                                          cols[gi][t][2]) for gi in range(len(cols))]))
        if st is not None:  # per image: the pixels of each image are contiguous in every macro operation
            n = len(x_codes)
            per_px = np.concatenate(st.pixel_ones).reshape(len(cols[0]) * len(cols), -1).sum(0)
            st.image_ones.append(per_px.reshape(n, -1).sum(1))
            st.image_bits = xm.shape[1] // n * xm.shape[2] * len(cols) * self.layer.bits_in
            st.pixel_ones.clear()
        conn = [connected_rows(sl.stop - sl.start, arch) for sl, _, _ in cols[0]]
        return out, conn

    def _chan(self, v, g):
        """A per-output-channel vector shaped (G, 1, Cout/G) to broadcast over (G, M, Cout/G)."""
        return v.reshape(g, 1, -1)

    def ideal(self, x_codes):
        """The ideal integer layer: round(g * sum(x * w) + b), clipped to r_out bits (codes)."""
        acc = self.accumulate(x_codes)
        n = len(x_codes)
        return _from_matrix_output(np.clip(np.rint(self._affine(acc)), 0, self.top), self.layer, n)

    def accumulate(self, x_codes):
        """Exact integer DP (G, M, Cout/G) by plain float64 matmul (no bit-planes)."""
        xm = _as_matrix_input(x_codes, self.layer).astype(np.float64)
        return np.matmul(xm, self.weight_matrix().astype(np.float64))

    def _affine(self, acc):
        g = self.layer.groups
        return acc * self._chan(self.gain, g) + self._chan(self.offset, g)

    def cim(self, x_codes, arch, swing, noise_lsb, rng, stats=None):
        """The CIM layer's output codes."""
        g, L = self.layer.groups, self.layer
        if swing not in SWINGS:
            raise InputError(f"unknown swing '{swing}', expected one of {', '.join(SWINGS)}", field="--swing")
        tiles, conn = self.dp_tiles(x_codes, arch, stats)
        gain, offset = self._chan(self.gain, g), self._chan(self.offset, g)
        if swing == "adaptive" and len(tiles) == 1:
            y = adc_final(tiles[0], gain, offset, conn[0], L, self.relu, arch, noise_lsb, rng, stats)
        else:
            acc = 0.0
            for dp, n_conn in zip(tiles, conn):
                acc = acc + adc_partial(dp, gain, n_conn, L, arch, swing, noise_lsb, rng, stats)
            y = adc_finish(acc, gain, offset, L, swing)
        if stats is not None:
            top = self.top
            acc = sum(tiles)
            ref = self._affine(acc)
            ref = np.clip(ref, 0, top)  # the ideal layer's output before its rounding
            stats.add(ref, y, np.clip(np.rint(self._affine(acc)), 0, top))
        return _from_matrix_output(y, L, len(x_codes))

    def float_forward(self, x):
        L = self.layer
        if L.type == "dense":
            z = x @ self.w_float.reshape(L.c_out, -1).T + self.b_float
            return np.maximum(z, 0) if self.relu else z
        xm = im2col(x, L)
        z = np.matmul(xm, self.w_float.reshape(L.groups, L.c_out // L.groups, -1).transpose(0, 2, 1))
        z = _from_matrix_output(z, L, len(x)) + self.b_float[:, None, None]
        return np.maximum(z, 0) if self.relu else z


# ---- digital layers on codes ------------------------------------------------------------------------------------
def _pool(x, layer, op):
    kh, kw = layer.kernel
    sh, sw = layer.stride
    pt, pl, pb, pr = layer.padding
    if any(layer.padding):
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)),
                   constant_values=(-np.inf if op == "max" else 0))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = layer.out_shape[1:]
    win = win[:, :, :ho, :wo]
    return win.max(axis=(4, 5)) if op == "max" else win.mean(axis=(4, 5))


def digital(layer, xs, zps, top, is_float):
    """A digital post-processing layer on codes (or floats); returns (output, zero point)."""
    t = layer.type
    x = xs[0]
    zp = zps[0]
    if t == "maxpool":
        return _pool(x, layer, "max"), zp
    if t == "avgpool":
        y = _pool(x, layer, "avg")
        return (y if is_float else np.rint(y)), zp
    if t == "global_avgpool":
        y = x.mean(axis=(2, 3), keepdims=True)
        return (y if is_float else np.rint(y)), zp
    if t == "global_maxpool":
        return x.max(axis=(2, 3), keepdims=True), zp
    if t == "flatten":
        return x.reshape(len(x), -1), zp
    if t == "concat":
        return np.concatenate(xs, axis=1), zp
    if t == "add":  # saturating add of the real parts; ReLU clips at zero
        s = sum(v - z for v, z in zip(xs, zps))
        if is_float:
            return (np.maximum(s, 0) if layer.relu else s), 0
        zo = 0 if layer.relu else (top + 1) // 2
        return np.clip(s + zo, 0, top), zo
    raise InputError(f"layer type '{t}' has no functional model", layer.where, layer.name)


# ---- networks ---------------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    outputs: np.ndarray  # (N, ...) final layer output (codes, or floats for the float model)
    stats: dict  # layer name -> LayerStats (cim model only)


class FunctionalNet:
    """A workload with weights, runnable as the float, ideal-integer or CIM model."""

    def __init__(self, arch, wl, params: dict):
        self.arch, self.wl = arch, wl
        self.q: dict[str, QLayer] = {}
        rng_of = {"input": float(params.get("input.range", 1.0))}
        zp_of = {"input": 0}
        for L in wl.layers:
            src = L.inputs[0]
            if not L.is_compute:
                rng_of[L.name] = max(rng_of[s] for s in L.inputs)
                zp_of[L.name] = 0 if (L.type != "add" or L.relu) else (1 << (L.bits_out - 1))
                if L.type != "add":
                    zp_of[L.name] = zp_of[src]
                continue
            w = np.asarray(params[L.name + ".w"], dtype=np.float64)
            wstep = np.asarray(params.get(L.name + ".w_scale", np.ones(L.c_out)), dtype=np.float64)
            w_float = w * wstep.reshape((-1,) + (1,) * (w.ndim - 1))
            b = np.asarray(params[L.name + ".b"], dtype=np.float64)
            r_out = float(params[L.name + ".range"])
            w_int, step = quantize_weights(w_float, L.bits_w)
            zp_in = zp_of[src]
            s_in = rng_of[src] / ((1 << L.bits_in) - 1) * (2 if zp_in else 1)
            signed = not L.relu
            s_out = (2 * r_out if signed else r_out) / ((1 << L.bits_out) - 1)
            zp_out = (1 << (L.bits_out - 1)) if signed else 0
            gain = s_in * step / s_out
            wsum = w_int.reshape(L.c_out, -1).sum(1)
            offset = b / s_out + zp_out - gain * zp_in * wsum
            self.q[L.name] = QLayer(L, w_int, gain, offset, L.relu, zp_out, w_float=w_float, b_float=b)
            rng_of[L.name], zp_of[L.name] = r_out, zp_out
        self.input_range = rng_of["input"]
        self.zp_of = zp_of

    def run(self, images: np.ndarray, mode: str, swing: str = "adaptive", noise_lsb: float = 0.0,
            seed: int = 0, batch: int = 250) -> RunResult:
        """Images (N, C, H, W) as unsigned input codes through the float, ideal or cim model."""
        from threadpoolctl import threadpool_limits
        rng = np.random.default_rng(seed)
        stats = {n: LayerStats() for n in self.q} if mode == "cim" else {}
        outs = []
        with threadpool_limits(limits=1, user_api="blas"):
            for s in range(0, len(images), batch):
                outs.append(self._run_batch(images[s:s + batch], mode, swing, noise_lsb, rng, stats))
        return RunResult(np.concatenate(outs), stats)

    def _run_batch(self, x, mode, swing, noise, rng, stats):
        is_float = mode == "float"
        top_in = (1 << self.wl.input_bits) - 1
        vals = {"input": x.astype(np.float64) * (self.input_range / top_in) if is_float
                else x.astype(np.float32)}
        zps = {"input": 0}
        for L in self.wl.layers:
            xs = [vals[s] for s in L.inputs]
            if L.is_compute:
                q = self.q[L.name]
                if mode == "float":
                    y = q.float_forward(xs[0])
                elif mode == "ideal":
                    y = q.ideal(xs[0])
                else:
                    y = q.cim(xs[0], self.arch, swing, noise, rng, stats.get(L.name))
                zps[L.name] = 0 if is_float else q.zp_out
            else:
                y, zps[L.name] = digital(L, xs, [zps[s] for s in L.inputs], (1 << L.bits_out) - 1, is_float)
            vals[L.name] = y if is_float else y.astype(np.float32)
        return vals[self.wl.layers[-1].name]


def quantize_weights(w: np.ndarray, bits: int):
    """Per-output-channel symmetric r_w-bit weights: (integers, step per channel)."""
    flat = w.reshape(len(w), -1)
    qmax = (1 << (bits - 1)) - 1 if bits > 1 else 1
    step = np.maximum(np.abs(flat).max(1), 1e-12) / qmax
    lo = -(1 << (bits - 1)) if bits > 1 else -1
    wi = np.clip(np.rint(flat / step[:, None]), lo, qmax if bits > 1 else 0)
    return wi.reshape(w.shape).astype(np.int64), step


# ---- weights: from the workload's file, or random and calibrated on data ---------------------------------------
def weights_path(wl) -> Path | None:
    """The file the workload's top-level `weights:` names (relative to the workload's folder), or None;
    InputError naming the field when it is not a file name."""
    w = wl.extra.get("weights")
    if w is None:
        return None
    if not isinstance(w, str) or not w or "\x00" in w:
        raise InputError(f"expected the name of a .npz weights file, found {short(w)}", Where(wl.file), "weights")
    p = Path(w)
    return p if p.is_absolute() else Path(wl.file).resolve().parent / p


def check_weights_file(wl) -> None:
    """The workload's top-level `weights:` names an existing regular .npz file (numpy.savez), or is absent
    (then random weights are calibrated): one line naming the field otherwise, before numpy sees it."""
    import os
    import stat

    w = wl.extra.get("weights")
    if w is None:
        return
    where = Where(wl.file)
    p = weights_path(wl)
    try:
        st = os.stat(p)
    except OSError as e:
        raise InputError(f"weights file {short(w)}: {e.strerror}", where, "weights") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"weights file {short(w)} is not a regular file", where, "weights")
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise InputError(f"cannot read weights file {short(w)}: {e.strerror}", where, "weights") from None
    if magic.startswith(b"\x93NUMPY"):
        raise InputError(f"weights file {short(w)} is a single .npy array; expected a .npz archive "
                         "(numpy.savez) with one array per layer parameter", where, "weights")
    if not magic.startswith(b"PK"):
        raise InputError(f"weights file {short(w)} is not a .npz archive (numpy.savez)", where, "weights")


def load_params(wl) -> dict:
    """The workload's weights file (top-level `weights:`), read by tlm/config/npz.py and checked against the
    layers: shapes, finite values, |weights| and ranges bounded (npz.check_values)."""
    from tlm.config.npz import check_values, read_npz
    p = weights_path(wl)
    if p is None:
        raise InputError("the workload names no weights file (top-level 'weights:')", Where(wl.file), "weights")
    check_weights_file(wl)
    params = read_npz(p, "weights file")
    check_params(params, wl, Where(str(p)))
    if "input.range" in params:
        params["input.range"] = check_values(params["input.range"], Where(str(p)), "input.range", "range")
        if params["input.range"].shape not in ((), (1,)):
            raise InputError(f"expected one number, found shape {list(params['input.range'].shape)}",
                             Where(str(p)), "input.range")
    return params


def check_params(params: dict, wl, where: Where) -> None:
    """Every compute layer's `.w`, `.b`, `.range` (and optional `.w_scale`) present, of its shape, finite
    and bounded (tlm/config/npz.py check_values): the same for a weights file and for an ONNX model's
    initializers after folding.  Arrays are replaced by their float64 values."""
    from tlm.config.npz import check_values
    for L in wl.layers:
        if not L.is_compute:
            continue
        for key in (".w", ".b", ".range"):
            if L.name + key not in params:
                raise InputError(f"weights file {Path(where.file).name} has no '{L.name}{key}'", where, L.name)
        want = (L.c_out, L.c_in // L.groups, *L.kernel) if L.type == "conv2d" else (L.c_out, L.in_shape[0])
        for key, shape in ((".w", want), (".b", (L.c_out,)), (".range", ()), (".w_scale", (L.c_out,))):
            a = params.get(L.name + key)
            if a is None and key == ".w_scale":
                continue
            a = np.asarray(a)
            if tuple(a.shape) != shape:
                raise InputError(f"weights '{L.name}{key}' have shape {list(a.shape)}, the layer needs "
                                 f"{list(shape)}", where, L.name + key)
            kind = "range" if key in (".range", ".w_scale") else "weight"
            params[L.name + key] = check_values(a, where, L.name + key, kind)


def random_params(arch, wl, images: np.ndarray, seed: int = 0, percentile: float = 99.9) -> dict:
    """He-initialised random weights; each layer's output range calibrated on `images` through the float
    model (the `percentile` of its activations), as an adaptive-swing calibration from data would."""
    rng = np.random.default_rng(seed)
    params = {"input.range": 1.0}
    for L in wl.layers:
        if L.is_compute:
            shape = (L.c_out, L.c_in // L.groups, *L.kernel) if L.type == "conv2d" else (L.c_out, L.in_shape[0])
            fan_in = math.prod(shape[1:])
            params[L.name + ".w"] = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            params[L.name + ".b"] = np.zeros(L.c_out)
            params[L.name + ".range"] = 1.0
    net = FunctionalNet(arch, wl, params)
    x = images.astype(np.float64) / ((1 << wl.input_bits) - 1)
    vals = {"input": x}
    for L in wl.layers:
        xs = [vals[s] for s in L.inputs]
        if L.is_compute:
            y = net.q[L.name].float_forward(xs[0])
            r = np.percentile(np.abs(y), percentile)
            params[L.name + ".range"] = float(r) if r > 0 else 1.0
        else:
            y, _ = digital(L, xs, [0] * len(xs), 0, True)
        vals[L.name] = y
    return params


def build(arch, wl, images=None, seed: int = 0) -> FunctionalNet:
    """The network with its shipped weights, or random weights calibrated on `images` when it has none."""
    if wl.extra.get("weights") is not None:
        return FunctionalNet(arch, wl, load_params(wl))
    if images is None:
        raise InputError("the workload names no weights file (top-level 'weights:')", Where(wl.file), "weights")
    return FunctionalNet(arch, wl, random_params(arch, wl, images, seed))
