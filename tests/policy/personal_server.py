"""Fixtures and invariants for the local-personal route tests, over the session's shared OPA server
(tests/opa_server.py): the tests ask the one decision entrypoint, data.model_router.decision, exactly
as the router does, and may add bindings to the served data under their own binding ids.
"""

from __future__ import annotations

import pytest
from opa_server import as_emitted, load, schema_errors  # noqa: F401 - load is re-exported for the suites

from router import paths

ROOT = paths.ROOT


@pytest.fixture(scope="session")
def personal_opa(opa_server):
    """The shared policy server (tests may add bindings under their own ids)."""
    return opa_server


def check_invariants(bundle: dict, decision: dict) -> None:
    """What every local-personal decision must satisfy, whatever the bundle."""
    assert decision["kind"] == "LocalPersonalRouteDecision"
    assert schema_errors("local-personal-route-decision.schema.json", as_emitted(decision)) == []
    selected = decision["selected"]
    request = bundle.get("request", {})
    personal = request.get("personal") or {}
    assert selected["reason"] == selected["reasons"][0]
    if selected["status"] == "denied":
        assert selected["target"] is None and selected["profileRef"] is None
        assert all(not t["admissible"] for t in decision["targets"])
    else:
        tried = decision["targets"]
        index = 0 if selected["status"] == "selected" else 1
        assert tried[index]["target"] == selected["target"]
        assert tried[index]["profileRef"] == selected["profileRef"]
        assert tried[index]["admissible"] is True
        assert all(not t["admissible"] for t in tried[:index])
    hosted = selected["target"] == "hosted"
    assert decision["egress"]["allowed"] is hosted
    if hosted:
        approval = request.get("egressApprovalRef")
        assert isinstance(approval, str) and approval
        assert decision["egress"]["approvalRef"] == approval
        assert request.get("dataClass", "internal") != "restricted"
    else:
        assert decision["egress"]["approvalRef"] is None
    if selected["target"] == "personal-local":
        assert decision["governanceRefs"]["consentContractRef"]
        assert decision["governanceRefs"]["artifactRef"]
        assert decision["governanceRefs"]["ledgerApprovalRef"] in (None, personal.get("ledgerApprovalRef"))
