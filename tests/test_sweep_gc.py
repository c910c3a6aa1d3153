"""tlm/services/sweep/runner: how a sweep run in this process hands its points out, and the collector's
thresholds while they run.

Which test fails when a mechanism is removed or wrong:
- the in-process analytic sweep's chunks not in structure_first order (the timing settings varying fastest,
  so that a chunk holds a structure's points together for registry.run_group): test_in_process_chunks_are_
  structure_first;
- the collector's full passes not made rarer while the points run (runner._fewer_full_passes), or the
  thresholds not put back after (or after an error): test_full_passes_are_rarer_while_a_sweep_runs,
  test_a_sweep_that_fails_puts_the_thresholds_back;
- a caller's own higher threshold overridden: test_a_callers_own_threshold_is_kept.
"""
import gc

import pytest

from tlm.cli.commands.sweep import engine_args
from tlm.config.arch import load_arch
from tlm.services import sweep
from tlm.services.sweep import runner


def _job(root, resnet8, sets=("adc.cycles_per_bit=1,2",)):
    arch = load_arch(root / "configs" / "imagine.yaml")
    settings = sweep.parse_settings(list(sets), arch)
    return sweep.Job(arch_dict=arch.to_dict(), workload=resnet8, settings=tuple(settings), engine="analytic",
                     engine_args=engine_args("analytic"))


def test_in_process_chunks_are_structure_first(root, resnet8, tmp_path, monkeypatch):
    """40 points, adc.cycles_per_bit (a timing setting) first and the macros last: point i = (adc index
    i // 2, macros index i % 2).  Structure first = the macros slowest: 0, 2, 4, ..., 38, then 1, 3, ..., 39;
    40 // 20 = 2 points per chunk (runner.IN_PROCESS_CHUNK, at most a 20th of the sweep)."""
    got, real = [], runner.run_chunk
    monkeypatch.setattr(runner, "run_chunk", lambda job, chunk: got.append(list(chunk)) or real(job, chunk))
    job = _job(root, resnet8, ("adc.cycles_per_bit=" + ",".join(map(str, range(1, 21))), "macro.count=1,2"))
    sweep.run_sweep(job, tmp_path / "o.csv")
    assert [i for c in got for i in c] == list(range(0, 40, 2)) + list(range(1, 40, 2))
    assert {len(c) for c in got} == {2}


def test_full_passes_are_rarer_while_a_sweep_runs(root, resnet8, tmp_path):
    before = gc.get_threshold()
    assert before[2] < runner.FULL_PASS_EVERY  # (the interpreter's default, 10)
    seen = []
    text, _ = sweep.run_sweep(_job(root, resnet8), tmp_path / "a.csv", advance=lambda n: seen.append(gc.get_threshold()))
    assert text.count("\n") == 3  # header + 2 points
    # the first advance (the rows kept from the file: none) comes before the points, the others after chunks
    assert seen[0] == before and all(t == (before[0], before[1], runner.FULL_PASS_EVERY) for t in seen[1:])
    assert gc.get_threshold() == before


def test_a_sweep_that_fails_puts_the_thresholds_back(root, resnet8, tmp_path, monkeypatch):
    before = gc.get_threshold()

    def boom(*a):
        assert gc.get_threshold()[2] == runner.FULL_PASS_EVERY  # (raised while it runs)
        raise RuntimeError("a point's chunk failed")
    monkeypatch.setattr(runner, "run_chunk", boom)
    with pytest.raises(RuntimeError):
        sweep.run_sweep(_job(root, resnet8), tmp_path / "b.csv")
    assert gc.get_threshold() == before


def test_a_callers_own_threshold_is_kept(root, resnet8, tmp_path):
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], 1000)
    try:
        seen = []
        sweep.run_sweep(_job(root, resnet8), tmp_path / "c.csv", advance=lambda n: seen.append(gc.get_threshold()))
        assert set(seen) == {(before[0], before[1], 1000)} and gc.get_threshold() == (before[0], before[1], 1000)
    finally:
        gc.set_threshold(*before)
