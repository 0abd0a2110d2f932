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
# description: The unrounded weighted sum.
raw_score(candidate, policy) := total if {
	weights := policy.scoreWeights
	tiers := policy.scoreTiers
	is_number(candidate.evalConfidence)
	terms := [
		weights.quality * tiers.quality[candidate.qualityTier],
		weights.evalConfidence * candidate.evalConfidence,
		weights.locality * locality_value(candidate, policy),
		weights.cost * tiers.cost[candidate.costTier],
		weights.latency * tiers.latency[candidate.latencyTier],
	]
	total := sum(terms)
}

# METADATA
# title: locality_value
# description: The locality tier value, from the preferLocal table when the policy prefers local models, else the noPreference table.
locality_value(candidate, policy) := policy.scoreTiers.locality.preferLocal[candidate.locality] if policy.preferLocal == true

locality_value(candidate, policy) := policy.scoreTiers.locality.noPreference[candidate.locality] if policy.preferLocal != true
