"""Property tests against the real OPA: random bindings and bundles never yield a decision that sends a
prompt to a hosted model without an egress approval, nor serves the personal adapter without the consent,
ledger approval and personalization state its binding requires."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from personal_server import check_invariants, personal_opa  # noqa: F401

BINDING_ID = "urn:socioprophet:model-router-binding:property-random"
PROFILES = ["urn:srcos:model-profile:local-llama32-1b", "urn:srcos:model-profile:local-llama32-3b"]
TARGETS = ["base-local", "personal-local", "quality-local", "hosted", "deny"]
GiB = 1024**3

maybe_ref = st.one_of(st.none(), st.sampled_from(["ref:a", "urn:socioprophet:consent:x"]))


@st.composite
def bindings(draw) -> dict:
    personalization = {"enabled": draw(st.booleans()),
                       "defaultState": draw(st.sampled_from(["disabled", "personal-only", "candidate", "active", "revoked"]))}
    if draw(st.booleans()):
        personalization["governanceContractRef"] = "urn:socioprophet:personal-tuning-contract:random"
    if draw(st.booleans()):
        personalization["artifactRef"] = "urn:socioprophet:model-adapter:random"
    if draw(st.booleans()):
        personalization["activationRequiresLedgerApproval"] = draw(st.booleans())
    policy = {"localFirst": True, "promptEgressDefault": draw(st.sampled_from(["deny", "allow-with-policy"])),
              "hostedFallbackRequiresPolicy": draw(st.booleans()), "promptHashOnlyEvidence": True}
    if draw(st.booleans()):
        policy["personalizationRequiresConsent"] = draw(st.booleans())
    route = {"routeId": "random", "taskClass": "office-assist",
             "preferredTarget": draw(st.sampled_from(TARGETS)),
             "fallbackTarget": draw(st.one_of(st.none(), st.sampled_from(TARGETS))),
             "requiresConsent": draw(st.booleans()), "requiresNetwork": draw(st.booleans())}
    binding = {"schemaVersion": "v0.1", "kind": "LocalPersonalRouteBinding", "bindingId": BINDING_ID,
               "subject": {"userRef": "u", "workspaceRef": "w"},
               "defaultLocalProfileRef": PROFILES[0], "personalization": personalization,
               "routes": [route], "policy": policy,
               "evidence": {"emitRouteDecision": True, "emitRuntimeHealth": True, "emitGovernanceRefs": True}}
    if draw(st.booleans()):
        binding["qualityFallbackLocalProfileRef"] = PROFILES[1]
    return binding


@st.composite
def bundles(draw) -> dict:
    resources = {
        "localModelProfileAvailable": draw(st.booleans()),
        "localServiceHealthy": draw(st.booleans()),
        "batteryState": draw(st.sampled_from(["normal", "low", "critical"])),
        "thermalState": draw(st.sampled_from(["normal", "elevated", "critical"])),
        "memoryAvailableBytes": draw(st.sampled_from([0, 3 * GiB, 4 * GiB, 6 * GiB, 8 * GiB, 16 * GiB])),
        "networkAvailable": draw(st.booleans()),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(resources)), max_size=2))
    resources = {k: v for k, v in resources.items() if k not in dropped or not draw(st.booleans())}
    request = {"requestId": "req-property", "taskClass": "office-assist",
               "dataClass": draw(st.sampled_from(["public", "internal", "confidential", "restricted"])),
               "egressApprovalRef": draw(maybe_ref),
               "personal": {"bindingRef": BINDING_ID, "routeId": "random",
                            "consentRef": draw(maybe_ref), "ledgerApprovalRef": draw(maybe_ref)}}
    return {"schemaVersion": "v0.1", "kind": "RouteInputBundle", "request": request, "resources": resources}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binding=bindings(), bundle=bundles())
def test_no_egress_without_approval_and_no_personal_adapter_without_consent(personal_opa, binding, bundle):  # noqa: F811
    personal_opa.put_bindings([binding])
    decision = personal_opa.decide(bundle)
    assert decision is not None
    check_invariants(bundle, decision)
    request, route = bundle["request"], binding["routes"][0]
    personal = request["personal"]
    target = decision["selected"]["target"]
    assert target in (None, route["preferredTarget"], route["fallbackTarget"])
    assert target != "deny"
    if target == "hosted":
        assert request["egressApprovalRef"] is not None
        assert request["dataClass"] != "restricted"
        assert bundle["resources"].get("networkAvailable") is True
        if route["requiresConsent"]:
            assert personal["consentRef"] is not None
    if target == "personal-local":
        p = binding["personalization"]
        consent_required = route["requiresConsent"] or binding["policy"].get("personalizationRequiresConsent", True)
        assert not consent_required or personal["consentRef"] is not None
        assert not p.get("activationRequiresLedgerApproval", True) or personal["ledgerApprovalRef"] is not None
        assert p["enabled"] is True and p["defaultState"] in ("personal-only", "active")
        assert p.get("governanceContractRef") and p.get("artifactRef")
    if target in ("base-local", "personal-local", "quality-local"):
        res = bundle["resources"]
        assert res.get("localServiceHealthy") is True and res.get("localModelProfileAvailable") is True
        assert res.get("thermalState") != "critical" and res.get("batteryState") != "critical"
        need = 8 * GiB if target == "quality-local" else 4 * GiB
        assert res["memoryAvailableBytes"] >= need


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binding=bindings(), bundle=bundles())
def test_strict_bindings_never_serve_the_adapter_without_consent(personal_opa, binding, bundle):  # noqa: F811
    """Bindings the validator accepts (strict policy flags, personal-local routes require consent)."""
    binding["policy"].update({"promptEgressDefault": "deny", "hostedFallbackRequiresPolicy": True,
                              "personalizationRequiresConsent": True})
    binding["routes"][0]["requiresConsent"] = True
    personal_opa.put_bindings([binding])
    decision = personal_opa.decide(bundle)
    check_invariants(bundle, decision)
    target = decision["selected"]["target"]
    if target == "personal-local":
        assert bundle["request"]["personal"]["consentRef"] is not None
    if target == "hosted":
        assert bundle["request"]["egressApprovalRef"] is not None


junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "x", "critical", "normal"]),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.sampled_from(["a"]), st.integers(), max_size=1))
DEMO = "urn:socioprophet:model-router-binding:demo-user-local-llama32"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    personal=st.dictionaries(
        st.sampled_from(["bindingRef", "routeId", "consentRef", "ledgerApprovalRef", "other"]),
        st.one_of(junk, st.sampled_from([DEMO, "local-router", "office-assist-personal", "complex-reasoning-policy-gated"])),
    ),
    resources=st.dictionaries(st.sampled_from(["localServiceHealthy", "localModelProfileAvailable", "memoryAvailableBytes",
                                               "thermalState", "batteryState", "networkAvailable"]), junk),
    data_class=st.one_of(st.sampled_from(["internal", "restricted"]), junk),
    egress=st.one_of(st.none(), st.just("egress:1"), junk),
)
def test_any_personal_object_yields_a_schema_valid_decision(personal_opa, personal, resources, data_class, egress):  # noqa: F811
    bundle = {"request": {"requestId": "r", "taskClass": "router", "personal": personal,
                          "dataClass": data_class, "egressApprovalRef": egress},
              "resources": resources}
    decision = personal_opa.decide(bundle)
    assert decision is not None
    check_invariants(bundle, decision)
    well_formed = (all(isinstance(personal.get(k), str) and personal[k] for k in ("bindingRef", "routeId"))
                   and all(personal.get(k) is None or (isinstance(personal[k], str) and personal[k])
                           for k in ("consentRef", "ledgerApprovalRef"))
                   and "other" not in personal)
    if not well_formed:
        assert decision["selected"]["status"] == "denied"
        assert decision["selected"]["reason"].startswith("invalid-request-field:")
