# METADATA
# title: model eligibility
# description: |
#   Whether an (authorized or not) candidate may serve the request: every failing check adds its
#   reason, in a fixed order. ROLE says what the decision admits the candidate for: "primary" (it
#   serves the chosen lane or target), "fallback" (it serves another lane or target the decision found
#   feasible) or "none" (anything else). Missing or ill-typed candidate fields fail the check.
package model_router.models.eligibility

# METADATA
# title: reasons
# description: The eligibility reasons of CANDIDATE in ROLE for TASK_CLASS under the route POLICY ([] when eligible).
reasons(candidate, role, task_class, policy) := [code |
	some [code, failed] in [
		["task-not-supported", task_not_supported(candidate, task_class, policy)],
		["locality-not-allowed", locality_not_allowed(candidate, policy)],
		["guardrail-incompatible", guardrail_incompatible(candidate, policy)],
		["eval-confidence-below-threshold", eval_confidence_below_threshold(candidate, policy)],
		["lane-mismatch", lane_mismatch(role)],
		["hosted-fallback-not-allowed", hosted_fallback_not_allowed(candidate, role, policy)],
	]
	failed
]

# METADATA
# title: required_tasks
# description: The tasks a candidate must support for TASK_CLASS (the policy's taskRequirements, else the task class itself).
required_tasks(task_class, policy) := object.get(object.get(policy, "taskRequirements", {}), task_class, [task_class])

# METADATA
# title: lane_mismatch
# description: The candidate serves no lane (or local profile) the decision chose or found feasible.
default lane_mismatch(_) := false

lane_mismatch(role) if role == "none"

# METADATA
# title: task_not_supported
# description: Some task the task class requires is missing from the candidate's supportedTasks.
default task_not_supported(_, _, _) := false

task_not_supported(candidate, task_class, policy) if {
	supported := {task | some task in object.get(candidate, "supportedTasks", [])}
	some task in required_tasks(task_class, policy)
	not task in supported
}

# METADATA
# title: locality_not_allowed
# description: The candidate's locality is not among the policy's allowedLocalities.
default locality_not_allowed(_, _) := false

locality_not_allowed(candidate, policy) if {
	not object.get(candidate, "locality", null) in _allowed_localities(policy)
}

# the same set for every candidate of a request (a function's result is cached per query and arguments)
_allowed_localities(policy) := {locality | some locality in object.get(policy, "allowedLocalities", [])}

# METADATA
# title: guardrail_incompatible
# description: The policy requires guardrail compatibility (the default) and the candidate does not declare it.
default guardrail_incompatible(_, _) := false

guardrail_incompatible(candidate, policy) if {
	object.get(policy, "requiredGuardrailCompatibility", true) != false
	object.get(candidate, "guardrailCompatible", false) != true
}

# METADATA
# title: eval_confidence_below_threshold
# description: The candidate's evalConfidence is missing or below the policy's minimumEvalConfidence.
default eval_confidence_below_threshold(_, _) := false

eval_confidence_below_threshold(candidate, policy) if not _confident(candidate, policy)

_confident(candidate, policy) if {
	confidence := object.get(candidate, "evalConfidence", null)
	is_number(confidence)
	confidence >= policy.minimumEvalConfidence
}

# METADATA
# title: hosted_fallback_not_allowed
# description: A hosted candidate would only stand in for another lane or target, and the policy does not allow hosted fallback.
default hosted_fallback_not_allowed(_, _, _) := false

hosted_fallback_not_allowed(candidate, role, policy) if {
	role == "fallback"
	object.get(candidate, "locality", null) == "hosted"
	object.get(policy, "allowHostedFallback", false) != true
}
