"""The guardrail projection: every status maps as routing semantics section 4 says, effects follow
the ABI's defaults, and every projection validates against the consumer's schema.

The verdict is the policy's (model_router.projection.guardrail): each decision built here carries the
projection the real policy computes for its document (asked of OPA with `opa eval`)."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys

import pytest
from api_helpers import GUARDRAIL_SCHEMA, personal_bundle, schema_errors

from router import InvalidBundle, Router, bundle_input, fault_template, guardrail, paths
from router.contracts.digest import canonical
from router.decision import AGENT_KIND, PERSONAL_KIND, Decision, fail_closed_document
from router.guardrail import GuardrailContext, describe_reason
from router.receipts import verify

REASONS = json.loads((paths.BUILD / "data" / "model_router_data" / "data.json").read_text())["reasons"] if (
    paths.BUILD / "data" / "model_router_data" / "data.json"
).exists() else {}
CONTEXT = GuardrailContext(reasons=REASONS, policy_id="urn:socioprophet:model-routing-policy:agent-execution-default")
BUNDLE = {"request": {"requestId": "req-g", "taskClass": "routine-code", "stage": "execution", "riskClass": "medium"}}
PERSONAL = {"request": {"requestId": "req-p", "taskClass": "router", "personal": {"bindingRef": "urn:socioprophet:model-router-binding:b", "routeId": "r"}}}


def policy_projection(doc: dict) -> dict:
    """What the policy projects DOC to (data.model_router.projection.of)."""
    return fault_template.evaluate(f"out := data.model_router.projection.of({canonical(doc)})")


def agent(status: str, lane: str | None, human: bool = False, reason: str = "feasible", suggested: str | None = None,
          edit=None) -> Decision:
    """An agent decision; EDIT(doc), when given, changes the document before the decision is built."""
    doc = fail_closed_document(AGENT_KIND, reason, BUNDLE, decision_id_="urn:socioprophet:model-route-decision:" + "1" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="sha256:" + "e" * 64)
    doc["policyRef"] = "urn:socioprophet:model-routing-policy:agent-execution-default"
    doc["selected"].update(status=status, lane=lane, requiresHumanApproval=human, suggestedLane=suggested)
    if edit is not None:
        edit(doc)
    return Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, guardrail_context=CONTEXT,
                    projection=policy_projection(doc))


def personal(status: str, target: str | None, reason: str = "preferred-target-admissible") -> Decision:
    doc = fail_closed_document(PERSONAL_KIND, reason, PERSONAL, decision_id_="urn:socioprophet:model-route-decision:" + "2" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="rev-7")
    doc["selected"].update(status=status, target=target)
    return Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, guardrail_context=CONTEXT,
                    projection=policy_projection(doc))


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
    d = agent("denied", None, reason="engine-timeout", edit=lambda doc: doc.update(policyRef=None))
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
    assert "The budget window is spent (budget-exhausted:task)" in g["reason"]
    # the verdict (remediation, severity) is the policy's, from the policy data's own catalogue
    assert g["remediation"] == REASONS["budget-exhausted"]["remediation"]


def test_a_decision_without_the_policy_projection_has_no_guardrail_document():
    doc = agent("selected", "standard").to_dict()
    bare = Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, guardrail_context=CONTEXT)
    with pytest.raises(guardrail.VerdictUnavailable):
        bare.to_guardrail()


def test_a_fault_decision_takes_the_fault_template_verdict_without_opa():
    doc = fail_closed_document(AGENT_KIND, "engine-unavailable", BUNDLE, decision_id_="urn:socioprophet:model-route-decision:" + "1" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="unknown")
    d = Decision(doc, input_digest="sha256:" + "f" * 64, prompt_digest=None, fault="engine-unavailable", guardrail_context=CONTEXT)
    g = d.to_guardrail()
    assert g["decision"] == "deny" and g["effects"]["agentMayContinue"] is False
    assert g["severity"] == REASONS["engine-unavailable"]["severity"]
    assert d.lane_summary == {"outcome": "denied", "premium": False, "deEscalationAfterStage": None}
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []
    assert schema_errors(doc, "agent-execution-route-decision") == []


# -- event identity, fault version, every reason code -------------------------------------------------

def test_guardrail_id_is_per_event_and_the_route_id_stays_in_evidence():
    d = agent("selected", "standard")
    a, b = d.to_guardrail(), d.to_guardrail()
    assert a["decisionId"] != b["decisionId"] and d.decision_id not in (a["decisionId"], b["decisionId"])
    assert a["evidence"]["routeDecisionId"] == b["evidence"]["routeDecisionId"] == d.decision_id
    d.receipt = {"receiptId": "urn:socioprophet:model-route-receipt:" + "3" * 24, "receiptDigest": "sha256:" + "4" * 64}
    g = d.to_guardrail()
    assert g["decisionId"] == d.receipt["receiptId"] == g["evidence"]["receiptId"]
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []


@pytest.mark.parametrize("revision", ["unknown", ""])
def test_a_fault_without_a_known_revision_carries_the_named_fault_version(revision):
    d = agent("denied", None, reason="engine-unavailable", edit=lambda doc: doc.update(policyRevision=revision))
    g = d.to_guardrail()
    assert g["policyVersion"] == guardrail.FAULT_POLICY_VERSION and g["policyHash"] is None
    assert "unknown" not in json.dumps({k: g[k] for k in ("policyVersion", "policyHash")})
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []


def test_reason_names_every_reason_code():
    reasons = ["thermal-critical", "battery-critical", "budget-exhausted:task"]
    d = agent("denied", None, reason="thermal-critical", edit=lambda doc: doc["selected"].update(reasons=reasons))
    g = d.to_guardrail()
    for code in d.reasons:
        assert code in g["reason"]
    assert g["evidence"]["reasonCodes"] == list(d.reasons)


def test_guardrail_ref_is_in_the_evidence():
    assert agent("selected", "standard").to_guardrail()["evidence"]["guardrailRef"] is None
    ref = "urn:sourceos:guardrail-decision:g-1"
    d = agent("selected", "standard", edit=lambda doc: doc["input"].update(guardrailRef=ref))
    assert d.to_guardrail()["evidence"]["guardrailRef"] == ref


def test_fail_closed_document_echoes_the_guardrail_ref():
    bundle = {"request": {**BUNDLE["request"], "guardrailRef": "urn:sourceos:guardrail-decision:g-2"}}
    doc = fail_closed_document(AGENT_KIND, "engine-timeout", bundle, decision_id_="urn:socioprophet:model-route-decision:" + "1" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="unknown")
    assert doc["input"]["guardrailRef"] == "urn:sourceos:guardrail-decision:g-2"


# -- unusable input -------------------------------------------------------------------------------------

CANARY = "CANARY-value-found-in-unusable-input"


def test_invalid_input_projects_to_quarantine_naming_paths_not_values():
    with pytest.raises(InvalidBundle) as caught:
        bundle_input.prepare({"kind": "RouteInputBundle", "request": {"requestId": "r", "taskClass": {"x": CANARY}}})
    g = guardrail.unusable_projection(caught.value.violations, CONTEXT)
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []
    assert g["decision"] == "quarantine" and g["effects"]["agentMayContinue"] is False
    assert g["evidence"]["reasonCodes"] == ["invalid-input"] and "invalid-input" in g["reason"]
    assert "$.request" in g["reason"] and CANARY not in json.dumps(g)
    assert g["policyVersion"] == guardrail.FAULT_POLICY_VERSION and g["policyId"] == CONTEXT.policy_id


def test_oversized_input_projects_to_defer():
    with pytest.raises(InvalidBundle) as caught:
        bundle_input.parse_bundle_bytes(b" " * (bundle_input.MAX_BYTES + 1), "<stdin>")
    assert guardrail.is_oversized(caught.value.violations)
    g = guardrail.unusable_projection(caught.value.violations, CONTEXT, raw=b"abc")
    assert g["decision"] == "defer" and g["evidence"]["reasonCodes"] == ["input-too-large"]
    assert g["effects"]["requiresHumanApproval"] is True
    assert g["evidence"]["inputDigest"] == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert schema_errors(g, GUARDRAIL_SCHEMA) == []


@pytest.mark.parametrize(("content", "value"), [
    (b'{"kind": "RouteInputBundle", "request": {"requestId": 7}}', "quarantine"),
    (b"{ not json", "quarantine"),
    (b" " * (1024 * 1024 + 1), "defer"),
], ids=["schema", "not-json", "oversized"])
def test_decide_format_guardrail_emits_a_document_for_unusable_input_and_exits_2(tmp_path, content, value):
    path = tmp_path / "bundle.json"
    path.write_bytes(content)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "router.cli", "decide", str(path), "--no-receipts", *args],
                              capture_output=True, cwd=paths.ROOT, timeout=120)

    proc = run("--format", "guardrail")
    assert proc.returncode == 2 and b"unusable input bundle" in proc.stderr
    g = json.loads(proc.stdout)
    assert g["decision"] == value and schema_errors(g, GUARDRAIL_SCHEMA) == []
    proc = run()
    assert proc.returncode == 2 and proc.stdout == b""  # the other formats print nothing on stdout


# -- guardrailRef through the real policy: decision, receipt, projection ------------------------------

GREF = "urn:sourceos:guardrail-decision:5b3f0a1e-checked"


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000) as r:
        yield r


@pytest.mark.parametrize("personal_route", [False, True], ids=["agent", "personal"])
def test_guardrail_ref_is_echoed_in_decision_receipt_and_projection(router, personal_route):
    bundle = copy.deepcopy(personal_bundle("req-gref") if personal_route else _agent_example())
    plain = router.decide(copy.deepcopy(bundle))
    bundle["request"]["guardrailRef"] = GREF
    d = router.decide(bundle)
    assert d.get("input")["guardrailRef"] == GREF and "guardrailRef" not in plain.get("input")
    assert d.receipt["guardrailRef"] == GREF and "guardrailRef" not in plain.receipt
    assert schema_errors(d.receipt, "route-decision-receipt") == []
    assert schema_errors(d.to_dict(), "local-personal-route-decision" if personal_route else "agent-execution-route-decision") == []
    assert d.to_guardrail()["evidence"]["guardrailRef"] == GREF
    assert (d.status, d.route, d.reasons) == (plain.status, plain.route, plain.reasons)
    assert verify(router.receipts_path).ok


def test_an_empty_guardrail_ref_is_unusable_input(router):
    bundle = _agent_example()
    bundle["request"]["guardrailRef"] = ""
    with pytest.raises(InvalidBundle) as caught:
        router.decide(bundle)
    assert any(v.path == "$.request.guardrailRef" for v in caught.value.violations)


def _agent_example() -> dict:
    return json.loads((paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json").read_text())
