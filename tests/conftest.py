"""Fixtures shared by every suite."""

from __future__ import annotations

import atexit
import os
import tempfile

import pytest

from router.approvals import EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME

# Every suite decides at the fixed evaluation time the example bundles' approval tokens were issued
# for (docs/usage.md, "Evaluation time"); tests of the clock itself remove the setting.
os.environ.setdefault(EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME)

# No test writes to (or is refused by) the user's own receipt log: the default receipt folder
# ($XDG_STATE_HOME/model-router/receipts) is a temporary folder removed when the session ends.
_STATE = tempfile.TemporaryDirectory(prefix="model-router-test-state-")
atexit.register(_STATE.cleanup)
os.environ["XDG_STATE_HOME"] = _STATE.name

from opa_server import OpaServer  # noqa: E402 - after the environment above is set


@pytest.fixture(scope="session")
def opa_server():
    """The one shared policy OPA server (started on first use, stopped at the end of the session)."""
    server = OpaServer()
    try:
        yield server
    finally:
        server.close()
