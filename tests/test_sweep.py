"""`tlm sweep`: rows equal `tlm simulate` of the same point, local/Dask/process runs agree, interrupted
sweeps resume to the same bytes, the Pareto front, and one-line errors for bad settings."""
import csv
import io
import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from tlm.services import sweep
from tlm.cli import main
from tlm.engines.registry import ENGINES

ROOT = Path(__file__).resolve().parent.parent
from tlm.cli.commands.sweep import engine_args

SETS = ["--set", "macro.count=1,4", "--set", "adc.cycles_per_bit=1,3", "--set", "precision.weight=2,8"]


def rows_of(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def base_sweep(tmp_path_factory):
    """The 8-point reference sweep, run in-process."""
    out = tmp_path_factory.mktemp("ref") / "ref.csv"
    assert main(["sweep", "imagine", "resnet8", *SETS, "-o", str(out), "-q"]) == 0
    return out


def simulate_json(tmp_path, root, arch_edit, wl_edit, tag, engine="analytic"):
    """`tlm simulate --json` of the shipped files edited by hand as a user would edit the YAML."""
    a = yaml.safe_load((root / "configs" / "imagine.yaml").read_text())
    w = yaml.safe_load((root / "workloads" / "resnet8.yaml").read_text())
    arch_edit(a)
    wl_edit(w)
    ap, wp, jp = tmp_path / f"a{tag}.yaml", tmp_path / f"w{tag}.yaml", tmp_path / f"r{tag}.json"
    ap.write_text(yaml.safe_dump(a))
    wp.write_text(yaml.safe_dump(w))
    assert main(["simulate", str(ap), str(wp), "--engine", engine, "--json", str(jp), "-q"]) == 0
    return json.loads(jp.read_text()), a


def hand_area_mm2(a):
    m, adc = a["macro"], a["adc"]
    cdac = 0 if adc["cdac"] == "array" else 2 ** 8  # a SAR converting on the array has no CDAC of its own
    one = m["rows"] * m["columns"] * m["bitcell_area_um2"] / 1e6 + m["periphery_area_mm2"] \
        + adc["converters_per_macro"] * (cdac * adc["c_dac_unit_ff"] / a["technology"]["cap_density_ff_per_um2"]
                                         + adc["comparator_area_um2"] + 8 * adc["logic_area_um2_per_bit"]) / 1e6
    return m["count"] * one + a["sram"]["area_mm2"] + a["controller"]["area_mm2"]


def assert_row_matches(row, js, a):
    s, B = js["summary"], js["summary"]["batch"]
    # the JSON summary and the sweep row use the same names (the naming rule of tlm/engines/result.py)
    for col in ("cycles_per_batch", "latency_per_batch_ns", "energy_per_inference_pj", "energy_per_batch_pj",
                "tops", "tops_per_w", "batch", "inferences_per_s", "spatial_utilization",
                "temporal_utilization", "area_mm2", "tops_per_mm2"):
        assert float(row[col]) == float(s[col]), col
    for comp, e in js["energy_by_component_per_batch_pj"].items():
        assert float(row[f"energy_{comp}_per_inference_pj"]) == pytest.approx(e / B, rel=1e-12), comp
    on_chip = sum(float(row[f"energy_{c}_per_inference_pj"]) for c in js["energy_by_component_per_batch_pj"]
                  if c != "external")
    assert on_chip == pytest.approx(float(row["energy_per_inference_pj"]), rel=1e-12)
    assert float(row["energy_per_batch_pj"]) == pytest.approx(B * float(row["energy_per_inference_pj"]), rel=1e-12)
    assert float(row["area_mm2"]) == pytest.approx(hand_area_mm2(a), rel=1e-12)
    assert float(row["tops_per_mm2"]) == pytest.approx(float(row["tops"]) / hand_area_mm2(a), rel=1e-12)


def test_every_row_equals_simulate_of_its_point(base_sweep, tmp_path, root):
    rows = rows_of(base_sweep)
    want = list(itertools.product([1, 4], [1, 3], [2, 8]))  # first --set varies slowest
    assert [(int(r["macro.count"]), int(r["adc.cycles_per_bit"]), int(r["workload.precision.weight"]))
            for r in rows] == want
    assert [int(r["point"]) for r in rows] == list(range(8))
    for k, (row, (count, cpb, wbits)) in enumerate(zip(rows, want)):
        def edit_arch(a, count=count, cpb=cpb):
            a["macro"]["count"] = count
            a["adc"]["cycles_per_bit"] = cpb

        def edit_wl(w, wbits=wbits):
            w["precision"]["weight"] = wbits
        js, a = simulate_json(tmp_path, root, edit_arch, edit_wl, k)
        assert_row_matches(row, js, a)
    # the settings do change the results (a sweep of identical rows would pass the loop above too)
    assert len({r["energy_per_inference_pj"] for r in rows}) == 8


def test_workload_precision_and_batch_paths_equal_edited_yaml(tmp_path, root, capsys):
    out = tmp_path / "p.csv"
    code, _, err = run_cli(capsys, "sweep", "--set", "workload.precision.input=4", "--set", "precision.output=2",
                           "--set", "workload.batch=3", "-o", str(out), "-q")
    assert code == 0, err
    (row,) = rows_of(out)

    def edit_wl(w):  # what the precision paths mean, written out in the YAML
        w["input"]["bits"] = 4
        w["precision"]["output"] = 2
        w["batch"] = 3
        for layer in w["layers"]:
            if layer["type"] in ("conv2d", "dense"):
                layer["precision"] = {"input": 4}
    js, a = simulate_json(tmp_path, root, lambda a: None, edit_wl, "p")
    assert_row_matches(row, js, a)
    # the all-precisions path: every compute layer at 3b in, weight and out, the image at 3b
    out3 = tmp_path / "p3.csv"
    assert main(["sweep", "--set", "workload.precision=3", "-o", str(out3), "-q"]) == 0

    def edit3(w):
        w["input"]["bits"] = 3
        w["precision"] = {"input": 3, "weight": 3, "output": 3}
    js3, a3 = simulate_json(tmp_path, root, lambda a: None, edit3, "p3")
    assert_row_matches(rows_of(out3)[0], js3, a3)


def test_dask_local_cluster_and_processes_give_the_same_file(base_sweep, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    out = tmp_path / "dask.csv"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", "imagine", "resnet8", *SETS, "-o", str(out), "-q",
                     "--dask", cluster.scheduler_address]) == 0
    assert out.read_bytes() == base_sweep.read_bytes()
    out2 = tmp_path / "procs.csv"
    assert main(["sweep", "imagine", "resnet8", *SETS, "-o", str(out2), "-q", "--workers", "2"]) == 0
    assert out2.read_bytes() == base_sweep.read_bytes()


def _job(arch, resnet8, sets):
    settings = sweep.parse_settings(sets, arch)
    return sweep.Job(arch_dict=arch.to_dict(), workload=resnet8, settings=tuple(settings), engine="analytic",
                     engine_args=engine_args("analytic"))  # what `tlm sweep` hands the engine


def test_interrupted_sweep_resumes_to_the_same_bytes(base_sweep, tmp_path, root, resnet8):
    from tlm.config.arch import load_arch
    arch = load_arch(root / "configs" / "imagine.yaml")  # as shipped (mapping auto), like `tlm sweep imagine`
    job = _job(arch, resnet8, [s for s in SETS if s != "--set"])
    out = tmp_path / "r.csv"
    done = [0]

    def advance(n):
        done[0] += n
        if done[0] >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(job, out, advance=advance)
    assert len(rows_of(out)) == 3  # finished points were kept
    text, resumed = sweep.run_sweep(job, out, resume=True)
    assert resumed == 3
    assert out.read_bytes() == base_sweep.read_bytes() == text.encode()


def test_resume_keeps_rows_in_any_order_and_drops_a_cut_line(base_sweep, tmp_path, capsys):
    lines = base_sweep.read_text().splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    keep = [body[5], body[0], body[6]]  # as parallel workers would finish them
    marked = keep[1].split(",")
    col = head.strip().split(",").index("energy_dma_per_inference_pj")
    marked[col] = "123.5"  # a kept row is not recomputed: its (edited) value survives
    keep[1] = ",".join(marked)
    out = tmp_path / "r.csv"
    out.write_text(head + "".join(keep) + body[3][:17])  # the last line was cut by the interruption
    code, _, err = run_cli(capsys, "sweep", "imagine", "resnet8", *SETS, "-o", str(out), "-q", "--resume")
    assert code == 0, err
    got = out.read_text().splitlines(keepends=True)
    assert got[0] == head and len(got) == 9
    assert got[1].split(",")[col] == "123.5"
    assert got[1:2] != body[0:1] and got[2:] == body[1:]


def test_resume_refuses_a_file_of_another_sweep(base_sweep, tmp_path, capsys):
    out = tmp_path / "other.csv"
    out.write_bytes(base_sweep.read_bytes())
    code, out_text, err = run_cli(capsys, "sweep", "--set", "macro.count=1,2", "-o", str(out), "-q", "--resume")
    assert code == 2 and err.count("\n") == 1 and "drop --resume" in err
    sets = ["--set", "macro.count=1,2", "--set", "adc.cycles_per_bit=1,3", "--set", "precision.weight=2,8"]
    code, _, err = run_cli(capsys, "sweep", *sets, "-o", str(out), "-q", "--resume")
    assert code == 2 and "does not belong to this sweep" in err and err.count("\n") == 1
    # the same settings on another base architecture (imagine_4macro: double buffering, a wider DMA)
    code, _, err = run_cli(capsys, "sweep", "imagine_4macro", "resnet8", *SETS, "-o", str(out), "-q", "--resume")
    assert code == 2 and "computed from another architecture" in err and err.count("\n") == 1
    assert out.read_bytes() == base_sweep.read_bytes()  # a refused resume leaves the file alone


def brute_front(pts):
    return [not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts) for p in pts]


def test_pareto_front_on_a_hand_made_set():
    pts = [(1, 5), (2, 3), (3, 4), (4, 1), (2, 3), (5, 1), (1, 6), (0.5, 9)]
    mask = sweep.pareto_front([p[0] for p in pts], [p[1] for p in pts])
    # (3,4) is beaten by (2,3); (5,1) by (4,1); (1,6) by (1,5); both copies of (2,3) stay
    assert mask.tolist() == [True, True, False, True, True, False, False, True]
    rng = random.Random(3)
    for _ in range(50):
        pts = [(rng.randint(0, 6), rng.randint(0, 6)) for _ in range(rng.randint(1, 25))]
        assert sweep.pareto_front(*zip(*pts)).tolist() == brute_front(pts)


@pytest.mark.parametrize("setting, says", [
    ("macro.cont=1,2", "did you mean 'macro.count'"),
    ("macro.count=0", "expected >= 1"),
    ("macro.count=1.5", "expected an integer"),
    ("macro.count=", "empty value"),
    ("macro.count", "expected PATH=VALUES"),
    ("macro.count=4..1", "empty range"),
    ("macro.count=2,2", "given twice"),
    ("adc.pipelined=maybe", "expected true or false"),
    ("technology.vdd_array_v=-0.3", "expected >= 0.05"),
    ("precision.weight=9", "9b is not supported"),
    ("workload.precision.output=0", "expected >= 1"),
    ("macro=1", "is a section"),
    ("precision.weight_bits=1,2", "is a list"),
    ("macro.count=1,2 --workers 0", "expected 1 to 256 local processes, found 0"),
    ("macro.count=1,2 --workers 100000", "expected 1 to 256 local processes, found 100000"),
])
def test_bad_settings_exit_2_with_one_line(setting, says, tmp_path, capsys):
    out = tmp_path / "x.csv"
    setting, *more = setting.split(" ")
    code, stdout, err = run_cli(capsys, "sweep", "--set", setting, *more, "-o", str(out))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err, err
    assert "Traceback" not in err and not out.exists()


def test_too_many_set_options_are_refused(tmp_path, capsys):
    sets = [a for k in range(257) for a in ("--set", f"macro.count={k + 1}")]
    code, _, err = run_cli(capsys, "sweep", *sets, "-o", str(tmp_path / "x.csv"))
    assert code == 2 and err.count("\n") == 1 and "257 --set options, over the limit of 256" in err


def test_a_combination_the_schema_refuses_names_its_point(tmp_path, capsys):
    # 1161 rows split into 9 blocks and 1152 rows into 8 are fine; 1161 rows into 8 blocks is not: by
    # default its row says why and the sweep goes on; with --stop-on-error it ends the sweep, named
    out = tmp_path / "x.csv"
    code, _, err = run_cli(capsys, "sweep", "--set", "macro.rows=1152,1161", "--set", "macro.dp_split_blocks=9,8",
                           "-o", str(out), "-q")
    assert code == 0 and not err
    t = sweep.read_table(out.read_text())
    assert [s.split(":")[0] for s in t["status"]] == ["ok", "ok", "ok", "infeasible"]
    assert "divide evenly" in t["status"][3] and np.isnan(t["cycles_per_batch"][3])
    code, _, err = run_cli(capsys, "sweep", "--set", "macro.rows=1152,1161", "--set", "macro.dp_split_blocks=9,8",
                           "-o", str(out), "-q", "--stop-on-error")
    assert code == 2 and err.count("\n") == 1
    assert "point 3 (macro.rows=1161, macro.dp_split_blocks=8)" in err and "divide evenly" in err


def test_values_and_point_order(arch, resnet8):
    w = sweep.Where("--set")
    assert sweep.parse_values("1..3,7", w, "p") == (1, 2, 3, 7)
    assert sweep.parse_values("0.3, 0.45,true,inf", w, "p") == (0.3, 0.45, True, float("inf"))
    job = _job(arch, resnet8, ["macro.count=1,2,4", "adc.fixed_cycles=0..1", "workload.precision=2,8"])
    assert job.n_points == 12
    assert [job.values(i) for i in range(12)] == list(itertools.product((1, 2, 4), (0, 1), (2, 8)))


def test_plots_are_deterministic(base_sweep, tmp_path, root):
    pytest.importorskip("matplotlib")
    from tlm.present import plots
    table = sweep.read_table(base_sweep.read_text())
    paths = ["macro.count", "adc.cycles_per_bit", "workload.precision.weight"]
    a = plots.sweep_plots(table, paths, tmp_path / "a")
    assert sorted(p.name for p in a) == sorted(f"sweep_{k}.{x}" for k in ("energy", "efficiency", "pareto", "latency")
                                               for x in ("png", "svg"))
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in a if p.suffix == ".png")
    b = plots.energy_breakdown(table, paths, tmp_path / "b")  # the same figure again: the same bytes
    for pb in b:
        assert pb.read_bytes() == (tmp_path / "a" / pb.name).read_bytes(), pb.name
    assert main(["simulate", "--engine", "analytic", "--plot", str(tmp_path / "s"), "-q"]) == 0
    assert (tmp_path / "s" / "run_energy.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "s" / "run_energy.svg").read_bytes()


def test_efficiency_plot_needs_a_swept_precision(base_sweep, tmp_path):
    pytest.importorskip("matplotlib")
    from tlm.present import plots
    table = sweep.read_table(base_sweep.read_text())
    assert plots.efficiency_vs_precision(table, ["macro.count", "adc.cycles_per_bit"], tmp_path) == []


@pytest.mark.skipif("tlm" not in ENGINES, reason="the TLM engine is not registered yet")
def test_tlm_engine_rows_equal_simulate(tmp_path, root):
    out = tmp_path / "t.csv"
    assert main(["sweep", "--engine", "tlm", "--set", "macro.count=1,2", "--workers", "1", "-o", str(out),
                 "-q"]) == 0
    for k, row in enumerate(rows_of(out)):
        def edit(a, c=int(row["macro.count"])):
            a["macro"]["count"] = c
        js, a = simulate_json(tmp_path, root, edit, lambda w: None, f"t{k}", engine="tlm")
        assert_row_matches(row, js, a)


def test_sweep_rows_are_not_all_equal_across_precision(base_sweep):
    t = sweep.read_table(base_sweep.read_text())
    w = np.array([int(v) for v in t["workload.precision.weight"]])
    # more weight bits: more columns per output channel, never less energy per inference
    for lo, hi in zip(np.nonzero(w == 2)[0], np.nonzero(w == 8)[0]):
        assert t["energy_per_inference_pj"][hi] > t["energy_per_inference_pj"][lo]


# ---- the console table, the default results file, plots (issue 16) --------------------------------------
SETS16 = ["--set", "workload.precision=1,2,4,8", "--set", "macro.count=1,4", "--set", "workload.batch=1,4"]
NUMBER = r"\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?"


def shown_points(text):
    """(point, the four numbers) of every point in a printed table or stacked list."""
    import re
    got = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+\*?\s+(.*)$", line)  # a table row
        if m:
            nums = re.findall(NUMBER, re.split(r"[a-z]+", m.group(2))[-1])  # the numbers after the policy
            got[int(m.group(1))] = [float(n.replace(",", "")) for n in nums]
    return got


def printed_points(text):
    """The points of a table, or of the stacked list it becomes when the table is wider than the page."""
    return shown_points(text) or stacked_points(text)


def stacked_points(text):
    import re
    got, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^point (\d+)", line)
        if m:
            cur = int(m.group(1))
            got[cur] = []
        elif cur is not None and line.startswith("    ") and re.search(r"(us/batch|us/image|nJ/inference|TOPS)",
                                                                      line):
            got[cur] += [float(n.replace(",", "")) for n in re.findall(rf"({NUMBER}) (?:us/batch|us/image|"
                                                                         r"nJ/inference|TOPS/W|TOPS/mm2)", line)]
    return got


def expected_numbers(row, image=True):
    return [float(row["latency_per_batch_ns"]) / 1e3, *([float(row["image_latency_ns"]) / 1e3] if image else []),
            float(row["energy_per_inference_pj"]) / 1e3,
            float(row["tops_per_w"]), float(row["tops_per_mm2"])]


def assert_numbers_whole(got, rows):
    """Every printed number is the CSV's, rounded to 4 significant digits: nothing cut or wrapped."""
    assert got
    image = any(r["batch"] != "1" for r in rows)  # the latency of one image is shown when a batch has more
    for point, nums in got.items():
        want = expected_numbers(rows[point], image)
        assert len(nums) == len(want), (point, nums)
        for g, w in zip(nums, want):
            assert g == pytest.approx(w, rel=6e-4), (point, g, w)


def test_sweep_prints_every_point_in_80_columns_through_a_pipe(tmp_path, root):
    import subprocess
    import sys
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "tlm", "sweep", *SETS16], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(l.rstrip()) for l in lines) <= 80 and "…" not in r.stdout
    assert lines[0].strip() == "all 16 design points"
    rows = rows_of(tmp_path / "sweep.csv")  # the default results file, named on the last line
    assert lines[-1] == "16 design point(s) written to sweep.csv"
    got = printed_points(r.stdout)
    assert sorted(got) == list(range(16))
    assert_numbers_whole(got, rows)


@pytest.mark.parametrize("width", [200, 80, 50])
def test_table_fits_any_width_with_whole_numbers(base_sweep, width):
    from rich.console import Console

    from tlm.cli.commands.sweep import points_table
    table = sweep.read_table(base_sweep.read_text())
    rows = rows_of(base_sweep)
    paths = ["macro.count", "adc.cycles_per_bit", "workload.precision.weight"]
    con = Console(width=width, color_system=None)
    with con.capture() as cap:
        con.print(points_table(table, paths, "energy", 20, width))
    text = cap.get()
    assert max(len(l.rstrip()) for l in text.splitlines()) <= width and "…" not in text
    got = shown_points(text) if width >= 100 else stacked_points(text)  # 80, 50 columns: a stacked list
    assert sorted(got) == list(range(8))
    assert_numbers_whole(got, rows)


def test_top_n_shows_the_best_points_for_the_objective(tmp_path, capsys):
    out = tmp_path / "s.csv"
    code, stdout, err = run_cli(capsys, "sweep", *SETS16, "-o", str(out), "--top", "5", "--objective", "tops_per_mm2")
    assert code == 0, err
    assert stdout.splitlines()[0].strip() == "best 5 of 16 design points: highest TOPS/mm2"
    rows = rows_of(out)
    want = sorted(range(16), key=lambda i: -float(rows[i]["tops_per_mm2"]))[:5]
    got = printed_points(stdout)
    assert list(got) == want  # in objective order
    # the five densest: 1b on one macro first (the smallest array doing the fewest cycles)
    assert [rows[i]["workload.precision"] for i in want[:2]] == ["1", "1"]


def test_default_results_file_and_help(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run_cli(capsys, "sweep", "--set", "macro.count=1,2")
    assert code == 0 and (tmp_path / "sweep.csv").exists() and len(rows_of(tmp_path / "sweep.csv")) == 2
    assert "written to sweep.csv" in stdout
    code, stdout, _ = run_cli(capsys, "sweep", "--help")
    assert "default: sweep.csv" in " ".join(stdout.split())


def test_pareto_fronts_never_mix_batch_sizes():
    # batch 1: (10 us, 5 nJ), (20, 3); batch 4: (40, 4), (80, 2).  Mixed on one latency axis, (40, 4)
    # would be dominated by (20, 3); on its own batch's front it is not.
    table = {"batch": np.array([1.0, 1, 4, 4]), "latency_per_batch_ns": np.array([10.0, 20, 40, 80]),
             "energy_per_inference_pj": np.array([5.0, 3, 4, 2])}
    assert sweep.pareto_by_batch(table).tolist() == [True, True, True, True]
    assert sweep.pareto_front(table["latency_per_batch_ns"], table["energy_per_inference_pj"]).tolist() \
        == [True, True, False, True]
    table["energy_per_inference_pj"] = np.array([5.0, 6, 4, 4.5])  # (20, 6) and (80, 4.5) are beaten
    assert sweep.pareto_by_batch(table).tolist() == [True, False, True, False]


def _figures(monkeypatch):
    """Figures the plot functions save, as {stem: figure}."""
    from tlm.present import plots
    figs = {}
    real = plots.save

    def keep(fig, out_dir, stem):
        figs[stem] = [(ax, [(l.get_xdata().tolist(), l.get_ydata().tolist()) for l in ax.get_lines()])
                      for ax in fig.axes]
        return real(fig, out_dir, stem)
    monkeypatch.setattr(plots, "save", keep)
    return figs


def test_pareto_plot_and_xy_plots_keep_batches_apart(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    figs = _figures(monkeypatch)
    out = tmp_path / "s.csv"
    code, stdout, err = run_cli(capsys, "sweep", *SETS16, "-o", str(out), "-q", "--plot", str(tmp_path / "p"),
                                "--plot-x", "macro.count",
                                "--plot-y", "energy_per_inference_pj")
    assert code == 0, err
    rows = rows_of(out)
    from tlm.present import plots
    # axes in the unit of their data: latency per batch up to 2.5 ms -> ms, energy up to 1.2 uJ -> uJ
    k_lat, u_lat = plots._scale("latency_per_batch_ns", [float(r["latency_per_batch_ns"]) for r in rows])
    k_e, u_e = plots._scale("energy_per_inference_pj", [float(r["energy_per_inference_pj"]) for r in rows])
    assert (u_lat, u_e) == ("ms", "uJ")
    batch_of_latency = {}
    for r in rows:
        batch_of_latency.setdefault(float(r["latency_per_batch_ns"]) * k_lat, set()).add(r["workload.batch"])
    # the Pareto plot: one front line per batch size, each drawn through points of one batch only
    (_, lines), = figs["sweep_pareto"]
    assert len(lines) == 2
    for xs, _ in lines:
        assert len(set().union(*(batch_of_latency[x] for x in xs))) == 1
    # latency against macro.count: one line per (precision, batch), two macro counts each
    (_, lat_lines), = figs["sweep_latency"]
    assert len(lat_lines) == 8 and all(xs == [1.0, 4.0] for xs, _ in lat_lines)
    # --plot-x/--plot-y: energy per inference against macro.count, the CSV's values
    (_, e_lines), = figs["sweep_energy_per_inference_pj_vs_macro_count"]
    want = {(float(r["macro.count"]), float(r["energy_per_inference_pj"]) * k_e) for r in rows}
    assert {(x, y) for xs, ys in e_lines for x, y in zip(xs, ys)} == want
    assert (tmp_path / "p" / "sweep_energy_per_inference_pj_vs_macro_count.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv, says", [
    (["--plot-x", "macro.cont"], "did you mean 'macro.count'"),
    (["--plot-y", "energy_pj"], "did you mean 'energy_per"),
])
def test_bad_plot_axis_is_refused_before_the_sweep(argv, says, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.csv"
    code, _, err = run_cli(capsys, "sweep", "--set", "macro.count=1,2", "-o", str(out), "--plot", str(tmp_path),
                           *argv)
    assert code == 2 and err.count("\n") == 1 and says in err, err
    assert not out.exists()


def test_sweeps_doc_is_current(tmp_path):
    """Every number of docs/sweeps.md is what scripts/gen_sweeps_doc.py computes now (the stale 79.89 TOPS/W
    and 313 nJ of the 1-bit point were hand-copied)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_sweeps_doc", ROOT / "scripts" / "gen_sweeps_doc.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = gen.render(tmp_path)
    assert (ROOT / "docs" / "sweeps.md").read_text() == text, \
        "docs/sweeps.md is stale: run python scripts/gen_sweeps_doc.py"
    # the page shows the 1-bit point of its example as the sweep computes it
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sweep.csv").read_text())))
    tpw = float(rows[0]["tops_per_w"])
    assert f"{tpw:.4g}" in text and "79.89" not in text


def test_every_result_column_is_documented_with_a_unit():
    from tlm.services.sweep import evaluate
    assert tuple(evaluate.COLUMN_DOCS) == sweep.RESULT_COLUMNS == tuple(evaluate.COLUMN_UNITS)
    # the naming rule: a quantity that depends on the batch says per batch or per inference
    for c in sweep.RESULT_COLUMNS:
        if c.startswith(("energy", "cycles", "latency")):
            assert "_per_batch" in c or "_per_inference" in c, c


def test_infeasible_points_are_rows_with_their_reason(tmp_path, capsys):
    """Resident needs 3 macros for ResNet-8 (its 13 tiles, first-fit decreasing): on 1 and 2 it is
    refused.  The sweep goes on (exit 0), every point is a row, the refused ones say why; `auto` names
    the policy it ran and every point has its image latency (<= the batch's)."""
    out = tmp_path / "s.csv"
    code, stdout, err = run_cli(capsys, "sweep", "imagine", "resnet8", "--set", "macro.count=1..4",
                                "--set", "mapping.policy=resident,auto", "--set", "workload.batch=1,2", "-o", str(out))
    assert code == 0, err
    rows = rows_of(out)
    assert len(rows) == 16 and [int(r["point"]) for r in rows] == list(range(16))
    bad = [r for r in rows if r["status"] != "ok"]
    assert {(r["macro.count"], r["mapping.policy"]) for r in bad} == {("1", "resident"), ("2", "resident")}
    assert len(bad) == 4 and all(r["status"].startswith("infeasible: ") and "macros to stay resident" in r["status"]
                                 and r["cycles_per_batch"] == "" for r in bad)
    good = [r for r in rows if r["status"] == "ok"]
    assert all(r["policy"] in ("sequential", "resident", "pipelined", "replicate") for r in good)
    assert {r["policy"] for r in good if r["mapping.policy"] == "resident"} == {"resident"}
    # (<= up to float rounding: the two are products of different cycle counts and the clock period)
    assert all(0 < float(r["image_latency_ns"]) <= float(r["latency_per_batch_ns"]) * (1 + 1e-12) for r in good)
    assert "16 design point(s) written" in stdout and "4 of them without numbers" in stdout


def test_plots_keep_every_series_in_small_multiples(tmp_path):
    """24 series (4 x 3 x 2 combinations of the other settings) against macro.count: 3 panels of at most
    MAX_SERIES lines, none dropped; energies scaled to the data, no offset."""
    pytest.importorskip("matplotlib")
    from tlm.present import plots
    n_series, xs = 24, (1, 2)
    table = {"point": [str(k) for k in range(n_series * len(xs))], "macro.count": [], "s": [], "batch": [],
             "energy_per_inference_pj": []}
    for k in range(n_series):
        for x in xs:
            table["macro.count"].append(str(x))
            table["s"].append(str(k))
            table["batch"].append(1.0)
            table["energy_per_inference_pj"].append(1e6 + k + x)  # ~1 uJ: plotted in uJ, not pJ + 1e6
    table = {c: (np.array(v) if c in ("batch", "energy_per_inference_pj") else v) for c, v in table.items()}
    shown = plots._series(table, ["macro.count", "s"], "macro.count")[4]
    panels = plots._panels(shown)
    assert len(shown) == 24 and [len(p) for p in panels] == [10, 10, 4]
    assert plots._values(table, "energy_per_inference_pj")[1] == "uJ"
    written = plots.xy_plot(table, ["macro.count", "s"], "macro.count", "energy_per_inference_pj", tmp_path, "t")
    assert written and all(p.exists() for p in written)
