"""`tlm simulate --plot`: each macro's occupancy (the rows x columns rectangle of every tile it holds,
labelled with its layer) beside the stage time of every macro."""
from __future__ import annotations

import math
from pathlib import Path

from tlm.hw.macro import dp_block_rows
from tlm.present.plots import _colors, _style, require, save


def mapping_plot(result, out_dir: Path) -> list[Path]:
    m = result.extra.get("mapping") or {}
    if not m or m.get("policy") == "sequential":
        return []
    plt = require()
    from matplotlib.patches import Rectangle
    arch = result.arch
    R, C = arch.macro.rows, arch.macro.columns
    used = sorted({r["macro"] for d in m["layers"].values() for r in d["rects"]})
    if not used:
        return []
    names = [n for n, d in m["layers"].items() if d["rects"]]
    colors = _colors(names)
    cols = min(8, len(used))
    rows = math.ceil(len(used) / cols)
    with plt.rc_context(_style()):
        fig = plt.figure(figsize=(2.0 * cols + 4.5, 2.6 * rows + 0.8))
        gs = fig.add_gridspec(rows, cols + 3)
        for k, mac in enumerate(used):
            ax = fig.add_subplot(gs[k // cols, k % cols])
            ax.add_patch(Rectangle((0, 0), C, R, fill=False, lw=0.8))
            blk = dp_block_rows(arch)
            for y in range(blk, R, blk):
                ax.axhline(y, color="0.85", lw=0.4)
            for name in names:
                for r in m["layers"][name]["rects"]:
                    if r["macro"] != mac:
                        continue
                    ax.add_patch(Rectangle((r["col0"], r["row0"]), r["cols"], r["rows"], color=colors[name],
                                           alpha=0.75))
                    lab = name + (f" r{r['replica']}" if r["replica"] else "")
                    ax.text(r["col0"] + r["cols"] / 2, r["row0"] + r["rows"] / 2, lab, ha="center", va="center",
                            fontsize=6)
            ax.set_xlim(0, C)
            ax.set_ylim(R, 0)
            ax.set_title(f"macro{mac}", fontsize=8)
            ax.set_xticks([0, C])
            ax.set_yticks([0, R])
        ax = fig.add_subplot(gs[:, cols:])
        st = {k: v for k, v in m.get("stage_cycles", {}).items()}
        keys = sorted(st, key=lambda k: (not k.startswith("macro"), int(k[5:]) if k[5:].isdigit() else 0, k))
        ax.barh(range(len(keys)), [st[k] for k in keys],
                color=["C3" if k == m.get("bottleneck") else "C0" for k in keys])
        ax.set_yticks(range(len(keys)), keys, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("stage cycles per image")
        ax.set_title(f"{m['policy']}: slowest {m.get('bottleneck', '')}", fontsize=9)
        fig.suptitle(f"{result.workload.name} on {arch.name}: weight tiles on {len(used)} of {m['macros']} macros")
        fig.tight_layout()
        return save(fig, out_dir, "mapping")


def mapping_figure(result):
    """The `mapping` plot as a matplotlib Figure, or None for a sequential run (nothing to draw)."""
    from tlm.present.plots import Figures
    figs = Figures()
    mapping_plot(result, figs)
    return figs.get("mapping")
