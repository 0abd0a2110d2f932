package model_router.agent.cost_test

import data.model_router.agent.cost
import data.model_router.agent.testing_test as t

test_estimates_for_the_base_bundle if {
	cost.estimated_cost("no-model") == 0 with input as t.bundle
	cost.estimated_cost("local-cheap") == 0.0005 with input as t.bundle
	cost.estimated_cost("cheap") == 0.0052 with input as t.bundle
	cost.estimated_cost("standard") == 0.033 with input as t.bundle
	cost.estimated_cost("high-end") == 0.33 with input as t.bundle
	cost.estimated_cost("pro") == 0.66 with input as t.bundle
}

test_costs_in_micro_dollars if {
	cost.lane_micros.standard == 33000 with input as t.bundle
	cost.micros(1.5) == 1500000
	cost.amount(1500000) == 1.5
}

test_minimum_cost_applies if {
	b := t.with_request({"estimatedInputTokens": 10, "estimatedOutputTokens": 10})
	cost.estimated_cost("standard") == 0.02 with input as b
	cost.estimated_cost("high-end") == 0.25 with input as b
}

test_cache_reads_and_tool_calls if {
	b := t.with_request({"estimatedCacheReadTokens": 100000, "estimatedToolCalls": 3})
	cost.estimated_cost("standard") == 0.086 with input as b
}

test_local_runtime_minutes if {
	b := t.with_request({"estimatedLocalRuntimeMinutes": 2})
	cost.estimated_cost("local-cheap") == 0.0031 with input as b
	cost.estimated_cost("no-model") == 0 with input as b
}

test_rounded_to_six_places if {
	b := t.with_request({"estimatedInputTokens": 1000003, "estimatedOutputTokens": 0})
	cost.estimated_cost("cheap") == 0.151 with input as b
}

test_requested_local_profile_is_priced if {
	lane := data.model_router_data.priceCatalogs[data.model_router_data.active.priceCatalog].lanes["local-cheap"]
	dear := object.union(lane.profiles[1], {"pricing": {"requestBaseCost": 0.01, "minCost": 0.01}})
	d := t.with_catalog({"lanes": {"local-cheap": {"profiles": [lane.profiles[0], dear]}}})
	cost.estimated_cost("local-cheap") == 0.0005 with input as t.bundle with data.model_router_data as d
	b := t.with_resources({"localProfileRef": "urn:srcos:model-profile:local-llama32-3b"})
	cost.estimated_cost("local-cheap") == 0.01 with input as b with data.model_router_data as d
}

test_prices_come_from_the_catalog if {
	d := t.with_catalog({"lanes": {"standard": {"defaultProfile": {"pricing": {"inputPerMillion": 2}}}}})
	cost.estimated_cost("standard") == 0.053 with input as t.bundle with data.model_router_data as d
}

test_rates_are_pico_units if {
	cost.rates({"requestBaseCost": 0.0005, "inputPerMillion": 0.15, "toolCallCost": 0.0005}) == {
		"base": 500000000, "min": 0,
		"rates": {"estimatedInputTokens": 150000, "estimatedToolCalls": 500000000},
	}
	cost.rates({"localRuntimeCostPerMinute": 0.001, "localEnergyCostPerMinute": 0.0005}).rates == {"estimatedLocalRuntimeMinutes": 1500000000}
}

test_a_price_finer_than_a_pico_unit_is_kept_as_is if {
	cost.scaled(0.0000000000001, 1000000000000) == 0.1
}

# the same estimates with the stored tables and without them (computed per decision)
test_every_estimate_is_the_same_without_the_tables if {
	data.model_router_data.modelTables.agent
	some b in [
		t.bundle,
		t.with_request({"estimatedCacheReadTokens": 100000, "estimatedToolCalls": 3}),
		t.with_request({"estimatedInputTokens": 1000003, "estimatedOutputTokens": 0}),
		t.with_resources({"localProfileRef": "urn:srcos:model-profile:local-llama32-3b", "estimatedLocalRuntimeMinutes": 2.5}),
	]
	with_tables := cost.lane_micros with input as b
	without := cost.lane_micros with input as b with data.model_router_data.modelTables as null
	with_tables == without
	count(with_tables) == 6
}

test_half_a_micro_dollar_rounds_up if {
	pricing := {"requestBaseCost": 0, "minCost": 0, "inputPerMillion": 0.5, "outputPerMillion": 0}
	d := t.with_catalog({"lanes": {"standard": {"defaultProfile": {"pricing": pricing}}}})
	b := t.with_request({"estimatedInputTokens": 3, "estimatedOutputTokens": 0})
	cost.lane_micros.standard == 2 with input as b with data.model_router_data as d
}

test_rates_in_the_coarsest_whole_unit if {
	r := cost._with_units(cost.rates({"requestBaseCost": 0.001, "minCost": 0.002, "inputPerMillion": 0.15, "outputPerMillion": 0.6}))
	r.base == 1000000000
	r.divisor == 100
	[r.unitBase, r.unitMin, r.unitRates] == [100000, 200000, {"estimatedInputTokens": 15, "estimatedOutputTokens": 60}]

	# zero prices do not limit the unit; at most micro-units
	z := cost._with_units({"base": 0, "min": 500000000, "rates": {"estimatedInputTokens": 0, "estimatedToolCalls": 30000000000}})
	[z.divisor, z.unitBase, z.unitMin, z.unitRates] == [1, 0, 500, {"estimatedInputTokens": 0, "estimatedToolCalls": 30000}]
	cost._with_units({"base": 0, "min": 0, "rates": {}}).divisor == 1
}

test_a_price_finer_than_a_pico_unit_keeps_pico_units if {
	r := cost._with_units({"base": 0.1, "min": 1000000, "rates": {"estimatedInputTokens": 150000}})
	[r.divisor, r.unitBase, r.unitMin, r.unitRates] == [1000000, 0.1, 1000000, {"estimatedInputTokens": 150000}]
}

# the same estimate from pico-units and from the lane's units, at and around half a micro-unit
test_units_do_not_change_the_rounding if {
	some tokens in [1, 3, 7, 9999, 1000003]
	pricing := {"requestBaseCost": 0.00001, "minCost": 0, "inputPerMillion": 0.15, "outputPerMillion": 0}
	d := t.with_catalog({"lanes": {"standard": {"defaultProfile": {"pricing": pricing}}}})
	b := t.with_request({"estimatedInputTokens": tokens, "estimatedOutputTokens": 0})
	micros := cost.lane_micros.standard with input as b with data.model_router_data as d
	micros == round((10000000 + (tokens * 150000)) / 1000000)
}

test_lane_costs_are_every_lane_estimated_cost if {
	costs := cost.lane_costs with input as t.bundle
	count(costs) > 0
	costs.cheap == 0.0052
	every lane, amount in costs {
		amount == cost.estimated_cost(lane) with input as t.bundle
	}
}
