"""The guardrail projection: every status maps as routing semantics section 4 says, effects follow
the ABI's defaults, and every projection validates against the consumer's schema."""

from __future__ import annotations

import json

import pytest
from api_helpers import GUARDRAIL_SCHEMA, schema_errors

from router import paths
from router.decision import AGENT_KIND, PERSONAL_KIND, Decision, fail_closed_document
from router.guardrail import GuardrailContext, describe_reason

REASONS = json.loads((paths.BUILD / "data" / "model_router_data" / "data.json").read_text())["reasons"] if (
    paths.BUILD / "data" / "model_router_data" / "data.json"
).exists() else {}
CONTEXT = GuardrailContext(reasons=REASONS, policy_id="urn:socioprophet:model-routing-policy:agent-execution-default")
BUNDLE = {"request": {"requestId": "req-g", "taskClass": "routine-code", "stage": "execution", "riskClass": "medium"}}
PERSONAL = {"request": {"requestId": "req-p", "taskClass": "router", "personal": {"bindingRef": "urn:socioprophet:model-router-binding:b", "routeId": "r"}}}


def agent(status: str, lane: str | None, human: bool = False, reason: str = "feasible", suggested: str | None = None) -> Decision:
    doc = fail_closed_document(AGENT_KIND, reason, BUNDLE, decision_id_="urn:socioprophet:model-route-decision:" + "1" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="sha256:" + "e" * 64)
    doc["policyRef"] = "urn:socioprophet:model-routing-policy:agent-execution-default"
    doc["selected"].update(status=status, lane=lane, requiresHumanApproval=human, suggestedLane=suggested)
    return Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, guardrail_context=CONTEXT)


def personal(status: str, target: str | None, reason: str = "preferred-target-admissible") -> Decision:
    doc = fail_closed_document(PERSONAL_KIND, reason, PERSONAL, decision_id_="urn:socioprophet:model-route-decision:" + "2" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="rev-7")
    doc["selected"].update(status=status, target=target)
    return Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, guardrail_context=CONTEXT)


@pytest.mark.parametrize(
    ("decision", "value", "continues", "human"),
    [
        (agent("selected", "standard"), "allow", True, False),
        (agent("downgraded", "cheap", reason="requested-lane-not-optimal-or-feasible:standard"), "allow_with_context", True, False),
        (agent("deferred", None, reason="upgrade-requires-explicit-request:cheap", suggested="standard"), "defer", False, True),
        (agent("deferred", None, human=True, reason="budget-pressure:task"), "escalate", False, True),
        (agent("denied", None, reason="budget-exhausted:task"), "deny", False, False),
        (agent("quarantined", None, reason="no-feasible-candidate"), "quarantine", False, True),
        (personal("selected", "base-local"), "allow", True, False),
        (personal("fallback", "quality-local", "preferred-target-inadmissible:personal-local"), "allow_with_context", True, False),
        (personal("denied", None, "no-admissible-target"), "deny", False, False),
    ],
    ids=["selected", "downgraded", "deferred", "human-approval", "denied", "quarantined", "p-selected", "p-fallback", "p-denied"],
)
def test_status_maps_to_guardrail_decision_and_default_effects(decision, value, continues, human):
    g = decision.to_guardrail()
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []
    assert g["decision"] == value
    assert g["effects"]["agentMayContinue"] is continues
    assert g["effects"]["requiresHumanApproval"] is human
    assert g["effects"]["redacted"] is False
    assert g["evidence"]["actionClass"] == "model"
    assert g["evidence"]["inputDigest"] == "sha256:" + "f" * 64
    assert g["reason"] and g["remediation"]
    assert decision.reason in g["reason"]


def test_policy_identity_fields():
    g = agent("selected", "standard").to_guardrail()
    assert g["policyId"] == "urn:socioprophet:model-routing-policy:agent-execution-default"
    assert g["policyVersion"] == g["policyHash"] == "sha256:" + "e" * 64
    assert g["scope"] == "runtime" and g["severity"] == "info"
    p = personal("selected", "base-local").to_guardrail()
    assert p["policyId"] == "urn:socioprophet:model-router-binding:b" and p["scope"] == "user"
    assert p["policyVersion"] == "rev-7" and p["policyHash"] is None


def test_fail_closed_decision_without_policy_ref_uses_the_active_policy_id():
    d = agent("denied", None, reason="engine-timeout")
    d._doc["policyRef"] = None
    g = d.to_guardrail()
    assert g["policyId"] == CONTEXT.policy_id
    assert g["decision"] == "deny"
    if "engine-timeout" in REASONS:
        assert g["remediation"] == REASONS["engine-timeout"]["remediation"]
        assert g["severity"] == REASONS["engine-timeout"]["severity"]


def test_reason_text_comes_from_the_catalogue_by_code_without_suffix():
    catalogue = {"budget-exhausted": {"summary": "The budget window is spent.", "remediation": "wait for the window to reset", "severity": "medium"}}
    assert describe_reason(catalogue, "budget-exhausted:task") == "The budget window is spent (budget-exhausted:task)"
    assert describe_reason(catalogue, "unknown-code") == "unknown-code"
    d = agent("denied", None, reason="budget-exhausted:task")
    d._guardrail_context = GuardrailContext(reasons=catalogue)
    g = d.to_guardrail()
    assert g["remediation"] == "wait for the window to reset" and "budget-exhausted:task" in g["reason"]
