"""Refresh the command outputs embedded in README.md between `<!-- out: ARGS -->` and `<!-- end -->`.

    python scripts/gen_readme.py            # rewrite README.md
    python scripts/gen_readme.py --check    # exit 1 if any embedded output is stale

Each block shows `$ tlm ARGS` followed by what the command prints in a pipe at 80 columns (COLUMNS=80,
whatever the environment says).
"""
import contextlib
import io
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.cli import main  # noqa: E402

BLOCK = re.compile(r"(<!-- out: (?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)


def output(args: str) -> str:
    buf = io.StringIO()
    os.environ["COLUMNS"] = "80"  # the width the tables are laid out for (tlm/tables.py)
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(args.split())
    if code != 0:
        raise SystemExit(f"tlm {args} exited {code}")
    lines = [ln.rstrip() for ln in buf.getvalue().rstrip("\n").split("\n")]
    return "\n".join(lines)


def render(text: str) -> str:
    def sub(m):
        return f"{m.group(1)}```text\n$ tlm {m.group('args')}\n{output(m.group('args'))}\n```\n{m.group(4)}"
    return BLOCK.sub(sub, text)


if __name__ == "__main__":
    readme = ROOT / "README.md"
    old = readme.read_text()
    new = render(old)
    if "--check" in sys.argv:
        sys.exit(0 if new == old else 1)
    readme.write_text(new)
    print(f"wrote {readme}")
