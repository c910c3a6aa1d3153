"""`tlm accuracy`: classification accuracy of a network with weights through the float, ideal-integer
and CIM (charge-domain, noisy, ABN, clipping) models, with per-layer SQNR, effective bits and clipping."""
from __future__ import annotations

import math

from tlm.cli.commands._common import Steps, add_arch_workload, add_set, console, load_arch_arg, load_workload_arg, split_arch_workload

NAME = "accuracy"
HELP = "accuracy of a trained network through the bit-accurate CIM model (noise, ABN, clipping)"
ORDER = 30
DEFAULT_WORKLOAD = "mnist_cnn"
DESCRIPTION = (HELP + f".  The workload (default: {DEFAULT_WORKLOAD}, shipped with trained weights) must name "
               "its weights file (top-level 'weights:').  A progress bar on stderr (in a terminal) shows "
               "each model run.")


def add_arguments(p):
    from tlm.services.accuracy import NOISE_SWEEP_LSB
    from tlm.functional.datasets import DATASETS, TEST_SIZE
    from tlm.functional.model import SWINGS
    add_arch_workload(p, default_workload=DEFAULT_WORKLOAD)
    add_set(p)
    p.add_argument("--dataset", default="mnist5k", metavar="NAME|FILE.npz",
                   help=f"held-out test images: {', '.join(DATASETS)} (default mnist5k), or an .npz with "
                        "'images' (N, C, H, W) input codes and 'labels' (N,)")
    p.add_argument("--calibration-images", type=int, default=100, metavar="N",
                   help="ONNX models without ranges: images to calibrate activation ranges on (default 100; "
                        "a class-balanced sample of the training images of a shipped dataset, or of a file)")
    p.add_argument("--calibrate", action="store_true",
                   help="ONNX models: calibrate the activation ranges even when the model carries them")
    p.add_argument("--images", type=int, metavar="N", help="a seeded class-balanced sample of N test images, quantized to the input bits "
                   "like all of them (default: all of them, "
                   + ", ".join(f"{n} for {d}" for d, n in TEST_SIZE.items()) + ")")
    p.add_argument("--swing", choices=SWINGS, help="DP swing policy (default: the config's functional.swing)")
    p.add_argument("--noise", type=float, metavar="SIGMA",
                   help="comparator noise after the ABN gain, LSB rms of a functional.noise_ref_bits conversion "
                        "(default: functional.noise_lsb); the DP-line noise is functional.dp_noise")
    p.add_argument("--dp-noise", choices=("ktc", "measured", "off"),
                   help="DP-line noise before the ABN gain (default: functional.dp_noise)")
    p.add_argument("--output-bits", type=int, metavar="B", help="convert every compute layer to B bits")
    p.add_argument("--fixed-range", type=float, metavar="FRACTION",
                   help="fixed swing: fraction of the worst-case DP range the ADC spans "
                        "(default: functional.fixed_range_fraction)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise generator (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the accuracies, each image's label, predictions and "
                   "outputs of every model (float, ideal integer, CIM) and the per-layer statistics as JSON "
                   "('-': standard output, nothing else printed)")
    p.add_argument("--noise-sweep", action="store_true",
                   help="also print CIM accuracy and ENOB at each noise level of "
                        f"{', '.join(f'{v:g}' for v in NOISE_SWEEP_LSB)} LSB (one more CIM run per level)")


from tlm.api._accuracy import MAX_SEED  # noqa: E402,F401


def _fmt_db(v):
    return "inf" if math.isinf(v) else f"{v:.1f}"


def run(args) -> int:
    from tlm import api
    from tlm.functional import model as F
    from tlm.services import accuracy as A
    arch_arg, wl_arg = split_arch_workload(args.arch, args.workload)  # `tlm accuracy my_net.yaml`
    if args.json:
        from tlm.present.outputs import check_output_paths
        check_output_paths("accuracy", {"--json": args.json}, {})  # before any work
    arch = load_arch_arg(arch_arg)
    wl = load_workload_arg(wl_arg or DEFAULT_WORKLOAD, arch)
    levels = A.NOISE_SWEEP_LSB if args.noise_sweep else ()
    # progress on stderr (a terminal only): loading the images and every model run take seconds
    with Steps(2 + len(F.MODES) + len(levels), "accuracy") as steps:
        res = api.accuracy(arch, wl, overrides=args.set, dataset=args.dataset, images=args.images,
                           calibration_images=args.calibration_images, calibrate=args.calibrate, swing=args.swing,
                           noise_lsb=args.noise, dp_noise=args.dp_noise, output_bits=args.output_bits,
                           fixed_range=args.fixed_range, seed=args.seed, noise_sweep=args.noise_sweep, steps=steps)
    if args.json:
        import json

        from tlm.config.yamlio import atomic_write
        atomic_write(args.json, json.dumps(res.to_dict(), indent=1, allow_nan=False) + "\n")
        if args.json == "-":
            return 0  # standard output holds the JSON only
    con = console()
    con.print(_accuracy_table(args, res.arch, res.workload, res.evaluation, res.swing, res.noise_lsb))
    con.print(_layer_table(res))
    if res.range_note:
        con.print(f"note: {res.range_note}")
    if args.noise_sweep:
        con.print(_sweep_table(res.workload, res.evaluation, res.noise_sweep, res.swing))
    return 0


def _accuracy_table(args, arch, wl, ev, swing, noise):
    from tlm.services import accuracy as A
    from tlm.functional.datasets import is_file_arg
    from tlm.present.tables import Table
    rng_txt = f" ({arch.functional.fixed_range_fraction:g} of worst case)" if swing == "fixed" else ""
    what = f"held-out {args.dataset} images" if not is_file_arg(args.dataset) else f"images of {args.dataset}"
    t = Table(title=f"{wl.name} on {arch.name}: {ev.images} {what}, {swing} swing"
                    f"{rng_txt}, noise {noise:g} LSB + DP line {A.dp_noise_text(arch)}, seed {args.seed}")
    t.add_column("model")
    t.add_column("accuracy", justify="right")
    names = {"float": "float (no quantization)", "ideal": "ideal integer (exact DP, r-bit outputs)",
             "cim": f"CIM ({swing} swing, noise {noise:g} LSB)"}
    for m, a in ev.accuracy.items():
        t.add_row(names[m], f"{100 * a:.2f}%")
    return t


def _layer_table(res):
    from tlm.present.tables import Table
    t = Table(title="per layer (CIM vs the exact integer output of the same input)")
    for c in ("layer", "bits i/w/o", "rows", "row tiles", "connected rows", "SQNR dB", "ENOB",
              "ENOB ideal", "clipped", "input density", "DP activity"):
        t.add_column(c, justify="left" if c == "layer" else "right")
    for r in res.layer_rows():
        t.add_row(r["layer"], f"{r['bits_in']}/{r['bits_w']}/{r['bits_out']}", str(r["rows"]), str(r["row_tiles"]),
                  "+".join(map(str, r["connected_rows"])), _fmt_db(r["sqnr_db"]), _fmt_db(r["enob"]),
                  _fmt_db(r["enob_ideal"]), f"{100 * r['clip_rate']:.3f}%", f"{r['input_density']:.3f}",
                  f"{r['dp_activity']:.3f}")
    return t


def _sweep_table(wl, ev, sweep, swing):
    from tlm.present.tables import Table
    comp = [L.name for L in wl.layers if L.is_compute]
    t = Table(title=f"noise sweep ({swing} swing, ideal integer model {100 * ev.accuracy['ideal']:.2f}%)")
    t.add_column("comparator noise LSB", justify="right")
    t.add_column("CIM accuracy", justify="right")
    for n in comp:
        t.add_column(f"ENOB {n}", justify="right")
    for sigma, e in sweep:
        t.add_row(f"{sigma:g}", f"{100 * e.accuracy['cim']:.2f}%",
                  *(_fmt_db(e.stats[n].enob(e.stats[n].sqnr_db)) for n in comp))
    return t
