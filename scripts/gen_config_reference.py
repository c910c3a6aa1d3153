"""Regenerate docs/config-reference.md from the parameter declarations in tlm/config/arch.py.

    python scripts/gen_config_reference.py            # write the file
    python scripts/gen_config_reference.py --check    # exit 1 if the file is out of date
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.config.arch import Arch  # noqa: E402
from tlm.config.schema import describe  # noqa: E402


def render() -> str:
    lines = ["# Architecture YAML reference", "",
             "Generated from `tlm/config/arch.py` by `python scripts/gen_config_reference.py`; do not edit by hand.",
             "Every field is required unless the default column says otherwise. Where each value of the shipped",
             "configuration comes from is written beside it in `configs/imagine.yaml`.", "",
             "| field | type | default | meaning |", "|---|---|---|---|"]
    for path, typ, doc, default in describe(Arch):
        if typ == "section":
            lines.append(f"| **`{path}`** | section | | {doc} |")
        else:
            lines.append(f"| `{path}` | {typ} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = ROOT / "docs" / "config-reference.md"
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if out.exists() and out.read_text() == text else 1)
    out.write_text(text)
    print(f"wrote {out}")
