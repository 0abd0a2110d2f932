"""Semantic rules of AgentExecutionBudgetResourceOptimizer (contract reference, section 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import MISSING, get, items, show
from router.contracts.rules.policy import declared_lanes
from router.contracts.rules.registry import Finding, Parts, rule
from router.contracts.rules.support import (
    GUARDRAIL_ABI,
    LANE_RANK,
    duplicate_ids,
    entries_by_id,
    expect_equal,
    expect_true,
    lane_of,
    missing_ids,
    missing_members,
)

KIND = "AgentExecutionBudgetResourceOptimizer"

PRIMARY_OBJECTIVE = "minimize-cost-subject-to-quality-and-risk"
LEADING_PREFERENCES = ("policy-compliance", "privacy", "safety", "quality-floor", "budget")
MIN_PREMIUM_RESERVE_SHARE = 0.2
MAX_WINDOW_SHARES = {"highEndMaxShare": 0.25, "proMaxShare": 0.05}
REQUIRED_SIGNALS = (
    "localModelProfileAvailable",
    "localServiceHealthy",
    "batteryState",
    "thermalState",
    "memoryAvailableBytes",
    "networkAvailable",
    "providerQuotaKnown",
    "providerQuotaRemainingShare",
    "providerErrorRate",
    "providerLatencyP95Ms",
    "estimatedInputTokens",
    "estimatedOutputTokens",
)
# risk class -> (comparison, lane)
RISK_FLOORS = {
    "low": ("at-most", "cheap"),
    "medium": ("exactly", "standard"),
    "high": ("exactly", "high-end"),
    "critical": ("exactly", "pro"),
}
CANDIDATE_ORDER_START = ("no-model", "local-cheap", "cheap")
REQUIRED_TIE_BREAKERS = ("lower-cost", "higher-quota-remaining")


@rule(KIND, "primary-objective", f"objective.primary is {PRIMARY_OBJECTIVE}")
def primary_objective(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_equal(doc, ("objective", "primary"), PRIMARY_OBJECTIVE)


@rule(KIND, "ordered-preferences", "the first five preferences are policy-compliance, privacy, safety, quality-floor, budget")
def ordered_preferences(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    prefs = get(doc, "objective", "orderedPreferences")
    if not isinstance(prefs, list):
        return
    for i, wanted in enumerate(LEADING_PREFERENCES):
        value = prefs[i] if i < len(prefs) else MISSING
        if value != wanted:
            yield Finding(("objective", "orderedPreferences", i), show(value), f"{wanted!r} (preferences start with {', '.join(LEADING_PREFERENCES)})")


@rule(KIND, "premium-reserve-share", f"budgetPolicy.premiumReserveShare is at least {MIN_PREMIUM_RESERVE_SHARE}")
def premium_reserve_share(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if not isinstance(get(doc, "budgetPolicy"), dict):
        return
    value = get(doc, "budgetPolicy", "premiumReserveShare")
    expected = f"a share of at least {MIN_PREMIUM_RESERVE_SHARE}"
    too_small = isinstance(value, (int, float)) and not isinstance(value, bool) and value < MIN_PREMIUM_RESERVE_SHARE
    if value is MISSING or too_small:
        yield Finding(("budgetPolicy", "premiumReserveShare"), show(value), expected)


@rule(KIND, "window-premium-shares", "every budget window caps high-end at 0.25 and pro at 0.05")
def window_premium_shares(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, window in items(doc, "budgetPolicy", "windows"):
        for field, cap in MAX_WINDOW_SHARES.items():
            value = window.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > cap:
                yield Finding(("budgetPolicy", "windows", i, field), show(value), f"a share of at most {cap}")


@rule(KIND, "required-signals", "resourcePolicy.requiredSignals includes the twelve signals of the contract")
def required_signals(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_members(doc, ("resourcePolicy", "requiredSignals"), REQUIRED_SIGNALS, "required signal")


@rule(KIND, "local-admission-strict", "local admission denies on critical thermal and battery state and has a memory floor")
def local_admission_strict(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    base = ("resourcePolicy", "localAdmission")
    yield from expect_true(doc, base, ("denyWhenThermalCritical", "denyWhenBatteryCritical"))
    floor = get(doc, *base, "minMemoryAvailableBytes")
    if isinstance(floor, int) and not isinstance(floor, bool) and floor <= 0:
        yield Finding((*base, "minMemoryAvailableBytes"), show(floor), "a memory floor above 0 bytes")


@rule(KIND, "hosted-admission-strict", "hosted admission requires policy and network and denies on unknown quota or unhealthy provider")
def hosted_admission_strict(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("resourcePolicy", "hostedAdmission"),
        ("requiresPolicy", "requiresNetwork", "denyWhenQuotaUnknown", "denyWhenProviderUnhealthy"),
    )


@rule(KIND, "risk-floors-present", "a risk floor for each of low, medium, high and critical")
def risk_floors_present(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_ids(doc, ("qualityPolicy", "riskFloors"), "riskClass", RISK_FLOORS, "risk floor for")


@rule(KIND, "risk-floor-lanes", "risk floors: low <= cheap, medium = standard, high = high-end, critical = pro")
def risk_floor_lanes(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    by_id = entries_by_id(doc, ("qualityPolicy", "riskFloors"), "riskClass")
    for risk_class, (comparison, wanted) in RISK_FLOORS.items():
        if risk_class not in by_id:
            continue
        i, entry = by_id[risk_class]
        lane = lane_of(entry.get("minimumLane"))
        parts = ("qualityPolicy", "riskFloors", i, "minimumLane")
        if lane and comparison == "exactly" and lane != wanted:
            yield Finding(parts, show(lane), f"{wanted!r} for risk class {risk_class}")
        if lane and comparison == "at-most" and LANE_RANK[lane] > LANE_RANK[wanted]:
            yield Finding(parts, show(lane), f"{wanted!r} or a cheaper lane for risk class {risk_class}")


@rule(KIND, "candidate-order-start", "candidateOrder starts no-model, local-cheap, cheap")
def candidate_order_start(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    order = get(doc, "selectionPolicy", "candidateOrder")
    if not isinstance(order, list):
        return
    for i, wanted in enumerate(CANDIDATE_ORDER_START):
        value = order[i] if i < len(order) else MISSING
        if value != wanted:
            yield Finding(("selectionPolicy", "candidateOrder", i), show(value), f"{wanted!r} (the order starts {', '.join(CANDIDATE_ORDER_START)})")


@rule(KIND, "selection-flags-true", "estimateBeforeRoute and neverSilentlyUpgrade are true")
def selection_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(doc, ("selectionPolicy",), ("estimateBeforeRoute", "neverSilentlyUpgrade"))


@rule(KIND, "tie-breakers-required", "tie-breakers include lower-cost and higher-quota-remaining")
def tie_breakers_required(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_members(doc, ("selectionPolicy", "tieBreakers"), REQUIRED_TIE_BREAKERS, "tie-breaker")


@rule(KIND, "evidence-flags-true", "evidence booleans are true")
def evidence_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("evidence",),
        ("emitBudgetDecision", "emitResourceSnapshot", "emitQuotaSnapshot", "emitCandidateSet", "emitSelectedCandidate", "promptHashOnly"),
    )


@rule(KIND, "enforcement-flags-true", "enforcement booleans are true")
def enforcement_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("enforcement",),
        ("failClosedOnMissingSignals", "denyOnBudgetExhausted", "denyOnUnknownQuotaForPremium", "routeBeforeExecution"),
    )


@rule(KIND, "decision-abi", "enforcement.decisionAbi is sourceos.guardrail.decision.v0.1")
def decision_abi(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_equal(doc, ("enforcement", "decisionAbi"), GUARDRAIL_ABI)


@rule(KIND, "unique-ids", "no budget window or risk class appears twice")
def unique_ids(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("budgetPolicy", "windows"), "window")
    yield from duplicate_ids(doc, ("qualityPolicy", "riskFloors"), "riskClass")


@rule(KIND, "policy-ref-known", "policyRef names a known AgentExecutionModelRoutingPolicy")
def policy_ref_known(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    ref = get(doc, "policyRef")
    if isinstance(ref, str) and ref.startswith("urn:socioprophet:model-routing-policy:") and ref not in ctx.policies:
        known = ", ".join(sorted(ctx.policies)) or "none"
        yield Finding(("policyRef",), show(ref), f"the policyId of a known routing policy (known: {known})")


@rule(KIND, "lanes-declared-by-policy", "every lane the optimizer mentions is declared by the policy it refers to")
def lanes_declared_by_policy(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    policy = ctx.policies.get(get(doc, "policyRef")) if isinstance(get(doc, "policyRef"), str) else None
    if not isinstance(policy, dict):
        return
    declared = declared_lanes(policy)
    refs: list[tuple[Parts, object]] = []
    for i, floor in items(doc, "qualityPolicy", "riskFloors"):
        refs.append((("qualityPolicy", "riskFloors", i, "minimumLane"), floor.get("minimumLane")))
    order = get(doc, "selectionPolicy", "candidateOrder")
    for i, lane in enumerate(order if isinstance(order, list) else []):
        refs.append((("selectionPolicy", "candidateOrder", i), lane))
    for parts, lane in refs:
        if lane_of(lane) and lane not in declared:
            yield Finding(parts, show(lane), f"a lane declared by {doc['policyRef']} ({', '.join(declared) or 'none declared'})")
