"""docs/tlm-engine.md: its figures are what scripts/gen_tlm_doc.py computes now."""
import subprocess
import sys

from conftest import ROOT


def test_tlm_engine_doc_figures_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_tlm_doc.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr or "docs/tlm-engine.md is stale: run python scripts/gen_tlm_doc.py"
