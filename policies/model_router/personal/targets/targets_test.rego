package model_router.personal.targets_test

import data.model_router.approvals.testing_test as approvals
import data.model_router.personal.targets

# METADATA
# description: The ledger contract of the test binding (granted, encrypted egress allowed).
_contract_doc := {
	"contractId": "urn:socioprophet:personal-tuning-contract:test",
	"subject": {},
	"baseModelRef": "urn:srcos:model-profile:test-small",
	"tuningTarget": {"artifactRef": "urn:socioprophet:model-adapter:test"},
	"consent": {"status": "granted", "signedIntentRef": "consent:1", "expiresAt": "2030-01-01T00:00:00Z"},
	"dataBoundary": {"egressPolicy": "encrypted-allowed"},
	"promotion": {"modelRouterBindingRef": "urn:socioprophet:model-router-binding:test"},
}

_governance := {
	"trustAnchors": approvals.anchors,
	"consentContracts": {_contract_doc.contractId: _contract_doc},
}

_binding_id := "urn:socioprophet:model-router-binding:test"

_small := "urn:srcos:model-profile:test-small"

_large := "urn:srcos:model-profile:test-large"

_binding := {
	"bindingId": _binding_id,
	"defaultLocalProfileRef": _small,
	"qualityFallbackLocalProfileRef": _large,
	"personalization": {
		"enabled": true,
		"governanceContractRef": "urn:socioprophet:personal-tuning-contract:test",
		"artifactRef": "urn:socioprophet:model-adapter:test",
		"defaultState": "personal-only",
		"activationRequiresLedgerApproval": true,
	},
	"routes": [
		{
			"routeId": "assist",
			"taskClass": "office-assist",
			"preferredTarget": "personal-local",
			"fallbackTarget": "base-local",
			"requiresConsent": true,
			"requiresNetwork": false,
		},
		{
			"routeId": "reason",
			"taskClass": "complex-reasoning",
			"preferredTarget": "hosted",
			"fallbackTarget": "quality-local",
			"requiresConsent": true,
			"requiresNetwork": true,
		},
		{
			"routeId": "open",
			"taskClass": "rewrite",
			"preferredTarget": "hosted",
			"fallbackTarget": null,
			"requiresConsent": false,
			"requiresNetwork": true,
		},
	],
	"policy": {
		"localFirst": true,
		"promptEgressDefault": "deny",
		"hostedFallbackRequiresPolicy": true,
		"personalizationRequiresConsent": true,
		"promptHashOnlyEvidence": true,
	},
	"evidence": {"emitRouteDecision": true, "emitRuntimeHealth": true, "emitGovernanceRefs": true},
}

_data_with(binding) := object.union(_governance, {
	"bindings": {_binding_id: {"document": binding, "routes": {route.routeId: route | some route in binding.routes}}},
	"localProfiles": {
		_small: {"profileRef": _small, "memoryRequiredBytes": 1000},
		_large: {"profileRef": _large, "memoryRequiredBytes": 3000},
	},
})

_data := _data_with(_binding)

_healthy := {
	"localServiceHealthy": true,
	"localModelProfileAvailable": true,
	"memoryAvailableBytes": 4000,
	"thermalState": "normal",
	"batteryState": "normal",
	"networkAvailable": true,
}

_personal := {
	"bindingRef": _binding_id, "routeId": "assist", "consentRef": "consent:1", "ledgerApprovalRef": "ledger:1",
	"ledgerApprovalToken": approvals.tokens["personal-activation"],
}

_bundle(route_id, personal_patch, request_patch, resources_patch) := {
	"request": object.union(
		{
			"requestId": "req-1",
			"taskClass": "office-assist",
			"personal": object.union(object.union(_personal, {"routeId": route_id}), personal_patch),
		},
		request_patch,
	),
	"resources": object.union(_healthy, resources_patch),
	"evaluation": approvals.evaluation,
}

_reasons(target, bundle) := reasons if {
	reasons := targets.reasons(target) with input as bundle with data.model_router_data as _data
}

_reasons_with(target, bundle, binding) := reasons if {
	reasons := targets.reasons(target) with input as bundle with data.model_router_data as _data_with(binding)
}

_egress := {"egressApprovalRef": "egress:1", "egressApprovalToken": approvals.tokens["personal-egress"]}

# --- profile refs -------------------------------------------------------------------------------

test_profile_refs_come_from_the_binding if {
	b := _bundle("assist", {}, {}, {})
	targets.profile_ref("base-local") == _small with input as b with data.model_router_data as _data
	targets.profile_ref("personal-local") == _small with input as b with data.model_router_data as _data
	targets.profile_ref("quality-local") == _large with input as b with data.model_router_data as _data
	targets.profile_ref("hosted") == null with input as b with data.model_router_data as _data
	targets.profile_ref("deny") == null with input as b with data.model_router_data as _data
}

test_quality_profile_null_when_not_configured if {
	binding := object.remove(_binding, ["qualityFallbackLocalProfileRef"])
	targets.profile_ref("quality-local") == null with input as _bundle("assist", {}, {}, {})
		with data.model_router_data as _data_with(binding)
}

test_profile_ref_null_for_an_unknown_binding if {
	b := _bundle("assist", {}, {}, {})
	targets.profile_ref("base-local") == null with input as b with data.model_router_data as {"bindings": {}}
}

test_failures_name_every_failing_check_or_none if {
	b := _bundle("assist", {}, {}, {})
	targets.failures("base-local") == [] with input as b with data.model_router_data as _data
	targets.failures("deny") == ["route-target-deny"] with input as b with data.model_router_data as _data
	targets.failures("elsewhere") == ["route-target-unknown"] with input as b with data.model_router_data as _data
}

# --- base-local and quality-local ---------------------------------------------------------------

test_base_local_admissible_when_healthy if {
	b := _bundle("assist", {}, {}, {})
	_reasons("base-local", b) == ["admissible"]
	targets.admissible("base-local") with input as b with data.model_router_data as _data
}

test_local_service_unhealthy if {
	_reasons("base-local", _bundle("assist", {}, {}, {"localServiceHealthy": false})) == ["local-service-unhealthy"]
}

test_local_model_profile_unavailable if {
	_reasons("base-local", _bundle("assist", {}, {}, {"localModelProfileAvailable": false})) == ["local-model-profile-unavailable"]
}

test_insufficient_local_memory if {
	_reasons("base-local", _bundle("assist", {}, {}, {"memoryAvailableBytes": 999})) == ["insufficient-local-memory"]
}

test_memory_exactly_the_need_is_enough if {
	_reasons("base-local", _bundle("assist", {}, {}, {"memoryAvailableBytes": 1000})) == ["admissible"]
}

test_thermal_critical if {
	_reasons("base-local", _bundle("assist", {}, {}, {"thermalState": "critical"})) == ["thermal-critical"]
}

test_thermal_elevated_is_admissible if {
	_reasons("base-local", _bundle("assist", {}, {}, {"thermalState": "elevated"})) == ["admissible"]
}

test_battery_critical if {
	_reasons("base-local", _bundle("assist", {}, {}, {"batteryState": "critical"})) == ["battery-critical"]
}

test_battery_low_is_admissible if {
	_reasons("base-local", _bundle("assist", {}, {}, {"batteryState": "low"})) == ["admissible"]
}

test_every_local_reason_in_order_without_short_circuit if {
	b := _bundle("assist", {}, {}, {
		"localServiceHealthy": false, "localModelProfileAvailable": false, "memoryAvailableBytes": 0,
		"thermalState": "critical", "batteryState": "critical",
	})
	_reasons("base-local", b) == [
		"local-service-unhealthy", "local-model-profile-unavailable", "insufficient-local-memory",
		"thermal-critical", "battery-critical",
	]
	not targets.admissible("base-local") with input as b with data.model_router_data as _data
}

test_missing_local_signals_fail_closed if {
	b := {"request": _bundle("assist", {}, {}, {}).request}
	_reasons("base-local", b) == [
		"local-service-unhealthy", "local-model-profile-unavailable", "insufficient-local-memory",
		"thermal-critical", "battery-critical",
	]
}

test_low_memory_blocks_quality_but_not_base if {
	b := _bundle("reason", {}, {}, {"memoryAvailableBytes": 2000})
	_reasons("quality-local", b) == ["insufficient-local-memory"]
	_reasons("base-local", b) == ["admissible"]
}

test_quality_local_admissible_with_enough_memory if {
	_reasons("quality-local", _bundle("reason", {}, {}, {})) == ["admissible"]
}

test_quality_local_not_configured if {
	binding := object.remove(_binding, ["qualityFallbackLocalProfileRef"])
	_reasons_with("quality-local", _bundle("reason", {}, {}, {}), binding) == ["local-profile-not-configured"]
}

test_local_profile_unknown_to_policy_data if {
	binding := object.union(_binding, {"qualityFallbackLocalProfileRef": "urn:srcos:model-profile:not-in-data"})
	_reasons_with("quality-local", _bundle("reason", {}, {}, {}), binding) == ["local-profile-unknown"]
}

# --- personal-local -----------------------------------------------------------------------------

test_personal_local_admissible_with_consent_and_ledger_approval if {
	_reasons("personal-local", _bundle("assist", {}, {}, {})) == ["admissible"]
}

test_personal_local_active_state_is_admissible if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/defaultState", "value": "active"}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["admissible"]
}

test_personal_local_runs_the_base_local_checks if {
	_reasons("personal-local", _bundle("assist", {}, {}, {"thermalState": "critical"})) == ["thermal-critical"]
}

test_personalization_disabled_flag if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/enabled", "value": false}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["personalization-disabled"]
}

test_personalization_disabled_state if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/defaultState", "value": "disabled"}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["personalization-disabled"]
}

test_personalization_revoked if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/defaultState", "value": "revoked"}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["personalization-revoked"]
}

test_personalization_revoked_even_with_consent_and_approval if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/defaultState", "value": "revoked"}])
	not targets.admissible("personal-local") with input as _bundle("assist", {}, {}, {})
		with data.model_router_data as _data_with(binding)
}

test_personalization_candidate_not_active if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/defaultState", "value": "candidate"}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["personalization-not-active"]
}

test_personalization_state_missing_not_active if {
	binding := json.patch(_binding, [{"op": "remove", "path": "/personalization/defaultState"}])
	_reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding) == ["personalization-not-active"]
}

test_consent_contract_and_artifact_missing if {
	binding := json.patch(_binding, [
		{"op": "remove", "path": "/personalization/governanceContractRef"},
		{"op": "replace", "path": "/personalization/artifactRef", "value": ""},
	])
	reasons := _reasons_with("personal-local", _bundle("assist", {}, {}, {}), binding)
	reasons == ["consent-contract-missing", "personalization-artifact-missing", "personal-activation-invalid:artifact"]
}

test_personal_consent_missing if {
	_reasons("personal-local", _bundle("assist", {"consentRef": null}, {}, {})) == ["consent-missing"]
}

test_personal_consent_required_by_policy_alone if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/routes/0/requiresConsent", "value": false}])
	_reasons_with("personal-local", _bundle("assist", {"consentRef": null}, {}, {}), binding) == ["consent-missing"]
}

test_personal_consent_required_by_route_alone if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/policy/personalizationRequiresConsent", "value": false}])
	_reasons_with("personal-local", _bundle("assist", {"consentRef": null}, {}, {}), binding) == ["consent-missing"]
}

test_personal_consent_required_by_default_policy if {
	binding := json.patch(_binding, [
		{"op": "remove", "path": "/policy/personalizationRequiresConsent"},
		{"op": "replace", "path": "/routes/0/requiresConsent", "value": false},
	])
	_reasons_with("personal-local", _bundle("assist", {"consentRef": null}, {}, {}), binding) == ["consent-missing"]
}

test_personal_consent_not_required_when_neither_route_nor_policy_asks if {
	binding := json.patch(_binding, [
		{"op": "replace", "path": "/policy/personalizationRequiresConsent", "value": false},
		{"op": "replace", "path": "/routes/0/requiresConsent", "value": false},
	])
	_reasons_with("personal-local", _bundle("assist", {"consentRef": null}, {}, {}), binding) == ["admissible"]
}

test_ledger_approval_missing if {
	_reasons(
		"personal-local",
		_bundle("assist", {"ledgerApprovalRef": null, "ledgerApprovalToken": null}, {}, {}),
	) == ["ledger-approval-missing"]
}

test_ledger_approval_required_by_default if {
	binding := json.patch(_binding, [{"op": "remove", "path": "/personalization/activationRequiresLedgerApproval"}])
	_reasons_with(
		"personal-local",
		_bundle("assist", {"ledgerApprovalRef": null, "ledgerApprovalToken": null}, {}, {}),
		binding,
	) == ["ledger-approval-missing"]
}

test_ledger_approval_not_required_when_activation_does_not_ask if {
	binding := json.patch(_binding, [{"op": "replace", "path": "/personalization/activationRequiresLedgerApproval", "value": false}])
	_reasons_with(
		"personal-local",
		_bundle("assist", {"ledgerApprovalRef": null, "ledgerApprovalToken": null}, {}, {}),
		binding,
	) == ["admissible"]
}

test_every_personal_reason_in_order if {
	binding := json.patch(_binding, [
		{"op": "replace", "path": "/personalization", "value": {"enabled": false, "defaultState": "revoked"}},
	])
	b := _bundle("assist", {"consentRef": null, "ledgerApprovalRef": null, "ledgerApprovalToken": null}, {}, {"batteryState": "critical"})
	_reasons_with("personal-local", b, binding) == [
		"battery-critical", "personalization-disabled", "personalization-revoked",
		"consent-contract-missing", "personalization-artifact-missing", "consent-missing",
		"ledger-approval-missing",
	]
}

# --- hosted -------------------------------------------------------------------------------------

test_hosted_admissible_with_egress_approval_network_and_consent if {
	_reasons("hosted", _bundle("reason", {}, _egress, {})) == ["admissible"]
}

test_hosted_network_unavailable if {
	_reasons("hosted", _bundle("reason", {}, _egress, {"networkAvailable": false})) == ["network-unavailable"]
}

test_hosted_egress_approval_missing if {
	_reasons("hosted", _bundle("reason", {}, {}, {})) == ["egress-approval-missing"]
}

test_hosted_egress_approval_needed_even_when_egress_allowed_with_policy if {
	binding := json.patch(_binding, [
		{"op": "replace", "path": "/policy/promptEgressDefault", "value": "allow-with-policy"},
		{"op": "replace", "path": "/policy/hostedFallbackRequiresPolicy", "value": false},
	])
	_reasons_with("hosted", _bundle("reason", {}, {}, {}), binding) == ["egress-approval-missing"]
}

test_hosted_consent_missing if {
	_reasons("hosted", _bundle("reason", {"consentRef": null}, _egress, {})) == ["consent-missing"]
}

test_hosted_consent_not_required_when_route_does_not_ask if {
	_reasons("hosted", _bundle("open", {"consentRef": null}, _egress, {})) == ["admissible"]
}

test_hosted_restricted_data_never_leaves if {
	_reasons("hosted", _bundle("reason", {}, object.union(_egress, {"dataClass": "restricted"}), {})) == [
		"egress-approval-invalid:data-class",
		"data-class-forbids-egress",
	]
}

test_hosted_confidential_data_may_leave_with_approval if {
	_reasons("hosted", _bundle("reason", {}, object.union(_egress, {"dataClass": "confidential"}), {})) == ["admissible"]
}

test_every_hosted_reason_in_order if {
	b := _bundle("reason", {"consentRef": null}, {"dataClass": "restricted"}, {"networkAvailable": false})
	_reasons("hosted", b) == ["network-unavailable", "egress-approval-missing", "consent-missing", "data-class-forbids-egress"]
}

# --- deny and unknown ---------------------------------------------------------------------------

test_deny_never_admissible if {
	b := _bundle("assist", {}, _egress, {})
	_reasons("deny", b) == ["route-target-deny"]
	not targets.admissible("deny") with input as b with data.model_router_data as _data
}

test_unknown_target if {
	_reasons("cloud", _bundle("assist", {}, {}, {})) == ["route-target-unknown"]
}
