# METADATA
# title: model scoring
# description: |
#   score = sum of weight x value over quality, evalConfidence, locality, cost and latency, rounded to
#   six decimal places (contract reference, section 7). Weights come from the route policy's
#   scoreWeights, tier values from its scoreTiers (the documented defaults when it declares none).
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
	weighted := weighted_tiers(policy)
	is_number(candidate.evalConfidence)
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
	"locality": _weighted(policy.scoreWeights.locality, _locality_table(policy)),
	"cost": _weighted(policy.scoreWeights.cost, policy.scoreTiers.cost),
	"latency": _weighted(policy.scoreWeights.latency, policy.scoreTiers.latency),
}

# the locality tier values: the preferLocal table when the policy prefers local models, else noPreference
_locality_table(policy) := policy.scoreTiers.locality.preferLocal if policy.preferLocal == true

_locality_table(policy) := policy.scoreTiers.locality.noPreference if policy.preferLocal != true

# each tier's value times WEIGHT
_weighted(weight, tiers) := {tier: product |
	some tier, value in tiers
	product := weight * value
}
