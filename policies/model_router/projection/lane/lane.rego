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

default _premium(_) := false

_premium(decision) if decision.selected.lane in lanes.premium

# The outcome of DECISION; PREMIUM says whether its lane is premium (worked out once per summary).
_outcome(decision, premium) := "escalated" if {
	decision.selected.status == "selected"
	premium == true
	decision.escalation.valid == true
} else := "lane_selected" if {
	decision.selected.status == "selected"
} else := object.get({"downgraded": "downgraded", "deferred": "deferred"}, decision.selected.status, "denied")

_given(value) if not value in {null, ""}

_stage(decision, name) := s if {
	s := object.get(decision, name, null)
	_given(s)
}

# The stage after which the lane must de-escalate: the decision's own when it requires one; for a
# premium lane without one, its afterStage, else the request's stage; else null.
_after(decision, premium) := s if {
	decision.deEscalation.required == true
	s := _stage(decision, ["deEscalation", "afterStage"])
} else := s if {
	premium == true
	s := _stage(decision, ["deEscalation", "afterStage"])
} else := object.get(decision, ["input", "stage"], null) if {
	premium == true
} else := null

# METADATA
# scope: document
# description: |
#   The lane-decision summary of DECISION: {outcome, premium, deEscalationAfterStage}; null for a
#   local-personal decision.
summary(decision) := {
	"outcome": _outcome(decision, premium),
	"premium": premium,
	"deEscalationAfterStage": _after(decision, premium),
} if {
	decision.kind == _agent
	premium := _premium(decision)
} else := null if {
	decision.kind != _agent
}
