"""The public surface changes only on purpose (in the spirit of httpx's tests/test_exported_members.py):
each package re-exports exactly its `__all__`, pinned here, and every module's `__all__` names only what
the module has."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

PUBLIC = {
    "ai": [
        "AsyncAIClient",
        "ClientPool",
        "Completion",
        "Message",
        "Request",
        "Sender",
        "SyncAIClient",
        "Usage",
        "create_ai_client",
        "create_async_ai_client",
    ],
    "callers": [
        "AIResult",
        "Conversation",
        "Enough",
        "History",
        "Junior",
        "OnResult",
        "Route",
        "ask_all",
        "ask_each",
        "ask_routes",
        "ask",
        "ask_sync",
        "ask_route",
        "conversation",
    ],
    "collab": [
        "MODES",
        "Approach",
        "ConsensusResult",
        "CouncilResult",
        "DebateResult",
        "DebateRound",
        "Mode",
        "ModeName",
        "SolveResult",
        "Vote",
        "run_consensus",
        "run_council",
        "run_debate",
        "run_solve",
    ],
    "core": [],
    "core.config": [],
    "core.files": [],
    "core.money": [],
    "core.resilience": [],
    "core.store": [],
    "serve": [],
    "serve.http": [],
    "tools": ["register_tools"],
}
# The seed's module-level API, at the seed's paths.
SEED = {
    "core.ai_clients": [
        "AI_CLIENTS",
        "ASYNC_AI_CLIENTS",
        "cleanup_async_ai_clients",
        "initialize_all_clients",
        "initialize_all_clients_async",
    ],
    "ai.caller": ["AIResult", "call_ai", "call_ai_async", "call_multiple_ais"],
}


def public_names(module: types.ModuleType) -> list[str]:
    """What a package itself offers: its public attributes, less its own submodules."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not (isinstance(value, types.ModuleType) and value.__name__.startswith(f"{module.__name__}."))
        and not (name in {"annotations", "TYPE_CHECKING"} and not callable(value))
    )


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_each_package_exports_exactly_its_pinned_public_api(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(getattr(module, "__all__", [])) == sorted(PUBLIC[package])
    assert public_names(module) == sorted(PUBLIC[package])


@pytest.mark.parametrize("path", sorted(SEED))
def test_the_seed_api_stays_at_the_seeds_paths(path: str) -> None:
    module = importlib.import_module(path)
    assert sorted(module.__all__) == SEED[path]
    for name in module.__all__:
        assert getattr(module, name) is getattr(importlib.import_module("callers.seed"), name)
    assert importlib.import_module("ai.async_client").call_ai_async is module_attr("callers.seed", "call_ai_async")


def module_attr(path: str, name: str) -> object:
    return getattr(importlib.import_module(path), name)


def every_module() -> list[str]:
    names = []
    for package in PUBLIC:
        path = importlib.import_module(package).__path__
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)]
    return sorted(names)


@pytest.mark.parametrize("name", every_module())
def test_every_module_declares_what_it_exports_and_has_it(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [member for member in module.__all__ if not hasattr(module, member)]
    assert missing == []
