"""The house as its imports draw it: arrows point down only (serve → tools → collab → callers → ai → core), no
cycle, and no module-level mutable state outside the seed's shim.

Every import counts, at module level or inside a function, TYPE_CHECKING ones included. The one
exception is the seed's API at the seed's paths, which forwards up to `callers.seed` on first use.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lower is further down; a module may import from its own layer and the ones below it.
LAYERS = {"core": 0, "ai": 1, "callers": 2, "collab": 3, "tools": 4, "serve": 5, "server": 6}
# The seed's import paths (core.ai_clients, ai.caller, ai.async_client.call_ai_async): thin forwarders to
# the shim, which lives where it belongs, above the layers they sit in.
SEED_FORWARDERS = {
    ("core.ai_clients", "callers.seed"),
    ("ai.caller", "callers.seed"),
    ("ai.async_client", "callers.seed"),
}
SHIM = "callers.seed"


def modules() -> dict[str, Path]:
    found = {}
    for package in ("core", "ai", "callers", "collab", "tools", "serve"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found["server"] = ROOT / "server.py"
    return found


def imported(path: Path) -> Iterator[str]:
    """Every project module `path` imports (for `from package import name`, the submodule when it is one)."""
    known = modules()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [t if t in known else node.module for t in targets]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            targets = [node.args[0].value] if isinstance(node.args[0], ast.Constant) else []
        else:
            continue
        yield from (target for target in targets if target.split(".")[0] in LAYERS and target in known)


def edges() -> set[tuple[str, str]]:
    return {(name, target) for name, path in modules().items() for target in imported(path) if target != name}


def layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def test_the_layers_are_the_houses_packages() -> None:
    assert set(modules()) >= {
        "core.config.settings",
        "ai.pool",
        "callers.app",
        "collab.debate",
        "tools.boundary",
        "serve.main",
    }


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = sorted((a, b) for a, b in edges() if layer(b) > layer(a) and (a, b) not in SEED_FORWARDERS)
    assert upward == []


def test_the_seed_forwarders_only_reach_the_shim() -> None:
    for forwarder, _ in SEED_FORWARDERS:
        upward = {b for a, b in edges() if a == forwarder and layer(b) > layer(a)}
        assert upward == {SHIM}, forwarder


def test_the_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in edges() - SEED_FORWARDERS:
        graph.setdefault(a, set()).add(b)
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import cycle: " + " → ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_ai_knows_nothing_of_collaboration() -> None:
    for name, path in modules().items():
        if name.startswith("ai"):
            text = path.read_text().lower()
            assert not [word for word in ("debate", "consensus", "collaborat") if word in text], name


@pytest.mark.parametrize("name", sorted(set(modules()) - {SHIM}))
def test_no_module_level_mutable_state_outside_the_seed_shim(name: str) -> None:
    tree = ast.parse(modules()[name].read_text())
    assert not any(isinstance(node, ast.Global) for node in ast.walk(tree)), f"{name} rebinds a module global"
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if [getattr(t, "id", None) for t in targets] == ["__all__"]:
            continue
        mutable = isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp))
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            mutable = value.func.id in {"dict", "list", "set", "deque", "defaultdict", "Counter"}
        assert not mutable, f"{name}:{node.lineno} holds module-level mutable state"
