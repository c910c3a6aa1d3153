"""Documentation that is generated or promised stays true."""
import re
import subprocess
import sys

from conftest import ROOT


def test_config_reference_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_config_reference.py"), "--check"])
    assert r.returncode == 0, "docs/config-reference.md is stale: run python scripts/gen_config_reference.py"


def test_every_shipped_config_value_says_where_it_comes_from():
    """Each `key: value` line of a shipped config carries a [paper]/[derived]/[fitted]/[assumed] tag."""
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            m = re.match(r"^\s+([a-z_0-9]+):\s*(\S.*)$", code)
            if not m:
                continue
            assert re.search(r"#.*\[(paper|derived|fitted|assumed)\]", line), f"{path.name}:{n}: {line.strip()}"


def test_readme_commands_are_the_ci_ones():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[test,all]"' in readme and 'pip install --quiet -e ".[test,all]"' in ci
    assert "python -m pytest" in readme and "python -m pytest" in ci


def test_readme_outputs_are_what_the_commands_print():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_readme.py"), "--check"])
    assert r.returncode == 0, "README.md or a page moved out of it is stale: run python scripts/gen_readme.py"


# ---- figures of README.md and of the pages moved out of it (docs/guide.md, docs/benchmarks.md) that come
# from scripts (scripts/gen_readme.py `gen:` blocks) ---------------------------------------------------
GUIDE = ROOT / "docs" / "guide.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def test_readme_is_the_newcomers_page():
    """The README holds what it is, the two commands, one output, the commands table and where each
    document is; the reference moved to docs/ and every page it names exists."""
    readme = (ROOT / "README.md").read_text()
    heads = re.findall(r"^## (.+)$", readme, re.M)
    assert heads == ["Quick start (fresh machine, Python >= 3.11)", "What you get", "Commands", "Documentation",
                     "Project layout"]
    assert "<!-- out: simulate -->" in readme
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", readme))
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")} - {"docs/mapping-readme.md"} <= linked
    assert all((ROOT / p).is_file() for p in linked)
    assert len(_gen_readme().GEN.sub("", _gen_readme().BLOCK.sub("", readme)).splitlines()) < 100
def _gen_readme():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_readme", ROOT / "scripts" / "gen_readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _gen_blocks(text):
    return {m.group("name"): m.group("body") for m in _gen_readme().GEN.finditer(text)}


def test_readme_benchmark_figures_are_those_of_the_stored_results():
    """The Benchmarks section's table, scaling paragraph and `tlm bench` output are rendered from
    docs/bench-results.json (refresh: scripts/gen_bench_results.py, then scripts/gen_readme.py)."""
    g = _gen_readme()
    blocks = _gen_blocks(BENCHMARKS.read_text())
    for name in ("bench-machine", "bench-table", "bench-scaling", "bench-output"):
        assert blocks[name] == g.GENERATORS[name](), f"docs/benchmarks.md block '{name}' is stale: run scripts/gen_readme.py"


def test_readme_benchmark_section_has_no_hand_typed_figure():
    """Outside its generated blocks the Benchmarks section holds no measured number (only the fixed
    facts listed here), so a figure typed by hand instead of generated fails."""
    sec = BENCHMARKS.read_text()
    outside = _gen_readme().GEN.sub("", sec)
    numbers = re.findall(r"\d[\d,.]*", outside)
    # "one BLAS thread ... to 1", "2-core machines"
    assert sorted(set(numbers)) == ["1", "2"], numbers
    assert "<!-- gen: bench-table -->" in sec and "<!-- gen: bench-scaling -->" in sec


def test_readme_benchmark_table_follows_the_results_file(monkeypatch):
    """Another measurement in the file gives another README figure: the mechanism is not a copy."""
    import copy
    import json
    g = _gen_readme()
    data = json.loads((ROOT / "docs" / "bench-results.json").read_text())
    changed = copy.deepcopy(data)
    changed["pytest_benchmark"]["test_analytic_resnet8"].update(min_s=0.123e-3, median_s=0.456e-3)
    for fam, spread in zip(sorted(changed["tlm_bench_scaling"]["json"]["scaling"]["tlm"]["fits"]), (0.05, 0.5, 0.99)):
        changed["tlm_bench_scaling"]["json"]["scaling"]["tlm"]["fits"][fam]["per_mac_spread"] = spread
    monkeypatch.setattr(g, "_bench", lambda: changed)
    assert "| analytic engine, ResNet-8 whole inference | (the reference) | 0.12 / 0.46 ms |" in g.gen_bench_table()
    assert "within 5-99% of each other" in g.gen_bench_scaling()
    monkeypatch.setattr(g, "_bench", lambda: data)
    assert "0.12 / 0.46 ms" not in g.gen_bench_table()


def test_readme_output_schema_lists_every_name():
    """docs/guide.md's Outputs section names every summary field and summary-row column, and no bare
    energy_pj (the naming rule)."""
    from tlm.engines.result import ROW_COLUMNS
    guide = GUIDE.read_text()
    start = guide.index("## Outputs")
    end = guide.find("\n## ", start + 5)
    sec = guide[start:] if end < 0 else guide[start:end]
    from tlm.engines.registry import run
    from tlm.config.arch import load_arch
    from tlm.config.workload import load_workload
    r = run("analytic", load_arch(ROOT / "configs" / "imagine.yaml"), load_workload(ROOT / "workloads" / "mnist_cnn.yaml"))
    names = set(r.summary()) | set(ROW_COLUMNS) | set(r.to_json_dict())
    missing = sorted(n for n in names if not re.search(rf"\b{re.escape(n)}\b", sec))
    assert missing == []
    assert not re.search(r"(?<![\w])energy_pj\b", sec.replace("`energy_pj`", "")), "a bare energy_pj"
    assert f"`schema_version` {__import__('tlm.engines.result', fromlist=['x']).SCHEMA_VERSION}" in sec


def test_readme_whatif_check_gives_the_sweep_row(tmp_path, monkeypatch):
    """The README's what-if commands, run as written (the sweep without its plot options): the
    `tlm simulate --set` run of point 2 writes the sweep's row of point 2, and not that of another point."""
    import shlex

    from tlm.cli import main
    g = _gen_readme()
    body = _gen_blocks(GUIDE.read_text())
    cmds = [ln[len("$ tlm "):] for b in ("whatif-sweep", "whatif-check") for ln in body[b].splitlines()
            if ln.startswith("$ tlm ")]
    assert cmds == [g.WHATIF_SWEEP, g.WHATIF_CHECK]
    sweep_argv = shlex.split(cmds[0])
    cut = sweep_argv.index("--plot")
    sweep_argv = sweep_argv[:cut] + sweep_argv[cut + 6:]  # --plot DIR --plot-x C --plot-y C
    assert "--plot-y" not in sweep_argv and "-o" in sweep_argv
    monkeypatch.chdir(tmp_path)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(sweep_argv) == 0
        assert main(shlex.split(cmds[1])) == 0
    row, check = g.whatif_rows(tmp_path)
    assert row == check
    lines = (tmp_path / "whatif.csv").read_text().split("\n")
    head = lines[0].split(",")
    assert head[:4] == ["point", "macro.count", "workload.precision", "base"]
    assert lines[0].split(",", 5)[5] == (tmp_path / "check" / "summary.csv").read_text().split("\n")[0]
    assert lines[g.WHATIF_POINT + 1].split(",")[1:3] == ["2", "4"]
    others = [",".join(ln.split(",")[5:]) for i, ln in enumerate(lines[1:9]) if i != g.WHATIF_POINT]
    assert check not in others  # every other point differs (area, bits or both)


def test_readme_installs_extras_from_the_checkout():
    """The package is on no registry: `pip install imagine-tlm[...]` cannot work; a checkout installs
    its extras with `pip install -e ".[extra]"`."""
    for doc in (ROOT / "README.md", ROOT / "docs" / "onnx.md"):
        text = doc.read_text()
        assert not re.search(r"pip install '?imagine-tlm\[", text), doc.name
    assert 'pip install -e ".[onnx]"' in (ROOT / "README.md").read_text()


def test_readme_workload_table_counts_the_files():
    """The shipped workloads' MACs in the README are counted from the files (hand check: mnist_cnn,
    conv1 28*28*16*9 + conv2 14*14*32*16*9 + fc 1568*10 = 112,896 + 903,168 + 15,680 = 1,031,744)."""
    g = _gen_readme()
    block = _gen_blocks(GUIDE.read_text())["workloads"]
    assert block == g.gen_workloads(), "docs/guide.md workloads table is stale: run scripts/gen_readme.py"
    assert "| `mnist_cnn` | LeNet-style MNIST CNN | 1.03 M |" in block
    from tlm.config.workload import load_workload
    macs = 28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 1568 * 10
    assert load_workload(ROOT / "workloads" / "mnist_cnn.yaml").macs == macs
