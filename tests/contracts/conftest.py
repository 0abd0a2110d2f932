"""Contract tests: slow (long fuzz) tests run only when selected with `-m slow` (make fuzz)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long campaign: run with `make fuzz` (-m slow)")
    for item in items:
        if "slow" in item.keywords and "tests/contracts/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
