"""Comparing two decisions: the change classes, and whether the second is more permissive.

A decision is compared by its outcome summary: kind, status, route (lane for agent decisions, target
for personal ones), reason and reasons, cost class and estimated cost, the concrete model, and the
budget windows' ceilings. The summary is built from a decision document or from a receipt (the
recorded decision), so either can be the baseline.

Change classes: `status`, `route` (lane/target), `model`, `cost` (estimated cost or cost class) and
`reasons` (the primary reason or the set of reasons). A model the receipt did not record (receipts
written before the model was recorded) is not compared.

More permissive: the candidate permits a request the baseline did not (a denied, deferred or
quarantined decision it would select, downgrade or fall back), or it selects a higher lane. Which
statuses permit is the router's fail-closed status set (router.decision.PERMITTING_STATUSES); lane
order is the policy's own `data.model_router.agent.lanes.rank` (asked of the candidate's OPA), never a
list kept here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from router.decision import AGENT_KIND, PERMITTING_STATUSES, JSONObject

# a decision's comparison summary (see _summary)
Summary = JSONObject

CLASSES = ("status", "route", "model", "cost", "reasons")
CLASS_LABELS = {
    "status": "status changed",
    "route": "lane/target changed",
    "model": "model changed",
    "cost": "cost changed",
    "reasons": "reasons changed",
}
RANK_PACKAGE, RANK_RULE = "model_router.agent.lanes", "rank"


def _windows(budget: Any) -> dict[str, Any]:
    windows = budget.get("windows") if isinstance(budget, dict) else None
    if not isinstance(windows, dict):
        return {}
    return {name: w.get("maxSpend") for name, w in windows.items() if isinstance(w, dict)}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _summary(kind: Any, selected: JSONObject, model: Any, model_known: bool, budget: Any, revision: Any) -> Summary:
    route = selected.get("lane") if kind == AGENT_KIND else selected.get("target")
    reason = selected.get("reason")
    reasons = selected.get("reasons")
    return {
        "kind": kind,
        "status": selected.get("status"),
        "route": route,
        "reason": reason,
        "reasons": list(reasons) if isinstance(reasons, list) else ([reason] if reason else []),
        "costClass": selected.get("costClass"),
        "estimatedCost": _number(selected.get("estimatedCost")),
        "model": model.get("modelRef") if isinstance(model, dict) else None,
        "modelKnown": model_known,
        "windows": _windows(budget),
        "policyRevision": revision,
    }


def from_document(doc: Mapping[str, Any]) -> Summary:
    """The summary of a decision document (AgentExecutionRouteDecision or LocalPersonalRouteDecision)."""
    return _summary(doc.get("kind"), doc.get("selected") or {}, doc.get("model"), True, doc.get("budget"), doc.get("policyRevision"))


def from_receipt(receipt: JSONObject) -> Summary:
    """The summary of the decision a RouteDecisionReceipt recorded."""
    return _summary(receipt.get("decisionKind"), receipt.get("selected") or {}, receipt.get("model"), "model" in receipt,
                    receipt.get("budgetDecision"), receipt.get("policyRevision"))


def permitted(summary: Summary) -> bool:
    return summary.get("status") in PERMITTING_STATUSES and summary.get("route") is not None


def spend(summary: Summary) -> float:
    """The estimated cost a decision commits (nothing when it does not permit the request)."""
    cost: float = (summary.get("estimatedCost") or 0.0) if permitted(summary) else 0.0
    return cost


def _same_cost(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def classes(before: Summary, after: Summary) -> list[str]:
    """The change classes between BEFORE and AFTER (empty: the same decision)."""
    out: list[str] = []
    if before.get("status") != after.get("status"):
        out.append("status")
    if before.get("route") != after.get("route"):
        out.append("route")
    if before.get("modelKnown") and after.get("modelKnown") and before.get("model") != after.get("model"):
        out.append("model")
    if before.get("costClass") != after.get("costClass") or not _same_cost(before.get("estimatedCost"), after.get("estimatedCost")):
        out.append("cost")
    if before.get("reason") != after.get("reason") or sorted(before.get("reasons") or []) != sorted(after.get("reasons") or []):
        out.append("reasons")
    return out


def more_permissive(before: Summary, after: Summary, rank: dict[str, int] | None) -> str | None:
    """Why AFTER is more permissive than BEFORE ("permits" or "higher-lane"), or None."""
    if permitted(after) and not permitted(before):
        return "permits"
    if (permitted(after) and permitted(before) and after.get("kind") == AGENT_KIND and before.get("kind") == AGENT_KIND
            and isinstance(rank, dict)):
        after_route, before_route = after.get("route"), before.get("route")
        # a rank is keyed by lane name (a JSON object's keys are text)
        a = rank.get(after_route) if isinstance(after_route, str) else None
        b = rank.get(before_route) if isinstance(before_route, str) else None
        if isinstance(a, int) and isinstance(b, int) and a > b:
            return "higher-lane"
    return None


def outcome(summary: Summary) -> str:
    """One line: status, route and primary reason (and the model when there is one)."""
    route = summary.get("route") or "-"
    text = f"{summary.get('status')} {route} ({summary.get('reason')})"
    if summary.get("model"):
        text += f" model {summary['model']}"
    return text
