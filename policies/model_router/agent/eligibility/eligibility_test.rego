package model_router.agent.eligibility_test

import data.model_router.agent.eligibility
import data.model_router.agent.testing_test as t

test_allowed_lanes_are_task_default_escalation_and_stage_default if {
	eligibility.allowed_lanes == {"standard", "high-end"} with input as t.bundle
	eligibility.allowed_lanes == {"standard", "high-end", "no-model"} with input as t.with_request({"stage": "verification"})
	eligibility.allowed_lanes == {"local-cheap", "cheap", "standard"} with input as t.with_request({
		"taskClass": "log-triage",
		"stage": "classification",
	})
}

test_lane_outside_the_task_class if {
	eligibility.failures("cheap") == ["not-allowed-for-task-class"] with input as t.bundle
	eligibility.failures("pro") == ["stage-max-without-escalation:standard", "not-allowed-for-task-class"] with input as t.bundle
}

test_stage_ceiling_without_escalation if {
	eligibility.failures("high-end") == ["stage-max-without-escalation:standard"] with input as t.bundle
}

test_valid_escalation_lifts_the_stage_ceiling if {
	b := t.with_request({"escalation": t.valid_escalation})
	eligibility.failures("high-end") == [] with input as b
}

test_invalid_escalation_does_not_lift_the_ceiling if {
	b := t.with_request({"escalation": {"reason": "architecture-decision", "receiptRef": null}})
	eligibility.failures("high-end") == ["stage-max-without-escalation:standard"] with input as b
}

test_lane_at_the_ceiling_passes if {
	eligibility.failures("standard") == [] with input as t.bundle
}

test_classification_ceiling_is_cheap if {
	b := t.with_request({"taskClass": "log-triage", "stage": "classification"})
	eligibility.failures("standard") == ["stage-max-without-escalation:cheap"] with input as b
	eligibility.failures("cheap") == [] with input as b
}

_policy_doc := data.model_router_data.policies[data.model_router_data.active.policy].document

# Policy data whose routine-code task class (the base bundle's) carries BOUNDS.
_bounded(bounds) := t.with_policy({"document": {"taskClasses": [c |
	some tc in _policy_doc.taskClasses
	c := _bound(tc, bounds)
]}})

_bound(tc, bounds) := object.union(tc, bounds) if tc.taskClass == "routine-code"

_bound(tc, _) := tc if tc.taskClass != "routine-code"

test_task_class_floor if {
	d := _bounded({"minimumLane": "standard"})
	eligibility.failures("cheap") == ["not-allowed-for-task-class", "below-task-class-floor:standard"] with input as t.bundle
		with data.model_router_data as d
	eligibility.failures("standard") == [] with input as t.bundle with data.model_router_data as d
	eligibility.failures("no-model") == ["not-allowed-for-task-class", "below-task-class-floor:standard"] with input as t.bundle
		with data.model_router_data as d
}

test_task_class_ceiling if {
	d := _bounded({"maximumLane": "cheap", "allowedEscalationLanes": ["cheap", "standard"]})
	eligibility.failures("standard") == ["above-task-class-ceiling:cheap"] with input as t.bundle with data.model_router_data as d
	eligibility.failures("cheap") == [] with input as t.bundle with data.model_router_data as d
}

test_without_bounds_nothing_changes if {
	eligibility.failures("standard") == [] with input as t.bundle
	eligibility.failures("cheap") == ["not-allowed-for-task-class"] with input as t.bundle
}

test_a_bound_naming_an_undeclared_lane_denies_the_request if {
	d := _bounded({"minimumLane": "turbo"})
	decision := t.decide(t.bundle) with data.model_router_data as d
	decision.selected.status == "denied"
	"lane-not-declared:turbo" in decision.selected.reasons
}

test_unknown_stage_still_checks_the_task_class if {
	b := t.with_request({"stage": "no-such-stage"})
	eligibility.failures("standard") == ["not-allowed-for-task-class"] with input as b
	eligibility.failures("pro") == ["not-allowed-for-task-class"] with input as b
}
