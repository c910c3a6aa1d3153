"""Design points: a `Job` (the base inputs and the settings) numbers its points; `PointBuilder` builds the
architecture and workload of one point, caching what points share.

Points are numbered in `itertools.product` order: the first `--set` varies slowest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from tlm.config.arch import arch_from_dict
from tlm.errors import InputError, Where
from tlm.config.overrides import format_cell, with_arch_values, with_precision, workload_values
from tlm.config.workload import check_against, check_run_limits


@dataclass
class Job:
    """Everything a worker needs to evaluate points; picklable (sent to processes and Dask workers)."""

    arch_dict: dict
    workload: object  # tlm.config.workload.Workload
    settings: tuple  # of tlm.config.overrides.Setting
    engine: str
    engine_args: object  # argparse.Namespace handed to the engine, as `tlm simulate` would
    token: str = ""  # identifies the job in a worker's cache
    base: str = ""  # fingerprint of everything but the settings (see `store.fingerprint`), set by run_sweep

    @property
    def n_points(self) -> int:
        return math.prod(len(s.values) for s in self.settings)

    def values(self, index: int) -> tuple:
        """The setting values of point `index` (itertools.product order: the first setting slowest)."""
        out = []
        for s in reversed(self.settings):
            index, digit = divmod(index, len(s.values))
            out.append(s.values[digit])
        return tuple(reversed(out))

    def label(self, index: int) -> str:
        return ", ".join(f"{s.path}={format_cell(v)}" for s, v in zip(self.settings, self.values(index)))


class PointBuilder:
    """Builds (arch, workload) of design points, caching what points share."""

    MAX_CACHED = 4096

    def __init__(self, job: Job):
        self.job = job
        self.arch_idx = [i for i, s in enumerate(job.settings) if not s.is_workload]
        self.wl_idx = [i for i, s in enumerate(job.settings) if s.is_workload]
        self._arch = {}
        self._wl = {}
        self._prec = {}  # the workload settings but the batch -> that workload (`_workload`)
        self._base = None  # the base architecture, built once
        self._sections = {}  # (section, its changed values) -> the section built and checked

    def build(self, index: int):
        job = self.job
        vals = job.values(index)
        akey = tuple(vals[i] for i in self.arch_idx)
        wkey = tuple(vals[i] for i in self.wl_idx)
        try:
            arch = self._arch.get(akey)
            if arch is None:
                changes = {job.settings[i].path: vals[i] for i in self.arch_idx}
                arch = self._build_arch(changes)
                self._cache(self._arch, akey, arch)
            wl = self._wl.get(wkey)
            if wl is None:
                wl = self._workload({job.settings[i].path: vals[i] for i in self.wl_idx})
                check_run_limits(wl)  # the file's run limits at this point's batch (tlm/config/workload.py)
                self._cache(self._wl, wkey, wl)
            check_against(wl, arch)
        except InputError as e:
            msg = f"{e.field}: {e.message}" if e.field else e.message
            raise InputError(msg, Where(f"--set point {index} ({job.label(index)})")) from None
        return arch, wl

    def _workload(self, values):
        """The point's workload: `with_precision` of the job's, its batch set last on the workload of the
        other settings (kept: `_prec`), so that the points that differ in the batch only share their layer
        objects -- and what is kept per layers (tlm/engines/analytic._kept, the assignments, one image's
        schedule) -- as they share their values."""
        import dataclasses
        kw = workload_values(values)
        batch = kw.pop("batch", None)
        key = tuple(sorted(kw.items()))
        base = self._prec.get(key)
        if base is None:
            base = with_precision(self.job.workload, **kw)
            self._cache(self._prec, key, base)
        return base if batch is None else dataclasses.replace(base, batch=batch)

    def _build_arch(self, changes):
        """The point's architecture: the base's, with each section a setting changes built (and checked)
        anew from the base's values and the changes -- the same as `arch_from_dict` of the whole changed
        dict (no check spans two sections), without rebuilding the sections no setting touches."""
        import dataclasses

        from tlm.config.arch import _inf_back
        from tlm.config.schema import build
        from tlm.config.yamlio import to_ydict
        if self._base is None:
            self._base = arch_from_dict(self.job.arch_dict, file="<sweep>")
        by_sec = {}
        for path, v in changes.items():
            sec, _, rest = path.partition(".")
            by_sec.setdefault(sec, {})[rest] = v
        if any(not rest for sec in by_sec for rest in by_sec[sec]) or any(
                not dataclasses.is_dataclass(getattr(self._base, sec, None)) for sec in by_sec):
            return arch_from_dict(with_arch_values(self.job.arch_dict, changes), file="<sweep>")
        new = {}
        for sec, ch in by_sec.items():
            key = (sec, tuple(sorted(ch.items())))
            obj = self._sections.get(key)
            if obj is None:
                d = with_arch_values({sec: self.job.arch_dict[sec]}, {f"{sec}.{k}": v for k, v in ch.items()})
                obj = build(type(getattr(self._base, sec)), to_ydict(_inf_back(d[sec]), "<sweep>"), sec)
                self._cache(self._sections, key, obj)
            new[sec] = obj
        return dataclasses.replace(self._base, **new)

    def _cache(self, d, key, value):
        if len(d) >= self.MAX_CACHED:
            d.pop(next(iter(d)))
        d[key] = value
