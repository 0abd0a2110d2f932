"""Fixtures and helpers for the policy tests (agent-execution decisions and the example fixtures).

The OPA server itself is the session-wide one of tests/opa_server.py.
"""

from __future__ import annotations

import pytest
from opa_server import as_emitted, load, schema_errors

from router.decision import reason_codes


@pytest.fixture(scope="session")
def policy_opa(opa_server):
    """The shared policy server."""
    return opa_server


def all_reasons(decision: dict) -> set[str]:
    """Every reason code in a decision of either family (router.decision.reason_codes)."""
    return set(reason_codes(decision))


def reason_base(code: str) -> str:
    """A reason code without its `:<suffix>` (the reason catalogue's key)."""
    return code.split(":", 1)[0]


class Support:
    """The helpers above, handed to tests as the `support` fixture."""

    load = staticmethod(load)
    schema_errors = staticmethod(schema_errors)
    as_emitted = staticmethod(as_emitted)
    all_reasons = staticmethod(all_reasons)
    reason_base = staticmethod(reason_base)


@pytest.fixture(scope="session")
def support() -> type[Support]:
    return Support
