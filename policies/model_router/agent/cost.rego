# METADATA
# title: Cost estimate from the price catalog
# description: |
#   A lane's estimate (contract reference, section 3): 0 for costModel `none`; otherwise
#   requestBaseCost + input tokens x inputPerMillion / 1e6 + output tokens x outputPerMillion / 1e6
#   + cache-read tokens x cacheReadPerMillion / 1e6 + tool calls x toolCallCost
#   + runtime minutes x (localRuntimeCostPerMinute + localEnergyCostPerMinute), at least minCost,
#   rounded to 6 places. Costs are kept as integer micro-dollars so that budget comparisons are
#   exact at the boundary (cost equal to the remaining budget is allowed, one micro-dollar more is not).
#   The price profile is the lane's default profile, or, for a local-runtime lane, the request's
#   `localProfileRef` when the catalog prices that profile for the lane.
package model_router.agent.cost

import data.model_router.agent.config
import data.model_router.agent.signals

_per_million := 1000000

# METADATA
# description: A non-negative amount in integer micro-units (6 decimal places).
micros(amount) := round(amount * _per_million)

_estimate(name) := object.get(signals.value, name, 0)

_profile(lane) := profile if {
	config.catalog_lanes[lane].costModel == "local-runtime"
	some profile in config.catalog_lanes[lane].profiles
	profile.profileRef == signals.value.localProfileRef
} else := config.catalog_lanes[lane].defaultProfile

_price(pricing, field) := object.get(pricing, field, 0)

_raw(pricing) := sum([
	_price(pricing, "requestBaseCost"),
	(_estimate("estimatedInputTokens") * _price(pricing, "inputPerMillion")) / _per_million,
	(_estimate("estimatedOutputTokens") * _price(pricing, "outputPerMillion")) / _per_million,
	(_estimate("estimatedCacheReadTokens") * _price(pricing, "cacheReadPerMillion")) / _per_million,
	_estimate("estimatedToolCalls") * _price(pricing, "toolCallCost"),
	_estimate("estimatedLocalRuntimeMinutes") * (_price(pricing, "localRuntimeCostPerMinute") + _price(pricing, "localEnergyCostPerMinute")),
])

# METADATA
# description: A lane's estimated cost in integer micro-dollars.
cost_micros(lane) := 0 if config.catalog_lanes[lane].costModel == "none"

cost_micros(lane) := micros(max([_raw(pricing), _price(pricing, "minCost")])) if {
	config.catalog_lanes[lane].costModel != "none"
	pricing := _profile(lane).pricing
}

# METADATA
# description: An integer micro-unit amount back in currency units.
amount(micro_units) := micro_units / _per_million

# METADATA
# description: A lane's estimated cost in the catalog currency, rounded to 6 places.
estimated_cost(lane) := amount(cost_micros(lane))
