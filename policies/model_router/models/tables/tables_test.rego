package model_router.models.tables_test

import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.models.catalog_test
import data.model_router.models.entries
import data.model_router.models.selection
import data.model_router.models.tables
import data.model_router.models.wiring

# The shared fixture with small limits, so that the limits leave candidates out.
limited := object.union(catalog_test.fixture, {"modelSelectionLimits": {"fallbacks": 1, "blockedPerLane": 1}})

# The fixture with its own tables, as router.policy_data stores them.
with_tables(base) := object.union(base, {"modelTables": built}) if {
	built := tables.build with data.model_router_data as base
}

slot(lane, profile) := {"lane": lane, "profileRef": profile}

requests := [{"slots": [slot(lane, profile)], "fallbackSlots": fallbacks, "taskClass": task} |
	some task in ["t-sum", "t-code"]
	some [lane, profile] in [
		["cheap", null], ["standard", null], ["local-cheap", "p2"],
		["local-cheap", null], ["high-end", null], ["no-such-lane", null],
	]
	some fallbacks in [
		[],
		[slot("local-cheap", "p1"), slot("cheap", null)],
		[slot("cheap", null), slot("standard", null), slot("local-cheap", null)],
		[slot("pro", null), slot("high-end", null)],
	]
]

test_tables_are_current_for_the_documents_they_were_built_from if {
	stored := with_tables(limited)
	entries.current == stored.modelTables with data.model_router_data as stored
}

test_tables_of_other_documents_are_not_used if {
	stored := with_tables(limited)
	not entries.current with data.model_router_data as object.union(stored, {"modelSelectionLimits": {"fallbacks": 2, "blockedPerLane": 1}})
	fewer := object.union(
		catalog_test.data_for(array.slice(catalog_test.models, 0, 9), catalog_test.policy, catalog_test.routes),
		{"modelSelectionLimits": limited.modelSelectionLimits, "modelTables": stored.modelTables},
	)
	not entries.current with data.model_router_data as fewer
	not entries.current with data.model_router_data as object.union(stored, {"active": {"modelCatalog": "urn:test:other"}})
	stricter := catalog_test.stamp(object.union(stored, {"routePolicies": {catalog_test.policy.policyRef: {
		"effective": {"minimumEvalConfidence": 0.9},
	}}}))
	not entries.current with data.model_router_data as stricter
	fewer_records := object.union(
		catalog_test.data_for(catalog_test.models, catalog_test.policy, object.remove(catalog_test.routes, ["r.pro-x"])),
		{"modelSelectionLimits": limited.modelSelectionLimits, "modelTables": stored.modelTables},
	)
	not entries.current with data.model_router_data as fewer_records
	more_models := catalog_test.stamp(object.union(stored, {"modelCatalogs": {"urn:test:catalog": {"order": []}}}))
	not entries.current with data.model_router_data as more_models
	unstamped := json.patch(stored, [{"op": "remove", "path": ["routeAuthorizations", "urn:test:mirror", "digest"]}])
	not entries.current with data.model_router_data as unstamped
	entries.digests.routeAuthorization == null with data.model_router_data as unstamped
}

test_tables_group_models_by_lane_locality_and_local_profile if {
	built := tables.build with data.model_router_data as limited
	{[g.lane, g.locality, g.localProfileRef, g.count] | some g in built.groups} == {
		["local-cheap", "local", "p1", 1], ["local-cheap", "local", "p2", 1], ["cheap", "hosted", null, 3],
		["standard", "hosted", null, 2], ["pro", "hosted", null, 1], ["high-end", "hosted", null, 2],
	}
	object.keys(built.tasks) == {"t-sum", "t-code"}
	every g in built.groups {
		g.roleReasons.primary == []
		g.roleReasons.none == ["lane-mismatch"]
	}
}

# the selection read from the tables is the selection from evaluating every model, with and without limits
test_tables_and_full_evaluation_select_the_same if {
	every base in [limited, catalog_test.fixture] {
		stored := with_tables(base)
		every request in requests {
			from_tables := selection.select(request) with data.model_router_data as stored
			evaluated := selection.select(request) with data.model_router_data as base
			from_tables == evaluated
		}
	}
}

test_tables_and_full_evaluation_agree_without_hosted_fallback if {
	policy := object.union(catalog_test.policy, {"allowHostedFallback": false})
	base := object.union(
		catalog_test.data_for(catalog_test.models, policy, catalog_test.routes),
		{"modelSelectionLimits": {"fallbacks": 2, "blockedPerLane": 2}},
	)
	stored := with_tables(base)
	every request in requests {
		from_tables := selection.select(request) with data.model_router_data as stored
		evaluated := selection.select(request) with data.model_router_data as base
		from_tables == evaluated
	}
}

test_the_tables_are_used_when_current if {
	stored := with_tables(limited)
	request := requests[0]
	selection.candidates(request) == selection.table_candidates(request, stored.modelTables) with data.model_router_data as stored
}

test_a_task_class_without_tables_is_evaluated_in_full if {
	stored := with_tables(limited)
	request := {"slots": [slot("cheap", null)], "fallbackSlots": [], "taskClass": "t-unknown"}
	not selection.table_candidates(request, stored.modelTables) with data.model_router_data as stored
	from_stored := selection.select(request) with data.model_router_data as stored
	from_stored == selection.select(request) with data.model_router_data as limited
	from_stored.model.reasons == ["no-eligible-candidates"]
}

test_limits_leave_out_and_count if {
	request := {"slots": [slot("standard", null)], "fallbackSlots": [slot("local-cheap", null), slot("cheap", null)], "taskClass": "t-sum"}
	result := selection.select(request) with data.model_router_data as with_tables(limited)
	result.model.modelRef == "m:std-a"
	[f.modelRef | some f in result.fallbacks] == ["m:std-b"]
	result.fallbacksOmitted == 3

	# one per lane, the best-scoring, in catalog order: cheap-low and he-noroute are left out
	[b.modelRef | some b in result.blockedCandidates] == ["m:cheap-top", "m:pro-x", "m:he-denied"]
	result.blockedCandidatesOmitted == 2
	result.blockedReasonCounts == {
		"unauthorized-unledgered-model": 2, "eval-confidence-below-threshold": 1,
		"lane-mismatch": 3, "unauthorized-no-governance-route": 1,
	}
}

# every fixture case decides the same with the stored tables and without them (full evaluation)
test_every_fixture_case_decides_the_same_without_the_tables if {
	data.model_router_data.modelTables
	differ := [name |
		some name, case in data.model_router_fixtures.cases
		from_tables := data.model_router.decision with input as case.input
		without := data.model_router.decision with input as case.input with data.model_router_data.modelTables as null
		from_tables != without
	]
	differ == []
}

# 40 copies of every fixture model (400 models, each with its own authorized or copied route record)
large_models := [object.union(m, {
	"modelRef": sprintf("%s-copy-%d", [m.modelRef, i]),
	"governanceRoute": sprintf("%s-copy-%d", [object.get(m, "governanceRoute", "none"), i]),
}) |
	some i in numbers.range(1, 40)
	some m in catalog_test.models
]

large_routes[route] := object.union(record, {"route_id": route}) if {
	some i in numbers.range(1, 40)
	some id, record in catalog_test.routes
	route := sprintf("%s-copy-%d", [id, i])
}

test_a_large_catalog_gives_a_bounded_selection if {
	limits := {"fallbacks": 8, "blockedPerLane": 4}
	base := object.union(catalog_test.data_for(large_models, catalog_test.policy, large_routes), {"modelSelectionLimits": limits})
	stored := with_tables(base)
	request := {"slots": [slot("standard", null)], "fallbackSlots": [slot("local-cheap", null), slot("cheap", null)], "taskClass": "t-sum"}
	result := selection.select(request) with data.model_router_data as stored
	count(result.fallbacks) == 8

	# eligible: std-a, std-b, loc-a, loc-b and cheap-ok of every copy; the selected one and 8 are listed
	result.fallbacksOmitted == (40 * 5) - 9

	# blocked: the other 200, of three lanes (cheap, pro, high-end), four of each listed
	count(result.blockedCandidates) == 4 * 3
	count(result.blockedCandidates) + result.blockedCandidatesOmitted == count(large_models) - (40 * 5)
	count(json.marshal(result)) < 16384
	result == selection.select(request) with data.model_router_data as base
}

# ---- agent-execution tables ----

test_agent_tables_are_current_for_the_loaded_policy_data if {
	stored := data.model_router_data.modelTables.agent
	config.tables == stored
	tables.agent == stored
	tables.build.agent == stored
}

test_agent_tables_hold_prices_in_pico_units_and_windows_in_micro_units if {
	built := tables.agent
	built.laneRates.cheap.default.base == 1000000000
	built.laneRates.cheap.default.rates.estimatedInputTokens == 150000
	built.laneRates["local-cheap"].default.rates.estimatedLocalRuntimeMinutes == 1500000000
	built.windows.task == {
		"maxSpend": 2.0,
		"maxMicros": 2000000,
		"ceilings": {"high": 500000, "maximum": 100000},
		"insufficient": "budget-insufficient:task",
		"share": {"high": "high-end-share-exceeded:task", "maximum": "pro-share-exceeded:task"},
	}
	built.noFailures == {lane: [] | some lane, _ in data.model_router_data.policies[data.model_router_data.active.policy].lanes}
	built.laneDefaults == {lane: cost.default_rates(rates) | some lane, rates in built.laneRates}
	built.laneDefaults.standard.inputRate == built.laneRates.standard.default.unitRates.estimatedInputTokens
	built.laneDefaults["no-model"].outputRate == 0
	built.pricedProfiles == {
		"urn:srcos:model-profile:local-llama32-1b": true,
		"urn:srcos:model-profile:local-llama32-3b": true,
	}
	built.laneTiers == {
		"no-model": "none", "local-cheap": "none", "cheap": "none", "standard": "none",
		"high-end": "high", "pro": "maximum",
	}
	built.checks.none == [
		["task", "none", "budget-insufficient:task"],
		["session", "none", "budget-insufficient:session"],
		["day", "none", "budget-insufficient:day"],
	]
	built.reasonWindows["pro-share-exceeded:session"] == "session"
	built.checks.maximum == array.concat(built.checks.none, [
		["task", "maximum", "pro-share-exceeded:task"],
		["session", "maximum", "pro-share-exceeded:session"],
		["day", "maximum", "pro-share-exceeded:day"],
	])
}

_active := data.model_router_data.active

# the loaded policy data with one value of an agent document's entry replaced, its digest stamped
# anew as router.policy_data stamps a changed entry
_changed(collection, id, path, value) := json.patch(data.model_router_data, [
	{"op": "replace", "path": array.concat([collection, id], path), "value": value},
	{"op": "add", "path": [collection, id, "digest"], "value": "sha256:changed"},
])

test_agent_tables_of_other_documents_are_not_used if {
	config.tables
	catalog := _changed("priceCatalogs", _active.priceCatalog, ["lanes", "standard", "defaultProfile", "pricing", "inputPerMillion"], 2)
	not config.tables with data.model_router_data as catalog
	windows := _changed("optimizers", _active.optimizer, ["windows", "task", "maxSpend"], 3)
	not config.tables with data.model_router_data as windows
	share := _changed("policies", _active.policy, ["document", "escalationPolicy", "budgetWindow", "highEndMaxShare"], 0.1)
	not config.tables with data.model_router_data as share
	not config.tables with data.model_router_data as object.union(data.model_router_data, {"active": {"policy": "urn:test:other"}})
	not config.tables with data.model_router_data.modelTables as null
}

test_no_agent_tables_without_agent_documents if {
	built := tables.build with data.model_router_data as limited
	not built.agent
}

# a request with one slot naming no profile and no fallback slots reads its fields from `solo`, for
# every lane and task class; they are the fields of the selection made by evaluating every model
test_solo_holds_the_selection_of_every_lone_lane if {
	every base in [limited, catalog_test.fixture] {
		built := tables.build with data.model_router_data as base
		every task in ["t-sum", "t-code"] {
			every lane, stored in built.byRequirement[built.tasks[task]].solo {
				picked := selection.select({"slots": [slot(lane, null)], "fallbackSlots": [], "taskClass": task}) with data.model_router_data as base
				stored == {"fields": wiring.fields(picked), "deferReason": picked.deferReason}
			}
		}
		object.keys(built.byRequirement[0].solo) == {"local-cheap", "cheap", "standard", "pro", "high-end"}
	}
}

# a catalog whose lanes are not each in one run of catalog order, or with a model without a lane, is
# not read lane by lane; every request still selects the same with the tables as without
test_lanes_out_of_catalog_order_select_the_same if {
	interleaved := [model | some i in [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]; model := catalog_test.models[i]]
	base := object.union(
		catalog_test.data_for(interleaved, catalog_test.policy, catalog_test.routes),
		{"modelSelectionLimits": {"fallbacks": 1, "blockedPerLane": 1}},
	)
	stored := with_tables(base)
	stored.modelTables.lanesContiguous == false
	every request in requests {
		from_tables := selection.select(request) with data.model_router_data as stored
		from_tables == selection.select(request) with data.model_router_data as base
	}
	laneless := array.concat(catalog_test.models, [object.union(catalog_test.models[0], {"modelRef": "m:no-lane", "lane": null})])
	tables.lanes_contiguous == false with data.model_router_data as catalog_test.data_for(laneless, catalog_test.policy, catalog_test.routes)
}

test_contiguous_lanes_are_read_lane_by_lane if {
	stored := with_tables(limited)
	stored.modelTables.lanesContiguous == true
	task := stored.modelTables.byRequirement[stored.modelTables.tasks["t-sum"]]
	[lane | some [lane, _] in task.noneListed] == ["local-cheap", "cheap", "standard", "pro", "high-end"]
	task.pieces.cheap.primary.countChange == {"lane-mismatch": -3}
}

# the lane pieces count the authorized models of a primary lane: authorized but ineligible models give
# no-eligible-candidates, not no-authorized-candidates, read from the pieces as in full
test_an_authorized_but_ineligible_lane_reads_the_same_from_the_lane_pieces if {
	odd := [object.union(catalog_test.model("m:odd", "r.odd", "cheap", "hosted", "medium", "low", "low", 0.8), {"qualityTier": "stellar"})]
	base := object.union(
		catalog_test.data_for(odd, catalog_test.policy, {"r.odd": catalog_test.authorized("r.odd")}),
		{"modelSelectionLimits": limited.modelSelectionLimits},
	)
	stored := with_tables(base)
	stored.modelTables.lanesContiguous == true
	request := {"slots": [slot("cheap", null)], "fallbackSlots": [slot("standard", null)], "taskClass": "t-sum"}
	from_stored := selection.select(request) with data.model_router_data as stored
	from_stored == selection.select(request) with data.model_router_data as base
	from_stored.model.reasons == ["no-eligible-candidates"]
}
