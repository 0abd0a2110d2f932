package model_router.agent.guardrail_test

import data.model_router.agent.decision
import data.model_router.agent.guardrail
import data.model_router.agent.testing_test as t

_required := t.with_policy({"document": {"enforcement": {"requireGuardrailRef": true}}})

_ref := "urn:sourceos:guardrail-decision:0b7c6a52-demo"

test_no_reference_is_null_and_not_required_by_default if {
	guardrail.ref == null with input as t.bundle
	not guardrail.required with input as t.bundle
	guardrail.reasons == [] with input as t.bundle
}

test_reference_is_read if {
	guardrail.ref == _ref with input as t.with_request({"guardrailRef": _ref})
	guardrail.reasons == [] with input as t.with_request({"guardrailRef": _ref})
}

test_input_that_is_not_an_object_has_no_reference if {
	every bad in ["text", 42, [1], null] {
		guardrail.ref == null with input as bad
		guardrail.reasons == [] with input as bad
	}
}

test_ill_typed_reference_is_an_invalid_field if {
	every bad in ["", 7, ["x"], {"a": 1}, true] {
		guardrail.reasons == ["invalid-request-field:guardrailRef"] with input as t.with_request({"guardrailRef": bad})
		guardrail.ref == null with input as t.with_request({"guardrailRef": bad})
	}
}

test_required_flag_is_read_from_the_routing_policy if {
	guardrail.required with input as t.bundle with data.model_router_data as _required
}

test_required_and_missing_is_refused if {
	guardrail.reasons == ["guardrail-ref-required"] with input as t.bundle with data.model_router_data as _required
	guardrail.reasons == [] with input as t.with_request({"guardrailRef": _ref}) with data.model_router_data as _required
}

test_required_and_ill_typed_names_the_field_only if {
	b := t.with_request({"guardrailRef": ""})
	guardrail.reasons == ["invalid-request-field:guardrailRef"] with input as b with data.model_router_data as _required
}

test_decision_denies_without_reference_when_required if {
	d := decision.result with input as t.bundle with data.model_router_data as _required
	d.selected.status == "denied"
	d.selected.lane == null
	"guardrail-ref-required" in d.selected.reasons
	d.candidateSet == []
	not d.input.guardrailRef
}

test_decision_echoes_reference_and_routes_when_required if {
	d := decision.result with input as t.with_request({"guardrailRef": _ref}) with data.model_router_data as _required
	d.input.guardrailRef == _ref
	d.selected.status != "denied"
	not "guardrail-ref-required" in d.selected.reasons
}

test_reference_does_not_change_the_route if {
	plain := t.decide(t.bundle)
	referenced := t.decide(t.with_request({"guardrailRef": _ref}))
	plain.selected == referenced.selected
	plain.candidateSet == referenced.candidateSet
	referenced.input.guardrailRef == _ref
	not plain.input.guardrailRef
}
