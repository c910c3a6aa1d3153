"""Robustness, round two (issue 15): one regression test per failure found by attacking every entry point.

Each test is written from the issue's reproducer.  We run as root where it matters (CI and containers
do): as root a rename over /dev/null succeeds, so only the code can keep it a device.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tlm.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
WORKLOADS = ROOT / "workloads"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str, *names) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err
    for n in names:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def cli_env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra)
    return env


# ---- 1. never rename over a device, a FIFO or a symlink into /dev --------------------------------------
def _null_device(path: Path) -> Path:
    """A character device with /dev/null's numbers (major 1, minor 3): as root, mknod works anywhere."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


def _is_null_device(path) -> bool:
    st = os.stat(path)
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3


# every command that writes a single file: (name, argv given the output path, does it accept a device)
def _single_file_commands(tmp: Path):
    from onnx_models import chain_model
    model = chain_model(tmp / "m.onnx", 3)
    sim = ["simulate", "-q", "imagine", "mnist_cnn", "--engine"]
    return {
        "simulate --json": lambda p: [*sim, "analytic", "--json", p],
        "simulate --trace": lambda p: [*sim, "tlm", "--trace", p],
        "import -o": lambda p: ["import", model, "-o", p],
        "calibrate --write": lambda p: ["calibrate", "imagine", "--write", p],
        "bench --json": lambda p: ["bench", "imagine", "mnist_cnn", "--engine", "analytic", "--repeat", "1",
                                   "--json", p],
    }


@pytest.mark.skipif(not AS_ROOT, reason="mknod needs root (CI runs as root)")
def test_outputs_write_devices_in_place_and_never_rename_over_them(tmp_path):
    """Reproducer: as root `--json /dev/null` replaced /dev/null by a regular file, `--json ./dev` after
    `mknod ./dev c 1 7` turned the device into a file, `--json /dev/stdout` replaced the symlink."""
    dev = _null_device(tmp_path / "dev")
    link = tmp_path / "link"
    link.symlink_to("/dev/null")
    for name, argv in _single_file_commands(tmp_path).items():
        for target in (dev, link, Path("/dev/null")):
            code, o, e = run_cli(argv(target))
            assert code == 0, (name, target, e)
            assert _is_null_device(dev) and _is_null_device("/dev/null"), (name, target)
            assert link.is_symlink() and os.readlink(link) == "/dev/null", (name, target)
            assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], (name, target)  # no temp file
    # folder outputs: a file inside them that is a link to /dev/null is written in place too
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "layers.csv").symlink_to("/dev/null")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "run_energy.png").symlink_to(dev)
    code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--csv", csv,
                          "--plot", plots])
    assert code == 0, e
    assert (csv / "layers.csv").is_symlink() and _is_null_device("/dev/null") and _is_null_device(dev)
    assert (csv / "energy.csv").read_text().startswith("component,kind,")  # the regular file next to it is written
    assert (plots / "run_energy.png").is_symlink() and (plots / "run_energy.svg").stat().st_size > 1000


def test_sweep_results_must_be_a_regular_file(tmp_path):
    """The results file is appended to as points finish and read back by --resume: a device or FIFO is
    refused in one line (and left as it is)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    argv = ["sweep", "imagine", "mnist_cnn", "--set", "macro.count=1,2", "-q", "-o"]
    for target in (fifo, Path("/dev/null")):
        code, o, e = run_cli([*argv, target])
        assert code == 2
        one_error_line(e, target, "regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_without_reader_is_refused_at_once_and_with_reader_gets_the_data(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for name, argv in _single_file_commands(tmp_path).items():
        code, o, e = run_cli(argv(fifo))  # O_NONBLOCK open: no reader -> ENXIO, no hang
        assert code == 2, (name, e)
        one_error_line(e, fifo, "no reader")
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there before the writer opens
    got, done = [], threading.Event()

    def drain():  # read while the CLI writes (the JSON is bigger than a pipe's buffer)
        while True:
            # `done` read before the read: set, the writer had closed, so an empty read is the end; read after,
            # an empty read from before the CLI wrote could end the loop with its data unread (seen once in CI)
            finished = done.is_set()
            try:
                chunk = os.read(rfd, 1 << 16)
            except BlockingIOError:
                chunk = None
            if chunk:
                got.append(chunk)
            elif finished and chunk == b"":
                return
            else:
                threading.Event().wait(0.005)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--json", fifo])
    finally:
        done.set()
        reader.join(10)
        os.close(rfd)
    assert code == 0, e
    assert json.loads(b"".join(got))["summary"]["cycles_per_batch"] > 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dash_is_standard_output_and_dev_stdout_stays_a_link():
    """`--json -` prints the JSON; `--json /dev/stdout` (a symlink into /proc) writes through it."""
    for target in ("-", "/dev/stdout"):
        r = subprocess.run([sys.executable, "-m", "tlm", "simulate", "-q", "imagine", "mnist_cnn", "--engine",
                            "analytic", "--json", target], capture_output=True, text=True, env=cli_env(),
                           timeout=120)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert json.loads(r.stdout)["summary"]["cycles_per_batch"] > 0
    assert os.path.islink("/dev/stdout")


def test_import_to_standard_output_is_only_the_yaml(tmp_path):
    """`tlm import M.onnx -o -`: the workload YAML on stdout (it loads), the summary line on stderr."""
    pytest.importorskip("onnx")
    from onnx_models import small_cnn
    from tlm.onnxio.graph import parse_yaml
    model = small_cnn(tmp_path / "m.onnx")
    r = subprocess.run([sys.executable, "-m", "tlm", "import", str(model), "-o", "-"], capture_output=True,
                       text=True, env=cli_env(), timeout=120)
    assert r.returncode == 0 and r.stderr.startswith("wrote -: 'm'"), r.stderr
    assert [l.type for l in parse_yaml(r.stdout, model).layers][:2] == ["conv2d", "maxpool"]
    assert list(tmp_path.iterdir()) == [model]


def test_non_regular_outputs_refused_in_one_line(tmp_path):
    """A directory, a socket, a dangling symlink: refused, and never replaced."""
    import socket
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere" / "x.json")
    try:
        for target, why in ((tmp_path, "directory"), (sock_path, "socket"), (dangling, "symbolic link")):
            code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--json",
                                  target])
            assert code == 2
            one_error_line(e, target, why)
        assert stat.S_ISSOCK(os.stat(sock_path).st_mode) and dangling.is_symlink()
    finally:
        sock.close()


def test_symlink_to_a_regular_file_replaces_the_target_not_the_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--json", link])
    assert code == 0, e
    assert link.is_symlink() and json.loads(real.read_text())["summary"]["cycles_per_batch"] > 0


# ---- 13. output-path collisions refused before anything is written --------------------------------------
@pytest.mark.parametrize("json_rel, csv_rel, plot_rel", [
    ("D/layers.csv", "D", None),  # the JSON would be replaced by the CSV
    ("X", "X", None),  # X both a file and a folder: used to leave an empty folder X
    ("P/run_energy.svg", None, "P"),
    ("same", None, "same"),
])
def test_output_collisions_refused_before_writing(tmp_path, json_rel, csv_rel, plot_rel):
    argv = ["simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--json", tmp_path / json_rel]
    if csv_rel:
        argv += ["--csv", tmp_path / csv_rel]
    if plot_rel:
        argv += ["--plot", tmp_path / plot_rel]
    code, o, e = run_cli(argv)
    assert code == 2
    line = one_error_line(e, "(command line)", "--json")
    assert "--csv" in line or "--plot" in line
    assert list(tmp_path.iterdir()) == []  # nothing written, no folder made


def test_two_outputs_to_standard_output_refused(tmp_path):
    code, o, e = run_cli(["simulate", "-q", "imagine", "mnist_cnn", "--json", "-", "--trace", "-"])
    assert code == 2 and o == ""
    assert one_error_line(e).endswith("--trace: --json and --trace would both write to standard output ('-')")


@pytest.mark.parametrize("n", [300, 5000])
def test_lone_over_long_positional_is_one_line(n):
    """Found by the 5x fuzz run: `tlm simulate aaaa...` (one positional over NAME_MAX) was exit 1 OSError
    (ENAMETOOLONG from Path.exists while telling a workload from an architecture)."""
    code, o, e = run_cli(["simulate", "a" * n])
    assert code == 2
    from tlm.config.paths import shipped
    assert one_error_line(e).endswith("architecture file not found; shipped configs: " + ", ".join(shipped("configs")))


def test_failed_write_leaves_no_folder_it_made(tmp_path):
    """The second output fails after the first one's folder was made: the folder goes too."""
    from tlm.errors import InputError
    from tlm.config.yamlio import atomic_write_all
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        atomic_write_all([(tmp_path / "a" / "b" / "r.json", "{}"), (blocker / "c.csv", "x")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


# ---- 15. a read-only HOME: no Matplotlib warning before the error line ----------------------------------
def test_unwritable_home_plot_error_is_one_line(tmp_path):
    """HOME that cannot hold ~/.config/matplotlib (as root a chmod does not stop writes: HOME is a file).
    Matplotlib would print a multi-line warning about its config folder before our error."""
    pytest.importorskip("matplotlib")
    home = tmp_path / "home"
    home.write_text("")
    env = cli_env(HOME=str(home))
    env.pop("MPLCONFIGDIR", None)
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_CACHE_HOME", None)
    base = [sys.executable, "-m", "tlm", "simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic", "--plot"]
    r = subprocess.run([*base, str(home / "plots")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    one_error_line(r.stderr, home / "plots")
    r = subprocess.run([*base, str(tmp_path / "plots")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (tmp_path / "plots" / "run_energy.png").stat().st_size > 1000


# ---- 2. every integer parameter has a finite upper bound, with its reason --------------------------------
def _int_params(cls):
    from tlm.config.schema import int_params
    return int_params(cls)


def test_every_integer_parameter_has_a_bound_with_its_reason():
    """Walks the schema: a new count field without `hi=` and `why_hi=` fails here."""
    import math
    from tlm.config.arch import Arch
    params = list(_int_params(Arch))
    assert len(params) >= 20  # the walk reaches into every section
    for path, md in params:
        assert isinstance(md.get("hi"), int) and math.isfinite(md["hi"]) and md["hi"] <= 2**31 - 1, path
        assert md.get("why_hi"), f"{path}: say why the bound is {md['hi']} (why_hi=...)"


def test_every_integer_parameter_refused_just_over_its_bound(arch):
    """hi + 1 in each int field: exit-2 InputError naming that field (and hi itself accepted, unless a
    cross-field check such as rows % dp_split_blocks objects)."""
    import copy
    from tlm.config.arch import Arch, arch_from_dict
    from tlm.errors import InputError
    base = arch.to_dict()
    for path, md in _int_params(Arch):
        d = copy.deepcopy(base)
        node = d
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = [md["hi"] + 1] if isinstance(node.get(leaf), list) else md["hi"] + 1
        with pytest.raises(InputError, match=r"expected <= " + str(md["hi"])) as e:
            arch_from_dict(d)
        assert path in str(e.value), (path, str(e.value))


def run_capped(argv, timeout=120, mem_bytes=3 << 30):
    """`python -m tlm ARGV` in a subprocess with its address space capped: a regression that allocates
    without bound fails the test (MemoryError, exit 1) instead of taking the machine's memory."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    return subprocess.run([sys.executable, "-m", "tlm", *map(str, argv)], capture_output=True, text=True,
                          env=cli_env(OPENBLAS_NUM_THREADS="1"), timeout=timeout, preexec_fn=cap)


@pytest.mark.parametrize("count", [2147483647, 10**8])
def test_huge_dma_channel_count_refused_at_the_field(tmp_path, count):
    """Reproducer: `dma: {channels: 2147483647}` (or 10^8) hung the default engine past 5.7 GB."""
    (tmp_path / "imagine.yaml").write_bytes((CONFIGS / "imagine.yaml").read_bytes())
    a = tmp_path / "a.yaml"
    a.write_text(f"extends: imagine.yaml\ndma: {{channels: {count}}}\n")
    r = run_capped(["simulate", "-q", a, "mnist_cnn"])
    assert r.returncode == 2, r.stderr[-300:]
    assert one_error_line(r.stderr) == f"error: {a}:2:7: dma.channels: expected <= 1024, found {count}"


# ---- 7, 8. tlm accuracy: the weights field and --seed ------------------------------------------------------
@pytest.mark.parametrize("value, says", [
    ("5", "expected the name of a .npz weights file, found 5"),
    ("[a, b]", "expected the name of a .npz weights file, found ['a', 'b']"),
    ('"a\\0b"', "expected the name of a .npz weights file"),
    ("arr.npy", "is a single .npy array; expected a .npz archive"),
    ("w.yaml", "is not a .npz archive"),
    ("/dev/zero", "is not a regular file"),
    ("x" * 5000, "File name too long"),
])
def test_accuracy_weights_field_is_one_line(tmp_path, value, says):
    """Reproducer: `weights: 5`, `weights: [a, b]` and `weights: arr.npy` were exit 1 TypeErrors."""
    import numpy as np
    np.save(tmp_path / "arr.npy", np.zeros(3))
    text = (WORKLOADS / "mnist_cnn.yaml").read_text()
    w = tmp_path / "w.yaml"
    w.write_text("\n".join(f"weights: {value}" if l.startswith("weights:") else l for l in text.splitlines()))
    code, o, e = run_cli(["accuracy", "imagine", w, "--images", "4"])
    assert code == 2
    line = one_error_line(e, w, "weights")
    assert line.startswith(f"error: {w}: weights: ") and says in line


def test_accuracy_negative_seed_is_one_line():
    """Reproducer: `tlm accuracy --seed -1` was exit 1 ValueError (numpy refuses negative seeds)."""
    code, o, e = run_cli(["accuracy", "imagine", "mnist_cnn", "--images", "4", "--seed", "-1"])
    assert code == 2
    assert one_error_line(e, "--seed").endswith("expected a seed from 0 to 9223372036854775807, found -1")


# ---- 14. tlm bench --repeat bounded ------------------------------------------------------------------------
def test_bench_repeat_is_bounded():
    """Reproducer: `tlm bench --repeat 1000000000` ran unbounded; now refused before any run (in a
    subprocess with a timeout: an unbounded run fails the test instead of stalling the suite)."""
    r = subprocess.run([sys.executable, "-m", "tlm", "bench", "imagine", "mnist_cnn", "--repeat", "1000000000"],
                       capture_output=True, text=True, env=cli_env(), timeout=60)
    assert r.returncode == 2
    assert "--repeat must be 1 to 1000, found 1000000000" in one_error_line(r.stderr, "--repeat")


# ---- 9. extends: hostile names, FIFOs, long chains ---------------------------------------------------------
def _child(tmp_path, value: str) -> Path:
    a = tmp_path / "a.yaml"
    a.write_text(f"extends: {value}\nmacro: {{count: 2}}\n")
    return a


@pytest.mark.parametrize("value, says", [
    ('"imagine\\0.yaml"', "a file name cannot contain a NUL character"),  # was exit 1 ValueError
    ("x" * 5000, "file name too long (5000 bytes"),  # was exit 1 OSError
    ("loop.yaml", "cannot resolve the file name"),  # a symbolic link to itself (RuntimeError)
])
def test_extends_hostile_names_are_one_line(tmp_path, value, says):
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    a = _child(tmp_path, value)
    code, o, e = run_cli(["validate", a])
    assert code == 2
    assert one_error_line(e).startswith(f"error: {a}:1:1: extends: {says}")


def test_extends_fifo_without_writer_is_refused_not_waited_for(tmp_path):
    """Reproducer: `extends: fifo.yaml` (a FIFO nobody writes) hung forever.  A base must be a regular
    file; a FIFO given as the main file is opened without blocking and refused when it has no writer."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    a = _child(tmp_path, "fifo.yaml")
    for argv, says in ((["validate", a], "architecture file is not a regular file"),
                       (["validate", fifo], "nothing to read: a FIFO with no writer")):
        r = subprocess.run([sys.executable, "-m", "tlm", *map(str, argv)], capture_output=True, text=True,
                           env=cli_env(), timeout=60)  # a hang fails the test instead of stalling the suite
        assert r.returncode == 2
        assert says in one_error_line(r.stderr, fifo)


def test_extends_chain_is_bounded_with_its_own_message(tmp_path):
    """Reproducer: a chain of 1,200 files gave "YAML nested too deeply" naming the last file; now the file
    whose `extends:` makes the chain longer than 32 is named, with the chain's first file."""
    from tlm.config.yamlio import MAX_EXTENDS
    n = 1200
    for i in range(n - 1):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n")
    (tmp_path / f"c{n - 1}.yaml").write_bytes((CONFIGS / "imagine.yaml").read_bytes())
    code, o, e = run_cli(["validate", tmp_path / "c0.yaml"])
    assert code == 2
    assert one_error_line(e) == (f"error: {tmp_path / f'c{MAX_EXTENDS - 1}.yaml'}:1:1: extends: more than "
                                 f"{MAX_EXTENDS} files in the extends: chain that starts at c0.yaml (each file "
                                 "extends the next)")
    first_ok = n - MAX_EXTENDS  # a chain of exactly MAX_EXTENDS files loads
    code, o, e = run_cli(["validate", tmp_path / f"c{first_ok}.yaml"])
    assert code == 0, e
    code, o, e = run_cli(["validate", tmp_path / f"c{first_ok - 1}.yaml"])
    assert code == 2 and f"starts at c{first_ok - 1}.yaml" in e


# ---- 10-12. ONNX: one set of limits for import and simulate, a bounded file, the operator spec -------------
onnx = pytest.importorskip("onnx")


def _import_and_simulate(model: Path, out: Path):
    """(exit code, stderr) of `tlm import` and of `tlm simulate MODEL.onnx`."""
    res = []
    for argv in (["import", model, "-o", out], ["simulate", "-q", "imagine", model, "--engine", "analytic"]):
        code, o, e = run_cli(argv)
        res.append((code, e))
    return res


def test_import_and_simulate_accept_the_same_models_and_imports_round_trip(tmp_path):
    """Reproducer: a chain with long names imported to a 1.5 MB YAML that `tlm simulate` then refused
    (over 1 MiB); a longer chain simulated but `tlm import` refused it at a line:column of generated text.
    Now both accept, or both refuse naming the ONNX file and the node where the limit is crossed."""
    from onnx_models import chain_model
    from tlm.config.yamlio import MAX_YAML_BYTES
    name_len = 1500  # ~1.6 kB per layer line: the byte limit is reached after ~650 layers
    # accepted: the written file is under the limit and simulates like the ONNX model
    ok = chain_model(tmp_path / "ok.onnx", 500, name_len)
    (ci, ei), (cs, es) = _import_and_simulate(ok, tmp_path / "ok.yaml")
    assert ci == 0 and cs == 0, (ei, es)
    assert (tmp_path / "ok.yaml").stat().st_size <= MAX_YAML_BYTES
    code, o, e = run_cli(["simulate", "-q", "imagine", tmp_path / "ok.yaml", "--engine", "analytic",
                          "--json", tmp_path / "y.json"])
    assert code == 0, e
    code, o, e = run_cli(["simulate", "-q", "imagine", ok, "--engine", "analytic", "--json", tmp_path / "o.json"])
    y, x = (json.loads((tmp_path / f).read_text()) for f in ("y.json", "o.json"))
    assert y["summary"]["cycles_per_batch"] == x["summary"]["cycles_per_batch"] > 0
    # refused by both, naming the ONNX file and the node, not generated text
    for n, name_len, why in ((800, 1500, "byte limit"), (3600, 0, "value limit")):
        big = chain_model(tmp_path / f"big{n}.onnx", n, name_len)
        results = _import_and_simulate(big, tmp_path / "big.yaml")
        lines = [one_error_line(e, big) for code, e in results]
        assert [code for code, _ in results] == [2, 2] and lines[0] == lines[1], lines
        assert f"error: {big}: node 'conv" in lines[0] and why in lines[0], lines[0]
        assert not (tmp_path / "big.yaml").exists()


def test_onnx_file_size_checked_before_parsing(tmp_path):
    """Reproducer: a 3 GB file was exit 1 MemoryError in import and simulate; now refused by its size
    (a sparse file: no disk, and no memory either if it is never read)."""
    big = tmp_path / "big.onnx"
    with open(big, "wb") as f:
        f.truncate(3 * 10**9)
    for argv in (["import", big, "-o", tmp_path / "x.yaml"], ["simulate", "-q", "imagine", big]):
        r = run_capped(argv)  # capped: reading the file whole would take the machine's memory
        assert r.returncode == 2, r.stderr[-300:]
        assert one_error_line(r.stderr, big).endswith("file is 3000000000 bytes, over the 1073741824-byte limit "
                                                      "of an ONNX model")
    fifo = tmp_path / "f.onnx"
    os.mkfifo(fifo)
    for code, e in _import_and_simulate(fifo, tmp_path / "x.yaml"):
        assert code == 2 and "expected a regular file" in one_error_line(e, fifo)


def _concat_axis5(c):
    return [helper_node("Concat", [c, c], ["y"], name="cat", axis=5)], "y"


def _maxpool_no_kernel(c):
    return [helper_node("MaxPool", [c], ["y"], name="pool")], "y"


def _duplicate_output(c):
    return [helper_node("Relu", [c], ["y"], name="r1"), helper_node("Relu", [c], ["y"], name="r2")], "y"


def helper_node(*a, **k):
    from onnx import helper
    return helper.make_node(*a, **k)


@pytest.mark.parametrize("attrs, second, says", [
    ({"strides": "ab"}, None, "node 'conv' (Conv): attribute 'strides' must be INTS (a list of integers), "
                              "found a STRING"),  # was stride [97, 98]
    ({"auto_pad": "BOGUS"}, None, "node 'conv' (Conv): attribute 'auto_pad' must be one of NOTSET, SAME_UPPER, "
                                  "SAME_LOWER, VALID, found 'BOGUS'"),  # was: no padding
    ({"group": 1.5}, None, "node 'conv' (Conv): attribute 'group' must be an INT, found a FLOAT"),  # was 1
    ({"group": 0}, None, "node 'conv' (Conv): attribute 'group' = [0]: expected >= 1"),
    ({"dilations": [1, 0]}, None, "node 'conv' (Conv): attribute 'dilations' = [1, 0]: every dilation must be >= 1"),
    ({"bogus": 1}, None, "node 'conv' (Conv): attribute 'bogus' is not an attribute of Conv (opset 13)"),
    ({}, _concat_axis5, "node 'cat' (Concat): attribute 'axis' = 5 is out of range for a rank-4 input "
                        "(expected -4 to 3)"),  # was a channel concat
    ({}, _maxpool_no_kernel, "node 'pool' (MaxPool): attribute 'kernel_shape' is required by MaxPool and "
                             "missing"),  # was a 1x1 pool
    ({}, _duplicate_output, "node 'r2' (Relu): output 'y' is also written by node 'r1' (Relu)"),  # was accepted
])
def test_hostile_onnx_attributes_refused_naming_file_node_and_attribute(tmp_path, attrs, second, says):
    from onnx_models import conv_then
    model = conv_then(tmp_path / "m.onnx", attrs, second)
    for code, e in _import_and_simulate(model, tmp_path / "m.yaml"):
        assert code == 2
        line = one_error_line(e)
        assert line == f"error: {model}: {says}" or line.startswith(f"error: {model}: {says}"), line


# ---- signals and a full disk: never a half-written output ------------------------------------------------
def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    """SIGTERM arrives while the outputs are being written: the temporary files are removed and nothing
    is renamed into place (exit 130, like Ctrl-C); without the handler the process would die leaving a
    `.r.json.XXXX` file."""
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from tlm.config.yamlio import atomic_write_all
class Bomb(str):
    def encode(self, *a, **k):  # called while the second temporary file is written
        os.kill(os.getpid(), signal.SIGTERM)
        return b"late"
try:
    atomic_write_all([({str(tmp_path / 'r.json')!r}, "{{}}"), ({str(tmp_path / 'csv' / 'layers.csv')!r}, Bomb("x"))])
except KeyboardInterrupt:
    sys.exit(130)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, (r.returncode, r.stderr)
    assert list(tmp_path.iterdir()) == []  # no r.json, no temporary file, no csv folder


@pytest.mark.parametrize("how", ["fsize", "dev_full"])
def test_full_disk_is_one_line_and_leaves_no_output(tmp_path, how):
    """A file-size limit (as `prlimit --fsize`; Python ignores SIGXFSZ, so the write fails with EFBIG) or
    /dev/full (ENOSPC): exit 2, one line, and no partial JSON or CSV."""
    import resource
    out = tmp_path / "r.json" if how == "fsize" else Path("/dev/full")
    argv = [sys.executable, "-m", "tlm", "simulate", "-q", "imagine", "mnist_cnn", "--engine", "analytic",
            "--json", str(out), "--csv", str(tmp_path / "csv")]

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))
    r = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), timeout=120,
                       preexec_fn=cap if how == "fsize" else None)
    assert r.returncode == 2
    says = "File too large" if how == "fsize" else "No space left on device"
    assert one_error_line(r.stderr, out).endswith(f"cannot write: {says}")
    if how == "fsize":
        assert list(tmp_path.iterdir()) == []
    else:  # the regular files were renamed into place before the device was written
        assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["blocks.csv", "energy.csv", "layers.csv", "summary.csv"]


def test_robustness_doc_tables_are_current():
    """docs/robustness.md's limit tables are generated from the constants and the schema."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_robustness_tables.py"), "--check"],
                       capture_output=True, text=True, env=cli_env(), timeout=120)
    assert r.returncode == 0, "docs/robustness.md is stale: run python scripts/gen_robustness_tables.py"
