"""Fixtures for the reliability tests. Tests marked `slow` (the long fuzz and soak campaigns) run only
when selected with `-m slow` (make fuzz, make soak); the default run keeps their bounded variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import bundle as bundle_mod
from router import engine as eng

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long campaign: run with -m slow (make fuzz / make soak)")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def project_bundle() -> bundle_mod.BuiltBundle:
    return bundle_mod.ensure_bundle()


@pytest.fixture(scope="module")
def managed(project_bundle):
    """One managed OPA (token auth on) for a module's proxy tests."""
    with eng.ManagedEngine(timeout_s=10.0) as engine:
        yield engine
