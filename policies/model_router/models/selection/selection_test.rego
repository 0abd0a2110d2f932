package model_router.models.selection_test

import data.model_router.models.catalog_test
import data.model_router.models.selection

fixture := catalog_test.fixture

req(lane, fallback_lanes) := {
	"slots": [{"lane": lane, "profileRef": null}],
	"fallbackSlots": [{"lane": l, "profileRef": null} | some l in fallback_lanes],
	"taskClass": "t-sum",
}

refs(entries) := [e.modelRef | some e in entries]

blocked(result) := {e.modelRef: e.reasons | some e in result.blockedCandidates}

test_unauthorized_top_scorer_is_never_selected_nor_a_fallback if {
	result := selection.select(req("cheap", ["local-cheap", "standard"])) with data.model_router_data as fixture
	result.model == {
		"status": "selected", "modelRef": "m:cheap-ok", "governanceRoute": "r.cheap-ok",
		"score": 0.6875, "reasons": ["model-selected"],
	}
	not "m:cheap-top" in refs(result.fallbacks)
	blocked(result)["m:cheap-top"] == ["unauthorized-unledgered-model"]
	some e in result.blockedCandidates
	e.modelRef == "m:cheap-top"
	e.score == 0.84
}

test_low_eval_confidence_is_skipped_for_the_next_model if {
	result := selection.select(req("cheap", [])) with data.model_router_data as fixture
	result.model.modelRef == "m:cheap-ok"
	blocked(result)["m:cheap-low"] == ["eval-confidence-below-threshold"]
	result.fallbacks == []
}

test_fallbacks_follow_the_chosen_lane_then_feasible_lanes_in_order if {
	result := selection.select(req("standard", ["local-cheap", "cheap"])) with data.model_router_data as fixture
	result.model.modelRef == "m:std-a"
	result.model.score == 0.774
	result.fallbacks == [
		{"modelRef": "m:std-b", "lane": "standard", "governanceRoute": "r.std-b", "score": 0.6565},
		{"modelRef": "m:loc-a", "lane": "local-cheap", "governanceRoute": "r.loc-a", "score": 0.8235},
		{"modelRef": "m:loc-b", "lane": "local-cheap", "governanceRoute": "r.loc-b", "score": 0.6745},
		{"modelRef": "m:cheap-ok", "lane": "cheap", "governanceRoute": "r.cheap-ok", "score": 0.6875},
	]
}

test_models_of_lanes_not_admitted_are_lane_mismatch if {
	result := selection.select(req("standard", [])) with data.model_router_data as fixture
	blocked(result)["m:pro-x"] == ["lane-mismatch"]
	blocked(result)["m:loc-a"] == ["lane-mismatch"]
	blocked(result)["m:he-noroute"] == ["unauthorized-no-governance-route", "lane-mismatch"]
	every f in result.fallbacks {
		f.lane == "standard"
	}
}

test_blocked_candidates_keep_catalog_order if {
	result := selection.select(req("standard", [])) with data.model_router_data as fixture
	refs(result.blockedCandidates) == [
		"m:loc-a", "m:loc-b", "m:cheap-top", "m:cheap-ok",
		"m:cheap-low", "m:pro-x", "m:he-denied", "m:he-noroute",
	]
}

test_hosted_fallback_not_allowed_keeps_only_local_fallbacks if {
	policy := object.union(catalog_test.policy, {"allowHostedFallback": false})
	no_hosted := catalog_test.data_for(catalog_test.models, policy, catalog_test.routes)
	result := selection.select(req("local-cheap", ["cheap", "standard"])) with data.model_router_data as no_hosted
	result.model.modelRef == "m:loc-a"
	refs(result.fallbacks) == ["m:loc-b"]
	blocked(result)["m:cheap-ok"] == ["hosted-fallback-not-allowed"]
	blocked(result)["m:std-a"] == ["hosted-fallback-not-allowed"]
}

test_no_authorized_candidates_defers if {
	result := selection.select(req("high-end", ["cheap"])) with data.model_router_data as fixture
	result.model == {"status": "blocked", "modelRef": null, "governanceRoute": null, "score": null, "reasons": ["no-authorized-candidates"]}
	result.deferReason == "no-authorized-candidates"
	result.fallbacks == []
}

test_no_eligible_candidates_defers if {
	code_task := object.union(req("cheap", ["standard"]), {"taskClass": "t-reason"})
	result := selection.select(code_task) with data.model_router_data as fixture
	result.model.status == "blocked"
	result.model.reasons == ["no-eligible-candidates"]
	result.deferReason == "no-eligible-candidates"
	blocked(result)["m:cheap-ok"] == ["task-not-supported"]
}

test_lane_without_catalog_models_is_blocked_but_not_deferred if {
	result := selection.select(req("no-such-lane", ["cheap"])) with data.model_router_data as fixture
	result.model.status == "blocked"
	result.model.reasons == ["no-authorized-candidates"]
	result.deferReason == null
}

test_prefer_local_wins_a_near_tie if {
	# hosted: 0.35*0.65 + 0.3*0.9 + 0.2*0.35 + 0.1 + 0.05 = 0.7175
	# local:  0.35*0.65 + 0.3*0.8 + 0.2*1.0 + 0.1 + 0.05 = 0.8175 (without preferLocal 0.7675 vs 0.7975)
	pair := [
		catalog_test.model("m:hosted", "r.h", "cheap", "hosted", "medium", "low", "low", 0.9),
		catalog_test.model("m:local", "r.l", "cheap", "local", "medium", "low", "low", 0.8),
	]
	recs := {"r.h": catalog_test.authorized("r.h"), "r.l": catalog_test.authorized("r.l")}
	local_first := selection.select(req("cheap", [])) with data.model_router_data as catalog_test.data_for(pair, catalog_test.policy, recs)
	local_first.model.modelRef == "m:local"
	local_first.model.score == 0.8175
	neutral := object.union(catalog_test.policy, {"preferLocal": false})
	no_pref := selection.select(req("cheap", [])) with data.model_router_data as catalog_test.data_for(pair, neutral, recs)
	no_pref.model.modelRef == "m:hosted"
	no_pref.model.score == 0.7975
}

test_exact_tie_prefers_local_then_catalog_order if {
	neutral := object.union(catalog_test.policy, {"preferLocal": false})
	trio := [
		catalog_test.model("m:h1", "r.h1", "cheap", "hosted", "medium", "low", "low", 0.8),
		catalog_test.model("m:h2", "r.h2", "cheap", "hosted", "medium", "low", "low", 0.8),
		catalog_test.model("m:l1", "r.l1", "cheap", "local", "medium", "low", "low", 0.8),
	]
	recs := {r: catalog_test.authorized(r) | some r in ["r.h1", "r.h2", "r.l1"]}
	result := selection.select(req("cheap", [])) with data.model_router_data as catalog_test.data_for(trio, neutral, recs)
	result.model.modelRef == "m:l1"
	refs(result.fallbacks) == ["m:h1", "m:h2"]
}

test_profile_restricts_local_models if {
	profiled := {
		"slots": [{"lane": "local-cheap", "profileRef": "p2"}],
		"fallbackSlots": [{"lane": "local-cheap", "profileRef": "p1"}],
		"taskClass": "t-sum",
	}
	result := selection.select(profiled) with data.model_router_data as fixture
	result.model.modelRef == "m:loc-b"
	refs(result.fallbacks) == ["m:loc-a"]
}

test_unscorable_model_is_blocked if {
	odd := [object.union(catalog_test.model("m:odd", "r.odd", "cheap", "hosted", "medium", "low", "low", 0.8), {"qualityTier": "stellar"})]
	odd_data := catalog_test.data_for(odd, catalog_test.policy, {"r.odd": catalog_test.authorized("r.odd")})
	result := selection.select(req("cheap", [])) with data.model_router_data as odd_data
	result.blockedCandidates == [{
		"modelRef": "m:odd", "lane": "cheap", "governanceRoute": "r.odd",
		"score": null, "reasons": ["score-unavailable"],
	}]
	result.model.reasons == ["no-eligible-candidates"]
}

test_role_of if {
	m := catalog_test.model("m:x", "r.x", "cheap", "hosted", "medium", "low", "low", 0.8)
	selection.role_of(m, req("cheap", [])) == "primary"
	selection.role_of(m, req("standard", ["cheap"])) == "fallback"
	selection.role_of(m, req("standard", ["pro"])) == "none"
}

# placements agree with role_of for every catalog model, including a slot whose lane is not a string
test_placements_agree_with_role_of if {
	every r in [
		req("cheap", ["local-cheap", "standard"]),
		req("standard", ["cheap", "local-cheap"]),
		req("pro", []),
		{
			"slots": [{"lane": "local-cheap", "profileRef": "p2"}],
			"fallbackSlots": [{"lane": "local-cheap", "profileRef": "p1"}, {"lane": null, "profileRef": null}],
			"taskClass": "t-sum",
		},
	] {
		places := selection.placements(r) with data.model_router_data as fixture
		count(places) == count(catalog_test.models)
		every m in catalog_test.models {
			places[m.modelRef][0] == selection.role_of(m, r)
		}
	}
}

test_placement_groups_follow_the_fallback_slots if {
	places := selection.placements(req("standard", ["pro", "cheap", "local-cheap"])) with data.model_router_data as fixture
	places["m:std-a"] == ["primary", 0]
	places["m:cheap-ok"] == ["fallback", 2]
	places["m:loc-a"] == ["fallback", 3]
	places["m:he-denied"] == ["none", -1]
}

test_sources_name_the_documents_used if {
	result := selection.select(req("cheap", [])) with data.model_router_data as fixture
	result.sources.modelCatalogRef == "urn:test:catalog"
	result.sources.routePolicyRef == "policy://test/local-first"
}

test_score_units_change_no_selection if {
	every r in [req("cheap", ["local-cheap", "standard"]), req("standard", ["local-cheap", "cheap"]), req("local-cheap", ["cheap"])] {
		with_units := selection.select(r) with data.model_router_data as catalog_test.fixture_with_units
		without := selection.select(r) with data.model_router_data as fixture
		with_units == without
	}
}
