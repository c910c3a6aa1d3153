"""docs/architecture.md stays true: every file and `file:function` it names exists, every package of tlm/ is
in its layer table, its layers are tests/test_layering.py's, and every citation of one of its sections
anywhere in the repository (its path, a comma, the quoted heading) names a section it has.  Nothing cites a
design document outside the repository."""
import ast
import re

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "architecture.md"
REF = re.compile(r"`((?:tlm|scripts|benchmarks|tests)/[\w/]+\.py)(?::([\w.]+))?`")
CITE = re.compile(r'docs/architecture\.md,?\s+\(?"([^"]+)"')
TEXT_FILES = ("*.py", "*.md", "*.yaml", "*.toml", "*.txt")


def _defined(path, dotted: str) -> bool:
    """`dotted` (Name or Class.attr) is defined at the top of the module `path` (def, class, assignment)."""
    scope = ast.parse(path.read_text()).body
    for part in dotted.split("."):
        found = None
        for node in scope:
            names = ([node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     else [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
                     + ([node.target.id] if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                        else []))
            if part in names:
                found = node
        if found is None:
            return False
        scope = getattr(found, "body", [])
    return True


def _headings(text):
    return {m.group(1).strip() for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def _repo_files():
    for pattern in TEXT_FILES:
        for p in sorted(ROOT.rglob(pattern)):
            rel = p.relative_to(ROOT).as_posix()
            if not rel.startswith((".git/", "build/")) and "__pycache__" not in rel and ".egg-info" not in rel:
                yield p


def test_every_named_file_and_function_exists():
    text = DOC.read_text()
    refs = REF.findall(text)
    assert len(refs) > 40  # the walk-through names its files
    bad = [f"{f}:{name}" if name else f for f, name in refs
           if not (ROOT / f).is_file() or (name and not _defined(ROOT / f, name))]
    assert not bad, bad


def test_the_checks_catch_a_wrong_name(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("X = 1\n\n\nclass K:\n    def f(self):\n        pass\n\n\ndef g():\n    pass\n")
    assert _defined(p, "K.f") and _defined(p, "g") and _defined(p, "X")
    assert not _defined(p, "K.h") and not _defined(p, "f")


def test_every_package_is_in_the_layer_table():
    text = DOC.read_text()
    table = text[text.index("## Layers and folders"):text.index("## The plan")]
    packages = sorted(p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "tlm").glob("*/__init__.py"))
    assert packages and [p for p in packages if f"`{p}/`" not in table] == []
    from test_layering import LAYERS
    rows = re.findall(r"^\| (\w+) \|", table, re.M)
    assert list(dict.fromkeys(r for r in rows if r != "layer")) == [name for name, _ in LAYERS]


def test_citations_of_its_sections_name_real_sections():
    headings = _headings(DOC.read_text())
    cites = [(p.relative_to(ROOT).as_posix(), c) for p in _repo_files() for c in CITE.findall(p.read_text())]
    assert len(cites) >= 5
    bad = [(f, c) for f, c in cites if c not in headings]
    assert not bad, bad


@pytest.mark.parametrize("outside", ["DESIGN" + ".md", "../" + "shared"])
def test_nothing_cites_a_file_outside_the_repository(outside):
    bad = [p.relative_to(ROOT).as_posix() for p in _repo_files() if outside in p.read_text()]
    assert not bad, bad
