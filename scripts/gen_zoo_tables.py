"""Refresh the numbers of the zoo tables in docs/onnx.md (analytic engine, shipped default config).

    python scripts/gen_zoo_tables.py

Rows are recognised by their first cell (a shipped workload in backticks, or a model of the onnx wheel);
the descriptive cells are kept, the measured ones recomputed.
"""
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.engines.registry import run  # noqa: E402
from tlm.config.arch import load_arch  # noqa: E402
from tlm.present.report import _eng  # noqa: E402
from tlm.config.workload import load_workload  # noqa: E402


def simulate(arch, wl):
    """The analytic engine, `mapping.policy: auto` resolved by the registry."""
    return run("analytic", arch, wl)


LIGHT = {"ResNet-50": "resnet50", "VGG-19": "vgg19", "SqueezeNet 1.0": "squeezenet", "ShuffleNet": "shufflenet",
         "Inception v1": "inception_v1", "Inception v2": "inception_v2", "DenseNet-121": "densenet121",
         "AlexNet (BVLC)": "bvlc_alexnet", "ZFNet-512": "zfnet512"}


def numbers(r):
    s = r.summary()
    n = len(r.workload.layers)
    nc = sum(l.is_compute for l in r.workload.layers)
    return (f"{n} ({nc})", f"{r.macs:,}", _eng(s["latency_per_batch_ns"] * 1e-9, "s"),
            f"{s['energy_per_inference_pj'] * 1e-6:.4g} uJ", f"{s['tops_per_w']:.3g}",
            f"{100 * s['spatial_utilization']:.1f}%")


def main():
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    doc = ROOT / "docs" / "onnx.md"
    out = []
    for line in doc.read_text().split("\n"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        m = re.fullmatch(r"`(\w+)`", cells[0]) if cells else None
        if m and (ROOT / "workloads" / f"{m.group(1)}.yaml").exists() and len(cells) == 8:
            r = simulate(arch, load_workload(ROOT / "workloads" / f"{m.group(1)}.yaml"))
            layers, macs, lat, e, eff, util = numbers(r)
            cells = [cells[0], cells[1], layers, macs, lat, e, eff, util]
        elif cells and cells[0] in LIGHT and len(cells) == 7:
            import onnx
            from tlm.onnxio.graph import load_onnx
            path = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"light_{LIGHT[cells[0]]}.onnx"
            r = simulate(arch, load_onnx(path))
            layers, macs, lat, e, eff, _ = numbers(r)
            cells = [cells[0], layers, macs, lat, e, eff, cells[6]]
        else:
            out.append(line)
            continue
        out.append("| " + " | ".join(cells) + " |")
    doc.write_text("\n".join(out))
    print(f"wrote {doc}")


if __name__ == "__main__":
    main()
