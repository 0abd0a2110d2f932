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
# description: |
#   The eligibility reasons of CANDIDATE in ROLE for TASK_CLASS under the route POLICY ([] when eligible).
#   Each check is written inline (a function call per check per candidate costs more than the check):
#   - task-not-supported: some task required_tasks names is missing from the candidate's supportedTasks;
#   - locality-not-allowed: the candidate's locality is not among the policy's allowedLocalities;
#   - guardrail-incompatible: the policy requires guardrail compatibility (the default) and the
#     candidate does not declare it;
#   - eval-confidence-below-threshold: evalConfidence is missing, not a number or below
#     minimumEvalConfidence;
#   - lane-mismatch: ROLE is "none", the candidate serves no lane or target the decision admits;
#   - hosted-fallback-not-allowed: a hosted candidate would only stand in for another lane or target
#     (ROLE "fallback") and the policy does not allow hosted fallback.
reasons(candidate, role, task_class, policy) := array.concat(
	fit_reasons(candidate, task_class, policy),
	role_reasons(candidate, role, policy),
)

# METADATA
# title: fit_reasons
# description: |
#   The reasons of reasons(CANDIDATE, ROLE, TASK_CLASS, POLICY) that do not depend on ROLE (the first
#   four checks, in that order): task_reasons, then static_reasons. They are the same for every request
#   of TASK_CLASS, so model_router.models.tables computes them once per catalog model.
fit_reasons(candidate, task_class, policy) := array.concat(
	task_reasons(candidate, required_tasks(task_class, policy)),
	static_reasons(candidate, policy),
)

# METADATA
# title: task_reasons
# description: '["task-not-supported"] when some task of REQUIRED is missing from the supportedTasks of CANDIDATE, else [].'
task_reasons(candidate, required) := ["task-not-supported"] if {
	some task in required
	not task in object.get(candidate, "supportedTasks", [])
} else := []

# METADATA
# title: static_reasons
# description: The checks that read only CANDIDATE and POLICY (locality, guardrail, evalConfidence), in that order.
static_reasons(candidate, policy) := [code |
	some [code, failing] in [
		["locality-not-allowed", [1 | not object.get(candidate, "locality", null) in object.get(policy, "allowedLocalities", [])]],
		["guardrail-incompatible", [1 |
			object.get(policy, "requiredGuardrailCompatibility", true) != false
			object.get(candidate, "guardrailCompatible", false) != true
		]],
		["eval-confidence-below-threshold", [1 |
			count([1 |
				confidence := object.get(candidate, "evalConfidence", null)
				is_number(confidence)
				confidence >= policy.minimumEvalConfidence
			]) == 0
		]],
	]
	count(failing) > 0
]

# METADATA
# title: role_reasons
# description: |
#   The reasons of reasons(CANDIDATE, ROLE, TASK_CLASS, POLICY) that depend on ROLE (the last two
#   checks, in that order); they read only the candidate's locality.
role_reasons(candidate, role, policy) := [code |
	some [code, failing] in [
		["lane-mismatch", [1 | role == "none"]],
		["hosted-fallback-not-allowed", [1 |
			role == "fallback"
			object.get(candidate, "locality", null) == "hosted"
			object.get(policy, "allowHostedFallback", false) != true
		]],
	]
	count(failing) > 0
]

# METADATA
# title: required_tasks
# description: The tasks a candidate must support for TASK_CLASS (the policy's taskRequirements, else the task class itself).
required_tasks(task_class, policy) := object.get(object.get(policy, "taskRequirements", {}), task_class, [task_class])
