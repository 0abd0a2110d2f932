"""Property-based tests of the agent-execution lane decision, against the real OPA (hypothesis).

Invariants, whatever the bundle:
- every decision validates against the decision schema, and the same bundle gives the same decision;
- never a premium lane without a valid escalation for it;
- never a hosted lane for restricted data or without an egress approval;
- never a lane whose estimated cost exceeds any window's remaining budget;
- never a chosen lane that loses, under the optimizer's tie-breakers, to another feasible lane at or
  below its rank (unless an explicit escalation or deterministic verification chose it);
- a chosen lane is a feasible candidate; nothing is chosen unless the status is selected/downgraded;
- malformed input of any shape is denied, never undefined and never an allow.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

TASKS = ["formatting-rewrite", "log-triage", "routine-code", "architecture-decision", "hard-debugging",
         "security-review", "multi-repo-migration", "high-stakes-synthesis"]
STAGES = ["intake", "classification", "retrieval", "planning", "execution", "tool-use", "verification",
          "review", "finalization"]
RISKS = ["low", "medium", "high", "critical"]
LANES = ["no-model", "local-cheap", "cheap", "standard", "high-end", "pro"]
REASONS = ["architecture-decision", "hard-debugging", "security-review", "repeated-standard-lane-failure",
           "release-gate-review", "gut-feeling"]
MICRO = 1_000_000


def _amount(high: float):
    return st.integers(0, int(high * MICRO)).map(lambda micros: micros / MICRO)


def _mostly(usual, *rare):
    """USUAL four times out of five, otherwise one of RARE (keeps most bundles routable)."""
    return st.sampled_from([usual] * 4 * max(1, len(rare)) + list(rare))


_escalation = st.one_of(
    st.none(),
    st.fixed_dictionaries({
        "reason": _mostly("architecture-decision", *REASONS[1:]),
        "receiptRef": _mostly("urn:socioprophet:escalation-receipt:prop", None),
        "humanJustification": _mostly("owner approved", None),
    }),
)


def _window(high: float, typical: float):
    spent = st.one_of(_amount(typical), _amount(high))
    return st.fixed_dictionaries({"spent": spent, "highEndSpent": _amount(high * 0.3), "proSpent": _amount(high * 0.05)})


bundles = st.fixed_dictionaries({
    "schemaVersion": st.just("v0.1"),
    "kind": st.just("RouteInputBundle"),
    "request": st.fixed_dictionaries({
        "requestId": st.just("req-property"),
        "executionSurface": st.sampled_from(["codex", "claude-code", "agentplane"]),
        "taskClass": st.sampled_from(TASKS),
        "stage": st.sampled_from(STAGES),
        "riskClass": st.sampled_from(RISKS),
        "requestedLane": st.one_of(st.none(), st.sampled_from(LANES)),
        "escalation": _escalation,
        "standardLaneFailures": st.integers(0, 4),
        "deterministicVerificationAvailable": _mostly(False, True),
        "dataClass": _mostly("internal", "public", "confidential", "restricted"),
        "egressApprovalRef": _mostly("urn:socioprophet:policy-decision:prop", None),
        "prompt": st.just({"sha256": "ab" * 32, "chars": 800}),
        "estimatedInputTokens": st.integers(0, 60_000),
        "estimatedOutputTokens": st.integers(0, 6_000),
        "estimatedToolCalls": st.integers(0, 3),
    }),
    "resources": st.fixed_dictionaries({
        "localModelProfileAvailable": _mostly(True, False),
        "localServiceHealthy": _mostly(True, False),
        "batteryState": _mostly("normal", "low", "critical"),
        "thermalState": _mostly("normal", "elevated", "critical"),
        "memoryAvailableBytes": _mostly(8589934592, 0, 2147483647, 2147483648),
        "networkAvailable": _mostly(True, False),
        "providerErrorRate": _mostly(0.01, 0.0, 0.05, 0.2),
        "providerLatencyP95Ms": _mostly(500, 30000, 30001),
    }),
    "quota": st.fixed_dictionaries({
        "providerQuotaKnown": _mostly(True, False),
        "providerQuotaRemainingShare": _mostly(0.8, -1, 0.1, 0.35, 1.0),
        "budget": st.fixed_dictionaries({
            "task": _window(2.2, 0.5), "session": _window(21.0, 5.0), "day": _window(101.0, 20.0),
        }),
    }),
})


class Documents:
    """The active documents' facts the invariants need (read from the assembled policy data)."""

    def __init__(self, data: dict) -> None:
        active = data["active"]
        self.policy = data["policies"][active["policy"]]
        self.optimizer = data["optimizers"][active["optimizer"]]
        self.catalog = data["priceCatalogs"][active["priceCatalog"]]
        lanes = self.policy["lanes"]
        self.premium = {lane for lane, spec in lanes.items()
                        if spec["costClass"] in ("high", "maximum") or spec.get("requiresEscalationReceipt")}
        self.local = {lane for lane, spec in self.catalog["lanes"].items() if spec["costModel"] in ("none", "local-runtime")}
        self.hosted = set(lanes) - self.local
        self.rank = {spec["laneId"]: i for i, spec in enumerate(self.policy["document"]["modelLanes"])}

    def valid_escalation(self, request: dict, lane: str) -> bool:
        esc = request.get("escalation") or {}
        policy = self.policy["document"]["escalationPolicy"]
        task = self.policy["taskClasses"][request["taskClass"]]
        if esc.get("reason") not in policy["allowedReasons"]:
            return False
        if self.policy["lanes"][lane].get("requiresEscalationReceipt") and not esc.get("receiptRef"):
            return False
        if task.get("requiresHumanJustification") and not esc.get("humanJustification"):
            return False
        if esc["reason"] == "repeated-standard-lane-failure":
            return request["standardLaneFailures"] >= policy["repeatedFailureThreshold"]
        return True

    def sort_key(self, candidate: dict, bundle: dict) -> tuple:
        lane, local = candidate["lane"], candidate["lane"] in self.local
        res, quota = bundle["resources"], bundle["quota"]
        values = {
            "lower-cost": round(candidate["estimatedCost"] * MICRO),
            "local-first": 0 if local else 1,
            "less-context-egress": 0 if local else 1,
            "higher-quota-remaining": -1 if local else -quota["providerQuotaRemainingShare"],
            "higher-provider-health": 0 if local else res["providerErrorRate"],
            "lower-latency": 0 if local else res["providerLatencyP95Ms"],
        }
        breakers = self.optimizer["document"]["selectionPolicy"]["tieBreakers"]
        return tuple(values[b] for b in breakers if b in values) + (self.rank[lane],)


@SETTINGS
@given(bundle=bundles)
def test_agent_decision_invariants(policy_opa, support, bundle):
    docs = Documents(policy_opa.data)
    decision = policy_opa.agent_decision(bundle)
    assert decision is not None
    assert support.schema_errors("agent-execution-route-decision.schema.json", support.as_emitted(decision)) == []
    assert policy_opa.agent_decision(bundle) == decision, "the same bundle gave a different decision"

    selected, request = decision["selected"], bundle["request"]
    lane = selected["lane"]
    assert selected["reason"] == selected["reasons"][0]
    assert (lane is not None) == (selected["status"] in ("selected", "downgraded"))
    catalogue = policy_opa.data["reasons"]
    assert {support.reason_base(r) for r in support.all_reasons(decision)} <= set(catalogue)
    if lane is None:
        return
    chosen = next(c for c in decision["candidateSet"] if c["lane"] == lane)
    assert chosen["feasible"] is True
    assert (selected["estimatedCost"], selected["costClass"]) == (chosen["estimatedCost"], chosen["costClass"])

    if lane in docs.premium:
        assert docs.valid_escalation(request, lane), "premium lane without a valid escalation"
        assert decision["escalation"]["valid"] is True or request["requestedLane"] not in (None, lane)
        assert decision["deEscalation"]["required"] is True
    if lane in docs.hosted:
        assert request["dataClass"] != "restricted", "hosted lane for restricted data"
        assert request["egressApprovalRef"], "hosted lane without an egress approval"

    cost = round(selected["estimatedCost"] * MICRO)
    for window, spec in docs.optimizer["windows"].items():
        spent = bundle["quota"]["budget"][window]["spent"]
        assert cost <= round(spec["maxSpend"] * MICRO) - round(spent * MICRO), f"cost exceeds the {window} window"

    if selected["reasons"][0] not in ("escalation-accepted",) and "deterministic-verification-preferred" not in selected["reasons"]:
        mine = docs.sort_key(chosen, bundle)
        for other in decision["candidateSet"]:
            if other["feasible"] and docs.rank[other["lane"]] <= docs.rank[lane]:
                assert mine <= docs.sort_key(other, bundle), f"{lane} chosen over the better feasible {other['lane']}"


@SETTINGS
@given(bundle=bundles)
def test_requested_cheaper_infeasible_lane_is_never_silently_upgraded(policy_opa, bundle):
    decision = policy_opa.agent_decision(bundle)
    requested, lane = bundle["request"]["requestedLane"], decision["selected"]["lane"]
    docs = Documents(policy_opa.data)
    if requested is not None and lane is not None:
        escalated = decision["selected"]["reasons"][0] == "escalation-accepted"
        assert docs.rank[lane] <= docs.rank[requested] or escalated


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(value=json_values)
def test_malformed_input_is_denied_never_undefined(policy_opa, support, value):
    decision = policy_opa.agent_decision(value)
    assert decision is not None
    assert decision["selected"]["status"] == "denied"
    assert decision["selected"]["lane"] is None
    assert support.schema_errors("agent-execution-route-decision.schema.json", support.as_emitted(decision)) == []


@SETTINGS
@given(
    bundle=bundles,
    field=st.sampled_from(["taskClass", "stage", "riskClass", "requestedLane", "escalation", "dataClass",
                           "standardLaneFailures", "deterministicVerificationAvailable", "prompt", "requestId"]),
    junk=st.sampled_from([17, -1, 2.5, "??", [], {"x": 1}, True]),
)
def test_ill_typed_request_fields_fail_closed(policy_opa, support, bundle, field, junk):
    # a junk value that happens to be valid for its field is not junk
    assume((field, junk) not in [("requestId", "??"), ("deterministicVerificationAvailable", True), ("standardLaneFailures", 17)])
    bundle["request"][field] = junk
    decision = policy_opa.agent_decision(bundle)
    assert decision is not None
    assert support.schema_errors("agent-execution-route-decision.schema.json", support.as_emitted(decision)) == []
    assert decision["selected"]["status"] == "denied", decision["selected"]
    assert decision["candidateSet"] == []


@SETTINGS
@given(bundle=bundles, signal=st.sampled_from(["thermalState", "batteryState", "memoryAvailableBytes", "networkAvailable",
                                               "providerErrorRate", "providerQuotaKnown", "estimatedInputTokens"]),
       junk=st.sampled_from([None, "??", -3, [], {"v": 1}]))
def test_missing_or_ill_typed_signals_deny(policy_opa, bundle, signal, junk):
    for section in ("request", "resources", "quota"):
        if signal in bundle[section]:
            bundle[section][signal] = junk
    decision = policy_opa.agent_decision(bundle)
    assert decision["selected"]["status"] == "denied"
    assert "missing-signals" in decision["selected"]["reasons"]
    assert signal in decision["missingSignals"]
