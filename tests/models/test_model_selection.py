"""Concrete model selection against a real OPA: the demo catalog, ad-hoc catalogs and mirrors, and
the wiring into real agent-execution and local-personal decisions."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from model_opa import demo_documents, merged

from router import model_data, paths, policy_data

CHEAP = {"lane": "cheap", "profileRef": None}
P1B = "urn:srcos:model-profile:local-llama32-1b"
P3B = "urn:srcos:model-profile:local-llama32-3b"


def request(lane: str, fallback_lanes=(), task: str = "log-triage", profile=None) -> dict:
    return {
        "slots": [{"lane": lane, "profileRef": profile}],
        "fallbackSlots": [{"lane": lane_, "profileRef": None} for lane_ in fallback_lanes],
        "taskClass": task,
    }


def model(ref, lane, locality, quality, cost, latency, confidence, route=None, **extra) -> dict:
    return {
        "modelRef": ref, "governanceRoute": route or ref.split("//")[1], "lane": lane, "locality": locality,
        "sizeClass": "small", "costTier": cost, "latencyTier": latency, "qualityTier": quality,
        "evalConfidence": confidence, "guardrailCompatible": True, "supportedTasks": ["summarize", "extract"],
        **extra,
    }


def record(route: str, status: str = "authorized") -> dict:
    ok = status == "authorized"
    return {"route_id": route, "status": status, "authorized": ok, "promotion_evidence_present": ok, "ledger_entry": "model://x"}


def data_for(models: list[dict], records: list[dict], **policy_changes) -> dict:
    _, policy, _ = demo_documents()
    policy = {**policy, **policy_changes}
    catalog = {"schemaVersion": "v0.1", "kind": "ModelCatalog", "catalogId": "urn:socioprophet:model-catalog:test",
               "effectiveAt": "2026-11-01T00:00:00Z", "models": models}
    mirror = {"kind": "prophet_mesh_model_route_authorization", "mirror_id": "urn:socioprophet:model-route-authorization:test",
              "realizes_invariant": "model_availability_is_not_authorization", "posture": "fail_closed", "records": records}
    return model_data.views(catalog, policy, mirror)


def blocked(result: dict) -> dict[str, list[str]]:
    return {b["modelRef"]: b["reasons"] for b in result["blockedCandidates"]}


def fallback_refs(result: dict) -> list[str]:
    return [f["modelRef"] for f in result["fallbacks"]]


# --- the demo catalog -------------------------------------------------------------------------------


def test_demo_unauthorized_top_scorer_is_never_selected_nor_a_fallback(model_opa):
    result = model_opa.select(request("cheap", ["local-cheap", "standard"]))
    bargain = "model://hosted/bargain-language@0.4.0"
    scores = {b["modelRef"]: b["score"] for b in result["blockedCandidates"]}
    assert scores[bargain] == 0.84 and scores[bargain] > result["model"]["score"]
    assert result["model"]["modelRef"] == "model://hosted/cheap-language@0.1.0"
    assert bargain not in fallback_refs(result)
    assert blocked(result)[bargain] == ["unauthorized-unledgered-model"]


def test_demo_low_eval_confidence_model_is_skipped_for_the_next(model_opa):
    result = model_opa.select(request("cheap"))
    quick = "model://hosted/quick-language@0.2.0"
    assert blocked(result)[quick] == ["eval-confidence-below-threshold"]
    assert result["model"] == {
        "status": "selected", "modelRef": "model://hosted/cheap-language@0.1.0",
        "governanceRoute": "demo_hosted.cheap-language-0.1", "score": 0.6875, "reasons": ["model-selected"],
    }


def test_demo_high_end_frontier_model_is_proposed_only(model_opa):
    result = model_opa.select(request("high-end", task="security-review"))
    assert blocked(result)["model://hosted/frontier-language@0.1.0"][0] == "unauthorized-unledgered-model"
    # the reasoner lacks `code`, so for security review only the high-end generalist can serve
    assert blocked(result)["model://hosted/high-end-reasoner@0.3.0"] == ["task-not-supported"]
    assert result["model"]["modelRef"] == "model://hosted/high-end-language@0.1.0"
    assert result["fallbacks"] == []


def test_demo_shows_every_reason_a_catalog_can_produce(model_opa):
    local_only = merged(model_opa.data, {"active": {"routePolicy": "policy://model-router/local-only-v1"}})
    strict = json.loads((paths.EXAMPLES / "model-route-policy.local-only-v1.json").read_text(encoding="utf-8"))
    _, view = model_data.route_policy_view(strict, paths.EXAMPLES)
    local_only["routePolicies"] = {**local_only["routePolicies"], strict["policyRef"]: view}
    seen = set()
    for req, data in (
        (request("cheap", ["local-cheap", "standard"], task="routine-code"), None),
        (request("local-cheap", ["cheap"], task="log-triage"), local_only),
    ):
        for reasons in blocked(model_opa.select(req, data)).values():
            seen.update(reasons)
    assert {"unauthorized-unledgered-model", "task-not-supported", "locality-not-allowed", "guardrail-incompatible",
            "eval-confidence-below-threshold", "lane-mismatch", "hosted-fallback-not-allowed"} <= seen


# --- ad-hoc catalogs --------------------------------------------------------------------------------


def test_unauthorized_model_that_would_score_highest_is_never_selected(model_opa):
    models = [
        model("model://hosted/best@1", "cheap", "hosted", "high", "low", "low", 0.99),
        model("model://hosted/unrouted@1", "cheap", "hosted", "high", "low", "low", 0.98, governanceRoute=None),
        model("model://hosted/ok@1", "cheap", "hosted", "medium", "low", "low", 0.8),
        model("model://hosted/ok2@1", "cheap", "hosted", "low", "low", "low", 0.8),
    ]
    models[1].pop("governanceRoute")
    data = data_for(models, [record("hosted/best@1", "proposed"), record("hosted/ok@1"), record("hosted/ok2@1")])
    result = model_opa.select(request("cheap"), data)
    assert result["model"]["modelRef"] == "model://hosted/ok@1"
    assert fallback_refs(result) == ["model://hosted/ok2@1"]
    assert blocked(result) == {
        "model://hosted/best@1": ["unauthorized-unledgered-model"],
        "model://hosted/unrouted@1": ["unauthorized-no-governance-route"],
    }


@pytest.mark.parametrize(
    "mirror_record",
    [
        None,  # no record at all
        {"status": "authorized", "authorized": True, "promotion_evidence_present": False},
        {"status": "authorized", "authorized": False, "promotion_evidence_present": True},
        {"status": "denied", "authorized": False, "promotion_evidence_present": False},
    ],
)
def test_a_route_without_an_authorized_record_with_evidence_fails_closed(model_opa, mirror_record):
    models = [model("model://hosted/m@1", "cheap", "hosted", "high", "low", "low", 0.9)]
    records = [] if mirror_record is None else [{"route_id": "hosted/m@1", "ledger_entry": "model://hosted/m@1", **mirror_record}]
    result = model_opa.select(request("cheap"), data_for(models, records))
    assert result["model"]["status"] == "blocked"
    assert result["model"]["reasons"] == ["no-authorized-candidates"]
    assert result["deferReason"] == "no-authorized-candidates"


def test_model_below_the_eval_confidence_floor_is_skipped_for_the_next_one(model_opa):
    models = [
        model("model://hosted/shaky@1", "cheap", "hosted", "high", "low", "low", 0.7499),
        model("model://hosted/steady@1", "cheap", "hosted", "medium", "low", "low", 0.75),
    ]
    result = model_opa.select(request("cheap"), data_for(models, [record("hosted/shaky@1"), record("hosted/steady@1")]))
    assert result["model"]["modelRef"] == "model://hosted/steady@1"
    # 0.35*0.65 + 0.3*0.75 + 0.2*0.35 + 0.1*1.0 + 0.05*1.0
    assert result["model"]["score"] == 0.6725
    assert blocked(result)["model://hosted/shaky@1"] == ["eval-confidence-below-threshold"]


def test_with_prefer_local_a_local_model_wins_a_near_tie(model_opa):
    models = [
        model("model://hosted/h@1", "cheap", "hosted", "medium", "low", "low", 0.85),
        model("model://local/l@1", "cheap", "local", "medium", "low", "low", 0.80),
    ]
    records = [record("hosted/h@1"), record("local/l@1")]
    local_first = model_opa.select(request("cheap"), data_for(models, records))
    assert local_first["model"]["modelRef"] == "model://local/l@1"
    assert local_first["model"]["score"] == 0.8175  # 0.2275 + 0.24 + 0.2 + 0.1 + 0.05
    assert local_first["fallbacks"] == [{"modelRef": "model://hosted/h@1", "lane": "cheap", "governanceRoute": "hosted/h@1", "score": 0.7025}]
    neutral = model_opa.select(request("cheap"), data_for(models, records, preferLocal=False, privacyMode="standard"))
    assert neutral["model"]["modelRef"] == "model://hosted/h@1"
    assert neutral["model"]["score"] == 0.7825  # 0.2275 + 0.255 + 0.15 + 0.1 + 0.05


def test_exact_tie_prefers_local_then_catalog_order(model_opa):
    models = [
        model("model://hosted/a@1", "cheap", "hosted", "medium", "low", "low", 0.8),
        model("model://hosted/b@1", "cheap", "hosted", "medium", "low", "low", 0.8),
        model("model://local/c@1", "cheap", "local", "medium", "low", "low", 0.8),
    ]
    records = [record("hosted/a@1"), record("hosted/b@1"), record("local/c@1")]
    result = model_opa.select(request("cheap"), data_for(models, records, preferLocal=False, privacyMode="standard"))
    assert [result["model"]["modelRef"], *fallback_refs(result)] == ["model://local/c@1", "model://hosted/a@1", "model://hosted/b@1"]


def test_authorized_but_ineligible_lane_reports_no_eligible_candidates(model_opa):
    models = [model("model://hosted/m@1", "cheap", "hosted", "high", "low", "low", 0.9, guardrailCompatible=False)]
    result = model_opa.select(request("cheap"), data_for(models, [record("hosted/m@1")]))
    assert result["model"]["reasons"] == ["no-eligible-candidates"]
    assert result["deferReason"] == "no-eligible-candidates"
    assert blocked(result) == {"model://hosted/m@1": ["guardrail-incompatible"]}


# --- wired into real decisions ----------------------------------------------------------------------


def agent_bundle(**request_changes) -> dict:
    req = {
        "requestId": "req-models-1", "taskClass": "log-triage", "stage": "intake", "riskClass": "low",
        "requestedLane": None, "escalation": None, "standardLaneFailures": 0,
        "deterministicVerificationAvailable": False, "dataClass": "internal",
        "egressApprovalRef": "urn:socioprophet:policy-decision:egress-demo",
        "prompt": {"sha256": "0" * 63 + "1", "chars": 10}, "estimatedInputTokens": 1000, "estimatedOutputTokens": 300,
        **request_changes,
    }
    spend = {"spent": 0, "highEndSpent": 0, "proSpent": 0}
    return {
        "schemaVersion": "v0.1", "kind": "RouteInputBundle", "request": req,
        "resources": {"localModelProfileAvailable": True, "localServiceHealthy": True, "batteryState": "normal",
                      "thermalState": "normal", "memoryAvailableBytes": 16 * 1024**3, "networkAvailable": True,
                      "providerErrorRate": 0.01, "providerLatencyP95Ms": 1000},
        "quota": {"providerQuotaKnown": True, "providerQuotaRemainingShare": 0.8,
                  "budget": {"task": dict(spend), "session": dict(spend), "day": dict(spend)}},
    }


MODEL_FIELDS = (
    "model", "fallbacks", "fallbacksOmitted", "blockedCandidates", "blockedCandidatesOmitted", "blockedReasonCounts", "modelSelection",
)


def _fields_schema() -> dict:
    """The model-selection fields as the decision schema defines them, all required."""
    decision = json.loads((paths.SCHEMAS / "agent-execution-route-decision.schema.json").read_text(encoding="utf-8"))
    return {
        "$defs": decision["$defs"],
        "type": "object",
        "required": list(MODEL_FIELDS),
        "properties": {k: decision["properties"][k] for k in MODEL_FIELDS},
    }


FIELDS_SCHEMA = Draft202012Validator(_fields_schema())


def assert_fields_valid(fields: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in FIELDS_SCHEMA.iter_errors(fields)]
    assert errors == []


def test_agent_decision_names_the_model_and_fallbacks_of_feasible_lanes_only(model_opa):
    decision, fields = model_opa.agent(agent_bundle())
    assert_fields_valid(fields)
    assert decision["selected"]["status"] == "selected"
    assert fields["model"]["status"] == "selected"
    assert fields["model"]["modelRef"] in {m["modelRef"] for m in demo_documents()[0]["models"] if m["lane"] == decision["selected"]["lane"]}
    feasible = {c["lane"] for c in decision["candidateSet"] if c["feasible"]}
    assert fields["fallbacks"], "the demo has eligible fallbacks for log triage"
    assert {f["lane"] for f in fields["fallbacks"]} <= feasible


def test_fallbacks_never_include_a_lane_the_lane_decision_rejected(model_opa):
    # no egress approval: every hosted lane is rejected, only local-cheap stays feasible
    decision, fields = model_opa.agent(agent_bundle(egressApprovalRef=None))
    rejected = {c["lane"] for c in decision["candidateSet"] if not c["feasible"]}
    assert {"cheap", "standard"} <= rejected
    assert decision["selected"]["lane"] == "local-cheap"
    assert all(f["lane"] not in rejected for f in fields["fallbacks"])
    assert {f["lane"] for f in fields["fallbacks"]} == {"local-cheap"}


def test_agent_lane_whose_models_are_all_blocked_is_deferred(model_opa):
    bundle = agent_bundle()
    data = merged(model_opa.data, data_for(
        [model("model://local/m@1", "local-cheap", "local", "high", "low", "low", 0.9)], [record("local/m@1", "proposed")],
    ))
    q = ("d := data.model_router.agent.decision.result with data.model_router_data as input.data; "
         "m := data.model_router.models.wiring.for_decision(d) with data.model_router_data as input.data")
    out = model_opa.query(q, {**bundle, "data": data})
    assert out["d"]["selected"]["lane"] == "local-cheap"
    assert out["m"]["selected"]["status"] == "deferred"
    assert out["m"]["selected"]["reason"] == "no-authorized-candidates"
    assert out["m"]["selected"]["lane"] is None and out["m"]["selected"]["suggestedLane"] == "local-cheap"
    assert out["m"]["model"]["status"] == "blocked"
    assert out["m"]["fallbacks"] == []
    assert_fields_valid({k: v for k, v in out["m"].items() if k != "selected"})


def test_personal_local_target_gets_a_model_of_its_profile(model_opa):
    bundle = json.loads((paths.EXAMPLES / "bundles" / "personal-disabled-falls-back.json").read_text(encoding="utf-8"))
    decision, fields = model_opa.personal(bundle)
    catalog = {m["modelRef"]: m for m in demo_documents()[0]["models"]}
    assert decision["selected"]["status"] in ("selected", "fallback")
    assert decision["selected"]["profileRef"] in (P1B, P3B)
    assert fields["model"]["status"] == "selected"
    assert catalog[fields["model"]["modelRef"]]["localProfileRef"] == decision["selected"]["profileRef"]


def test_personal_denied_decision_needs_no_model(model_opa):
    bundle = json.loads((paths.EXAMPLES / "bundles" / "personal-all-inadmissible.json").read_text(encoding="utf-8"))
    decision, fields = model_opa.personal(bundle)
    assert_fields_valid(fields)
    assert decision["selected"]["status"] == "denied"
    assert fields["model"] is None and fields["fallbacks"] == [] and "selected" not in fields


def test_demo_documents_assemble_with_the_policy_data():
    data = merged(policy_data.assemble(), model_data.views(*demo_documents()))
    catalog = data["modelCatalogs"]["urn:socioprophet:model-catalog:demo"]
    assert catalog["lanes"]["local-cheap"][0] == "model://local/small-language@0.1.0"
    for lane in ("cheap", "standard", "high-end", "pro"):
        assert len(catalog["lanes"][lane]) >= 2
    profiles = {catalog["models"][r].get("localProfileRef") for r in catalog["lanes"]["local-cheap"]}
    assert {P1B, P3B} <= profiles
    routes = data["routeAuthorizations"]["urn:socioprophet:model-route-authorization:demo"]["routes"]
    assert all(m["governanceRoute"] in routes for m in catalog["models"].values())


MODEL_REASON_CODES = {
    "model-selected", "unauthorized-no-governance-route", "unauthorized-unledgered-model", "task-not-supported",
    "locality-not-allowed", "guardrail-incompatible", "eval-confidence-below-threshold", "lane-mismatch",
    "hosted-fallback-not-allowed", "score-unavailable", "no-authorized-candidates", "no-eligible-candidates",
}


def test_every_model_reason_code_is_in_the_catalogue_and_the_rego_emits_no_other():
    reasons = policy_data.assemble()["reasons"]
    for code in MODEL_REASON_CODES:
        assert {"summary", "remediation", "severity"} <= set(reasons[code]), code
    emitted = set()
    for path in (paths.REGO / "models").rglob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        emitted.update(re.findall(r'"((?:[a-z]+-)+[a-z]+)"', path.read_text(encoding="utf-8")))
    assert emitted == MODEL_REASON_CODES


def test_every_assembled_entry_carries_the_digest_of_its_content_and_the_tables_record_them():
    data = policy_data.assemble()
    for collection, _ in policy_data.ASSEMBLERS.values():
        for entry in data[collection].values():
            body = {k: v for k, v in entry.items() if k != model_data.DIGEST_KEY}
            assert entry[model_data.DIGEST_KEY] == model_data.stamped(body)[model_data.DIGEST_KEY]
            assert entry[model_data.DIGEST_KEY].startswith("sha256:")
    changed = model_data.stamped({**body, "document": {**body["document"], "description": "changed"}})
    assert changed[model_data.DIGEST_KEY] != entry[model_data.DIGEST_KEY]
    assert model_data.stamped(entry) == entry
    tables = policy_data.with_tables(data)[policy_data.TABLES_KEY]
    active = data["active"]
    digest = model_data.DIGEST_KEY
    assert tables["digests"] == {
        "modelCatalog": data["modelCatalogs"][active["modelCatalog"]][digest],
        "routePolicy": data["routePolicies"][active["routePolicy"]][digest],
        "routeAuthorization": data["routeAuthorizations"][active["routeAuthorization"]][digest],
    }
    assert tables["agent"]["inputs"] == {
        "policy": data["policies"][active["policy"]][digest],
        "optimizer": data["optimizers"][active["optimizer"]][digest],
        "priceCatalog": data["priceCatalogs"][active["priceCatalog"]][digest],
    }
