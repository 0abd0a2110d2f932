package model_router.personal.request_test

import data.model_router.personal.request

_binding_id := "urn:socioprophet:model-router-binding:test"

_route := {
	"routeId": "assist",
	"taskClass": "office-assist",
	"preferredTarget": "personal-local",
	"fallbackTarget": "base-local",
	"requiresConsent": true,
	"requiresNetwork": false,
}

_lonely := {
	"routeId": "lonely",
	"taskClass": "router",
	"preferredTarget": "base-local",
	"fallbackTarget": null,
	"requiresConsent": false,
	"requiresNetwork": false,
}

_undecided := {
	"routeId": "undecided",
	"taskClass": "router",
	"preferredTarget": "base-local",
	"requiresConsent": false,
	"requiresNetwork": false,
}

_binding := {"bindingId": _binding_id, "routes": [_route, _lonely, _undecided]}

_data := {"bindings": {_binding_id: {
	"document": _binding,
	"routes": {"assist": _route, "lonely": _lonely, "undecided": _undecided},
}}}

_personal := {"bindingRef": _binding_id, "routeId": "assist", "consentRef": null, "ledgerApprovalRef": null}

_input(personal, patch) := {"request": object.union({"requestId": "r", "taskClass": "office-assist", "personal": personal}, patch)}

_denial(personal, patch) := reasons if {
	reasons := request.denial_reasons with input as _input(personal, patch) with data.model_router_data as _data
}

test_well_formed_request_has_no_denial if {
	_denial(_personal, {}) == []
}

test_well_formed_checks_every_field_at_once if {
	request.well_formed with input as _input(_personal, {})
	request.well_formed with input as _input(object.union(_personal, {"consentRef": "c", "ledgerApprovalToken": 1}), {})
	request.well_formed with input as _input(object.remove(_personal, ["consentRef", "ledgerApprovalRef"]), {})
	not request.well_formed with input as _input(object.union(_personal, {"consentRef": ""}), {})
	not request.well_formed with input as _input(object.union(_personal, {"ledgerApprovalRef": 1}), {})
	not request.well_formed with input as _input(object.union(_personal, {"extra": 1}), {})
	not request.well_formed with input as _input(object.union(_personal, {"routeId": ""}), {})
	not request.well_formed with input as _input(_personal, {"egressApprovalRef": ""})
	not request.well_formed with input as _input(_personal, {"dataClass": "secret"})
	not request.well_formed with input as _input("personal", {})
}

test_binding_and_route_are_looked_up_by_key if {
	b := _input(_personal, {})
	request.binding == _binding with input as b with data.model_router_data as _data
	request.route == _route with input as b with data.model_router_data as _data
	request.targets == ["personal-local", "base-local"] with input as b with data.model_router_data as _data
}

test_null_fallback_is_not_tried if {
	b := _input(object.union(_personal, {"routeId": "lonely"}), {"taskClass": "router"})
	request.targets == ["base-local"] with input as b with data.model_router_data as _data
}

test_absent_fallback_is_not_tried if {
	b := _input(object.union(_personal, {"routeId": "undecided"}), {"taskClass": "router"})
	request.targets == ["base-local"] with input as b with data.model_router_data as _data
}

test_unknown_binding if {
	_denial(object.union(_personal, {"bindingRef": "urn:socioprophet:model-router-binding:nobody"}), {}) == ["unknown-binding"]
}

test_unknown_route if {
	_denial(object.union(_personal, {"routeId": "nowhere"}), {}) == ["unknown-route"]
}

test_task_class_mismatch if {
	_denial(_personal, {"taskClass": "router"}) == ["task-class-mismatch:office-assist"]
}

test_task_class_missing_is_a_mismatch if {
	b := {"request": {"requestId": "r", "personal": _personal}}
	request.denial_reasons == ["task-class-mismatch:office-assist"] with input as b with data.model_router_data as _data
}

test_missing_binding_and_route_refs if {
	_denial({}, {}) == [
		"invalid-request-field:personal.bindingRef",
		"invalid-request-field:personal.routeId",
	]
}

test_ill_typed_refs if {
	_denial({"bindingRef": 7, "routeId": "", "consentRef": "", "ledgerApprovalRef": false}, {}) == [
		"invalid-request-field:personal.bindingRef",
		"invalid-request-field:personal.consentRef",
		"invalid-request-field:personal.ledgerApprovalRef",
		"invalid-request-field:personal.routeId",
	]
}

test_unexpected_personal_field if {
	_denial(object.union(_personal, {"adapter": "x"}), {}) == ["invalid-request-field:personal.adapter"]
}

test_personal_not_an_object if {
	_denial("personal", {}) == ["invalid-request-field:personal"]
}

test_request_not_an_object if {
	request.denial_reasons == ["invalid-request-field:personal"] with input as {"request": 3}
		with data.model_router_data as _data
}

test_bad_egress_approval_and_data_class if {
	_denial(_personal, {"egressApprovalRef": "", "dataClass": "secret"}) == [
		"invalid-request-field:dataClass",
		"invalid-request-field:egressApprovalRef",
	]
}

test_malformed_fields_come_before_unknown_binding if {
	nobody := "urn:socioprophet:model-router-binding:nobody"
	_denial({"bindingRef": nobody, "routeId": "assist", "consentRef": 1}, {}) == ["invalid-request-field:personal.consentRef"]
}

test_refs_are_read_and_default_to_null if {
	b := _input(object.union(_personal, {"consentRef": "consent:1", "ledgerApprovalRef": "ledger:1"}), {"egressApprovalRef": "egress:1"})
	request.consent_ref == "consent:1" with input as b
	request.ledger_approval_ref == "ledger:1" with input as b
	request.egress_approval_ref == "egress:1" with input as b
	request.binding_ref == _binding_id with input as b
	request.route_id == "assist" with input as b
	e := _input({}, {})
	request.consent_ref == null with input as e
	request.ledger_approval_ref == null with input as e
	request.egress_approval_ref == null with input as e
	request.binding_ref == null with input as e
	request.route_id == null with input as e
}

test_data_class_defaults_to_internal if {
	request.data_class == "internal" with input as _input(_personal, {})
	request.data_class == "internal" with input as _input(_personal, {"dataClass": null})
	request.data_class == "restricted" with input as _input(_personal, {"dataClass": "restricted"})
}
