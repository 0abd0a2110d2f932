# METADATA
# title: Hosted admission
# description: |
#   Rules 10-15, for hosted lanes: the network must be available when hosted admission (or the task
#   class) requires it; the provider quota must be known when the optimizer denies unknown quota (for
#   premium lanes also when it denies unknown quota for premium); the provider error rate and p95
#   latency must be within the declared maxima; prompt egress needs an approval reference when hosted
#   admission requires policy; and `restricted` data never leaves the device. Positive evidence is
#   required: an absent network, quota, error-rate or latency signal fails its check.
package model_router.agent.hosted

import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.request
import data.model_router.agent.signals

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

default _approval_missing := false

_approval_missing if {
	_admission.requiresPolicy == true
	request.egress_approval_ref == null
}

default _data_class_forbids := false

_data_class_forbids if request.data_class == _no_egress_data_class

# The checks do not depend on the lane except for the quota rule, so the two possible lists (premium
# or not) are computed once per decision.
_checks(quota_unknown) := [code |
	some [failed, code] in [
		[_network_unavailable, "network-unavailable"],
		[quota_unknown, "provider-quota-unknown"],
		[_error_rate_too_high, "provider-error-rate-too-high"],
		[_latency_too_high, "provider-latency-too-high"],
		[_approval_missing, "hosted-requires-policy-approval"],
		[_data_class_forbids, "data-class-forbids-egress"],
	]
	failed
]

_premium_reasons := _checks(_quota_unknown_for(true))

_standard_reasons := _checks(_quota_unknown_for(false))

# METADATA
# description: Rule 10-15 failures of every declared lane, by lane (hosted lanes only), in table order.
failures_by_lane := object.union_n([
	{lane: [] | some lane, _ in config.policy_lanes},
	{lane: _standard_reasons | some lane in lanes.hosted},
	{lane: _premium_reasons | some lane in (lanes.hosted & lanes.premium)},
])

# METADATA
# description: Rule 10-15 failures of a lane (hosted lanes only), in table order.
failures(lane) := failures_by_lane[lane]
