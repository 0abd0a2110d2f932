package model_router.projection.lane_test

import data.model_router.projection.lane

_decision(lane_id, status, valid, de_escalation) := {
	"kind": "AgentExecutionRouteDecision",
	"input": {"stage": "execution"},
	"selected": {"lane": lane_id, "status": status},
	"escalation": {"valid": valid},
	"deEscalation": de_escalation,
}

_none := {"required": false, "afterStage": null, "toLane": null}

test_personal_has_no_summary if {
	lane.summary({"kind": "LocalPersonalRouteDecision", "selected": {"status": "selected"}}) == null
}

test_premium_selected_on_valid_escalation_is_escalated if {
	s := lane.summary(_decision("pro", "selected", true, {"required": true, "afterStage": "planning", "toLane": "standard"}))
	s == {"outcome": "escalated", "premium": true, "deEscalationAfterStage": "planning"}
}

test_premium_without_de_escalation_records_the_request_stage if {
	s := lane.summary(_decision("high-end", "selected", false, _none))
	s == {"outcome": "lane_selected", "premium": true, "deEscalationAfterStage": "execution"}
}

test_premium_keeps_a_stated_stage if {
	s := lane.summary(_decision("high-end", "selected", false, {"required": false, "afterStage": "review"}))
	s.deEscalationAfterStage == "review"
}

test_standard_lane if {
	s := lane.summary(_decision("standard", "selected", true, _none))
	s == {"outcome": "lane_selected", "premium": false, "deEscalationAfterStage": null}
}

test_other_statuses if {
	lane.summary(_decision("cheap", "downgraded", false, _none)).outcome == "downgraded"
	lane.summary(_decision(null, "deferred", false, _none)).outcome == "deferred"
	lane.summary(_decision(null, "denied", false, _none)).outcome == "denied"
	lane.summary(_decision(null, "quarantined", false, _none)).outcome == "denied"
}

test_no_de_escalation_section if {
	d := object.remove(_decision(null, "denied", false, _none), ["deEscalation", "escalation"])
	lane.summary(d) == {"outcome": "denied", "premium": false, "deEscalationAfterStage": null}
}
