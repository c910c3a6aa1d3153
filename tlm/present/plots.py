"""Plots of a run and of a sweep (matplotlib, the optional extra `plot`), as PNG and SVG.

Same input, same bytes: the Agg backend, a fixed SVG hash salt, no dates or software versions in the
file metadata, fonts drawn as paths.

- `run_plots(result, dir)`: energy of one run per layer, stacked by event kind, and its total by kind.
- `sweep_plots(table, paths, dir)`: energy breakdown per design point (stacked by component); energy
  and area efficiency against precision (when a precision is swept); energy per inference against
  latency per batch with one Pareto front per batch size (batch sizes are never mixed on one front);
  latency against the first swept architecture field (such as macro.count); and, with `x`/`y` (`--plot-x/--plot-y`), any result column or
  swept field against any other.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from tlm.errors import InputError, Where
from tlm.engines.result import COMPONENTS, ENERGY_KINDS
from tlm.config.overrides import ALIASES, PRECISION_PATHS
from tlm.services.sweep.evaluate import COLUMN_UNITS, RESULT_COLUMNS
from tlm.services.sweep.pareto import pareto_front
from tlm.config.yamlio import atomic_write

MAX_BARS = 48  # more design points than this: the breakdown shows a subset (said in its title)
MAX_SERIES = 10  # lines in one panel; more series: small multiples, MAX_SERIES a panel (never dropped)
MAX_PANELS = 24  # panels of one figure (240 series); past that the title says how many are drawn
MAX_LABELS = 12  # Pareto points labelled with their settings (more would overlap)
ON_CHIP_KINDS = tuple(k for k, c in ENERGY_KINDS if c != "external")
ON_CHIP_COMPONENTS = tuple(c for c in COMPONENTS if c != "external")


def require():
    """matplotlib with the Agg backend, or an InputError naming the optional extra."""
    from tlm.present.outputs import quiet_matplotlib_config
    quiet_matplotlib_config()  # a read-only HOME: no multi-line warning
    try:
        import matplotlib
    except ImportError:
        from tlm.extras import install_hint
        raise InputError(f"plots need the optional extra 'plot' (matplotlib): {install_hint('plot')}",
                         Where("--plot")) from None
    matplotlib.use("Agg", force=True)
    import warnings
    # a layer name in a script the font lacks (CJK, ...) is drawn as boxes: not a screenful of warnings
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
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


class Figures(dict):
    """An `out_dir` that keeps the figures instead of writing them: stem -> matplotlib Figure (for
    notebooks: `run_figure`, `sweep_figures`, `mapping_figure`)."""


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write `stem.png` and `stem.svg` atomically; close the figure.  Into a `Figures`: keep it open."""
    import matplotlib.pyplot as plt
    if isinstance(out_dir, Figures):
        out_dir[stem] = fig
        return []
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


def run_figure(result):
    """The `run_energy` plot of a Result as a matplotlib Figure (not written; `run_plots` writes it)."""
    figs = Figures()
    run_plots(result, figs)
    return figs["run_energy"]


def sweep_figures(table: dict, paths, x: str | None = None, y: str | None = None) -> dict:
    """Every plot `sweep_plots` writes, as {stem: matplotlib Figure} (not written)."""
    figs = Figures()
    sweep_plots(table, paths, figs, x, y)
    return dict(figs)


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


def sweep_plots(table: dict, paths, out_dir: Path, x: str | None = None, y: str | None = None,
                pareto: tuple | None = None) -> list[Path]:
    """Every sweep plot that the swept settings allow, and `y` against `x` when either is given
    (defaults: the first swept architecture field, else the first swept field; latency per batch), and
    a Pareto front on the axes `pareto` (x, y) when given; returns the files written."""
    require()
    written = energy_breakdown(table, paths, out_dir)
    written += efficiency_vs_precision(table, paths, out_dir)
    written += pareto_plot(table, paths, out_dir)
    if pareto is not None and tuple(pareto) != PARETO_DEFAULT:
        written += pareto_plot(table, paths, out_dir, *pareto)
    varying = [p for p in paths if len(set(table[p])) > 1]
    hardware = [p for p in varying if not p.startswith("workload.")]  # precision has its own plot
    first = (hardware or varying or [*paths, "point"])[0]
    if varying:
        written += xy_plot(table, paths, first, "latency_per_batch_ns", out_dir, "sweep_latency")
    if x is not None or y is not None:
        x = x or first
        y = y or "latency_per_batch_ns"
        written += xy_plot(table, paths, x, y, out_dir, f"sweep_{_stem(y)}_vs_{_stem(x)}")
    return written


def _stem(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def plot_column(name: str, paths, where: Where) -> str:
    """The column `--plot-x/--plot-y` names: a swept field (by its path, an alias or an `arch.`-prefixed
    path) or a result column; or an InputError with a 'did you mean'."""
    name = name.strip()
    name = ALIASES.get(name, name)
    if name.startswith("arch.") and name[len("arch."):] in paths:
        name = name[len("arch."):]
    choices = [*paths, *RESULT_COLUMNS, "point"]
    if name not in choices:
        from tlm.errors import did_you_mean
        raise InputError("is neither a swept field nor a result column" + did_you_mean(name, choices)
                         + f"; swept: {', '.join(paths) or 'none'}; results: batch, latency_per_batch_ns, "
                         "energy_per_inference_pj, tops_per_w, ... (the CSV header)", where, name)
    return name


SCALED_UNITS = {"pJ": ((1e-9, "mJ"), (1e-6, "uJ"), (1e-3, "nJ"), (1.0, "pJ")),
                "ns": ((1e-9, "s"), (1e-6, "ms"), (1e-3, "us"), (1.0, "ns"))}


def _scale(name: str, values) -> tuple:
    """(factor, unit) that puts a pJ or ns column in the unit of its data (largest value >= 1)."""
    unit = COLUMN_UNITS.get(name, "")
    steps = SCALED_UNITS.get(unit)
    if steps is None:
        return 1.0, unit
    v = np.asarray(values, dtype=float)
    top = float(np.nanmax(np.abs(v))) if v.size and np.isfinite(v).any() else 0.0
    for k, u in steps:
        if top * k >= 1:
            return k, u
    return 1.0, unit


def _axis_label(name: str, unit: str | None = None) -> str:
    unit = COLUMN_UNITS.get(name) if unit is None else unit
    if name == "latency_per_batch_ns":
        return f"latency per batch ({unit})"
    return f"{name} ({unit})" if unit else name


def _title_name(name: str) -> str:
    return "latency per batch" if name == "latency_per_batch_ns" else name


def _values(table, name):
    """A column as floats scaled to its data (pJ -> nJ.., ns -> us..) and its unit, or (None, None)
    when it is not numeric."""
    v = table[name]
    try:
        arr = np.asarray([float(a) for a in v]) if not isinstance(v, np.ndarray) else v.astype(float)
    except ValueError:
        return None, None
    k, unit = _scale(name, arr)
    return arr * k, unit


def _plain(ax):
    """Linear axes print their numbers whole: no offset (+1e6) nor a common power of ten."""
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "linear":
            axis.get_major_formatter().set_useOffset(False)
            axis.get_major_formatter().set_scientific(False)


def _series(table, paths, x):
    """One series per combination of the other swept settings that vary (batch sizes included, so they
    are never mixed on a line): (those paths, their short names, {combination: point indices}, the
    combinations, the first MAX_SERIES of them, a colour each)."""
    others = [p for p in paths if p != x and len(set(table[p])) > 1]
    series: dict = {}
    for i in range(len(table["point"])):
        series.setdefault(tuple(table[p][i] for p in others), []).append(i)
    keys = list(series)
    shown = keys[:MAX_SERIES * MAX_PANELS]
    return others, _short_names(others), series, keys, shown, _colors(range(min(len(shown), MAX_SERIES)))


def _panels(shown):
    """The series in panels of MAX_SERIES (small multiples: one panel when they fit)."""
    return [shown[k:k + MAX_SERIES] for k in range(0, len(shown), MAX_SERIES)] or [[]]


def xy_plot(table, paths, x, y, out_dir, stem) -> list[Path]:
    """`stem`: `y` against `x`.  Against a swept field: one line per combination of the other swept
    settings (batch sizes included, so they are never mixed on a line), in panels of MAX_SERIES lines
    when there are more (small multiples sharing the axes); against a result column: every point,
    coloured by batch size.  Words on the x axis become categories."""
    plt = require()
    yv, yu = _values(table, y)
    if yv is None:
        raise InputError(f"'{y}' has values that are not numbers; it cannot be a y axis", Where("--plot-y"), y)
    xv, xu = _values(table, x)
    categories = None
    if xv is None:  # words: categories in order of first appearance
        categories = list(dict.fromkeys(table[x]))
        xv = np.array([categories.index(a) for a in table[x]], dtype=float)
    n = len(yv)
    with plt.rc_context(_style()):
        if x in paths:
            others, short, series, keys, shown, colors = _series(table, paths, x)
            panels = _panels(shown)
            fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.2 + 3.3 * len(panels)), sharex=True,
                                     sharey=True, squeeze=False)
            for ax, group in zip(axes[:, 0], panels):
                for s_, key in enumerate(group):
                    idx = sorted(series[key], key=lambda i: (xv[i], i))
                    label = ", ".join(f"{short[p]}={v}" for p, v in zip(others, key)) or None
                    ax.plot(xv[idx], yv[idx], marker="o", ms=4, color=colors[s_], label=label)
                if others:
                    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
            title = f"{_title_name(y)} vs {x}"
            if len(panels) > 1:
                title += f" ({len(shown)} series, {MAX_SERIES} a panel)"
            if len(keys) > len(shown):
                title += f" (the first {len(shown)} of {len(keys)} series)"
        else:
            fig, axes = plt.subplots(figsize=(7, 4.5), squeeze=False)
            ax = axes[0, 0]
            batches = sorted({int(b) for b in table["batch"]})
            colors = _colors(batches)
            for b in batches:
                sel = np.nonzero(np.asarray(table["batch"]) == b)[0]
                ax.scatter(xv[sel], yv[sel], s=16, color=colors[b], label=f"batch {b}")
            title = f"{_title_name(y)} vs {x}: {n} design points"
            if len(batches) > 1:
                ax.legend(fontsize=7)
        for ax in axes[:, 0]:
            if categories is not None:
                ax.set_xticks(range(len(categories)), categories)
            elif x in paths and len(set(xv)) <= 16:
                ax.set_xticks(sorted(set(xv)))
            pos = yv[yv > 0]
            if len(pos) and pos.max() / pos.min() > 20:
                _log(ax.set_yscale, ax.yaxis)
            _plain(ax)
            ax.set_ylabel(_axis_label(y, yu))
        axes[-1, 0].set_xlabel(_axis_label(x, xu))
        axes[0, 0].set_title(title)
        fig.tight_layout()
        return save(fig, out_dir, stem)


def energy_breakdown(table, paths, out_dir) -> list[Path]:
    """`sweep_energy`: on-chip energy per inference of each design point, stacked by component."""
    plt = require()
    n = len(table["point"])
    idx = list(range(n))
    title = "energy per inference by component"
    if n > MAX_BARS:  # a readable subset: points spread evenly over the energy range, in energy order
        order = np.argsort(table["energy_per_inference_pj"], kind="stable")
        idx = order[np.round(np.linspace(0, n - 1, MAX_BARS)).astype(int)].tolist()
        title += f" ({MAX_BARS} of {n} points, spread over the energy range)"
    parts = {c: table[f"energy_{c}_per_inference_pj"][idx] for c in ON_CHIP_COMPONENTS}
    scale, unit = _unit(float(table["energy_per_inference_pj"][idx].max(initial=0)))
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
    the other swept settings (a row of two panels per MAX_SERIES lines).  Nothing when no precision
    is swept."""
    prec = [p for p in paths if p in PRECISION_PATHS and len(set(table[p])) > 1]
    if not prec:
        return []
    plt = require()
    xp = prec[0]
    others, short, series, keys, shown, colors = _series(table, paths, xp)
    panels = _panels(shown)
    with plt.rc_context(_style()):
        fig, axes = plt.subplots(len(panels), 2, figsize=(10, 0.9 + 3.3 * len(panels)), squeeze=False,
                                 sharex=True)
        for row, group in zip(axes, panels):
            for ax, col, ylabel in ((row[0], "tops_per_w", "energy efficiency (TOPS/W, on-chip, raw ops)"),
                                    (row[1], "tops_per_mm2", "area efficiency (TOPS/mm2, raw ops)")):
                for s_, key in enumerate(group):
                    idx = sorted(series[key], key=lambda i: int(table[xp][i]))
                    x = [int(table[xp][i]) for i in idx]
                    label = ", ".join(f"{short[p]}={v}" for p, v in zip(others, key)) or None
                    ax.plot(x, table[col][idx], marker="o", ms=4, color=colors[s_], label=label)
                ax.set_ylabel(ylabel)
                _log(ax.set_yscale, ax.yaxis)
                ax.set_xticks(sorted({int(v) for v in table[xp]}))
            if others:
                row[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        for ax in axes[-1]:
            ax.set_xlabel(f"{xp} (bits)")
        title = "efficiency vs precision"
        if len(panels) > 1:
            title += f" ({len(shown)} series, {MAX_SERIES} a row)"
        if len(keys) > len(shown):
            title += f" (the first {len(shown)} of {len(keys)} series)"
        fig.suptitle(title)
        fig.tight_layout()
        return save(fig, out_dir, "sweep_efficiency")


LARGER_IS_BETTER = ("inferences_per_s", "tops", "tops_per_w", "tops_per_mm2", "spatial_utilization",
                    "temporal_utilization")
PARETO_DEFAULT = ("latency_per_batch_ns", "energy_per_inference_pj")


def pareto_plot(table, paths, out_dir, x=PARETO_DEFAULT[0], y=PARETO_DEFAULT[1]) -> list[Path]:
    """`sweep_pareto` (or `sweep_pareto_Y_vs_X` on other axes, `--pareto X,Y`): `y` against `x` with one
    Pareto front per batch size (a run of 4 images is never compared with a run of one), marked and
    labelled.  Each axis is minimized, or maximized for a rate or an efficiency (LARGER_IS_BETTER)."""
    plt = require()
    xv, xu = _values(table, x)
    yv, yu = _values(table, y)
    if xv is None or yv is None:
        bad = x if xv is None else y
        raise InputError(f"'{bad}' has values that are not numbers; it cannot be a Pareto axis", Where("--pareto"),
                         bad)
    sx = -1.0 if x in LARGER_IS_BETTER else 1.0
    sy = -1.0 if y in LARGER_IS_BETTER else 1.0
    batch = np.asarray(table["batch"]).astype(int)
    batches = sorted(set(batch.tolist()))
    one = len(batches) == 1
    colors = {b: f"C{k % 10}" for k, b in enumerate(batches)}
    front = np.zeros(len(xv), dtype=bool)
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7, 4.8))
        key = None
        for b in batches:
            sel = np.nonzero(batch == b)[0]
            f = pareto_front(sx * xv[sel], sy * yv[sel])
            front[sel] = f
            idx = sorted(sel[f].tolist(), key=lambda i: (sx * xv[i], i))
            tag = "" if one else f"batch {b}: "
            rest = sel[~f]
            ax.scatter(xv[rest], yv[rest], s=14, color="0.6" if one else colors[b], alpha=1 if one else 0.35,
                       zorder=2, label=f"{tag}design points")
            ax.step(xv[idx], yv[idx], where="post", color="C3" if one else colors[b], lw=1, zorder=3)
            ax.scatter(xv[idx], yv[idx], s=30, color="C3" if one else colors[b], zorder=4,
                       label=f"{tag}Pareto front ({len(idx)})")
        idx_all = np.nonzero(front)[0].tolist()
        if len(idx_all) <= MAX_LABELS:
            labels, key = _labels(table, paths, idx_all)
            for i, label in zip(idx_all, labels):
                ax.annotate(label, (xv[i], yv[i]), xytext=(4, 4), textcoords="offset points", fontsize=7)
        for axis, v in ((ax.xaxis, xv), (ax.yaxis, yv)):
            pos = v[v > 0]
            if len(pos) and pos.max() / pos.min() > 20:
                _log(ax.set_xscale if axis is ax.xaxis else ax.set_yscale, axis)
        _plain(ax)
        ax.set_xlabel(_axis_label(x, xu) + (" (higher is better)" if sx < 0 else ""))
        ax.set_ylabel(_axis_label(y, yu) + (" (higher is better)" if sy < 0 else ""))
        title = f"{_title_name(y)} vs {_title_name(x)}: {len(xv)} design points"
        if not one:
            title += ", one front per batch size"
        ax.set_title(title)
        ax.legend(fontsize=8, title=f"front labels: {key}" if key else None, title_fontsize=7)
        fig.tight_layout()
        stem = "sweep_pareto" if (x, y) == PARETO_DEFAULT else f"sweep_pareto_{_stem(y)}_vs_{_stem(x)}"
        return save(fig, out_dir, stem)
