"""Decision's typed properties: everything a caller acts on, read without copying the whole document."""

from __future__ import annotations

import pytest

from router.api import Router
from router.bundle_input import InvalidBundle
from router.decision import AGENT_KIND, PERSONAL_KIND, Decision, reason_codes
from router.demo import example_bundles


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


# -- real decisions: every example bundle decided by the policy in OPA ----------------------------


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """Every usable example bundle decided by the managed OPA, with receipts recorded."""
    out: dict[str, Decision] = {}
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000) as router:
        for path in example_bundles():
            try:
                out[path.name] = router.decide(path)
            except InvalidBundle:
                continue
    assert out
    return out


def test_properties_equal_the_document_of_real_decisions(decided):
    for name, d in decided.items():
        doc = d.to_dict()
        selected = doc["selected"]
        assert (d.kind, d.decision_id, d.created_at, d.policy_revision) == (
            doc["kind"], doc["decisionId"], doc["createdAt"], doc["policyRevision"]), name
        assert d.is_personal == (doc["kind"] == PERSONAL_KIND), name
        assert d.policy_ref == (doc.get("bindingRef") if d.is_personal else doc.get("policyRef")), name
        assert (d.status, d.reason, d.reasons) == (selected["status"], selected["reason"], tuple(selected.get("reasons") or ())), name
        assert (d.lane, d.target, d.suggested_lane) == (selected.get("lane"), selected.get("target"), selected.get("suggestedLane")), name
        assert d.route == (selected.get("target") if d.is_personal else selected.get("lane")), name
        assert d.model == (doc["model"] if isinstance(doc.get("model"), dict) else None), name
        assert d.model_ref == (d.model or {}).get("modelRef"), name
        assert d.fallbacks == tuple(doc.get("fallbacks") or ()), name
        assert d.approvals == tuple(doc.get("approvals") or ()), name
        assert d.receipt_id is not None and d.receipt_id == d.to_receipt()["receiptId"], name
        assert d.all_reasons == reason_codes(doc), name
        assert dict(d.document) == doc, name


def test_the_examples_give_every_property_a_value(decided):
    """The comparison above is not vacuous: some real decision has each of these."""
    decisions = list(decided.values())
    assert any(d.kind == AGENT_KIND and d.lane for d in decisions)
    assert any(d.is_personal and d.target for d in decisions)
    assert any(d.model_ref for d in decisions)
    assert any(d.fallbacks for d in decisions)
    assert any(d.approvals for d in decisions)
    assert decided["agent-log-triage-battery-critical-requests-local.json"].suggested_lane == "cheap"


def test_the_document_view_is_read_only_and_not_a_copy(decided):
    d = next(iter(decided.values()))
    view = d.document
    with pytest.raises(TypeError):
        view["kind"] = "changed"
    with pytest.raises(TypeError):
        del view["selected"]
    for mutator in ("pop", "update", "clear", "setdefault", "popitem"):
        assert not hasattr(view, mutator)
    assert view["selected"] is d.document["selected"]  # the same objects every time: nothing copied
    assert d.kind == view["kind"] and d.status == view["selected"]["status"]


def test_to_dict_still_copies(decided):
    d = next(iter(decided.values()))
    copy_ = d.to_dict()
    assert copy_ == dict(d.document) and copy_ is not d.to_dict()
    assert copy_["selected"] is not d.document["selected"]
    copy_["kind"] = "changed"
    copy_["selected"]["status"] = "changed"
    assert d.kind != "changed" and d.status != "changed" and d.document["selected"]["status"] != "changed"

