"""The peers: whole-process time of ZigZag-IMC and SCALE-Sim on the same networks against `tlm simulate`.

    python benchmarks/peers.py [--repeats 3] [--timeout 400] [--peer-python PATH] [--json OUT]

Runs only what is installed: ZigZag (pip package `zigzag-dse`, 3.9.1 measured; the ZigZag-IMC model is
part of it) and SCALE-Sim (`scalesim`, 3.0.0 measured), found in the interpreter `--peer-python` (default:
this one; better a virtual environment of their own: `pip install zigzag-dse==3.9.1 scalesim==3.0.0 six
"numpy<2.3"` -- SCALE-Sim 3.0.0 fails on numpy 2.3's scalar conversion, ZigZag 3.9.1 imports six without
requiring it; neither is a dependency or an extra of tlm).  A peer that is absent is
reported as skipped and the script exits 0: both are optional, never a dependency of tlm.

Each tool gets the network in its own documented input format, written from the project's workload file
(workloads/NAME.yaml, the shapes tlm resolves): its compute layers (convolutions; dense layers as 1x1
convolutions) and, for ZigZag, its residual adds (its graph needs them); the other digital layers are
left out, which only makes the peers' work smaller:
- ZigZag: an ONNX model of those layers (Conv, Add, and GlobalAveragePool + Flatten + Gemm for a dense
  layer; written with the onnx package ZigZag installs, zero weights: ZigZag reads shapes only), its
  shipped analog-IMC accelerator (inputs/hardware/aimc.yaml) and IMC mapping
  (inputs/mapping/default_imc.yaml), through its API `get_hardware_performance_zigzag(...,
  in_memory_compute=True)`, latency optimized.  A final dense layer with fewer than 4,096 weights
  (ResNet-8's 64 x 10 classifier) goes in as a 1x1 convolution before the pool (ResNet-8: 40,960 MACs
  instead of 640, 0.3% of its MACs): ZigZag 3.9.1's mapping printer fails on a layer it unrolls
  completely (max() of no temporal loop), and its data-locality stage on a graph that ends in a pool.
- SCALE-Sim: a convolution topology CSV (IFMAP height/width including the padding, filter height/width,
  channels, filters, stride), a layout CSV (header only: no custom layout), and a config of a 32x32
  output-stationary array, through its command line `python -m scalesim.scale -c -t -l -p` (which
  writes its per-layer traces: its `-s N` flag does not reach the simulator in 3.0.0).
- tlm: `python -m tlm simulate NAME -q` (the default engine, the shipped config).
Every run is a fresh process (interpreter start, imports, inputs, the run, its outputs); the figure is
the median wall time of `--repeats` runs (ResNet-18 and any run past `--timeout` once: a run killed at
the timeout is reported as "> timeout"), and the CPU time of the process and its children beside it.
The ratios divide by `tlm simulate` of the same network measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NETWORKS = ("resnet8", "resnet18")
PEERS = {"zigzag": "zigzag-dse", "scalesim": "scalesim"}  # import name -> pip package
ZIGZAG_MIN_DENSE_WEIGHTS = 4096  # a final classifier smaller than this is left out for ZigZag (see the top)
SCALESIM_ARRAY = 32  # rows = columns of the systolic array
SCALESIM_SRAM_KB = 64  # ifmap, filter and ofmap SRAMs each


# ---- the network, from the project's workload file ------------------------------------------------
def compute_layers(name: str) -> list[dict]:
    """The compute layers of workloads/NAME.yaml as plain numbers (input channels and size, output
    channels and size, kernel, stride, padding top, left, bottom, right) and its residual adds (`add`:
    channels and size), each with the indices of the layers producing its inputs (`sources`, through
    pools and views; the network's input: none)."""
    from tlm.config.workload import load_workload
    wl = load_workload(ROOT / "workloads" / f"{name}.yaml")
    by_name = {l.name: l for l in wl.layers}
    kept = lambda l: l.is_compute or l.type == "add"  # noqa: E731

    def producer(src):  # the kept layer whose output reaches `src` (through pools and views)
        while src in by_name and not kept(by_name[src]):
            src = by_name[src].inputs[-1] if by_name[src].inputs else None
        return src if src in by_name else None
    def upstream(src):  # the layers between `src` and its kept producer, `src` first
        path = []
        while src in by_name and not kept(by_name[src]):
            path.append(src)
            src = by_name[src].inputs[-1] if by_name[src].inputs else None
        return path
    out, index = [], {}
    for l in wl.layers:
        if not kept(l):
            continue
        index[l.name] = len(out)
        sources = [index.get(producer(s)) for s in l.inputs]
        if l.type == "add":
            out.append({"name": l.name, "add": True, "k": l.c_out, "oh": l.out_shape[1], "ow": l.out_shape[2],
                        "sources": sources})
            continue
        conv = l.type == "conv2d"
        ih, iw = (l.in_shape[1], l.in_shape[2]) if conv else (1, 1)
        oh, ow = (l.out_shape[1], l.out_shape[2]) if conv else (1, 1)
        c_in = l.c_in // l.groups if conv else math_prod(l.in_shape)
        out.append({"name": l.name, "add": False, "dense": not conv, "c": c_in, "k": l.c_out,
                    "ih": ih, "iw": iw, "oh": oh, "ow": ow,
                    "fh": l.kernel[0] if conv else 1, "fw": l.kernel[1] if conv else 1,
                    "s": l.stride[0] if conv else 1, "pad": list(l.padding) if conv else [0, 0, 0, 0],
                    "groups": l.groups if conv else 1, "sources": sources[:1],
                    "pooled": not conv and any(by_name[n].type.startswith("global_") for n in upstream(l.inputs[0]))})
    return out


def math_prod(xs) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


_ONNX = r"""
import json, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
layers, path = json.loads(sys.argv[1]), sys.argv[2]
first = layers[0]
nodes, inits, names = [], [], []
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, first["c"] * first["groups"], first["ih"], first["iw"]])
for i, l in enumerate(layers):
    ins = [names[s] if s is not None else "x" for s in l["sources"]] or ["x"]
    out = l["name"]
    if l["add"]:
        nodes.append(helper.make_node("Add", ins[:2], [out], name=out))
    else:
        if l.get("as_conv"):  # the classifier as a 1x1 convolution on its producer's map (see the top)
            inits.append(numpy_helper.from_array(np.zeros((l["k"], l["c"], 1, 1), np.float32), out + "_w"))
            nodes.append(helper.make_node("Conv", [ins[0], out + "_w"], [out], name=out, kernel_shape=[1, 1]))
        elif l["dense"]:
            flat, src = out + "_flat", ins[0]
            if l["pooled"]:  # a global average pool between its producer and it
                nodes.append(helper.make_node("GlobalAveragePool", [src], [out + "_pool"], name=out + "_pool"))
                src = out + "_pool"
            nodes.append(helper.make_node("Flatten", [src], [flat], name=flat))
            inits.append(numpy_helper.from_array(np.zeros((l["k"], l["c"]), np.float32), out + "_w"))
            nodes.append(helper.make_node("Gemm", [flat, out + "_w"], [out], name=out, transB=1))
        else:
            w = np.zeros((l["k"], l["c"], l["fh"], l["fw"]), np.float32)
            inits.append(numpy_helper.from_array(w, out + "_w"))
            nodes.append(helper.make_node("Conv", [ins[0], out + "_w"], [out], name=out, group=l["groups"],
                                          kernel_shape=[l["fh"], l["fw"]], strides=[l["s"], l["s"]],
                                          pads=[l["pad"][0], l["pad"][1], l["pad"][2], l["pad"][3]]))
    names.append(out)
y = helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, None)
model = helper.make_model(helper.make_graph(nodes, "net", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 13)])
model = onnx.shape_inference.infer_shapes(model)
onnx.save(model, path)
"""


def scalesim_topology(layers: list[dict]) -> str:
    """SCALE-Sim's convolution topology CSV: the IFMAP includes the padding (SCALE-Sim pads nothing)."""
    rows = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"]
    for l in layers:
        if l["add"]:  # (a systolic array runs GEMMs only)
            continue
        ih, iw = l["ih"] + l["pad"][0] + l["pad"][2], l["iw"] + l["pad"][1] + l["pad"][3]
        rows.append(f"{l['name']}, {ih}, {iw}, {l['fh']}, {l['fw']}, {l['c'] * l['groups']}, {l['k']}, {l['s']},")
    return "\n".join(rows) + "\n"


SCALESIM_LAYOUT = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
                   "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter "
                   "Intraline Factor,\n")


def scalesim_config() -> str:
    n, kb = SCALESIM_ARRAY, SCALESIM_SRAM_KB
    return f"""[general]
run_name = peers

[architecture_presets]
ArrayHeight : {n}
ArrayWidth : {n}
IfmapSramSzkB : {kb}
FilterSramSzkB : {kb}
OfmapSramSzkB : {kb}
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Dataflow : os
Bandwidth : 10
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
FilterCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 10
IfmapSRAMBankPort : 2
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 10
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""


_ZIGZAG = """
import os, sys
from importlib.resources import files
from zigzag.api import get_hardware_performance_zigzag
inputs = files("zigzag") / "inputs"
get_hardware_performance_zigzag(workload=sys.argv[1], accelerator=str(inputs / "hardware" / "aimc.yaml"),
    mapping=str(inputs / "mapping" / "default_imc.yaml"), opt="latency", dump_folder=sys.argv[2],
    in_memory_compute=True, loma_show_progress_bar=False)
"""


# ---- running and timing -----------------------------------------------------------------------------
def installed(python: str) -> dict:
    """import name -> its version in `python`, None when absent."""
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor mod, pkg in json.loads(sys.argv[1]).items():\n"
            "    try:\n        out[mod] = m.version(pkg)\n    except m.PackageNotFoundError:\n        out[mod] = None\n"
            "print(json.dumps(out))")
    p = subprocess.run([python, "-c", code, json.dumps(PEERS)], capture_output=True, text=True, timeout=120)
    return json.loads(p.stdout) if p.returncode == 0 else {k: None for k in PEERS}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path, timeout: float, env: dict) -> dict:
    """One fresh process: wall and CPU seconds (its children's included), or timed out."""
    c0, t0 = _children_cpu(), time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"wall_s": timeout, "timed_out": True}
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return {"wall_s": wall, "cpu_s": cpu, "timed_out": False}


def measure(cmd, cwd, timeout, env, repeats) -> dict:
    """Median of `repeats` runs (one when the first takes more than a tenth of the timeout)."""
    runs = [timed(cmd, cwd, timeout, env)]
    while len(runs) < repeats and not runs[0]["timed_out"] and runs[0]["wall_s"] < timeout / 10:
        runs.append(timed(cmd, cwd, timeout, env))
    if runs[0]["timed_out"]:
        return {"wall_s": timeout, "cpu_s": None, "timed_out": True, "runs": 1}
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs), "timed_out": False, "runs": len(runs)}


def commands(tool: str, net: str, tmp: Path, peer_python: str) -> list[str]:
    """The command line of `tool` on network `net`, its inputs written into `tmp`."""
    if tool == "tlm":
        return [sys.executable, "-m", "tlm", "simulate", net, "-q"]
    layers = compute_layers(net)
    if tool == "zigzag":  # the network as an ONNX model (ZigZag's main input), written by the peer's onnx
        last = layers[-1]
        if last.get("dense") and last["k"] * last["c"] < ZIGZAG_MIN_DENSE_WEIGHTS:
            layers = layers[:-1] + [{**last, "as_conv": True}]  # its printer fails on it (see the top)
        model = tmp / f"{net}.onnx"
        subprocess.run([peer_python, "-c", _ONNX, json.dumps(layers), str(model)], check=True, capture_output=True,
                       timeout=300)
        return [peer_python, "-c", _ZIGZAG, str(model), str(tmp / f"zigzag-{net}")]
    (tmp / f"{net}.csv").write_text(scalesim_topology(layers))
    (tmp / "layout.csv").write_text(SCALESIM_LAYOUT)
    (tmp / "scale.cfg").write_text(scalesim_config())
    return [peer_python, "-m", "scalesim.scale", "-c", str(tmp / "scale.cfg"), "-t", str(tmp / f"{net}.csv"),
            "-l", str(tmp / "layout.csv"), "-p", str(tmp / f"scalesim-{net}")]


def run_all(peer_python: str, repeats: int, timeout: float) -> dict:
    versions = installed(peer_python)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rows = []
    with tempfile.TemporaryDirectory(prefix="tlm-peers-") as d:
        tmp = Path(d)
        for net in NETWORKS:
            base = measure(commands("tlm", net, tmp, peer_python), tmp, timeout, env, repeats)
            rows.append({"network": net, "tool": "tlm simulate", "version": None, **base})
            for tool in PEERS:
                if versions.get(tool) is None:
                    rows.append({"network": net, "tool": tool, "version": None, "skipped": "not installed"})
                    continue
                reps = 1 if net == "resnet18" else repeats
                m = measure(commands(tool, net, tmp, peer_python), tmp, timeout, env, reps)
                m["wall_ratio"] = m["wall_s"] / base["wall_s"]
                m["cpu_ratio"] = None if m["cpu_s"] is None else m["cpu_s"] / base["cpu_s"]
                rows.append({"network": net, "tool": tool, "version": versions[tool], **m})
    uptime = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"command": "python benchmarks/peers.py " + " ".join(sys.argv[1:]), "rows": rows,
            "machine": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                        "system": platform.system(), "load_average": uptime},
            "timeout_s": timeout, "repeats": repeats}


def render(res: dict) -> str:
    """The table (80 columns): network, tool, wall and CPU seconds, ratios to `tlm simulate`."""
    lines = [f"{'network':<9} {'tool':<20} {'wall s':>9} {'CPU s':>9} {'x tlm wall':>11} {'x tlm CPU':>10}"]
    for r in res["rows"]:
        tool = r["tool"] + (f" {r['version']}" if r.get("version") else "")
        if r.get("skipped"):
            lines.append(f"{r['network']:<9} {tool:<20} skipped: {r['skipped']}")
            continue
        wall = f"> {r['wall_s']:.0f}" if r["timed_out"] else f"{r['wall_s']:.3g}"
        cpu = "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.3g}"
        wr = "-" if "wall_ratio" not in r else (">" if r["timed_out"] else "") + f"{r['wall_ratio']:.0f}"
        cr = "-" if r.get("cpu_ratio") is None else f"{r['cpu_ratio']:.0f}"
        lines.append(f"{r['network']:<9} {tool:<20} {wall:>9} {cpu:>9} {wr:>11} {cr:>10}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=400.0, help="seconds before a run is stopped")
    ap.add_argument("--peer-python", default=sys.executable, help="the interpreter the peers are installed in")
    ap.add_argument("--json", help="write the measurements to this file")
    args = ap.parse_args(argv)
    res = run_all(args.peer_python, max(args.repeats, 1), args.timeout)
    print(render(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
