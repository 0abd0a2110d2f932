"""The fault path's template (router/fault-template.json) is the policy's: it equals what the Rego
computes now (model_router.denied, model_router.projection), the denied documents it builds are the
Rego constructor's documents and validate against the decision schemas, and building one needs no OPA."""

from __future__ import annotations

import json

import pytest

from router import fault_template, opa_binary, paths
from router.contracts.digest import canonical
from router.decision import AGENT_KIND, PERSONAL_KIND, fail_closed_document

IDENTITY = {"decision_id_": "urn:socioprophet:model-route-decision:" + "a" * 24, "created_at": "2026-01-01T00:00:00.000Z",
            "revision": "sha256:" + "b" * 64}
AGENT_BUNDLE = json.loads((paths.EXAMPLES / "bundles" / "agent-architecture-escalated-run.json").read_text())
PERSONAL_BUNDLE = json.loads((paths.EXAMPLES / "bundles" / "personal-router-healthy.json").read_text()) if (
    paths.EXAMPLES / "bundles" / "personal-router-healthy.json").exists() else json.loads(
    sorted((paths.EXAMPLES / "bundles").glob("personal-*[!d].json"))[0].read_text())


def test_the_template_file_is_what_the_policy_computes():
    assert fault_template.render(fault_template.generate()) == fault_template.TEMPLATE_FILE.read_text(encoding="utf-8"), (
        "router/fault-template.json is stale: python -m router.fault_template --write")


@pytest.mark.parametrize(("kind", "bundle"), [(AGENT_KIND, AGENT_BUNDLE), (PERSONAL_KIND, PERSONAL_BUNDLE)], ids=["agent", "personal"])
def test_a_fault_document_is_the_rego_constructors_document(kind, bundle):
    from jsonschema import Draft202012Validator

    doc = fail_closed_document(kind, "engine-timeout", bundle, **IDENTITY)
    header = {k: doc[k] for k in doc if k not in ("decisionId", "createdAt", "policyRevision", "selected")}
    rego = fault_template.evaluate(f'out := data.model_router.denied.document({json.dumps(kind)}, {canonical(header)}, ["engine-timeout"])')
    assert {k: v for k, v in doc.items() if k not in ("decisionId", "createdAt", "policyRevision")} == rego
    schema_file = fault_template.DECISION_SCHEMAS[kind]
    errors = [e.message for e in Draft202012Validator(json.loads(schema_file.read_text())).iter_errors(doc)]
    assert errors == []
    assert list(doc)[:5] == ["schemaVersion", "kind", "decisionId", "createdAt", "policyRevision"]
    assert doc["input"]["requestId"] == bundle["request"]["requestId"]
    assert doc["selected"]["reasons"] == ["engine-timeout"] and doc["selected"]["reason"] == "engine-timeout"


def test_the_fault_path_needs_no_opa(monkeypatch):
    def no_opa():
        raise opa_binary.OpaNotFound("no OPA in this test")

    monkeypatch.setattr(opa_binary, "find_opa", no_opa)
    doc = fail_closed_document(AGENT_KIND, "engine-unavailable", AGENT_BUNDLE, **IDENTITY)
    assert doc["selected"]["lane"] is None and doc["candidateSet"] == []
    projection = fault_template.fault_projection("engine-unavailable")
    assert projection["guardrail"]["effects"]["agentMayContinue"] is False
    assert fault_template.fault_projection("a-code-nobody-catalogued")["guardrail"] == fault_template.load()["guardrail"]["faults"][""]


def test_every_fault_verdict_denies_and_nothing_permits_a_fault():
    template = fault_template.load()
    verdicts = list(template["guardrail"]["faults"].values())
    assert len({v["decision"] for v in verdicts}) == 1  # one constant fault verdict value
    assert all(not v["effects"]["agentMayContinue"] for v in verdicts)
    assert template["lane"]["premium"] is False
    for kind, entry in template["decisions"].items():
        assert entry["selected"]["status"] not in fault_template.permitting_statuses(kind)


def _tokens(value) -> list[str]:
    """Every approval token (a compact JWS: three dot-separated parts) in VALUE."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tokens(v)]
    if isinstance(value, list):
        return [t for v in value for t in _tokens(v)]
    return [value] if isinstance(value, str) and value.count(".") == 2 and len(value) > 40 else []


@pytest.mark.parametrize(("kind", "name"), [
    (AGENT_KIND, "agent-architecture-escalated-run.json"),
    (PERSONAL_KIND, None),
], ids=["escalation-receipt-token", "personal-approval-tokens"])
def test_a_fault_decision_never_echoes_an_approval_token(kind, name):
    """A fault used to copy the request's `escalation` and `personal` objects whole into the decision,
    approval tokens included (the policy never echoes a token; the fault path did)."""
    if name is None:  # a personal bundle that carries approval tokens
        bundles = sorted((paths.EXAMPLES / "bundles").glob("personal-*.json"))
        candidates = [json.loads(p.read_text()) for p in bundles if not p.name.endswith(".expected.json")]
        bundle = next(b for b in candidates if _tokens((b.get("request") or {}).get("personal")))
    else:
        bundle = json.loads((paths.EXAMPLES / "bundles" / name).read_text())
    tokens = _tokens(bundle["request"])
    assert tokens, "the example must carry an approval token for this test to mean anything"
    doc = fail_closed_document(kind, "engine-timeout", bundle, **IDENTITY)
    text = json.dumps(doc)
    assert [t for t in tokens if t in text] == []
