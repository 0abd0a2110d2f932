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

# METADATA
# description: >-
#   Micro-units per currency unit: micros(x) is round(x * per_million) (hot loops write it out to save a
#   function call per amount).
per_million := 1000000

# METADATA
# description: A non-negative amount in integer micro-units (6 decimal places).
micros(amount) := round(amount * per_million)

_profile(lane) := profile if {
	config.catalog_lanes[lane].costModel == "local-runtime"
	some profile in config.catalog_lanes[lane].profiles
	profile.profileRef == signals.value.localProfileRef
} else := config.catalog_lanes[lane].defaultProfile

# [estimate signal, price field]. A per-million price times a token count is already micro-dollars;
# a per-call or per-minute price is in dollars. Only estimates the request carries are multiplied
# (decimal arithmetic is the dearest part of a decision).
_token_terms := [
	["estimatedInputTokens", "inputPerMillion"],
	["estimatedOutputTokens", "outputPerMillion"],
	["estimatedCacheReadTokens", "cacheReadPerMillion"],
]

_unit_terms := [
	["estimatedToolCalls", "toolCallCost"],
	["estimatedLocalRuntimeMinutes", "localRuntimeCostPerMinute"],
	["estimatedLocalRuntimeMinutes", "localEnergyCostPerMinute"],
]

# The estimates the request carries, as [estimate, price field], once per decision.
_token_estimates := [[signals.value[estimate], field] |
	some [estimate, field] in _token_terms
	signals.value[estimate]
]

_unit_estimates := [[signals.value[estimate], field] |
	some [estimate, field] in _unit_terms
	signals.value[estimate]
]

_raw_micros(pricing) := sum(array.concat(
	[object.get(pricing, "requestBaseCost", 0) * per_million],
	array.concat(
		[(estimate * price) |
			some [estimate, field] in _token_estimates
			price := pricing[field]
		],
		[((estimate * price) * per_million) |
			some [estimate, field] in _unit_estimates
			price := pricing[field]
		],
	),
))

# METADATA
# description: Estimated cost in integer micro-dollars of every priced lane.
lane_micros := {lane: _lane_micros(lane, priced) | some lane, priced in config.catalog_lanes}

_lane_micros(_, priced) := 0 if priced.costModel == "none"

# round(max(raw, min)) == max(round(raw), round(min)): one rounding per lane.
_lane_micros(lane, priced) := round(max([_raw_micros(pricing), object.get(pricing, "minCost", 0) * per_million])) if {
	priced.costModel != "none"
	pricing := _profile(lane).pricing
}

# METADATA
# description: An integer micro-unit amount back in currency units.
amount(micro_units) := micro_units / per_million

# METADATA
# description: A lane's estimated cost in the catalog currency, rounded to 6 places.
estimated_cost(lane) := amount(lane_micros[lane])
