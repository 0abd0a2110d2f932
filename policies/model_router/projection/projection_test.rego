package model_router.projection_test

import data.model_router.agent.testing_test as t
import data.model_router.projection

test_result_is_the_decision_with_its_projection if {
	r := projection.result with input as t.bundle
	r.decision == data.model_router.decision with input as t.bundle
	r.projection.guardrail.decision == "allow"
	r.projection.lane.outcome == "lane_selected"
	r.projection.lane.premium == false
}

test_batch_results_match_single_results if {
	b := {"bundles": [t.bundle, t.with_request({"taskClass": "no-such-class"})]}
	rs := data.model_router.batch.results with input as b
	rs[0] == projection.result with input as t.bundle
	rs[1].projection.guardrail.decision == "deny"
	rs[1].decision.selected.status == "denied"
}

test_a_result_that_is_no_decision_has_no_projection if {
	r := projection.result with data.model_router.decision as "just a string"
	r == {"decision": "just a string", "projection": null}
}

test_personal_projection if {
	p := projection.of({"kind": "LocalPersonalRouteDecision", "selected": {"target": "base-local", "status": "selected", "reason": "r"}})
	p.lane == null
	p.guardrail.decision == "allow"
}
