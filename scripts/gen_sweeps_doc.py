"""Write docs/sweeps.md: every number, command output and table in it comes from running the commands
and reading the constants here (the page's text is the template at the end of this file; edit it here).

    python scripts/gen_sweeps_doc.py           # write docs/sweeps.md and the plots in docs/img/
    python scripts/gen_sweeps_doc.py --check   # exit 1 when docs/sweeps.md is stale (tests/test_sweep.py)
"""
import contextlib
import csv
import importlib.util
import io
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.config import overrides
from tlm.services import parallel
from tlm.present import plots  # noqa: E402
from tlm.cli import main  # noqa: E402
from tlm.services.sweep import evaluate, store  # noqa: E402

DOC = ROOT / "docs" / "sweeps.md"
IMG = ROOT / "docs" / "img"
EXAMPLE = ["imagine", "resnet8", "--set", "workload.precision=1,2,4,8", "--set", "macro.count=1,4",
           "--set", "workload.batch=1,4"]
ERRORS = [  # one-line refusals shown on the page
    ["--set", "macro.cont=1,2"],
    ["--set", "macro.count=0"],
    ["--set", "precision.weight=9"],
    ["--set", "precision=1..8"],
    ["--set", "adc.pipelined=maybe"],
]
COMBINATION = ["--set", "macro.rows=1152,1161", "--set", "macro.dp_split_blocks=9,8"]


def run(argv, tmp: Path):
    """(exit code, stdout, stderr) of `tlm ARGV`, run in-process from `tmp`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(tmp):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def shell(argv) -> str:
    return "tlm " + " ".join(argv)


def bench():
    spec = importlib.util.spec_from_file_location("bench_sweep", ROOT / "benchmarks" / "bench_sweep.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def paths_table() -> str:
    short = {v: k for k, v in overrides.ALIASES.items()}
    rows = ["| path | what it sets |", "|---|---|",
            "| `macro.count`, `adc.cycles_per_bit`, `technology.vdd_array_v`, `dma.bandwidth_bits_per_cycle`, "
            "... | any field of the architecture, by its dotted YAML path (an `arch.` prefix is accepted: "
            "`arch.macro.count`) |"]
    for path, doc in overrides.WORKLOAD_PATHS.items():
        name = f"`{path}`" + (f" (short: `{short[path]}`)" if path in short else "")
        rows.append(f"| {name} | {doc} |")
    return "\n".join(rows)


def columns_table() -> str:
    rows = ["| column | meaning |", "|---|---|"]
    comp = [c for c in evaluate.RESULT_COLUMNS if c.startswith("energy_") and c.endswith("_per_inference_pj")
            and c != "energy_per_inference_pj"]
    for c, doc in evaluate.COLUMN_DOCS.items():
        if c not in comp:
            rows.append(f"| `{c}` | {doc} |")
    names = ", ".join(f"`{c[len('energy_'):-len('_per_inference_pj')]}`" for c in comp if "external" not in c)
    rows.append(f"| `energy_<component>_per_inference_pj` | energy per image of {names} (these add up to "
                "`energy_per_inference_pj`) and `external` (off-chip DRAM, not in `energy_per_inference_pj`) |")
    return "\n".join(rows)


def errors_block(tmp: Path) -> str:
    tmp = tmp / "errors"
    tmp.mkdir(exist_ok=True)
    lines = []
    for argv in ERRORS:
        code, _, err = run(["sweep", *argv], tmp)
        assert code == 2 and err.count("\n") == 1, (argv, err)
        lines += [f"$ {shell(['sweep', *argv])}", err.rstrip("\n")]
    return "\n".join(lines)


def combination_block(tmp: Path) -> str:
    """A combination the schema refuses: by default a row with its reason (exit 0, the count and the
    reasons after the table); with --stop-on-error the end of the sweep (exit 2, one line)."""
    tmp = tmp / "errors"
    tmp.mkdir(exist_ok=True)
    code, out, err = run(["sweep", *COMBINATION], tmp)
    assert code == 0, err
    lines = out.splitlines()
    tail = lines[next(k for k, line in enumerate(lines) if "written to" in line):]
    assert "1 of them without numbers" in tail[1], out
    code, _, err2 = run(["sweep", *COMBINATION, "--stop-on-error"], tmp)
    assert code == 2 and err2.count("\n") == 1, err2
    return (f"$ {shell(['sweep', *COMBINATION])}\n...\n" + "\n".join(line.rstrip() for line in tail)
            + f"\n$ {shell(['sweep', *COMBINATION, '--stop-on-error'])}\n{err2.rstrip()}")


def example(tmp: Path):
    """The example sweep's console output (as printed into a pipe) and its CSV rows."""
    code, out, err = run(["sweep", *EXAMPLE], tmp)
    assert code == 0, err
    out = "\n".join(line.rstrip() for line in out.splitlines())
    rows = list(csv.DictReader(io.StringIO((tmp / "sweep.csv").read_text())))
    return out, rows


def csv_excerpt(tmp: Path) -> str:
    cols = ["point", "workload.precision", "macro.count", "workload.batch", "cycles_per_batch",
            "latency_per_batch_ns", "energy_per_inference_pj", "energy_per_batch_pj", "tops_per_w", "area_mm2"]
    text = (tmp / "sweep.csv").read_text().splitlines()
    head = next(csv.reader([text[0]]))
    idx = [head.index(c) for c in cols]
    picked = [",".join(r[i] for i in idx) for r in csv.reader(text[:4])]
    return "\n".join(picked)


def macro_sentence(rows) -> str:
    """What four macros do to ResNet-8 in the example, from its rows."""
    def pick(prec, count, batch=1):
        (r,) = [r for r in rows if (r["workload.precision"], r["macro.count"], r["workload.batch"])
                == (str(prec), str(count), str(batch))]
        return r
    lat = {(p, c): float(pick(p, c)["latency_per_batch_ns"]) / 1e3 for p in (1, 8) for c in (1, 4)}
    area = {c: float(pick(1, c)["area_mm2"]) for c in (1, 4)}
    e = {c: float(pick(1, c)["energy_per_inference_pj"]) / 1e3 for c in (1, 4)}

    def change(a, b):
        return "leave the latency at" if a == b else f"take the latency from {a:.4g} to"
    return (f"With one image per run, four macros {change(lat[1, 1], lat[1, 4])} {lat[1, 4]:.4g} us at 1 bit "
            f"(one macro: {lat[1, 1]:.4g} us), and at 8 bits they {change(lat[8, 1], lat[8, 4])} "
            f"{lat[8, 4]:.4g} us: ResNet-8's layers are small, so the extra macros mostly wait. They add area "
            f"({area[1]:.4g} -> {area[4]:.4g} mm2) and energy ({e[1]:.4g} -> {e[4]:.4g} nJ per inference at "
            "1 bit); see the plots below.")


def limits_table() -> str:
    gib = store.MAX_RESULTS_BYTES / 2**30
    return "\n".join([
        "| limit | value | why |", "|---|---|---|",
        f"| design points of one sweep | {overrides.MAX_POINTS:,} | hours of the analytic engine; a bigger "
        "grid is several sweeps |",
        f"| values of one `a..b` range, or of one `--set` | {overrides.MAX_RANGE:,} | |",
        f"| `--set` options | {overrides.MAX_SETS} | |",
        f"| results file read by `--resume` | {gib:g} GiB | its rows are held in memory for the final "
        "rewrite in point order |",
        f"| one line of a results file | {store.MAX_LINE_BYTES // 2**20} MiB | a row is a few hundred bytes |",
        f"| a worker notices its parent died within | {parallel.WATCHDOG_S:g} s | the watchdog's period "
        "(on Linux the kernel's parent-death signal is immediate) |",
    ])


def speed_text() -> str:
    b = bench()
    sets = " x ".join(f"`{s}`" for s in b.SETS)
    from tlm.config.arch import load_arch
    from tlm.services.sweep import parse_settings
    import math
    n = math.prod(len(s.values) for s in parse_settings(b.SETS, load_arch(ROOT / "configs" / "imagine.yaml")))
    return (f"`benchmarks/bench_sweep.py` sweeps {sets} ({n:,} points) of ResNet-8 with the analytic engine, "
            "in-process, settings validation and CSV writing included, with `mapping.policy: auto` and pinned "
            "to `sequential`: the target is a ratio measured in the same run, auto <= 1.3x sequential. A "
            "second sweep changes energies only (supplies, capacitances, clock: the points share one plan and "
            "their energies are evaluated as arrays, tlm/engines/registry.run_group): target <= 0.3x the time "
            "of one `simulate` per point. The same file times auto against sequential on the other grids of "
            "issue 25 (precision x ADC x DMA, macros x precision x batch, mnist_cnn macros x batch) and one "
            "run at batch 400 against batch 1. "
            "Timings depend on the machine and its load, so this page shows none: run\n\n"
            "```\ncd benchmarks && python -m pytest bench_sweep.py\n```")


def render(tmp: Path) -> str:
    out, rows = example(tmp)
    values = {
        "paths_table": paths_table(),
        "errors": errors_block(tmp),
        "combination": combination_block(tmp),
        "columns_table": columns_table(),
        "example_cmd": shell(["sweep", *EXAMPLE]),
        "example_out": out,
        "csv_excerpt": csv_excerpt(tmp),
        "macro_sentence": macro_sentence(rows),
        "n_rows": str(len(rows)),
        "top": str(__import__("tlm.cli.commands.sweep", fromlist=["DEFAULT_TOP"]).DEFAULT_TOP),
        "limits_table": limits_table(),
        "max_bars": str(plots.MAX_BARS),
        "max_series": str(plots.MAX_SERIES),
        "max_labels": str(plots.MAX_LABELS),
        "speed": speed_text(),
        "regen_cmd": shell(["sweep", *EXAMPLE, "--plot", "DIR", "-q"]),
    }
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], TEMPLATE)
    return text


def main_(argv) -> int:
    check = "--check" in argv
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        text = render(tmp)
        if check:
            if DOC.read_text() != text:
                print("docs/sweeps.md is stale: run python scripts/gen_sweeps_doc.py", file=sys.stderr)
                return 1
            return 0
        DOC.write_text(text)
        IMG.mkdir(exist_ok=True)
        code, _, err = run(["sweep", *EXAMPLE, "-o", "plots.csv", "--plot", "plots", "-q"], tmp)
        assert code == 0, err
        for name in ("sweep_energy", "sweep_efficiency", "sweep_pareto", "sweep_latency"):
            shutil.copyfile(tmp / "plots" / f"{name}.png", IMG / f"{name}.png")
        code, _, err = run(["simulate", "imagine", "resnet8", "--engine", "analytic", "--plot", "plots", "-q"], tmp)
        assert code == 0, err
        shutil.copyfile(tmp / "plots" / "run_energy.png", IMG / "run_energy.png")
    print(f"wrote {DOC} and the plots in {IMG}")
    return 0


TEMPLATE = r"""# Design-space sweeps: `tlm sweep`

<!-- generated by scripts/gen_sweeps_doc.py: edit the template there, then run it -->

An architect's "what if" — more macros, other precisions, a slower ADC, a faster DMA, other supplies —
is a grid of design points. `tlm sweep` evaluates the cartesian product of the settings you give it,
writes one CSV row per design point, prints a table of the points and, with `--plot`, draws the answer.

```
tlm sweep [ARCH.yaml] [WORKLOAD] --set PATH=VALUES [--set PATH=VALUES ...]
          [-o RESULTS.csv] [--resume] [--top N] [--objective energy|latency|throughput|tops_per_w|tops_per_mm2]
          [--plot DIR [--plot-x COLUMN] [--plot-y COLUMN]]
          [--engine analytic|tlm] [--workers N] [--dask SCHEDULER_ADDRESS] [--quiet]
tlm sweep --list          # every path --set accepts, with its current value and what it changes
```

ARCH and WORKLOAD default to the shipped `imagine` architecture and the `resnet8` workload, like
`tlm simulate`; RESULTS.csv defaults to `sweep.csv` in the current folder.

## What `--set` addresses

{{paths_table}}

The architecture's own `precision` section holds `input_bits`/`weight_bits`/`output_bits`, the
precisions the hardware *supports*; the workload paths set the precisions the network *runs at*. The
short forms `precision.input/weight/output` cannot collide with architecture fields, which end in
`_bits`. A list-valued field (such as `precision.weight_bits`) cannot be swept.

Note that `workload.precision` and `workload.precision.input` also set the image's precision (the
workload file's `input.bits`): a workload file edited by hand to `precision: {input: 4, weight: 4,
output: 4}` keeps its 8-bit image, and its first layer then reads 8 bit-planes. When the input or output
precision is set, every other layer reads its producer's precision and digital layers (pooling, add)
pass their input precision through — exactly what the YAML parser does for a workload file whose
top-level `precision:` says so (the tests check this equality). The same paths, with one value each,
are the `--set PATH=VALUE` of the one-run commands (`tlm/config/overrides.py`).

Values: comma lists (`1,2,4,8`), integer ranges with both ends included (`1..8`), numbers (`0.3,0.4`,
`inf`), `true`/`false`, or words. Several `--set` options make a cartesian product; points are numbered
in `itertools.product` order: the first `--set` varies slowest.

Every value is validated exactly like the YAML file: the point's architecture is rebuilt with
`tlm.config.arch.arch_from_dict` from `arch.to_dict()` with the change applied, so the schema's types and
ranges apply. Mistakes are one line and exit code 2, before anything is evaluated:

```
{{errors}}
```

Each value is checked on its own against the base architecture up front. A point that cannot run --
a *combination* the schema refuses, or a mapping that does not fit (a resident policy on too few
macros), or an engine failure -- is a row of its own: empty numbers and its reason in the `status`
column (`infeasible: ...` or `error: ...`); the sweep goes on, exits 0 and says how many points have
no numbers, with the first reasons. `--stop-on-error` ends the sweep at the first such point instead
(exit 2, the point named):

```
{{combination}}
```

## The results file

One row per design point: `point`, the settings (one column per `--set`, by its canonical path),
`base` (a short hash of the base architecture, the workload and the engine with its options, so that
`--resume` never mixes rows computed from other inputs), then the columns below. A quantity that
depends on the batch says whether it is per batch or per inference (`energy_per_inference_pj`,
`energy_per_batch_pj`, `latency_per_batch_ns`, `cycles_per_batch`); rates and shares do not depend on
it.

{{columns_table}}

Numbers are written with Python's shortest exact `repr`, so a row reads back to the very floats the
engine computed; every row equals what `tlm simulate --json` reports for that point (tested).

After the sweep the console shows every point when there are at most `--top` of them (default
{{top}}), else the best `--top` for `--objective` (the title says how many of how many), with a `*` on
the points of the energy/latency Pareto front of their batch size, and says where the CSV went. The
table shows the policy each point ran (`auto`'s choice) and the latency of a batch and of one image;
it fits the terminal (a pipe: 80 columns; headers wrap, numbers never do), else it becomes a stacked
list, as here. Numbers have 4 significant digits, thousands separated from 1,000 up.

```
$ {{example_cmd}}
{{example_out}}
```

The first rows of `sweep.csv`, some of its columns:

```
{{csv_excerpt}}
```

{{macro_sentence}}

## Where the points run

- **analytic engine, default**: in this process, in chunks of up to 200 points; architectures and
  workloads that several points share are built once. Points that agree on every field their plans,
  counts and cycles read (recorded while the first of them runs) and differ only in energy fields
  (supplies, capacitances, the clock) share one plan and one set of counts, and the energy formulas of
  `tlm/hw` evaluate all of them at once, given arrays (`tlm/engines/registry.run_group`); each row is
  the one its own run gives (tested). A grid of structural settings runs point after point, but the
  one-image schedules of its streamed policies are timed together first where points share a schedule's
  jobs (points that differ in ADC or DP cycles only, on the same macros, precision and placement): the
  points' cycles as a numpy axis, each point's kept only when the list scheduler would have ordered its
  jobs the same way, in the order of one of a few list-scheduled points (`tlm/mapping/schedule.pretime`,
  `retime.retime_many`; tested); points that differ from the point before in the DMA's transfers only
  are shifted from its run instead (`retime.shifted`), and a chunk whose points differ pairwise in a
  timing or integer setting is not recorded for groups (none can form). The chunks take such points
  together whatever the order of the `--set` options (timing settings vary fastest:
  `tlm/services/sweep/runner.structure_first`; the file keeps point order). With `mapping.policy: auto`,
  a sweep makes a Result for the chosen policy only (and for a policy tied with it on cycles), reads the
  cycles of the streamed policies that lose off those timings without building their schedules, writes
  no note, runs where no resident policy fits (the structure's weights need more macros than there are)
  what pinned sequential runs (`tlm/engines/alone.py`), and keeps between points what the choice derives
  from the architecture and the layers alone: the tiles' packing, each policy's assignment, the row
  cycles (`tlm/engines/analytic.py`, `tlm/mapping/assign.py`); every row is the best pinned policy's
  (tested).
- **`--workers N`**: N local processes (spawned), each evaluating chunks of points. This is the default
  for engines other than `analytic` (N = the cores); for the analytic engine it only pays on machines
  with idle cores and sweeps of many thousands of points.
- **`--dask ADDRESS`**: the points run on a Dask distributed cluster (optional extra:
  `pip install -e ".[dask]"` from a checkout). The job (architecture, workload, settings) is scattered
  to the workers once; chunks of points are submitted a few per worker thread at a time. Every worker
  needs imagine-tlm installed. For example:

  ```
  dask scheduler                      # on one machine: prints its address, tcp://HOST:PORT
  dask worker tcp://HOST:PORT         # on each machine
  tlm sweep --set macro.count=1..16 --set precision.weight=1..8 --dask tcp://HOST:PORT -o big.csv
  ```

A point's numbers do not depend on where it ran: in-process, process-pool and Dask runs of the same
sweep give byte-identical files (tested with a `dask.distributed.LocalCluster`).

`--engine tlm` evaluates each point with the transaction-level engine (any engine registered in
`tlm/engines/registry.py` can be named), with the same defaults `tlm simulate --engine tlm` uses.

## Interruptions, `--resume` and failures

Rows are appended to RESULTS.csv as their points finish, each row whole or not at all, so an
interrupted sweep keeps every finished point and the file always resumes:

- **Ctrl-C or SIGTERM**: the workers are stopped, and the sweep says `N of M points are in big.csv; run
  again with --resume to finish` (exit code 130).
- **SIGKILL of the sweep**: its worker processes die with it (on Linux the kernel's parent-death
  signal; everywhere a watchdog thread in each worker), and multiprocessing's resource tracker exits
  when they do; nothing is left holding the caller's pipes.
- **A full disk or a file-size limit** (ENOSPC, EFBIG): the row being written is taken back (the file
  is truncated to its last whole row) and the sweep stops with one line naming the file, how many
  points it holds and the hint to resume; exit code 2.
- **A local worker process killed** (the OOM killer, `kill -9`): one line, `--workers: a local worker
  process died (killed, or out of memory?) (...); N of M points are in big.csv: run again with --resume
  to finish`; exit code 2.
- **A lost Dask scheduler or its workers**: one line, `--dask: lost the Dask scheduler or its workers
  at ADDRESS (...); N of M points are in big.csv: run again with --resume to finish`; exit code 2.

`--resume` keeps the rows already in the file and evaluates only the missing points; a last line cut
short by an interruption is dropped. A file written by a different sweep (other columns, a point whose
settings differ, or another `base`: the architecture file, the workload or the engine changed) is
refused, and left as it is, rather than mixed in. When the sweep finishes, the file is rewritten
atomically in point order, so the final file is byte-for-byte the one an uninterrupted run writes,
whatever the order in which parallel workers finished (tested). While a sweep runs, the rows are in
completion order.

Limits (`tlm/config/overrides.py`, `tlm/services/sweep/store.py`, `tlm/services/parallel.py`):

{{limits_table}}

## Plots

`--plot DIR` writes each plot as PNG and SVG (matplotlib, optional extra `pip install -e ".[plot]"`).
They are deterministic: the same results give the same bytes (Agg backend, a fixed SVG hash salt, no
dates or versions in the file metadata). The figures below are the example sweep's above, with
`--plot DIR`.

**Energy breakdown per design point** (`sweep_energy`): on-chip energy per inference, stacked by
component. Bars are labelled with the values of the settings that vary (key under the axis). With more
than {{max_bars}} points the plot shows {{max_bars}} of them spread evenly over the energy range (the
title says so).

![energy per design point](img/sweep_energy.png)

**Energy and area efficiency against precision** (`sweep_efficiency`): TOPS/W and TOPS/mm2 against the
first swept precision path (`workload.precision`, `.input`, `.weight` or `.output`), one line per
combination of the other swept settings, {{max_series}} lines a panel: more series make more panels
(small multiples), none is dropped. Drawn only when a precision is swept. Axes in pJ or ns are drawn
in the unit of their data (nJ, uJ, us, ms...), with whole numbers (no offset).

![efficiency vs precision](img/sweep_efficiency.png)

**Energy against latency with the Pareto fronts** (`sweep_pareto`): energy per inference against
latency per batch, one colour and one front per batch size, so a run of four images is never compared
with a run of one on its latency; the points no other point of their batch size beats on both are
marked, joined and (up to {{max_labels}}) labelled. `--pareto X,Y` draws another front on any two
result columns or swept fields (`sweep_pareto_Y_vs_X`), such as `--pareto area_mm2,inferences_per_s`:
rates and efficiencies count as higher-is-better, the rest lower-is-better.

![energy vs latency, Pareto fronts](img/sweep_pareto.png)

**Latency against a swept field** (`sweep_latency`): latency per batch against the first swept
architecture field (here `macro.count`), one line per combination of the other swept settings (batch
sizes apart). `--plot-x COLUMN --plot-y COLUMN` draws any swept field or result column against any
other (`sweep_Y_vs_X`; defaults: that field and `latency_per_batch_ns`); a name that is neither is
refused before the sweep runs, with a "did you mean".

![latency vs macro count](img/sweep_latency.png)

**Energy breakdown per layer of one run** (`run_energy`, from `tlm simulate --plot DIR`): on-chip energy
per inference of each layer stacked by event kind, and the run's total by kind.

![energy per layer](img/run_energy.png)

`python scripts/gen_sweeps_doc.py` regenerates this page and its images (it runs
`{{regen_cmd}}` and `tlm simulate imagine resnet8 --engine analytic --plot DIR -q`).

## Speed

{{speed}}

## From Python

```python
import tlm

s = tlm.sweep("imagine", "resnet8", {"macro.count": [1, 2, 4], "precision.weight": "1..8"},
              out="sweep.csv", workers=1)                # or dask="tcp://...", resume=True
s.table                                                  # columns: settings as text, results as arrays
s.pareto()                                               # per batch size: latency vs energy per inference
s.frame()                                                # the rows as a pandas DataFrame (extra 'frames')
```

The package `tlm/services/sweep/` has one module per concern: `points.py` (numbering and building points),
`evaluate.py` (one engine run per point, the columns), `store.py` (the results file and `--resume`),
`pareto.py` (fronts and objectives) and `runner.py` (running here, on processes or on Dask); the
`--set` paths and values are `tlm/config/overrides.py`.
"""

if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
