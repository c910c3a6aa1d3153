"""One output folder per run, gem5-style (`tlm simulate -o DIR`), and the CSV files of a Result.

    DIR/config.yaml     the fully resolved architecture (`extends:` and `--set` applied); loads as is
    DIR/workload.yaml   the resolved workload (`--set` applied), every layer written out; loads as is
    DIR/stats.json      every number (the `--json` content)
    DIR/summary.csv     one row: the columns of a sweep row (tlm.engines.result.ROW_COLUMNS)
    DIR/layers.csv      one row per layer: shapes, precisions, mapping, cycles, traffic, energy by kind
    DIR/energy.csv      energy by component and event kind, per batch and per inference
    DIR/blocks.csv      busy / stalled / idle cycles of every block (instance), the most it held at once
    DIR/trace.json      with --trace: the Chrome/Perfetto trace
    DIR/plots/          with --plot: the plots (PNG, SVG)
    DIR/manifest.json   the command line, the tool version, every input file with its SHA-256 and every
                        file written here with its SHA-256

Every name follows the naming rule of tlm/engines/result.py (per batch unless `_per_inference`).  The files are
written as one set (tlm.config.yamlio.atomic_write_all): all of them or none.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from pathlib import Path

from tlm.engines.result import ENERGY_KINDS, KIND_NAMES, ROW_COLUMNS, Result

FILES = ("config.yaml", "workload.yaml", "stats.json", "summary.csv", "layers.csv", "energy.csv", "blocks.csv")
MAX_INPUTS = 64  # files followed through `extends:` chains (the loader bounds the chain itself)


def cell(v) -> str:
    """A CSV cell: the shortest exact text of a number (repr of the float), true/false for booleans (the
    sweep's cells, tlm/overrides.format_cell)."""
    from tlm.config.overrides import format_cell
    return format_cell(v)


def _csv(rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([cell(c) for c in r])
    return buf.getvalue()


def _shape(s) -> str:
    return "x".join(str(int(d)) for d in s)


def summary_csv(r: Result) -> str:
    row = r.row()
    return _csv([ROW_COLUMNS, [row[c] for c in ROW_COLUMNS]])


def layers_csv(r: Result) -> str:
    """One row per layer (and the image I/O row): shapes C x H x W, precisions in bits, every per-layer
    number of the engines (per batch) and the energy of every event kind per batch."""
    keys = list(r.per_layer)
    layers = {l.name: l for l in r.workload.layers}
    rows = [["layer", "type", "in_shape", "out_shape", "input_bits", "weight_bits", "output_bits", *keys,
             *(f"energy_{k}_per_batch_pj" for k in KIND_NAMES)]]
    for i, name in enumerate(r.layer_names):
        L = layers.get(name)
        if L is None:  # the image I/O row
            geo = ["", "", r.workload.input_bits, "", ""]
        else:
            geo = [_shape(L.in_shape), _shape(L.out_shape), L.bits_in,
                   L.bits_w if L.is_compute else "", L.bits_out]
        rows.append([name, r.layer_types[i], *geo, *(r.per_layer[k][i].item() for k in keys),
                     *(float(v) for v in r.energy_pj[i])])
    return _csv(rows)


def energy_csv(r: Result) -> str:
    rows = [["component", "kind", "energy_per_batch_pj", "energy_per_inference_pj"]]
    for (kind, comp), v in zip(ENERGY_KINDS, r.energy_pj.sum(axis=0)):
        rows.append([comp, kind, float(v), float(v) / r.batch])
    return _csv(rows)


def blocks_csv(r: Result) -> str:
    """Busy, stalled (with the reason of each stall) and idle cycles per block, and the most a FIFO, queue
    or bank held at once (`peak`, `peak_of`): per instance from the
    TLM engine, per component (busy only, contention-free) from the analytic one."""
    total = int(r.extra.get("elapsed_cycles", r.cycles))
    rows = [["block", "busy_cycles", "stall_cycles", "stalled_on", "idle_cycles", "busy_share", "peak", "peak_of"]]
    inst = r.extra.get("instances")
    if inst:
        for name, s in inst.items():
            st = s["stall_cycles"]
            rows.append([name, int(s["busy_cycles"]), int(sum(st.values())),
                         ";".join(f"{k}={int(v)}" for k, v in st.items()), int(s["idle_cycles"]),
                         s["busy_cycles"] / total if total else 0.0, s.get("peak", ""), s.get("peak_of", "")])
    else:
        for c in sorted(set(r.component_busy_cycles) | set(r.component_stall_cycles)):
            busy = int(r.component_busy_cycles.get(c, 0))
            st = r.component_stall_cycles.get(c, {})
            stalled = int(sum(st.values()))
            rows.append([c, busy, stalled, ";".join(f"{k}={int(v)}" for k, v in sorted(st.items())),
                         max(total - busy - stalled, 0), busy / total if total else 0.0, "", ""])
    return _csv(rows)


def config_yaml(arch) -> str:
    import yaml
    head = (f"# the resolved architecture '{arch.name}' of this run (extends: and --set applied), "
            "an architecture file itself\n")
    return head + yaml.safe_dump(arch.to_dict(), sort_keys=False, default_flow_style=None, width=100)


def workload_yaml(wl) -> str:
    """The resolved workload (`--set` applied) as a workload file: every layer with its inputs, shapes'
    parameters and precisions written out, so it loads to the same layers on its own."""
    import yaml
    layers = []
    for L in wl.layers:
        d = {"name": L.name, "type": L.type}
        if L.type in ("add", "concat") or (L.type == "eltwise" and len(L.inputs) > 1):
            d["inputs"] = list(L.inputs)
        else:
            d["input"] = L.inputs[0]
        if L.type == "conv2d":
            d["out_channels"] = L.out_shape[0]
        if L.type == "dense":
            d["out_features"] = L.out_shape[0]
        if L.type in ("conv2d", "maxpool", "avgpool"):
            d.update(kernel=list(L.kernel), stride=list(L.stride), padding=list(L.padding))
        if L.type == "conv2d":
            d.update(dilation=list(L.dilation), groups=L.groups)
        if L.type == "reshape":
            d["shape"] = list(L.out_shape)
        if L.type == "eltwise":
            d.update(op=L.op, ops_per_element=L.ops_per_element)
        d["precision"] = {"input": L.bits_in, "weight": L.bits_w, "output": L.bits_out}
        if L.relu:
            d["relu"] = True
        if "weights" in L.extra:
            d["weights"] = L.extra["weights"]
        layers.append(d)
    top = {"name": wl.name, "input": {"shape": list(wl.input_shape), "bits": wl.input_bits}, "batch": wl.batch}
    if wl.source:
        top["source"] = wl.source
    w = wl.extra.get("weights")
    if isinstance(w, str):  # the weights file of the original workload, wherever this one is written
        top["weights"] = str((Path(wl.file).parent / w).resolve()) if not Path(w).is_absolute() else w
    if wl.notes:
        top["notes"] = list(wl.notes)
    top["layers"] = layers
    head = (f"# the resolved workload '{wl.name}' of this run (--set applied), every layer written out; "
            "a workload file itself\n")
    return head + yaml.safe_dump(top, sort_keys=False, default_flow_style=None, width=110)


# ---- inputs -------------------------------------------------------------------------------------------
def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files(arch_path, workload_path) -> list[dict]:
    """The files a run read: the architecture, the files it extends (in order), the workload; each
    {role, path, sha256}."""
    from tlm.config.paths import shipped
    from tlm.config.yamlio import load_file, resolve_base
    out = []
    p = Path(arch_path).resolve() if arch_path is not None else None
    role = "architecture"
    seen = set()
    while p is not None and p not in seen and len(out) < MAX_INPUTS:
        seen.add(p)
        out.append({"role": role, "path": str(p), "sha256": sha256(p)})
        name = load_file(p, "architecture file").get("extends")
        p = resolve_base(name, p, shipped("configs")) if isinstance(name, str) else None
        role = "architecture base (extends)"
    if workload_path is not None:
        w = Path(workload_path).resolve()
        out.append({"role": "workload", "path": str(w), "sha256": sha256(w)})
    return out


# ---- the folder -----------------------------------------------------------------------------------------
def files(r: Result, inputs: list, argv: list, extra: dict | None = None) -> list[tuple[str, str | bytes]]:
    """(name inside the folder, content) of every file, the manifest last; `extra`: more files by name
    (the trace, the plots) to write and list with the others."""
    from tlm._version import __version__
    out = [("config.yaml", config_yaml(r.arch)), ("workload.yaml", workload_yaml(r.workload)),
           ("stats.json", r.to_json(inputs)),
           ("summary.csv", summary_csv(r)), ("layers.csv", layers_csv(r)), ("energy.csv", energy_csv(r)),
           ("blocks.csv", blocks_csv(r))]
    out += sorted((extra or {}).items())
    digest = {name: hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
              for name, data in out}
    manifest = {
        "tool": {"name": "imagine-tlm", "version": __version__},
        "python": ".".join(map(str, sys.version_info[:3])),
        "command": ["tlm", *argv],
        "engine": r.engine,
        "inputs": inputs,
        "files": digest,
    }
    out.append(("manifest.json", json.dumps(manifest, indent=2) + "\n"))
    return out


def check_targets(paths) -> None:
    """Refuse before anything is written when a file of the set could not replace what is there (a
    folder, a device, a FIFO, a symlink) or its folder is a file: then the set is written whole or not
    at all, not cut short at its first rename."""
    import os
    import stat

    from tlm.errors import InputError, Where
    for p in paths:
        p = Path(p)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror}", Where(str(p))) from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise InputError(f"cannot write: {kind} is in the way", Where(str(p)))
        for parent in p.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise InputError("cannot write: its folder is a file", Where(str(p)))
                break


def collect(folder: Path) -> dict:
    """Every file under `folder` (a scratch folder a writer filled) by relative name, as bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file()}
