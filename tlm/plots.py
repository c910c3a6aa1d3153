"""Plots of a run and of a sweep (matplotlib, the optional extra `plot`), as PNG and SVG.

Same input, same bytes: the Agg backend, a fixed SVG hash salt, no dates or software versions in the
file metadata, fonts drawn as paths.

- `run_plots(result, dir)`: energy of one run per layer, stacked by event kind, and its total by kind.
- `sweep_plots(table, paths, dir)`: energy breakdown per design point (stacked by component); energy
  and area efficiency against precision (when a precision is swept); energy against latency with the
  Pareto front marked.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .errors import InputError, Where
from .result import COMPONENTS, ENERGY_KINDS
from .sweep import PRECISION_PATHS, pareto_front
from .yamlio import atomic_write

MAX_BARS = 48  # more design points than this: the breakdown shows a subset (said in its title)
MAX_SERIES = 10  # lines in one efficiency panel
ON_CHIP_KINDS = tuple(k for k, c in ENERGY_KINDS if c != "external")
ON_CHIP_COMPONENTS = tuple(c for c in COMPONENTS if c != "external")


def require():
    """matplotlib with the Agg backend, or an InputError naming the optional extra."""
    try:
        import matplotlib
    except ImportError:
        from .extras import install_hint
        raise InputError(f"plots need the optional extra 'plot' (matplotlib): {install_hint('plot')}",
                         Where("--plot")) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _style():
    return {
        "svg.hashsalt": "imagine-tlm",  # ids in the SVG do not change from run to run
        "svg.fonttype": "path",
        "font.size": 9,
        "axes.titlesize": 10,
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }


def _colors(names):
    import matplotlib
    cmap = matplotlib.colormaps["tab20"] if len(names) > 10 else matplotlib.colormaps["tab10"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write `stem.png` and `stem.svg` atomically; close the figure."""
    import matplotlib.pyplot as plt
    paths = []
    for fmt, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=meta, bbox_inches="tight")
        path = Path(out_dir) / f"{stem}.{fmt}"
        atomic_write(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def _stacked(ax, labels, parts: dict, colors: dict, scale: float):
    """Stacked bars: one bar per label, one segment per key of `parts` (arrays of equal length)."""
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for name, vals in parts.items():
        v = np.asarray(vals, dtype=float) * scale
        if not v.any():
            continue
        ax.bar(x, v, bottom=bottom, color=colors[name], label=name, width=0.8)
        bottom += v
    ax.set_xticks(x, labels, rotation=90 if max(map(len, labels), default=0) > 6 or len(labels) > 12 else 0)
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _log(set_scale, axis):
    """A log axis labelled with plain numbers (20, 50, 100), not powers of ten; minor ticks get labels
    only when the axis spans little more than a decade (matplotlib's rule), so they never crowd."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    set_scale("log")
    axis.set_major_formatter(Plain())
    axis.set_minor_formatter(Plain(labelOnlyBase=False))


def _unit(max_pj: float):
    for scale, unit in ((1e-6, "uJ"), (1e-3, "nJ"), (1.0, "pJ")):
        if max_pj * scale >= 1:
            return scale, unit
    return 1.0, "pJ"


# ---- one run -----------------------------------------------------------------------------------------
def run_plots(result, out_dir: Path) -> list[Path]:
    """`run_energy`: on-chip energy per layer stacked by event kind, and the run's total by kind."""
    plt = require()
    kinds = [k for k in ON_CHIP_KINDS if result.energy_pj[:, [n for n, _ in ENERGY_KINDS].index(k)].any()]
    col = {k: [n for n, _ in ENERGY_KINDS].index(k) for k in ON_CHIP_KINDS}
    colors = _colors(ON_CHIP_KINDS)
    with plt.rc_context(_style()):
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 1.2]})
        E = result.energy_pj / result.batch
        scale, unit = _unit(float(E[:, [col[k] for k in kinds]].sum(axis=1).max(initial=0)))
        _stacked(ax, list(result.layer_names), {k: E[:, col[k]] for k in kinds}, colors, scale)
        ax.set_ylabel(f"on-chip energy per inference ({unit})")
        ax.set_title(f"{result.workload.name} on {result.arch.name}: energy per layer ({result.engine})")
        ax.legend(fontsize=7, ncols=2, loc="upper right")
        tot = np.array([E[:, col[k]].sum() for k in kinds])
        total = tot.sum()
        t_scale, t_unit = _unit(float(tot.max(initial=0)))
        y = np.arange(len(kinds))
        ax2.barh(y, tot * t_scale, color=[colors[k] for k in kinds])
        ax2.set_yticks(y, kinds)
        ax2.invert_yaxis()
        for yi, v in zip(y, tot):
            ax2.text(v * t_scale, yi, f" {v / total:.1%}" if total else "", va="center", fontsize=7)
        ax2.set_xlabel(f"energy per inference ({t_unit})")
        ax2.set_title(f"total {total * _unit(total)[0]:.4g} {_unit(total)[1]} per inference")
        ax2.set_xlim(0, tot.max(initial=1) * t_scale * 1.3)
        fig.tight_layout()
        return save(fig, out_dir, "run_energy")


# ---- a sweep -----------------------------------------------------------------------------------------
def _short_names(paths):
    """The last part of each path, unless that is ambiguous."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return {p: (s if last.count(s) == 1 else p) for p, s in zip(paths, last)}


def _labels(table, paths, idx):
    """Compact labels of points: the values of the settings that vary, joined by '/', and the key
    that names them ('count / weight')."""
    varying = [p for p in paths if len(set(table[p])) > 1]
    if not varying:
        return [f"point {table['point'][i]}" for i in idx], "point"
    short = _short_names(varying)
    return ["/".join(table[p][i] for p in varying) for i in idx], " / ".join(short[p] for p in varying)


def sweep_plots(table: dict, paths, out_dir: Path) -> list[Path]:
    """Every sweep plot that the swept settings allow; returns the files written."""
    require()
    written = energy_breakdown(table, paths, out_dir)
    written += efficiency_vs_precision(table, paths, out_dir)
    written += pareto_plot(table, paths, out_dir)
    return written


def energy_breakdown(table, paths, out_dir) -> list[Path]:
    """`sweep_energy`: on-chip energy per inference of each design point, stacked by component."""
    plt = require()
    n = len(table["point"])
    idx = list(range(n))
    title = "energy per inference by component"
    if n > MAX_BARS:  # a readable subset: points spread evenly over the energy range, in energy order
        order = np.argsort(table["energy_pj"], kind="stable")
        idx = order[np.round(np.linspace(0, n - 1, MAX_BARS)).astype(int)].tolist()
        title += f" ({MAX_BARS} of {n} points, spread over the energy range)"
    parts = {c: table[f"energy_{c}_pj"][idx] for c in ON_CHIP_COMPONENTS}
    scale, unit = _unit(float(table["energy_pj"][idx].max(initial=0)))
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * len(idx) + 3), 4.5))
        labels, key = _labels(table, paths, idx)
        _stacked(ax, labels, parts, _colors(ON_CHIP_COMPONENTS), scale)
        ax.set_xlabel(key)
        ax.set_ylabel(f"on-chip energy per inference ({unit})")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        return save(fig, out_dir, "sweep_energy")


def efficiency_vs_precision(table, paths, out_dir) -> list[Path]:
    """`sweep_efficiency`: TOPS/W and TOPS/mm2 against the swept precision, one line per combination of
    the other swept settings.  Nothing when no precision is swept."""
    prec = [p for p in paths if p in PRECISION_PATHS and len(set(table[p])) > 1]
    if not prec:
        return []
    plt = require()
    xp = prec[0]
    others = [p for p in paths if p != xp and len(set(table[p])) > 1]
    short = _short_names(others)
    n = len(table["point"])
    series: dict = {}
    for i in range(n):
        series.setdefault(tuple(table[p][i] for p in others), []).append(i)
    keys = list(series)
    shown = keys[:MAX_SERIES]
    colors = _colors(range(len(shown)))
    with plt.rc_context(_style()):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        for ax, col, ylabel in ((axes[0], "tops_per_w", "energy efficiency (TOPS/W, on-chip)"),
                                (axes[1], "tops_per_mm2", "area efficiency (TOPS/mm2)")):
            for s, key in enumerate(shown):
                idx = sorted(series[key], key=lambda i: int(table[xp][i]))
                x = [int(table[xp][i]) for i in idx]
                label = ", ".join(f"{short[p]}={v}" for p, v in zip(others, key)) or None
                ax.plot(x, table[col][idx], marker="o", ms=4, color=colors[s], label=label)
            ax.set_xlabel(f"{xp} (bits)")
            ax.set_ylabel(ylabel)
            _log(ax.set_yscale, ax.yaxis)
            ax.set_xticks(sorted({int(v) for v in table[xp]}))
        title = "efficiency vs precision"
        if len(keys) > len(shown):
            title += f" (first {len(shown)} of {len(keys)} series)"
        fig.suptitle(title)
        if others:
            axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        return save(fig, out_dir, "sweep_efficiency")


def pareto_plot(table, paths, out_dir) -> list[Path]:
    """`sweep_pareto`: energy per inference against latency, the Pareto front marked and labelled."""
    plt = require()
    lat = table["latency_ns"] / 1e3
    scale, unit = _unit(float(table["energy_pj"].max(initial=0)))
    en = table["energy_pj"] * scale
    front = pareto_front(lat, en)
    idx = sorted(np.nonzero(front)[0].tolist(), key=lambda i: (lat[i], i))
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7, 4.8))
        ax.scatter(lat[~front], en[~front], s=14, color="0.6", label="design points", zorder=2)
        ax.step(lat[idx], en[idx], where="post", color="C3", lw=1, zorder=3)
        ax.scatter(lat[idx], en[idx], s=30, color="C3", label=f"Pareto front ({len(idx)})", zorder=4)
        key = None
        if len(idx) <= 12:
            labels, key = _labels(table, paths, idx)
            for i, label in zip(idx, labels):
                ax.annotate(label, (lat[i], en[i]), xytext=(4, 4), textcoords="offset points", fontsize=7)
        for axis, v in ((ax.xaxis, lat), (ax.yaxis, en)):
            pos = v[v > 0]
            if len(pos) and pos.max() / pos.min() > 20:
                _log(ax.set_xscale if axis is ax.xaxis else ax.set_yscale, axis)
        ax.set_xlabel("latency per run (us)")
        ax.set_ylabel(f"on-chip energy per inference ({unit})")
        ax.set_title(f"energy vs latency: {len(lat)} design points")
        ax.legend(fontsize=8, title=f"front labels: {key}" if key else None, title_fontsize=7)
        fig.tight_layout()
        return save(fig, out_dir, "sweep_pareto")
