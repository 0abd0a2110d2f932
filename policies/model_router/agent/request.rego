# METADATA
# title: The request, normalised and type-checked
# description: |
#   Reads input.request defensively: every field is type-checked before use (so that no built-in can
#   fail on an ill-typed value), optional fields get their documented defaults, and every problem is a
#   reason code. A request that is not an object, or a required field that is missing or ill-typed,
#   yields `invalid-request-field:<field>`; an identifier the policy does not declare yields
#   `unknown-task-class:<x>`, `unknown-stage:<x>`, `unknown-risk-class:<x>`,
#   `unknown-requested-lane:<x>` or `execution-surface-not-in-scope:<x>`.
package model_router.agent.request

import data.model_router.agent.config

_req := input.request if is_object(input.request)

_has(field) if _req[field] != null

_string(field) := _req[field] if {
	is_string(_req[field])
	_req[field] != ""
}

# METADATA
# description: The request id (a non-empty string) or null.
default request_id := null

request_id := _string("requestId")

# METADATA
# description: The execution surface or null.
default execution_surface := null

execution_surface := _string("executionSurface")

# METADATA
# description: The task class as given (a string) or null.
default task_class := null

task_class := _string("taskClass")

# METADATA
# description: The chain stage as given (a string) or null.
default stage := null

stage := _string("stage")

# METADATA
# description: The risk class as given (a string) or null.
default risk_class := null

risk_class := _string("riskClass")

# METADATA
# description: The requested lane or null (nothing requested).
default requested_lane := null

requested_lane := _string("requestedLane")

_optional_string(value) if value == null

_optional_string(value) if is_string(value)

_nonempty(value) := value if {
	is_string(value)
	value != ""
}

# METADATA
# description: The escalation, normalised to {reason, receiptRef, humanJustification} (empty strings count as absent), or null.
default escalation := null

escalation := {
	"reason": object.get(_nonempty_fields, "reason", null),
	"receiptRef": object.get(_nonempty_fields, "receiptRef", null),
	"humanJustification": object.get(_nonempty_fields, "humanJustification", null),
} if _escalation_ok

_escalation_ok if {
	is_object(_req.escalation)
	not _escalation_ill_typed
}

_nonempty_fields[key] := _nonempty(_req.escalation[key]) if some key in {"reason", "receiptRef", "humanJustification"}

_escalation_ill_typed if {
	is_object(_req.escalation)
	some key in {"reason", "receiptRef", "humanJustification"}
	not _optional_string(object.get(_req.escalation, key, null))
}

# METADATA
# description: How many times the standard lane already failed (default 0).
default standard_lane_failures := 0

standard_lane_failures := _req.standardLaneFailures if _non_negative_integer(_req.standardLaneFailures)

_non_negative_integer(value) if {
	is_number(value)
	value >= 0
	value == round(value)
}

# METADATA
# description: Whether a deterministic verifier (tests, linters, schema checks) can do the job (default false).
default deterministic_verification := false

deterministic_verification := _req.deterministicVerificationAvailable if is_boolean(_req.deterministicVerificationAvailable)

_data_classes := {"public", "internal", "confidential", "restricted"}

# METADATA
# description: The data class of the prompt (default internal).
default data_class := "internal"

data_class := _req.dataClass if _req.dataClass in _data_classes

# METADATA
# description: Reference to the policy decision approving prompt egress, or null.
default egress_approval_ref := null

egress_approval_ref := _string("egressApprovalRef")

# METADATA
# description: The prompt evidence {sha256, chars} (never the text), or null.
default prompt := null

prompt := {"sha256": _req.prompt.sha256, "chars": _req.prompt.chars} if _prompt_ok

_prompt_ok if {
	is_string(_req.prompt.sha256)
	regex.match(`^[0-9a-f]{64}$`, _req.prompt.sha256)
	_non_negative_integer(_req.prompt.chars)
}

# METADATA
# description: The subject {userRef, workspaceRef, tenantRef, deviceRef} when given as an object.
subject := _req.subject if is_object(_req.subject)

# METADATA
# description: Request fields that are missing or ill-typed.
invalid_fields contains "request" if not _req

invalid_fields contains "requestId" if {
	_req
	not _string("requestId")
}

invalid_fields contains field if {
	some field in {"taskClass", "stage", "riskClass"}
	_req
	not _string(field)
}

invalid_fields contains field if {
	some field in {"executionSurface", "requestedLane", "egressApprovalRef"}
	_has(field)
	not _string(field)
}

invalid_fields contains "escalation" if {
	_has("escalation")
	not _escalation_ok
}

invalid_fields contains "standardLaneFailures" if {
	_has("standardLaneFailures")
	not _non_negative_integer(_req.standardLaneFailures)
}

invalid_fields contains "deterministicVerificationAvailable" if {
	_has("deterministicVerificationAvailable")
	not is_boolean(_req.deterministicVerificationAvailable)
}

invalid_fields contains "dataClass" if {
	_has("dataClass")
	not _req.dataClass in _data_classes
}

invalid_fields contains "prompt" if {
	_has("prompt")
	not _prompt_ok
}

invalid_fields contains "subject" if {
	_has("subject")
	not is_object(_req.subject)
}

# METADATA
# description: The task class entry of the policy, when declared.
task := config.task_classes[task_class]

# METADATA
# description: The chain stage entry of the policy, when declared.
stage_entry := config.stages[stage]

# METADATA
# description: The optimizer's risk floor for the risk class, when declared.
risk_floor := config.risk_floors[risk_class]

# METADATA
# description: |
#   Every reason the request cannot be decided at all, in a fixed order: invalid fields, then
#   unknown identifiers. Empty for a well-formed request.
reasons := array.concat(
	[sprintf("invalid-request-field:%s", [f]) | some f in sort(invalid_fields)],
	array.concat(_unknown, _surface_reason),
)

_unknown := [r |
	some [value, known, code] in [
		[task_class, config.task_classes, "unknown-task-class"],
		[stage, config.stages, "unknown-stage"],
		[risk_class, config.risk_floors, "unknown-risk-class"],
		[requested_lane, config.policy_lanes, "unknown-requested-lane"],
	]
	value != null
	not known[value]
	r := sprintf("%s:%s", [code, value])
]

_surface_reason := [sprintf("execution-surface-not-in-scope:%s", [execution_surface]) |
	execution_surface != null
	not execution_surface in config.policy.scope.executionSurfaces
]
