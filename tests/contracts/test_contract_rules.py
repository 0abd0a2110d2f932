"""One negative fixture per semantic rule (fixtures/<kind-slug>/<rule>.json), each schema-valid and
breaking exactly that rule: the test pins the exact violations it triggers."""

from __future__ import annotations

from pathlib import Path

import pytest
from contracts_support import FIXTURES, OUR_KINDS, fixture_context, rule_fixtures

from router.contracts import KINDS, detect_kind, load_document, validate_document, validator_for
from router.contracts.rules import rules_for

POLICY = "agent-execution-model-routing-policy"
OPTIMIZER = "agent-execution-budget-resource-optimizer"
CATALOG = "model-price-catalog"
BINDING = "local-personal-route-binding"

PRO_UNDECLARED = "a lane declared by urn:socioprophet:model-routing-policy:no-pro-lane (no-model, local-cheap, cheap, standard, high-end)"

# (kind slug, rule) -> [(path, found, expected), ...]: every violation the fixture triggers, all of that rule
EXPECTED: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    (POLICY, "high-end-default-deny"): [("$.defaultPosture.highEndDefault", '"allow"', '"deny"')],
    (POLICY, "hosted-fallback-policy-gated"): [("$.defaultPosture.hostedFallback", '"allow"', '"policy-gated"')],
    (POLICY, "posture-flags-true"): [("$.defaultPosture.mechanicalVerificationPreferred", "no value (field absent)", "true")],
    (POLICY, "required-lanes-present"): [("$.modelLanes", "no lane 'local-cheap'", "an entry with laneId 'local-cheap'")],
    (POLICY, "premium-lanes-require-receipt"): [("$.modelLanes[4].requiresEscalationReceipt", "false", "true (a high-end lane needs an escalation receipt)")],
    (POLICY, "required-task-classes-present"): [("$.taskClasses", "no task class 'multi-repo-migration'", "an entry with taskClass 'multi-repo-migration'")],
    (POLICY, "routine-code-default-lane"): [("$.taskClasses[2].defaultLane", '"high-end"', "standard or a cheaper lane")],
    (POLICY, "low-cost-task-default-lane"): [("$.taskClasses[0].defaultLane", '"standard"', "local-cheap or cheap")],
    (POLICY, "low-cost-task-no-premium-escalation"): [("$.taskClasses[1].allowedEscalationLanes[2]", '"high-end"', "no premium lane (high-end, pro) for log-triage")],
    (POLICY, "judgment-task-classes-governed"): [("$.taskClasses[5].requiresHumanJustification", "false", "true")],
    (POLICY, "required-stages-present"): [("$.chainStages", "no stage 'verification'", "an entry with stage 'verification'")],
    (POLICY, "stage-lane-limits"): [("$.chainStages[4].maxLaneWithoutEscalation", '"high-end"', "'standard' for the execution stage")],
    (POLICY, "all-escalation-reasons-allowed"): [("$.escalationPolicy.allowedReasons", "no escalation reason 'privacy-review'", "'privacy-review' among the values")],
    (POLICY, "premium-reason-required"): [("$.escalationPolicy.requireReasonForPro", "false", "true")],
    (POLICY, "escalation-flags-true"): [("$.escalationPolicy.deescalateAfterPlan", "false", "true")],
    (POLICY, "context-policy-strict"): [("$.contextPolicy.promptStorage", '"full"', '"hash-only"')],
    (POLICY, "tool-policy-strict"): [("$.toolPolicy.mechanicalVerificationRequired", "false", "true")],
    (POLICY, "evidence-flags-true"): [("$.evidence.promptHashOnly", "false", "true")],
    (POLICY, "ledger-refs-required"): [("$.evidence.ledgerRefs", "no ledger ref 'SocioProphet/guardrail-fabric'", "'SocioProphet/guardrail-fabric' among the values")],
    (POLICY, "decision-abi"): [("$.enforcement.decisionAbi", '"sourceos.guardrail.decision.v0.2"', '"sourceos.guardrail.decision.v0.1"')],
    (POLICY, "enforcement-flags-true"): [("$.enforcement.downgradePreferred", "false", "true")],
    (POLICY, "unique-ids"): [("$.chainStages[9].stage", '"review"', "a stage not used before (already used at index 7)")],
    (POLICY, "lanes-declared"): [("$.taskClasses[3].allowedEscalationLanes[0]", '"pro"', "a lane declared in $.modelLanes (no-model, local-cheap, cheap, standard, high-end)")],
    (OPTIMIZER, "primary-objective"): [("$.objective.primary", '"minimize-latency-subject-to-quality-and-policy"', '"minimize-cost-subject-to-quality-and-risk"')],
    (OPTIMIZER, "ordered-preferences"): [("$.objective.orderedPreferences[4]", '"latency"', "'budget' (preferences start with policy-compliance, privacy, safety, quality-floor, budget)")],
    (OPTIMIZER, "premium-reserve-share"): [("$.budgetPolicy.premiumReserveShare", "0.1", "a share of at least 0.2")],
    (OPTIMIZER, "window-premium-shares"): [("$.budgetPolicy.windows[1].highEndMaxShare", "0.3", "a share of at most 0.25")],
    (OPTIMIZER, "required-signals"): [("$.resourcePolicy.requiredSignals", "no required signal 'thermalState'", "'thermalState' among the values")],
    (OPTIMIZER, "local-admission-strict"): [("$.resourcePolicy.localAdmission.minMemoryAvailableBytes", "0", "a memory floor above 0 bytes")],
    (OPTIMIZER, "hosted-admission-strict"): [("$.resourcePolicy.hostedAdmission.denyWhenQuotaUnknown", "false", "true")],
    (OPTIMIZER, "risk-floors-present"): [("$.qualityPolicy.riskFloors", "no risk floor for 'critical'", "an entry with riskClass 'critical'")],
    (OPTIMIZER, "risk-floor-lanes"): [("$.qualityPolicy.riskFloors[1].minimumLane", '"cheap"', "'standard' for risk class medium")],
    (OPTIMIZER, "candidate-order-start"): [("$.selectionPolicy.candidateOrder[2]", '"standard"', "'cheap' (the order starts no-model, local-cheap, cheap)")],
    (OPTIMIZER, "selection-flags-true"): [("$.selectionPolicy.neverSilentlyUpgrade", "false", "true")],
    (OPTIMIZER, "tie-breakers-required"): [("$.selectionPolicy.tieBreakers", "no tie-breaker 'higher-quota-remaining'", "'higher-quota-remaining' among the values")],
    (OPTIMIZER, "evidence-flags-true"): [("$.evidence.emitCandidateSet", "false", "true")],
    (OPTIMIZER, "enforcement-flags-true"): [("$.enforcement.failClosedOnMissingSignals", "false", "true")],
    (OPTIMIZER, "decision-abi"): [("$.enforcement.decisionAbi", '"sourceos.guardrail.decision.v0.2"', '"sourceos.guardrail.decision.v0.1"')],
    (OPTIMIZER, "unique-ids"): [("$.budgetPolicy.windows[3].window", '"task"', "a window not used before (already used at index 0)")],
    (OPTIMIZER, "policy-ref-known"): [
        (
            "$.policyRef",
            '"urn:socioprophet:model-routing-policy:no-such-policy"',
            "the policyId of a known routing policy (known: urn:socioprophet:model-routing-policy:agent-execution-default,"
            " urn:socioprophet:model-routing-policy:no-pro-lane)",
        )
    ],
    (OPTIMIZER, "lanes-declared-by-policy"): [
        ("$.qualityPolicy.riskFloors[3].minimumLane", '"pro"', PRO_UNDECLARED),
        ("$.selectionPolicy.candidateOrder[5]", '"pro"', PRO_UNDECLARED),
    ],
    (CATALOG, "every-lane-priced"): [("$.lanes", "no price entry for lane 'pro'", "an entry with laneId 'pro'")],
    (CATALOG, "default-profile-resolves"): [
        (
            "$.lanes[3].defaultProfileRef",
            '"urn:socioprophet:price-profile:hosted-standard-v2"',
            "the profileRef of one of the lane's profiles (urn:socioprophet:price-profile:hosted-standard)",
        )
    ],
    (CATALOG, "cost-model-matches-lane"): [("$.lanes[4].costModel", '"none"', "'hosted-token' for lane high-end")],
    (CATALOG, "unique-ids"): [("$.lanes[1].profiles[2].profileRef", '"urn:srcos:model-profile:local-llama32-1b"', "a profileRef not used before (already used at index 0)")],
    (BINDING, "personalization-governance"): [("$.personalization.artifactRef", "no value (field absent)", "a reference: personalization is enabled")],
    (BINDING, "personal-local-requires-consent"): [("$.routes[1].requiresConsent", "false", "true: the route's preferredTarget is personal-local")],
    (BINDING, "hosted-requires-network"): [("$.routes[2].requiresNetwork", "false", "true: the route's preferredTarget is hosted")],
    (BINDING, "policy-flags-strict"): [("$.policy.promptEgressDefault", '"allow-with-policy"', '"deny"')],
    (BINDING, "evidence-flags-true"): [("$.evidence.emitRuntimeHealth", "false", "true")],
    (BINDING, "unique-ids"): [("$.routes[2].routeId", '"local-router"', "a routeId not used before (already used at index 0)")],
    ("route-input-bundle", "evaluation-is-stamped"): [
        ("$.evaluation", "a caller-supplied evaluation time", "no evaluation member: the router stamps the evaluation time itself")
    ],
    ("route-input-bundle", "prompt-digest-matches-text"): [
        (
            "$.request.prompt.sha256",
            '"9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e"',
            "the SHA-256 of the UTF-8 prompt text (or no sha256 beside text)",
        )
    ],
    ("agent-execution-route-decision", "reason-is-first-of-reasons"): [("$.selected.reason", '"budget-pressure:task"', 'the first of $.selected.reasons ("feasible")')],
    ("local-personal-route-decision", "reason-is-first-of-reasons"): [("$.selected.reason", '"admissible"', 'the first of $.selected.reasons ("preferred-target-admissible")')],
    ("route-decision-receipt", "receipt-digest"): [
        (
            "$.receiptDigest",
            '"sha256:865839c0d178a8bcf92f79c05081e0f35efa0e9caa214cfe44147037d572fe62"',
            "sha256:d120806a18ddbf59fbfaced437d998ecfd908e484e6b466da0c571a84c7f158f (the digest of this receipt's content)",
        )
    ],
    ("route-decision-receipt", "lane-decision-matches-selected"): [("$.laneDecision.cost_class", '"medium"', '"high", as in $.selected.costClass')],
}


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", rule_fixtures(), ids=_id)
def test_fixture_triggers_exactly_its_rule(path):
    slug, rule_id = path.parent.name, path.stem
    doc = load_document(path)
    kind = detect_kind(doc)
    assert KINDS[kind].slug == slug
    assert list(validator_for(kind).iter_errors(doc)) == [], "a rule fixture must be schema-valid, so only its rule fails"
    violations = validate_document(doc, source=path.name, context=fixture_context())
    assert {v.rule for v in violations} == {rule_id}
    assert all(v.file == path.name for v in violations)
    assert [(v.path, v.found, v.expected) for v in violations] == EXPECTED[(slug, rule_id)]


def test_every_rule_has_exactly_one_fixture_and_every_fixture_a_rule():
    registered = {(KINDS[kind].slug, r.rule_id) for kind in OUR_KINDS for r in rules_for(kind)}
    fixtures = {(p.parent.name, p.stem) for p in rule_fixtures()}
    assert fixtures == registered
    assert set(EXPECTED) == registered


def test_the_contract_documents_have_the_rules_the_contract_lists():
    counts = {kind: len(rules_for(kind)) for kind in OUR_KINDS[:4]}
    assert counts == {
        "AgentExecutionModelRoutingPolicy": 23,
        "AgentExecutionBudgetResourceOptimizer": 18,
        "ModelPriceCatalog": 4,
        "LocalPersonalRouteBinding": 6,
    }


def test_rule_ids_are_short_stable_slugs():
    for kind in OUR_KINDS:
        for r in rules_for(kind):
            assert r.rule_id.replace("-", "").isalnum() and r.rule_id.islower() and r.rule_id != "schema"
            assert r.summary


def test_an_optimizer_naming_an_unknown_policy_skips_the_lane_check():
    doc = load_document(FIXTURES / "agent-execution-budget-resource-optimizer" / "policy-ref-known.json")
    rules = {v.rule for v in validate_document(doc, context=fixture_context())}
    assert rules == {"policy-ref-known"}


def test_policies_validated_together_with_an_optimizer_are_known_to_it():
    """The optimizer fixture names a policy only the fixture set declares: unknown to the repository alone."""
    doc = load_document(FIXTURES / "agent-execution-budget-resource-optimizer" / "lanes-declared-by-policy.json")
    alone = validate_document(doc)
    assert [v.rule for v in alone] == ["policy-ref-known"]
    policy = load_document(FIXTURES / "agent-execution-model-routing-policy" / "valid" / "no-pro-lane.json")
    from router.contracts import repository_context

    together = validate_document(doc, context=repository_context().with_documents([policy]))
    assert [v.rule for v in together] == ["lanes-declared-by-policy", "lanes-declared-by-policy"]


def test_semantic_and_schema_violations_are_reported_together():
    doc = load_document(FIXTURES / "agent-execution-model-routing-policy" / "high-end-default-deny.json")
    doc["taskClasses"][3]["defaultLane"] = "premium"
    doc["defaultPosture"]["failClosed"] = False
    violations = validate_document(doc, source="p.json")
    assert [(v.rule, v.path) for v in violations] == [
        ("schema", "$.taskClasses[3].defaultLane"),
        ("high-end-default-deny", "$.defaultPosture.highEndDefault"),
        ("posture-flags-true", "$.defaultPosture.failClosed"),
    ]
    assert str(violations[0]) == (
        'p.json: $.taskClasses[3].defaultLane: found "premium"; expected one of: no-model, local-cheap, cheap, standard, high-end, pro'
    )
