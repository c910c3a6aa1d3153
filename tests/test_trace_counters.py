"""The Perfetto trace's counter tracks and flow events (tlm/engines/transaction/trace.py), checked against
the run's block statistics: ResNet-8 on the tlm engine with contention."""
import json
from collections import defaultdict

import pytest

import tlm
from tlm.engines.transaction.trace import _kind


# ADCs pipelined behind a 3-entry FIFO and converting slower than a pixel's DPs: an 8b conversion takes
# fixed + 8 x (d + 1) cycles, the 8 input bit-planes' DPs 8 x d (d = macro.dp_cycles_per_bit), so the FIFO
# fills and stalls the macro and its counter has something to show
FIFO = {"adc.pipelined": True, "adc.fifo_depth": 3,
        "adc.cycles_per_bit": tlm.load_arch("imagine_4macro").macro.dp_cycles_per_bit + 1}


def _run(tmp_path_factory, mapping):
    path = tmp_path_factory.mktemp("trace") / "trace.json"
    r = tlm.simulate("imagine_4macro", "resnet8", engine="tlm", trace=path, mapping=mapping, overrides=FIFO)
    assert r.arch.tlm.contention
    return r, json.loads(path.read_text())


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    return _run(tmp_path_factory, "sequential")


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A mapped run (tlm/engines/transaction/pipeline.py): all four macros at once, one image in flight."""
    return _run(tmp_path_factory, "pipelined")


@pytest.fixture(params=["traced", "mapped"])
def run(request):
    return request.getfixturevalue(request.param)


def _cycles(r, ts):
    return round(ts * 1e3 / r.arch.clock.period_ns)


def _tracks(trace):
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}


def test_busy_counters_add_up_to_the_block_table(run):
    r, trace = run
    inst = r.extra["instances"]  # the block table (blocks.csv): busy cycles per block instance
    busy, count = defaultdict(int), defaultdict(int)
    for name, s in inst.items():
        busy[_kind(name)] += int(s["busy_cycles"])
        count[_kind(name)] += 1
    series = defaultdict(list)
    for e in trace["traceEvents"]:
        if e["ph"] == "C" and e["name"].startswith("busy "):
            series[e["name"][5:]].append((_cycles(r, e["ts"]), e["args"]["busy"]))
    assert {"sram banks", "adcs", "macros", "dma channels"} <= set(series)
    for kind, pts in series.items():
        area = sum(level * (c1 - c0) for (c0, level), (c1, _) in zip(pts, pts[1:]))
        assert area == busy[kind], kind  # the area under the counter: the kind's busy cycles
        assert pts[-1][1] == 0 and min(v for _, v in pts) >= 0
        assert max(v for _, v in pts) <= count[kind], kind  # never more busy than there are
    assert count["macros"] == 4 and max(v for _, v in series["macros"]) > 1  # macros overlap in time


def test_dma_queue_counter_counts_every_transfer(traced):
    r, trace = traced
    tracks = _tracks(trace)
    transfers = defaultdict(int)
    for e in trace["traceEvents"]:
        if e["ph"] == "X" and e["cat"] == "busy" and tracks[e["tid"]].startswith("dma.ch"):
            transfers[tracks[e["tid"]]] += 1
    queued = defaultdict(list)
    for e in trace["traceEvents"]:
        if e["ph"] == "C" and e["name"].endswith(" queue"):
            queued[e["name"][:-6]].append(e["args"]["value"])
    assert transfers and set(queued) == set(transfers)
    for ch, vals in queued.items():
        pushes = sum(1 for a, b in zip([0] + vals, vals) if b > a)
        assert pushes == transfers[ch]  # every transfer joined the queue once
        assert vals[-1] == 0  # drained at the end


def test_every_flow_connects_an_initiators_slice_to_a_targets(run):
    r, trace = run
    tracks = _tracks(trace)
    slices = defaultdict(list)
    for e in trace["traceEvents"]:
        if e["ph"] == "X":
            slices[e["tid"]].append(e)
    ends = {}
    for e in trace["traceEvents"]:
        if e["ph"] in "sf":
            ends.setdefault(e["id"], {})[e["ph"]] = e
    by_slices = [e for e in trace["traceEvents"] if e["ph"] == "X" and "by" in e["args"]]
    assert len(ends) == len(by_slices) > 100  # one flow per traced transaction
    for fid, pair in ends.items():
        s, f = pair["s"], pair["f"]
        name = tracks[s["tid"]]
        target = [x for x in slices[f["tid"]] if x["ts"] == f["ts"] and x["args"].get("by") in (name, name.split(".")[0])]
        assert target, (fid, name)  # a slice of the target starts there, issued by the initiator's track
        assert any(x["ts"] <= s["ts"] <= x["ts"] + x["dur"] and x["cat"] == "busy" for x in slices[s["tid"]]), fid
        assert s["ts"] <= f["ts"]  # the initiator's slice began before the target's


def test_power_counter_integrates_to_the_on_chip_energy(traced):
    """Each layer's on-chip energy spread over its time: the area under `power (mW)` (mW x ns = pJ) is the
    run's on-chip energy (every layer with energy has spans; flatten is a view with none)."""
    r, trace = traced
    pts = [(_cycles(r, e["ts"]), e["args"]["mW"]) for e in trace["traceEvents"]
           if e["ph"] == "C" and e["name"] == "power (mW)"]
    area_pj = sum(v * (c1 - c0) * r.arch.clock.period_ns for (c0, v), (c1, _) in zip(pts, pts[1:]))
    assert area_pj == pytest.approx(r.on_chip_energy_pj, rel=1e-9)
    assert pts[-1][1] == 0 and min(v for _, v in pts) >= 0
    # the peak is at least the run's mean power (energy / time)
    mean_mw = r.on_chip_energy_pj / (pts[-1][0] - pts[0][0]) / r.arch.clock.period_ns
    assert max(v for _, v in pts) >= mean_mw


COUNTER = {"fifo": "fifo", "queued": "queue", "requests": "requests"}  # peak_of -> the counter's name suffix


def test_counter_maxima_are_the_block_tables_peaks(run):
    """Each block's own counter (ADC FIFO entries, DMA queue, SRAM bank requests) peaks at the `peak` the
    block table reports -- measured by the block itself (tlm/engines/transaction/stats.py), not from the
    trace -- and the peaks obey the hardware: never more entries than the FIFO has slots, a full FIFO
    whenever its macro stalled on it (back-pressure)."""
    r, trace = run
    inst = r.extra["instances"]
    top = defaultdict(int)
    for e in trace["traceEvents"]:
        if e["ph"] == "C" and "value" in e["args"]:
            top[e["name"]] = max(top[e["name"]], e["args"]["value"])
    peaks = {f"{n} {COUNTER[s['peak_of']]}": s["peak"] for n, s in inst.items() if "peak" in s}
    kinds = {_kind(n) for n, s in inst.items() if "peak" in s}
    assert kinds == {"adcs", "dma channels", "sram banks"}
    for name, peak in peaks.items():
        assert top.get(name, 0) == peak, name  # (a block that held nothing: no counter, peak 0)
    assert set(top) <= set(peaks)  # every block counter has its peak in the table
    depth = r.arch.adc.fifo_depth
    for k in range(r.arch.macro.count):
        assert inst[f"adc{k}"]["peak"] <= depth
        if inst[f"macro{k}"]["stall_cycles"].get("adc"):
            assert inst[f"adc{k}"]["peak"] == depth
    assert max(s["peak"] for n, s in inst.items() if n.startswith("adc")) == depth  # it did fill
    assert all(inst[n]["peak"] >= 1 for n in inst if n.startswith("sram.bank") and inst[n]["busy_cycles"])


def test_a_mapped_run_has_adc_and_controller_tracks(mapped):
    """Like a sequential run's trace: one track per ADC pipeline and the controller's, which is busy
    whenever a job runs, so every macro's and ADC's busy slice lies inside a controller slice, and its
    slices add up to the block table's controller busy cycles."""
    r, trace = mapped
    tracks = _tracks(trace)
    names = set(tracks.values())
    assert {f"adc{k}" for k in range(4)} | {"controller"} <= names
    ctrl = sorted((e["ts"], e["ts"] + e["dur"], e["args"]["cycles"]) for e in trace["traceEvents"]
                  if e["ph"] == "X" and tracks[e["tid"]] == "controller")
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(ctrl, ctrl[1:]))  # one slice at a time
    assert sum(c for _, _, c in ctrl) == r.extra["instances"]["controller"]["busy_cycles"] > 0
    import bisect
    starts = [a for a, _, _ in ctrl]
    for e in trace["traceEvents"]:
        if e["ph"] == "X" and e["cat"] == "busy" and tracks[e["tid"]][:3] in ("mac", "adc"):
            a, b = e["ts"], e["ts"] + e["dur"]
            i = bisect.bisect_right(starts, a + 1e-9) - 1  # the controller slices around it, back to back
            assert i >= 0 and ctrl[i][0] <= a + 1e-9
            while ctrl[i][1] < b - 1e-9:
                assert ctrl[i + 1][0] <= ctrl[i][1] + 1e-9, (tracks[e["tid"]], a)
                i += 1
