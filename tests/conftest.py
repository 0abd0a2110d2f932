"""Fixtures shared by every suite."""

from __future__ import annotations

import pytest

from opa_server import OpaServer


@pytest.fixture(scope="session")
def opa_server():
    """The one shared policy OPA server (started on first use, stopped at the end of the session)."""
    server = OpaServer()
    try:
        yield server
    finally:
        server.close()
