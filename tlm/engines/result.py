"""The result of a simulation, the same for both engines: per-layer arrays, energy by event kind, and
per-component statistics, next to the fully resolved configuration that produced them."""
from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from tlm.records import Record, record

# (event kind, component it belongs to).  'external' is off-chip and kept out of the on-chip total.
ENERGY_KINDS = (
    ("dp_array", "macro"),
    ("input_drivers", "macro"),
    ("input_dac", "macro"),
    ("weight_write", "macro"),
    ("adc", "adc"),
    ("sram_read", "sram"),
    ("sram_write", "sram"),
    ("dma", "dma"),
    ("controller", "controller"),
    ("postproc", "postproc"),
    ("leakage", "leakage"),
    ("external", "external"),
)
KIND_NAMES = tuple(k for k, _ in ENERGY_KINDS)
COMPONENTS = tuple(dict.fromkeys(c for _, c in ENERGY_KINDS))
ON_CHIP = np.array([c != "external" for _, c in ENERGY_KINDS])
SCHEMA_VERSION = 2  # 2: energies name their scope (_per_batch_/_per_inference_), area, tool, inputs

# The naming rule of every output (JSON, CSV, sweep rows, tables; docs/guide.md "Outputs"): a total of a
# run says its scope before its unit, `_per_batch` (the whole run of `batch` images) or `_per_inference`
# (divided by the batch): cycles_per_batch, latency_per_batch_ns, energy_per_batch_pj,
# energy_per_inference_pj, energy_<component>_per_inference_pj, energy_offchip_per_batch_pj.  Rates,
# shares and sizes do not depend on the batch and carry no scope: inferences_per_s, tops, tops_per_w,
# tops_per_mm2, *_utilization, area_mm2, macs (of the whole run, like every per-layer count).  Records
# of one layer or block (JSON `layers`/`components`, layers.csv, blocks.csv) are of the whole run, and
# their energies still say `_per_batch`.  No output has a bare `energy_pj`.

# One summary row of a run: `tlm simulate -o DIR` writes it as summary.csv, and a sweep writes one per
# design point, so a sweep row and a `tlm simulate --set` of the same point read the same.
ROW_COLUMNS = (
    "policy",  # the mapping policy run (`auto`'s choice)
    "batch",  # images per run
    "cycles_per_batch",  # clock cycles of the whole run
    "latency_per_batch_ns",  # time of the whole run
    "image_latency_ns",  # one image, from its input transfer to its result
    "inferences_per_s",
    "energy_per_inference_pj",  # on-chip
    "energy_per_batch_pj",  # on-chip, whole run
    "tops",  # achieved throughput (1 MAC = 2 ops)
    "tops_per_w",  # on-chip energy efficiency
    "spatial_utilization",  # MAC-weighted share of the array holding useful weights
    "temporal_utilization",  # cycle-weighted share of time the macros compute
    "area_mm2",  # macros with ADCs + SRAM + controller (tlm/hw/area.py)
    "tops_per_mm2",  # area efficiency: achieved TOPS / area
    *(f"energy_{c}_per_inference_pj" for c in COMPONENTS),  # energy_external_...: off-chip
)


@record
class Result(Record):
    """Everything one run produced.  Row i of every per-layer array is `layer_names[i]`; the last row is
    the image I/O (input DMA in, output DMA out)."""

    engine: str
    arch: object  # tlm.config.arch.Arch
    workload: object  # tlm.config.workload.Workload
    layer_names: list
    layer_types: list
    per_layer: dict  # name -> np.ndarray (one value per row)
    energy_pj: np.ndarray  # rows x len(ENERGY_KINDS)
    component_busy_cycles: dict  # component -> busy cycles (summed over instances)
    component_stall_cycles: dict = field(default_factory=dict)  # component -> {reason: cycles}
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    # ---- totals ------------------------------------------------------------------------------------
    @property
    def cycles(self) -> int:
        return int(self.per_layer["cycles"].sum())

    @property
    def latency_ns(self) -> float:
        return self.cycles * self.arch.clock.period_ns

    @property
    def batch(self) -> int:
        return self.workload.batch

    @property
    def macs(self) -> int:
        return int(self.per_layer["macs"].sum())

    @property
    def energy_by_kind_pj(self) -> dict:
        tot = self.energy_pj.sum(axis=0)
        return {k: float(v) for k, v in zip(KIND_NAMES, tot)}

    @property
    def energy_by_component_pj(self) -> dict:
        out = dict.fromkeys(COMPONENTS, 0.0)
        for (k, c), v in zip(ENERGY_KINDS, self.energy_pj.sum(axis=0)):
            out[c] += float(v)
        return out

    @property
    def on_chip_energy_pj(self) -> float:
        return float(self.energy_pj[:, ON_CHIP].sum())

    @property
    def energy_per_inference_pj(self) -> float:
        """On-chip energy per inference (the summary's `energy_per_inference_pj`)."""
        return self.on_chip_energy_pj / self.batch

    @property
    def total_energy_pj(self) -> float:
        return float(self.energy_pj.sum())

    def summary(self) -> dict:
        cycles, macs, e_on_pj = self.cycles, self.macs, self.on_chip_energy_pj  # (each summed once)
        ops = 2.0 * macs
        latency_ns = self.latency_ns
        t_s = latency_ns * 1e-9
        e_on = e_on_pj * 1e-12
        e_all = self.total_energy_pj * 1e-12
        off = float(self.energy_pj[:, ~ON_CHIP].sum())  # not total - on-chip: rounding
        from tlm.hw.area import area_mm2
        area = area_mm2(self.arch)
        tops = ops / t_s / 1e12 if t_s > 0 else math.inf
        tops_per_w = ops / e_on / 1e12 if e_on > 0 else math.inf
        tops_per_mm2 = tops / area if area > 0 else math.inf
        k1b = self.ops_1b_per_op()
        return {
            "cycles_per_batch": cycles,
            "latency_per_batch_ns": latency_ns,
            "batch": self.batch,
            "inferences_per_s": self.batch / t_s if t_s > 0 else math.inf,
            "macs": macs,
            "tops": tops,
            "tops_per_w": tops_per_w,
            "tops_per_w_with_offchip": ops / e_all / 1e12 if e_all > 0 else math.inf,
            "energy_per_batch_pj": e_on_pj,
            "energy_per_inference_pj": self.energy_per_inference_pj,
            "energy_offchip_per_batch_pj": off,
            "energy_offchip_per_inference_pj": off / self.batch,
            "spatial_utilization": _weighted(self.per_layer["spatial_utilization"], self.per_layer["macs"]),
            "temporal_utilization": _weighted(self.per_layer["temporal_utilization"],
                                              self.per_layer["cycles"]),
            "area_mm2": area,
            "tops_per_mm2": tops_per_mm2,
            # the same three efficiencies 1b-normalized (2 x input bits x weight bits ops per MAC)
            "tops_1b": tops * k1b,
            "tops_per_w_1b": tops_per_w * k1b,
            "tops_per_mm2_1b": tops_per_mm2 * k1b,
            **({"mapping_policy": mp["policy"], "macros_used": mp["macros_used"],
                "macros_for_residency": mp["macros_for_residency"]}
               if (mp := self.extra.get("mapping")) else {}),
        }

    def ops_1b_per_op(self) -> float:
        """1b-normalized ops per raw op of the whole run: the MAC-weighted mean of input bits x weight bits
        over the compute layers (1 for a 1b x 1b network; 64 for 8b x 8b)."""
        macs = np.asarray(self.per_layer["macs"], dtype=float).tolist()  # (Python floats: cheaper to iterate)
        w = [l.bits_in * l.bits_w if l.is_compute else 0 for l in self.workload.layers]
        w += [0] * (len(macs) - len(w))
        total = sum(macs)
        return sum(m * k for m, k in zip(macs, w)) / total if total > 0 else 1.0

    def row(self) -> dict:
        """The summary row (`ROW_COLUMNS`): energies per inference, on-chip unless named external."""
        s = self.summary()
        from tlm.mapping.mapper import image_latency_cycles
        row = {c: s[c] for c in ROW_COLUMNS if c in s}
        row["policy"] = (self.extra.get("mapping") or {}).get("policy") or self.arch.mapping.policy
        row["image_latency_ns"] = image_latency_cycles(self) * 1e3 / self.arch.clock.frequency_mhz
        for c, e in self.energy_by_component_pj.items():
            row[f"energy_{c}_per_inference_pj"] = e / self.batch
        return {c: row[c] for c in ROW_COLUMNS}

    def to_json_dict(self, inputs=None) -> dict:
        """Everything as JSON-ready data; `inputs`: the files the run read (see tlm/present/outdir.py), each
        {role, path, sha256}."""
        from tlm._version import __version__
        rows = []
        for i, n in enumerate(self.layer_names):
            row = {"name": n, "type": self.layer_types[i]}
            for k, arr in self.per_layer.items():
                row[k] = _py(arr[i])
            row["energy_by_kind_per_batch_pj"] = {k: float(v) for k, v in zip(KIND_NAMES, self.energy_pj[i])}
            ml = (self.extra.get("mapping") or {}).get("layers", {}).get(n)
            if ml is not None:
                row["macros"], row["replicas"] = list(ml["macros"]), int(ml["replicas"])
            rows.append(row)
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "imagine-tlm", "version": __version__},
            "engine": self.engine,
            **({"inputs": list(inputs)} if inputs is not None else {}),
            "summary": {k: _py(v) for k, v in self.summary().items()},
            "energy_by_kind_per_batch_pj": self.energy_by_kind_pj,
            "energy_by_component_per_batch_pj": self.energy_by_component_pj,
            "components": {c: {"busy_cycles": _py(self.component_busy_cycles.get(c, 0)),
                               "stall_cycles": {r: _py(v) for r, v in
                                                sorted(self.component_stall_cycles.get(c, {}).items())}}
                           for c in sorted(set(self.component_busy_cycles) | set(self.component_stall_cycles))},
            "layers": rows,
            "notes": list(self.notes),
            "config": self.arch.to_dict(),
            "workload": self.workload.to_dict(),
            **({"extra": self.extra} if self.extra else {}),
        }

    def _repr_html_(self) -> str:
        """A notebook's view: the summary and the energy by component (stdlib only; the full tables as
        data frames: tlm.frames(result))."""
        import html
        s = self.summary()
        rows = [(k, f"{v:,.6g}" if isinstance(v, float) else str(v)) for k, v in s.items()]
        rows += [(f"energy_{c}_per_batch_pj", f"{v:,.6g}") for c, v in self.energy_by_component_pj.items()]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{html.escape(v)}</td></tr>"
                       for k, v in rows)
        title = html.escape(f"{self.workload.name} on {self.arch.name} ({self.engine} engine)")
        return f"<table><caption>{title}</caption>{body}</table>"

    def to_json(self, inputs=None) -> str:
        import json  # only when writing JSON: not on every start
        return json.dumps(self.to_json_dict(inputs), indent=2, sort_keys=False, allow_nan=False,
                          default=_py) + "\n"


def _weighted(x, w):
    w = np.asarray(w, dtype=float)
    s = w.sum()
    return float((np.asarray(x, dtype=float) * w).sum() / s) if s > 0 else 0.0


def _py(v):
    """numpy scalar -> JSON-safe Python value (inf/nan as strings so the JSON stays standard)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return [_py(x) for x in v.tolist()]
    return v
