"""`tlm import`: convert an ONNX model into a workload YAML file that `tlm simulate` reads."""
from __future__ import annotations

from pathlib import Path

from tlm.errors import InputError, Where
from tlm.config.yamlemit import yaml_comment, yaml_flow
from tlm.config.yamlio import atomic_write, atomic_write_all
from tlm.cli.commands._common import console

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
    p.add_argument("--weights", metavar="WEIGHTS.npz",
                   help="also write the initializers (BN folded as the import decides) and the activation ranges "
                        "into an .npz that the workload names (tlm accuracy WORKLOAD.yaml runs it)")
    p.add_argument("--dataset", default="mnist5k", metavar="NAME|FILE.npz",
                   help="--weights: images to calibrate ranges on when the model carries none (default mnist5k)")
    p.add_argument("--calibration-images", type=int, default=100, metavar="N",
                   help="--weights: calibration images (default 100)")


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


def check_written(text: str, model, weights) -> None:
    """What `tlm import` writes loads as the workload it imported and names only the weights file the user
    gave (`weights`, or none): checked on the text before any file is replaced."""
    from tlm.onnxio.graph import parse_yaml
    got = parse_yaml(text, model).extra.get("weights")
    if got != weights:
        raise RuntimeError(f"tlm import wrote weights: {got!r}, expected {weights!r}")


def run(args) -> int:
    from tlm.onnxio.graph import onnx_to_yaml, parse_yaml
    prec = precision_of(args)
    text = onnx_to_yaml(args.model, prec)
    wl = parse_yaml(text, args.model)  # what we write must load: check before writing
    if wl.extra.get("weights") is not None:  # a header line cannot add a key (tlm/config/yamlemit.py yaml_comment)
        raise RuntimeError("tlm import wrote a weights: key of the model's choosing")
    if args.weights:
        import os
        if args.weights == "-" or "\x00" in args.weights:
            raise InputError("expected a file name for the .npz (binary; not standard output)",
                             Where("tlm import (command line)"), "--weights")

        from tlm.services.accuracy import calibration_images
        from tlm.onnxio.weights import weights_npz
        out = Path(args.output)
        rel = os.path.relpath(Path(args.weights).resolve(), out.resolve().parent)
        data, note = weights_npz(args.model, wl,
                                 lambda: calibration_images(wl, args.dataset, args.calibration_images))
        text += f"weights: {yaml_flow(rel)}  {yaml_comment(note)}\n"  # through the emitter, never pasted
        check_written(text, args.model, rel)
        atomic_write_all([(Path(args.weights), data), (out, text)])  # both files or none
    else:
        atomic_write(Path(args.output), text)
    from rich.markup import escape  # a name such as "[bold]x" is text, not markup
    console(stderr=args.output == "-").print(escape(f"wrote {args.output}: {wl.name!r}, {len(wl.layers)} layers "
                    f"({sum(l.is_compute for l in wl.layers)} on the macros), {wl.macs:,} MACs"))
    return 0
