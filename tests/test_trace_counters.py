"""The Perfetto trace's counter tracks and flow events (tlm/engines/transaction/trace.py), checked against
the run's block statistics: ResNet-8 on the tlm engine with contention."""
import json
from collections import defaultdict

import pytest

import tlm
from tlm.engines.transaction.trace import _kind


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "trace.json"
    r = tlm.simulate("imagine_4macro", "resnet8", engine="tlm", trace=path, mapping="sequential")
    assert r.arch.tlm.contention
    return r, json.loads(path.read_text())


def _cycles(r, ts):
    return round(ts * 1e3 / r.arch.clock.period_ns)


def _tracks(trace):
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}


def test_busy_counters_add_up_to_the_block_table(traced):
    r, trace = traced
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


def test_every_flow_connects_an_initiators_slice_to_a_targets(traced):
    r, trace = traced
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
