"""Property: over random catalogs, authorization mirrors, route policies and lane decisions, no
selected or fallback model is unauthorized, ineligible, or from a lane the decision rejected.

The selection runs in a real OPA (ad-hoc query over the generated data); the checks below restate the
contract's conditions independently and compare."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_opa import demo_documents

from router import model_data

LANES = ["local-cheap", "cheap", "standard", "high-end", "pro"]
TIERS = ["low", "medium", "high"]
TASKS = ["summarize", "extract", "code", "reason"]
TASK_CLASSES = {"t-sum": ["summarize"], "t-code": ["code", "reason"]}


@st.composite
def scenario(draw):
    n = draw(st.integers(min_value=1, max_value=9))
    models, records = [], []
    for i in range(n):
        ref = f"model://test/m{i}@1"
        m = {
            "modelRef": ref, "lane": draw(st.sampled_from(LANES)), "locality": draw(st.sampled_from(["local", "hosted"])),
            "sizeClass": "small", "costTier": draw(st.sampled_from(TIERS)), "latencyTier": draw(st.sampled_from(TIERS)),
            "qualityTier": draw(st.sampled_from(TIERS)), "evalConfidence": draw(st.integers(0, 100)) / 100,
            "guardrailCompatible": draw(st.booleans()),
            "supportedTasks": draw(st.lists(st.sampled_from(TASKS), min_size=1, max_size=4, unique=True)),
        }
        route_kind = draw(st.sampled_from(["none", "missing", "authorized", "authorized", "authorized", "proposed", "denied", "no-evidence", "flag-off"]))
        if route_kind != "none":
            m["governanceRoute"] = f"test.route-{i}"
        if route_kind not in ("none", "missing"):
            status = "authorized" if route_kind in ("authorized", "no-evidence", "flag-off") else route_kind
            records.append({
                "route_id": f"test.route-{i}", "status": status,
                "authorized": status == "authorized" and route_kind != "flag-off",
                "promotion_evidence_present": status == "authorized" and route_kind != "no-evidence",
                "ledger_entry": ref,
            })
        models.append(m)
    _, policy, _ = demo_documents()
    policy = {
        **policy,
        "preferLocal": draw(st.booleans()),
        "allowHostedFallback": draw(st.booleans()),
        "minimumEvalConfidence": draw(st.sampled_from([0.0, 0.5, 0.75, 0.9])),
        "allowedLocalities": draw(st.sampled_from([["local"], ["hosted"], ["local", "hosted"]])),
        "requiredGuardrailCompatibility": draw(st.booleans()),
        "taskRequirements": TASK_CLASSES,
    }
    chosen = draw(st.sampled_from(LANES))
    feasible = draw(st.lists(st.sampled_from([lane for lane in LANES if lane != chosen]), unique=True))
    task = draw(st.sampled_from(sorted(TASK_CLASSES)))
    return models, records, policy, chosen, feasible, task


def authorized(m: dict, records: list[dict]) -> bool:
    route = m.get("governanceRoute")
    return any(
        r["route_id"] == route and r["status"] == "authorized" and r["authorized"] and r["promotion_evidence_present"]
        for r in records
    )


def eligible(m: dict, policy: dict, task: str, chosen: str, feasible: list[str]) -> bool:
    if m["lane"] != chosen and m["lane"] not in feasible:
        return False
    if m["lane"] != chosen and m["locality"] == "hosted" and not policy["allowHostedFallback"]:
        return False
    return (
        set(TASK_CLASSES[task]) <= set(m["supportedTasks"])
        and m["locality"] in policy["allowedLocalities"]
        and (m["guardrailCompatible"] or not policy["requiredGuardrailCompatibility"])
        and m["evalConfidence"] >= policy["minimumEvalConfidence"]
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario())
def test_no_selected_or_fallback_model_is_unauthorized_ineligible_or_from_a_rejected_lane(model_opa, case):
    models, records, policy, chosen, feasible, task = case
    catalog = {"schemaVersion": "v0.1", "kind": "ModelCatalog", "catalogId": "urn:socioprophet:model-catalog:prop",
               "effectiveAt": "2026-11-01T00:00:00Z", "models": models}
    mirror = {"kind": "prophet_mesh_model_route_authorization", "mirror_id": "urn:socioprophet:model-route-authorization:prop",
              "realizes_invariant": "model_availability_is_not_authorization", "posture": "fail_closed", "records": records}
    request = {"slots": [{"lane": chosen, "profileRef": None}],
               "fallbackSlots": [{"lane": lane, "profileRef": None} for lane in feasible], "taskClass": task}
    result = model_opa.select(request, model_data.views(catalog, policy, mirror))

    by_ref = {m["modelRef"]: m for m in models}
    served = [f["modelRef"] for f in result["fallbacks"]]
    if result["model"]["status"] == "selected":
        served.insert(0, result["model"]["modelRef"])
        assert by_ref[served[0]]["lane"] == chosen
    for ref in served:
        m = by_ref[ref]
        assert authorized(m, records), f"{ref} is not authorized but was offered"
        assert eligible(m, policy, task, chosen, feasible), f"{ref} is not eligible but was offered"
    assert len(served) == len(set(served))

    # every model is offered or blocked, never both; exactly the authorized eligible ones are offered
    blocked = {b["modelRef"] for b in result["blockedCandidates"]}
    assert blocked.isdisjoint(served)
    good = {m["modelRef"] for m in models if authorized(m, records) and eligible(m, policy, task, chosen, feasible)}
    primary_good = {r for r in good if by_ref[r]["lane"] == chosen}
    if primary_good:
        assert set(served) == good and blocked == set(by_ref) - good
        # chosen-lane fallbacks first, then feasible lanes in the decision's order
        order = [chosen, *feasible]
        lanes = [order.index(by_ref[r]["lane"]) for r in served]
        assert lanes == sorted(lanes)
    else:
        assert result["model"]["status"] == "blocked" and served == []
        primary = [m for m in models if m["lane"] == chosen]
        expected = "no-eligible-candidates" if any(authorized(m, records) for m in primary) else "no-authorized-candidates"
        assert result["model"]["reasons"] == [expected]
        assert result["deferReason"] == (expected if primary else None)
