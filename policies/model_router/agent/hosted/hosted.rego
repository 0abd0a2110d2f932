# METADATA
# title: Hosted admission
# description: |
#   Rules 10-15, for hosted lanes: the network must be available when hosted admission (or the task
#   class) requires it; the provider quota must be known when the optimizer denies unknown quota (for
#   premium lanes also when it denies unknown quota for premium); the provider error rate and p95
#   latency must be within the declared maxima; prompt egress needs a verified approval when hosted
#   admission requires policy; and `restricted` data never leaves the device. Positive evidence is
#   required: an absent network, quota, error-rate or latency signal fails its check.
#
#   The approval is an `egress-approval` token (`egressApprovalToken`) that the trust anchors verify,
#   whose `jti` is `egressApprovalRef`, whose claims name this request, list the request's data class
#   in `dataClasses` and set `maxLane` at or above the lane. A reference without its token is missing
#   (`hosted-requires-policy-approval`); a token that fails a check gives `egress-approval-invalid:<why>`.
package model_router.agent.hosted

import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.request
import data.model_router.agent.signals
import data.model_router.approvals.token

# Every rule a decision evaluates costs OPA allocations of its own: the usual case (every check
# passes) is decided by one rule body (failures_by_lane) with local variables; the per-check rules
# below it are evaluated when some check fails, and the approval rules whenever a token is presented.

_network_required if config.optimizer.resourcePolicy.hostedAdmission.requiresNetwork == true

_network_required if request.task.requiresNetwork == true

default _network_unavailable := false

_network_unavailable if {
	_network_required
	not signals.value.networkAvailable == true
}

_quota_must_be_known(_) if config.optimizer.resourcePolicy.hostedAdmission.denyWhenQuotaUnknown == true

_quota_must_be_known(true) if config.optimizer.enforcement.denyOnUnknownQuotaForPremium == true

# Whether the quota rule fails, for a premium lane (true) or another hosted lane (false).
default _quota_unknown_for(_) := false

_quota_unknown_for(premium) if {
	_quota_must_be_known(premium)
	not signals.value.providerQuotaKnown == true
}

default _error_rate_too_high := false

_error_rate_too_high if {
	config.optimizer.resourcePolicy.hostedAdmission.denyWhenProviderUnhealthy == true
	is_number(config.optimizer.resourcePolicy.hostedAdmission.maxProviderErrorRate)
	not _error_rate_ok
}

# (`not` over a comparison with an absent signal would be undefined: the comparison is a rule.)
_error_rate_ok if signals.value.providerErrorRate <= config.optimizer.resourcePolicy.hostedAdmission.maxProviderErrorRate

default _latency_too_high := false

_latency_too_high if {
	is_number(config.optimizer.resourcePolicy.hostedAdmission.maxProviderLatencyP95Ms)
	not _latency_ok
}

_latency_ok if signals.value.providerLatencyP95Ms <= config.optimizer.resourcePolicy.hostedAdmission.maxProviderLatencyP95Ms

# The egress token decoded once per decision ([header, claims], or null when malformed).
_egress_parsed := token.parse(request.egress_approval_token)

# The egress token's failing checks apart from the lane check, computed once per decision.
_egress_failures := token.failures_of(
	"egress-approval",
	request.egress_approval_token,
	_egress_parsed,
	request.egress_approval_ref,
	{"requestId": request.id, "dataClass": request.data_class},
)

# The lane check (token.lane_exceeds) is the only part of the verdict that depends on the lane: a
# hosted lane passes it when its rank is at most token.max_rank, the rank of the token's maxLane when
# that names a hosted lane (else -1: every lane is above it).
_max_rank := token.max_rank(token.claim_of(_egress_parsed, "maxLane"), lanes.rank, lanes.hosted)

# The two verdicts a hosted lane can get, each computed once per decision: within maxLane, above it.
_verdict_within := token.verdict("egress-approval", _egress_failures)

_verdict_above := token.verdict("egress-approval", _egress_failures | {"lane"})

# METADATA
# description: The egress approval's verdict for a hosted lane (`valid` or `egress-approval-invalid:<why>`).
egress_verdict(lane) := _verdict_within if lanes.rank[lane] <= _max_rank

else := _verdict_above

# METADATA
# scope: document
# description: |
#   The egress approval's evidence (no token), judged for LANE when it is hosted, otherwise without
#   the lane check; undefined when no egress token is presented.
approval(lane) := token.evidence_of(
	"egress-approval", request.egress_approval_token, _egress_parsed, request.egress_approval_ref,
	egress_verdict(lane),
) if {
	request.egress_approval_token != null
	config.policy_lanes[lane]
	not lanes.local[lane] # hosted (lanes.hosted, without building that set)
} else := token.evidence_of(
	"egress-approval", request.egress_approval_token, _egress_parsed, request.egress_approval_ref,
	_verdict_within,
) if {
	request.egress_approval_token != null
}

# Rule 14 for a lane judged with VERDICT: a missing approval, or the first failing check of the
# presented one.
_approval_codes(verdict) := [] if {
	not config.optimizer.resourcePolicy.hostedAdmission.requiresPolicy == true
} else := ["hosted-requires-policy-approval"] if {
	request.egress_approval_token == null
} else := [verdict] if {
	verdict != "valid"
} else := []

# Rules 10-13 for a premium lane (true) or another hosted lane (false): only the quota rule depends on
# the lane.
_signal_checks(premium) := [code |
	some [failed, code] in [
		[_network_unavailable, "network-unavailable"],
		[_quota_unknown_for(premium), "provider-quota-unknown"],
		[_error_rate_too_high, "provider-error-rate-too-high"],
		[_latency_too_high, "provider-latency-too-high"],
	]
	failed
]

# No approval is required, or the presented one passes every check up to the top lane.
_approvals_pass if not config.optimizer.resourcePolicy.hostedAdmission.requiresPolicy == true

_approvals_pass if {
	count(_egress_failures) == 0
	_max_rank == count(lanes.rank) - 1
}

# METADATA
# description: |
#   Rule 10-15 failures by lane, in table order: only the hosted lanes that fail a check are keys (a
#   lane that is not a key passes them all). In the usual case (good provider signals, a data class
#   that may leave the device, no approval required or a valid one up to the top lane) no lane fails
#   and no per-lane work is done.
failures_by_lane := {} if {
	signal := signals.value
	signal.networkAvailable == true
	signal.providerQuotaKnown == true
	admission := config.optimizer.resourcePolicy.hostedAdmission
	signal.providerErrorRate <= admission.maxProviderErrorRate
	signal.providerLatencyP95Ms <= admission.maxProviderLatencyP95Ms
	request.data_class != "restricted"
	_approvals_pass
} else := {lane: reasons |
	# the codes a lane can get, computed once: by premium or not, by within maxLane or above it
	signal_codes := {true: _signal_checks(true), false: _signal_checks(false)}
	approval_codes := {true: _approval_codes(_verdict_within), false: _approval_codes(_verdict_above)}

	# `restricted` data never leaves the device
	data_class_codes := ["data-class-forbids-egress" | request.data_class == "restricted"]
	some lane in lanes.hosted
	reasons := array.flatten([
		signal_codes[lane in lanes.premium],
		approval_codes[lanes.rank[lane] <= _max_rank],
		data_class_codes,
	])
	count(reasons) > 0
}

# METADATA
# description: Rule 10-15 failures of a declared lane (hosted lanes only; an empty array for any other), in table order.
failures(lane) := object.get(failures_by_lane, lane, []) if config.policy_lanes[lane]
