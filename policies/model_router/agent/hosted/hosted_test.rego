package model_router.agent.hosted_test

import data.model_router.agent.hosted
import data.model_router.agent.testing_test as t
import data.model_router.approvals.testing_test as approvals

_admission := data.model_router_data.optimizers[data.model_router_data.active.optimizer].document.resourcePolicy.hostedAdmission

test_healthy_provider_admits_hosted_lanes if {
	hosted.failures("cheap") == [] with input as t.bundle
	hosted.failures("pro") == [] with input as t.bundle
}

test_local_lanes_are_not_checked if {
	b := t.with_resources({"networkAvailable": false})
	hosted.failures("local-cheap") == [] with input as b
	hosted.failures("no-model") == [] with input as b
}

test_each_hosted_check if {
	hosted.failures("standard") == ["network-unavailable"] with input as t.with_resources({"networkAvailable": false})
	hosted.failures("standard") == ["provider-quota-unknown"] with input as t.with_quota({"providerQuotaKnown": false})
	hosted.failures("standard") == ["provider-error-rate-too-high"] with input as t.with_resources({"providerErrorRate": 0.2})
	hosted.failures("standard") == ["provider-latency-too-high"] with input as t.with_resources({"providerLatencyP95Ms": 60000})
	hosted.failures("standard") == ["hosted-requires-policy-approval"] with input as t.with_request({
		"egressApprovalRef": null,
		"egressApprovalToken": null,
	})
	hosted.failures("standard") == [
		"egress-approval-invalid:data-class",
		"data-class-forbids-egress",
	] with input as t.with_request({"dataClass": "restricted"})
}

test_every_hosted_check_in_table_order if {
	b := t.with_all(
		{"egressApprovalRef": null, "egressApprovalToken": null, "dataClass": "restricted"},
		{"networkAvailable": false, "providerErrorRate": 0.9, "providerLatencyP95Ms": 90000},
		{"providerQuotaKnown": false},
	)
	hosted.failures("cheap") == [
		"network-unavailable", "provider-quota-unknown", "provider-error-rate-too-high",
		"provider-latency-too-high", "hosted-requires-policy-approval", "data-class-forbids-egress",
	] with input as b
}

test_confidential_data_may_leave_with_approval if {
	hosted.failures("cheap") == [] with input as t.with_request({"dataClass": "confidential"})
}

test_error_rate_and_latency_exactly_at_the_maximum_are_admitted if {
	b := t.with_resources({
		"providerErrorRate": _admission.maxProviderErrorRate,
		"providerLatencyP95Ms": _admission.maxProviderLatencyP95Ms,
	})
	hosted.failures("standard") == [] with input as b
}

test_latency_one_millisecond_over if {
	b := t.with_resources({"providerLatencyP95Ms": _admission.maxProviderLatencyP95Ms + 1})
	hosted.failures("standard") == ["provider-latency-too-high"] with input as b
}

test_task_class_that_requires_network if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"hostedAdmission": {"requiresNetwork": false}}}})
	b := t.with_all({"taskClass": "high-stakes-synthesis"}, {"networkAvailable": false}, {})
	hosted.failures("standard") == ["network-unavailable"] with input as b with data.model_router_data as d
	hosted.failures("standard") == [] with input as t.with_resources({"networkAvailable": false}) with data.model_router_data as d
}

test_unknown_quota_tolerated_for_standard_but_not_premium if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"hostedAdmission": {"denyWhenQuotaUnknown": false}}}})
	b := t.with_quota({"providerQuotaKnown": false})
	hosted.failures("standard") == [] with input as b with data.model_router_data as d
	hosted.failures("high-end") == ["provider-quota-unknown"] with input as b with data.model_router_data as d
}

test_error_rate_ignored_when_unhealthy_providers_are_not_denied if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"hostedAdmission": {"denyWhenProviderUnhealthy": false}}}})
	hosted.failures("standard") == [] with input as t.with_resources({"providerErrorRate": 0.9}) with data.model_router_data as d
}

test_no_approval_needed_when_policy_not_required if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"hostedAdmission": {"requiresPolicy": false}}}})
	hosted.failures("standard") == [] with input as t.with_request({
		"egressApprovalRef": null,
		"egressApprovalToken": null,
	})
		with data.model_router_data as d
}

test_no_approval_code_for_a_failing_lane_when_policy_not_required if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"hostedAdmission": {"requiresPolicy": false}}}})
	b := t.with_all({"egressApprovalRef": null, "egressApprovalToken": null}, {"networkAvailable": false}, {})
	hosted.failures("standard") == ["network-unavailable"] with input as b with data.model_router_data as d
	hosted.failures("pro") == ["network-unavailable"] with input as b with data.model_router_data as d
}

test_every_hosted_lane_passes_in_the_usual_case if {
	hosted.failures_by_lane == {} with input as t.bundle
	object.keys(hosted.failures_by_lane) == {"cheap", "standard", "high-end", "pro"} with input as t.with_request({"dataClass": "restricted"})
}

test_absent_optional_signals_fail_closed if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"requiredSignals": ["estimatedInputTokens"]}}})
	b := json.remove(
		t.bundle,
		["resources/networkAvailable", "resources/providerErrorRate", "resources/providerLatencyP95Ms", "quota/providerQuotaKnown"],
	)
	hosted.failures("standard") == [
		"network-unavailable", "provider-quota-unknown", "provider-error-rate-too-high", "provider-latency-too-high",
	] with input as b with data.model_router_data as d
}

_with_egress(ref, token) := t.with_request({"egressApprovalRef": ref, "egressApprovalToken": token})

test_fail_whitespace_reference_without_a_token_is_missing if {
	every ref in [" ", "\t", "\u200b"] {
		hosted.failures("standard") == ["hosted-requires-policy-approval"] with input as _with_egress(ref, null)
	}
}

test_fail_invalid_egress_tokens if {
	ref := "urn:socioprophet:policy-decision:egress-test-0001"
	hosted.failures("standard") == ["egress-approval-invalid:malformed"] with input as _with_egress(ref, "\t")
	hosted.failures("standard") == ["egress-approval-invalid:purpose"] with input as _with_egress(ref, approvals.tokens.valid)
	hosted.failures("standard") == ["egress-approval-invalid:ref-mismatch"] with input as _with_egress("other", approvals.tokens.egress)
	hosted.failures("standard") == ["egress-approval-invalid:data-class"] with input as _with_egress(
		ref,
		approvals.tokens["egress-data-class"],
	)
}

test_fail_hosted_lane_above_the_approvals_max_lane if {
	b := _with_egress("urn:socioprophet:policy-decision:egress-test-0001", approvals.tokens["egress-standard"])
	hosted.failures("cheap") == [] with input as b
	hosted.failures("standard") == [] with input as b
	hosted.failures("high-end") == ["egress-approval-invalid:lane"] with input as b
	hosted.egress_verdict("pro") == "egress-approval-invalid:lane" with input as b
}

test_success_egress_evidence if {
	e := hosted.approval("standard") with input as t.bundle
	e.verdict == "valid"
	e.kind == "egress-approval"
	n := hosted.approval("local-cheap") with input as t.bundle
	n.verdict == "valid"
	not hosted.approval("standard") with input as _with_egress("x", null)
}
