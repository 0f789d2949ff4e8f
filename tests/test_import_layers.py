"""The layers go one way, and the package's own imports sit at module top.

cli -> construction / training / evaluation -> predictors -> models -> benchmark -> paths, io, secrets,
params (and the package's constants). report formats what it is given: it may be imported by the layers
above it and imports only the bottom layer. Read from the source (``ast``), so an import inside a function
counts as much as one at the top; docs/architecture.md draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "petool_utils"

RANK = {"cli": 7, "construction": 6, "training": 6, "evaluation": 6, "predictors": 5, "models": 4,
        "benchmark": 3, "report": 2.5, "paths": 2, "io": 2, "secrets": 2, "params": 2, "display": 2, "__init__": 2,
        "resources": 2}
"""A module may import a module of its own rank or below, never above."""

INNER_IMPORTS_LEFT: set[str] = set()
"""Modules still allowed an own import inside a function, each with its reason; shrink-only (a module with
an inner import of the package fails the test unless listed). Empty: the package's modules import no heavy
dependency at their top (torch, transformers, peft, trl stay lazy inside the functions that need them),
so none of them needs to be imported lazily."""

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Cycles still to break; shrink-only, like :data:`INNER_IMPORTS_LEFT`."""


def _modules() -> dict[str, Path]:
    return {".".join(("petool_utils", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): p
            for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported petool_utils module, line, at module top)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("petool_utils"):
                out.append((name, node.lineno, id(node) in top))
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in (``from pkg import mod`` names a module; ``from mod import f`` not)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def back_arrows() -> list[str]:
    modules = _modules()
    found = []
    for mod, path in modules.items():
        for name, line, _ in _imports(path):
            target = _resolve(name, modules)
            if target is None or target == mod:
                continue
            if RANK[_layer(target)] > RANK[_layer(mod)]:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {mod} ({_layer(mod)}) imports "
                             f"{target} ({_layer(target)})")
    return sorted(set(found))


def test_every_package_folder_has_a_layer():
    assert {_layer(m) for m in _modules()} <= set(RANK)


def test_no_back_arrow():
    assert back_arrows() == []


def test_no_import_cycle_between_modules():
    """Module-level cycles (``paths <-> benchmark`` once, ``ranker.predictor <-> ranker.crossfit``): a module
    imports, at its top or inside a function, nothing that imports it back."""
    modules = _modules()
    graph = {m: {t for n, _, _ in _imports(p) if (t := _resolve(n, modules)) not in (None, m)} for m, p in modules.items()}
    # a package's __init__ re-exporting its submodules is not a cycle of the code
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                ring = stack[stack.index(t):] + [m] if t in stack else [m, t]
                if frozenset(ring) not in KNOWN_CYCLES:
                    cycles.append(" -> ".join(ring + [t]))
            elif t not in state:
                visit(t, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_own_imports_sit_at_module_top():
    """Inside a function only where a heavy optional dependency justifies it; those are the modules' own
    (torch, transformers...) and never the package's, except in the CLI, whose commands import their
    module when run so that ``petool --help`` starts fast, and in the modules still listed above."""
    modules = _modules()
    inner = sorted({f"{mod}: {name}" for mod, p in modules.items() for name, _, at_top in _imports(p)
                    if not at_top and _layer(mod) != "cli" and mod not in INNER_IMPORTS_LEFT})
    assert inner == []


@pytest.mark.parametrize("module,target", [("petool_utils.report.tables", "petool_utils.evaluation.errors"),
                                           ("petool_utils.benchmark.data", "petool_utils.paths")])
def test_the_rule_itself(module, target):
    """A report module importing evaluation is a back-arrow; benchmark importing paths is not."""
    assert (RANK[_layer(target)] > RANK[_layer(module)]) == (_layer(module) == "report")
