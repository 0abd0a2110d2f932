"""Local-personal route decisions through the one entrypoint of a real OPA: dispatch, the evidence a
decision carries, many bindings at once, policy-data profiles, malformed requests and the reason catalogue."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
from personal_server import ROOT, check_invariants, load, personal_opa  # noqa: F401

GiB = 1024**3
DEMO = "urn:socioprophet:model-router-binding:demo-user-local-llama32"
B1 = "urn:srcos:model-profile:local-llama32-1b"
B3 = "urn:srcos:model-profile:local-llama32-3b"
BUNDLES = ROOT / "examples" / "bundles"


def bundle(name: str) -> dict:
    return load(BUNDLES / f"personal-{name}.json")


def demo_binding() -> dict:
    return load(ROOT / "examples" / "local-personal-route-binding.llama32.json")


# --- dispatch -----------------------------------------------------------------------------------------


def test_a_bundle_with_personal_is_decided_as_a_personal_route(personal_opa):  # noqa: F811
    decision = personal_opa.decide(bundle("router-healthy-laptop"))
    assert decision["kind"] == "LocalPersonalRouteDecision"
    family = personal_opa.result_at("model_router/personal/decision/result", personal_opa.stamped(bundle("router-healthy-laptop")))
    model_fields = {"model", "fallbacks", "fallbacksOmitted", "blockedCandidates", "blockedCandidatesOmitted", "blockedReasonCounts", "modelSelection"}
    assert model_fields <= decision.keys()
    assert {k: v for k, v in decision.items() if k not in model_fields} == family


def test_a_bundle_without_personal_is_not_decided_as_a_personal_route(personal_opa):  # noqa: F811
    b = bundle("router-healthy-laptop")
    b["request"]["personal"] = None
    b["request"].update({"stage": "execution", "riskClass": "low"})
    decision = personal_opa.decide(b)
    assert decision is None or decision["kind"] == "AgentExecutionRouteDecision"


# --- evidence -----------------------------------------------------------------------------------------


def test_router_on_a_healthy_laptop_uses_the_1b_profile_with_full_evidence(personal_opa):  # noqa: F811
    b = bundle("router-healthy-laptop")
    d = personal_opa.decide(b)
    assert d["selected"]["target"] == "base-local" and d["selected"]["profileRef"] == B1
    assert [(t["target"], t["profileRef"], t["admissible"]) for t in d["targets"]] == [
        ("base-local", B1, True), ("quality-local", B3, True)]
    local = ("localServiceHealthy", "localModelProfileAvailable", "memoryAvailableBytes", "thermalState", "batteryState")
    assert d["runtimeHealth"] == {k: b["resources"][k] for k in local}
    assert d["egress"] == {"allowed": False, "approvalRef": None}
    assert d["governanceRefs"] == {"consentContractRef": None, "artifactRef": None, "consentRef": None,
                                   "ledgerApprovalRef": None, "ledgerRef": "SocioProphet/model-governance-ledger"}
    assert d["evidence"]["promptEvidenceMode"] == "hash-only"
    assert d["input"]["prompt"] == b["request"]["prompt"]


def test_low_memory_blocks_the_3b_fallback_but_not_the_1b_default(personal_opa):  # noqa: F811
    d = personal_opa.decide(bundle("router-low-memory"))
    assert d["selected"]["profileRef"] == B1
    assert d["targets"][1] == {"target": "quality-local", "profileRef": B3, "admissible": False,
                               "reasons": ["insufficient-local-memory"]}


def test_personal_adapter_decision_names_its_governance(personal_opa):  # noqa: F811
    b = bundle("office-assist-consented")
    d = personal_opa.decide(b)
    personal = demo_binding()["personalization"]
    assert d["selected"]["target"] == "personal-local"
    assert d["governanceRefs"] == {
        "consentContractRef": personal["governanceContractRef"],
        "artifactRef": personal["artifactRef"],
        "consentRef": b["request"]["personal"]["consentRef"],
        "ledgerApprovalRef": b["request"]["personal"]["ledgerApprovalRef"],
        "ledgerRef": "SocioProphet/model-governance-ledger",
    }
    assert d["egress"]["allowed"] is False


def test_hosted_decision_records_the_egress_and_its_approval(personal_opa):  # noqa: F811
    b = bundle("hosted-approved")
    d = personal_opa.decide(b)
    assert d["selected"]["target"] == "hosted" and d["selected"]["profileRef"] is None
    assert d["egress"] == {"allowed": True, "approvalRef": b["request"]["egressApprovalRef"]}
    assert d["runtimeHealth"]["networkAvailable"] is True


def test_restricted_data_never_leaves_the_device_even_with_approval(personal_opa):  # noqa: F811
    d = personal_opa.decide(bundle("hosted-restricted-data"))
    assert d["egress"] == {"allowed": False, "approvalRef": None}
    assert d["targets"][0]["reasons"] == ["data-class-forbids-egress"]
    assert d["selected"]["profileRef"] == B3


def test_all_inadmissible_lists_every_reason_of_every_target(personal_opa):  # noqa: F811
    d = personal_opa.decide(bundle("all-inadmissible"))
    assert d["selected"]["status"] == "denied"
    every = [r for t in d["targets"] for r in t["reasons"]]
    assert set(every) <= set(d["selected"]["reasons"])
    assert d["selected"]["reasons"][0] == "no-admissible-target"


# --- many bindings, looked up by key ------------------------------------------------------------------

STATES = ["personal-only", "active", "candidate", "revoked", "disabled"]


def _user_binding(i: int) -> dict:
    b = demo_binding()
    b["bindingId"] = f"urn:socioprophet:model-router-binding:many-{i:05d}"
    b["personalization"]["defaultState"] = STATES[i % len(STATES)]
    b["personalization"]["artifactRef"] = f"urn:socioprophet:model-adapter:many-{i:05d}"
    b["personalization"]["governanceContractRef"] = f"urn:socioprophet:personal-tuning-contract:many-{i:05d}"
    return b


def _user_contract(binding: dict) -> dict:
    """The demo user's ledger contract, re-issued for BINDING (its own id, artifact and promotion)."""
    contract = load(ROOT / "examples" / "ledger-snapshot" / "demo-user.personal-tuning-contract.json")
    contract["contractId"] = binding["personalization"]["governanceContractRef"]
    contract["tuningTarget"]["artifactRef"] = binding["personalization"]["artifactRef"]
    contract["promotion"]["modelRouterBindingRef"] = binding["bindingId"]
    return contract


def _activation_token(binding: dict, request_id: str, jti: str) -> str:
    """A personal-activation token for BINDING, signed by the demo issuer for the fixed test time."""
    from router import approvals

    now = approvals.fixed_evaluation()["timeNs"] // 10**9
    return approvals.issue(
        purpose="personal-activation", key=ROOT / "examples" / "approvals" / "demo-issuer-2026.ed25519.pem",
        kid="demo-2026-01", issuer="urn:socioprophet:approval-issuer:demo", request_id=request_id, jti=jti,
        issued_at=now - 60, claims={"bindingRef": binding["bindingId"], "artifactRef": binding["personalization"]["artifactRef"],
                                    "contractId": binding["personalization"]["governanceContractRef"]})


def test_many_bindings_are_decided_each_against_its_own(personal_opa):  # noqa: F811
    bindings = [_user_binding(i) for i in range(2000)]
    personal_opa.put_bindings(bindings)
    personal_opa.call("PATCH", "/v1/data", [
        {"op": "add", "path": f"/model_router_data/consentContracts/{bindings[i]['personalization']['governanceContractRef']}",
         "value": _user_contract(bindings[i])} for i in (0, 1, 2, 3, 4, 777, 1999)])
    template = bundle("office-assist-consented")
    for i in (0, 1, 2, 3, 4, 777, 1999):
        b = copy.deepcopy(template)
        personal = b["request"]["personal"]
        personal["bindingRef"] = f"urn:socioprophet:model-router-binding:many-{i:05d}"
        personal["ledgerApprovalToken"] = _activation_token(bindings[i], b["request"]["requestId"], personal["ledgerApprovalRef"])
        d = personal_opa.decide(b)
        check_invariants(b, d)
        state = STATES[i % len(STATES)]
        if state in ("personal-only", "active"):
            assert d["selected"]["target"] == "personal-local"
            assert d["governanceRefs"]["artifactRef"] == f"urn:socioprophet:model-adapter:many-{i:05d}"
        else:
            assert d["selected"]["status"] == "fallback" and d["selected"]["target"] == "base-local"
            reason = {"candidate": "personalization-not-active", "revoked": "personalization-revoked",
                      "disabled": "personalization-disabled"}[state]
            assert reason in d["selected"]["reasons"]


def test_memory_needs_come_from_policy_data(personal_opa):  # noqa: F811
    huge = "urn:srcos:model-profile:test-huge"
    personal_opa.call("PATCH", "/v1/data", [{"op": "add", "path": f"/model_router_data/localProfiles/{huge}",
                                               "value": {"profileRef": huge, "memoryRequiredBytes": 64 * GiB}}])
    binding = demo_binding()
    binding["bindingId"] = "urn:socioprophet:model-router-binding:huge-profile"
    binding["defaultLocalProfileRef"] = huge
    personal_opa.put_bindings([binding])
    b = bundle("router-healthy-laptop")
    b["request"]["personal"]["bindingRef"] = binding["bindingId"]
    d = personal_opa.decide(b)
    assert d["targets"][0] == {"target": "base-local", "profileRef": huge, "admissible": False,
                               "reasons": ["insufficient-local-memory"]}
    assert d["selected"]["status"] == "fallback" and d["selected"]["profileRef"] == B3


def test_policy_data_declares_the_profile_memory_needs(personal_opa):  # noqa: F811
    profiles = personal_opa.data["localProfiles"]
    assert profiles[B1]["memoryRequiredBytes"] == 4 * GiB
    assert profiles[B3]["memoryRequiredBytes"] == 8 * GiB


# --- fail closed ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("personal, reason", [
    ({}, "invalid-request-field:personal.bindingRef"),
    ({"bindingRef": DEMO, "routeId": 3}, "invalid-request-field:personal.routeId"),
    ({"bindingRef": DEMO, "routeId": "local-router", "consentRef": ""}, "invalid-request-field:personal.consentRef"),
    ({"bindingRef": DEMO, "routeId": "local-router", "extra": 1}, "invalid-request-field:personal.extra"),
])
def test_malformed_personal_requests_are_denied(personal_opa, personal, reason):  # noqa: F811
    b = bundle("router-healthy-laptop")
    b["request"]["personal"] = personal
    d = personal_opa.decide(b)
    assert d["selected"]["status"] == "denied"
    assert reason in d["selected"]["reasons"]
    assert d["targets"] == []
    check_invariants(b, d)


def test_ill_typed_signal_is_missing(personal_opa):  # noqa: F811
    b = bundle("router-healthy-laptop")
    b["resources"]["memoryAvailableBytes"] = "lots"
    d = personal_opa.decide(b)
    assert d["selected"]["reasons"] == ["missing-signals", "missing-signals:memoryAvailableBytes"]
    assert "memoryAvailableBytes" not in d["runtimeHealth"]
    check_invariants(b, d)


def test_hosted_route_without_network_signal_is_denied(personal_opa):  # noqa: F811
    b = bundle("hosted-approved")
    del b["resources"]["networkAvailable"]
    d = personal_opa.decide(b)
    assert d["selected"]["reasons"] == ["missing-signals", "missing-signals:networkAvailable"]
    assert d["egress"]["allowed"] is False


# --- catalogue and validator ------------------------------------------------------------------------------


def test_every_reason_a_personal_fixture_yields_is_in_the_catalogue(personal_opa):  # noqa: F811
    catalogue = personal_opa.data["reasons"]
    codes = set()
    for path in sorted(BUNDLES.glob("personal-*.json")):
        if path.name.endswith(".expected.json"):
            continue
        d = personal_opa.decide(load(path))
        codes.update(d["selected"]["reasons"])
        codes.update(r for t in d["targets"] for r in t["reasons"])
    unknown = sorted({c.split(":", 1)[0] for c in codes} - set(catalogue))
    assert unknown == []


def test_the_validator_accepts_every_binding_the_policy_uses():
    sources = load(ROOT / "policies" / "data" / "sources.json")["documents"]
    used = [doc for doc in sources if load(ROOT / doc).get("kind") == "LocalPersonalRouteBinding"]
    assert len(used) >= 5
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "validate_local_personal_route_bindings.py"), *used],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
