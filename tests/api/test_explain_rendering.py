"""explain rendering for agent-execution decisions: the chosen lane, why each other lane was
rejected (reason text from the catalogue), what would change the outcome."""

from __future__ import annotations

from api_helpers import example_bundles

from router import Router
from router.decision import AGENT_KIND, Decision, fail_closed_document
from router.render import explain_decision

CATALOGUE = {
    "below-quality-floor": {"summary": "The lane ranks below the risk class's quality floor.", "remediation": "use a lane at or above the floor", "severity": "medium"},
    "premium-lane-requires-escalation-receipt": {"summary": "A premium lane needs an escalation receipt.", "remediation": "add an escalation receipt", "severity": "medium"},
    "upgrade-requires-explicit-request": {"summary": "Only a lane above the requested one is acceptable.", "remediation": "request that lane explicitly", "severity": "low"},
}
BUNDLE = {"request": {"requestId": "req-x", "taskClass": "routine-code", "stage": "execution", "riskClass": "medium", "requestedLane": "cheap"}}


def agent_decision(status, lane, reason, candidates, suggested=None):
    doc = fail_closed_document(AGENT_KIND, reason, BUNDLE, decision_id_="urn:socioprophet:model-route-decision:" + "3" * 24,
                               created_at="2026-01-01T00:00:00.000Z", revision="sha256:" + "0" * 64)
    doc["selected"].update(status=status, lane=lane, reason=reason, reasons=[reason], suggestedLane=suggested)
    doc["candidateSet"] = [
        {"lane": name, "rank": rank, "feasible": feasible, "estimatedCost": cost, "costClass": cc, "reasons": reasons}
        for name, rank, feasible, cost, cc, reasons in candidates
    ]
    return Decision(doc, input_digest="sha256:" + "1" * 64, prompt_digest=None)


def test_selected_lane_and_rejected_lanes_are_explained():
    d = agent_decision("selected", "standard", "feasible", [
        ("cheap", 2, False, 0.002, "low", ["below-quality-floor:standard"]),
        ("standard", 3, True, 0.02, "medium", ["feasible"]),
        ("high-end", 4, False, 0.25, "high", ["premium-lane-requires-escalation-receipt"]),
    ])
    e = explain_decision(d, CATALOGUE)
    text = e.text
    assert "decision: selected lane standard" in text
    assert "task routine-code, stage execution, risk medium, requested lane cheap" in text
    assert "cheap           rejected (estimated cost 0.002, low)" in text
    assert "The lane ranks below the risk class's quality floor (below-quality-floor:standard)" in text
    assert "A premium lane needs an escalation receipt (premium-lane-requires-escalation-receipt)" in text
    assert "standard        chosen" in text
    assert e.changes == ("cheap: use a lane at or above the floor", "high-end: add an escalation receipt")
    assert [c["chosen"] for c in e.candidates] == [False, True, False]
    assert e.candidates[0]["reasons"][0]["remediation"] == "use a lane at or above the floor"


def test_deferred_decision_names_the_suggested_lane():
    d = agent_decision("deferred", None, "upgrade-requires-explicit-request:cheap", [
        ("cheap", 2, False, 0.002, "low", ["below-quality-floor:standard"]),
        ("standard", 3, True, 0.02, "medium", ["feasible"]),
    ], suggested="standard")
    text = explain_decision(d, CATALOGUE).text
    assert "decision: deferred, no lane" in text
    assert "(upgrade-requires-explicit-request:cheap)" in text
    assert "would be chosen if requested explicitly: standard" in text
    assert "standard        acceptable; would be chosen if requested explicitly" in text
    assert explain_decision(d, CATALOGUE).changes[0] == "overall: request that lane explicitly"


def test_acceptable_lane_not_chosen_is_ranked_after_the_chosen_one():
    d = agent_decision("downgraded", "cheap", "requested-lane-not-optimal-or-feasible:standard", [
        ("cheap", 2, True, 0.002, "low", ["feasible"]),
        ("standard", 3, True, 0.02, "medium", ["feasible"]),
    ])
    text = explain_decision(d, CATALOGUE).text
    assert "decision: downgraded lane cheap" in text
    assert "standard        acceptable, ranked after cheap by the optimizer's tie-breakers" in text


def test_unknown_reason_codes_are_shown_as_codes():
    d = agent_decision("denied", None, "no-feasible-candidate", [("pro", 5, False, 0.5, "maximum", ["some-new-code:x"])])
    e = explain_decision(d, {})
    assert "      - some-new-code:x" in e.text
    assert e.changes == ()


def test_the_overall_change_follows_the_policys_verdict():
    """Real OPA: a plain selection (the policy's allow) has nothing to change overall, even though its
    reason has a catalogue remediation; a downgrade has (how to get the lane asked for)."""
    by_name = {p.stem: p for p in example_bundles()}
    with Router(receipts=False) as router:
        selected = router.explain(by_name["agent-log-triage-local"])
        downgraded = router.explain(by_name["agent-routine-code-budget-pressure-downgrade"])
    assert selected.decision.permitted and selected.decision.reason == "selected-cheapest-feasible"
    assert not any(c.startswith("overall:") for c in selected.changes)
    assert downgraded.decision.permitted and downgraded.decision.route != downgraded.decision.to_dict()["input"].get("requestedLane")
    assert downgraded.changes[0].startswith("overall: ")
