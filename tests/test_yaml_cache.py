"""The cache of parsed YAML files (tlm/config/yamlcache.py over tlm/filecache.py): a second load does not
parse; what it returns, and every error message about the file, is what a parse gives; bad files are
never kept; corrupt entries, concurrent writers and things that are no entry (a FIFO, a symbolic link)
cost a parse, never a wrong tree, a hang or a rename over them."""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT
from tlm.config import yamlio
from tlm.errors import InputError

ARCH = ROOT / "configs" / "imagine.yaml"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TLM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "yaml"


@pytest.fixture
def parses(monkeypatch):
    """The number of YAML parses (yamlio.load_text calls) since the test began."""
    count = [0]
    real = yamlio.load_text

    def counting(*a, **k):
        count[0] += 1
        return real(*a, **k)
    monkeypatch.setattr(yamlio, "load_text", counting)
    return count


def _tree(d):
    """A loaded tree with every position it carries (what error messages are made of)."""
    if isinstance(d, yamlio.YDict):
        return ("map", d.file, d.pos, {k: (_tree(v), d.positions.get(k)) for k, v in d.items()})
    if isinstance(d, yamlio.YList):
        return ("seq", d.file, d.pos, [_tree(v) for v in d], list(d.positions))
    return (type(d).__name__, d)


def test_a_second_load_reads_the_cache_and_gives_the_same_tree(cache, parses):
    first = yamlio.load_file(ARCH)
    second = yamlio.load_file(ARCH)
    assert parses[0] == 1  # the second came from the cache
    assert _tree(second) == _tree(first) and second is not first
    assert second["macro"].where("rows").line == first["macro"].where("rows").line > 1
    assert len(list(cache.glob("*.pickle"))) == 1
    # another name for the same text: positions name that file, so it is another entry
    other = cache.parent / "copy.yaml"
    other.write_bytes(ARCH.read_bytes())
    assert yamlio.load_file(other)["macro"].where("rows").file == str(other)
    assert parses[0] == 2 and len(list(cache.glob("*.pickle"))) == 2


def test_no_cache_when_turned_off(tmp_path, monkeypatch, parses):
    monkeypatch.setenv("TLM_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    yamlio.load_file(ARCH)
    yamlio.load_file(ARCH)
    assert parses[0] == 2 and not any(tmp_path.iterdir())


BAD = {"malformed": "a: [1, 2\nb: 3\n", "not a mapping": "- 1\n- 2\n", "duplicate": "a: 1\na: 2\n"}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_gives_the_parsers_error_every_time_and_is_never_kept(cache, tmp_path, name):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD[name])
    messages = []
    for _ in range(2):
        with pytest.raises(InputError) as e:
            yamlio.load_file(f)
        messages.append(str(e.value))
    assert messages[0] == messages[1] and str(f) in messages[0]
    assert not cache.exists() or not list(cache.glob("*.pickle"))


def test_validation_errors_name_the_same_line_from_the_cache(cache, tmp_path, parses):
    """An architecture that parses but fails validation: the message (file, line, column, field) is the
    same when its tree comes from the cache."""
    from tlm.config.arch import load_arch
    f = tmp_path / "a.yaml"
    f.write_text(ARCH.read_text().replace("rows: 1152", "rows: -3", 1))
    assert "rows: -3" in f.read_text()
    messages = []
    for _ in range(2):
        with pytest.raises(InputError) as e:
            load_arch(f)
        messages.append(str(e.value))
    assert parses[0] == 1 and messages[0] == messages[1] and f"{f}:" in messages[0] and "macro.rows" in messages[0]


@pytest.mark.parametrize("bad", [b"", b"\x80\x04garbage", b"not a pickle at all", None])
def test_a_corrupt_entry_is_parsed_again_and_rewritten(cache, parses, bad):
    import pickle
    good = _tree(yamlio.load_file(ARCH))
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(bad if bad is not None else pickle.dumps([1, 2, 3]))  # None: a pickle of something else
    assert _tree(yamlio.load_file(ARCH)) == good and parses[0] == 2
    assert _tree(yamlio.load_file(ARCH)) == good and parses[0] == 2  # rewritten whole: read back


def test_concurrent_writers_leave_one_whole_entry(cache, parses):
    barrier = threading.Barrier(8)

    def load(_):
        barrier.wait()
        return _tree(yamlio.load_file(ARCH))
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(load, range(8)))
    assert all(g == got[0] for g in got)
    assert [p.suffix for p in cache.iterdir()] == [".pickle"]  # one entry, no temporary file left behind
    n = parses[0]
    assert _tree(yamlio.load_file(ARCH)) == got[0] and parses[0] == n


def test_concurrent_processes_agree(cache):
    code = ("import sys; from tlm.config.yamlio import load_file; d = load_file(sys.argv[1]); "
            "print(d['macro'].where('rows'), d['macro']['rows'])")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(ARCH)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    outs = {p.communicate(timeout=120)[0] for p in procs}
    assert len(outs) == 1 and [p.suffix for p in cache.iterdir()] == [".pickle"]


def _entry_path(cache):
    yamlio.load_file(ARCH)
    (entry,) = cache.glob("*.pickle")
    entry.unlink()
    return entry


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_at_the_entry_is_neither_read_nor_renamed_over(cache, parses):
    entry = _entry_path(cache)
    os.mkfifo(entry)  # a read of it without a writer would block forever
    got = []
    t = threading.Thread(target=lambda: got.append(_tree(yamlio.load_file(ARCH))), daemon=True)
    t.start()
    t.join(20)
    assert got == [_tree(yamlio.load_text(ARCH.read_text(), str(ARCH)))], "blocked on the FIFO"
    assert entry.is_fifo()


def test_a_symbolic_link_at_the_entry_is_not_followed(cache, tmp_path, parses):
    entry = _entry_path(cache)
    yamlio.load_file(ARCH)
    entry.rename(tmp_path / "elsewhere.pickle")  # a valid entry, reached only through a link
    entry.symlink_to(tmp_path / "elsewhere.pickle")
    n = parses[0]
    yamlio.load_file(ARCH)
    assert parses[0] == n + 1 and entry.is_symlink()  # parsed; the link left as it is


def test_simulate_prints_the_same_bytes_from_the_cache(tmp_path):
    """The command's output from a parse and from the cache, byte for byte."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TLM_CACHE_DIR": str(tmp_path / "c"), "COLUMNS": "100"}
    outs = [subprocess.run([sys.executable, "-m", "tlm", "simulate", "mnist_cnn"], capture_output=True, env=env,
                           cwd=ROOT, timeout=120) for _ in range(2)]
    assert outs[0].returncode == 0 and outs[0].stdout == outs[1].stdout and len(outs[0].stdout) > 500
    assert len(list((tmp_path / "c" / "yaml").glob("*.pickle"))) == 2  # the architecture and the workload
