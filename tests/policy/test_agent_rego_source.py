"""The agent Rego holds no lane names, thresholds or prices that the documents declare: every lane id,
number and price comes from the policy data. This scans the non-test modules of the agent packages."""

from __future__ import annotations

import re

from router import paths

AGENT = paths.REGO / "agent"
MODULES = sorted(p for p in AGENT.rglob("*.rego") if not p.name.endswith("_test.rego"))
assert MODULES, f"no agent modules under {AGENT}"
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
# Unit conversions, list positions and the length of a SHA-256 hex digest: not policy values.
ALLOWED_NUMBERS = {"0", "1", "1000000", "64"}


def _code(path) -> tuple[list[str], str]:
    """(string literals, the code with string literals and comment lines removed)."""
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#"))
    return [s[1:-1] for s in STRING.findall(text)], STRING.sub('""', text)


def _documents(support):
    policy = support.load(paths.EXAMPLES / "agent-execution-model-routing-policy.default.json")
    optimizer = support.load(paths.EXAMPLES / "agent-execution-budget-resource-optimizer.default.json")
    catalog = support.load(paths.EXAMPLES / "model-price-catalog.demo.json")
    return policy, optimizer, catalog


def test_there_are_agent_modules():
    assert len(MODULES) >= 10


def test_no_lane_names_in_rego(support):
    policy, optimizer, _ = _documents(support)
    lanes = {lane["laneId"] for lane in policy["modelLanes"]} | set(optimizer["selectionPolicy"]["candidateOrder"])
    found = {(p.name, s) for p in MODULES for s in _code(p)[0] if s in lanes}
    assert found == set(), f"lane ids written into Rego: {sorted(found)}"


def test_no_task_classes_stages_or_profiles_in_rego(support):
    policy, optimizer, _ = _documents(support)
    declared = {t["taskClass"] for t in policy["taskClasses"]} | {s["stage"] for s in policy["chainStages"]}
    declared |= set(optimizer["resourcePolicy"]["localAdmission"]["allowedProfileRefs"])
    declared |= {w["window"] for w in optimizer["budgetPolicy"]["windows"]}
    found = {(p.name, s) for p in MODULES for s in _code(p)[0] if s in declared}
    assert found == set(), f"document identifiers written into Rego: {sorted(found)}"


def test_no_thresholds_or_prices_in_rego():
    found = {(p.name, n) for p in MODULES for n in NUMBER.findall(_code(p)[1]) if n not in ALLOWED_NUMBERS}
    assert found == set(), f"numbers written into Rego (thresholds and prices belong in the documents): {sorted(found)}"
