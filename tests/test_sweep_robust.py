"""`tlm sweep` under hostile conditions (issue 15, items 3-6), each test written from its reproducer:
a results file over 1 MiB resumes; workers die with their parent on SIGKILL and SIGTERM; a disk that
fills up mid-sweep leaves whole rows and exit 2; a lost Dask scheduler is one line, rows kept."""
import contextlib
import csv
import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlm.services import sweep
from tlm.cli import main
from tlm.cli.commands.sweep import engine_args
from tlm.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def _job(arch, wl, sets):
    return sweep.Job(arch.to_dict(), wl, tuple(sweep.parse_settings(sets, arch)), "analytic",
                     engine_args("analytic"))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("COLUMNS", None)
    return env


def whole_rows(path: Path):
    """The rows of a results file, checking that every line is whole: ends with a newline and has as
    many cells as the header."""
    text = path.read_text()
    assert text.endswith("\n"), "the file ends inside a row"
    rows = list(csv.reader(io.StringIO(text)))
    assert all(len(r) == len(rows[0]) for r in rows), "a row was cut short"
    return rows


# ---- item 3: resume of a results file over 1 MiB -----------------------------------------------------
def test_resume_reads_a_100000_row_results_file(tmp_path, arch, resnet8):
    # 400 batch sizes x 250 ADC fixed-cycle counts = 100,000 points; the file an earlier run left is
    # written here directly (a fake result in every cell) except for the last two points
    job = sweep.runner.prepared(_job(arch, resnet8, ["workload.batch=1..400", "adc.fixed_cycles=0..249"]))
    assert job.n_points == 100_000
    n_res = len(sweep.RESULT_COLUMNS)
    out = tmp_path / "big.csv"
    with open(out, "w", newline="") as f:
        f.write(sweep.csv_line(sweep.header(job)))
        for i in range(job.n_points - 2):
            f.write(sweep.csv_line([str(i), *sweep.setting_cells(job, i), *(["7.5"] * n_res)]))
    assert out.stat().st_size > 5 * 2**20  # far over the 1 MiB YAML input limit
    text, kept = sweep.run_sweep(job, out, resume=True)
    assert kept == job.n_points - 2
    lines = text.splitlines()
    assert len(lines) == 1 + job.n_points
    assert lines[1].endswith(",7.5") and lines[-3].endswith(",7.5")  # kept rows are not recomputed
    # the two missing points were computed: batch 400 with 248 and 249 fixed cycles
    for line, cyc in zip(lines[-2:], (248, 249)):
        cells = line.split(",")
        assert cells[:3] == [str(job.n_points - 250 + cyc), "400", str(cyc)]
        assert float(cells[4 + sweep.RESULT_COLUMNS.index("cycles_per_batch")]) > 0 and cells[-1] != "7.5"


def test_results_file_still_has_a_bound(tmp_path, arch, resnet8, monkeypatch):
    job = sweep.runner.prepared(_job(arch, resnet8, ["macro.count=1,2"]))
    out = tmp_path / "r.csv"
    out.write_text(sweep.csv_line(sweep.header(job)) + "x" * 2000 + "\n")
    monkeypatch.setattr(sweep.store, "MAX_RESULTS_BYTES", 1000)
    with pytest.raises(InputError, match="over the 1000-byte limit of a results file"):
        sweep.read_finished(out, job)
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)  # no writer: opening it for reading would block forever
    with pytest.raises(InputError, match="not a regular file"):
        sweep.read_finished(fifo, job)


# ---- item 4: workers die with their parent --------------------------------------------------------------
def _group(pgid: int) -> list:
    """Live (not zombie) processes of process group `pgid`: (pid, ppid, name)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()
        state, ppid, pg = f[0], int(f[1]), int(f[2])
        if pg == pgid and state not in ("Z", "X"):
            out.append((int(d.name), ppid, name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_parent(tmp_path, sig):
    out = tmp_path / "s.csv"
    cmd = [sys.executable, "-m", "tlm", "sweep", "--set", "macro.count=1..4", "--set", "workload.precision=1..8",
           "--set", "adc.fixed_cycles=0..399", "--workers", "2", "-o", str(out), "-q"]
    p = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)  # its own process group: pgid == p.pid
    try:
        deadline = time.monotonic() + 60
        while len([q for q in _group(p.pid) if q[1] == p.pid]) < 3:  # 2 workers and the resource tracker
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        time.sleep(0.5)  # the workers are evaluating points
        assert p.poll() is None, "the sweep finished before it was killed: make it longer"
        os.kill(p.pid, sig)
        _, err = p.communicate(timeout=15)  # orphans holding its pipes would block this
        deadline = time.monotonic() + 5
        while _group(p.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _group(p.pid) == [], "processes of the sweep outlived it"
    finally:
        for pid, _, _ in _group(p.pid):
            os.kill(pid, signal.SIGKILL)
    if sig == signal.SIGTERM:  # stopped like Ctrl-C: a resume hint, whole rows
        assert p.returncode == 130
        assert b"run again with --resume to finish" in err and b"Traceback" not in err
        rows = whole_rows(out)
        assert len(rows) < 1 + 12800
    else:
        assert p.returncode == -signal.SIGKILL


ORPHAN = """
import os, sys, time
import tlm.services.parallel as p
if sys.argv[1] == "watchdog":
    p._set_parent_death_signal = lambda: None  # the watchdog thread alone
else:
    p._watch_parent = lambda parent: None  # the kernel's parent-death signal alone
pid = os.fork()
if pid == 0:
    p.worker_init(os.getppid())
    time.sleep(30)
    os._exit(0)
print(pid, flush=True)
time.sleep(0.5)  # the child has armed its guard
os._exit(0)  # the parent dies without a word to its child
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc")
@pytest.mark.parametrize("guard", ["watchdog", "pdeathsig"])
def test_each_guard_alone_kills_an_orphaned_worker(guard):
    r = subprocess.run([sys.executable, "-c", ORPHAN, guard], env=_env(), capture_output=True, text=True,
                       timeout=30)
    child = int(r.stdout)
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _alive(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail(f"the orphaned worker outlived its parent ({guard})")


def sleep_chunk(shared, seconds):
    time.sleep(seconds)
    return seconds


def test_leaving_the_map_early_stops_running_workers():
    """An error or an interruption in the parent stops the chunks still running instead of waiting
    for them (a TLM-engine point can take minutes)."""
    from tlm.services.parallel import map_unordered
    stream = map_unordered(sleep_chunk, None, [0, 60, 60], workers=2)
    assert next(stream) == 0
    t = time.monotonic()
    stream.close()
    assert time.monotonic() - t < 10  # not the 60 s the running chunks would take


def exit_in_chunk(shared, chunk):
    if chunk == "die":
        os._exit(9)  # as the OOM killer would end it
    time.sleep(0.2)
    return []  # a chunk that finished with no rows: whichever of the two ends first, the death is seen


def test_a_killed_local_worker_is_one_line_with_a_resume_hint(tmp_path, arch, resnet8, monkeypatch):
    """A worker the OOM killer ends (BrokenProcessPool) is one line naming --workers, rows kept."""
    from tlm.services import parallel
    job = _job(arch, resnet8, ["macro.count=1..4", "workload.precision=1..8"])
    real = parallel.map_unordered

    def dying_map(fn, shared, chunks, **kw):  # two chunks of points, then a worker is killed
        yield from real(fn, shared, chunks[:2], **kw)
        yield from real(exit_in_chunk, None, ["die", 1], **kw)
    monkeypatch.setattr(parallel, "map_unordered", dying_map)  # the runner imports it when it runs
    out = tmp_path / "k.csv"
    with pytest.raises(InputError) as e:
        sweep.run_sweep(job, out, workers=2)
    msg = str(e.value)
    assert msg.startswith("--workers: a local worker process died") and "run again with --resume" in msg
    assert "terminated abruptly" in msg and "\n" not in msg
    rows = whole_rows(out)
    assert len(rows) > 1 and f"{len(rows) - 1} of 32 points are in" in msg


# ---- item 5: disk full mid-sweep ---------------------------------------------------------------------------
def _fsize_limit(n):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
    return limit


SETS16 = ["--set", "workload.precision=1,2,4,8", "--set", "macro.count=1,4", "--set", "workload.batch=1,4"]


def test_disk_full_mid_sweep_exits_2_with_whole_rows(tmp_path):
    out = tmp_path / "s.csv"
    r = subprocess.run([sys.executable, "-m", "tlm", "sweep", *SETS16, "-o", str(out), "-q"], cwd=tmp_path,
                       env=_env(), capture_output=True, text=True, preexec_fn=_fsize_limit(4000), timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert "File too large" in r.stderr and "--resume" in r.stderr
    rows = whole_rows(out)
    assert 2 <= len(rows) < 17 and out.stat().st_size <= 4000  # some points, not all of them
    # the file resumes (no limit now) to the bytes of an uninterrupted run
    assert main(["sweep", *SETS16, "-o", str(out), "-q", "--resume"]) == 0
    ref = tmp_path / "ref.csv"
    assert main(["sweep", *SETS16, "-o", str(ref), "-q"]) == 0
    assert out.read_bytes() == ref.read_bytes()


def test_a_write_cut_short_is_undone(tmp_path, arch, resnet8, monkeypatch):
    """The writer itself: a write that stores part of a row and then fails leaves the file at its last
    whole row (what ENOSPC does on a nearly full disk)."""
    job = sweep.runner.prepared(_job(arch, resnet8, ["macro.count=1,2,3"]))
    out = tmp_path / "w.csv"
    w = sweep.RowWriter(out, job, {})
    w.add(0, ["1"] * len(sweep.RESULT_COLUMNS))
    size = out.stat().st_size
    real = os.write
    calls = []

    def half_then_enospc(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real(fd, bytes(data[:5]))
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(sweep.store.os, "write", half_then_enospc)
    with pytest.raises(InputError, match="No space left on device .disk full or a file-size limit.; it holds "
                                         "1 of 3 points"):
        w.add(1, ["2"] * len(sweep.RESULT_COLUMNS))
    monkeypatch.setattr(sweep.store.os, "write", real)
    assert calls[0] > 5 and out.stat().st_size == size  # 5 bytes were written, then taken back
    w.close()
    assert len(whole_rows(out)) == 2


# ---- item 6: the Dask scheduler lost mid-sweep ------------------------------------------------------------
SETS320 = ["--set", "macro.count=1..4", "--set", "workload.precision=1..8", "--set", "adc.fixed_cycles=0..9"]


def test_lost_dask_scheduler_is_one_line_and_keeps_rows(tmp_path, capfd, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    out = tmp_path / "d.csv"
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=None)
    add = sweep.RowWriter.add
    closed = []

    def add_then_lose_the_scheduler(self, index, cells):
        add(self, index, cells)
        if not closed:  # the scheduler goes away after the first row, with chunks in flight
            closed.append(index)
            cluster.sync(cluster.scheduler.close)

    monkeypatch.setattr(sweep.RowWriter, "add", add_then_lose_the_scheduler)
    try:
        code = main(["sweep", *SETS320, "-o", str(out), "-q", "--dask", cluster.scheduler_address])
    finally:
        with contextlib.suppress(Exception):
            cluster.close(timeout=1)  # its scheduler is gone: do not wait the default 30 s
    err = capfd.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: --dask: lost the Dask scheduler"), err
    assert "run again with --resume to finish" in err
    rows = whole_rows(out)
    assert 1 < len(rows) < 1 + 320  # the finished rows are kept, and not all points ran
    kept = int(err.split(" of 320 points")[0].rsplit(" ", 1)[1])
    assert kept == len(rows) - 1
    # and they resume: only the missing points are evaluated, to the bytes of an uninterrupted run
    monkeypatch.setattr(sweep.RowWriter, "add", add)
    assert main(["sweep", *SETS320, "-o", str(out), "-q", "--resume"]) == 0
    ref = tmp_path / "ref.csv"
    assert main(["sweep", *SETS320, "-o", str(ref), "-q"]) == 0
    assert out.read_bytes() == ref.read_bytes()
