"""Results as data frames (extra 'frames'), notebook views (_repr_html_) and plots returned as figures."""
import numpy as np
import pytest

import tlm

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def run():
    return tlm.simulate("imagine", "resnet8", engine="tlm", overrides={"macro.count": 4}, mapping="resident")


def test_result_frames_add_up(run):
    f = tlm.frames(run)
    by_comp = f["energy"].groupby("component")["energy_per_batch_pj"].sum()
    for comp, e in run.energy_by_component_pj.items():
        assert by_comp[comp] == pytest.approx(e, rel=1e-12)
    assert f["energy"]["energy_per_inference_pj"].sum() == pytest.approx(run.total_energy_pj / run.batch, rel=1e-12)
    assert list(f["layers"]["name"] if "name" in f["layers"] else f["layers"].iloc[:, 0]) == list(run.layer_names)
    assert f["layers"]["cycles"].sum() == run.cycles
    inst = run.extra["instances"]  # the tlm engine: one row per block instance
    assert dict(zip(f["blocks"]["block"], f["blocks"]["busy_cycles"])) == {k: int(v["busy_cycles"])
                                                                           for k, v in inst.items()}
    assert f["summary"]["tops_per_w"][0] == pytest.approx(run.summary()["tops_per_w"], rel=1e-12)


def test_sweep_frame_and_html():
    s = tlm.sweep("imagine", "resnet8", {"macro.count": [1, 2, 4]})
    df = s.frame()
    assert len(df) == s.n_points == 3 and list(df["macro.count"]) == [1, 2, 4]
    assert list(df["pareto"]) == list(s.pareto())
    assert np.allclose(df["energy_per_inference_pj"], s.table["energy_per_inference_pj"], rtol=1e-12)
    html = s._repr_html_()
    assert html.count("<tr") == 1 + 3  # header and one row per point


def test_result_html_shows_its_numbers(run):
    html = run._repr_html_()
    assert "resnet8" in html and f"{run.summary()['tops_per_w']:,.6g}" in html and html.startswith("<table")


def test_figures_are_returned_not_written(run, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    figs = tlm.figures(run)
    assert set(figs) == {"run_energy", "mapping"}  # resident on four macros: the mapping plot too
    ax = figs["run_energy"].axes[0]
    unit = ax.get_ylabel().split("(")[1].rstrip(")")
    scale = {"pJ": 1.0, "nJ": 1e-3, "uJ": 1e-6}[unit]
    bars = sum(p.get_height() for p in ax.patches)  # the stacked bars: every layer's on-chip energy
    assert bars == pytest.approx(run.on_chip_energy_pj / run.batch * scale, rel=1e-9)
    s = tlm.sweep("imagine", "resnet8", {"macro.count": [1, 2]})
    assert {"sweep_energy", "sweep_pareto", "sweep_latency"} <= set(tlm.figures(s))
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_chips_frame_is_every_designs_figures():
    designs = tlm.chips()
    df = tlm.frames(designs)["chips"]
    assert len(df) == sum(len(d.rows) for d in designs) and set(df["design"]) == {d.name for d in designs}
    assert list(df["error"]) == [r.error for d in designs for r in d.rows]
    tol = {d.name: d.published.tolerance for d in designs}
    assert list(df["within_tolerance"]) == [abs(e) <= tol[n] for n, e in zip(df["design"], df["error"])]
