"""An in-process analytic sweep evaluates its points structure first (tlm/services/sweep/runner.structure_first):
the points that differ in timing settings alone (tlm/engines/registry.TIMING_SETTINGS) come to run_group in
one chunk, where their streamed schedules are timed together; the file keeps point order and every row is
the point's own.

Which test fails when a mechanism is removed or wrong:
- the order (product order kept): test_chunks_hold_whole_structures;
- a chunk size that splits a structure between two chunks where whole ones fit:
  test_chunk_size_is_whole_structures;
- a row given another point's numbers or settings by the reordering: test_rows_are_the_product_orders.
"""
from test_auto_cost import _job
from tlm.config.arch import load_arch
from tlm.services import sweep
from tlm.services.bench import cold
from tlm.services.sweep import runner

# 2 x 2 x 2 x 5 = 40 points: in-process chunks of 2 (a 20th); a timing setting (ADC) varies second slowest
SETS = ["macro.count=2,3", "adc.cycles_per_bit=1,3", "workload.precision=2,4", "macro.dp_cycles_per_bit=4,8,12,16,20"]


def test_chunks_hold_whole_structures(root, resnet8, monkeypatch, tmp_path):
    arch = load_arch(root / "configs" / "imagine.yaml")
    job = _job(arch, resnet8, SETS)
    order = runner.structure_first(job, list(range(job.n_points)))
    assert sorted(order) == list(range(job.n_points))
    # macro count and precision (product digits 0 and 2) change only every 10 points (2 ADC x 5 DP)
    structure = [(i // 20, i // 5 % 2) for i in order]
    assert all(structure[k] == structure[k // 10 * 10] for k in range(len(order)))
    seen = []
    real = runner.run_chunk
    monkeypatch.setattr(runner, "run_chunk", lambda job, idx: seen.append(list(idx)) or real(job, idx))
    sweep.run_sweep(job, tmp_path / "a.csv")
    assert seen and all(len({(i // 20, i // 5 % 2) for i in c}) == 1 for c in seen)
    assert sorted(i for c in seen for i in c) == list(range(job.n_points))
    # timing settings already the last ones (or none): product order
    job2 = _job(arch, resnet8, ["workload.precision=2,4", "adc.cycles_per_bit=1,3", "macro.dp_cycles_per_bit=4,8"])
    assert runner.structure_first(job2, [7, 0, 3]) == [7, 0, 3]


def test_chunk_size_is_whole_structures(root, resnet8):
    """A 20th of the sweep, at most IN_PROCESS_CHUNK, rounded down to whole structures (the product of the
    timing settings' value counts) where one fits; else the 20th as it is."""
    arch = load_arch(root / "configs" / "imagine.yaml")
    # 32 macro counts x 5 ADC x 5 DP = 800 points: a 20th is 40, a structure 25 points -> 25
    job = _job(arch, resnet8, ["macro.count=1..32", "adc.cycles_per_bit=1..5", "macro.dp_cycles_per_bit=4,8,12,16,20"])
    assert runner.in_process_chunk(job, job.n_points) == 25
    assert runner.in_process_chunk(job, 1000) == 50  # (a 20th: 50, two structures)
    assert runner.in_process_chunk(job, 400) == 20  # (a structure of 25 does not fit in 20: kept)
    # no timing setting: a 20th, at most IN_PROCESS_CHUNK
    job2 = _job(arch, resnet8, ["macro.count=1..32", "workload.precision=1..8"])
    assert runner.in_process_chunk(job2, 256) == 12
    assert runner.in_process_chunk(job2, 100_000) == runner.IN_PROCESS_CHUNK


def test_rows_are_the_product_orders(root, resnet8, monkeypatch, tmp_path):
    arch = load_arch(root / "configs" / "imagine.yaml")
    job = _job(arch, resnet8, SETS)
    cold()
    text, _ = sweep.run_sweep(job, tmp_path / "a.csv")
    monkeypatch.setattr(runner, "structure_first", lambda job, todo: todo)
    cold()
    want, _ = sweep.run_sweep(job, tmp_path / "b.csv")
    assert text == want
    assert len(set(text.splitlines()[1:])) == job.n_points
