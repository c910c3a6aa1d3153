"""Results as pandas data frames (the optional extra `frames`), for notebooks: one table per output the
command writes, built from the same rows as the CSV files (tlm/present/outdir.py), so a frame and its
CSV file never disagree.  pandas is imported only here, when a frame is asked for."""
from __future__ import annotations

import io


def _pd():
    try:
        import pandas as pd
    except ImportError:
        from tlm.errors import InputError, Where
        from tlm.extras import install_hint
        raise InputError(f"data frames need pandas: {install_hint('frames')}", Where("<python>")) from None
    return pd


def _from_csv(text: str):
    return _pd().read_csv(io.StringIO(text), keep_default_na=False, na_values=[])


def layers(result):
    """Per layer (and the image I/O row): cycles, MACs, utilizations, energy per batch... (layers.csv)."""
    from tlm.present.outdir import layers_csv
    return _from_csv(layers_csv(result))


def energy(result):
    """Energy per layer, component and event kind, long form: layer, component, kind, energy_per_batch_pj,
    energy_per_inference_pj (sum over layers = energy.csv's rows)."""
    from tlm.engines.result import ENERGY_KINDS
    rows = [(name, comp, kind, float(result.energy_pj[i, j]), float(result.energy_pj[i, j]) / result.batch)
            for i, name in enumerate(result.layer_names) for j, (kind, comp) in enumerate(ENERGY_KINDS)]
    return _pd().DataFrame(rows, columns=["layer", "component", "kind", "energy_per_batch_pj",
                                          "energy_per_inference_pj"])


def blocks(result):
    """Busy, stalled and idle cycles per block (blocks.csv)."""
    from tlm.present.outdir import blocks_csv
    return _from_csv(blocks_csv(result))


def summary(result):
    """The summary row (summary.csv; a sweep's row of the same point reads the same)."""
    from tlm.present.outdir import summary_csv
    return _from_csv(summary_csv(result))


def frames(result) -> dict:
    """Every table of a simulation Result: summary, layers, energy, blocks."""
    return {"summary": summary(result), "layers": layers(result), "energy": energy(result), "blocks": blocks(result)}


def sweep_frame(s):
    """A sweep's rows (the results CSV) with a boolean `pareto` column (front of the point's batch size)."""
    df = _from_csv(s.csv)
    df["pareto"] = s.pareto() if len(df) else []
    return df


def accuracy_frame(a):
    """Per image: label, each model's prediction and whether it is right."""
    data = {"label": a.labels}
    for m, p in a.predictions().items():
        data[f"{m}_prediction"] = p
        data[f"{m}_correct"] = p == a.labels
    return _pd().DataFrame(data)


def paper_frame(p):
    """Per published figure: paper, model, error (model / paper - 1)."""
    rows = [(f.key, f.name(), f.unit, f.ops, f.value, m, e) for f, m, e in p.rows]
    return _pd().DataFrame(rows, columns=["key", "figure", "unit", "ops", "paper", "model", "error"])


def chips_frame(designs):
    """Every shipped published design's figures: design, figure, conditions, paper, model, error."""
    rows = [(d.name, r.figure.key, r.figure.conditions(), r.figure.unit, r.figure.ops, r.figure.value, r.model,
             r.error, abs(r.error) <= d.published.tolerance) for d in designs for r in d.rows]
    return _pd().DataFrame(rows, columns=["design", "figure", "conditions", "unit", "ops", "paper", "model",
                                          "error", "within_tolerance"])


def html_or_none(make) -> str | None:
    """`make()`'s frame as HTML, or None without pandas (the caller then shows plain text)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return None
    return make().to_html(index=False, float_format=lambda v: f"{v:.6g}")
