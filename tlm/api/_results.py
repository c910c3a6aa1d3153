"""What the API's sweep, accuracy and paper functions return (tlm/api/__init__.py): the numbers the
commands print, as attributes, JSON-ready dicts (`to_dict`, what `--json` writes) and, with pandas,
data frames (tlm/present/frames.py).  A simulation returns tlm.engines.result.Result."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _num(v):
    """A float for JSON: inf and nan as text (JSON has neither)."""
    v = float(v)
    return v if math.isfinite(v) else str(v)


@dataclass
class SweepResult:
    """The rows of a sweep: `csv` (the results file's text), `paths` (the swept fields, in order),
    `n_points`, `resumed` (rows kept from an earlier run), `file` (where the rows are, or None)."""

    csv: str
    paths: list
    n_points: int
    resumed: int = 0
    file: Path | None = None

    @property
    def table(self) -> dict:
        """Columns: the settings as text, the results as float arrays (tlm.services.sweep.read_table)."""
        from tlm.services.sweep import read_table
        return read_table(self.csv)

    def pareto(self):
        """Boolean array: the points on the energy/latency Pareto front of their batch size."""
        from tlm.services.sweep import pareto_by_batch
        return pareto_by_batch(self.table)

    def frame(self):
        """The rows as a pandas DataFrame (needs pandas), with a boolean `pareto` column."""
        from tlm.present.frames import sweep_frame
        return sweep_frame(self)

    def _repr_html_(self) -> str:
        from tlm.present.frames import html_or_none
        return html_or_none(self.frame) or f"<pre>{len(self.paths)} swept fields, {self.n_points} points</pre>"


@dataclass
class AccuracyResult:
    """One `tlm accuracy` run: `evaluation` (tlm.services.accuracy.Evaluation: `.accuracy` per model,
    `.outputs[model]` (images, outputs) per image, `.labels`, `.stats` per layer), the noise sweep
    [(sigma, Evaluation)], where the activation ranges came from, and the functional network."""

    arch: Any
    workload: Any
    dataset: str
    swing: str
    noise_lsb: float
    seed: int
    evaluation: Any
    noise_sweep: list = field(default_factory=list)
    range_note: str | None = None
    net: Any = None

    @property
    def accuracy(self) -> dict:
        return self.evaluation.accuracy

    @property
    def outputs(self) -> dict:
        return self.evaluation.outputs

    @property
    def labels(self):
        return self.evaluation.labels

    def predictions(self) -> dict:
        """Model -> (images,) predicted class of each image (the argmax of its outputs)."""
        return {m: o.argmax(1) for m, o in self.outputs.items()}

    def layer_rows(self) -> list[dict]:
        """Per compute layer: its rows on the macro (`rows`, split into row tiles of at most macro.rows,
        each connecting `connected_rows`), SQNR and ENOB of the CIM output against the exact integer
        one, clipping, densities (what `tlm accuracy` prints)."""
        from tlm.functional.model import connected_rows, row_tiles
        out = []
        for L in self.workload.layers:
            if not L.is_compute:
                continue
            s = self.evaluation.stats[L.name]
            geo = {}
            if self.net is not None:
                rows = int(self.net.q[L.name].w_int[0].size)
                tiles = row_tiles(rows, self.arch.macro.rows)
                geo = {"rows": rows, "row_tiles": len(tiles),
                       "connected_rows": [int(connected_rows(sl.stop - sl.start, self.arch)) for sl in tiles]}
            out.append({"layer": L.name, "bits_in": L.bits_in, "bits_w": L.bits_w, "bits_out": L.bits_out, **geo,
                        "sqnr_db": s.sqnr_db, "enob": s.enob(s.sqnr_db), "enob_ideal": s.enob(s.ideal_sqnr_db),
                        "clip_rate": s.clip_rate, "input_density": s.input_density, "dp_activity": s.dp_activity})
        return out

    def to_dict(self) -> dict:
        """Everything as JSON-ready data (`tlm accuracy --json`): every number is rounded by nothing."""
        ev = self.evaluation
        return {
            "workload": self.workload.name, "arch": self.arch.name, "dataset": self.dataset,
            "images": int(ev.images), "swing": self.swing, "noise_lsb": self.noise_lsb, "seed": self.seed,
            "accuracy": {m: float(v) for m, v in ev.accuracy.items()},
            "labels": [int(v) for v in ev.labels],
            "predictions": {m: [int(v) for v in p] for m, p in self.predictions().items()},
            # the last layer's outputs per image: float model real values, ideal and cim output codes
            "outputs": {m: [[_num(v) for v in row] for row in o] for m, o in ev.outputs.items()},
            "layers": [{k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()} for r in self.layer_rows()],
            "noise_sweep": [{"noise_lsb": s, "accuracy": float(e.accuracy["cim"]),
                             "enob": {n: _num(st.enob(st.sqnr_db)) for n, st in e.stats.items()}}
                            for s, e in self.noise_sweep],
            "range_note": self.range_note,
        }

    def frame(self):
        """Per image: the label and each model's prediction (needs pandas)."""
        from tlm.present.frames import accuracy_frame
        return accuracy_frame(self)

    def _repr_html_(self) -> str:
        from tlm.present.frames import html_or_none
        acc = ", ".join(f"{m} {100 * v:.2f}%" for m, v in self.accuracy.items())
        return html_or_none(lambda: self.frame().head(20)) or f"<pre>{acc}</pre>"


def _overhead(o: dict) -> dict:
    """PaperResult.overhead as JSON: pJ per component, the macro peak's key, the gap it leaves."""
    g = o["gap"]
    return {"energy_pj": {k: _num(v) for k, v in o["parts_pj"].items()},
            "macro_peak": None if o["macro_peak"] is None else o["macro_peak"].key,
            "gap": None if g is None else {"gap_pj": _num(g["gap_pj"]), "unexplained_pj": _num(g["unexplained_pj"]),
                                           "explained": _num(g["explained"]),
                                           "outside": {k: _num(v) for k, v in g["outside"].items()}}}


@dataclass
class PaperResult:
    """`tlm paper`: `rows` [(Figure, model value, error)] against the paper (`published`: the design's
    own, or None: IMAGINE's), `points` (the macro's peak per precision, tlm.services.paper.MacroPeak),
    the system-level reference run (`reference`, a Result) for the figure `reference_figure`, its
    controller energy by component (`overhead`: tlm.services.calibrate.overhead_breakdown and, against
    the macro peak `macro_peak`, overhead_gap) and, when asked, the `sensitivity`."""

    arch: Any
    published: Any
    rows: list
    points: list
    reference: Any = None
    reference_figure: Any = None
    overhead: dict | None = None  # the reference run's controller energy by component: parts_pj, macro_peak, gap
    sensitivity: dict | None = None  # tlm.services.calibrate.sensitivity, when asked

    def to_dict(self) -> dict:
        from tlm.services import paper as P
        pub = self.published or P.imagine_published()
        return {
            "arch": self.arch.name, "citation": pub.citation, "tolerance": pub.tolerance,
            "own_paper": self.published is not None,
            "figures": [{"key": f.key, "name": f.name(), "metric": f.metric, "unit": f.unit, "ops": f.ops,
                         "input_bits": f.input_bits, "weight_bits": f.weight_bits, "output_bits": f.output_bits,
                         "paper": f.value, "model": _num(m), "error": _num(e)} for f, m, e in self.rows],
            "precision_sweep": [{"bits": p.bits, "bits_w": p.bits_w, "bits_out": p.bits_out, "ops": p.ops,
                                 "energy_pj": p.energy_pj, "time_ns": p.time_ns, "area_mm2": p.area_mm2,
                                 "dp_cycles": int(p.dp_cycles), "conversions": int(p.conversions),
                                 "tops_per_w": _num(p.tops_per_w), "tops_per_mm2": _num(p.tops_per_mm2)}
                                for p in self.points],
            "reference_run": None if self.reference is None else
            {k: (_num(v) if isinstance(v, float) else v) for k, v in self.reference.summary().items()},
            "controller_overhead": None if self.overhead is None else _overhead(self.overhead),
            **({} if self.sensitivity is None else {"sensitivity": self.sensitivity}),
        }

    def frame(self):
        """The figures: paper, model, error (needs pandas)."""
        from tlm.present.frames import paper_frame
        return paper_frame(self)

    def _repr_html_(self) -> str:
        from tlm.present.frames import html_or_none
        return html_or_none(self.frame) or f"<pre>{len(self.rows)} figures</pre>"
