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

_admission := config.optimizer.resourcePolicy.hostedAdmission

_signal := signals.value

# The contract's data class that may never leave the device.
_no_egress_data_class := "restricted"

_network_required if _admission.requiresNetwork == true

_network_required if request.task.requiresNetwork == true

default _network_unavailable := false

_network_unavailable if {
	_network_required
	not _signal.networkAvailable == true
}

_quota_must_be_known(_) if _admission.denyWhenQuotaUnknown == true

_quota_must_be_known(true) if config.optimizer.enforcement.denyOnUnknownQuotaForPremium == true

# Whether the quota rule fails, for a premium lane (true) or another hosted lane (false).
default _quota_unknown_for(_) := false

_quota_unknown_for(premium) if {
	_quota_must_be_known(premium)
	not _signal.providerQuotaKnown == true
}

default _error_rate_too_high := false

_error_rate_too_high if {
	_admission.denyWhenProviderUnhealthy == true
	is_number(_admission.maxProviderErrorRate)
	not _error_rate_ok
}

_error_rate_ok if _signal.providerErrorRate <= _admission.maxProviderErrorRate

default _latency_too_high := false

_latency_too_high if {
	is_number(_admission.maxProviderLatencyP95Ms)
	not _latency_ok
}

_latency_ok if _signal.providerLatencyP95Ms <= _admission.maxProviderLatencyP95Ms

_egress_kind := "egress-approval"

_egress_presented if request.egress_approval_token != null

# The egress token decoded once per decision ([header, claims], or null when malformed).
_egress_parsed := token.parse(request.egress_approval_token)

# The egress token's failing checks apart from the lane check, computed once per decision.
_egress_failures := token.failures_of(
	_egress_kind,
	request.egress_approval_token,
	_egress_parsed,
	request.egress_approval_ref,
	{"requestId": request.id, "dataClass": request.data_class},
)

# The token's maxLane claim.
_max_lane := token.claim_of(_egress_parsed, "maxLane")

# METADATA
# description: The egress approval's verdict for a hosted lane (`valid` or `egress-approval-invalid:<why>`).
egress_verdict(lane) := token.verdict(
	_egress_kind,
	_egress_failures | {"lane" | token.lane_exceeds(_max_lane, lane, lanes.rank, lanes.hosted)},
)

# METADATA
# scope: document
# description: |
#   The egress approval's evidence (no token), judged for LANE when it is hosted, otherwise without
#   the lane check; undefined when no egress token is presented.
approval(lane) := token.evidence_of(_egress_kind, request.egress_approval_token, _egress_parsed, request.egress_approval_ref, v) if {
	_egress_presented
	lanes.hosted[lane]
	v := egress_verdict(lane)
}

approval(lane) := token.evidence_of(_egress_kind, request.egress_approval_token, _egress_parsed, request.egress_approval_ref, v) if {
	_egress_presented
	not lanes.hosted[lane]
	v := token.verdict(_egress_kind, _egress_failures)
}

# A missing approval, or the first failing check of the presented one.
default _approval_codes(_) := []

_approval_codes(lane) := ["hosted-requires-policy-approval"] if {
	_admission.requiresPolicy == true
	not _egress_presented
} else := [code] if {
	_admission.requiresPolicy == true
	code := egress_verdict(lane)
	code != "valid"
}

default _data_class_forbids := false

_data_class_forbids if request.data_class == _no_egress_data_class

# Rules 10-13 do not depend on the lane except for the quota rule, so the two possible lists (premium
# or not) are computed once per decision; the approval (rule 14) is judged per lane.
_signal_checks(quota_unknown) := [code |
	some [failed, code] in [
		[_network_unavailable, "network-unavailable"],
		[quota_unknown, "provider-quota-unknown"],
		[_error_rate_too_high, "provider-error-rate-too-high"],
		[_latency_too_high, "provider-latency-too-high"],
	]
	failed
]

_premium_signal_reasons := _signal_checks(_quota_unknown_for(true))

_standard_signal_reasons := _signal_checks(_quota_unknown_for(false))

_signal_reasons(lane) := _premium_signal_reasons if lanes.premium[lane]

else := _standard_signal_reasons

_data_class_reasons := ["data-class-forbids-egress" | _data_class_forbids]

# METADATA
# description: Rule 10-15 failures of every declared lane, by lane (hosted lanes only), in table order.
failures_by_lane := object.union(
	{lane: [] | some lane, _ in config.policy_lanes},
	{lane: reasons |
		some lane in lanes.hosted
		reasons := array.concat(array.concat(_signal_reasons(lane), _approval_codes(lane)), _data_class_reasons)
	},
)

# METADATA
# description: Rule 10-15 failures of a lane (hosted lanes only), in table order.
failures(lane) := failures_by_lane[lane]
