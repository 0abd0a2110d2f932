"""The agentplane document kinds and the semantic rules of the mapping tables.

Importing this module registers with the contracts registry (router.contracts.kinds.KINDS):

- AgentplaneLaneDecisionMapping: the policy data that maps the router's agent-execution vocabulary
  onto agentplane's ModelRoutingLaneDecisionReceipt (read by the Rego package model_router.agentplane).
  Rules: every policy named in appliesTo is known; every task class of those policies has an entry
  (a null entry records "no faithful counterpart", an absent one would be an undecided value); the
  lane of a decision that chose none is not premium (agentplane would then require an escalation
  receipt); no tool-posture rule is shadowed by an earlier one.
- ModelRoutingLaneDecisionReceipt: agentplane's receipt, as projected by the router (schema only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import get, items, show
from router.contracts.kinds import KINDS, Kind
from router.contracts.rules.registry import Finding, rule

MAPPING = "AgentplaneLaneDecisionMapping"
RECEIPT = "ModelRoutingLaneDecisionReceipt"
AGENTPLANE_PREMIUM_LANES = ("high_end", "pro")

for _kind in (
    Kind(MAPPING, "agentplane-lane-decision-mapping", "mappingId"),
    Kind(RECEIPT, "model-routing-lane-decision-receipt", "receipt_id"),
):
    KINDS.setdefault(_kind.name, _kind)


def _policy_refs(doc: dict[str, Any]) -> list[tuple[int, str]]:
    refs = get(doc, "appliesTo", "policyRefs")
    return [(i, ref) for i, ref in enumerate(refs) if isinstance(ref, str)] if isinstance(refs, list) else []


@rule(MAPPING, "applies-to-known-policies", "every policy named in appliesTo.policyRefs is a known routing policy")
def applies_to_known_policies(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    known = ctx.policies
    for i, ref in _policy_refs(doc):
        if ref not in known:
            yield Finding(("appliesTo", "policyRefs", i), show(ref), f"the policyId of a known routing policy ({', '.join(sorted(known)) or 'none'})")


@rule(MAPPING, "every-task-class-decided", "every task class of the policies in appliesTo has an entry in taskClasses (null: no counterpart)")
def every_task_class_decided(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    table = doc.get("taskClasses")
    if not isinstance(table, dict):
        return
    for _, ref in _policy_refs(doc):
        policy = ctx.policies.get(ref)
        if not isinstance(policy, dict):
            continue
        for _, entry in items(policy, "taskClasses"):
            task = entry.get("taskClass")
            if isinstance(task, str) and task not in table:
                yield Finding(
                    ("taskClasses", task),
                    f"no entry for task class {task!r} of policy {ref}",
                    "an agentplane task_class, or null when the task class has no faithful counterpart",
                )


@rule(MAPPING, "unselected-lane-not-premium", "the lane of a decision that chose none is not a premium agentplane lane")
def unselected_lane_not_premium(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    lane = get(doc, "unselected", "lane")
    if isinstance(lane, str) and lane in AGENTPLANE_PREMIUM_LANES:
        yield Finding(("unselected", "lane"), show(lane), "a lane that needs no escalation receipt (no_model, lightweight or standard)")


@rule(MAPPING, "tool-posture-rules-reachable", "no tool-posture rule is shadowed by an earlier rule whose flags it includes")
def tool_posture_rules_reachable(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    rules = [(i, when) for i, r in items(doc, "toolPostures") if isinstance(when := r.get("when"), dict)]
    for j, (i, when) in enumerate(rules):
        for k, earlier in rules[:j]:
            if earlier.items() <= when.items():
                yield Finding(("toolPostures", i, "when"), show(when), f"flags not already matched by the rule at toolPostures[{k}]")
                break
