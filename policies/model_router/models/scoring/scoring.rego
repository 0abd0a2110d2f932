# METADATA
# title: model scoring
# description: |
#   score = sum of weight x value over quality, evalConfidence, locality, cost and latency, rounded to
#   six decimal places (contract reference, section 7). Weights come from the route policy's
#   scoreWeights, tier values from its scoreTiers (the documented defaults when it declares none).
#
#   exact_score computes the same score from the integer forms of those numbers (score units, see
#   router.model_data): integer products and sums are exact, so the score is rounded by integer
#   arithmetic. It is undefined whenever a number has no integer form, the sum is negative, or the
#   sum lies exactly halfway between two six-place values; callers then use score.
package model_router.models.scoring

# six decimal places, as the contract fixes for scores
_scale := 1000000

# METADATA
# title: score
# description: The rounded score of CANDIDATE under POLICY; undefined when a tier or weight is missing.
score(candidate, policy) := round(raw_score(candidate, policy) * _scale) / _scale

# METADATA
# title: raw_score
# description: |
#   The unrounded weighted sum. The weight x tier-value products are the same for every candidate,
#   so they come from weighted_tiers (computed once per policy and query); only evalConfidence is
#   multiplied per candidate. The terms are added in the same order as always.
raw_score(candidate, policy) := total if {
	is_number(candidate.evalConfidence)
	weighted := weighted_tiers(policy)
	terms := [
		weighted.quality[candidate.qualityTier],
		policy.scoreWeights.evalConfidence * candidate.evalConfidence,
		weighted.locality[candidate.locality],
		weighted.cost[candidate.costTier],
		weighted.latency[candidate.latencyTier],
	]
	total := sum(terms)
}

# METADATA
# title: weighted_tiers
# description: Every tier value times its weight, per dimension (the same products for every candidate).
weighted_tiers(policy) := {
	"quality": _weighted(policy.scoreWeights.quality, policy.scoreTiers.quality),
	"locality": _weighted(policy.scoreWeights.locality, _locality_table(policy, policy.scoreTiers)),
	"cost": _weighted(policy.scoreWeights.cost, policy.scoreTiers.cost),
	"latency": _weighted(policy.scoreWeights.latency, policy.scoreTiers.latency),
}

# the locality tier values of TIERS: the preferLocal table when POLICY prefers local models, else noPreference
_locality_table(policy, tiers) := tiers.locality.preferLocal if policy.preferLocal == true

_locality_table(policy, tiers) := tiers.locality.noPreference if policy.preferLocal != true

# METADATA
# title: exact_score
# description: |
#   The score of CANDIDATE under POLICY from the integer forms UNITS of its weights and tier values and
#   the candidate's evalConfidenceUnits; equal to score(CANDIDATE, POLICY) where defined.
exact_score(candidate, policy, unit_table) := weighted_score(candidate, weighted_units(policy, unit_table))

# METADATA
# title: weighted_score
# description: |
#   exact_score of CANDIDATE given WEIGHTED = weighted_units(policy, units), which callers that score
#   many candidates compute once.
weighted_score(candidate, weighted) := micros / _scale if {
	is_number(candidate.evalConfidenceUnits)
	terms := [
		weighted.quality[candidate.qualityTier],
		weighted.evalConfidence * candidate.evalConfidenceUnits,
		weighted.locality[candidate.locality],
		weighted.cost[candidate.costTier],
		weighted.latency[candidate.latencyTier],
	]
	total := sum(terms)
	total >= 0
	round(total) == total

	# rounded to the nearest six-place value by adding half a step and cutting the remainder; no
	# remainder means the sum lay exactly halfway between two six-place values, which is left to score
	halfway_up := total + weighted.halfStep
	remainder := halfway_up % weighted.step
	remainder != 0
	micros := (halfway_up - remainder) / weighted.step
}

# METADATA
# title: weighted_units
# description: |
#   Every tier value times its weight, per dimension, in score units squared (the same for every
#   candidate), the evalConfidence weight, and step: how many of those units make one six-place step
#   (undefined unless it is a positive even integer).
weighted_units(policy, unit_table) := {
	"quality": _weighted(unit_table.scoreWeights.quality, unit_table.scoreTiers.quality),
	"locality": _weighted(unit_table.scoreWeights.locality, _locality_table(policy, unit_table.scoreTiers)),
	"cost": _weighted(unit_table.scoreWeights.cost, unit_table.scoreTiers.cost),
	"latency": _weighted(unit_table.scoreWeights.latency, unit_table.scoreTiers.latency),
	"evalConfidence": unit_table.scoreWeights.evalConfidence,
	"step": step,
	"halfStep": step / 2,
} if {
	step := (unit_table.scale * unit_table.scale) / _scale
	step > 0
	round(step) == step
	step % 2 == 0
}

# each tier's value times WEIGHT
_weighted(weight, tiers) := {tier: weighted_value |
	some tier, value in tiers
	weighted_value := weight * value
}
