package model_router.models.scoring_test

import data.model_router.models.catalog_test
import data.model_router.models.scoring

policy := catalog_test.policy

no_preference := object.union(policy, {"preferLocal": false})

candidate(locality, quality, cost, latency, confidence) := {
	"locality": locality, "qualityTier": quality, "costTier": cost,
	"latencyTier": latency, "evalConfidence": confidence,
}

# 0.35*0.65 + 0.3*0.82 + 0.2*1.0 + 0.1*1.0 + 0.05*1.0 = 0.2275 + 0.246 + 0.2 + 0.1 + 0.05
test_contract_local_small_model_scores_0_823500 if {
	scoring.score(candidate("local", "medium", "low", "low", 0.82), policy) == 0.823500
}

# 0.35*1.0 + 0.3*0.93 + 0.2*0.35 + 0.1*0.25 + 0.05*0.6 = 0.35 + 0.279 + 0.07 + 0.025 + 0.03
test_contract_hosted_frontier_model_scores_0_754000 if {
	scoring.score(candidate("hosted", "high", "high", "medium", 0.93), policy) == 0.754000
}

# without preferLocal both localities count 0.75: 0.2275 + 0.246 + 0.15 + 0.1 + 0.05
test_no_preference_locality_scores_0_773500 if {
	scoring.score(candidate("local", "medium", "low", "low", 0.82), no_preference) == 0.773500
	scoring.score(candidate("hosted", "medium", "low", "low", 0.82), no_preference) == 0.773500
}

# 0.35*0.25 + 0.3*0.1234567 + 0.2*0.75 + 0.1*0.6 + 0.05*0.25 = 0.0875 + 0.03703701 + 0.15 + 0.06 + 0.0125 = 0.34703701
test_score_is_rounded_to_six_places if {
	abs(scoring.raw_score(candidate("hosted", "low", "medium", "high", 0.1234567), no_preference) - 0.34703701) < 0.000000001
	scoring.score(candidate("hosted", "low", "medium", "high", 0.1234567), no_preference) == 0.347037
}

# 0.35*1.0 + 0.3*0.8888888 + 0.2*0.35 + 0.1*0.25 + 0.05*0.25 = 0.35 + 0.26666664 + 0.07 + 0.025 + 0.0125 = 0.72416664
test_score_rounds_up_from_the_seventh_place if {
	scoring.score(candidate("hosted", "high", "high", "high", 0.8888888), policy) == 0.724167
}

test_weights_come_from_the_policy if {
	heavy := object.union(policy, {"scoreWeights": {"quality": 1.0, "evalConfidence": 0, "locality": 0, "cost": 0, "latency": 0}})
	scoring.score(candidate("hosted", "low", "high", "high", 0.99), heavy) == 0.25
}

test_unknown_tier_or_missing_confidence_leaves_the_score_undefined if {
	not scoring.score(candidate("hosted", "premium", "low", "low", 0.9), policy)
	not scoring.score(object.remove(candidate("hosted", "high", "low", "low", 0.9), ["evalConfidence"]), policy)
	not scoring.score(candidate("orbital", "high", "low", "low", 0.9), policy)
}

sample_units := catalog_test.sample_units

with_units(c) := object.union(c, {"evalConfidenceUnits": round(c.evalConfidence * sample_units.scale)})

test_exact_score_equals_the_score if {
	every c in [
		candidate("local", "medium", "low", "low", 0.82),
		candidate("hosted", "high", "high", "medium", 0.93),
		candidate("hosted", "high", "low", "low", 0.9),
		candidate("local", "low", "medium", "high", 0.5),
	] {
		scoring.exact_score(with_units(c), policy, sample_units) == scoring.score(c, policy)
		scoring.exact_score(with_units(c), no_preference, sample_units) == scoring.score(c, no_preference)
	}
}

test_exact_score_of_a_known_candidate if {
	scoring.exact_score(with_units(candidate("local", "medium", "low", "low", 0.82)), policy, sample_units) == 0.8235
}

# 0.0001 x 0.0001 is 1e-8: 49, 50 and 51 of those round down, are a tie, and round up at six places
test_exact_score_rounds_by_integer_arithmetic_and_leaves_ties_to_score if {
	tiny := {
		"scale": 10000,
		"scoreWeights": {"quality": 0, "evalConfidence": 1, "locality": 0, "cost": 0, "latency": 0},
		"scoreTiers": sample_units.scoreTiers,
	}
	c := candidate("local", "medium", "low", "low", 0)
	scoring.exact_score(object.union(c, {"evalConfidenceUnits": 149}), policy, tiny) == 0.000001
	scoring.exact_score(object.union(c, {"evalConfidenceUnits": 151}), policy, tiny) == 0.000002
	not scoring.exact_score(object.union(c, {"evalConfidenceUnits": 150}), policy, tiny)
}

test_exact_score_is_undefined_without_integer_forms_or_for_a_negative_sum if {
	c := candidate("local", "medium", "low", "low", 0.82)
	not scoring.exact_score(c, policy, sample_units)
	not scoring.exact_score(with_units(c), policy, object.remove(sample_units, ["scoreWeights"]))
	negative := object.union(sample_units, {"scoreWeights": {"evalConfidence": -10000}})
	not scoring.exact_score(with_units(c), policy, object.union(negative, {"scoreTiers": {"quality": {"medium": -10000}}}))
}

# a scale whose six-place step is not a positive even count of units is left to score
test_exact_score_needs_an_even_step if {
	c := with_units(candidate("local", "medium", "low", "low", 0.82))
	not scoring.exact_score(c, policy, object.union(sample_units, {"scale": 1000}))
	not scoring.exact_score(c, policy, object.union(sample_units, {"scale": 0}))
	not scoring.exact_score(object.union(c, {"evalConfidenceUnits": "8200"}), policy, sample_units)
}
