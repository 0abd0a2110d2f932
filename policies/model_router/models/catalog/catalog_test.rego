package model_router.models.catalog_test

import data.model_router.models.catalog

# Shared fixtures for the model_router.models test packages: data_for builds the keyed views that
# router.model_data assembles, from a model list, a route policy and authorization records.

policy := {
	"policyRef": "policy://test/local-first",
	"privacyMode": "local-first",
	"preferLocal": true,
	"allowHostedFallback": true,
	"minimumEvalConfidence": 0.75,
	"allowedLocalities": ["local", "hosted"],
	"requiredGuardrailCompatibility": true,
	"scoreWeights": {"quality": 0.35, "evalConfidence": 0.3, "locality": 0.2, "cost": 0.1, "latency": 0.05},
	"scoreTiers": {
		"quality": {"low": 0.25, "medium": 0.65, "high": 1.0},
		"cost": {"low": 1.0, "medium": 0.6, "high": 0.25},
		"latency": {"low": 1.0, "medium": 0.6, "high": 0.25},
		"locality": {
			"preferLocal": {"local": 1.0, "hosted": 0.35},
			"noPreference": {"local": 0.75, "hosted": 0.75},
		},
	},
	"taskRequirements": {"t-sum": ["summarize"], "t-code": ["code"]},
	"targetLanes": {"base-local": ["local-cheap"], "quality-local": ["local-cheap"], "hosted": ["cheap", "standard"]},
}

model(ref, route, lane, locality, quality, cost, latency, confidence) := {
	"modelRef": ref,
	"governanceRoute": route,
	"lane": lane,
	"locality": locality,
	"sizeClass": "small",
	"qualityTier": quality,
	"costTier": cost,
	"latencyTier": latency,
	"evalConfidence": confidence,
	"guardrailCompatible": true,
	"supportedTasks": ["summarize", "code"],
}

authorized(route) := record(route, "authorized", true)

proposed(route) := record(route, "proposed", false)

record(route, status, flag) := {
	"route_id": route,
	"status": status,
	"authorized": flag,
	"promotion_evidence_present": flag,
	"ledger_entry": "model://x",
}

# expected scores (hand computed, demo weights, preferLocal) are noted beside each model
models := [
	object.union(model("m:loc-a", "r.loc-a", "local-cheap", "local", "medium", "low", "low", 0.82), {"localProfileRef": "p1"}), # 0.8235
	object.union(model("m:loc-b", "r.loc-b", "local-cheap", "local", "low", "low", "low", 0.79), {"localProfileRef": "p2"}), # 0.6745
	model("m:cheap-top", "r.cheap-top", "cheap", "hosted", "high", "low", "low", 0.9), # 0.84, route only proposed
	model("m:cheap-ok", "r.cheap-ok", "cheap", "hosted", "medium", "low", "low", 0.8), # 0.6875
	model("m:cheap-low", "r.cheap-low", "cheap", "hosted", "high", "low", "low", 0.7), # 0.78, below the eval floor
	model("m:std-a", "r.std-a", "standard", "hosted", "high", "medium", "medium", 0.88), # 0.774
	model("m:std-b", "r.std-b", "standard", "hosted", "medium", "medium", "low", 0.83), # 0.6565
	model("m:pro-x", "r.pro-x", "pro", "hosted", "high", "high", "high", 0.91), # 0.7305
	model("m:he-denied", "r.he-denied", "high-end", "hosted", "high", "high", "medium", 0.93), # 0.754, unauthorized
	object.remove(model("m:he-noroute", "", "high-end", "hosted", "high", "high", "medium", 0.93), ["governanceRoute"]), # no route
]

routes[r.route_id] := r if {
	some r in [
		authorized("r.loc-a"), authorized("r.loc-b"), proposed("r.cheap-top"), authorized("r.cheap-ok"),
		authorized("r.cheap-low"), authorized("r.std-a"), authorized("r.std-b"), authorized("r.pro-x"),
		object.union(proposed("r.he-denied"), {"status": "denied"}),
	]
}

data_for(model_list, route_policy, route_records) := stamp({
	"active": {"modelCatalog": "urn:test:catalog", "routePolicy": route_policy.policyRef, "routeAuthorization": "urn:test:mirror"},
	"modelCatalogs": {"urn:test:catalog": {
		"order": [m.modelRef | some m in model_list],
		"models": {m.modelRef: object.union(m, {"catalogIndex": i}) | some i, m in model_list},
		"lanes": {lane: [m.modelRef | some m in model_list; m.lane == lane] | some lane in {m.lane | some m in model_list; is_string(m.lane)}},
	}},
	"routePolicies": {route_policy.policyRef: {"effective": route_policy}},
	"routeAuthorizations": {"urn:test:mirror": {"routes": route_records}},
})

# D with every entry of its model collections stamped with a digest of its content, as router.model_data
# stamps them (the precomputed tables record these digests; model_router.models.entries.current
# compares them): patch a fixture, then stamp it, and tables built before the patch are stale.
stamp(d) := object.union(d, {collection: {id: object.union(entry, {"digest": _digest(entry)}) |
	some id, entry in entries
} |
	some collection in ["modelCatalogs", "routePolicies", "routeAuthorizations"]
	entries := d[collection]
})

_digest(entry) := sprintf("test:%s", [crypto.sha256(json.marshal(object.remove(entry, ["digest"])))])

fixture := data_for(models, policy, routes)

test_configured_with_all_three_documents if {
	catalog.configured with data.model_router_data as fixture
}

test_not_configured_without_a_mirror if {
	not catalog.configured with data.model_router_data as object.remove(fixture, ["routeAuthorizations"])
}

test_not_configured_when_active_names_an_unloaded_catalog if {
	not catalog.configured with data.model_router_data as object.union(fixture, {"active": {"modelCatalog": "urn:test:other"}})
}

test_refs_name_the_active_documents if {
	catalog.refs == {
		"modelCatalogRef": "urn:test:catalog",
		"routePolicyRef": "policy://test/local-first",
		"routeAuthorizationRef": "urn:test:mirror",
	} with data.model_router_data as fixture
}

test_refs_are_null_when_nothing_is_active if {
	catalog.refs == {"modelCatalogRef": null, "routePolicyRef": null, "routeAuthorizationRef": null} with data.model_router_data as {}
}

test_views_are_keyed if {
	catalog.view.models["m:std-a"].catalogIndex == 5 with data.model_router_data as fixture
	catalog.route_policy.minimumEvalConfidence == 0.75 with data.model_router_data as fixture
	catalog.routes["r.he-denied"].status == "denied" with data.model_router_data as fixture
}

fixture_refs := {
	"modelCatalogRef": "urn:test:catalog",
	"routePolicyRef": "policy://test/local-first",
	"routeAuthorizationRef": "urn:test:mirror",
}

# The integer forms router.model_data adds beside the policy's numbers (scale 10000), hand written
# for `policy`, and the fixture with them: the selection must not change.
sample_units := {
	"scale": 10000,
	"scoreWeights": {"quality": 3500, "evalConfidence": 3000, "locality": 2000, "cost": 1000, "latency": 500},
	"scoreTiers": {
		"quality": {"low": 2500, "medium": 6500, "high": 10000},
		"cost": {"low": 10000, "medium": 6000, "high": 2500},
		"latency": {"low": 10000, "medium": 6000, "high": 2500},
		"locality": {
			"preferLocal": {"local": 10000, "hosted": 3500},
			"noPreference": {"local": 7500, "hosted": 7500},
		},
	},
}

with_units(model) := object.union(model, {"evalConfidenceUnits": round(model.evalConfidence * sample_units.scale)})

fixture_with_units := stamp(object.union(
	data_for([with_units(m) | some m in models], policy, routes),
	{"routePolicies": {policy.policyRef: {"scoreUnits": sample_units}}},
))

test_score_units_of_the_active_route_policy if {
	catalog.score_units == sample_units with data.model_router_data as fixture_with_units
	catalog.score_units == {} with data.model_router_data as fixture
}
