"""docs/accuracy.md's figures are current (scripts/gen_accuracy_doc.py): the fingerprint of what its
accuracy figures depend on, and the energy table recomputed."""
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("mlxtend")


def test_accuracy_doc_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_accuracy_doc.py"), "--check"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_accuracy_doc_blocks_are_all_filled():
    """Every generated block holds something (none left empty by a renamed key)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import gen_accuracy_doc as G
    blocks = G.current((ROOT / "docs" / "accuracy.md").read_text())
    assert {"fingerprint", "energy", "adaptive8", "main", "previous", "onnx", "bits", "noise",
            "functional_tlm"} <= set(blocks)
    assert all(v.strip() for v in blocks.values()), [k for k, v in blocks.items() if not v.strip()]
