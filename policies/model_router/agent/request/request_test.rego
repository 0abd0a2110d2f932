package model_router.agent.request_test

import data.model_router.agent.request
import data.model_router.agent.testing_test as t

_minimal := {"request": {"requestId": "r-1", "taskClass": "log-triage", "stage": "classification", "riskClass": "low"}}

test_well_formed_request_has_no_reasons if {
	request.reasons == [] with input as t.bundle
	request.invalid_fields == set() with input as t.bundle
}

test_defaults_for_optional_fields if {
	request.asked_lane == null with input as _minimal
	request.execution_surface == null with input as _minimal
	request.escalation == null with input as _minimal
	request.standard_lane_failures == 0 with input as _minimal
	request.deterministic_verification == false with input as _minimal
	request.data_class == "internal" with input as _minimal
	request.egress_approval_ref == null with input as _minimal
	request.run_ref == null with input as _minimal
	request.prompt == null with input as _minimal
	not request.subject with input as _minimal
	request.reasons == [] with input as _minimal
}

test_given_values_are_read if {
	request.id == "req-test-0001" with input as t.bundle
	request.task_class == "routine-code" with input as t.bundle
	request.stage == "execution" with input as t.bundle
	request.risk_class == "medium" with input as t.bundle
	request.execution_surface == "codex" with input as t.bundle
	request.prompt.chars == 1200 with input as t.bundle
	request.subject.userRef == "urn:socioprophet:user:demo-user" with input as t.bundle
	request.task.defaultLane == "standard" with input as t.bundle
	request.stage_entry.maxLaneWithoutEscalation == "standard" with input as t.bundle
	request.risk_floor.minimumLane == "standard" with input as t.bundle
}

test_run_ref_is_read_when_a_non_empty_string if {
	request.run_ref == "run-7" with input as {"request": object.union(_minimal.request, {"runRef": "run-7"})}
	request.run_ref == null with input as {"request": object.union(_minimal.request, {"runRef": ""})}
	request.run_ref == null with input as {"request": object.union(_minimal.request, {"runRef": 7})}
}

test_input_that_is_not_an_object if {
	every bad in ["text", 42, [1, 2], null, true] {
		request.reasons == ["invalid-request-field:request"] with input as bad
	}
}

test_request_that_is_not_an_object if {
	request.reasons == ["invalid-request-field:request"] with input as {"request": ["x"]}
	request.reasons == ["invalid-request-field:request"] with input as {"resources": {}}
}

test_required_fields_missing if {
	request.reasons == [
		"invalid-request-field:requestId",
		"invalid-request-field:riskClass",
		"invalid-request-field:stage",
		"invalid-request-field:taskClass",
	] with input as {"request": {}}
}

test_required_fields_ill_typed if {
	b := t.with_request({"requestId": "", "taskClass": 3, "stage": ["execution"], "riskClass": {"x": 1}})
	request.invalid_fields == {"requestId", "taskClass", "stage", "riskClass"} with input as b
}

test_optional_fields_ill_typed if {
	b := t.with_request({
		"executionSurface": 5,
		"requestedLane": true,
		"egressApprovalRef": 7,
		"escalation": "please",
		"standardLaneFailures": -1,
		"deterministicVerificationAvailable": "yes",
		"dataClass": "secret",
		"prompt": {"sha256": "ABC", "chars": 10},
		"subject": "me",
	})
	request.invalid_fields == {
		"executionSurface", "requestedLane", "egressApprovalRef", "escalation", "standardLaneFailures",
		"deterministicVerificationAvailable", "dataClass", "prompt", "subject",
	} with input as b
	request.standard_lane_failures == 0 with input as b
	request.data_class == "internal" with input as b
	request.prompt == null with input as b
}

test_personal_member_is_not_an_agent_request if {
	request.invalid_fields == {"personal"} with input as t.with_request({"personal": "me"})
	request.invalid_fields == set() with input as t.with_request({"personal": null})
}

test_fractional_failure_count_is_invalid if {
	"standardLaneFailures" in request.invalid_fields with input as t.with_request({"standardLaneFailures": 1.5})
	"standardLaneFailures" in request.invalid_fields with input as t.with_request({"standardLaneFailures": "2"})
}

test_prompt_chars_must_be_a_count if {
	b := t.with_request({"prompt": {"sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "chars": -3}})
	"prompt" in request.invalid_fields with input as b
}

test_escalation_with_ill_typed_member if {
	b := t.with_request({"escalation": {"reason": "hard-debugging", "receiptRef": 12}})
	request.invalid_fields == {"escalation"} with input as b
	request.escalation == null with input as b
}

test_escalation_needs_a_reason_and_no_other_members if {
	request.invalid_fields == {"escalation"} with input as t.with_request({"escalation": {"receiptRef": "urn:x"}})
	request.invalid_fields == {"escalation"} with input as t.with_request({"escalation": {"reason": ""}})
	request.invalid_fields == {"escalation"} with input as t.with_request({"escalation": {"reason": "hard-debugging", "ticket": 7}})
}

test_escalation_normalised if {
	b := t.with_request({"escalation": {"reason": "hard-debugging", "receiptRef": "", "humanJustification": null}})
	request.escalation == {"reason": "hard-debugging", "receiptRef": null, "humanJustification": null} with input as b
}

test_prompt_text_is_never_echoed if {
	b := t.with_request({"prompt": {"sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "chars": 4, "text": "hush"}})
	request.prompt == {"sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "chars": 4} with input as b
}

test_unknown_identifiers if {
	b := t.with_request({"taskClass": "poetry", "stage": "daydreaming", "riskClass": "extreme", "requestedLane": "turbo"})
	request.reasons == [
		"unknown-task-class:poetry",
		"unknown-stage:daydreaming",
		"unknown-risk-class:extreme",
		"unknown-requested-lane:turbo",
	] with input as b
	not request.task with input as b
	not request.stage_entry with input as b
	not request.risk_floor with input as b
}

test_execution_surface_out_of_scope if {
	request.reasons == ["execution-surface-not-in-scope:notebook"] with input as t.with_request({"executionSurface": "notebook"})
}

test_invalid_fields_come_before_unknown_identifiers if {
	b := t.with_request({"taskClass": "poetry", "dataClass": "secret"})
	request.reasons == ["invalid-request-field:dataClass", "unknown-task-class:poetry"] with input as b
}

# Each ill-typed field alone is its one reason (the usual path's check of that field fails).
test_each_ill_typed_field_alone_is_its_reason if {
	every field, value in {
		"requestId": "", "executionSurface": 5, "requestedLane": true, "egressApprovalRef": 7,
		"escalation": "please", "standardLaneFailures": -1, "deterministicVerificationAvailable": "yes",
		"dataClass": "secret", "prompt": {"sha256": "ABC"}, "subject": "me", "personal": "me",
	} {
		request.reasons == [sprintf("invalid-request-field:%s", [field])] with input as t.with_request({field: value})
	}
}

# Optional fields that are null are absent: no reason (the usual path defers to the full lists).
test_null_optional_fields_are_no_reason if {
	b := t.with_request({
		"executionSurface": null, "requestedLane": null, "egressApprovalRef": null, "escalation": null,
		"standardLaneFailures": null, "deterministicVerificationAvailable": null, "dataClass": null,
		"prompt": null, "subject": null, "personal": null,
	})
	request.reasons == [] with input as b
}

# An array is never taken for a path of the lanes or surfaces (object.get reads an array key as a path).
test_array_lane_or_surface_is_invalid if {
	every field in ["requestedLane", "executionSurface"] {
		every junk in [[], ["standard"]] {
			request.reasons == [sprintf("invalid-request-field:%s", [field])] with input as t.with_request({field: junk})
		}
	}
}
