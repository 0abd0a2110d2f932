"""The policy's projections of a route decision, returned beside it in the decision's own query.

data.model_router.projection.result is {"decision": <decision>, "projection": {"guardrail": <verdict>,
"lane": <summary or null>}} (data.model_router.batch.results for many bundles, keyed by index;
data.model_router.agentplane.result carries the same "projection" member). The verdict is the guardrail
decision value, severity, effects and remediation (model_router.projection.guardrail); the summary is
the receipt's lane-decision outcome, whether the chosen lane is premium and the de-escalation stage
(model_router.projection.lane). The decision document itself is unchanged: its schema is a contract.
"""

from __future__ import annotations

from typing import Any

PACKAGE = "model_router.projection"
RULE = "result"
BATCH_PACKAGE = "model_router.batch"
BATCH_RULE = "results"

_VERDICT_KEYS = ("decision", "severity", "effects", "remediation")
_LANE_KEYS = ("outcome", "premium", "deEscalationAfterStage")


def problems(projection: Any) -> list[str]:
    """Why PROJECTION is not a well-formed projection (JSON paths named); empty when it is."""
    if not isinstance(projection, dict):
        return ["$.projection: expected an object with guardrail and lane"]
    out = []
    verdict = projection.get("guardrail")
    if not isinstance(verdict, dict) or any(k not in verdict for k in _VERDICT_KEYS) or not isinstance(verdict.get("effects"), dict):
        out.append(f"$.projection.guardrail: expected an object with {', '.join(_VERDICT_KEYS)}")
    lane = projection.get("lane", ...)
    if lane is ... or (lane is not None and (not isinstance(lane, dict) or any(k not in lane for k in _LANE_KEYS))):
        out.append(f"$.projection.lane: expected null or an object with {', '.join(_LANE_KEYS)}")
    return out


def split_result(result: Any) -> tuple[Any, dict[str, Any] | None, list[str]]:
    """(decision, projection, problems) from a result carrying the decision and its projection."""
    if not isinstance(result, dict) or "decision" not in result:
        return None, None, ["$: expected {decision, projection}"]
    found = problems(result.get("projection"))
    return result["decision"], (None if found else result["projection"]), found
