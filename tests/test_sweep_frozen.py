"""tlm/services/sweep/runner._frozen: while a sweep's points run in this process, the objects alive before
it are left out of the collector's passes (gc.freeze), and put back after (gc.unfreeze); a caller that froze
objects itself keeps them frozen.  The rows are the same either way (test_sweep.py checks every row against
its point's own run).

Which test fails when a mechanism is removed or wrong:
- no freeze while the points run: test_objects_alive_before_a_sweep_are_frozen_while_it_runs;
- no unfreeze after it (or one on an error): the same test, and test_a_sweep_that_fails_unfreezes;
- the caller's own frozen objects unfrozen by the sweep: test_a_callers_frozen_objects_stay_frozen.
"""
import gc

import pytest

from tlm.cli.commands.sweep import engine_args
from tlm.config.arch import load_arch
from tlm.services import sweep
from tlm.services.sweep import runner


def _job(root, resnet8):
    arch = load_arch(root / "configs" / "imagine.yaml")
    settings = sweep.parse_settings(["adc.cycles_per_bit=1,2"], arch)
    return sweep.Job(arch_dict=arch.to_dict(), workload=resnet8, settings=tuple(settings), engine="analytic",
                     engine_args=engine_args("analytic"))


def test_objects_alive_before_a_sweep_are_frozen_while_it_runs(root, resnet8, tmp_path):
    assert gc.get_freeze_count() == 0  # (nothing frozen by the test runner)
    before = [0]  # (a container the collector tracks)
    alive = [before]
    seen = []
    text, _ = sweep.run_sweep(_job(root, resnet8), tmp_path / "a.csv",
                              advance=lambda n: seen.append(gc.get_freeze_count()))
    assert text.count("\n") == 3  # header + 2 points
    # the first advance (the rows kept from the file: none) comes before the points, the others after chunks
    assert seen[0] == 0 and min(seen[1:]) > 0
    assert gc.get_freeze_count() == 0 and alive[0] is before


def test_a_sweep_that_fails_unfreezes(root, resnet8, tmp_path, monkeypatch):
    def boom(*a):
        assert gc.get_freeze_count() > 0  # (frozen while it runs)
        raise RuntimeError("a point's chunk failed")
    monkeypatch.setattr(runner, "run_chunk", boom)
    with pytest.raises(RuntimeError):
        sweep.run_sweep(_job(root, resnet8), tmp_path / "b.csv")
    assert gc.get_freeze_count() == 0


def test_a_callers_frozen_objects_stay_frozen(root, resnet8, tmp_path):
    keep = [[k] for k in range(100)]  # tracked containers, frozen by the caller
    gc.freeze()
    try:
        n = gc.get_freeze_count()
        assert n >= len(keep)
        seen = []
        sweep.run_sweep(_job(root, resnet8), tmp_path / "c.csv", advance=lambda k: seen.append(gc.get_freeze_count()))
        # neither unfrozen (0) nor frozen again with the sweep's own objects (more than n); frozen objects that
        # die leave the count, so it may fall a little
        assert all(n - 1000 < c <= n for c in seen + [gc.get_freeze_count()]), (n, seen)
    finally:
        gc.unfreeze()
