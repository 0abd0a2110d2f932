package model_router.agent.escalation_test

import data.model_router.agent.escalation
import data.model_router.agent.testing_test as t

_arch := t.with_request({"taskClass": "architecture-decision", "stage": "planning", "riskClass": "high"})

test_no_escalation if {
	not escalation.reason_given with input as t.bundle
	not escalation.reason_allowed with input as t.bundle
	not escalation.valid_for("high-end") with input as t.bundle
	not escalation.valid_for("standard") with input as t.bundle
}

test_premium_lane_without_escalation if {
	escalation.failures("high-end") == [
		"premium-lane-requires-escalation-reason",
		"premium-lane-requires-escalation-receipt",
	] with input as t.bundle
}

test_premium_lane_without_escalation_for_a_judgment_task if {
	escalation.failures("high-end") == [
		"premium-lane-requires-escalation-reason",
		"premium-lane-requires-escalation-receipt",
		"human-justification-required",
	] with input as _arch
}

test_non_premium_lanes_are_not_gated if {
	escalation.failures("standard") == [] with input as t.bundle
	escalation.failures("no-model") == [] with input as _arch
}

test_valid_escalation if {
	b := object.union(_arch, {"request": {"escalation": t.escalation_for("architecture-decision", "architecture-decision")}})
	escalation.valid_for("high-end") with input as b
	escalation.valid_for("pro") with input as b
	escalation.failures("high-end") == [] with input as b
	escalation.failures("pro") == [] with input as b
}

test_reason_without_receipt if {
	b := t.with_request({"escalation": {"reason": "hard-debugging"}})
	escalation.failures("high-end") == ["premium-lane-requires-escalation-receipt"] with input as b
	not escalation.valid_for("high-end") with input as b
	escalation.valid_for("standard") with input as b
}

test_reason_not_allowed if {
	b := t.with_request({"escalation": {"reason": "gut-feeling", "receiptRef": "urn:socioprophet:escalation-receipt:x"}})
	escalation.reason_given with input as b
	not escalation.reason_allowed with input as b
	escalation.failures("high-end") == [
		"invalid-escalation-reason",
		"premium-lane-requires-escalation-receipt",
	] with input as b
	not escalation.valid_for("standard") with input as b
}

test_missing_justification if {
	esc := object.remove(t.escalation_for("architecture-decision", "architecture-decision"), ["humanJustification"])
	b := object.union(_arch, {"request": {"escalation": esc}})
	escalation.failures("high-end") == ["human-justification-required"] with input as b
	not escalation.valid_for("high-end") with input as b
}

_repeated(failures) := t.with_request({
	"standardLaneFailures": failures,
	"escalation": t.escalation_for("routine-code", "repeated-standard-lane-failure"),
})

test_repeated_failure_below_threshold if {
	escalation.failures("high-end") == ["repeated-failure-threshold-not-met"] with input as _repeated(1)
	not escalation.valid_for("high-end") with input as _repeated(1)
}

test_repeated_failure_at_threshold if {
	escalation.failures("high-end") == [] with input as _repeated(2)
	escalation.valid_for("high-end") with input as _repeated(2)
}

test_reason_can_be_waived_for_a_tier if {
	d := t.with_policy({"document": {
		"escalationPolicy": {"requireReasonForHighEnd": false},
		"enforcement": {"denyHighEndWithoutReason": false},
	}})
	escalation.failures("high-end") == ["premium-lane-requires-escalation-receipt"] with input as t.bundle with data.model_router_data as d
	escalation.failures("pro") == [
		"premium-lane-requires-escalation-reason",
		"premium-lane-requires-escalation-receipt",
	] with input as t.bundle with data.model_router_data as d
}

test_either_flag_requires_the_reason if {
	d := t.with_policy({"document": {"escalationPolicy": {"requireReasonForPro": false}}})
	"premium-lane-requires-escalation-reason" in escalation.failures("pro") with input as t.bundle with data.model_router_data as d
}

test_receipt_only_premium_lane_always_needs_a_reason if {
	d := t.with_policy({"lanes": {"standard": {"requiresEscalationReceipt": true}}})
	escalation.failures("standard") == [
		"premium-lane-requires-escalation-reason",
		"premium-lane-requires-escalation-receipt",
	] with input as t.bundle with data.model_router_data as d
}

test_de_escalation_target_is_the_stage_ceiling_or_below if {
	escalation.de_escalation_lane == "standard" with input as t.bundle
	escalation.de_escalation_lane == "standard" with input as t.with_request({"stage": "review"})
	escalation.de_escalation_lane == "cheap" with input as t.with_request({"stage": "classification"})
}

test_de_escalation_after_a_premium_lane if {
	escalation.deescalate_after("high-end") with input as t.bundle
	not escalation.deescalate_after("standard") with input as t.bundle
	d := t.with_policy({"document": {"escalationPolicy": {"deescalateAfterPlan": false}}})
	not escalation.deescalate_after("high-end") with input as t.bundle with data.model_router_data as d
}
