# METADATA
# title: Lane-decision summary of a route decision
# description: |
#   What the route receipt's laneDecision records beyond the decision's own fields: the outcome
#   (escalated when a premium lane was selected on a valid escalation, lane_selected otherwise;
#   downgraded, deferred; denied for anything else), whether the chosen lane is premium under the
#   policy in force, and the stage after which the lane must de-escalate (the decision's own when it
#   requires one; for a premium lane without one, its afterStage, else the request's stage).
#   Null for a local-personal decision.
package model_router.projection.lane

import data.model_router.agent.lanes

_agent := "AgentExecutionRouteDecision"

_premium(decision) if decision.selected.lane in lanes.premium

_escalated(decision) if {
	decision.selected.status == "selected"
	_premium(decision)
	decision.escalation.valid == true
}

_outcome(decision) := "escalated" if _escalated(decision)

_outcome(decision) := "lane_selected" if {
	decision.selected.status == "selected"
	not _escalated(decision)
}

_outcome(decision) := object.get({"downgraded": "downgraded", "deferred": "deferred"}, decision.selected.status, "denied") if {
	decision.selected.status != "selected"
}

_given(value) if not value in {null, ""}

_stage(decision, name) := s if {
	s := object.get(decision, name, null)
	_given(s)
}

# The stage the decision itself requires de-escalation after.
_required_stage(decision) := s if {
	decision.deEscalation.required == true
	s := _stage(decision, ["deEscalation", "afterStage"])
}

_after_stage(decision) := _required_stage(decision)

_after_stage(decision) := s if {
	not _required_stage(decision)
	_premium(decision)
	s := _premium_stage(decision)
}

_premium_stage(decision) := _stage(decision, ["deEscalation", "afterStage"])

_premium_stage(decision) := object.get(decision, ["input", "stage"], null) if {
	not _stage(decision, ["deEscalation", "afterStage"])
}

default _premium_flag(_) := false

_premium_flag(decision) if _premium(decision)

default _after(_) := null

_after(decision) := _after_stage(decision)

# METADATA
# scope: document
# description: |
#   The lane-decision summary of DECISION: {outcome, premium, deEscalationAfterStage}; null for a
#   local-personal decision.
summary(decision) := null if decision.kind != _agent

summary(decision) := {
	"outcome": _outcome(decision),
	"premium": _premium_flag(decision),
	"deEscalationAfterStage": _after(decision),
} if {
	decision.kind == _agent
}
