"""Fixtures shared by every suite."""

from __future__ import annotations

import os

import pytest

from router.approvals import EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME

# Every suite decides at the fixed evaluation time the example bundles' approval tokens were issued
# for (docs/usage.md, "Evaluation time"); tests of the clock itself remove the setting.
os.environ.setdefault(EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME)

from opa_server import OpaServer


@pytest.fixture(scope="session")
def opa_server():
    """The one shared policy OPA server (started on first use, stopped at the end of the session)."""
    server = OpaServer()
    try:
        yield server
    finally:
        server.close()
