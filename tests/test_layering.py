"""The package's layering: core (arch, workload, plan, hw, ...) -> engines (analytic, engine/) -> services
(sweep, bench, paper, plots, ...) -> CLI (tlm.cli, tlm.cli.commands).  Built from the source, lazy imports
inside functions included: no import cycle anywhere, and nothing below the CLI imports the CLI."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "tlm"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict:
    return {module_name(p): p for p in PKG.rglob("*.py")}


def resolve(mod: str, is_pkg: bool, level: int, name: str | None) -> str:
    """The absolute module named by `from <level dots><name> import ...` inside `mod`."""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def import_graph() -> dict:
    mods = modules()
    graph = {}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):  # ast.walk: lazy imports too
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, is_pkg, node.level, node.module) if node.level else node.module
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                # the deepest package module the name refers to (`from . import hw` -> tlm.hw)
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t.startswith("tlm") and t != mod:
                    deps.add(t)
        graph[mod] = deps
    return graph


def find_cycle(graph: dict):
    """A cycle as a list of modules, or None (iterative DFS, colours)."""
    colour = dict.fromkeys(graph, 0)
    for start in sorted(graph):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def is_cli(mod: str) -> bool:
    return mod in ("tlm.cli", "tlm.__main__") or mod == "tlm.cli.commands" or mod.startswith("tlm.cli.commands.")


def test_the_graph_sees_relative_and_lazy_imports():
    g = import_graph()
    assert "tlm.mapping.plan" in g["tlm.engines.analytic"]  # from .plan import ... (module level)
    assert "tlm.engines.transaction.system" in g["tlm.engines.registry"]  # inside a function
    assert "tlm.hw" in g["tlm.mapping.geometry"]  # from . import hw
    assert "tlm.services.chips" in g["tlm.cli.commands.chips"]  # from .. import chips, inside a function of a subpackage
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_nothing_below_the_cli_imports_the_cli():
    bad = [(m, d) for m, deps in import_graph().items() if not is_cli(m) for d in deps if is_cli(d)]
    assert not bad, bad


CORE = ("tlm.config.arch", "tlm.config.workload", "tlm.mapping.geometry", "tlm.mapping.plan", "tlm.config.schema", "tlm.errors", "tlm.config.yamlio")


@pytest.mark.parametrize("mod", CORE + ("tlm.hw",))
def test_core_does_not_import_engines_or_services(mod):
    g = import_graph()
    above = {"tlm.engines.analytic", "tlm.engines", "tlm.services.sweep", "tlm.services.bench", "tlm.services.paper", "tlm.present.plots", "tlm.present.report"}
    mods = [m for m in g if m == mod or m.startswith(mod + ".")]
    bad = [(m, d) for m in mods for d in g[m] if d in above or d.startswith("tlm.engines.transaction.")]
    assert not bad, bad


def test_the_tlm_engine_does_not_call_the_analytic_engine():
    g = import_graph()
    bad = [m for m in g if (m == "tlm.engines.transaction" or m.startswith("tlm.engines.transaction.")) and "tlm.engines.analytic" in g[m]]
    assert not bad, bad
