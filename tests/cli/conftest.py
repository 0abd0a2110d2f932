"""Fixtures of the command-line tests."""

from __future__ import annotations

import shutil
import tempfile
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


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR: the managed OPAs' folders (socket, log, bundle copy) are made in it."""
    folder = Path(tempfile.mkdtemp(prefix="mr-rt-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
