"""Changing a contract document changes the agent decision without touching Rego: each test edits one
field of the assembled policy data and asks the real OPA (`with data.model_router_data as ...`). Every
decision also validates against the decision schema, including the statuses only documents can reach
(quarantined, human approval)."""

from __future__ import annotations

import copy

import pytest

from router import fixture_data

CASES = fixture_data.cases()


def _bundle(name: str) -> dict:
    return copy.deepcopy(CASES[name]["input"])


def _with(data: dict, role: str, path: list[str], value) -> dict:
    """DATA with the active ROLE document's field at PATH set to VALUE (the keyed views follow)."""
    out = copy.deepcopy(data)
    collection = {"policy": "policies", "optimizer": "optimizers", "priceCatalog": "priceCatalogs"}[role]
    entry = out[collection][out["active"][role]]
    node = entry["document"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    if role == "optimizer" and path[:2] == ["budgetPolicy", "windows"]:
        entry["windows"] = {w["window"]: w for w in entry["document"]["budgetPolicy"]["windows"]}
    return out


@pytest.fixture()
def decide(policy_opa, support):
    def run(bundle: dict, data: dict) -> dict:
        decision = policy_opa.agent_decision_with_data(bundle, data)
        assert decision is not None
        errors = support.schema_errors("agent-execution-route-decision.schema.json", support.as_emitted(decision))
        assert errors == [], errors[:5]
        return decision
    return run


def test_unchanged_data_gives_the_fixture_outcome(policy_opa, decide):
    decision = decide(_bundle("agent-routine-code-network-down"), policy_opa.data)
    assert decision["selected"]["status"] == "deferred"


@pytest.mark.parametrize("on_violation,status", [("defer", "deferred"), ("deny", "denied"), ("quarantine", "quarantined")])
def test_on_violation_sets_the_no_feasible_status(policy_opa, decide, on_violation, status):
    data = _with(policy_opa.data, "policy", ["enforcement", "onViolation"], on_violation)
    decision = decide(_bundle("agent-routine-code-network-down"), data)
    assert decision["selected"]["status"] == status
    assert decision["selected"]["reason"] == "no-feasible-candidate"


@pytest.mark.parametrize("action,status,lane,human", [
    ("downgrade", "downgraded", "standard", False),
    ("deny", "denied", None, False),
    ("defer", "deferred", None, False),
    ("require-human-approval", "deferred", None, True),
])
def test_on_budget_pressure(policy_opa, decide, action, status, lane, human):
    data = _with(policy_opa.data, "optimizer", ["budgetPolicy", "onBudgetPressure"], action)
    decision = decide(_bundle("agent-routine-code-budget-pressure-downgrade"), data)
    selected = decision["selected"]
    assert (selected["status"], selected["lane"], selected["requiresHumanApproval"]) == (status, lane, human)
    assert selected["reasons"][0] == "budget-pressure:task"
    if human:
        assert selected["suggestedLane"] == "high-end"


def test_raising_the_memory_floor_excludes_the_local_lane(policy_opa, decide):
    bundle = _bundle("agent-log-triage-memory-at-floor")
    assert decide(bundle, policy_opa.data)["selected"]["lane"] == "local-cheap"
    data = _with(policy_opa.data, "optimizer", ["resourcePolicy", "localAdmission", "minMemoryAvailableBytes"], 4294967296)
    decision = decide(bundle, data)
    assert decision["selected"]["lane"] == "cheap"
    local = next(c for c in decision["candidateSet"] if c["lane"] == "local-cheap")
    assert local["reasons"] == ["insufficient-local-memory"]


def test_a_bigger_task_window_admits_the_standard_call(policy_opa, decide):
    bundle = _bundle("agent-routine-code-cost-one-micro-over")
    assert decide(bundle, policy_opa.data)["selected"]["lane"] is None
    windows = copy.deepcopy(policy_opa.data["optimizers"][policy_opa.data["active"]["optimizer"]]["document"]["budgetPolicy"]["windows"])
    windows[0]["maxSpend"] = 2.000001
    decision = decide(bundle, _with(policy_opa.data, "optimizer", ["budgetPolicy", "windows"], windows))
    assert decision["selected"]["lane"] == "standard"


def test_prices_come_from_the_catalog(policy_opa, decide):
    bundle = _bundle("agent-routine-code-execution")
    base = decide(bundle, policy_opa.data)
    data = copy.deepcopy(policy_opa.data)
    lane = data["priceCatalogs"][data["active"]["priceCatalog"]]["lanes"]["standard"]
    lane["defaultProfile"]["pricing"]["inputPerMillion"] = 2.0
    decision = decide(bundle, data)
    assert base["selected"]["estimatedCost"] == 0.033
    assert decision["selected"]["estimatedCost"] == 0.053


def test_a_new_task_class_is_routable_from_data_alone(policy_opa, decide):
    data = copy.deepcopy(policy_opa.data)
    policy = data["policies"][data["active"]["policy"]]
    task = {"taskClass": "docs-update", "defaultLane": "cheap", "allowedEscalationLanes": ["standard"],
            "requiresHumanJustification": False}
    policy["document"]["taskClasses"].append(task)
    policy["taskClasses"]["docs-update"] = task
    bundle = _bundle("agent-formatting-finalization")
    bundle["request"]["taskClass"] = "docs-update"
    assert decide(bundle, policy_opa.data)["selected"]["reasons"] == ["unknown-task-class:docs-update"]
    decision = decide(bundle, data)
    assert (decision["selected"]["status"], decision["selected"]["lane"]) == ("selected", "cheap")


def test_tie_breaker_order_is_read_from_the_optimizer(policy_opa, decide):
    data = copy.deepcopy(policy_opa.data)
    catalog = data["priceCatalogs"][data["active"]["priceCatalog"]]
    catalog["lanes"]["local-cheap"]["defaultProfile"]["pricing"]["minCost"] = 0.01  # local now dearer than cheap
    bundle = _bundle("agent-log-triage-local")
    assert decide(bundle, data)["selected"]["lane"] == "cheap"
    optimizer = data["optimizers"][data["active"]["optimizer"]]["document"]
    optimizer["selectionPolicy"]["tieBreakers"] = ["local-first", "lower-cost"]
    assert decide(bundle, data)["selected"]["lane"] == "local-cheap"
