# METADATA
# title: Escalation gating and de-escalation
# description: |
#   Rules 4-8 for premium lanes: an escalation reason is required (unless the documents waive it for
#   the lane's tier), it must be one of `escalationPolicy.allowedReasons`, a receipt is required when
#   the lane says so, a human justification when the task class says so, and the
#   `repeated-standard-lane-failure` reason needs at least `repeatedFailureThreshold` failures.
#   An escalation is valid for a lane when all of these hold for it; only a valid escalation lifts the
#   stage ceiling. After planning, premium work de-escalates (`deescalateAfterPlan`).
package model_router.agent.escalation

import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.request

_policy := config.policy.escalationPolicy

_esc := request.escalation

# The contract names the one escalation reason that counts failures.
_repeated_failure_reason := "repeated-standard-lane-failure"

# METADATA
# description: Whether the request carries an escalation reason.
reason_given if _esc.reason != null

# METADATA
# description: Whether the escalation reason is one the policy allows.
reason_allowed if _esc.reason in _policy.allowedReasons

_receipt_given if _esc.receiptRef != null

_justification_given if _esc.humanJustification != null

_justification_required if request.task.requiresHumanJustification == true

_threshold_not_met if {
	_esc.reason == _repeated_failure_reason
	request.standard_lane_failures < _policy.repeatedFailureThreshold
}

_receipt_satisfied(lane) if not lanes.requires_receipt[lane]

_receipt_satisfied(_) if _receipt_given

_justification_satisfied if not _justification_required

_justification_satisfied if _justification_given

# METADATA
# description: The declared lanes the request's escalation is valid for.
valid_lanes := {lane |
	reason_allowed
	_justification_satisfied
	not _threshold_not_met
	some lane, _ in config.policy_lanes
	_receipt_satisfied(lane)
}

# METADATA
# description: Whether the request's escalation is valid for the lane.
valid_for(lane) if valid_lanes[lane]

# The documents' per-tier switches that require a reason (either one suffices).
_reason_flags := {
	"high": [_policy.requireReasonForHighEnd, config.policy.enforcement.denyHighEndWithoutReason],
	"maximum": [_policy.requireReasonForPro, config.policy.enforcement.denyProWithoutReason],
}

_reason_required(lane) if not lanes.premium_tier[lane]

_reason_required(lane) if true in _reason_flags[lanes.premium_tier[lane]]

_checks(lane) := [
	[_fails_reason(lane), "premium-lane-requires-escalation-reason"],
	[_fails_allowed, "invalid-escalation-reason"],
	[_fails_receipt(lane), "premium-lane-requires-escalation-receipt"],
	[_fails_justification, "human-justification-required"],
	[_fails_threshold, "repeated-failure-threshold-not-met"],
]

_fails_reason(lane) if {
	_reason_required(lane)
	not reason_given
}

default _fails_reason(_) := false

default _fails_allowed := false

_fails_allowed if {
	reason_given
	not reason_allowed
}

default _fails_receipt(_) := false

_fails_receipt(lane) if not _receipt_satisfied(lane)

default _fails_justification := false

_fails_justification if not _justification_satisfied

default _fails_threshold := false

_fails_threshold if _threshold_not_met

_failures(lane) := [code |
	some [failed, code] in _checks(lane)
	failed
]

# METADATA
# description: The lane routine work de-escalates to after the current stage.
de_escalation_lane := lanes.highest_non_premium_at_or_below(request.stage_entry.maxLaneWithoutEscalation)

# METADATA
# description: Whether a selected lane must de-escalate after the current stage.
deescalate_after(lane) if {
	_policy.deescalateAfterPlan == true
	lanes.premium[lane]
}

# METADATA
# description: Rule 4-8 failures of every declared lane, by lane (premium lanes only), in table order.
failures_by_lane := object.union(
	{lane: [] | some lane, _ in config.policy_lanes},
	{lane: _failures(lane) | some lane in lanes.premium},
)

# METADATA
# description: Rule 4-8 failures of a lane (premium lanes only), in table order.
failures(lane) := failures_by_lane[lane]
