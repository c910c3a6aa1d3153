"""A sweep's calls of tlm/engines/registry.run_group with one point each (every point its own workload: a
grid of batches or precisions) and what they leave for the next calls.

Which test fails when a mechanism is removed:
- one point per call run on its own, not recorded (registry.RECORD_ONE): test_one_point_is_not_recorded;
- plan.structure when the template gives up between its key and `_base`'s (a probe key, then none: nothing
  kept, the structure made here; else None, which tlm/engines/pretime.py read as a dict):
  test_structure_when_the_template_gives_up_midway.
"""
import dataclasses

from tlm.config.arch import load_arch
from tlm.engines import registry
from tlm.engines.registry import run, run_group
from tlm.services.bench import cold


def test_one_point_is_not_recorded(root, resnet8, monkeypatch):
    """A call with one point (auto, 4 macros, batch 3) is not run through the grouping (registry._counted,
    the point recorded: about a run more) and gives the point's own Result; the sweep's state is left as
    it was."""
    arch = load_arch(root / "configs" / "imagine.yaml")
    arch = dataclasses.replace(arch, macro=dataclasses.replace(arch.macro, count=4))
    wl = dataclasses.replace(resnet8, batch=3)
    recorded, real = [], registry._counted
    monkeypatch.setattr(registry, "_counted", lambda *a, **k: recorded.append(1) or real(*a, **k))
    cold()
    st = {}
    got = run_group([arch], wl, state=st)
    assert not recorded and st == {}
    cold()
    assert got[0].to_json() == run("analytic", arch, wl).to_json()
    monkeypatch.setattr(registry, "RECORD_ONE", True)  # (the recording path: the same Result)
    cold()
    again = run_group([arch], wl, state=st)
    assert recorded and again[0].to_json() == got[0].to_json()


def test_structure_when_the_template_gives_up_midway(root, resnet8, monkeypatch):
    """template._given_up lets one key in PROBE through after GIVE_UP structures none shared: the first key
    of plan.structure a probe (1 mod PROBE), the second (in Plan._base) not, so nothing is kept; structure
    still gives the structure's Mapping (the compute layers' map_layers) and an empty `_structure`."""
    from tlm.mapping import plan, template
    from tlm.mapping.geometry import map_layers
    arch = load_arch(root / "configs" / "imagine.yaml")
    cold()
    monkeypatch.setattr(template, "_RUN", [template.GIVE_UP, 0])
    got = plan.structure(arch, resnet8)
    assert template._RUN[1] == 2 and not template._TEMPLATES  # (one probe, then given up: none kept)
    want = map_layers(arch, [l for l in resnet8.layers if l.is_compute])
    assert got["_structure"] == {} and (got["mapping"].tiles == want.tiles).all()
