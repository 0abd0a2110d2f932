package model_router.agent.candidates_test

import data.model_router.agent.candidates
import data.model_router.agent.testing_test as t

test_every_candidate_is_evaluated if {
	candidates.evaluated == {"no-model", "local-cheap", "cheap", "standard", "high-end", "pro"} with input as t.bundle
	[c.lane | some c in candidates.candidate_set] == [
		"no-model",
		"local-cheap",
		"cheap",
		"standard",
		"high-end",
		"pro",
	] with input as t.bundle
}

test_feasible_lane_shape if {
	candidates.evaluation.standard == {
		"lane": "standard", "rank": 3, "feasible": true, "estimatedCost": 0.033,
		"costClass": "medium", "reasons": ["feasible"],
	} with input as t.bundle
}

test_infeasible_lane_lists_every_failure_in_table_order if {
	b := t.with_all(
		{"taskClass": "formatting-rewrite", "stage": "classification", "riskClass": "critical", "dataClass": "restricted"},
		{},
		{"providerQuotaRemainingShare": 0.1, "budget": {"task": {"spent": 1.9}}},
	)
	candidates.evaluation["high-end"].reasons == [
		"below-quality-floor:pro",
		"stage-max-without-escalation:cheap",
		"not-allowed-for-task-class",
		"premium-lane-requires-escalation-reason",
		"premium-lane-requires-escalation-receipt",
		"egress-approval-invalid:data-class",
		"data-class-forbids-egress",
		"premium-reserve-below-threshold",
		"budget-insufficient:task",
	] with input as b
	candidates.evaluation["high-end"].feasible == false with input as b
}

test_local_failures_come_before_budget if {
	b := t.with_all(
		{"taskClass": "log-triage", "stage": "classification", "riskClass": "low"},
		{"thermalState": "critical"},
		{"budget": {"task": {"spent": 1.9999}}},
	)
	candidates.evaluation["local-cheap"].reasons == ["thermal-critical", "budget-insufficient:task"] with input as b
	candidates.non_budget_failures["local-cheap"] == ["thermal-critical"] with input as b
	candidates.budget_failures["local-cheap"] == ["budget-insufficient:task"] with input as b
}

test_requested_lane_outside_the_candidate_order_is_evaluated if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"candidateOrder": ["no-model", "local-cheap", "cheap", "standard"]}}})
	b := t.with_request({"requestedLane": "pro"})
	candidates.evaluated == {"no-model", "local-cheap", "cheap", "standard", "pro"} with input as b with data.model_router_data as d
	count(candidates.candidate_set) == 4 with input as b with data.model_router_data as d
	candidates.evaluation.pro.lane == "pro" with input as b with data.model_router_data as d
}

test_deterministic_preference_is_noted_on_no_model if {
	b := t.with_request({"stage": "verification", "deterministicVerificationAvailable": true})
	candidates.evaluation["no-model"].reasons == ["feasible", "deterministic-verification-preferred"] with input as b
}

test_deterministic_preference_noted_on_an_infeasible_no_model if {
	b := t.with_all({"stage": "verification", "deterministicVerificationAvailable": true}, {}, {"budget": {"task": {"spent": 2.5}}})
	candidates.evaluation["no-model"].reasons == ["budget-insufficient:task", "deterministic-verification-preferred"] with input as b
}

test_all_referenced_lanes_resolve if {
	candidates.unresolved == set() with input as t.bundle
}

test_undeclared_candidate_lane if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"candidateOrder": ["no-model", "turbo", "standard"]}}})
	candidates.unresolved == {"turbo"} with input as t.bundle with data.model_router_data as d
}

test_unpriced_lane if {
	d := json.remove(data.model_router_data, [["priceCatalogs", data.model_router_data.active.priceCatalog, "lanes", "cheap"]])
	candidates.unresolved == {"cheap"} with input as t.with_request({"taskClass": "formatting-rewrite"}) with data.model_router_data as d
}
