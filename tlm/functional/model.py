"""Functional bit-accurate model of whole networks on the charge-domain CIM macro.

The macro operation (bit-planes, DP-split blocks, conversion with noise, row tiles) is
tlm/functional/macro.py; this module holds the layers around it and the networks.

Three models of a network share the layer plumbing: `float` (float weights and activations), `ideal`
(integer weights and r-bit activations computed exactly: round(g * sum(x * w) + b)), and `cim`
(the macro operation of tlm/functional/macro.py).  Activations travel as unsigned codes with a zero
point (0 after a ReLU, 2^(r-1) for signed outputs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tlm.errors import InputError, Where, short
from tlm.functional.datasets import check_input_codes
from tlm.functional.joins import JOIN_TYPES, join_scale, requantize
from tlm.functional.macro import (  # noqa: F401  (dp_line_noise_v, dp_noise_units: re-exported)
    SWINGS, LayerStats, _as_matrix_input, _from_matrix_output, adc_final, adc_finish, adc_partial, combine_columns,
    connected_rows, dp_line_noise_v, dp_noise_units, im2col, macro_dp, row_tiles, weight_bit_columns)

MODES = ("float", "ideal", "cim")


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


def digital(layer, xs, zps, top, is_float, join=None):
    """A digital post-processing layer on codes (or floats); returns (output, zero point).  A join of
    several tensors (add, concat) on codes needs `join` = (multiplier per input, output zero point),
    FunctionalNet.joins: each input is requantized to the output's scale (`requantize`)."""
    t = layer.type
    x = xs[0]
    zp = zps[0]
    if t in JOIN_TYPES and not is_float:
        if join is None:
            raise ValueError(f"{layer.name}: a {t} on codes needs its requantization (FunctionalNet.joins)")
        return requantize(t, xs, zps, join, top)
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
    if t == "add":  # the real sum; ReLU clips at zero
        s = sum(xs)
        return (np.maximum(s, 0) if layer.relu else s), 0
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
        self.joins: dict[str, tuple] = {}  # join layer -> (multiplier per input, output zero point)
        rng_of = {"input": float(params.get("input.range", 1.0))}
        zp_of = {"input": 0}
        bits_of = {"input": wl.input_bits}
        for L in wl.layers:
            src = L.inputs[0]
            bits_of[L.name] = L.bits_out
            if not L.is_compute:
                if L.type in JOIN_TYPES:
                    self.joins[L.name] = join_scale(L, params, rng_of, zp_of, bits_of)
                else:
                    rng_of[L.name], zp_of[L.name] = rng_of[src], zp_of[src]
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
        from tlm.functional.threads import blas_threads
        check_input_codes(images, self.wl.input_bits)
        rng = np.random.default_rng(seed)
        stats = {n: LayerStats() for n in self.q} if mode == "cim" else {}
        outs = []
        with blas_threads():  # one thread is faster for these matmuls (tlm/functional/threads.py)
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
                y, zps[L.name] = digital(L, xs, [zps[s] for s in L.inputs], (1 << L.bits_out) - 1, is_float,
                                         self.joins.get(L.name))
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
    """Every compute layer's `.w`, `.b`, `.range` (and optional `.w_scale`; a join layer's optional `.range`)
    present, of its shape, finite and bounded (tlm/config/npz.py check_values): the same for a weights file and for an ONNX model's
    initializers after folding.  Arrays are replaced by their float64 values."""
    from tlm.config.npz import check_values
    for L in wl.layers:
        if L.type in JOIN_TYPES and L.name + ".range" in params:  # optional: else its inputs' worst case
            a = np.asarray(params[L.name + ".range"])
            if a.shape != ():
                raise InputError(f"expected one number, found shape {list(a.shape)}", where, L.name + ".range")
            params[L.name + ".range"] = check_values(a, where, L.name + ".range", "range")
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
    """He-initialised random weights; each compute and join layer's output range calibrated on `images`
    through the float model (the `percentile` of its activations), as an adaptive-swing calibration from
    data would."""
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
            if L.type in JOIN_TYPES:  # a join's range too, as tlm/onnxio/weights.calibrate_ranges
                r = np.percentile(np.abs(y), percentile)
                params[L.name + ".range"] = float(r) if r > 0 else 1.0
        vals[L.name] = y
    return params


def build(arch, wl, images=None, seed: int = 0) -> FunctionalNet:
    """The network with its shipped weights, or random weights calibrated on `images` when it has none."""
    if wl.extra.get("weights") is not None:
        return FunctionalNet(arch, wl, load_params(wl))
    if images is None:
        raise InputError("the workload names no weights file (top-level 'weights:')", Where(wl.file), "weights")
    return FunctionalNet(arch, wl, random_params(arch, wl, images, seed))
