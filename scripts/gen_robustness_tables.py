"""Regenerate the generated tables of docs/robustness.md from the constants and the schema.

    python scripts/gen_robustness_tables.py            # rewrite the blocks between the markers
    python scripts/gen_robustness_tables.py --check    # exit 1 if the file is out of date

Blocks: `limits` (bounds of round two: extends chains, file names, ONNX size, bench repeats, seeds)
and `int-bounds` (every integer parameter of the architecture with its upper bound and the reason,
from `param(..., hi=, why_hi=)` in tlm/config/arch.py).  tests/test_robustness2.py runs --check.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "robustness.md"


def int_bounds() -> str:
    from tlm.config.arch import Arch
    from tlm.config.schema import int_params
    rows = ["| parameter | at most | why |", "|---|---|---|"]
    rows += [f"| `{p}` | {md['hi']:,} | {md.get('why_hi') or '(no reason given)'} |" for p, md in int_params(Arch)]
    return "\n".join(rows)


def limits() -> str:
    from tlm.onnxio import graph as onnx_import
    from tlm.config import yamlio
    from tlm.cli.commands import bench
    from tlm.config import arch, npz, overrides, published, workload
    from tlm.mapping import plan
    from tlm.services import accuracy
    rows = [
        ("files in one `extends:` chain", f"{yamlio.MAX_EXTENDS}", "`yamlio.MAX_EXTENDS`",
         "real configs chain 2 or 3; the message names the file whose `extends:` is one too many and the "
         "chain's first file (was: `YAML nested too deeply`, naming the last file)"),
        ("an `extends:` name", f"{yamlio.NAME_MAX} bytes per component, {yamlio.PATH_MAX} in all, no NUL",
         "`yamlio.NAME_MAX`, `PATH_MAX`", "Linux's own limits, checked before the name is resolved"),
        ("an `extends:` base", "a regular file", "`yamlio.read_text(regular_only=True)`",
         "a FIFO with no writer would block forever; checked with `stat` before opening"),
        ("ONNX model file", f"{onnx_import.MAX_ONNX_BYTES:,} bytes (1 GiB)", "`onnx_import.MAX_ONNX_BYTES`",
         "checked before reading; protobuf parses at most 2 GiB and tlm reads the whole file (VGG-19 with "
         "its weights is 0.55 GB)"),
        ("a model's imported workload", f"{yamlio.MAX_YAML_BYTES:,} bytes and {yamlio.MAX_NODES:,} YAML values",
         "`onnx_import.check_file_limits`", "the limits of a workload file, applied by `tlm import` and "
         "`tlm simulate MODEL.onnx` alike, so every imported file simulates; the error names the node"),
        ("`tlm bench --repeat`", f"{bench.MAX_REPEAT:,}", "`commands.bench.MAX_REPEAT`",
         "a TLM-engine ResNet-8 run takes ~0.5 s: 1,000 repeats are ~10 minutes per workload"),
        ("`--seed` (accuracy, simulate --functional)", f"0 to {accuracy.MAX_SEED:,}", "`services.accuracy.MAX_SEED`",
         "numpy's generators take non-negative integers"),
        ("work of one run", f"{workload.MAX_MACS_PER_RUN:,} MACs and ops, {workload.MAX_ACTIVATIONS_PER_RUN:,} "
         "activations", "`workload.RunLimits`", "applied to the workload as it will run: the file's batch, "
         "`--set workload.batch`, a sweep point, `--functional --images`; the same message in every case"),
        ("tiles one plan enumerates", f"{plan.MAX_PLAN_TILES:,}", "`plan.MAX_PLAN_TILES`",
         "the assignment is two int64 arrays per layer (64 MiB at most); `tlm validate` builds the plan too"),
        ("one `--set` value", f"{overrides.MAX_VALUE_CHARS} characters", "`overrides.MAX_VALUE_CHARS`",
         "Python's int() refuses more than 4,300 digits; every field's bound is far below"),
        (".npz file (datasets, weights)", f"{npz.MAX_NPZ_BYTES:,} bytes, {npz.MAX_UNPACKED_BYTES:,} unpacked, "
         f"{npz.MAX_MEMBERS:,} members, {npz.MAX_TOTAL_ELEMENTS:,} elements", "`npz.read_npz`",
         "every member an .npy of a numeric dtype, its declared shape checked from the header before any "
         "data is read (a 600-byte file may declare 10^9 images)"),
        ("weights and ranges", f"abs(w) <= {npz.MAX_ABS_VALUE:g}, ranges {npz.MIN_RANGE:g} to {npz.MAX_RANGE:g}",
         "`npz.check_values`", "finite; the same for an .npz and for ONNX initializers after folding"),
        ("published figures", "values 1e-06 to 1e+06; supplies 0 or >= "
         f"{published.MIN_SUPPLY_V:g} V; clocks 0 or >= {published.MIN_CLOCK_MHZ:g} MHz", "`published.Figure`",
         "model/published ratios never overflow or divide by a denormal"),
        ("`technology.leakage_v_per_decade`", f"0 or >= {arch.MIN_LEAKAGE_V_PER_DECADE:g} V",
         "`arch.Technology.check`", "10^(2 V / 0.1 V) = 1e20 at most: no overflow in paper or calibrate"),
    ]
    out = ["| what | limit | where | why |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


BLOCKS = {"limits": limits, "int-bounds": int_bounds}


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pat = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pat.search(text):
            raise SystemExit(f"{DOC}: no <!-- {name}:start --> ... <!-- {name}:end --> block")
        text = pat.sub(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    old = DOC.read_text(encoding="utf-8")
    new = render(old)
    if "--check" in sys.argv:
        sys.exit(0 if new == old else 1)
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC}")
