"""`tlm import`: convert an ONNX model into a workload YAML file that `tlm simulate` reads."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError, Where
from ..yamlio import atomic_write
from ._common import console

NAME = "import"
HELP = "convert an ONNX model into a workload YAML file (needs the optional extra 'onnx')"
ORDER = 30


def add_arguments(p):
    p.add_argument("model", metavar="MODEL.onnx", help="ONNX model (only shapes are read, never weights)")
    p.add_argument("-o", "--output", metavar="WORKLOAD.yaml", required=True, help="workload file to write")
    p.add_argument("--precision", type=int, metavar="BITS", help="input, weight and output precision of every layer")
    p.add_argument("--precision-in", type=int, metavar="BITS", help="input (activation) precision")
    p.add_argument("--precision-w", type=int, metavar="BITS", help="weight precision")
    p.add_argument("--precision-out", type=int, metavar="BITS", help="output (ADC) precision")


def precision_of(args) -> dict:
    prec = {}
    if args.precision is not None:
        prec = dict.fromkeys(("input", "weight", "output"), args.precision)
    for key, v in (("input", args.precision_in), ("weight", args.precision_w), ("output", args.precision_out)):
        if v is not None:
            prec[key] = v
    for key, v in prec.items():
        if not 1 <= v <= 64:
            raise InputError(f"expected 1 to 64 bits, found {v}", Where("tlm import (command line)"),
                             f"--precision-{key}")
    return prec


def run(args) -> int:
    from ..onnx_import import onnx_to_yaml, parse_yaml
    prec = precision_of(args)
    text = onnx_to_yaml(args.model, prec)
    wl = parse_yaml(text, args.model)  # what we write must load: check before writing
    atomic_write(Path(args.output), text)
    console(stderr=args.output == "-").print(f"wrote {args.output}: '{wl.name}', {len(wl.layers)} layers "
                    f"({sum(l.is_compute for l in wl.layers)} on the macros), {wl.macs:,} MACs")
    return 0
