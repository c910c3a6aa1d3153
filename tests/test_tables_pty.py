"""Every table of every command fits the width it is printed at and never cuts a number.

Each command below runs at 80 and 200 columns twice: through a pseudo-terminal (a child process whose
stdout and stderr are a pty of that window size, COLUMNS unset: the terminal's own width), and in a
pipe (in this process, COLUMNS set, stdout a StringIO).  A check fails on
- any line (after removing colour and cursor codes) wider than the width,
- an ellipsis ("…" or "...") next to a digit: a cut number,
- (pipes) a number printed at 200 columns that is missing at 80 (cut, wrapped or folded inside).
The layout itself (split tables, wrapped headers, folded names) is tlm/present/tables.py.
"""
import contextlib
import io
import json
import os
import re
import select
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from tlm.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")

WIDTHS = (80, 200)
LONG = "resnetv17_stage1_conv0_fwd_a_very_long_onnx_style_layer_name"  # longer than a column
WORKLOAD = f"""name: long_names
input: {{shape: [64, 16, 16], bits: 8}}
layers:
  - {{name: {LONG}, type: conv2d, out_channels: 256, kernel: 3, padding: 1, relu: true}}
  - {{name: {LONG}_2, type: conv2d, out_channels: 256, kernel: 3, padding: 1, relu: true}}
  - {{name: pool, type: global_avgpool}}
  - {{name: fc, type: dense, out_features: 10}}
"""


def _have(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def _onnx_model(path):
    """A 2-layer ONNX model with long node names, for `tlm import`."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.zeros((16, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name=LONG, pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name=LONG + "_relu")]
    g = helper.make_graph(nodes, "long", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 16, 16])], [w])
    import onnx
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def commands():
    """name -> argv (paths relative to the working folder the runs get: short, so prose fits)."""
    cmds = {
        "simulate": ["simulate", "resnet8", "--per-layer"],  # summary, per layer, energy, blocks, notes
        "simulate-long-names": ["simulate", "long.yaml", "--engine", "analytic", "--per-layer"],
        "paper": ["paper"],
        "calibrate": ["calibrate"],
        "bench": ["bench", "resnet8", "--repeat", "1", "--engine", "analytic"],
        "validate": ["validate", "imagine", "long.yaml"],
        "sweep": ["sweep", "imagine", "resnet8", "--set", "macro.count=1,2,4", "--set", "precision.weight=4,8",
                  "-o", "s.csv"],
        "sweep-list": ["sweep", "--list"],
    }
    if _have("mlxtend") and _have("sklearn"):
        cmds["accuracy"] = ["accuracy", "--images", "20", "--noise-sweep", "--dataset", "digits"]
    if _have("onnx"):
        cmds["import"] = ["import", "long.onnx", "-o", "imported.yaml"]
    return cmds


NONDETERMINISTIC = {"bench"}  # wall times differ between runs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    (d / "long.yaml").write_text(WORKLOAD)
    if _have("onnx"):
        _onnx_model(d / "long.onnx")
    return d


# ---- the pseudo-terminal runs: one child runs every command at each width (one import of tlm, one
# load of each dataset); it sets its terminal's window size before each width, as a resized terminal would
CHILD = """
import fcntl, json, struct, sys, termios
from tlm.cli import main
widths, cmds = json.loads(sys.argv[1])
for w in widths:
    fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 50, w, 0, 0))
    for name, argv in cmds.items():
        print(f"\\n@@@ {w} {name}", flush=True)
        rc = main(argv)
        print(f"\\n@@@ {w} rc {rc}", flush=True)
"""


@pytest.fixture(scope="module")
def pty_runs(workdir):
    """width -> {command: (exit code, transcript)}."""
    cmds = commands()
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color")
    p = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps([WIDTHS, cmds])], stdin=slave, stdout=slave,
                         stderr=slave, cwd=workdir, env=env, close_fds=True)
    os.close(slave)
    buf, deadline = b"", time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        buf += chunk
    os.close(master)
    p.wait(timeout=60)
    out = {w: {} for w in WIDTHS}
    for part in buf.decode("utf-8", "replace").split("\n@@@ ")[1:]:
        head, _, body = part.partition("\n")
        w, _, what = head.strip().partition(" ")
        w = int(w)
        if what.startswith("rc "):
            out[w][last] = (int(what[3:]), out[w][last][1])
        else:
            last = what
            out[w][last] = (None, body)
    return out


# ---- the pipe runs, in this process ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipe_runs(workdir):
    out = {}
    old_cwd, old_cols = os.getcwd(), os.environ.get("COLUMNS")
    os.chdir(workdir)
    try:
        for w in WIDTHS:
            os.environ["COLUMNS"] = str(w)
            runs = {}
            for name, argv in commands().items():
                buf, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
                    rc = main(argv)
                runs[name] = (rc, buf.getvalue(), err.getvalue())
            out[w] = runs
    finally:
        os.chdir(old_cwd)
        if old_cols is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old_cols
    return out


# ---- the checks ---------------------------------------------------------------------------------------------
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
CUT = re.compile(r"\d(?:…|\.\.\.)|(?:…|\.\.\.)\d")
NUMBER = re.compile(r"\d+(?:[,.]\d+)*")
PART = re.compile(r"\(\d+ of \d+\)")  # the titles of split tables: "(1 of 2)"


def screen_lines(text: str) -> list[str]:
    """What a terminal shows, line by line: colour and cursor codes removed, and a line redrawn with
    carriage returns (a progress bar) counted as each of its versions."""
    text = ANSI.sub("", text).replace("\r\n", "\n")
    return [seg for line in text.split("\n") for seg in line.split("\r")]


def check_fits(text: str, width: int, what: str):
    from rich.cells import cell_len
    lines = screen_lines(text)
    assert lines and any(ln.strip() for ln in lines), f"{what}: printed nothing"
    for ln in lines:
        assert cell_len(ln) <= width, f"{what}: {cell_len(ln)} columns > {width}: {ln!r}"
        assert not CUT.search(ln), f"{what}: a cut number: {ln!r}"


def numbers(text: str) -> set:
    return set(NUMBER.findall(PART.sub("", ANSI.sub("", text))))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(commands()))
def test_pty_output_fits(pty_runs, name, width):
    rc, text = pty_runs[width][name]
    assert rc == 0, f"{name} exited {rc}: {text[-2000:]}"
    check_fits(text, width, f"{name} in a {width}-column terminal")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(commands()))
def test_pipe_output_fits(pipe_runs, name, width):
    rc, out, err = pipe_runs[width][name]
    assert rc == 0, err
    check_fits(out, width, f"{name} piped at COLUMNS={width}")
    assert not ANSI.search(out), f"{name}: escape codes in a pipe"
    assert "\r" not in err and not ANSI.search(err), f"{name}: a progress bar on a stderr that is no terminal"


@pytest.mark.parametrize("name", sorted(set(commands()) - NONDETERMINISTIC))
def test_narrow_output_keeps_every_number(pipe_runs, name):
    """Every number of the 200-column output is printed whole at 80 columns (not cut, wrapped or
    folded inside), and nothing else is (no half numbers)."""
    wide, narrow = (numbers(pipe_runs[w][name][1]) for w in (200, 80))
    assert wide == narrow, f"{name}: only at 200 columns {sorted(wide - narrow)[:10]}, " \
                           f"only at 80 {sorted(narrow - wide)[:10]}"


def test_the_tables_were_laid_out_differently(pipe_runs, pty_runs):
    """The checks above are not vacuous: at 80 columns the per-layer table is split in two and the long
    layer names fold, at 200 they do not; in a terminal the width is the terminal's."""
    narrow, wide = pipe_runs[80]["simulate"][1], pipe_runs[200]["simulate"][1]
    assert "per layer (1 of 2)" in narrow and "per layer (1 of" not in wide
    assert max(len(ln) for ln in wide.splitlines()) > 100
    def name_rows(text):  # per-layer rows that show the long name whole
        return [ln for ln in text.splitlines() if LONG in ln and "conv2d" in ln]
    assert not name_rows(pipe_runs[80]["simulate-long-names"][1])  # folded at 80
    assert len(name_rows(pipe_runs[200]["simulate-long-names"][1])) == 2  # whole at 200
    term80 = screen_lines(pty_runs[80]["simulate"][1])
    assert "per layer (1 of 2)" in "\n".join(term80) and max(len(ln) for ln in term80) <= 80
    assert max(len(ln) for ln in screen_lines(pty_runs[200]["simulate"][1])) > 100


@pytest.mark.skipif(not (_have("mlxtend") and _have("sklearn")), reason="needs the optional extra 'data'")
def test_accuracy_shows_progress_in_a_terminal_only(pty_runs, pipe_runs):
    assert "accuracy: " in ANSI.sub("", pty_runs[80]["accuracy"][1])  # the bar's label, on the terminal
    assert pipe_runs[80]["accuracy"][2] == ""  # nothing on a stderr that is a StringIO


def test_a_pipe_without_columns_is_80_wide(workdir, monkeypatch):
    """No COLUMNS and stdout not a terminal: 80 columns, whatever the terminal of stderr."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(workdir)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["simulate", "resnet8", "--engine", "analytic"]) == 0
    lines = buf.getvalue().splitlines()
    assert max(len(ln) for ln in lines) == 80


# ---- the layout itself, at every width ------------------------------------------------------------------
def _render(table, width):
    from rich.console import Console
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, highlight=False).print(table)
    return buf.getvalue()


def _sample_table():
    from tlm.present.tables import FOLD, Table
    t = Table(title="sample")
    t.add_column("layer", wrap=FOLD)
    for h in ("MACs", "bits i/w/o", "cycles", "energy per inference", "util sp/tmp"):
        t.add_column(h, justify="right")
    t.add_column("on what")
    for i in range(4):
        t.add_row(f"{LONG[:12 + 9 * i]}_{i}", f"{(i + 1) * 1_234_567:,}", "8/8/8", f"{i * 98_765:,}",
                  f"{i + 1.5:.4g} uJ", f"{10 * i}%/{100 - i}%", f"weight load {i * 4_321:,}, dma {i:,}")
    return t


@pytest.mark.parametrize("width", [16, 24, 40, 60, 80, 100, 120, 160])
def test_every_width_keeps_every_number(width):
    """From 16 columns (a stacked list) to 160 (one table): every line fits and every number of the
    rows is printed whole somewhere."""
    t = _sample_table()
    out = _render(t, width)
    check_fits(out, width, f"sample at {width}")
    wanted = {tok for cells, _ in t.rows for c in cells[1:] for tok in NUMBER.findall(c)}
    assert wanted <= numbers(out), sorted(wanted - numbers(out))


def test_layouts_by_width():
    """One table when it fits; split tables repeat the key column; a stacked list when nothing fits."""
    t = _sample_table()
    wide = _render(t, 200)
    assert "(1 of" not in wide and wide.count("sample") == 1
    mid = _render(t, 60)
    parts = re.findall(r"sample \((\d+) of (\d+)\)|\((\d+) of (\d+)\)", mid)
    assert len(parts) >= 2
    assert mid.count(" layer ") == len(parts)  # the key column heads every part
    narrow = _render(t, 20)
    assert "  MACs: 1,234,567" in narrow and "━" not in narrow  # stacked: `header: value`, no rules
