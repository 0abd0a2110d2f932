"""No import cycle among the modules of router/.

The graph is built from each module's imports, read from its syntax tree: every import statement,
also one inside a function (it runs too, only later; the style rules keep those to the one documented
cold-start place), but not one under `if TYPE_CHECKING:` (it never runs). `import router.a.b`, `from router.a import b` and `from router import a` (a
module) are edges to the module named; `from router.a import name` (not a module) is an edge to
router.a. A package's `__init__` is the package's own node; importing a submodule is not an edge to
its parent package (the package is already initialising when its submodules run).
"""

from __future__ import annotations

import ast
from pathlib import Path

from router import paths

ROUTER = paths.ROOT / "router"

# Cycles still to break, each named by its sorted members. THIS SET MUST BE EMPTY: remove an entry as
# soon as its cycle is gone (the test fails on a listed cycle that no longer exists).
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()  # none left: a new cycle fails this test


def module_name(path: Path, root: Path = ROUTER) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str | None, level: int, here: str, is_package: bool) -> str | None:
    if level == 0:
        return module
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def module_imports(source: str, here: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of KNOWN that SOURCE (the module HERE) imports at module level."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in _imports(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module, node.level, here, is_package)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    found.add(sub)
                elif target in known:
                    found.add(target)
    found.discard(here)
    return found


def _imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in BODY, at any depth (a function's imports run too, only later), but
    not those under `if TYPE_CHECKING:` (they never run)."""
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            out.extend(_imports(node.orelse))
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                for child in children:
                    out.extend(_imports(child.body if isinstance(child, (ast.ExceptHandler, ast.match_case)) else [child]))
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph(root: Path = ROUTER) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    return {
        name: module_imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", known)
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every strongly connected component of more than one module (or a module importing itself): the
    sorted names of the modules that import each other, directly or through one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def path_around(members: tuple[str, ...], graph: dict[str, set[str]]) -> tuple[str, ...]:
    """One cycle through the component's smallest member (shortest, by breadth-first search)."""
    start, inside = members[0], set(members)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & inside):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return (*reversed(path), start)
            if w not in previous:
                previous[w] = v
                queue.append(w)
    return (*members, start)


def test_the_walk_finds_a_cycle_and_names_it(tmp_path):
    pkg = tmp_path / "router"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from router.a import A\n")
    (pkg / "a.py").write_text("from router import b\nA = 1\n")
    (pkg / "b.py").write_text("import os\n\ndef f():\n    from router import c\n\nfrom router.sub import d\n")
    (pkg / "c.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from router import c\nfrom ..a import A\n")
    graph = import_graph(pkg)
    assert graph["router"] == {"router.a"}
    assert graph["router.b"] == {"router.c", "router.sub.d"}  # the import inside f() is an edge too
    assert graph["router.sub.d"] == {"router.a"}  # the TYPE_CHECKING one is not; the relative one is
    assert cycles(graph) == [("router.a", "router.b", "router.sub.d")]
    assert path_around(("router.a", "router.b", "router.sub.d"), graph) == ("router.a", "router.b", "router.sub.d", "router.a")


def test_no_import_cycle_in_router():
    graph = import_graph()
    found = cycles(graph)
    unknown = [c for c in found if c not in KNOWN_CYCLES]
    gone = KNOWN_CYCLES - set(found)
    assert not unknown, "import cycles in router/ (break them):\n" + "\n".join(
        f"{', '.join(c)}: e.g. {' -> '.join(path_around(c, graph))}" for c in unknown
    )
    assert not gone, f"remove these from KNOWN_CYCLES, they are fixed: {sorted(gone)}"
