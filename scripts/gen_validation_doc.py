"""Refresh the command outputs embedded in docs/validation.md (`tlm paper`, `tlm calibrate`).

    python scripts/gen_validation_doc.py
"""
import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.cli import main  # noqa: E402


def output(*argv) -> str:
    os.environ["COLUMNS"] = "80"  # the width the tables are laid out for (tlm/tables.py)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(argv)) == 0
    return buf.getvalue().rstrip("\n")


def replace_block(text: str, heading: str, body: str) -> str:
    """Replace the first ``` block after `heading` with `body`."""
    h = text.index(heading)
    a = text.index("```", h)
    a = text.index("\n", a) + 1
    b = text.index("```", a)
    return text[:a] + body + "\n" + text[b:]


if __name__ == "__main__":
    doc = ROOT / "docs" / "validation.md"
    t = doc.read_text()
    t = replace_block(t, "## `tlm paper` on the shipped config", output("paper"))
    t = replace_block(t, "## Calibration", output("calibrate", str(ROOT / "configs" / "imagine.yaml")))
    doc.write_text(t)
    print(f"wrote {doc}")
