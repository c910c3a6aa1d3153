"""`tlm import`: convert an ONNX model into a workload YAML file that `tlm simulate` reads."""
from __future__ import annotations

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
    """{'input', 'weight', 'output': bits} from --precision and its per-kind options (the API checks them)."""
    prec = {}
    if args.precision is not None:
        prec = dict.fromkeys(("input", "weight", "output"), args.precision)
    for key, v in (("input", args.precision_in), ("weight", args.precision_w), ("output", args.precision_out)):
        if v is not None:
            prec[key] = v
    return prec


def run(args) -> int:
    from tlm import api
    res = api.import_onnx(args.model, args.output, precision=precision_of(args), weights=args.weights or None,
                          dataset=args.dataset, calibration_images=args.calibration_images)
    wl = res.workload
    from rich.markup import escape  # a name such as "[bold]x" is text, not markup
    console(stderr=args.output == "-").print(escape(f"wrote {args.output}: {wl.name!r}, {len(wl.layers)} layers "
                    f"({sum(l.is_compute for l in wl.layers)} on the macros), {wl.macs:,} MACs"))
    return 0
