"""The mapping table of `tlm simulate`: where each layer's weights live and what its stage costs."""
from __future__ import annotations

from rich import box
from rich.table import Table


def ranges(ix) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2,5,7-8'."""
    ix = sorted(ix)
    out, i = [], 0
    while i < len(ix):
        j = i
        while j + 1 < len(ix) and ix[j + 1] == ix[j] + 1:
            j += 1
        out.append(str(ix[i]) if i == j else f"{ix[i]}-{ix[j]}")
        i = j + 1
    return ",".join(out)


def rects_text(rects) -> str:
    """Occupied rectangles of one copy of a layer, grouped by size: '2x 256x128' or '640x256'."""
    sizes = {}
    for r in rects:
        if r["replica"] == 0:
            k = (r["rows"], r["cols"])
            sizes[k] = sizes.get(k, 0) + 1
    return " + ".join(f"{n}x {a}x{b}" if n > 1 else f"{a}x{b}" for (a, b), n in sorted(sizes.items(), reverse=True))


def mapping_table(r) -> Table | None:
    m = r.extra.get("mapping")
    if not m:
        return None
    pl = r.per_layer
    title = (f"mapping: {m['policy']}, {m['macros_used']} of {m['macros']} macros hold weights "
             f"(residency needs {'' if m.get('macros_for_residency_exact', True) else 'at least '}"
             f"{m['macros_for_residency']})")
    if m.get("bottleneck"):
        title += f"; slowest stage {m['bottleneck']}"
    t = Table(title=title, box=box.SIMPLE_HEAVY, collapse_padding=True, pad_edge=False)
    for c, j in (("layer", "left"), ("macros", "left"), ("rows x cols", "right"), ("replicas", "right"),
                 ("stage cycles", "right")):
        t.add_column(c, justify=j, no_wrap=c not in ("layer", "macros"), min_width={"layer": 8}.get(c))
    B = max(r.batch, 1)
    for i, name in enumerate(r.layer_names[:-1]):
        d = m["layers"].get(name)
        if d is None:
            continue
        if m["policy"] == "sequential":
            occ = f"{int(pl['rows_per_tile'][i])}x{int(pl['cols_per_tile'][i])}"
            if int(pl["tiles"][i]) > 1:
                occ = f"{int(pl['tiles'][i])}x {occ}"
            stage = int(pl["cycles"][i]) // B
        else:
            occ = rects_text(d["rects"]) or "-"
            stage = d["stage_cycles"] if d["stage_cycles"] is not None else int(pl["cycles"][i]) // B
        t.add_row(name, ranges(d["macros"]) or "postproc", occ, str(d["replicas"]), f"{stage:,}")
    return t
