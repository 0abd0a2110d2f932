package model_router_test

import data.model_router.agent.testing_test as t

test_agent_bundle_is_decided_as_a_lane_decision if {
	d := data.model_router.decision with input as t.bundle
	d.kind == "AgentExecutionRouteDecision"
	d.selected.lane == "standard"
}

test_personal_null_is_an_agent_bundle if {
	d := data.model_router.decision with input as t.with_request({"personal": null})
	d.kind == "AgentExecutionRouteDecision"
}

test_personal_bundle_is_decided_as_a_personal_route if {
	d := data.model_router.decision with input as t.with_request({"personal": {
		"bindingRef": "urn:socioprophet:model-router-binding:demo-user-local-llama32",
		"routeId": "local-router",
	}})
	d.kind == "LocalPersonalRouteDecision"
}

test_garbage_is_denied_never_undefined if {
	every bad in ["text", 42, [1], null, {}, {"request": "x"}] {
		d := data.model_router.decision with input as bad
		d.kind == "AgentExecutionRouteDecision"
		d.selected.status == "denied"
	}
}

test_malformed_personal_member_is_denied if {
	d := data.model_router.decision with input as t.with_request({"personal": "me"})
	d.kind == "AgentExecutionRouteDecision"
	d.selected.status == "denied"
	d.selected.reasons == ["invalid-request-field:personal"]
}
