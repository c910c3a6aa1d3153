"""Terminal tables of a Result (the CSV files are in tlm/present/outdir.py).  Functions return renderables or
text; the caller decides where they go.  The tables are tlm.present.tables.Table: they fit the console's width
and never cut a number (rich is imported only when one is printed)."""
from __future__ import annotations

import re

from tlm.engines.result import ENERGY_KINDS, KIND_NAMES, Result
from tlm.present.tables import FOLD, Table


def _eng(x: float, unit: str) -> str:
    """Engineering notation: 1234567 pJ -> '1.235 uJ'."""
    prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"),
                (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
    if x == 0 or x != x or x in (float("inf"), float("-inf")):
        return f"{x:g} {unit}"
    for scale, p in prefixes:
        if abs(x) >= scale:
            return f"{x / scale:.4g} {p}{unit}"
    return f"{x:.3g} {unit}"


def summary_table(r: Result, normalize: str | None = None) -> Table:
    """The run's headline figures; efficiencies count raw ops (2 per MAC at the layers' precisions), or
    with `normalize="1b"` 1b-normalized ops (x input bits x weight bits per MAC)."""
    s = r.summary()
    conv, sfx = ("1b-normalized", "_1b") if normalize == "1b" else ("raw ops", "")
    t = Table(title=f"{r.workload.name} on {r.arch.name} ({r.engine} engine)", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right", wrap="words")
    rows = [
        ("latency", _eng(s["latency_per_batch_ns"] * 1e-9, "s") + f"  ({s['cycles_per_batch']:,} cycles at "
                                                       f"{r.arch.clock.frequency_mhz:g} MHz)"),
        ("batch", f"{s['batch']}"),
        ("inferences / s", f"{s['inferences_per_s']:,.1f}"),
        ("MACs", f"{s['macs']:,}"),
        (f"achieved throughput ({conv})", f"{s['tops' + sfx]:.4g} TOPS"),
        (f"efficiency (on-chip, {conv})", f"{s['tops_per_w' + sfx]:.4g} TOPS/W"),
        ("energy / inference (on-chip)", _eng(s["energy_per_inference_pj"] * 1e-12, "J")),
        ("off-chip energy / inference (DMA)", _eng(s["energy_offchip_per_inference_pj"] * 1e-12, "J")
         + f"  ({s['tops_per_w_with_offchip'] * (r.ops_1b_per_op() if sfx else 1.0):.3g} TOPS/W incl.)"),
        ("utilization: spatial / temporal", f"{s['spatial_utilization']:.1%} / {s['temporal_utilization']:.1%}"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


def layer_table(r: Result) -> Table:
    t = Table(title="per layer")
    for c, j in (("layer", "left"), ("type", "left"), ("MACs", "right"), ("bits i/w/o", "right"),
                 ("tiles rxcxg", "right"), ("rows x cols", "right"), ("w loads", "right"), ("cycles", "right"),
                 ("util sp/tmp", "right"), ("energy", "right")):
        # numbers never wrap or truncate; names fold
        t.add_column(c, justify=j, wrap=FOLD if j == "left" else None, min_width={"layer": 10, "type": 7}.get(c))
    pl = r.per_layer
    layers = r.workload.layers
    for i, name in enumerate(r.layer_names):
        e = float(r.energy_pj[i].sum() - r.energy_pj[i, KIND_NAMES.index("external")])
        if i < len(layers):
            l = layers[i]
            bits = f"{l.bits_in}/{l.bits_w}/{l.bits_out}" if l.is_compute else f"{l.bits_in}"
        else:
            bits = ""
        compute = pl["tiles"][i] > 0
        tiles = f"{pl['row_tiles'][i]}x{pl['col_tiles'][i]}x{pl['group_tiles'][i]}" if compute else "-"
        rc = f"{pl['rows_per_tile'][i]}x{pl['cols_per_tile'][i]}" if compute else "-"
        loads = weight_loads(r, i) if compute else "-"
        util = f"{pl['spatial_utilization'][i]:.0%}/{pl['temporal_utilization'][i]:.0%}" if compute else "-"
        t.add_row(name, r.layer_types[i], f"{int(pl['macs'][i]):,}", bits, tiles, rc, loads,
                  f"{int(pl['cycles'][i]):,}",
                  util, _eng(e * 1e-12, "J"))
    return t


def weight_loads(r: Result, i: int) -> str:
    """Weight tiles written into the macros for layer row `i` per run: 0 when all weights stay resident,
    else one load per tile (a tile beyond the macro count evicts another: a reload within the run)."""
    return f"{int(r.per_layer['tiles'][i]) if r.per_layer['weight_bits_loaded'][i] > 0 else 0}"


def energy_table(r: Result) -> Table:
    t = Table(title="energy breakdown (per batch)")
    for c, j in (("component", "left"), ("event kind", "left"), ("energy", "right"), ("share", "right")):
        t.add_column(c, justify=j)
    by_kind = r.energy_by_kind_pj
    total = r.on_chip_energy_pj
    for kind, comp in ENERGY_KINDS:
        if comp == "external":
            continue
        v = by_kind[kind]
        t.add_row(comp, kind, _eng(v * 1e-12, "J"), f"{v / total:.1%}" if total else "-")
    t.add_row("on-chip total", "", _eng(total * 1e-12, "J"), "100.0%", style="bold")
    t.add_row("off-chip", "external", _eng(by_kind["external"] * 1e-12, "J"), "(not in total)")
    return t


def layer_energy_table(r: Result) -> Table:
    t = Table(title="energy per layer and event kind (pJ)")
    t.add_column("layer", wrap=FOLD)
    for k in KIND_NAMES:
        t.add_column(k.replace("_", " "), justify="right")
    for i, name in enumerate(r.layer_names):
        t.add_row(name, *(f"{v:,.1f}" for v in r.energy_pj[i]))
    return t


# Kinds of note, by a phrase of their text (the first that matches); any other note is its own kind,
# grouped with the notes that differ from it only in names and numbers.
NOTE_KINDS = (
    ("spill", "spill to external memory"),
    ("row tiles", "row tiles; partial sums"),
    ("grouped conv", "grouped conv"),
    ("stall", "stalled"),
    ("resident weights", "weights stay resident"),
    ("ignored op", "ignored"),
    ("folded op", "folded into"),
    ("activity", "input bit density measured"),
)
_NUMBER = re.compile(r"\d[\d,.]*")


def note_kind(note: str, layer_names=()) -> tuple[str, str]:
    """(kind label, grouping key) of a note: the label from NOTE_KINDS, else the text itself; the key
    is the text without its leading layer name and with every number replaced by '#'."""
    head, sep, rest = note.partition(": ")
    body = rest if sep and head in layer_names else note
    for label, phrase in NOTE_KINDS:
        if phrase in note:
            return label, label
    return "", _NUMBER.sub("#", body)


def notes_text(r: Result, verbose: bool = False) -> str:
    """Every note (`verbose`), else one line per kind of note: how many and the first as an example,
    so a network with 59 spilling layers prints one spill line, not 59."""
    if verbose or len(r.notes) <= 1:
        return "\n".join(f"note: {n}" for n in r.notes)
    names = set(r.layer_names)
    groups: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for n in r.notes:
        label, key = note_kind(n, names)
        groups.setdefault(key, []).append(n)
        labels[key] = label
    if len(groups) == len(r.notes):
        return "\n".join(f"note: {n}" for n in r.notes)
    lines = []
    for key, ns in groups.items():
        if len(ns) == 1:
            lines.append(f"note: {ns[0]}")
        else:
            lines.append(f"note: {len(ns)} x {labels[key] or 'alike'}, e.g. {ns[0]}")
    lines.append(f"({len(r.notes)} notes of {len(groups)} kinds; -v shows all)")
    return "\n".join(lines)


def component_table(r: Result) -> Table:
    """Per block instance (TLM engine): busy, stalled by reason, idle -- where the time went."""
    inst = r.extra.get("instances", {})
    t = Table(title="blocks (busy / stalled / idle cycles)",
              caption="peak: the most held at once (fifo: a pipelined ADC's FIFO entries; queue: transfers "
                      "queued on a DMA channel; req: requests an SRAM bank held, waiting or served)")
    for c, j in (("block", "left"), ("busy", "right"), ("stalled", "right"), ("on what", "left"),
                 ("idle", "right"), ("busy share", "right"), ("peak", "right")):
        t.add_column(c, justify=j, wrap=FOLD if c == "block" else None)
    total = max(int(r.extra.get("elapsed_cycles", r.cycles)), 1)
    for name, s in inst.items():
        st = s["stall_cycles"]
        peak = f"{PEAK_LABEL.get(s['peak_of'], s['peak_of'])} {s['peak']}" if "peak" in s else "-"
        t.add_row(name, f"{s['busy_cycles']:,}", f"{sum(st.values()):,}",
                  ", ".join(f"{k} {v:,}" for k, v in st.items()) or "-", f"{s['idle_cycles']:,}",
                  f"{s['busy_cycles'] / total:.1%}", peak)
    return t


PEAK_LABEL = {"queued": "queue", "requests": "req"}  # the block table's short names (tlm/engines/transaction/stats.py)
