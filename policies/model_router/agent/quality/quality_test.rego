package model_router.agent.quality_test

import data.model_router.agent.quality
import data.model_router.agent.testing_test as t

test_minimum_lane_per_risk_class if {
	quality.minimum_lane == "local-cheap" with input as t.with_request({"riskClass": "low"})
	quality.minimum_lane == "standard" with input as t.bundle
	quality.minimum_lane == "high-end" with input as t.with_request({"riskClass": "high"})
	quality.minimum_lane == "pro" with input as t.with_request({"riskClass": "critical"})
}

test_requires_verification if {
	quality.requires_verification with input as t.bundle
	not quality.requires_verification with input as t.with_request({"riskClass": "low"})
}

test_unknown_risk_class_has_no_floor if {
	quality.minimum_lane == null with input as t.with_request({"riskClass": "extreme"})
	quality.requires_verification == false with input as t.with_request({"riskClass": "extreme"})
}

test_lane_below_the_floor_fails if {
	quality.failures("cheap") == ["below-quality-floor:standard"] with input as t.bundle
	quality.failures("no-model") == ["below-quality-floor:standard"] with input as t.bundle
}

test_lane_at_or_above_the_floor_passes if {
	quality.failures("standard") == [] with input as t.bundle
	quality.failures("pro") == [] with input as t.bundle
}

_verification := t.with_request({"stage": "verification", "riskClass": "high", "deterministicVerificationAvailable": true})

test_deterministic_verification_exempts_no_model if {
	quality.deterministic_lane == "no-model" with input as _verification
	quality.failures("no-model") == [] with input as _verification
	quality.failures("standard") == ["below-quality-floor:high-end"] with input as _verification
}

test_no_exemption_without_a_verifier if {
	b := t.with_request({"stage": "verification", "riskClass": "high", "deterministicVerificationAvailable": false})
	not quality.deterministic_lane with input as b
	quality.failures("no-model") == ["below-quality-floor:high-end"] with input as b
}

test_no_exemption_at_a_stage_whose_default_is_a_model if {
	b := t.with_request({"stage": "execution", "deterministicVerificationAvailable": true})
	not quality.deterministic_lane with input as b
}

test_no_exemption_when_the_policy_does_not_prefer_mechanical_verification if {
	d := t.with_policy({"document": {"defaultPosture": {"mechanicalVerificationPreferred": false}}})
	not quality.deterministic_lane with input as _verification with data.model_router_data as d
}

test_only_lanes_below_the_floor_are_keys if {
	object.keys(quality.failures_by_lane) == {"no-model", "local-cheap", "cheap"} with input as t.bundle
	not quality.failures("turbo") with input as t.bundle
}
