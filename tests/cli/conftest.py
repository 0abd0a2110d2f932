"""Fixtures of the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from router import engine as eng


@pytest.fixture(scope="module")
def opa_url() -> Iterator[str]:
    """One OPA (no token) shared by the CLI invocations; the embedded default is tested separately."""
    with eng.ManagedEngine(timeout_s=5.0, auth=False) as engine:
        yield engine.url


@pytest.fixture()
def receipts(tmp_path: Path) -> Path:
    return tmp_path / "receipts"
