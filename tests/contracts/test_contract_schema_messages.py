"""What the schemas accept and reject, and how a schema error reads: file, JSON path, found, expected."""

from __future__ import annotations

import copy

import pytest
from contracts_support import CONTRACT_EXAMPLES, FIXTURES, read

from router.contracts import validate_document, validator_for
from router.contracts.schemas import describe_pattern, schema_violations

POLICY = read(CONTRACT_EXAMPLES["AgentExecutionModelRoutingPolicy"])
BUNDLE = read(FIXTURES / "route-input-bundle" / "valid" / "agent-security-review.json")
PERSONAL_BUNDLE = read(FIXTURES / "route-input-bundle" / "valid" / "personal-office-assist.json")
AGENT_DECISION = read(FIXTURES / "agent-execution-route-decision" / "valid" / "selected-high-end.json")
FAIL_CLOSED = read(FIXTURES / "agent-execution-route-decision" / "valid" / "fail-closed-policy-undefined.json")
RECEIPT = read(FIXTURES / "route-decision-receipt" / "valid" / "agent-escalated.json")


def errors(doc, kind):
    return [(v.path, v.found, v.expected) for v in schema_violations(doc, kind, "f.json")]


def paths(doc, kind):
    return [v.path for v in schema_violations(doc, kind, "f.json")]


def test_all_violations_are_reported_in_one_run_with_path_found_expected():
    doc = copy.deepcopy(POLICY)
    doc["taskClasses"][3]["defaultLane"] = "premium"
    doc["taskClasses"][2]["taskClas"] = "routine-code"
    del doc["scope"]
    doc["policyId"] = "urn:socioprophet:policy:default"
    doc["escalationPolicy"]["repeatedFailureThreshold"] = 9
    doc["defaultPosture"]["localFirst"] = "yes"
    assert errors(doc, "AgentExecutionModelRoutingPolicy") == [
        ("$.defaultPosture.localFirst", '"yes" (a string)', "a boolean (true or false)"),
        ("$.escalationPolicy.repeatedFailureThreshold", "9", "a number <= 5"),
        ("$.policyId", '"urn:socioprophet:policy:default"', "a string starting with 'urn:socioprophet:model-routing-policy:' followed by an id"),
        ("$.scope", "no value (field absent)", "a value: the field is required"),
        (
            "$.taskClasses[2].taskClas",
            "an unexpected field",
            "only the declared fields (did you mean 'taskClass'?): taskClass, description, defaultLane, allowedEscalationLanes,"
            " minimumLane, maximumLane,"
            " requiresHumanJustification, requiresEvidence, requiresNetwork, examples",
        ),
        ("$.taskClasses[3].defaultLane", '"premium"', "one of: no-model, local-cheap, cheap, standard, high-end, pro"),
    ]


def test_violation_string_format():
    doc = copy.deepcopy(POLICY)
    doc["modelLanes"] = doc["modelLanes"][:3]
    (v,) = validate_document(doc, source="policy.json", kind="AgentExecutionModelRoutingPolicy")[:1]
    assert str(v) == "policy.json: $.modelLanes: found 3 items; expected at least 4 items"
    assert v.rule == "schema"


def test_odd_keys_are_quoted_in_paths():
    doc = copy.deepcopy(BUNDLE)
    doc["quota"]["budget"]["fort night"] = {"spent": 1}
    assert errors(doc, "RouteInputBundle") == [
        ("$.quota.budget['fort night']", "an unexpected field", "only the declared fields: task, session, day, week, month")
    ]


def test_a_bad_field_name_in_a_map_names_the_map():
    doc = copy.deepcopy(AGENT_DECISION)
    doc["budget"]["windows"]["fortnight"] = doc["budget"]["windows"]["task"]
    assert errors(doc, "AgentExecutionRouteDecision") == [
        ("$.budget.windows", 'the field name "fortnight"', "field names that are one of: task, session, day, week, month")
    ]


@pytest.mark.parametrize(
    "pattern,words",
    [
        ("^[0-9a-f]{64}$", "64 lowercase hex digits"),
        ("^sha256:[0-9a-f]{64}$", "'sha256:' followed by 64 lowercase hex digits"),
        ("^urn:socioprophet:model-route-decision:[0-9a-f]{24}$", "'urn:socioprophet:model-route-decision:' followed by 24 lowercase hex digits"),
        ("^urn:srcos:model-profile:[A-Za-z0-9][A-Za-z0-9._:-]*$", "a string starting with 'urn:srcos:model-profile:' followed by an id"),
        ("^urn:socioprophet:model-routing-policy:", "a string starting with 'urn:socioprophet:model-routing-policy:'"),
        ("^[A-Z]{3}$", "a three-letter currency code such as USD"),
        ("^(a|b)+$", "a string matching the pattern ^(a|b)+$"),
    ],
)
def test_patterns_read_as_words(pattern, words):
    assert describe_pattern(pattern) == words


# ---- the input bundle ---------------------------------------------------------------------------


def test_signals_are_not_required_by_the_schema():
    """A missing signal is the policy's to deny (missing-signals), so the schema accepts its absence."""
    doc = copy.deepcopy(BUNDLE)
    doc["resources"] = {}
    doc["quota"] = {}
    for name in ("estimatedInputTokens", "estimatedOutputTokens"):
        del doc["request"][name]
    assert errors(doc, "RouteInputBundle") == []
    del doc["resources"], doc["quota"]
    assert errors(doc, "RouteInputBundle") == []


def test_present_signals_must_be_well_typed():
    doc = copy.deepcopy(BUNDLE)
    doc["resources"]["memoryAvailableBytes"] = "8 GiB"
    doc["resources"]["thermalState"] = "hot"
    doc["quota"]["providerQuotaRemainingShare"] = 1.5
    doc["quota"]["budget"]["task"]["spent"] = -1
    assert errors(doc, "RouteInputBundle") == [
        ("$.quota.budget.task.spent", "-1", "a number >= 0"),
        ("$.quota.providerQuotaRemainingShare", "1.5", "a number <= 1"),
        ("$.resources.memoryAvailableBytes", '"8 GiB" (a string)', "an integer"),
        ("$.resources.thermalState", '"hot"', "one of: normal, elevated, critical"),
    ]


def test_a_negative_quota_share_means_unknown_and_is_accepted():
    doc = copy.deepcopy(BUNDLE)
    doc["quota"]["providerQuotaRemainingShare"] = -1
    assert errors(doc, "RouteInputBundle") == []


def test_task_class_stage_and_risk_class_are_free_strings():
    """Unknown values are denied by the policy (unknown-task-class:<x>), not by the schema."""
    doc = copy.deepcopy(BUNDLE)
    doc["request"].update(taskClass="interpretive-dance", stage="encore", riskClass="spicy")
    assert errors(doc, "RouteInputBundle") == []


def test_stage_and_risk_class_are_required_for_agent_requests_only():
    doc = copy.deepcopy(BUNDLE)
    del doc["request"]["stage"], doc["request"]["riskClass"]
    assert paths(doc, "RouteInputBundle") == ["$.request.riskClass", "$.request.stage"]
    assert "stage" not in PERSONAL_BUNDLE["request"]
    assert errors(PERSONAL_BUNDLE, "RouteInputBundle") == []


def test_prompt_needs_sha256_and_chars_unless_text_is_given():
    doc = copy.deepcopy(BUNDLE)
    doc["request"]["prompt"] = {"chars": 10}
    assert errors(doc, "RouteInputBundle") == [("$.request.prompt.sha256", "no value (field absent)", "a value: the field is required")]
    doc["request"]["prompt"] = {"text": "hello"}
    assert errors(doc, "RouteInputBundle") == []
    doc["request"]["prompt"] = {"sha256": "ABC", "chars": -1}
    assert errors(doc, "RouteInputBundle") == [
        ("$.request.prompt.chars", "-1", "a number >= 0"),
        ("$.request.prompt.sha256", '"ABC"', "64 lowercase hex digits"),
    ]


def test_bundle_rejects_unknown_fields_with_a_hint():
    doc = copy.deepcopy(BUNDLE)
    doc["request"]["taskClas"] = doc["request"].pop("taskClass")
    assert paths(doc, "RouteInputBundle") == ["$.request.taskClas", "$.request.taskClass"]
    (unexpected,) = [e for e in errors(doc, "RouteInputBundle") if e[0] == "$.request.taskClas"]
    assert "did you mean 'taskClass'?" in unexpected[2]


def test_bundle_enums_and_nullables():
    doc = copy.deepcopy(BUNDLE)
    doc["request"].update(requestedLane="gold", dataClass="secret", escalation={"receiptRef": None}, standardLaneFailures=True)
    assert errors(doc, "RouteInputBundle") == [
        ("$.request.dataClass", '"secret"', "one of: public, internal, confidential, restricted"),
        ("$.request.escalation.reason", "no value (field absent)", "a value: the field is required"),
        ("$.request.requestedLane", '"gold"', "one of: no-model, local-cheap, cheap, standard, high-end, pro, null"),
        ("$.request.standardLaneFailures", "true (a boolean)", "an integer"),
    ]
    doc = copy.deepcopy(BUNDLE)
    doc["request"].update(requestedLane=None, escalation=None, egressApprovalRef=None, personal=None)
    assert errors(doc, "RouteInputBundle") == []


# ---- decisions and receipts -------------------------------------------------------------------


def test_decisions_require_the_fields_the_python_layer_adds():
    doc = copy.deepcopy(AGENT_DECISION)
    del doc["decisionId"], doc["createdAt"], doc["policyRevision"]
    assert paths(doc, "AgentExecutionRouteDecision") == ["$.createdAt", "$.decisionId", "$.policyRevision"]


def test_decision_id_and_created_at_formats():
    doc = copy.deepcopy(AGENT_DECISION)
    doc["decisionId"] = "urn:socioprophet:model-route-decision:XYZ"
    doc["createdAt"] = "2026-02-30T10:00:00Z"
    assert errors(doc, "AgentExecutionRouteDecision") == [
        ("$.createdAt", '"2026-02-30T10:00:00Z"', "an RFC 3339 date-time such as 2026-11-01T00:00:00Z"),
        ("$.decisionId", '"urn:socioprophet:model-route-decision:XYZ"', "'urn:socioprophet:model-route-decision:' followed by 24 lowercase hex digits"),
    ]
    for good in ("2026-11-26T09:14:03Z", "2026-11-26T09:14:03.512+01:00", "2026-11-26t09:14:03z"):
        doc["createdAt"] = good
        assert "$.createdAt" not in paths(doc, "AgentExecutionRouteDecision")
    for bad in ("2026-11-26", "2026-11-26 09:14:03Z", "2026-11-26T09:14:03", "yesterday"):
        doc["createdAt"] = bad
        assert "$.createdAt" in paths(doc, "AgentExecutionRouteDecision")


def test_fail_closed_decisions_may_have_null_sub_decisions_and_no_candidates():
    assert FAIL_CLOSED["selected"]["status"] == "denied"
    assert FAIL_CLOSED["candidateSet"] == [] and FAIL_CLOSED["budget"] is None
    assert errors(FAIL_CLOSED, "AgentExecutionRouteDecision") == []


def test_reason_codes_are_not_enumerated_but_are_codes():
    doc = copy.deepcopy(AGENT_DECISION)
    doc["selected"]["reasons"] = ["some-future-reason:with detail"]
    doc["selected"]["reason"] = "some-future-reason:with detail"
    assert errors(doc, "AgentExecutionRouteDecision") == []
    doc["selected"]["reason"] = "Not A Code"
    assert paths(doc, "AgentExecutionRouteDecision") == ["$.selected.reason"]


def test_decision_statuses_and_prompt_text_never_in_a_decision():
    doc = copy.deepcopy(AGENT_DECISION)
    doc["selected"]["status"] = "fallback"
    doc["input"]["prompt"]["text"] = "the prompt itself"
    assert errors(doc, "AgentExecutionRouteDecision") == [
        ("$.input.prompt.text", "an unexpected field", "only the declared fields: sha256, chars"),
        ("$.selected.status", '"fallback"', "one of: selected, downgraded, deferred, denied, quarantined"),
    ]


def test_a_premium_receipt_carries_escalation_and_de_escalation_refs():
    doc = copy.deepcopy(RECEIPT)
    doc["laneDecision"]["escalation_receipt_ref"] = None
    doc["laneDecision"]["de_escalation_required_after_stage"] = None
    assert errors(doc, "RouteDecisionReceipt") == [
        ("$.laneDecision.de_escalation_required_after_stage", "null", "a string"),
        ("$.laneDecision.escalation_receipt_ref", "null", "a string"),
    ]


def test_receipt_selected_names_a_lane_or_a_target_by_decision_kind():
    doc = copy.deepcopy(RECEIPT)
    doc["selected"]["target"] = "base-local"
    assert errors(doc, "RouteDecisionReceipt") == [("$.selected.target", '"base-local"', "no such field for this document")]
    doc = copy.deepcopy(RECEIPT)
    doc["decisionKind"] = "LocalPersonalRouteDecision"
    assert paths(doc, "RouteDecisionReceipt") == ["$.laneDecision", "$.selected.lane", "$.selected.target"]


def test_receipt_digests_are_prefixed_hex_and_the_first_has_no_previous():
    doc = copy.deepcopy(RECEIPT)
    doc["previousReceiptDigest"] = None
    doc["promptDigest"] = None
    assert errors(doc, "RouteDecisionReceipt") == []
    doc["inputDigest"] = "9f2c"
    assert errors(doc, "RouteDecisionReceipt") == [("$.inputDigest", '"9f2c"', "'sha256:' followed by 64 lowercase hex digits")]


def test_validators_are_cached():
    assert validator_for("RouteInputBundle") is validator_for("RouteInputBundle")
