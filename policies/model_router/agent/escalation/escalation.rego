# METADATA
# title: Escalation gating and de-escalation
# description: |
#   Rules 4-8 for premium lanes: an escalation reason is required (unless the documents waive it for
#   the lane's tier), it must be one of `escalationPolicy.allowedReasons`, a receipt is required when
#   the lane says so, a human justification when the task class says so, and the
#   `repeated-standard-lane-failure` reason needs at least `repeatedFailureThreshold` failures.
#   An escalation is valid for a lane when all of these hold for it; only a valid escalation lifts the
#   stage ceiling. After planning, premium work de-escalates (`deescalateAfterPlan`).
#
#   Present means verified (docs/policy-authoring.md, "Approvals"): the receipt is an
#   `escalation-receipt` token (`escalation.receiptToken`) that the trust anchors verify, whose `jti`
#   is `receiptRef` and whose claims name this request, task class and reason, with `maxLane` at or
#   above the lane; a reference without its token is missing, a token that fails a check gives
#   `escalation-receipt-invalid:<why>`. A justification is present when it has at least 20
#   characters after removing whitespace, control characters and Unicode format characters (Cf).
package model_router.agent.escalation

import data.model_router.agent.budget
import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.request
import data.model_router.approvals.justification
import data.model_router.approvals.token

# The receipt's token kind (`escalation-receipt`) and the one escalation reason the contract says
# counts failures (`repeated-standard-lane-failure`) are written out where they are used: a rule
# holding a constant costs a rule lookup at each use.

# METADATA
# description: Whether the request carries an escalation reason.
reason_given if request.escalation.reason != null

# METADATA
# description: Whether the escalation reason is one the policy allows.
reason_allowed if request.escalation.reason in config.policy.escalationPolicy.allowedReasons

_receipt_presented if request.receipt_token != null

# The receipt token decoded once per decision ([header, claims], or null when malformed).
_receipt_parsed := token.parse(request.receipt_token)

# The receipt token's failing checks apart from the lane check, computed once per decision.
_receipt_failures := token.failures_of(
	"escalation-receipt",
	request.receipt_token,
	_receipt_parsed,
	request.escalation.receiptRef,
	{"requestId": request.id, "taskClass": request.task_class, "reason": request.escalation.reason},
)

# The token's maxLane claim.
_max_lane := token.claim_of(_receipt_parsed, "maxLane")

# The lane check (token.lane_exceeds) is the only part of the verdict that depends on the lane: a
# premium lane passes it when its rank is at most token.max_rank, the rank of the token's maxLane when
# that names a premium lane (else -1: every lane is above it).
_max_rank := token.max_rank(_max_lane, lanes.rank, lanes.premium)

# The two verdicts a lane can get, each computed once per decision: within maxLane, above it.
_verdict_within := token.verdict("escalation-receipt", _receipt_failures)

_verdict_above := token.verdict("escalation-receipt", _receipt_failures | {"lane"})

# METADATA
# description: The receipt token's verdict for a premium lane (`valid` or `escalation-receipt-invalid:<why>`).
receipt_verdict(lane) := _verdict_within if lanes.rank[lane] <= _max_rank

else := _verdict_above

# METADATA
# scope: document
# description: |
#   The receipt's evidence (no token), judged for LANE when it is premium, otherwise without the lane
#   check; undefined when no receipt token is presented.
approval(lane) := token.evidence_of(
	"escalation-receipt", request.receipt_token, _receipt_parsed, request.escalation.receiptRef,
	receipt_verdict(lane),
) if {
	_receipt_presented
	lanes.premium[lane]
} else := token.evidence_of(
	"escalation-receipt", request.receipt_token, _receipt_parsed, request.escalation.receiptRef,
	_verdict_within,
) if {
	_receipt_presented
}

_justification_given if justification.present(request.escalation.humanJustification)

_justification_required if request.task.requiresHumanJustification == true

_threshold_not_met if {
	request.escalation.reason == "repeated-standard-lane-failure"
	request.standard_lane_failures < config.policy.escalationPolicy.repeatedFailureThreshold
}

# The lanes that require a receipt and whose presented receipt is valid for them (every other declared
# lane needs none): those within its maxLane, when it passes every other check.
default _receipt_valid_lanes := set()

_receipt_valid_lanes := {lane |
	some lane in lanes.requires_receipt
	lanes.rank[lane] <= _max_rank
} if {
	_receipt_presented
	_verdict_within == "valid"
}

_justification_satisfied if not _justification_required

_justification_satisfied if _justification_given

# METADATA
# scope: document
# description: The declared lanes the request's escalation is valid for.
default valid_lanes := set()

# One set for the whole decision (a complete rule: later lookups are plain indexing).
valid_lanes := (object.keys(config.policy_lanes) - lanes.requires_receipt) | _receipt_valid_lanes if {
	reason_allowed
	_justification_satisfied
	not _threshold_not_met
}

# METADATA
# description: Whether the request's escalation is valid for the lane.
valid_for(lane) if valid_lanes[lane]

# The documents' per-tier switches that require a reason (either one suffices).
_reason_flags := {
	"high": [config.policy.escalationPolicy.requireReasonForHighEnd, config.policy.enforcement.denyHighEndWithoutReason],
	"maximum": [config.policy.escalationPolicy.requireReasonForPro, config.policy.enforcement.denyProWithoutReason],
}

default _fails_allowed := false

_fails_allowed if {
	reason_given
	not reason_allowed
}

default _fails_justification := false

_fails_justification if not _justification_satisfied

default _fails_threshold := false

_fails_threshold if _threshold_not_met

# The codes before the receipt's (reason, then allowed reason) and after it (justification, then
# threshold); only the reason rule depends on the lane, so the rest is built once per decision.
_allowed_codes := ["invalid-escalation-reason" | _fails_allowed]

_after_receipt_codes := array.concat(
	["human-justification-required" | _fails_justification],
	["repeated-failure-threshold-not-met" | _fails_threshold],
)

# METADATA
# scope: document
# description: The lane routine work de-escalates to after the current stage (null when there is none).
default de_escalation_lane := null

de_escalation_lane := lanes.highest_non_premium_at_or_below(request.stage_entry.maxLaneWithoutEscalation)

# METADATA
# description: Whether a selected lane must de-escalate after the current stage.
deescalate_after(lane) if {
	config.policy.escalationPolicy.deescalateAfterPlan == true
	lanes.premium[lane]
}

# METADATA
# description: Rule 4-8 failures of every declared lane, by lane (premium lanes only), in table order.
failures_by_lane := object.union(budget.no_failures, {lane: array.concat(
	reason_code[lane in reason_lanes],
	receipt_code[lane in receipt_lanes],
) |
	# no escalation at all (the usual request): the reason and receipt rules only (the sets read per
	# lane bound once: a local lookup per lane, not a rule lookup)
	reason_code := {true: ["premium-lane-requires-escalation-reason"], false: []}
	reason_lanes := _reason_lanes
	receipt_code := {true: ["premium-lane-requires-escalation-receipt"], false: []}
	receipt_lanes := lanes.requires_receipt
	some lane in lanes.premium
}) if {
	request.escalation == null
	not _justification_required
} else := budget.no_failures if {
	# the escalation is valid for every premium lane (the usual escalated request): none fails
	count(lanes.premium - valid_lanes) == 0
} else := object.union(budget.no_failures, _receipt_codes_by_lane) if {
	# an allowed reason, with a justification when required and enough failures when counted: only
	# the receipt rule can fail
	reason_allowed
	_justification_satisfied
	not _threshold_not_met
} else := object.union(budget.no_failures, {lane: array.concat(
	array.concat(_reason_code[lane in _reason_lanes], _allowed_codes),
	array.concat(object.get(_receipt_codes_by_lane, lane, []), _after_receipt_codes),
) |
	some lane in lanes.premium
})

_reason_code := {true: ["premium-lane-requires-escalation-reason"], false: []}

# The premium lanes that fail the reason rule (none when a reason is given): every one but those
# whose tier no switch requires a reason for.
default _reason_lanes := set()

_reason_lanes := lanes.premium - {lane | some lane, tier in lanes.premium_tier; not true in _reason_flags[tier]} if {
	not reason_given
}

# The receipt codes of the lanes that require a receipt (the others have none): the missing receipt,
# or the first failing check of the presented one.
_receipt_codes_by_lane := {lane: ["premium-lane-requires-escalation-receipt"] | some lane in lanes.requires_receipt} if {
	not _receipt_presented
} else := {lane: _receipt_codes(lanes.rank[lane] <= _max_rank) | some lane in lanes.requires_receipt}

# The first failing check of the presented receipt for a lane within its maxLane (true; [] when it is
# valid) or above it (false).
_receipt_codes(true) := [] if _verdict_within == "valid"

_receipt_codes(true) := [_verdict_within] if _verdict_within != "valid"

_receipt_codes(false) := [_verdict_above]

# METADATA
# description: Rule 4-8 failures of a lane (premium lanes only), in table order.
failures(lane) := failures_by_lane[lane]
