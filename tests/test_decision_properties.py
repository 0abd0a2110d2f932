"""Decision's typed properties: everything a caller acts on, read without copying the whole document."""

from __future__ import annotations

from router.decision import AGENT_KIND, Decision, reason_codes


def _doc() -> dict:
    return {
        "schemaVersion": "v0.1",
        "kind": AGENT_KIND,
        "decisionId": "urn:socioprophet:model-route-decision:" + "c" * 24,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "policyRevision": "rev",
        "policyRef": "urn:socioprophet:model-routing-policy:p",
        "selected": {"lane": "standard", "status": "downgraded", "reason": "a", "reasons": ["a", "b"], "suggestedLane": None,
                     "requiresHumanApproval": False},
        "candidateSet": [{"lane": "pro", "reasons": ["c"]}],
        "requestedEvaluation": {"lane": "pro", "reasons": ["d"]},
        "approvals": [{"kind": "escalation-receipt", "verdict": "valid"}],
        "model": {"modelRef": "urn:m:1", "status": "chosen"},
        "fallbacks": [{"modelRef": "urn:m:2"}],
    }


def test_properties_read_the_document():
    d = Decision(_doc(), input_digest="sha256:" + "0" * 64, prompt_digest=None)
    d.receipt = {"receiptId": "urn:socioprophet:model-route-receipt:" + "1" * 24}
    assert (d.status, d.lane, d.route, d.reason, d.reasons) == ("downgraded", "standard", "standard", "a", ("a", "b"))
    assert d.model_ref == "urn:m:1" and d.model == {"modelRef": "urn:m:1", "status": "chosen"}
    assert d.fallbacks == ({"modelRef": "urn:m:2"},)
    assert d.approvals == ({"kind": "escalation-receipt", "verdict": "valid"},)
    assert d.receipt_id == "urn:socioprophet:model-route-receipt:" + "1" * 24
    assert d.all_reasons == reason_codes(_doc()) == frozenset("abcd")
    assert d.permitted  # downgraded with a lane: the policy's permitting statuses (fault template)


def test_returned_values_do_not_alias_the_document():
    d = Decision(_doc(), input_digest="sha256:" + "0" * 64, prompt_digest=None)
    d.model["modelRef"] = "changed"
    d.fallbacks[0]["modelRef"] = "changed"
    d.approvals[0]["verdict"] = "changed"
    assert d.model_ref == "urn:m:1" and d.to_dict()["fallbacks"][0]["modelRef"] == "urn:m:2"
    assert d.to_dict()["approvals"][0]["verdict"] == "valid"


def test_a_decision_without_a_model_or_receipt():
    doc = _doc()
    del doc["model"], doc["fallbacks"], doc["approvals"]
    d = Decision(doc, input_digest="sha256:" + "0" * 64, prompt_digest=None)
    assert (d.model, d.model_ref, d.fallbacks, d.approvals, d.receipt_id) == (None, None, (), (), None)
    assert d.projection is None and d.guardrail_verdict is None and d.lane_summary is None
