package model_router.models.wiring_test

import data.model_router.models.catalog_test
import data.model_router.models.selection
import data.model_router.models.tables_test
import data.model_router.models.wiring

fixture := catalog_test.fixture

candidate(lane, rank, cost, feasible) := {
	"lane": lane, "rank": rank, "feasible": feasible,
	"estimatedCost": cost, "costClass": "low", "reasons": [],
}

agent(lane, status, cost_class) := {
	"kind": "AgentExecutionRouteDecision",
	"input": {"taskClass": "t-sum"},
	"selected": {
		"lane": lane, "status": status, "reason": "feasible", "reasons": ["feasible"],
		"costClass": cost_class, "suggestedLane": null,
	},
	"resources": {},
	"candidateSet": [
		candidate("no-model", 0, 0, false),
		candidate("local-cheap", 1, 0.0005, true),
		candidate("cheap", 2, 0.002, true),
		candidate("standard", 3, 0.02, true),
		candidate("high-end", 4, 0.25, false),
		candidate("pro", 5, 0.5, false),
	],
}

personal(target, profile, status) := {
	"kind": "LocalPersonalRouteDecision",
	"input": {"taskClass": "t-sum"},
	"selected": {"target": target, "profileRef": profile, "status": status, "reason": "admissible", "reasons": ["admissible"]},
	"targets": [
		{"target": "base-local", "profileRef": "p1", "admissible": false, "reasons": ["thermal-critical"]},
		{"target": "quality-local", "profileRef": "p2", "admissible": true, "reasons": []},
		{"target": "hosted", "profileRef": null, "admissible": true, "reasons": []},
	],
	"egress": {"allowed": false, "approvalRef": null},
}

test_agent_decision_names_model_and_fallbacks_from_feasible_lanes_only if {
	out := wiring.for_decision(agent("cheap", "selected", "low")) with data.model_router_data as fixture
	out.model.modelRef == "m:cheap-ok"
	[f.modelRef | some f in out.fallbacks] == ["m:loc-a", "m:loc-b", "m:std-a", "m:std-b"]
	not out.selected
	out.modelSelection.modelCatalogRef == "urn:test:catalog"
	some b in out.blockedCandidates
	b.modelRef == "m:pro-x"
	b.reasons == ["lane-mismatch"]
}

test_agent_fallback_lanes_are_ordered_by_estimated_cost if {
	decision := agent("standard", "downgraded", "medium")
	reordered := object.union(decision, {"candidateSet": [
		candidate("cheap", 2, 0.002, true),
		candidate("local-cheap", 1, 0.0005, true),
		candidate("standard", 3, 0.02, true),
	]})
	req := wiring.request(reordered) with data.model_router_data as fixture
	req.slots == [{"lane": "standard", "profileRef": null}]
	[s.lane | some s in req.fallbackSlots] == ["local-cheap", "cheap"]
}

test_agent_local_profile_restricts_local_models if {
	decision := object.union(agent("local-cheap", "selected", "low"), {"resources": {"localProfileRef": "p2"}})
	out := wiring.for_decision(decision) with data.model_router_data as fixture
	out.model.modelRef == "m:loc-b"
	not "m:loc-a" in {f.modelRef | some f in out.fallbacks}
}

test_agent_lane_with_no_cost_needs_no_model if {
	out := wiring.for_decision(agent("no-model", "selected", "none")) with data.model_router_data as fixture
	out == {
		"model": null, "fallbacks": [], "fallbacksOmitted": 0,
		"blockedCandidates": [], "blockedCandidatesOmitted": 0, "blockedReasonCounts": {},
		"modelSelection": catalog_test.fixture_refs,
	}
}

test_agent_decision_without_a_lane_needs_no_model if {
	out := wiring.for_decision(agent(null, "denied", null)) with data.model_router_data as fixture
	out.model == null
	out.fallbacks == []
}

test_agent_lane_whose_models_are_all_unauthorized_is_deferred if {
	out := wiring.for_decision(agent("high-end", "selected", "high")) with data.model_router_data as fixture
	out.model.status == "blocked"
	out.selected == {
		"lane": null, "suggestedLane": "high-end", "status": "deferred",
		"reason": "no-authorized-candidates", "reasons": ["no-authorized-candidates", "feasible"],
	}
	out.fallbacks == []
}

test_personal_local_target_maps_to_its_profile_and_admissible_fallbacks if {
	out := wiring.for_decision(personal("quality-local", "p2", "fallback")) with data.model_router_data as fixture
	out.model.modelRef == "m:loc-b"
	[f.modelRef | some f in out.fallbacks] == ["m:cheap-ok", "m:std-a", "m:std-b"]
}

test_personal_hosted_target_maps_to_the_policy_target_lanes if {
	req := wiring.request(personal("hosted", null, "selected")) with data.model_router_data as fixture
	req.slots == [{"lane": "cheap", "profileRef": null}, {"lane": "standard", "profileRef": null}]
	req.fallbackSlots == [{"lane": "local-cheap", "profileRef": "p2"}]
	out := wiring.for_decision(personal("hosted", null, "selected")) with data.model_router_data as fixture
	out.model.modelRef == "m:std-a"
	[f.modelRef | some f in out.fallbacks] == ["m:cheap-ok", "m:std-b", "m:loc-b"]
}

test_personal_target_whose_models_cannot_serve_is_deferred if {
	no_code := object.union(personal("quality-local", "p2", "fallback"), {"input": {"taskClass": "t-reason"}})
	out := wiring.for_decision(no_code) with data.model_router_data as fixture
	out.selected.status == "deferred"
	out.selected.reason == "no-eligible-candidates"
	out.selected.target == null
	out.egress == {"allowed": false}
}

test_personal_denied_decision_needs_no_model if {
	out := wiring.for_decision(personal(null, null, "denied")) with data.model_router_data as fixture
	out.model == null
}

test_without_model_documents_the_decision_is_left_as_it_is if {
	decision := agent("cheap", "selected", "low")
	wiring.for_decision(decision) == {} with data.model_router_data as {}
	wiring.with_model(decision) == decision with data.model_router_data as {}
}

test_with_model_merges_the_fields_into_the_decision if {
	decision := agent("high-end", "selected", "high")
	merged := wiring.with_model(decision) with data.model_router_data as fixture
	merged.kind == "AgentExecutionRouteDecision"
	merged.candidateSet == decision.candidateSet
	merged.selected.status == "deferred"
	merged.selected.costClass == "high"
	merged.model.reasons == ["no-authorized-candidates"]
}

test_with_model_leaves_non_objects_alone if {
	wiring.with_model("stub") == "stub" with data.model_router_data as fixture
}

test_unknown_decision_kind_needs_no_model if {
	out := wiring.for_decision({"kind": "Other", "selected": {"lane": "cheap", "status": "selected"}}) with data.model_router_data as fixture
	out.model == null
}

test_uncapped_lists_every_fallback_and_blocked_candidate if {
	limited := object.union(fixture, {"modelSelectionLimits": {"fallbacks": 1, "blockedPerLane": 1}})
	decision := agent("cheap", "selected", "low")
	capped := wiring.for_decision(decision) with data.model_router_data as limited
	count(capped.fallbacks) == 1
	full := wiring.uncapped(decision) with data.model_router_data as limited
	count(full.fallbacks) == count(capped.fallbacks) + capped.fallbacksOmitted
	count(full.blockedCandidates) == count(capped.blockedCandidates) + capped.blockedCandidatesOmitted
	full.blockedReasonCounts == capped.blockedReasonCounts
	wiring.uncapped(agent("no-model", "selected", "none")) == {} with data.model_router_data as limited
}

# an agent decision whose chosen lane is its only feasible one: a request with one slot and no fallbacks
alone(lane, status) := object.union(agent(lane, status, "low"), {"candidateSet": [candidate(lane, 1, 0.002, true)]})

test_a_lone_lane_is_read_from_the_tables_and_decides_the_same if {
	stored := tables_test.with_tables(tables_test.limited)
	every lane in ["local-cheap", "cheap", "standard", "high-end", "pro", "no-such-lane"] {
		from_tables := wiring.for_decision(alone(lane, "selected")) with data.model_router_data as stored
		from_tables == wiring.for_decision(alone(lane, "selected")) with data.model_router_data as tables_test.limited
	}
}

test_only_current_tables_hold_a_lone_lane if {
	stored := tables_test.with_tables(tables_test.limited)
	lone := {"slots": [{"lane": "cheap", "profileRef": null}], "fallbackSlots": [], "taskClass": "t-sum"}
	selection.solo(lone) with data.model_router_data as stored
	not selection.solo(lone) with data.model_router_data as tables_test.limited
	not selection.solo(object.union(lone, {"fallbackSlots": [{"lane": "standard", "profileRef": null}]})) with data.model_router_data as stored
}

test_a_lone_lane_that_defers_is_read_from_the_tables if {
	stored := tables_test.with_tables(fixture)
	out := wiring.for_decision(alone("high-end", "selected")) with data.model_router_data as stored
	out.selected.status == "deferred"
	out.selected.reason == "no-authorized-candidates"
	out == wiring.for_decision(alone("high-end", "selected")) with data.model_router_data as fixture
	tables := stored.modelTables
	tables.byRequirement[tables.tasks["t-sum"]].solo["high-end"].deferReason == "no-authorized-candidates"
}

test_fields_are_the_selection_as_a_decision_carries_it if {
	decision := agent("cheap", "selected", "low")
	picked := selection.select(wiring.request(decision)) with data.model_router_data as fixture
	wiring.fields(picked) == wiring.for_decision(decision) with data.model_router_data as fixture
}
