"""Every name the benchmark harness imports from the router package exists there (bench/ is run by
`make bench`, not by the tests; its imports are mostly inside the sections, so a moved name would
otherwise fail only when the bench runs: once a section failed with an ImportError for a constant that
had moved from router.api to router.opa_supervisor)."""

from __future__ import annotations

import ast
import importlib
import importlib.util

import pytest

from router import paths

BENCH = sorted((paths.ROOT / "bench").glob("*.py"))


def _router_imports() -> list[tuple[str, str, str]]:
    found = []
    for path in BENCH:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "router":
                found += [(path.name, node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(path.name, alias.name, "") for alias in node.names if alias.name.split(".")[0] == "router"]
    return found


def test_the_bench_imports_names_from_the_router_package() -> None:
    assert len(_router_imports()) >= 10


@pytest.mark.parametrize(("file", "module", "name"), _router_imports())
def test_each_name_the_bench_imports_exists(file: str, module: str, name: str) -> None:
    imported = importlib.import_module(module)
    if name:
        assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None, \
            f"bench/{file}: `from {module} import {name}`: {module} has no {name}"
