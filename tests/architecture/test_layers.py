"""The import contract: dependencies point one way, from the entry points down to the core.

Every import counts, also one inside a function or under `TYPE_CHECKING`: an import hidden in a function
is still a dependency, and hiding one is how cycles used to creep in.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kizuki", "knowledge", "agent", "review", "delivery", "reports", "evals", "api")

# Lowest first. A module may import its own layer's units and the layers below it, never a layer above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("kizuki.core",),  # settings, database, ORM base, errors, jobs and the generic worker, audit, text
    ("knowledge",),
    ("agent",),  # intake, triage, drafting, checks, posts and drafts, the pipeline
    ("review", "delivery", "reports"),  # domains: independent of each other
    ("kizuki.runtime",),  # the composition root
    ("kizuki.seed",),  # company folders (the demo, the evaluation companies) loaded into a runtime
    ("evals",),  # runs the assembled system on suites, each in a runtime of its own
    ("api",),  # the web layer
    ("kizuki.schema",),  # every table, gathered for migrations
    ("kizuki.commands",),  # command groups that `kizuki.cli` gathers
    ("kizuki.cli", "kizuki.migrations"),  # entry points
)
# `kizuki/__init__.py` holds only the version; every layer may read it.
NEUTRAL = ("kizuki",)


def unit_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> tuple[int, str] | None:
    """(layer index, unit) of a module, by the longest unit prefix; None for a neutral module."""
    best: tuple[int, str] | None = None
    for rank, units in enumerate(layers):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best[1])):
                best = (rank, unit)
    return best


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports(module: str, path: Path, packages: tuple[str, ...] = PACKAGES) -> Iterator[tuple[str, int]]:
    """Every project module `module` imports, with the line, wherever the import statement stands."""
    is_package = path.name == "__init__.py"
    root = path.parents[len(module.split(".")) - (0 if is_package else 1)]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when there is one, else a name from pkg
            names = sorted({_module_or_parent(root, f"{target}.{alias.name}") for alias in node.names})
        else:
            continue
        for name in names:
            if name.split(".")[0] in packages:
                yield name, node.lineno


def _module_or_parent(root: Path, dotted: str) -> str:
    path = root.joinpath(*dotted.split("."))
    if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
        return dotted
    return dotted.rsplit(".", 1)[0]


def violations(
    root: Path, layers: tuple[tuple[str, ...], ...] = LAYERS, packages: tuple[str, ...] = PACKAGES
) -> list[str]:
    """Upward imports, imports between independent units of one layer, and modules that belong to no layer."""
    problems: list[str] = []
    for module, path in modules(root, packages):
        here = unit_of(module, layers)
        if here is None:
            if module not in NEUTRAL:
                problems.append(f"{module} belongs to no layer")
            continue
        for target, line in imports(module, path, packages):
            there = unit_of(target, layers)
            if there is None:
                continue
            where = f"{path.relative_to(root)}:{line}"
            if there[0] > here[0]:
                problems.append(f"{where}: {module} ({here[1]}) imports {target} from a higher layer ({there[1]})")
            elif there[0] == here[0] and there[1] != here[1]:
                problems.append(f"{where}: {module} ({here[1]}) imports {target} from its sibling {there[1]}")
    return problems


def package_cycles(root: Path, packages: tuple[str, ...] = PACKAGES, depth: int = 2) -> list[list[str]]:
    """Cycles in the graph of packages cut at `depth` (agent.intake, agent.drafting, kizuki.core, ...)."""
    known = {m for m, _ in modules(root, packages)}

    def cut(module: str) -> str:
        while module not in known and "." in module:
            module = module.rsplit(".", 1)[0]
        return ".".join(module.split(".")[:depth])

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules(root, packages):
        for target, _ in imports(module, path, packages):
            a, b = cut(module), cut(target)
            if a != b and not b.startswith(a + ".") and not a.startswith(b + "."):
                graph[a].add(b)
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(start: str, node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                key = frozenset(trail)
                if key not in seen:
                    seen.add(key)
                    cycles.append([*trail, start])
            elif nxt not in trail and nxt > start:  # each cycle once, from its smallest member
                walk(start, nxt, [*trail, nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return cycles


def test_every_import_points_down_the_layers() -> None:
    assert violations(ROOT) == []


def test_no_cycles_between_packages() -> None:
    assert package_cycles(ROOT) == []


def test_the_worker_and_the_core_import_no_domain() -> None:
    for module, path in modules(ROOT, ("kizuki",)):
        if module.startswith("kizuki.core"):
            outside = [t for t, _ in imports(module, path) if not t.startswith("kizuki.core") and t != "kizuki"]
            assert outside == [], module


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


LOW_HIGH = (("low",), ("high",))


def test_the_contract_sees_an_upward_import_inside_a_function(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from high.b import g\n    return g\n",
            "high/__init__.py": "",
            "high/b.py": "from low import a\n",
        },
    )
    found = violations(root, LOW_HIGH, ("low", "high"))
    assert found == ["low/a.py:2: low.a (low) imports high.b from a higher layer (high)"]


def test_the_contract_sees_a_cycle_and_a_relative_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/x/__init__.py": "from ..y import thing\n",
            "low/y/__init__.py": "thing = 1\nif False:\n    import low.x\n",
        },
    )
    assert package_cycles(root, ("low",)) == [["low.x", "low.y", "low.x"]]


@pytest.mark.parametrize(
    ("module", "unit"),
    [("kizuki.core.jobs", "kizuki.core"), ("kizuki.cli", "kizuki.cli"), ("agent.posts.lifecycle", "agent")],
)
def test_modules_fall_in_the_unit_with_the_longest_prefix(module: str, unit: str) -> None:
    found = unit_of(module)
    assert found is not None and found[1] == unit


def test_no_test_may_request_a_model_unless_it_says_so() -> None:
    import pydantic_ai.models

    assert pydantic_ai.models.ALLOW_MODEL_REQUESTS is False
