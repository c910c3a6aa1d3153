"""The project's size rules on tlm/ (docs/architecture.md, "Where each rule lives"): no function over 80 lines,
no module over 600 lines, and no function or method that nothing names (dead code).  Read from the source.

ALLOWED would list what another part of work in progress still has to shrink or delete, each entry saying
whose part it is, for the lead to remove as that part lands -- never one for new code.  It is empty."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "tlm"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600

ALLOWED: set = set()  # "path:function" or "path"; empty since the engine part of issue 23 landed
CALLED_BY_A_LIBRARY = {  # overrides a library calls by name: not dead
    "tlm/present/plots.py:_log.Plain._num_to_string",  # matplotlib's LogFormatter
    "tlm/cli/commands/_common.py:_console_class.PipeConsole.on_broken_pipe",  # rich's Console on a closed pipe
}


def _sources():
    return {p.relative_to(ROOT).as_posix(): p.read_text() for p in sorted(PKG.rglob("*.py"))}


def _functions(tree):
    """(qualified name, node) of every function and method, nested ones included."""
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + child.name, child))
                walk(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)
    walk(tree, "")
    return out


def long_functions(sources: dict) -> list:
    return [f"{path}:{name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, text in sources.items() for name, node in _functions(ast.parse(text))
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES and f"{path}:{name}" not in ALLOWED]


def long_modules(sources: dict) -> list:
    return [f"{path} ({text.count(chr(10))} lines)" for path, text in sources.items()
            if text.count("\n") > MAX_MODULE_LINES and path not in ALLOWED]


def unnamed_functions(sources: dict, elsewhere: str) -> list:
    """Functions and methods whose name appears only at their definition, in tlm/, scripts/, benchmarks/
    and tests/ (dunders, operator handlers `op_*` and `visit_*` are called by name built at run time)."""
    words = {}
    for text in [*sources.values(), elsewhere]:
        for w in re.findall(r"\w+", text):
            words[w] = words.get(w, 0) + 1
    out = []
    for path, text in sources.items():
        for name, node in _functions(ast.parse(text)):
            short = name.rpartition(".")[2]
            if short.startswith(("__", "op_", "visit_")) or f"{path}:{name}" in ALLOWED | CALLED_BY_A_LIBRARY:
                continue
            if words.get(short, 0) <= 1:
                out.append(f"{path}:{name}")
    return out


def test_the_checks_see_what_they_look_for():
    fake = {"tlm/x.py": "def big():\n" + "    a = 1\n" * 80 + "\n\ndef small():\n    return big()\n\n\n"
                        "class K:\n    def unused_method(self):\n        pass\n",
            "tlm/y.py": "x = 1\n" * 601}
    assert long_functions(fake) == ["tlm/x.py:big (81 lines)"]
    assert long_modules(fake) == ["tlm/y.py (601 lines)"]
    assert unnamed_functions(fake, "") == ["tlm/x.py:small", "tlm/x.py:K.unused_method"]


def test_no_function_over_80_lines():
    bad = long_functions(_sources())
    assert not bad, "\n".join(bad)


def test_no_module_over_600_lines():
    bad = long_modules(_sources())
    assert not bad, "\n".join(bad)


def test_no_dead_function():
    elsewhere = "\n".join(p.read_text() for d in ("scripts", "benchmarks", "tests")
                          for p in sorted((ROOT / d).rglob("*.py")))
    bad = unnamed_functions(_sources(), elsewhere)
    assert not bad, "\n".join(bad)
