"""Regenerate the figures of docs/accuracy.md (between `<!-- gen:KEY -->` and `<!-- /gen:KEY -->`).

    python scripts/gen_accuracy_doc.py            # rewrite docs/accuracy.md (about a minute)
    python scripts/gen_accuracy_doc.py --readme   # print docs/guide.md's accuracy and energy tables
    python scripts/gen_accuracy_doc.py --check    # exit 1 if the fingerprint or the quick figures are stale
    python scripts/gen_accuracy_doc.py --only bits,noise   # those blocks (and the quick ones) only

Every figure comes from this script (seed 0, 1,000 held-out mnist5k images unless said).  The doc records
a fingerprint of what its accuracy figures depend on (the functional model's code, the shipped network,
the config values it reads); tests/test_functional_docs.py checks it and recomputes the energy table.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DOC = ROOT / "docs" / "accuracy.md"
BLOCK = re.compile(r"(<!-- gen:(?P<key>[a-z_0-9]+) -->\n)(?P<body>.*?)(<!-- /gen:(?P=key) -->)", re.S)
FINGERPRINT_FILES = ("tlm/functional/model.py", "tlm/functional/macro.py", "tlm/functional/joins.py",
                     "tlm/services/accuracy.py", "tlm/functional/datasets.py", "tlm/onnxio/weights.py",
                     "tlm/engines/transaction/datapath.py", "workloads/mnist_cnn.yaml", "workloads/mnist_cnn.npz",
                     "workloads/mnist_cnn.onnx")
BITS = (8, 6, 5, 4, 3, 2)
PRECISIONS = (2, 3, 4, 5, 6, 7, 8)  # `--set workload.precision=B` of the precision table
NOISE_LEVELS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def arch():
    from tlm.config.arch import load_arch
    return load_arch(ROOT / "configs" / "imagine.yaml")


def fingerprint() -> str:
    """sha256 of the code and data the accuracy figures depend on, and of the config values they read."""
    a = arch()
    h = hashlib.sha256()
    for f in FINGERPRINT_FILES:
        h.update(f.encode() + b"\0" + (ROOT / f).read_bytes())
    used = (a.functional, a.macro.rows, a.macro.dp_split_blocks, a.macro.c_cell_ff, a.macro.c_column_ff,
            a.technology.vdd_array_v, a.precision)
    h.update(repr(used).encode())
    return h.hexdigest()[:16]


def cli(args: str) -> str:
    from tlm.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(args.split())
    if code != 0:
        raise SystemExit(f"tlm {args} exited {code}")
    return "\n".join(ln.rstrip() for ln in buf.getvalue().rstrip("\n").split("\n"))


def _with(a, **functional):
    from tlm.config.arch import arch_from_dict
    d = a.to_dict()
    d["functional"].update(functional)
    return arch_from_dict(d, a.name)


def _data(images=1000):
    from tlm.services import accuracy as A
    from tlm.config.workload import load_workload
    wl = load_workload(ROOT / "workloads" / "mnist_cnn.yaml")
    x, y = A.held_out_images(wl, "mnist5k", images)
    return wl, x, y


def pct(v) -> str:
    return f"{100 * v:.1f}%"


def bits_table() -> str:
    from tlm.services import accuracy as A
    from tlm.functional import model as F
    a = arch()
    wl0, x, y = _data()
    rows = ["| output bits | ideal integer | CIM adaptive | CIM fixed (full range) | CIM fixed (1/16 range) |",
            "|---:|---:|---:|---:|---:|"]
    for b in BITS:
        wl = A.with_output_bits(wl0, b)
        net = F.build(a, wl)
        e = A.evaluate(net, x, y, "adaptive", a.functional.noise_lsb, 0, ("ideal", "cim"))
        fx = A.evaluate(net, x, y, "fixed", a.functional.noise_lsb, 0, ("cim",)).accuracy["cim"]
        net16 = F.build(_with(a, fixed_range_fraction=0.0625), wl)
        f16 = A.evaluate(net16, x, y, "fixed", a.functional.noise_lsb, 0, ("cim",)).accuracy["cim"]
        rows.append(f"| {b} | {pct(e.accuracy['ideal'])} | {pct(e.accuracy['cim'])} | {pct(fx)} | {pct(f16)} |")
    return "\n".join(rows)


def precision_table() -> str:
    """Accuracy against the workload precision (`--set workload.precision=B`: image, weights and outputs at B
    bits; the images quantized to B-bit codes), float / ideal integer / CIM adaptive."""
    from tlm.config.overrides import with_precision
    from tlm.services import accuracy as A
    from tlm.functional import model as F
    a = arch()
    wl0, _, _ = _data(1)
    rows = ["| precision (input, weight, output bits) | float | ideal integer | CIM adaptive | ideal - CIM |",
            "|---:|---:|---:|---:|---:|"]
    for b in PRECISIONS:
        wl = with_precision(wl0, input=b, weight=b, output=b)
        x, y = A.held_out_images(wl, "mnist5k", 1000)
        e = A.evaluate(F.build(a, wl), x, y, "adaptive", a.functional.noise_lsb, 0).accuracy
        rows.append(f"| {b} | {pct(e['float'])} | {pct(e['ideal'])} | {pct(e['cim'])} | "
                    f"{100 * (e['ideal'] - e['cim']):+.1f} |")
    return "\n".join(rows)


def noise_table() -> str:
    """Accuracy and ENOB per layer against the comparator noise, with the DP-line noise kT/C and off."""
    from tlm.services import accuracy as A
    from tlm.functional import model as F
    a = arch()
    wl, x, y = _data()
    comp = [L.name for L in wl.layers if L.is_compute]
    head = "| comparator noise (LSB) | DP-line noise | CIM accuracy | " + " | ".join(f"ENOB {n}" for n in comp) + " |"
    rows = [head, "|---:|---|---:|" + "---:|" * len(comp)]
    for dp in ("ktc", "off"):
        net = F.build(_with(a, dp_noise=dp), wl)
        for s in NOISE_LEVELS:
            e = A.evaluate(net, x, y, "adaptive", s, 0, ("cim",))
            en = " | ".join(f"{e.stats[n].enob(e.stats[n].sqnr_db):.1f}" for n in comp)
            rows.append(f"| {s:g} | {'kT/C' if dp == 'ktc' else 'off'} | {pct(e.accuracy['cim'])} | {en} |")
    return "\n".join(rows)


def energy_table(images: int = 200) -> str:
    """Energy per inference with the assumed input bit density and with the one measured on data."""
    from tlm.services import accuracy as A
    from tlm.engines.registry import run
    from tlm.engines.result import KIND_NAMES, ON_CHIP
    a = arch()
    wl, _, _ = _data(1)
    m = A.measure(a, wl, "mnist5k", images)
    e_as, e_me = run("analytic", a, wl), run("analytic", a, wl, input_density=m.density)
    per_img = A.image_energies_pj(a, wl, m)
    k = [KIND_NAMES.index("dp_array"), KIND_NAMES.index("input_drivers")]
    rows = ["| layer | input bit density, assumed | measured (per image) | DP array + input drivers, assumed | "
            "measured |", "|---|---:|---:|---:|---:|"]
    for i, L in enumerate(wl.layers):
        if not L.is_compute:
            continue
        d = m.image_density[L.name]
        rows.append(f"| {L.name} | {a.activity.input_bit_density:g} | {m.density[i]:.3f} ({d.min():.3f}-{d.max():.3f}) | "
                    f"{e_as.energy_pj[i, k].sum() / 1e3:.3f} nJ | {e_me.energy_pj[i, k].sum() / 1e3:.3f} nJ |")
    tot_as = e_as.energy_pj[:, ON_CHIP].sum() / 1e3
    tot_me = e_me.energy_pj[:, ON_CHIP].sum() / 1e3
    rows.append(f"| on-chip total | | | {tot_as:.1f} nJ | {tot_me:.1f} nJ ({100 * (tot_me / tot_as - 1):+.1f}%; "
                f"per image {per_img.min() / 1e3:.1f}-{per_img.max() / 1e3:.1f} nJ) |")
    return (f"`tlm simulate imagine mnist_cnn --engine analytic [--activity-from mnist5k]`, densities measured "
            f"on {images} held-out mnist5k images:\n\n" + "\n".join(rows))


def adaptive8() -> str:
    """The 8-bit adaptive accuracies (float, ideal integer, CIM) on 1,000 images: the quick check."""
    from tlm.services import accuracy as A
    from tlm.functional import model as F
    a = arch()
    wl, x, y = _data()
    e = A.evaluate(F.build(a, wl), x, y, "adaptive", a.functional.noise_lsb, 0)
    return (f"8-bit, adaptive swing, comparator noise {a.functional.noise_lsb:g} LSB + DP line kT/C, seed 0: "
            f"float {pct(e.accuracy['float'])}, ideal integer {pct(e.accuracy['ideal'])}, "
            f"CIM {pct(e.accuracy['cim'])}")


def functional_tlm(images: int = 1000) -> str:
    from tlm.services import accuracy as A
    a = arch()
    wl, _, _ = _data(1)
    r = A.functional_run(a, wl, ROOT / "workloads" / "mnist_cnn.yaml", "mnist5k", images)
    res = r.result
    return (f"`tlm simulate imagine mnist_cnn --functional --images {images}`: accuracy {pct(r.accuracy)}, "
            f"{res.cycles:,} cycles for the batch of {images}, on-chip energy {res.on_chip_energy_pj / images / 1e3:.1f} "
            f"nJ per image (energy from the input bits of every COMPUTE transaction; the plain run with the "
            f"assumed density 0.5: {simulate_plain(a, wl, images) / images / 1e3:.1f} nJ per image; a batch of "
            f"{images} spills activations to external memory, which a single image does not)")


def simulate_plain(a, wl, images):
    from tlm.engines.registry import run  # `auto` resolved as the functional run resolves it
    return run("tlm", a, dataclasses.replace(wl, batch=images)).on_chip_energy_pj


def onnx_block() -> str:
    return ("```\n$ tlm accuracy workloads/mnist_cnn.onnx\n"
            + cli(f"accuracy {ROOT / 'workloads' / 'mnist_cnn.onnx'}").replace(str(ROOT) + "/", "") + "\n```")


def quick() -> dict:
    """What --check recomputes: the fingerprint (the accuracy figures cannot change while it holds: same code,
    data, config values and seed give the same numbers), the energy table (it also depends on the cost
    model in tlm/hw, outside the fingerprint) and one accuracy run as a witness (`onnx`, ~5 s: 1,000 images
    through every model), so that a fingerprint rewritten alone (`--only fingerprint`) over figures that
    did move is caught."""
    return {"fingerprint": f"fingerprint {fingerprint()}", "energy": energy_table(), "onnx": onnx_block()}


def blocks(only=None) -> dict:
    out = quick()
    slow = {
        "adaptive8": adaptive8,
        "main": lambda: "```\n$ tlm accuracy\n" + cli("accuracy") + "\n```",
        "previous": lambda: "```\n$ tlm accuracy --dp-noise off\n" + cli("accuracy --dp-noise off") + "\n```",
        "bits": bits_table,
        "precision": precision_table,
        "noise": noise_table,
        "functional_tlm": functional_tlm,
    }
    for k, f in slow.items():
        if only is None or k in only:
            out[k] = f() if callable(f) else f
    return out


def render(text: str, values: dict) -> str:
    def sub(m):
        key = m.group("key")
        if key not in values:
            return m.group(0)
        return f"{m.group(1)}{values[key]}\n{m.group(4)}"
    return BLOCK.sub(sub, text)


def current(text: str) -> dict:
    return {m.group("key"): m.group("body").rstrip("\n") for m in BLOCK.finditer(text)}


if __name__ == "__main__":
    np.seterr(all="ignore")
    if "--check" in sys.argv:
        have = current(DOC.read_text())
        stale = [k for k, v in quick().items() if have.get(k) != v]
        if stale:
            print(f"docs/accuracy.md is stale ({', '.join(stale)}): run python scripts/gen_accuracy_doc.py")
        sys.exit(1 if stale else 0)
    if "--readme" in sys.argv:
        print(bits_table() + "\n\n" + energy_table())
        sys.exit(0)
    only = None
    if "--only" in sys.argv:  # --only KEY,KEY: regenerate those blocks (and the quick ones)
        only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
    old = DOC.read_text()
    new = blocks(only)
    if only is not None and current(old).get("onnx") != new["onnx"]:  # the witness moved: every figure may have
        print("docs/accuracy.md: the accuracy figures moved (the onnx block differs): run "
              "python scripts/gen_accuracy_doc.py without --only")
        sys.exit(1)
    DOC.write_text(render(old, new))
    print(f"wrote {DOC}")
