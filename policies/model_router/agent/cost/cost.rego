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
#
#   Prices are turned into integer pico-units (1e-12 of the currency) once per price profile
#   (`rates`), and per lane into the coarsest unit that keeps them integers (`_with_units`): with them
#   a lane's cost is a sum of integer products, divided and rounded once. The
#   rates of every catalog lane are request-independent and stored with the model tables
#   (model_router.models.tables.agent, built by `make data`, read through
#   model_router.agent.config.tables), with each lane's default rates as they are (laneDefaults) for
#   the usual request, which names no profile a lane prices; without current tables only the profile
#   the request uses and the estimates it carries are priced here, in pico-units (divisor 1e6).
package model_router.agent.cost

import data.model_router.agent.config
import data.model_router.agent.signals

# METADATA
# description: >-
#   Micro-units per currency unit: micros(x) is round(x * per_million) (hot loops write it out to save a
#   function call per amount).
per_million := 1000000

# pico-units per currency unit
_per_trillion := per_million * per_million

# METADATA
# description: A non-negative amount in integer micro-units (6 decimal places).
micros(amount) := round(amount * per_million)

# [estimate signal, price fields, pico-units per price unit]. A per-million price times a token count
# is already micro-units (so 1e6 pico-units per price unit); a per-call or per-minute price is in
# currency units. Runtime minutes are priced by the sum of two per-minute prices.
_terms := [
	["estimatedInputTokens", ["inputPerMillion"], per_million],
	["estimatedOutputTokens", ["outputPerMillion"], per_million],
	["estimatedCacheReadTokens", ["cacheReadPerMillion"], per_million],
	["estimatedToolCalls", ["toolCallCost"], _per_trillion],
	["estimatedLocalRuntimeMinutes", ["localRuntimeCostPerMinute", "localEnergyCostPerMinute"], _per_trillion],
]

_estimate_names := [
	"estimatedInputTokens", "estimatedOutputTokens", "estimatedCacheReadTokens",
	"estimatedToolCalls", "estimatedLocalRuntimeMinutes",
]

# METADATA
# description: |
#   An amount times SCALE, as an integer when the product is within 1e-6 of one (a decimal price of at
#   most 12 places: binary arithmetic may miss the integer by a hair), else as is.
scaled(value, scale) := exact if {
	times := value * scale
	exact := round(times)
	abs(times - exact) * per_million < 1
} else := value * scale

# METADATA
# description: |
#   The prices of PRICING in pico-units: {base: requestBaseCost, min: minCost, rates: {estimate signal:
#   price per unit of the estimate}}; estimates the profile does not price are left out.
rates(pricing) := _rates(pricing, _estimate_names)

# the rates of PRICING for the estimates NAMES only
_rates(pricing, names) := {
	"base": scaled(object.get(pricing, "requestBaseCost", 0), _per_trillion),
	"min": scaled(object.get(pricing, "minCost", 0), _per_trillion),
	"rates": {estimate: scaled(sum(prices), scale) |
		some [estimate, fields, scale] in _terms
		estimate in names
		prices := [pricing[field] | some field in fields; pricing[field]]
		count(prices) > 0
	},
}

# METADATA
# scope: document
# description: |
#   The rates of a catalog lane PRICED: {default: rates of its default profile, profiles: {profileRef:
#   rates} (local-runtime lanes only)}; a lane of costModel `none` costs nothing whatever its prices.
lane_rates(priced) := {"default": _with_units(_none_rates), "profiles": {}} if priced.costModel == "none"

lane_rates(priced) := {
	"default": _with_units(rates(priced.defaultProfile.pricing)),
	"profiles": {profile.profileRef: _with_units(rates(profile.pricing)) |
		priced.costModel == "local-runtime"
		some profile in priced.profiles
	},
} if {
	priced.costModel != "none"
}

_none_rates := {"base": 0, "min": 0, "rates": {}}

# METADATA
# description: |
#   RATES (pico-units) with the same prices in the coarsest unit that keeps every one of them an integer
#   (pico-units times the largest power of ten, at most 1e6, that divides every non-zero price):
#   {divisor: units per micro-unit, unitBase, unitMin, unitRates: {estimate: rate}}. A lane's cost is
#   then a sum of small integers whose division by the divisor is exact (no decimal quotient) whenever
#   the cost is a whole number of micro-units; a price that is not an integer of pico-units keeps
#   pico-units (divisor 1e6).
_with_units(r) := object.union(r, {
	"divisor": per_million / step,
	"unitBase": r.base / step,
	"unitMin": r.min / step,
	"unitRates": {estimate: (rate / step) | some estimate, rate in r.rates},
}) if {
	prices := array.concat([r.base, r.min], [rate | some rate in r.rates])
	zeros := min(array.concat([count(_units_per_micro)], [count(_trailing_zeros(price)) | some price in prices; price != 0]))
	step := to_number(concat("", ["1", substring(_units_per_micro, 0, zeros)]))
}

# RATES with pico-units as the unit (no search for a coarser one per decision, without the tables)
_pico_units(r) := object.union(r, {"divisor": per_million, "unitBase": r.base, "unitMin": r.min, "unitRates": r.rates})

# the powers of ten of one micro-unit in pico-units, as the zeros of its digits
_units_per_micro := substring(json.marshal(per_million), 1, -1)

# the trailing zeros of the digits of an integer PRICE; none for any other number
_trailing_zeros(price) := regex.find_n(`0*$`, digits, 1)[0] if {
	digits := json.marshal(price)
	regex.match(`^[0-9]+$`, digits)
} else := ""

# METADATA
# scope: document
# description: >-
#   The rates of every catalog lane, by lane, from the model tables when they are current;
#   otherwise the request's profile and estimates only.
catalog_rates := config.tables.laneRates

# Without the tables, only the profile the request uses and the estimates it carries are priced.
catalog_rates := {lane: {"default": _request_rates(priced), "profiles": {}} |
	some lane, priced in config.catalog_lanes
} if {
	not config.tables
}

_request_rates(priced) := _pico_units(_none_rates) if priced.costModel == "none"

_request_rates(priced) := _pico_units(_rates(_pricing(priced), object.keys(_estimates))) if {
	priced.costModel != "none"
}

_pricing(priced) := profile.pricing if {
	priced.costModel == "local-runtime"
	some profile in priced.profiles
	profile.profileRef == _profile
} else := priced.defaultProfile.pricing

# The estimates the request carries, {estimate: value}, once per decision (one built-in call; an
# estimate of 0 adds nothing to a cost).
_estimates := object.filter(signals.value, _estimate_names)

_profile := object.get(signals.value, "localProfileRef", "")

# The rates each lane prices the request at, by lane: the request's local profile when the lane
# prices it, else the default profile. The usual request names no profile any lane prices: then the
# stored default rates as they are (model tables: laneDefaults, and pricedProfiles, {profileRef:
# true} of every profile a lane prices).
_lane_prices := config.tables.laneDefaults if {
	not config.tables.pricedProfiles[_profile]
} else := {lane: object.get(priced.profiles, _profile, priced.default) | some lane, priced in catalog_rates}

# METADATA
# description: |
#   The default rates of a catalog lane PRICED (lane_rates) as the model tables store them
#   (laneDefaults): with inputRate and outputRate, its unit rates of input and output tokens (0 when
#   it does not price them).
default_rates(priced) := object.union(priced.default, {
	"inputRate": object.get(priced.default.unitRates, "estimatedInputTokens", 0),
	"outputRate": object.get(priced.default.unitRates, "estimatedOutputTokens", 0),
})

# METADATA
# description: Estimated cost in integer micro-dollars of every priced lane.
lane_micros := {lane: round(max([raw, prices.unitMin]) / prices.divisor) |
	some lane, prices in defaults

	# the sum of the general case written out for the two estimates
	raw := (prices.unitBase + (input_tokens * prices.inputRate)) + (output_tokens * prices.outputRate)
} if {
	# the usual request: input and output tokens only, and no profile a lane prices
	# (unification: the estimates are these two keys exactly, their values bound)
	{"estimatedInputTokens": input_tokens, "estimatedOutputTokens": output_tokens} = _estimates
	defaults := config.tables.laneDefaults
	not config.tables.pricedProfiles[_profile]
} else := {lane: round(max([raw, prices.unitMin]) / prices.divisor) |
	some lane, prices in _lane_prices

	# max(raw, min) in the lane's units (_with_units), divided and rounded once
	raw := prices.unitBase + sum([(value * rate) |
		some estimate, value in _estimates
		rate := prices.unitRates[estimate]
	])
}

# METADATA
# description: An integer micro-unit amount back in currency units.
amount(micro_units) := micro_units / 1000000

# METADATA
# description: A lane's estimated cost in the catalog currency, rounded to 6 places.
estimated_cost(lane) := amount(lane_micros[lane])

# METADATA
# description: >-
#   Every priced lane's estimated cost in the catalog currency (lane_micros in currency units), built
#   once per decision for the candidates' evaluation (one division per lane, no function call).
lane_costs := {lane: (micro_units / 1000000) | some lane, micro_units in lane_micros}
