"""The charge-domain CIM macro, bit-accurately: one macro operation's dot product and its conversion.

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

The network around it (layers, zero points, the three models) is tlm/functional/model.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tlm.hw.macro import block_rows
from tlm.mapping.geometry import row_spans

SWINGS = ("adaptive", "fixed")
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
    """A group's rows in row tiles as the plan tiles them (tlm/mapping/geometry.row_spans, the one rule)."""
    return [slice(a, a + n) for a, n in row_spans(rows, macro_rows)]


def connected_rows(rows_in_tile: int, arch) -> int:
    """Rows whose DP blocks are connected to the column line: whole blocks of the channel-wise split."""
    return block_rows(arch, rows_in_tile)


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
