"""The results file: one CSV row per design point, appended as points finish, read back by `--resume`.

- Rows are appended whole: a write the disk or a file-size limit cuts short (ENOSPC, EFBIG) is undone
  (the file is truncated back to its last whole row) and reported in one line, so the file always
  holds whole rows and resumes.
- At the end the file is rewritten atomically in point order, so the finished file does not depend on
  the order of completion or on interruptions.
- `read_finished` reads an earlier run's rows line by line, bounded by `MAX_RESULTS_BYTES` (not by the
  YAML input limit: a 100,000-point sweep writes about 45 MB).
"""
from __future__ import annotations

import csv
import errno
import io
import os
import stat

import numpy as np

from tlm.errors import InputError, Where
from tlm.config.overrides import format_cell
from tlm.services.sweep.evaluate import RESULT_COLUMNS, TEXT_COLUMNS
from tlm.services.sweep.points import Job

# the rows are held in memory for the final rewrite in point order: ~450 bytes a row, so 2 GiB is
# about 4.7 million rows (a few GB of memory); a larger sweep is better split into several files
MAX_RESULTS_BYTES = 2 << 30
MAX_LINE_BYTES = 1 << 20  # one row: the settings and ~25 numbers are a few hundred bytes


def fingerprint(job: Job) -> str:
    """A short hash of the base architecture, the workload and the engine with its options: rows with
    another fingerprint were computed from other inputs, and `--resume` refuses them."""
    import hashlib
    import json
    opts = {k: v for k, v in sorted(vars(job.engine_args).items())} if job.engine_args is not None else {}
    data = {"arch": job.arch_dict, "workload": job.workload.to_dict(), "engine": job.engine, "options": opts}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def header(job: Job) -> list:
    return ["point", *(s.path for s in job.settings), "base", *RESULT_COLUMNS]


def setting_cells(job: Job, index: int) -> list:
    """The cells that identify a point: its setting values and the fingerprint of its base."""
    return [format_cell(v) for v in job.values(index)] + [job.base]


def csv_line(cells) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _open_results(path):
    """The earlier results file, opened for reading: a regular file within the size bound."""
    where = Where(str(path))
    try:
        st = os.stat(path)  # before opening: opening a FIFO would wait for a writer
        if not stat.S_ISREG(st.st_mode):
            raise InputError("is not a regular file; --resume reads the results file a sweep wrote", where)
        if st.st_size > MAX_RESULTS_BYTES:
            raise InputError(f"file is {st.st_size} bytes, over the {MAX_RESULTS_BYTES}-byte limit of a "
                             "results file (split the sweep into several files)", where)
        return open(path, "rb")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", where) from None


def read_finished(path, job: Job) -> dict:
    """Rows of an earlier run of the same sweep: point -> its CSV line.  A last line cut short by an
    interruption is dropped; anything else that does not belong to this sweep is an InputError."""
    want = header(job)
    n_set = len(job.settings) + 1  # the settings and the base fingerprint
    done = {}
    with _open_results(path) as f:
        for ln, raw in enumerate(f, start=1):
            where = Where(str(path), ln)
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(f"line is over {MAX_LINE_BYTES} bytes: not a results file", where)
            if not raw.endswith(b"\n"):
                break  # the last line, cut short while being written
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("is not UTF-8 text: not a results file", where) from None
            (row,) = csv.reader([line]) if line.strip() else ([],)
            if ln == 1:
                if row != want:
                    raise InputError("its columns differ from this sweep's (made by another sweep?); drop "
                                     "--resume to start over or write to another file", where)
                continue
            if len(row) != len(want):
                raise InputError(f"expected {len(want)} cells, found {len(row)}", where)
            try:
                i = int(row[0])
            except ValueError:
                raise InputError(f"point number '{row[0]}' is not an integer", where) from None
            if not 0 <= i < job.n_points or row[1:n_set] != setting_cells(job, i)[:-1]:
                raise InputError(f"point {row[0]} does not belong to this sweep ({', '.join(row[1:n_set])}); "
                                 "drop --resume to start over", where)
            if row[n_set] != job.base:
                raise InputError(f"point {row[0]} was computed from another architecture, workload or engine "
                                 f"(base {row[n_set]}, now {job.base}); drop --resume to start over", where)
            for col, cell in zip(want[n_set + 1:], row[n_set + 1:]):  # read back as read_table reads them
                if col not in TEXT_COLUMNS and not _is_number(cell):
                    raise InputError(f"point {row[0]}: '{cell[:40]}' is not a number; drop --resume to start "
                                     "over", where, col)
            done.setdefault(i, csv_line(row))
    return done


def _is_number(cell: str) -> bool:
    """A result cell as read_table reads it back: a number (ratios may be inf), or empty (a point without
    numbers, e.g. an infeasible one)."""
    if cell == "":
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class RowWriter:
    """Appends rows as points finish (each row whole, or none of it) and, at the end, rewrites the file
    sorted by point, atomically."""

    def __init__(self, path, job: Job, finished: dict):
        from tlm.config.yamlio import atomic_write
        self.path = path
        self.job = job
        self.rows = dict(finished)  # point -> CSV line
        self.fd = None
        atomic_write(path, self._text())  # a clean start: header and the rows kept from an earlier run
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self.size = os.fstat(self.fd).st_size  # bytes of whole rows
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror}", Where(str(path))) from None

    def _text(self) -> str:
        return csv_line(header(self.job)) + "".join(self.rows[i] for i in sorted(self.rows))

    def add(self, index: int, result_cells) -> None:
        line = csv_line([str(index), *setting_cells(self.job, index), *result_cells])
        data = line.encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as e:
            self._cut_back()
            full = " (disk full or a file-size limit)" if e.errno in _FULL else ""
            raise InputError(f"cannot write: {e.strerror}{full}; it holds {len(self.rows)} of "
                             f"{self.job.n_points} points, whole rows only: make room and run again with "
                             "--resume to finish", Where(str(self.path))) from None
        except BaseException:  # an interruption between two parts of one row
            self._cut_back()
            raise
        self.size += len(data)
        self.rows[index] = line

    def _cut_back(self) -> None:
        """Truncate a partly written row (truncating never needs space)."""
        try:
            if os.fstat(self.fd).st_size != self.size:
                os.ftruncate(self.fd, self.size)
        except OSError:
            pass

    def close(self) -> None:
        if self.fd is not None:
            self._cut_back()
            os.close(self.fd)
            self.fd = None

    def finish(self) -> str:
        from tlm.config.yamlio import atomic_write
        self.close()
        text = self._text()
        try:
            atomic_write(self.path, text)
        except InputError as e:
            raise InputError(f"{e.message}; its {len(self.rows)} rows are whole, in completion order, not "
                             "point order: make room and run again with --resume to sort them",
                             e.where) from None
        return text


def read_table(text: str, ok_only: bool = False) -> dict:
    """A results CSV as columns: settings, status and policy stay text, results become floats (NaN in
    the rows of points without numbers).  `ok_only`: only the rows whose status is ok."""
    rows = list(csv.reader(io.StringIO(text)))
    head, body = rows[0], rows[1:]
    if ok_only and "status" in head:
        k = head.index("status")
        body = [r for r in body if r[k] == "ok"]
    cols = {h: [r[j] for r in body] for j, h in enumerate(head)}
    for h in RESULT_COLUMNS:
        if h in cols and h not in TEXT_COLUMNS:
            cols[h] = np.array([float(v) if v != "" else np.nan for v in cols[h]])
    return cols
