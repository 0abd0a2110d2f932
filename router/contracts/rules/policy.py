"""Semantic rules of AgentExecutionModelRoutingPolicy (contract reference, section 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import get, items, show
from router.contracts.rules.registry import Finding, Parts, rule
from router.contracts.rules.support import (
    GUARDRAIL_ABI,
    LANE_RANK,
    PREMIUM_LANES,
    duplicate_ids,
    entries_by_id,
    expect_equal,
    expect_true,
    lane_of,
    missing_ids,
    missing_members,
)

KIND = "AgentExecutionModelRoutingPolicy"

REQUIRED_LANES = ("no-model", "local-cheap", "cheap", "standard", "high-end")
LOW_COST_TASK_CLASSES = ("formatting-rewrite", "log-triage")
LOW_COST_DEFAULT_LANES = ("local-cheap", "cheap")
JUDGMENT_TASK_CLASSES = (
    "architecture-decision",
    "hard-debugging",
    "security-review",
    "multi-repo-migration",
    "high-stakes-synthesis",
)
REQUIRED_TASK_CLASSES = (*LOW_COST_TASK_CLASSES, "routine-code", *JUDGMENT_TASK_CLASSES)
REQUIRED_STAGES = ("classification", "execution", "verification", "review")
ESCALATION_REASONS = (
    "architecture-decision",
    "hard-debugging",
    "security-review",
    "privacy-review",
    "multi-repo-migration",
    "irreversible-production-decision",
    "high-stakes-synthesis",
    "conflicting-evidence-resolution",
    "repeated-standard-lane-failure",
    "release-gate-review",
)
REQUIRED_LEDGER_REFS = (
    "SocioProphet/model-governance-ledger",
    "SocioProphet/agentplane",
    "SocioProphet/guardrail-fabric",
)
# stage -> field -> (comparison, lane): the ceilings and defaults a chain stage must respect
STAGE_LIMITS = {
    "classification": {"maxLaneWithoutEscalation": ("at-most", "cheap")},
    "execution": {"maxLaneWithoutEscalation": ("exactly", "standard")},
    "verification": {"defaultLane": ("exactly", "no-model")},
    "review": {"maxLaneWithoutEscalation": ("exactly", "high-end")},
}


@rule(KIND, "high-end-default-deny", "defaultPosture.highEndDefault is deny")
def high_end_default_deny(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_equal(doc, ("defaultPosture", "highEndDefault"), "deny")


@rule(KIND, "hosted-fallback-policy-gated", "defaultPosture.hostedFallback is policy-gated")
def hosted_fallback_policy_gated(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_equal(doc, ("defaultPosture", "hostedFallback"), "policy-gated")


@rule(KIND, "posture-flags-true", "localFirst, failClosed and mechanicalVerificationPreferred are true")
def posture_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("defaultPosture",),
        ("localFirst", "failClosed", "mechanicalVerificationPreferred"),
        required=("mechanicalVerificationPreferred",),
    )


@rule(KIND, "required-lanes-present", "lanes no-model, local-cheap, cheap, standard and high-end are declared")
def required_lanes_present(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_ids(doc, ("modelLanes",), "laneId", REQUIRED_LANES, "lane")


@rule(KIND, "premium-lanes-require-receipt", "high-end and pro lanes require an escalation receipt")
def premium_lanes_require_receipt(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    for i, lane in items(doc, "modelLanes"):
        if lane.get("laneId") in PREMIUM_LANES:
            yield from expect_equal(
                doc,
                ("modelLanes", i, "requiresEscalationReceipt"),
                True,
                required=True,
                expected=f"true (a {lane['laneId']} lane needs an escalation receipt)",
            )


@rule(KIND, "required-task-classes-present", "the eight task classes of the contract are declared")
def required_task_classes_present(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_ids(doc, ("taskClasses",), "taskClass", REQUIRED_TASK_CLASSES, "task class")


@rule(KIND, "routine-code-default-lane", "routine-code defaults to standard or a cheaper lane")
def routine_code_default_lane(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    found = entries_by_id(doc, ("taskClasses",), "taskClass").get("routine-code")
    if found:
        i, entry = found
        lane = lane_of(entry.get("defaultLane"))
        if lane and LANE_RANK[lane] > LANE_RANK["standard"]:
            yield Finding(("taskClasses", i, "defaultLane"), show(lane), "standard or a cheaper lane")


@rule(KIND, "low-cost-task-default-lane", "formatting-rewrite and log-triage default to local-cheap or cheap")
def low_cost_task_default_lane(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    by_id = entries_by_id(doc, ("taskClasses",), "taskClass")
    for task_class in LOW_COST_TASK_CLASSES:
        if task_class in by_id:
            i, entry = by_id[task_class]
            lane = lane_of(entry.get("defaultLane"))
            if lane and lane not in LOW_COST_DEFAULT_LANES:
                yield Finding(("taskClasses", i, "defaultLane"), show(lane), "local-cheap or cheap")


@rule(KIND, "low-cost-task-no-premium-escalation", "formatting-rewrite and log-triage never escalate to a premium lane")
def low_cost_task_no_premium_escalation(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    by_id = entries_by_id(doc, ("taskClasses",), "taskClass")
    for task_class in LOW_COST_TASK_CLASSES:
        if task_class in by_id:
            i, entry = by_id[task_class]
            lanes = entry.get("allowedEscalationLanes")
            for j, lane in enumerate(lanes if isinstance(lanes, list) else []):
                if lane in PREMIUM_LANES:
                    yield Finding(
                        ("taskClasses", i, "allowedEscalationLanes", j),
                        show(lane),
                        f"no premium lane ({', '.join(PREMIUM_LANES)}) for {task_class}",
                    )


@rule(KIND, "judgment-task-classes-governed", "judgment task classes default to high-end with human justification and evidence")
def judgment_task_classes_governed(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    by_id = entries_by_id(doc, ("taskClasses",), "taskClass")
    for task_class in JUDGMENT_TASK_CLASSES:
        if task_class in by_id:
            i, entry = by_id[task_class]
            if lane_of(entry.get("defaultLane")):  # a lane outside the vocabulary is the schema's to report
                yield from expect_equal(doc, ("taskClasses", i, "defaultLane"), "high-end")
            yield from expect_equal(doc, ("taskClasses", i, "requiresHumanJustification"), True)
            yield from expect_equal(doc, ("taskClasses", i, "requiresEvidence"), True, required=True)


@rule(KIND, "required-stages-present", "stages classification, execution, verification and review are declared")
def required_stages_present(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_ids(doc, ("chainStages",), "stage", REQUIRED_STAGES, "stage")


@rule(KIND, "stage-lane-limits", "classification max <= cheap, execution max = standard, verification default = no-model, review max = high-end")
def stage_lane_limits(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    by_id = entries_by_id(doc, ("chainStages",), "stage")
    for stage, limits in STAGE_LIMITS.items():
        if stage not in by_id:
            continue
        i, entry = by_id[stage]
        for field, (comparison, wanted) in limits.items():
            lane = lane_of(entry.get(field))
            if lane is None:
                continue
            if comparison == "exactly" and lane != wanted:
                yield Finding(("chainStages", i, field), show(lane), f"{wanted!r} for the {stage} stage")
            if comparison == "at-most" and LANE_RANK[lane] > LANE_RANK[wanted]:
                yield Finding(("chainStages", i, field), show(lane), f"{wanted!r} or a cheaper lane for the {stage} stage")


@rule(KIND, "all-escalation-reasons-allowed", "all ten escalation reasons are allowed")
def all_escalation_reasons_allowed(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_members(doc, ("escalationPolicy", "allowedReasons"), ESCALATION_REASONS, "escalation reason")


@rule(KIND, "premium-reason-required", "an escalation reason is required for high-end and pro")
def premium_reason_required(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(doc, ("escalationPolicy",), ("requireReasonForHighEnd", "requireReasonForPro"))


@rule(KIND, "escalation-flags-true", "deescalateAfterPlan and denyChattyThinkingOnHighEnd are true")
def escalation_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(doc, ("escalationPolicy",), ("deescalateAfterPlan", "denyChattyThinkingOnHighEnd"))


@rule(KIND, "context-policy-strict", "context booleans are true and promptStorage is hash-only")
def context_policy_strict(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("contextPolicy",),
        (
            "clearOnTaskSwitch",
            "compactBeforeContextLimit",
            "preferPathReferences",
            "trimLogsByDefault",
            "redactSecrets",
            "disableNoncriticalConnectorsByDefault",
        ),
    )
    yield from expect_equal(doc, ("contextPolicy", "promptStorage"), "hash-only", required=True)


@rule(KIND, "tool-policy-strict", "tool policy booleans are true")
def tool_policy_strict(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("toolPolicy",),
        (
            "toolsOffUnlessNeeded",
            "networkToolsRequireReason",
            "writeToolsRequireEvidence",
            "repoMutationRequiresBranchOrExplicitDirectCommit",
            "mechanicalVerificationRequired",
        ),
    )


@rule(KIND, "evidence-flags-true", "evidence booleans are true")
def evidence_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("evidence",),
        ("emitRouteDecision", "emitEscalationReceipt", "emitCostClass", "emitContextPolicy", "emitToolPolicy", "promptHashOnly"),
    )


@rule(KIND, "ledger-refs-required", "evidence.ledgerRefs names the governance ledger, agentplane and guardrail-fabric")
def ledger_refs_required(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from missing_members(doc, ("evidence", "ledgerRefs"), REQUIRED_LEDGER_REFS, "ledger ref")


@rule(KIND, "decision-abi", "enforcement.decisionAbi is sourceos.guardrail.decision.v0.1")
def decision_abi(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_equal(doc, ("enforcement", "decisionAbi"), GUARDRAIL_ABI)


@rule(KIND, "enforcement-flags-true", "enforcement booleans are true")
def enforcement_flags_true(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from expect_true(
        doc,
        ("enforcement",),
        ("denyHighEndWithoutReason", "denyProWithoutReason", "downgradePreferred", "routeDecisionRequiredBeforeExecution"),
    )


@rule(KIND, "unique-ids", "no lane, task class or stage id appears twice")
def unique_ids(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from duplicate_ids(doc, ("modelLanes",), "laneId")
    yield from duplicate_ids(doc, ("taskClasses",), "taskClass")
    yield from duplicate_ids(doc, ("chainStages",), "stage")


def lane_references(doc: dict[str, Any]) -> Iterator[tuple[Parts, str]]:
    """(path parts, lane) for every lane the policy refers to outside modelLanes."""
    for i, entry in items(doc, "taskClasses"):
        if lane_of(entry.get("defaultLane")):
            yield ("taskClasses", i, "defaultLane"), entry["defaultLane"]
        lanes = entry.get("allowedEscalationLanes")
        for j, lane in enumerate(lanes if isinstance(lanes, list) else []):
            if lane_of(lane):
                yield ("taskClasses", i, "allowedEscalationLanes", j), lane
    for i, entry in items(doc, "chainStages"):
        for field in ("defaultLane", "maxLaneWithoutEscalation"):
            if lane_of(entry.get(field)):
                yield ("chainStages", i, field), entry[field]


def declared_lanes(doc: dict[str, Any]) -> list[str]:
    return list(entries_by_id(doc, ("modelLanes",), "laneId"))


@rule(KIND, "lanes-declared", "every lane referenced by a task class or stage is declared in modelLanes")
def lanes_declared(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    if not isinstance(get(doc, "modelLanes"), list):
        return
    declared = declared_lanes(doc)
    for parts, lane in lane_references(doc):
        if lane not in declared:
            yield Finding(parts, show(lane), f"a lane declared in $.modelLanes ({', '.join(declared) or 'none declared'})")
