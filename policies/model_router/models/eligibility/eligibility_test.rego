package model_router.models.eligibility_test

import data.model_router.models.catalog_test
import data.model_router.models.eligibility

policy := catalog_test.policy

good := catalog_test.model("m:x", "r.x", "cheap", "hosted", "medium", "low", "low", 0.8)

test_an_eligible_primary_candidate_has_no_reasons if {
	eligibility.reasons(good, "primary", "t-sum", policy) == []
}

test_task_not_supported if {
	eligibility.reasons(object.union(good, {"supportedTasks": ["extract"]}), "primary", "t-sum", policy) == ["task-not-supported"]
}

test_every_required_task_must_be_supported if {
	needs_two := object.union(policy, {"taskRequirements": {"t-both": ["summarize", "reason"]}})
	eligibility.reasons(good, "primary", "t-both", needs_two) == ["task-not-supported"]
}

test_unmapped_task_class_requires_itself if {
	eligibility.required_tasks("summarize", policy) == ["summarize"]
	eligibility.reasons(good, "primary", "summarize", policy) == []
	eligibility.reasons(good, "primary", "unmapped-task", policy) == ["task-not-supported"]
}

test_missing_supported_tasks_fail_closed if {
	eligibility.reasons(object.remove(good, ["supportedTasks"]), "primary", "t-sum", policy) == ["task-not-supported"]
}

test_locality_not_allowed if {
	local_only := object.union(policy, {"allowedLocalities": ["local"]})
	eligibility.reasons(good, "primary", "t-sum", local_only) == ["locality-not-allowed"]
	eligibility.reasons(object.remove(good, ["locality"]), "primary", "t-sum", policy) == ["locality-not-allowed"]
}

test_guardrail_incompatible if {
	eligibility.reasons(object.union(good, {"guardrailCompatible": false}), "primary", "t-sum", policy) == ["guardrail-incompatible"]
	eligibility.reasons(object.remove(good, ["guardrailCompatible"]), "primary", "t-sum", policy) == ["guardrail-incompatible"]
}

test_guardrail_compatibility_not_required if {
	relaxed := object.union(policy, {"requiredGuardrailCompatibility": false})
	eligibility.reasons(object.union(good, {"guardrailCompatible": false}), "primary", "t-sum", relaxed) == []
}

test_eval_confidence_below_threshold if {
	eligibility.reasons(object.union(good, {"evalConfidence": 0.7499}), "primary", "t-sum", policy) == ["eval-confidence-below-threshold"]
	eligibility.reasons(object.union(good, {"evalConfidence": "0.9"}), "primary", "t-sum", policy) == ["eval-confidence-below-threshold"]
}

test_eval_confidence_at_the_floor_is_eligible if {
	eligibility.reasons(object.union(good, {"evalConfidence": 0.75}), "primary", "t-sum", policy) == []
}

test_lane_mismatch if {
	eligibility.reasons(good, "none", "t-sum", policy) == ["lane-mismatch"]
}

test_hosted_fallback_not_allowed if {
	no_hosted := object.union(policy, {"allowHostedFallback": false})
	eligibility.reasons(good, "fallback", "t-sum", no_hosted) == ["hosted-fallback-not-allowed"]
	eligibility.reasons(good, "primary", "t-sum", no_hosted) == []
	eligibility.reasons(object.union(good, {"locality": "local"}), "fallback", "t-sum", no_hosted) == []
	eligibility.reasons(good, "fallback", "t-sum", policy) == []
}

test_every_failing_check_adds_its_reason_in_order if {
	bad := object.union(good, {"supportedTasks": [], "guardrailCompatible": false, "evalConfidence": 0.1, "locality": "hosted"})
	strict := object.union(policy, {"allowedLocalities": ["local"], "allowHostedFallback": false})
	eligibility.reasons(bad, "fallback", "t-sum", strict) == [
		"task-not-supported", "locality-not-allowed", "guardrail-incompatible",
		"eval-confidence-below-threshold", "hosted-fallback-not-allowed",
	]
	eligibility.reasons(bad, "none", "t-sum", strict) == [
		"task-not-supported", "locality-not-allowed", "guardrail-incompatible",
		"eval-confidence-below-threshold", "lane-mismatch",
	]
}
