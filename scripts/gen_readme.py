"""Refresh the generated parts of README.md and of the pages moved out of it (PAGES: docs/guide.md,
docs/benchmarks.md).

    python scripts/gen_readme.py            # rewrite the PAGES (and docs/img/whatif_latency.png)
    python scripts/gen_readme.py --check    # exit 1 if any generated part of a page is stale
    python scripts/gen_readme.py --only gen # only the `gen:` blocks (not the command snapshots)

Two kinds of block, each closed by `<!-- end -->`:

- `<!-- out: ARGS -->`: `$ tlm ARGS` followed by what the command prints in a pipe at 80 columns
  (COLUMNS=80, whatever the environment says).
- `<!-- gen: NAME -->`: a part written by GENERATORS[NAME]: the benchmark figures, read from the stored
  measurements in docs/bench-results.json (refresh those with scripts/gen_bench_results.py), and the
  what-if example (a sweep and a `tlm simulate --set` check of one of its points, run in a scratch
  folder; its plot is copied to docs/img/).
"""
import contextlib
import csv
import io
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.cli import main  # noqa: E402

BLOCK = re.compile(r"(<!-- out: (?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)
GEN = re.compile(r"(<!-- gen: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)
BENCH = ROOT / "docs" / "bench-results.json"
PAGES = ("README.md", "docs/guide.md", "docs/benchmarks.md")  # the pages whose blocks this script writes

# ---- the what-if example: one sweep, one point of it checked with `tlm simulate --set` ----------------
WHATIF_SWEEP = ("sweep imagine resnet8 --set macro.count=1,2,4,8 --set workload.precision=4,8 -o whatif.csv "
                "--plot plots --plot-x macro.count --plot-y latency_per_batch_ns")
WHATIF_PLOT = "plots/sweep_latency_per_batch_ns_vs_macro_count.png"
WHATIF_IMG = ROOT / "docs" / "img" / "whatif_latency.png"
WHATIF_POINT = 2  # macro.count=2, workload.precision=4 (the first --set varies slowest)
WHATIF_CHECK = ("simulate imagine resnet8 --engine analytic --set macro.count=2 --set workload.precision=4 "
                "-o check -q")
WHATIF_DIFF = (f"diff <(tail -n 1 check/summary.csv) <(sed -n {WHATIF_POINT + 2}p whatif.csv | cut -d, -f6-) "
               "&& echo 'same row'")


def output(args: str) -> str:
    buf = io.StringIO()
    os.environ["COLUMNS"] = "80"  # the width the tables are laid out for (tlm/present/tables.py)
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(shlex.split(args))
    if code != 0:
        raise SystemExit(f"tlm {args} exited {code}")
    lines = [ln.rstrip() for ln in buf.getvalue().rstrip("\n").split("\n")]
    return "\n".join(lines)


def whatif_rows(folder: Path):
    """(the sweep's row of WHATIF_POINT without point, settings and base; the summary.csv row of the
    check): the two lines the README's `diff` compares."""
    with open(folder / "whatif.csv", newline="", encoding="utf-8") as f:
        sweep_lines = f.read().split("\n")
    row = next(csv.reader([sweep_lines[WHATIF_POINT + 1]]))
    assert row[0] == str(WHATIF_POINT), row[:4]
    cut = ",".join(sweep_lines[WHATIF_POINT + 1].split(",")[5:])  # as `cut -d, -f6-` does (after the status)
    check = (folder / "check" / "summary.csv").read_text().rstrip("\n").split("\n")[-1]
    return cut, check


@contextlib.contextmanager
def _in_scratch():
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="tlm-readme-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(here)


_WHATIF = {}


def _whatif() -> dict:
    """Run the example once per script run: the sweep's output, the check, and the plot bytes."""
    if not _WHATIF:
        with _in_scratch() as tmp:
            sweep_out = output(WHATIF_SWEEP)
            output(WHATIF_CHECK)
            cut, check = whatif_rows(tmp)
            if cut != check:
                raise SystemExit(f"what-if: the sweep's point {WHATIF_POINT} and `tlm {WHATIF_CHECK}` differ:\n"
                                 f"{cut}\n{check}")
            _WHATIF.update(sweep=sweep_out, plot=(tmp / WHATIF_PLOT).read_bytes())
    return _WHATIF


def gen_whatif_sweep() -> str:
    return f"```text\n$ tlm {WHATIF_SWEEP}\n{_whatif()['sweep']}\n```\n"


def gen_whatif_check() -> str:
    _whatif()  # raises when the two rows differ
    return f"```text\n$ tlm {WHATIF_CHECK}\n$ {WHATIF_DIFF}\nsame row\n```\n"


# ---- benchmark figures from docs/bench-results.json ---------------------------------------------------
def _bench() -> dict:
    return json.loads(BENCH.read_text())


def _ms(s: float) -> str:
    return f"{s * 1e3:.2g}" if s < 1e-2 else f"{s * 1e3:.3g}" if s < 10 else f"{s * 1e3:.0f}"


def _range(lo: float, hi: float, fmt: str) -> str:
    a, b = format(lo, fmt), format(hi, fmt)
    return a if a == b else f"{a} to {b}" if lo < 0 else f"{a}-{b}"


def gen_bench_machine() -> str:
    m = _bench()["machine"]
    return (f"Latest figures ({m['cpus']}-vCPU {m['machine']} {m['system']}, Python {m['python']}, numpy "
            f"{m['numpy']} with one BLAS thread; pytest-benchmark minimum / median over its rounds; `tlm bench` "
            "median of 5; stored in [docs/bench-results.json](bench-results.json) by "
            "`python scripts/gen_bench_results.py`):\n")


def gen_bench_table() -> str:
    b = _bench()["pytest_benchmark"]

    def mm(name, unit="ms"):
        r = b[name]
        if unit == "s":
            return f"{r['min_s']:.2f} / {r['median_s']:.2f} s"
        return f"{_ms(r['min_s'])} / {_ms(r['median_s'])} ms"

    r18 = b["test_resnet18_imagenet_tlm"]
    on, off = b["test_transactions_per_second[contention]"], b["test_transactions_per_second[no-contention]"]
    gm = b["test_bitplane_gmacs_1152x256"]
    kv, st = b["test_bitplane_kernel_vs_float32_matmul"], b["test_simulate_quiet_whole_process"]
    def ei(name, key, fmt, missing="-"):  # (a figure a stored run did not measure yet)
        v = b.get(name, {}).get("extra_info", {}).get(key)
        return missing if v is None else format(v, fmt)

    an = "test_analytic_vgg19_and_resnet18_against_resnet8"

    def oracle(grid):  # (the oracle benchmark's entry of one grid: "auto/oracle x (oracle/sequential x)")
        v = b.get("test_auto_against_the_policies_it_picks", {}).get("extra_info", {}).get(grid)
        return "-" if v is None else f"{v['auto_over_oracle']:.2f}x ({v['oracle_over_sequential']:.2f}x)"
    rows = [
        ("analytic engine, ResNet-8 whole inference", "(the reference)", mm("test_analytic_resnet8")),
        ("analytic engine, VGG-19 (ONNX, 4,004 tiles) / ResNet-18 (366 tiles) against ResNet-8 (13 tiles), "
         "same run", "<= 3x / <= 2x",
         f"{ei(an, 'vgg19_over_resnet8', '.2f')}x / {ei(an, 'resnet18_over_resnet8', '.2f')}x"),
        ("TLM engine, ResNet-8 whole inference (least CPU in analytic ResNet-8 points)", "-",
         f"{mm('test_resnet8_whole_inference_tlm')}, {ei('test_resnet8_whole_inference_tlm', 'cpu_s_best', '.4f')} s "
         f"CPU ({ei('test_resnet8_whole_inference_tlm', 'analytic_points', '.0f')})"),
        (f"TLM engine, ResNet-18 at 224x224 ({r18['extra_info']['transactions']:,} transactions)", "300 MB",
         f"{mm('test_resnet18_imagenet_tlm', 's')} ({ei('test_resnet18_imagenet_tlm', 'cpu_s_best', '.2f')} s CPU), "
         f"{r18['extra_info']['child_max_rss_mb']:.0f} MB peak RSS of a "
         "fresh `tlm simulate`"),
        ("TLM transactions per CPU second against bare SimPy events per second (cifar10_vgg, contention on / off)",
         ">= 0.5x", f"{ei('test_transactions_per_second[contention]', 'txn_over_simpy_events', '.2f')}x / "
         f"{ei('test_transactions_per_second[no-contention]', 'txn_over_simpy_events', '.2f')}x "
         f"({on['extra_info']['txn_per_cpu_s_best'] / 1e6:.2f} M / {off['extra_info']['txn_per_cpu_s_best'] / 1e6:.2f} M "
         "per CPU second)"),
        ("functional bit-plane core, one 1152x256 layer", "20 GMAC/s",
         f"{_ms(gm['mean_s'])} ms per call, {gm['extra_info']['bitplane_gmac_per_s']:.0f} GMAC/s (mean)"),
        ("functional model, one ResNet-8 image / 1,000 MNIST images", "0.5 s / 10 s",
         f"{_ms(b['test_resnet8_one_image']['median_s'])} ms / {b['test_mnist_1000_images']['median_s']:.2f} s "
         "(median)"),
        ("functional TLM run (real data through the blocks), one ResNet-8 image / 1,000 MNIST images",
         "0.1 s / 10 s", f"{_ms(b['test_functional_tlm_resnet8_one_image']['median_s'])} ms / "
         f"{b['test_functional_tlm_mnist_1000_images']['median_s']:.2f} s (median)"),
        ("bit-plane kernel against float32 matmul, same run, one BLAS thread", ">= 0.5x",
         f"{kv['extra_info']['bitplane_gmac_per_s']:.1f} vs {kv['extra_info']['float32_matmul_gmac_per_s']:.1f} GMAC/s"),
        ("TLM, ResNet-8 batch 16 pipelined on 8 macros / replicated on 32 (wall min / median; least CPU)",
         "0.2 s CPU", f"{mm('test_resnet8_batch16_tlm[8-pipelined]')} / {mm('test_resnet8_batch16_tlm[32-replicate]')}"
         f"; {ei('test_resnet8_batch16_tlm[8-pipelined]', 'cpu_s_min', '.3f')} / "
         f"{ei('test_resnet8_batch16_tlm[32-replicate]', 'cpu_s_min', '.3f')} s CPU"),
        ("TLM, ResNet-18 pipelined (320 macros: 64 cannot hold its weights)", "2 s CPU",
         f"{mm('test_resnet18_imagenet_320_macros_tlm')}; "
         f"{ei('test_resnet18_imagenet_320_macros_tlm', 'cpu_s_min', '.2f')} s CPU"),
        ("ONNX import + simulate, ResNet-50", "2 s", mm("test_import_and_simulate[light_resnet50.onnx]")),
        ("second `tlm simulate` of ResNet-50 ONNX (conversion cached) against the same network as YAML, whole "
         "processes, same run (CPU medians of 7)", "<= 1.3x",
         f"{ei('test_second_onnx_run_against_yaml', 'onnx_over_yaml', '.2f')}x (first ONNX run "
         f"{ei('test_second_onnx_run_against_yaml', 'first_onnx_cpu_s', '.2f')} s, YAML "
         f"{ei('test_second_onnx_run_against_yaml', 'yaml_cpu_s', '.2f')} s)"),
        ("1,000-point analytic sweep (resnet8): `auto` against pinned `sequential`, same run (medians of 5 "
         "alternating runs, as the other sweep ratios)", "<= 1.3x",
         f"{ei('test_sweep_1000_points', 'auto_over_sequential', '.2f')}x"),
        ("1,000-point sweep of energy-only parameters against 1,000 single analytic runs", "<= 0.3x",
         f"{ei('test_non_structural_sweep_against_single_runs', 'ratio', '.2f')}x"),
        ("1,000-point sweeps, `auto` against pinned `sequential`: precision x ADC cycles x DMA width / macros x "
         "precision x batch (resnet8)", "<= 1.3x",
         f"{ei('test_sweep_precision_adc_dma', 'auto_over_sequential', '.2f')}x / "
         f"{ei('test_sweep_macros_precision_batch', 'auto_over_sequential', '.2f')}x"),
        ("the same three resnet8 grids (structural / precision x ADC x DMA / macros x precision x batch): `auto` "
         "against the oracle that pins every point to the policy `auto` picks (no choice made); in brackets the "
         "oracle against pinned `sequential`, the floor of the ratios above however cheap the choice",
         "<= 1.3x", " / ".join(map(oracle, ("structural", "precision_adc_dma", "macros_precision_batch")))),
        ("4,000-point sweep, mnist_cnn macros 1..10 x batch 1..400: `auto` against pinned `sequential`", "<= 1.3x",
         f"{ei('test_sweep_mnist_macros_batch_4000_points', 'auto_over_sequential', '.2f')}x"),
        ("analytic engine with `auto`, batch 400 against batch 1 (median of 5): resnet8 / mnist_cnn on 1 macro; "
         "on 4 macros", "<= 2x",
         f"{ei('test_auto_batch_400_against_batch_1', 'resnet8_1macro', '.1f')}x / "
         f"{ei('test_auto_batch_400_against_batch_1', 'mnist_cnn_1macro', '.1f')}x; "
         f"{ei('test_auto_batch_400_against_batch_1', 'resnet8_4macro', '.1f')}x / "
         f"{ei('test_auto_batch_400_against_batch_1', 'mnist_cnn_4macro', '.1f')}x"),
        ("whole process `tlm simulate resnet8 -q`: CPU above the import floor of the modules it loads besides "
         "tlm (median of paired interleaved runs)", "<= 40 ms",
         f"{ei('test_simulate_quiet_whole_process', 'above_floor_cpu_ms', '.0f')} ms "
         f"({st['extra_info']['command_wall_median_ms']:.0f} ms wall median)"),
    ]
    return "| what | target | measured |\n|---|---|---|\n" + "".join(f"| {a} | {t} | {m} |\n" for a, t, m in rows)


def gen_bench_scaling() -> str:
    sc = _bench()["tlm_bench_scaling"]["json"]["scaling"]
    fits = sc["tlm"]["fits"]
    nsm = [f["ns_per_mac"] for f in fits.values()]
    fixed = [f["fixed_ms"] for f in fits.values()]
    spread = [100 * f["per_mac_spread"] for f in fits.values() if f["per_mac_spread"] is not None]
    rng = [min(f["mac_range"] for f in fits.values())]
    an = [r["wall_s"] * 1e3 for r in sc["analytic"]["rows"]]
    cmd = _bench()["tlm_bench_scaling"]["command"]
    return (f"`{cmd}` times growing networks ({', '.join(sorted(fits))}; each family over "
            f"{rng[0]:.0f}x in MACs). The TLM engine's cost grows linearly with the work: "
            f"{_range(min(nsm), max(nsm), '.2f')} ns per MAC on top of {_range(min(fixed), max(fixed), '.1f')} ms "
            f"per call (least squares per family), the per-MAC cost of the members without the fixed part "
            f"within {_range(min(spread), max(spread), '.0f')}% of each other; the analytic engine's cost does "
            f"not grow with the MACs at all ({_range(min(an), max(an), '.2f')} ms per simulation, vectorized "
            "over layers).\n")


def gen_bench_output() -> str:
    t = _bench()["tlm_bench"]
    return f"```text\n$ {t['command']}\n{t['output']}\n```\n"


# ---- the shipped workloads: MACs counted from the files ------------------------------------------------
WORKLOADS = {  # name -> the network it is (the file's own comment says where it comes from)
    "resnet8": "MLPerf Tiny image classification, CIFAR-10",
    "ds_cnn": "MLPerf Tiny keyword spotting (DS-CNN small), 49x10 MFCC",
    "mobilenet_v1_vww": "MLPerf Tiny visual wake words, MobileNetV1-0.25 at 96x96",
    "fc_autoencoder": "MLPerf Tiny anomaly detection, FC autoencoder",
    "mnist_cnn": "LeNet-style MNIST CNN",
    "cifar10_vgg": "VGG-style CIFAR-10 CNN",
    "resnet18": "ResNet-18, ImageNet 224x224",
}


def _macs(n: int) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


def gen_workloads() -> str:
    from tlm.config.paths import DEFAULT_WORKLOAD, shipped
    from tlm.config.workload import load_workload
    files = shipped("workloads")
    missing = sorted(set(files) ^ set(WORKLOADS))
    if missing:
        raise SystemExit(f"docs/guide.md workloads table: describe or drop {', '.join(missing)} in WORKLOADS")
    rows = "".join(f"| `{n}`{' (default)' if n == DEFAULT_WORKLOAD else ''} | {WORKLOADS[n]} | "
                   f"{_macs(load_workload(files[n]).macs)} |\n" for n in WORKLOADS)
    return "| workload | network | MACs |\n|---|---|---|\n" + rows


def _doc_block(doc: str, key: str) -> str:
    """A block of a generated page in docs/ (checked against its own generator by its own test), so the
    README shows the same figures: docs/accuracy.md's `<!-- gen:KEY -->` blocks."""
    m = re.search(rf"<!-- gen:{key} -->\n(.*?)\n<!-- /gen:{key} -->", (ROOT / "docs" / doc).read_text(), re.S)
    if m is None:
        raise SystemExit(f"docs/{doc}: no generated block '{key}'")
    return m.group(1).rstrip("\n") + "\n"


def gen_accuracy_bits() -> str:
    return _doc_block("accuracy.md", "bits")


def gen_accuracy_energy() -> str:
    return _doc_block("accuracy.md", "energy")


def gen_mapping() -> str:
    """docs/mapping-readme.md (written by scripts/gen_mapping_table.py, checked by tests/test_mapper.py)
    without its heading."""
    text = (ROOT / "docs" / "mapping-readme.md").read_text()
    return text.split("\n", 1)[1].lstrip("\n") if text.startswith("#") else text


def _peer_rows() -> list:
    p = _bench().get("peers") or {}
    return [r for r in p.get("rows", []) if r["tool"] != "tlm simulate" and not r.get("skipped")]


def _times(r, key) -> str:
    return "-" if r.get(f"{key}_ratio") is None else (">" if r["timed_out"] else "") + f"{r[f'{key}_ratio']:,.0f}x"


def gen_bench_peers() -> str:
    """docs/benchmarks.md: the peers' whole-process times against `tlm simulate` (benchmarks/peers.py)."""
    p = _bench().get("peers")
    if not _peer_rows():
        return "No peer measured yet: `python benchmarks/peers.py` with ZigZag (`zigzag-dse`) or SCALE-Sim installed.\n"
    m = p["machine"]
    load = "" if not m.get("load_average") else f", load average {m['load_average'][0]:.1f} at the end"
    head = (f"`{p['command']}` ({m['cpus']}-vCPU {m['machine']} {m['system']}, Python {m['python']}{load}; "
            f"each a fresh process, median of up to {p['repeats']} runs, stopped at {p['timeout_s']:.0f} s):\n\n")
    rows = ["| network | tool | wall s | CPU s | wall / `tlm simulate` | CPU / `tlm simulate` |",
            "|---|---|---:|---:|---:|---:|"]
    for r in p["rows"]:
        if r.get("skipped"):
            continue
        tool = r["tool"] + (f" {r['version']}" if r.get("version") else "")
        wall = f"> {r['wall_s']:.0f}" if r["timed_out"] else f"{r['wall_s']:.3g}"
        cpu = "-" if r.get("cpu_s") is None else f"{r['cpu_s']:.3g}"
        rows.append(f"| {r['network']} | {tool} | {wall} | {cpu} | {_times(r, 'wall')} | {_times(r, 'cpu')} |")
    return head + "\n".join(rows) + "\n"


def gen_peers_line() -> str:
    """README: one line of the peers' figures (the ResNet-8 ones)."""
    rs = [r for r in _peer_rows() if r["network"] == "resnet8"]
    if not rs:
        return ""
    names = {"zigzag": "ZigZag-IMC", "scalesim": "SCALE-Sim"}
    parts = [f"{names.get(r['tool'], r['tool'])} {r['version']} {_times(r, 'cpu')} ({_times(r, 'wall')} wall)"
             for r in rs]
    return ("The peers on ResNet-8, whole-process CPU time against `tlm simulate`'s: " + ", ".join(parts)
            + " ([docs/benchmarks.md](docs/benchmarks.md#peers)).\n")


GENERATORS = {
    "accuracy-bits": gen_accuracy_bits, "accuracy-energy": gen_accuracy_energy, "mapping": gen_mapping,
    "workloads": gen_workloads,
    "whatif-sweep": gen_whatif_sweep, "whatif-check": gen_whatif_check,
    "bench-machine": gen_bench_machine, "bench-table": gen_bench_table, "bench-scaling": gen_bench_scaling,
    "bench-output": gen_bench_output, "bench-peers": gen_bench_peers, "peers-line": gen_peers_line,
}


def render(text: str, only_gen: bool = False) -> str:
    def sub(m):
        return f"{m.group(1)}```text\n$ tlm {m.group('args')}\n{output(m.group('args'))}\n```\n{m.group(4)}"

    def gen(m):
        name = m.group("name")
        if name not in GENERATORS:
            raise SystemExit(f"unknown generated block '{name}'")
        return f"{m.group(1)}{GENERATORS[name]()}{m.group(4)}"
    return GEN.sub(gen, text if only_gen else BLOCK.sub(sub, text))


if __name__ == "__main__":
    only_gen = "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1] == "gen"
    stale = []
    for name in PAGES:
        page = ROOT / name
        old = page.read_text()
        new = render(old, only_gen)
        if new != old:
            stale.append(name)
            if "--check" not in sys.argv:
                page.write_text(new)
                print(f"wrote {page}")
    if "--check" in sys.argv:
        if stale:
            print(f"stale: {', '.join(stale)}: run python scripts/gen_readme.py")
        sys.exit(1 if stale else 0)
    if _WHATIF:
        WHATIF_IMG.parent.mkdir(parents=True, exist_ok=True)
        WHATIF_IMG.write_bytes(_WHATIF["plot"])
