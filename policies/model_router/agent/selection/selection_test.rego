package model_router.agent.selection_test

import data.model_router.agent.selection
import data.model_router.agent.testing_test as t

_triage := {"taskClass": "log-triage", "stage": "classification", "riskClass": "low"}

_formatting := {"taskClass": "formatting-rewrite", "stage": "intake", "riskClass": "low"}

_review_escalated := {"stage": "review", "requestedLane": "high-end", "escalation": t.valid_escalation}

_outcome(b) := o if {
	o := selection.outcome with input as b
}

_outcome_with(b, d) := o if {
	o := selection.outcome with input as b with data.model_router_data as d
}

test_nothing_requested_selects_the_cheapest_feasible_lane if {
	_outcome(t.bundle) == {
		"lane": "standard", "status": "selected", "reasons": ["selected-cheapest-feasible"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
	_outcome(t.with_request(_triage)).lane == "local-cheap"
}

test_feasible_sets if {
	selection.feasible == {"standard"} with input as t.bundle
	selection.feasible_ignoring_budget == {"standard"} with input as t.bundle
	selection.feasible == {"local-cheap", "cheap"} with input as t.with_request(_triage)
}

test_requested_lane_that_is_best_is_selected if {
	o := _outcome(t.with_request({"requestedLane": "standard"}))
	o.status == "selected"
	o.reasons == ["selected-cheapest-feasible"]
}

test_cheaper_feasible_lane_wins_without_escalation if {
	o := _outcome(t.with_request(object.union(_formatting, {"requestedLane": "standard"})))
	o.lane == "cheap"
	o.status == "downgraded"
	o.reasons == ["requested-lane-not-optimal-or-feasible:standard"]
}

test_premium_request_without_escalation_is_downgraded if {
	o := _outcome(t.with_request({"requestedLane": "high-end"}))
	o.lane == "standard"
	o.status == "downgraded"
}

test_explicit_escalation_wins if {
	o := _outcome(t.with_request(_review_escalated))
	o.lane == "high-end"
	o.status == "selected"
	o.reasons == ["escalation-accepted"]
	o2 := _outcome(t.with_request(object.union(
		_formatting,
		{"requestedLane": "standard", "escalation": {"reason": "conflicting-evidence-resolution"}},
	)))
	o2.lane == "standard"
	o2.reasons == ["escalation-accepted"]
}

test_never_silently_upgrade if {
	b := t.with_all(object.union(_triage, {"requestedLane": "local-cheap"}), {"thermalState": "critical"}, {})
	_outcome(b) == {
		"lane": null, "status": "deferred", "reasons": ["upgrade-requires-explicit-request:local-cheap"],
		"suggestedLane": "cheap", "requiresHumanApproval": false,
	}
}

test_upgrade_allowed_when_the_optimizer_says_so if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"neverSilentlyUpgrade": false}}})
	b := t.with_all(object.union(_triage, {"requestedLane": "local-cheap"}), {"thermalState": "critical"}, {})
	o := _outcome_with(b, d)
	o.lane == "cheap"
	o.status == "selected"
}

_no_feasible := t.with_resources({"networkAvailable": false})

test_no_feasible_candidate_follows_on_violation if {
	_outcome(_no_feasible) == {
		"lane": null, "status": "deferred", "reasons": ["no-feasible-candidate"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
	_outcome_with(_no_feasible, t.with_policy({"document": {"enforcement": {"onViolation": "deny"}}})).status == "denied"
	_outcome_with(_no_feasible, t.with_policy({"document": {"enforcement": {"onViolation": "quarantine"}}})).status == "quarantined"
	_outcome_with(_no_feasible, t.with_policy({"document": {"enforcement": {"onViolation": "shrug"}}})).status == "denied"
}

test_budget_exhausted_denies if {
	b := t.with_quota({"budget": {"session": {"spent": 20}}})
	_outcome(b) == {
		"lane": null, "status": "denied", "reasons": ["budget-exhausted:session"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
}

test_exhausted_budget_without_deny_flag_is_budget_pressure if {
	d := t.with_optimizer({"document": {"enforcement": {"denyOnBudgetExhausted": false}}})
	b := t.with_quota({"budget": {"session": {"spent": 20}}})
	o := _outcome_with(b, d)
	o.status == "deferred"
	o.reasons == ["no-feasible-candidate", "budget-pressure:session"]
}

_pressure := t.with_all(_review_escalated, {}, {"budget": {"task": {"highEndSpent": 0.3}}})

test_budget_pressure_downgrades if {
	selection.pressure_window == "task" with input as _pressure
	_outcome(_pressure) == {
		"lane": "standard", "status": "downgraded",
		"reasons": ["budget-pressure:task", "requested-lane-not-optimal-or-feasible:high-end"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
}

_on_pressure(action) := t.with_optimizer({"document": {"budgetPolicy": {"onBudgetPressure": action}}})

test_budget_pressure_deny if {
	o := _outcome_with(_pressure, _on_pressure("deny"))
	o.status == "denied"
	o.reasons == ["budget-pressure:task"]
	o.lane == null
}

test_budget_pressure_defer if {
	o := _outcome_with(_pressure, _on_pressure("defer"))
	o.status == "deferred"
	o.suggestedLane == "standard"
	o.requiresHumanApproval == false
}

test_budget_pressure_defer_without_a_cheaper_lane if {
	b := t.with_quota({"budget": {"session": {"spent": 19.99}}})
	o := _outcome_with(b, _on_pressure("defer"))
	o.status == "deferred"
	o.suggestedLane == null
}

test_budget_pressure_requires_human_approval if {
	o := _outcome_with(_pressure, _on_pressure("require-human-approval"))
	o.status == "deferred"
	o.requiresHumanApproval == true
	o.suggestedLane == "high-end"
	o.reasons == ["budget-pressure:task"]
}

test_unknown_budget_pressure_action_denies if {
	_outcome_with(_pressure, _on_pressure("panic")).status == "denied"
}

test_budget_pressure_without_a_cheaper_lane if {
	b := t.with_quota({"budget": {"session": {"spent": 19.99}}})
	_outcome(b) == {
		"lane": null, "status": "deferred", "reasons": ["no-feasible-candidate", "budget-pressure:session"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
}

test_no_budget_pressure_when_the_winner_fits if {
	not selection.pressure_window with input as t.bundle
}

_verification := {"stage": "verification", "deterministicVerificationAvailable": true}

test_deterministic_verification_picks_no_model if {
	_outcome(t.with_request(_verification)) == {
		"lane": "no-model", "status": "selected", "reasons": ["deterministic-verification-preferred"],
		"suggestedLane": null, "requiresHumanApproval": false,
	}
}

test_deterministic_verification_downgrades_a_model_request if {
	o := _outcome(t.with_request(object.union(_verification, {"requestedLane": "standard", "escalation": t.valid_escalation})))
	o.lane == "no-model"
	o.status == "downgraded"
	o.reasons == ["requested-lane-not-optimal-or-feasible:standard", "deterministic-verification-preferred"]
}

test_sort_key_follows_the_tie_breakers if {
	selection.sort_key("standard") == [33000, 1, -0.8, 0.01, 4000, 1, 3, "standard"] with input as t.bundle
	selection.sort_key("local-cheap") == [500, 0, -1, 0, 0, 0, 1, "local-cheap"] with input as t.bundle
}

_dear_local := t.with_catalog({"lanes": {"local-cheap": {"defaultProfile": {"pricing": {"minCost": 0.01}}}}})

test_lower_cost_first if {
	_outcome_with(t.with_request(_triage), _dear_local).lane == "cheap"
}

test_local_first_when_declared_first if {
	d := object.union(
		_dear_local,
		{"optimizers": {data.model_router_data.active.optimizer: {"document": {"selectionPolicy": {"tieBreakers": [
			"local-first",
			"lower-cost",
		]}}}}},
	)
	_outcome_with(t.with_request(_triage), d).lane == "local-cheap"
}

test_each_tie_breaker_prefers_local_at_equal_cost if {
	every tie_breaker in ["higher-quota-remaining", "higher-provider-health", "lower-latency", "less-context-egress"] {
		d := object.union(
			_dear_local,
			{"optimizers": {data.model_router_data.active.optimizer: {"document": {"selectionPolicy": {"tieBreakers": [
				tie_breaker,
				"lower-cost",
			]}}}}},
		)
		_outcome_with(t.with_request(_triage), d).lane == "local-cheap"
	}
}

test_unknown_tie_breakers_are_ignored if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"tieBreakers": ["fastest-vibes", "lower-cost"]}}})
	selection.sort_key("standard") == [33000, 3, "standard"] with input as t.bundle with data.model_router_data as d
}

test_rank_breaks_the_final_tie if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"tieBreakers": ["local-first"]}}})
	selection.best({"cheap", "standard"}) == "cheap" with input as t.bundle with data.model_router_data as d
}

test_best_of_one_lane_is_that_lane if {
	selection.best({"pro"}) == "pro" with input as t.bundle
	not selection.best({"turbo"}) with input as t.bundle
}

test_best_of_nothing_is_undefined if {
	not selection.best(set()) with input as t.bundle
}

test_plan_via if {
	selection.plan(set()) == {"lane": null, "via": "none"} with input as t.bundle
	selection.plan({"standard"}) == {"lane": "standard", "via": "cheapest"} with input as t.bundle
	selection.plan({"standard", "high-end"}) == {
		"lane": "standard",
		"via": "upgrade",
	} with input as t.with_request({"requestedLane": "cheap"})
	selection.plan({"cheap", "standard"}) == {"lane": "cheap", "via": "within"} with input as t.with_request({"requestedLane": "standard"})
}

test_no_feasible_status_from_the_policy if {
	selection.no_feasible_status == "deferred"
}
