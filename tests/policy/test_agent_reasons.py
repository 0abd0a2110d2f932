"""The agent reason catalogue (policies/data/reasons/agent.json): every code the agent policy can emit has
an entry with a one-line summary, a remediation hint and a severity, and every entry is reachable. The
codes are collected from real OPA decisions: every agent example bundle plus the scenarios below that
need changed policy data."""

from __future__ import annotations

import copy

import pytest

from router import fixture_data, paths

CATALOGUE_FILE = paths.POLICY_DATA / "reasons" / "agent.json"
SEVERITIES = {"info", "low", "medium", "high", "critical"}
# Shared with local-personal routes and owned by this catalogue.
SHARED_LOCAL_CODES = {"network-unavailable", "local-service-unhealthy", "local-model-profile-unavailable",
                      "insufficient-local-memory", "thermal-critical", "battery-critical"}
# Reachable only when part of the decision cannot be assembled (a policy fault); opa test mocks it.
FAULT_ONLY = {"policy-evaluation-incomplete"}


def _catalogue(support) -> dict:
    """The catalogue file's codes (its `$schema` member names the schema it follows, not a code)."""
    return {code: entry for code, entry in support.load(CATALOGUE_FILE).items() if code != "$schema"}


def _agent_bundles() -> list[dict]:
    return [c["input"] for c in fixture_data.cases().values() if c["expected"]["family"] == "agent"]


DATA_CODES = ["policy-data-unavailable", "optimizer-policy-mismatch", "currency-mismatch", "lane-not-declared", "guardrail-ref-required"]


def _data_scenarios(data: dict) -> list[tuple[str, dict]]:
    """(code, policy data that makes the policy deny with it), one per DATA_CODES entry."""
    active = data["active"]

    def changed(path: list[str], value) -> dict:
        out = copy.deepcopy(data)
        node = out
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return out

    opt = ["optimizers", active["optimizer"], "document"]
    return [
        ("policy-data-unavailable", {}),
        ("optimizer-policy-mismatch", changed(opt + ["policyRef"], "urn:socioprophet:model-routing-policy:other")),
        ("currency-mismatch", changed(["priceCatalogs", active["priceCatalog"], "document", "currency"], "EUR")),
        ("lane-not-declared", changed(opt + ["selectionPolicy", "candidateOrder"], ["no-model", "turbo", "standard"])),
        ("guardrail-ref-required", changed(["policies", active["policy"], "document", "enforcement", "requireGuardrailRef"], True)),
    ]


def test_catalogue_entries_are_well_formed(support):
    catalogue = _catalogue(support)
    for code, entry in catalogue.items():
        assert set(entry) == {"summary", "remediation", "severity"}, code
        assert entry["summary"].strip() and "\n" not in entry["summary"], code
        assert entry["remediation"].strip() and "\n" not in entry["remediation"], code
        assert entry["severity"] in SEVERITIES, code
        assert ":" not in code, f"{code}: catalogue keys carry no suffix"


def test_shared_local_runtime_codes_are_catalogued(support):
    assert set(_catalogue(support)) >= SHARED_LOCAL_CODES


@pytest.fixture(scope="module")
def emitted(policy_opa, support) -> set[str]:
    codes: set[str] = set()
    for bundle in _agent_bundles():
        codes |= {support.reason_base(r) for r in support.all_reasons(policy_opa.agent_decision(bundle))}
    base = _agent_bundles()[0]
    for _, data in _data_scenarios(policy_opa.data):
        decision = policy_opa.agent_decision_with_data(base, data)
        codes |= {support.reason_base(r) for r in support.all_reasons(decision)}
    bounded = copy.deepcopy(policy_opa.data)  # task-class lane bounds (optional minimumLane / maximumLane)
    for task in bounded["policies"][bounded["active"]["policy"]]["taskClasses"].values():
        task.update({"minimumLane": "standard", "maximumLane": "standard"})
    codes |= {support.reason_base(r) for r in support.all_reasons(policy_opa.agent_decision_with_data(base, bounded))}
    unknown_lane = copy.deepcopy(base)
    unknown_lane["request"]["requestedLane"] = "turbo"
    codes |= {support.reason_base(r) for r in support.all_reasons(policy_opa.agent_decision(unknown_lane))}
    return codes


@pytest.mark.parametrize("code", DATA_CODES)
def test_data_scenario_denies_with_its_code(policy_opa, code):
    data = dict(_data_scenarios(policy_opa.data))[code]
    decision = policy_opa.agent_decision_with_data(_agent_bundles()[0], data)
    assert decision["selected"]["status"] == "denied"
    assert decision["selected"]["reason"].split(":", 1)[0] == code
    assert decision["candidateSet"] == []


def test_every_emitted_code_is_catalogued(emitted, policy_opa):
    catalogue = policy_opa.data["reasons"]
    assert emitted - set(catalogue) == set()


def test_every_catalogue_entry_is_reachable(emitted, support):
    catalogue = set(_catalogue(support))
    assert catalogue - emitted - FAULT_ONLY == set(), "catalogue entries no decision emits"
