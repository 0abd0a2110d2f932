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

_req := r if {
	r := input.request
	is_object(r)
}

_string_fields := {
	"requestId", "executionSurface", "taskClass", "stage", "riskClass", "requestedLane",
	"egressApprovalRef", "runRef",
}

# The string fields that hold a non-empty string (read by invalid_fields only: each accessor below
# checks its own field, so a well-formed request never builds this object).
_strings := {field: value |
	some field in _string_fields
	value := _req[field]
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# description: The request id (a non-empty string) or null.
default id := null

id := v if {
	v := _req.requestId
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The execution surface or null.
default execution_surface := null

execution_surface := v if {
	v := _req.executionSurface
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The task class as given (a string) or null.
default task_class := null

task_class := v if {
	v := _req.taskClass
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The chain stage as given (a string) or null.
default stage := null

stage := v if {
	v := _req.stage
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The risk class as given (a string) or null.
default risk_class := null

risk_class := v if {
	v := _req.riskClass
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The requested lane or null (nothing requested).
default asked_lane := null

asked_lane := v if {
	v := _req.requestedLane
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: Reference to the policy decision approving prompt egress, or null.
default egress_approval_ref := null

egress_approval_ref := v if {
	v := _req.egressApprovalRef
	is_string(v)
	v != ""
}

# METADATA
# scope: document
# description: The agentplane run the request belongs to (echoed, never decided on), or null.
default run_ref := null

run_ref := v if {
	v := _req.runRef
	is_string(v)
	v != ""
}

# The members an escalation may carry: the three it is normalised to and the receipt token (any
# JSON value: the approvals package reports a token that is not a well-formed string as malformed).
_escalation_members := {"reason", "receiptRef", "humanJustification", "receiptToken"}

_escalation_raw := e if {
	e := _req.escalation
	is_object(e)
}

# The types of an optional string member.
_optional_string := {"null", "string"}

# An optional string member maps "" (absent) to null through this object (object.get with the
# value itself as the default: no function call).
_empty_is_null := {"": null}

# METADATA
# scope: document
# description: >-
#   The escalation, normalised to {reason, receiptRef, humanJustification} (empty strings count as
#   absent), or null.
default escalation := null

# An escalation names its reason (a non-empty string), its other two members are strings or null,
# and it carries no other members than the four.
escalation := {
	"reason": reason,
	"receiptRef": object.get(_empty_is_null, receipt_ref, receipt_ref),
	"humanJustification": object.get(_empty_is_null, justification, justification),
} if {
	reason := _escalation_raw.reason
	is_string(reason)
	reason != ""
	count(object.remove(_escalation_raw, _escalation_members)) == 0
	receipt_ref := object.get(_escalation_raw, "receiptRef", null)
	type_name(receipt_ref) in _optional_string
	justification := object.get(_escalation_raw, "humanJustification", null)
	type_name(justification) in _optional_string
}

# METADATA
# scope: document
# description: The escalation receipt token (null when absent); it is never echoed into the decision.
default receipt_token := null

receipt_token := _escalation_raw.receiptToken if escalation != null

# METADATA
# scope: document
# description: The egress approval token beside `egressApprovalRef` (null when absent).
default egress_approval_token := null

egress_approval_token := _req.egressApprovalToken

# METADATA
# scope: document
# description: How many times the standard lane already failed (default 0).
default standard_lane_failures := 0

standard_lane_failures := n if {
	n := _req.standardLaneFailures

	# lib.non_negative_integer, written out (no function call)
	is_number(n)
	n >= 0
	n == round(n)
}

# METADATA
# scope: document
# description: Whether a deterministic verifier (tests, linters, schema checks) can do the job (default false).
default deterministic_verification := false

deterministic_verification := v if {
	v := _req.deterministicVerificationAvailable
	is_boolean(v)
}

_data_classes := {"public", "internal", "confidential", "restricted"}

# METADATA
# scope: document
# description: The data class of the prompt (default internal).
default data_class := "internal"

data_class := c if {
	c := _req.dataClass
	c in _data_classes
}

# METADATA
# scope: document
# description: The prompt evidence {sha256, chars} (never the text), or null.
default prompt := null

prompt := {"sha256": digest, "chars": chars} if {
	# lib.sha256_hex and lib.non_negative_integer, written out (no function call)
	digest := _req.prompt.sha256
	is_string(digest)
	regex.match(`^[0-9a-f]{64}$`, digest)
	chars := _req.prompt.chars
	is_number(chars)
	chars >= 0
	chars == round(chars)
}

# METADATA
# description: The subject {userRef, workspaceRef, tenantRef, deviceRef} when given as an object.
subject := s if {
	s := _req.subject
	is_object(s)
}

_required_fields := {"requestId", "taskClass", "stage", "riskClass"}

# METADATA
# scope: document
# description: Request fields that are missing or ill-typed.
invalid_fields contains "request" if not _req

invalid_fields contains field if {
	_req

	# a set difference: only the absent or ill-typed fields are walked
	some field in (_required_fields - object.keys(_strings))
}

invalid_fields contains field if {
	some field in ({"executionSurface", "requestedLane", "egressApprovalRef"} - object.keys(_strings))
	_req[field] != null
}

invalid_fields contains "escalation" if {
	_req.escalation != null
	escalation == null
}

# (an ill-typed count is never its normalised value: that is the default 0 then)
invalid_fields contains "standardLaneFailures" if {
	raw := _req.standardLaneFailures
	raw != null
	raw != standard_lane_failures
}

invalid_fields contains "deterministicVerificationAvailable" if {
	_req.deterministicVerificationAvailable != null
	not is_boolean(_req.deterministicVerificationAvailable)
}

invalid_fields contains "dataClass" if {
	_req.dataClass != null
	not _req.dataClass in _data_classes
}

invalid_fields contains "prompt" if {
	_req.prompt != null
	prompt == null
}

# A `personal` member makes a local-personal request (decided by model_router.personal); one that is
# not an object is malformed, and an agent-execution decision never silently ignores it.
invalid_fields contains "personal" if _req.personal != null

invalid_fields contains "subject" if {
	_req.subject != null
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
reasons := [] if {
	# the usual case, without building the lists or walking invalid_fields: the request id is
	# given; the task class, stage and risk class are declared (so given); every optional field
	# is absent, null or valid (its raw value is the normalised one, or both are null); the
	# requested lane is absent or declared and the execution surface absent or in scope (the
	# accessors, never the raw values, are object.get keys: an array key would be a path)
	id != null
	task
	stage_entry
	risk_floor
	object.get(_req, "requestedLane", null) == asked_lane
	object.get(config.policy_lanes, asked_lane, asked_lane == null)
	object.get(_req, "executionSurface", null) == execution_surface
	object.get({null: true}, execution_surface, execution_surface in config.policy.scope.executionSurfaces)
	object.get(_req, "egressApprovalRef", null) == egress_approval_ref
	is_null(object.get(_req, "escalation", null)) == is_null(escalation)
	object.get(_req, "standardLaneFailures", 0) == standard_lane_failures
	object.get(_req, "deterministicVerificationAvailable", false) == deterministic_verification
	object.get(_req, "dataClass", "internal") == data_class
	is_null(object.get(_req, "prompt", null)) == is_null(prompt)
	object.get(_req, "personal", null) == null
	is_object(object.get(_req, "subject", {}))
} else := array.concat(
	[sprintf("invalid-request-field:%s", [f]) | some f in sort(invalid_fields)],
	array.concat(_unknown, _surface_reason),
)

_unknown := [r |
	some [value, known, code] in [
		[task_class, config.task_classes, "unknown-task-class"],
		[stage, config.stages, "unknown-stage"],
		[risk_class, config.risk_floors, "unknown-risk-class"],
		[asked_lane, config.policy_lanes, "unknown-requested-lane"],
	]
	value != null
	not known[value]
	r := sprintf("%s:%s", [code, value])
]

_surface_reason := [sprintf("execution-surface-not-in-scope:%s", [execution_surface]) |
	execution_surface != null
	not execution_surface in config.policy.scope.executionSurfaces
]
