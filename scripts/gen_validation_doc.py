"""Refresh the command outputs embedded in docs/validation.md (`tlm chips`, `tlm paper --sensitivity`,
`tlm calibrate`).

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


def generate(text: str) -> str:
    text = replace_block(text, "## `tlm chips`", output("chips"))
    text = replace_block(text, "## `tlm paper` on the shipped config", output("paper", "--sensitivity"))
    return replace_block(text, "## Calibration", output("calibrate", str(ROOT / "configs" / "imagine.yaml")))


if __name__ == "__main__":
    doc = ROOT / "docs" / "validation.md"
    doc.write_text(generate(doc.read_text()))
    print(f"wrote {doc}")
