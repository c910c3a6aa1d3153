"""The result of a simulation, the same for both engines: per-layer arrays, energy by event kind, and
per-component statistics, next to the fully resolved configuration that produced them."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

# (event kind, component it belongs to).  'external' is off-chip and kept out of the on-chip total.
ENERGY_KINDS = (
    ("dp_array", "macro"),
    ("input_drivers", "macro"),
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
SCHEMA_VERSION = 1


@dataclass
class Result:
    """Everything one run produced.  Row i of every per-layer array is `layer_names[i]`; the last row is
    the image I/O (input DMA in, output DMA out)."""

    engine: str
    arch: object  # tlm.arch.Arch
    workload: object  # tlm.workload.Workload
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
    def total_energy_pj(self) -> float:
        return float(self.energy_pj.sum())

    def summary(self) -> dict:
        ops = 2.0 * self.macs
        t_s = self.latency_ns * 1e-9
        e_on = self.on_chip_energy_pj * 1e-12
        e_all = self.total_energy_pj * 1e-12
        return {
            "cycles": self.cycles,
            "latency_ns": self.latency_ns,
            "batch": self.batch,
            "inferences_per_s": self.batch / t_s if t_s > 0 else math.inf,
            "macs": self.macs,
            "tops": ops / t_s / 1e12 if t_s > 0 else math.inf,
            "tops_per_w": ops / e_on / 1e12 if e_on > 0 else math.inf,
            "tops_per_w_with_offchip": ops / e_all / 1e12 if e_all > 0 else math.inf,
            "energy_pj": self.on_chip_energy_pj,
            "energy_per_inference_pj": self.on_chip_energy_pj / self.batch,
            "offchip_energy_pj": float(self.energy_pj[:, ~ON_CHIP].sum()),  # not total - on-chip: rounding
            "spatial_utilization": _weighted(self.per_layer["spatial_utilization"], self.per_layer["macs"]),
            "temporal_utilization": _weighted(self.per_layer["temporal_utilization"],
                                              self.per_layer["cycles"]),
            **({"mapping_policy": mp["policy"], "macros_used": mp["macros_used"],
                "macros_for_residency": mp["macros_for_residency"]}
               if (mp := self.extra.get("mapping")) else {}),
        }

    def to_json_dict(self) -> dict:
        rows = []
        for i, n in enumerate(self.layer_names):
            row = {"name": n, "type": self.layer_types[i]}
            for k, arr in self.per_layer.items():
                row[k] = _py(arr[i])
            row["energy_pj"] = {k: float(v) for k, v in zip(KIND_NAMES, self.energy_pj[i])}
            ml = (self.extra.get("mapping") or {}).get("layers", {}).get(n)
            if ml is not None:
                row["macros"], row["replicas"] = list(ml["macros"]), int(ml["replicas"])
            rows.append(row)
        return {
            "schema_version": SCHEMA_VERSION,
            "engine": self.engine,
            "summary": {k: _py(v) for k, v in self.summary().items()},
            "energy_by_kind_pj": self.energy_by_kind_pj,
            "energy_by_component_pj": self.energy_by_component_pj,
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

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=2, sort_keys=False, allow_nan=False,
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
