"""Every example bundle (examples/bundles/<case>.json with <case>.expected.json, both decision families)
decided by a real OPA server through data.model_router.decision, checked against its expected outcome,
its decision schema and the reason catalogue. The comparison with the expected outcome is the policy's
own (model_router.fixtures, router.expected), the one `opa test` (fixtures_test.rego) and the demo use."""

from __future__ import annotations

import pytest

from router import expected as expected_mod
from router import fixture_data, paths

CASES = fixture_data.cases()
AGENT = {name: case for name, case in CASES.items() if case["expected"]["family"] == "agent"}
DECISION_SCHEMA = {
    "agent": "agent-execution-route-decision.schema.json",
    "personal": "local-personal-route-decision.schema.json",
}


def test_at_least_forty_agent_cases():
    assert len(AGENT) >= 40


def test_agent_cases_cover_every_task_class_stage_and_risk_class(support):
    policy = support.load(paths.EXAMPLES / "agent-execution-model-routing-policy.default.json")
    optimizer = support.load(paths.EXAMPLES / "agent-execution-budget-resource-optimizer.default.json")
    requests = [case["input"]["request"] for case in AGENT.values()]
    assert {t["taskClass"] for t in policy["taskClasses"]} <= {r["taskClass"] for r in requests}
    assert {s["stage"] for s in policy["chainStages"]} <= {r["stage"] for r in requests}
    assert {f["riskClass"] for f in optimizer["qualityPolicy"]["riskFloors"]} <= {r["riskClass"] for r in requests}


def test_agent_cases_cover_every_reachable_status():
    # `quarantined` needs enforcement.onViolation = quarantine (a document change): opa tests cover it.
    assert {case["expected"]["status"] for case in AGENT.values()} == {"selected", "downgraded", "deferred", "denied"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_case(policy_opa, support, name):
    case = CASES[name]
    bundle, expected = case["input"], case["expected"]
    family = expected["family"]
    input_errors = support.schema_errors("route-input-bundle.schema.json", bundle)
    if expected.get("schemaValidInput", True):
        assert input_errors == [], f"{name}: input bundle is not schema-valid: {input_errors[:3]}"
    else:  # a case that shows the policy failing closed on input the Python layer would reject
        assert input_errors != [], f"{name}: marked schemaValidInput false but the bundle is schema-valid"
    decision = policy_opa.decide(bundle)
    assert decision is not None, f"{name}: data.model_router.decision is undefined"
    selected = decision["selected"]
    problems = policy_opa.result_at(expected_mod.REST_PATH, expected_mod.query_input(decision, expected))
    assert problems == [], f"{name}: not as expected: {problems}"
    assert selected["reason"] == selected["reasons"][0]
    assert decision["input"]["requestId"] == bundle["request"]["requestId"]
    errors = support.schema_errors(DECISION_SCHEMA[family], support.as_emitted(decision))
    assert errors == [], f"{name}: decision violates {DECISION_SCHEMA[family]}: {errors[:5]}"
    catalogue = policy_opa.data["reasons"]
    uncatalogued = {support.reason_base(r) for r in support.all_reasons(decision)} - set(catalogue)
    assert not uncatalogued, f"{name}: reason codes without a catalogue entry: {sorted(uncatalogued)}"


@pytest.mark.parametrize("name", sorted(AGENT))
def test_agent_family_entrypoint_agrees_with_the_dispatcher(policy_opa, name):
    """The agent package decides each agent case exactly as the one entrypoint reports it."""
    bundle = AGENT[name]["input"]
    direct = policy_opa.agent_decision(bundle)
    dispatched = policy_opa.decide(bundle)
    assert direct is not None
    assert dispatched is not None, f"{name}: data.model_router.decision is undefined"
    for key in ("kind", "input", "candidateSet", "requestedEvaluation", "budget", "escalation", "deEscalation"):
        assert dispatched[key] == direct[key], key
