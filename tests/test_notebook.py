"""docs/whatif.ipynb runs end to end (nbclient) and reproduces the what-if row of docs/guide.md (the README's
before it moved there) exactly; the
repository keeps it with its outputs stripped."""
import json
import re

import pytest

from conftest import ROOT

NB = ROOT / "docs" / "whatif.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = json.loads(NB.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def _readme_row(point: int) -> list[str]:
    """The latency, energy, TOPS/W and TOPS/mm2 cells of one point of the README's what-if table
    (scripts/gen_readme.py writes it from `tlm sweep`)."""
    readme = (ROOT / "docs" / "guide.md").read_text()
    block = readme[readme.index("<!-- gen: whatif-sweep -->"):]
    block = block[:block.index("<!-- end -->")]
    m = re.search(rf"^\s+{point}\s+\*?\s+\d+\s+\d+\s+(?:[a-z]+\s+)?(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", block, re.M)
    assert m, block
    return list(m.groups())


def test_notebook_runs_and_reproduces_the_readme_row(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's tlm
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NB, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "docs")}}).execute()
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.output_type == "stream"]
    line = next(t for t in texts if t.startswith("point 2:"))
    m = re.fullmatch(r"point 2: latency (\S+) us, energy (\S+) nJ, (\S+) TOPS/W, (\S+) TOPS/mm2\n", line)
    assert m, line
    assert list(m.groups()) == _readme_row(2)
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "data" in o]
    assert any("image/png" in o["data"] for o in shown)  # the figure is drawn inline
    assert sum("text/html" in o["data"] for o in shown) >= 4  # frames and the Result render as tables
