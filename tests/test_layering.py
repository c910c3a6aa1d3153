"""The package's layering (docs/architecture.md, "Layers and folders"), read from the source:

    core (tlm.*: tlm._version, tlm.errors, tlm.extras, tlm.config, tlm.onnxio, tlm.hw, tlm.mapping,
          tlm.functional) -> engines (tlm.engines) -> services (tlm.services) -> present (tlm.present)
      -> api (tlm.api, and the package module `tlm` itself, which re-exports it lazily) -> cli (tlm.cli,
          tlm.__main__)

A module may import its own layer and the layers below it, never one above -- not directly, not through
any chain of imports, lazy imports inside functions included (the closure of the import graph).  Importing
a module also runs its parent packages' __init__ (their module-level imports): the graph has that edge
too.  No import cycle; nothing below the CLI reaches the CLI; the transaction-level engine never reaches
the analytic engine."""
import ast
from collections import deque
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "tlm"

LAYERS = (  # (name, packages/modules); a module belongs to the layer of its longest matching prefix
    ("core", ("tlm", "tlm.errors", "tlm.extras", "tlm.config", "tlm.onnxio", "tlm.hw", "tlm.mapping",
              "tlm.functional")),
    ("engines", ("tlm.engines",)),
    ("services", ("tlm.services",)),
    ("present", ("tlm.present",)),
    ("api", ("tlm.api",)),
    ("cli", ("tlm.cli", "tlm.__main__")),
)
INIT = "init:"  # node prefix: the implicit import of a package's __init__ by importing one of its modules


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


def deepest(name: str, mods) -> str | None:
    """The deepest module of the package that `name` refers to (`tlm.mapping.plan.build_plan` ->
    tlm.mapping.plan); None outside tlm."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name if name and (name == "tlm" or name.startswith("tlm.")) else None


class _Imports(ast.NodeVisitor):
    """Every import of one module, split into module-level (`eager`) and inside a function (`lazy`)."""

    def __init__(self, mod, is_pkg, mods):
        self.mod, self.is_pkg, self.mods = mod, is_pkg, mods
        self.eager, self.lazy, self.dynamic = set(), set(), []
        self.depth = 0

    def _add(self, target):
        t = deepest(target, self.mods)
        if t and t != self.mod:
            (self.lazy if self.depth else self.eager).add(t)

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        for a in node.names:
            self._add(a.name)

    def visit_ImportFrom(self, node):
        base = resolve(self.mod, self.is_pkg, node.level, node.module) if node.level else node.module
        for a in node.names:  # `from pkg import submodule` -> the submodule; `from mod import name` -> mod
            sub = f"{base}.{a.name}"
            self._add(sub if sub in self.mods else base)

    def visit_Call(self, node):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in ("__import__", "import_module") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self._add(arg.value)
            else:
                self.dynamic.append(node.lineno)
        self.generic_visit(node)


def scan() -> dict:
    """module -> _Imports (eager, lazy, dynamic)."""
    mods = modules()
    out = {}
    for mod, path in mods.items():
        v = _Imports(mod, path.name == "__init__.py", mods)
        v.visit(ast.parse(path.read_text(), str(path)))
        out[mod] = v
    return out


def parents(mod: str) -> list:
    parts = mod.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(scanned=None) -> dict:
    """The direct imports: module -> modules it imports (eager or lazy)."""
    scanned = scanned or scan()
    return {m: v.eager | v.lazy for m, v in scanned.items()}


def chain_graph(scanned=None) -> dict:
    """The graph whose closure is 'what may run once this module is imported and used': a module's eager
    and lazy imports, and the implicit import of its parent packages (INIT nodes), which runs their
    module-level imports only."""
    scanned = scanned or scan()
    g = {}
    for m, v in scanned.items():
        g[m] = (v.eager | v.lazy) | {INIT + p for p in parents(m)}
        g[INIT + m] = set(v.eager) | {INIT + p for p in parents(m)}
    return g


def chain(graph: dict, start: str, goal) -> list | None:
    """The shortest chain of imports from `start` to a module satisfying `goal`, or None (BFS)."""
    prev = {start: None}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        if node != start and not node.startswith(INIT) and goal(node):
            out = [node]
            while prev[out[-1]] is not None:
                out.append(prev[out[-1]])
            return out[::-1]
        for nxt in sorted(graph.get(node, ())):
            if nxt not in prev:
                prev[nxt] = node
                todo.append(nxt)
    return None


ROOT_LAYER = "api"  # the package module `tlm` (tlm/__init__.py) re-exports the API: it sits with it


def layer_of(mod: str) -> int | None:
    if mod == "tlm":
        return [name for name, _ in LAYERS].index(ROOT_LAYER)
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


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
    return layer_of(mod) == len(LAYERS) - 1


def _fmt(c):
    return " -> ".join(n.replace(INIT, "(package init) ") for n in c)


@pytest.fixture(scope="module")
def scanned():
    return scan()


# ---- the graph itself ------------------------------------------------------------------------------
def test_the_graph_sees_relative_lazy_and_package_imports(scanned):
    g = import_graph(scanned)
    assert "tlm.mapping.plan" in scanned["tlm.engines.analytic"].eager
    assert "tlm.engines.transaction.system" in scanned["tlm.engines.registry"].lazy  # inside a function
    assert "tlm.services.paper" in g["tlm.cli.commands.paper"]  # lazy, inside a subcommand's run
    c = chain_graph(scanned)
    assert INIT + "tlm.engines" in c["tlm.engines.transaction.system"]  # importing it runs tlm/engines/__init__
    assert "tlm.engines.analytic" not in c[INIT + "tlm.engines"]  # ... whose lazy imports do not run then


def test_chain_follows_chains_and_package_inits():
    g = {"a": {"b"}, "b": {"c"}, "c": set(), "p.x": {INIT + "p"}, INIT + "p": {"d"}, "d": set()}
    assert chain(g, "a", lambda m: m == "c") == ["a", "b", "c"]  # two hops, not only direct imports
    assert chain(g, "p.x", lambda m: m == "d") == ["p.x", INIT + "p", "d"]
    assert chain(g, "c", lambda m: m == "a") is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_has_a_layer(scanned):
    assert [m for m in scanned if layer_of(m) is None] == []
    assert layer_of("tlm.mapping.plan") == 0 and layer_of("tlm.engines.transaction.system") == 1
    assert layer_of("tlm.cli.commands.simulate") == layer_of("tlm.__main__") == len(LAYERS) - 1


def test_no_dynamic_import_the_graph_cannot_see(scanned):
    """`__import__(name)` with a computed name only in the CLI (it loads the subcommand modules)."""
    bad = {m: v.dynamic for m, v in scanned.items() if v.dynamic and not is_cli(m)}
    assert not bad, bad


# ---- the rules -------------------------------------------------------------------------------------
def test_no_import_cycle(scanned):
    cycle = find_cycle(import_graph(scanned))
    assert cycle is None, " -> ".join(cycle)


def test_no_module_reaches_a_higher_layer(scanned):
    g = chain_graph(scanned)
    bad = []
    for m in sorted(scanned):
        own = layer_of(m)
        c = chain(g, m, lambda d, own=own: layer_of(d) > own)
        if c:
            bad.append(f"{LAYERS[own][0]} {_fmt(c)} ({LAYERS[layer_of(c[-1])][0]})")
    assert not bad, "\n".join(bad)


def test_nothing_below_the_cli_reaches_the_cli(scanned):
    g = chain_graph(scanned)
    bad = [_fmt(c) for m in sorted(scanned) if not is_cli(m) for c in [chain(g, m, is_cli)] if c]
    assert not bad, "\n".join(bad)


def test_the_transaction_engine_never_reaches_the_analytic_engine(scanned):
    g = chain_graph(scanned)
    tx = [m for m in scanned if m == "tlm.engines.transaction" or m.startswith("tlm.engines.transaction.")]
    assert tx
    bad = [_fmt(c) for m in sorted(tx) for c in [chain(g, m, lambda d: d == "tlm.engines.analytic")] if c]
    assert not bad, "\n".join(bad)
