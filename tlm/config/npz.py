"""The one reader of `.npz` files (datasets and weights): numeric arrays only, sizes checked before reading.

An .npz is a zip archive of `.npy` members.  `numpy.load` trusts what it reads: a member that is not an
.npy, a header declaring 10^9 images in a 600-byte file, an object array or a plain .npy named .npz each
end in an AttributeError, a TypeError or a MemoryError.  `read_npz` refuses all of them in one line naming
the file and the member:

- the file is a regular file of at most MAX_NPZ_BYTES, a zip archive (a single .npy is named as such);
- at most MAX_MEMBERS members, each `NAME.npy`, its header read first (numpy.lib.format.read_magic and
  read_array_header_1_0/2_0): a numeric dtype (bool, integer or float; never object, string, complex or
  a structured type), a shape of non-negative dimensions whose element count is at most `max_elements`
  (and at most MAX_TOTAL_ELEMENTS over the whole file) -- all before one data byte is read;
- the data is read by numpy.lib.format.read_array (allow_pickle=False) and must be as long as the header
  says; float members must hold finite values.

`check_values` bounds the values of a parameter array (weights, ranges) read from an .npz or folded from
an ONNX model's initializers: finite, |x| <= MAX_ABS_VALUE, a range in [MIN_RANGE, MAX_RANGE].
"""
from __future__ import annotations

import math
import os
import stat

import numpy as np

from tlm.errors import InputError, Where

MAX_NPZ_BYTES = 1 << 32  # 4 GiB: the largest weights file of a network the engines take (2^31 int8 weights)
MAX_UNPACKED_BYTES = 1 << 34  # 16 GiB: the members as declared by the archive, once inflated
MAX_MEMBERS = 100_000  # arrays in one file: 4 per compute layer of a 10,000-layer workload, with margin
MAX_TOTAL_ELEMENTS = 1 << 31  # elements over a whole file (declared in the headers): 16 GiB as float64
MAX_ABS_VALUE = 1e30  # |weight|, |bias|: float32's range is 3.4e38; larger values are a damaged file
MIN_RANGE, MAX_RANGE = 1e-30, 1e30  # an activation range (float value of the full code scale): > 0, normal
NUMERIC_KINDS = "buif"  # bool, unsigned, signed, float (never object, string, complex, structured)


def _stat_regular(path, where: Where, what: str) -> int:
    try:
        st = os.stat(path)
    except (OSError, ValueError) as e:
        raise InputError(f"{what} not found" if isinstance(e, FileNotFoundError) else
                         f"cannot read {what}: {getattr(e, 'strerror', None) or e}", where) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} is not a regular file", where)
    if st.st_size > MAX_NPZ_BYTES:
        raise InputError(f"{what} is {st.st_size:,} bytes, over the limit of {MAX_NPZ_BYTES:,}", where)
    return st.st_size


def _header(f, where: Where, member: str):
    """(shape, dtype) of one .npy member, from its header only."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=10_000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=10_000)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as e:
        raise InputError(f"not an .npy array ({' '.join(str(e).split())[:120] or type(e).__name__})", where,
                         member) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in NUMERIC_KINDS:
        raise InputError(f"dtype {dtype.str} is not numeric (expected bool, integer or float)", where, member)
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape) or len(shape) > 32:
        raise InputError(f"malformed shape {shape!r} in the .npy header", where, member)
    return shape, dtype


def read_npz(path, what: str = "file", max_elements: int = MAX_TOTAL_ELEMENTS, members=None) -> dict:
    """{member name without .npy: array} of an .npz file, every member checked (see the module docstring).
    `members`: read only these names (the others' headers are still checked); `max_elements`: bound of
    one member's declared element count."""
    import zipfile
    where = Where(str(path))
    _stat_regular(path, where, what)
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", where) from None
    if magic.startswith(b"\x93NUMPY"):
        raise InputError(f"{what} is a single .npy array; expected an .npz archive (numpy.savez) of named "
                         "arrays", where)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise InputError(f"{what} is not an .npz archive (numpy.savez): {' '.join(str(e).split())[:120]}",
                         where) from None
    with z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"{len(infos):,} members, over the limit of {MAX_MEMBERS:,}", where)
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_UNPACKED_BYTES:  # a zip bomb: small on disk, huge once inflated
            raise InputError(f"members of {unpacked:,} bytes once unpacked, over the limit of "
                             f"{MAX_UNPACKED_BYTES:,}", where)
        out, total = {}, 0
        for info in infos:
            total += _read_member(z, info, where, max_elements, total, members, out)
    return out


def _read_member(z, info, where, max_elements, total, members, out) -> int:
    """Read one member into `out` (when wanted); its declared element count."""
    import lzma
    import zipfile
    import zlib
    name = info.filename
    label = name[:-4] if name.endswith(".npy") else name
    if not name.endswith(".npy") or info.is_dir():
        raise InputError("member is not an .npy array (an .npz holds only NAME.npy members)", where, name)
    if label in out:
        raise InputError("member is given twice", where, label)
    try:
        with z.open(info) as f:
            shape, dtype = _header(f, where, label)
            n = math.prod(shape)
            if n > max_elements or total + n > MAX_TOTAL_ELEMENTS:
                raise InputError(f"header declares shape {list(shape)} ({n:,} elements), over the limit of "
                                 f"{min(max_elements, MAX_TOTAL_ELEMENTS - total):,}", where, label)
            if n * dtype.itemsize > info.file_size:  # checked before numpy allocates what the header says
                raise InputError(f"header declares shape {list(shape)} ({n * dtype.itemsize:,} bytes), the "
                                 f"member holds {info.file_size:,}", where, label)
            if members is not None and label not in members:
                return n
            f.seek(0)
            a = np.lib.format.read_array(f, allow_pickle=False)
    except InputError:
        raise
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error,
            lzma.LZMAError) as e:  # a damaged compressed member: zlib's or lzma's own error
        raise InputError(f"cannot read the array: {' '.join(str(e).split())[:160] or type(e).__name__}", where,
                         label) from None
    if a.shape != shape:
        raise InputError(f"holds {a.size} of the {n} elements its header declares", where, label)
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise InputError("holds non-finite values (NaN or infinity)", where, label)
    out[label] = a
    return n


def check_values(a, where: Where, field: str, kind: str = "weight") -> np.ndarray:
    """A parameter array as float64, refused unless numeric and finite with |x| <= MAX_ABS_VALUE (`kind`
    'weight') or every value in [MIN_RANGE, MAX_RANGE] (`kind` 'range': the float value of the full
    code scale, which the model divides by)."""
    a = np.asarray(a)
    if a.dtype.kind not in NUMERIC_KINDS or a.dtype.fields is not None:
        raise InputError(f"must be real numbers, found dtype {a.dtype}", where, field)
    with np.errstate(all="ignore"):
        a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError("holds non-finite values (NaN or infinity)", where, field)
    if kind == "range":
        if a.size and not (np.all(a >= MIN_RANGE) and np.all(a <= MAX_RANGE)):
            bad = a[(a < MIN_RANGE) | (a > MAX_RANGE)].flat[0]
            raise InputError(f"a range must be from {MIN_RANGE:g} to {MAX_RANGE:g}, found {bad:.4g}", where, field)
    elif a.size and np.max(np.abs(a)) > MAX_ABS_VALUE:
        raise InputError(f"holds |values| up to {np.max(np.abs(a)):.4g}, over the limit of {MAX_ABS_VALUE:g}",
                         where, field)
    return a
