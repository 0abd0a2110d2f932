package model_router.agent.escalation_test

import data.model_router.agent.escalation
import data.model_router.agent.testing_test as t
import data.model_router.approvals.justification
import data.model_router.approvals.testing_test as approvals

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
	escalation.de_escalation_lane == null with input as t.with_request({"stage": "no-such-stage"})
}

test_de_escalation_after_a_premium_lane if {
	escalation.deescalate_after("high-end") with input as t.bundle
	not escalation.deescalate_after("standard") with input as t.bundle
	d := t.with_policy({"document": {"escalationPolicy": {"deescalateAfterPlan": false}}})
	not escalation.deescalate_after("high-end") with input as t.bundle with data.model_router_data as d
}

_with_receipt(token) := object.union(_arch, {"request": {
	"requestedLane": "high-end",
	"escalation": object.union(t.escalation_for("architecture-decision", "architecture-decision"), {"receiptToken": token}),
}})

test_fail_invalid_receipt_tokens_are_reported_and_never_valid if {
	every name, why in {
		"signature": "signature", "issuer-unknown": "issuer", "issuer-retired-key": "issuer", "purpose": "purpose",
		"ref-mismatch": "ref-mismatch", "expired": "expired", "not-yet-valid": "not-yet-valid", "lifetime": "lifetime",
		"request": "request", "task-class": "task-class", "reason": "reason",
	} {
		b := object.union(t.bundle, {"request": {
			"requestedLane": "high-end",
			"escalation": object.union(t.valid_escalation, {"receiptToken": approvals.tokens[name]}),
		}})
		escalation.failures("high-end") == [sprintf("escalation-receipt-invalid:%s", [why])] with input as b
		not escalation.valid_for("high-end") with input as b
	}
}

test_fail_receipt_for_the_wrong_task_class_in_the_receipt_table if {
	# the routine-code receipt presented for an architecture-decision request
	b := _with_receipt(approvals.receipts["routine-code/architecture-decision"])
	escalation.failures("pro") == ["escalation-receipt-invalid:task-class"] with input as b
}

test_fail_malformed_and_absent_receipts if {
	escalation.failures("high-end") == ["escalation-receipt-invalid:malformed"] with input as _with_receipt(" ")
	escalation.failures("high-end") == ["escalation-receipt-invalid:malformed"] with input as _with_receipt(42)
	escalation.failures("high-end") == ["premium-lane-requires-escalation-receipt"] with input as _with_receipt(null)
}

test_fail_lane_above_the_receipts_max_lane if {
	b := object.union(
		t.bundle,
		{"request": {"escalation": object.union(t.valid_escalation, {"receiptToken": approvals.tokens["lane-high-end"]})}},
	)
	escalation.failures("high-end") == [] with input as b
	escalation.failures("pro") == ["escalation-receipt-invalid:lane"] with input as b
	lanes := object.keys(data.model_router_data.policies[data.model_router_data.active.policy].lanes)
	escalation.valid_lanes == lanes - {"pro"} with input as b
}

test_fail_invisible_justifications if {
	every text in [
		"",
		" ",
		"\u200b",
		concat("", ["\u200b" | some _ in numbers.range(1, 40)]),
		concat("", ["\t\n\r \u00a0\u2028\u2029\u3000\ufeff\u200d\u2060\u0000\u0001" | some _ in numbers.range(1, 10)]),
		"nineteen visible ch",
		"n i n e t e e n v i s i b l e c h \u200b\u200b\u200b\u200b\u200b",
	] {
		not justification.present(text)
		esc := object.union(t.escalation_for("architecture-decision", "architecture-decision"), {"humanJustification": text})
		escalation.failures("high-end") == ["human-justification-required"] with input as object.union(
			_arch,
			{"request": {"escalation": esc}},
		)
	}
}

test_success_twenty_visible_characters_justify if {
	justification.present("abcdefghijklmnopqrst")
	justification.present("\u200babcde\u200b fghij\u00a0klmno pqrst\u200b")
	not justification.present("abcdefghijklmnopqrs")
	justification.present("zwanzig sichtbare Zeichen – ü")
}

test_success_receipt_evidence_without_the_token if {
	b := _with_receipt(approvals.receipts["architecture-decision/architecture-decision"])
	e := escalation.approval("high-end") with input as b
	e.verdict == "valid"
	e.ref == "urn:socioprophet:escalation-receipt:test-0001"
	not b.request.escalation.receiptToken in {v | some v in e}
	n := escalation.approval("standard") with input as b
	n.verdict == "valid"
	escalation.approval("standard") == n with input as b
	not escalation.approval("high-end") with input as _with_receipt(null)
}

test_fail_every_code_in_table_order if {
	# an architecture task (justification required) escalated for repeated failures below the threshold,
	# without justification or receipt: reason codes, then the receipt, then justification and threshold
	b := object.union(_arch, {"request": {
		"standardLaneFailures": 0,
		"escalation": {"reason": "repeated-standard-lane-failure"},
	}})
	escalation._allowed_codes == [] with input as b
	escalation._after_receipt_codes == ["human-justification-required", "repeated-failure-threshold-not-met"] with input as b
	escalation.failures("high-end") == [
		"premium-lane-requires-escalation-receipt",
		"human-justification-required",
		"repeated-failure-threshold-not-met",
	] with input as b

	not_allowed := object.union(_arch, {"request": {"escalation": {"reason": "gut-feeling"}}})
	escalation._allowed_codes == ["invalid-escalation-reason"] with input as not_allowed
}

test_success_receipt_valid_lanes_are_the_receipt_lanes_it_covers if {
	b := object.union(_arch, {"request": {"escalation": t.escalation_for("architecture-decision", "architecture-decision")}})
	escalation._receipt_valid_lanes == {"high-end", "pro"} with input as b
	lanes := escalation.valid_lanes with input as b
	{"standard", "high-end", "pro"} - lanes == set()
	escalation._receipt_valid_lanes == set() with input as t.bundle
}

test_failures_by_lane_are_the_same_without_the_tables if {
	data.model_router_data.modelTables.agent
	with_tables := escalation.failures_by_lane with input as t.bundle
	without := escalation.failures_by_lane with input as t.bundle with data.model_router_data.modelTables as null
	with_tables == without
	count(without) == count(data.model_router_data.modelTables.agent.noFailures)
}
