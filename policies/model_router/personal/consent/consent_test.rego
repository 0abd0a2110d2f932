package model_router.personal.consent_test

import data.model_router.approvals.testing_test as approvals
import data.model_router.personal.consent
import data.model_router.personal.targets

_binding_id := "urn:socioprophet:model-router-binding:test"

_contract_id := "urn:socioprophet:personal-tuning-contract:test"

_binding := {
	"bindingId": _binding_id,
	"subject": {"userRef": "urn:socioprophet:user:u", "workspaceRef": "urn:socioprophet:workspace:w"},
	"defaultLocalProfileRef": "urn:srcos:model-profile:test-small",
	"personalization": {
		"enabled": true,
		"governanceContractRef": _contract_id,
		"artifactRef": "urn:socioprophet:model-adapter:test",
		"defaultState": "personal-only",
		"activationRequiresLedgerApproval": true,
	},
	"routes": [
		{
			"routeId": "assist", "taskClass": "office-assist", "preferredTarget": "personal-local",
			"fallbackTarget": null, "requiresConsent": true, "requiresNetwork": false,
		},
		{
			"routeId": "reason", "taskClass": "complex-reasoning", "preferredTarget": "hosted",
			"fallbackTarget": null, "requiresConsent": true, "requiresNetwork": true,
		},
		{
			"routeId": "open", "taskClass": "rewrite", "preferredTarget": "hosted",
			"fallbackTarget": null, "requiresConsent": false, "requiresNetwork": true,
		},
	],
	"policy": {"personalizationRequiresConsent": false},
}

_contract := {
	"contractId": _contract_id,
	"subject": {"userRef": "urn:socioprophet:user:u", "workspaceRef": "urn:socioprophet:workspace:w"},
	"baseModelRef": "urn:srcos:model-profile:test-small",
	"tuningTarget": {"artifactRef": "urn:socioprophet:model-adapter:test"},
	"consent": {"status": "granted", "signedIntentRef": "consent:1", "expiresAt": "2030-01-01T00:00:00Z"},
	"dataBoundary": {"egressPolicy": "encrypted-allowed"},
	"promotion": {"modelRouterBindingRef": _binding_id},
}

_data(contracts) := {
	"bindings": {_binding_id: {"document": _binding, "routes": {r.routeId: r | some r in _binding.routes}}},
	"localProfiles": {"urn:srcos:model-profile:test-small": {"memoryRequiredBytes": 1}},
	"trustAnchors": approvals.anchors,
	"consentContracts": contracts,
}

_bundle(route_id, personal_patch) := {
	"request": {
		"requestId": "req-1",
		"taskClass": {"assist": "office-assist", "reason": "complex-reasoning", "open": "rewrite"}[route_id],
		"egressApprovalRef": "egress:1",
		"egressApprovalToken": approvals.tokens["personal-egress"],
		"personal": object.union(
			{
				"bindingRef": _binding_id, "routeId": route_id, "consentRef": "consent:1",
				"ledgerApprovalRef": "ledger:1", "ledgerApprovalToken": approvals.tokens["personal-activation"],
			},
			personal_patch,
		),
	},
	"resources": {
		"localServiceHealthy": true, "localModelProfileAvailable": true, "memoryAvailableBytes": 10,
		"thermalState": "normal", "batteryState": "normal", "networkAvailable": true,
	},
	"evaluation": approvals.evaluation,
}

_failures_with(contract, personal_patch) := f if {
	f := consent.failures with input as _bundle("assist", personal_patch)
		with data.model_router_data as _data({_contract_id: contract})
}

_patched(ops) := json.patch(_contract, ops)

test_success_granted_contract_passes_every_check if {
	_failures_with(_contract, {}) == []
	r := targets.reasons("personal-local") with input as _bundle("assist", {})
		with data.model_router_data as _data({_contract_id: _contract})
	r == ["admissible"]
}

test_fail_each_consent_check if {
	every case in [
		[[{"op": "replace", "path": "/consent/status", "value": "pending"}], ["consent-not-granted:pending"]],
		[[{"op": "replace", "path": "/consent/status", "value": "revoked"}], ["consent-not-granted:revoked"]],
		[[{"op": "replace", "path": "/consent/status", "value": "expired"}], ["consent-not-granted:expired"]],
		[[{"op": "replace", "path": "/consent/expiresAt", "value": "2026-06-01T12:00:00Z"}], ["consent-expired"]],
		[[{"op": "replace", "path": "/consent/expiresAt", "value": "not a time"}], ["consent-expired"]],
		[[{"op": "replace", "path": "/consent/signedIntentRef", "value": "consent:2"}], ["consent-ref-mismatch"]],
		[[{"op": "add", "path": "/subject/deviceRef", "value": "urn:srcos:device:other"}], ["consent-subject-mismatch"]],
		[[{"op": "replace", "path": "/tuningTarget/artifactRef", "value": "x"}], ["consent-artifact-mismatch"]],
		[[{"op": "replace", "path": "/baseModelRef", "value": "x"}], ["consent-artifact-mismatch"]],
		[[{"op": "replace", "path": "/promotion/modelRouterBindingRef", "value": "x"}], ["consent-binding-mismatch"]],
		[[{"op": "replace", "path": "/promotion/modelRouterBindingRef", "value": null}], []],
	] {
		[ops, want] := case
		_failures_with(_patched(ops), {}) == want
	}
}

test_fail_missing_consent_ref_is_reported_once_by_the_targets if {
	_failures_with(_contract, {"consentRef": null}) == []
	r := targets.reasons("personal-local") with input as _bundle("assist", {"consentRef": null})
		with data.model_router_data as _data({_contract_id: _contract})
	r == ["consent-missing"]
}

test_fail_contract_missing_from_the_snapshot if {
	r := targets.reasons("personal-local") with input as _bundle("assist", {}) with data.model_router_data as _data({})
	r == ["consent-contract-missing"]
	consent.contract_forbids_egress with input as _bundle("reason", {}) with data.model_router_data as _data({})
}

test_fail_whitespace_consent_ref_is_not_the_signed_intent if {
	every ref in [" ", "\t", "\u200b"] {
		_failures_with(_contract, {"consentRef": ref}) == ["consent-ref-mismatch"]
	}
}

test_fail_activation_token_checks if {
	every case in [
		["personal-activation-binding", "personal-activation-invalid:binding"],
		["personal-activation-artifact", "personal-activation-invalid:artifact"],
		["personal-activation-contract", "personal-activation-invalid:contract"],
		["personal-egress", "personal-activation-invalid:purpose"],
		["valid", "personal-activation-invalid:purpose"],
	] {
		[name, want] := case
		r := consent.activation_codes with input as _bundle("assist", {"ledgerApprovalToken": approvals.tokens[name]})
			with data.model_router_data as _data({_contract_id: _contract})
		r == [want]
	}
}

test_fail_whitespace_ledger_approval_without_token_is_missing if {
	r := targets.reasons("personal-local") with input as _bundle("assist", {"ledgerApprovalRef": " ", "ledgerApprovalToken": null})
		with data.model_router_data as _data({_contract_id: _contract})
	r == ["ledger-approval-missing"]
}

test_fail_hosted_contract_forbids_egress if {
	local := _patched([{"op": "replace", "path": "/dataBoundary/egressPolicy", "value": "local-only"}])
	r := targets.reasons("hosted") with input as _bundle("open", {})
		with data.model_router_data as _data({_contract_id: local})
	r == ["contract-forbids-egress"]
	ok := targets.reasons("hosted") with input as _bundle("open", {})
		with data.model_router_data as _data({_contract_id: _contract})
	ok == ["admissible"]
}

test_fail_hosted_route_requiring_consent_runs_the_consent_checks if {
	revoked := _patched([{"op": "replace", "path": "/consent/status", "value": "revoked"}])
	r := targets.reasons("hosted") with input as _bundle("reason", {})
		with data.model_router_data as _data({_contract_id: revoked})
	r == ["consent-not-granted:revoked"]
}

test_fail_hosted_egress_token_checks if {
	b := json.patch(_bundle("open", {}), [{"op": "replace", "path": "/request/egressApprovalToken", "value": approvals.tokens.valid}])
	r := consent.egress_codes with input as b with data.model_router_data as _data({_contract_id: _contract})
	r == ["egress-approval-invalid:purpose"]
	m := consent.egress_codes with input as json.patch(b, [{"op": "remove", "path": "/request/egressApprovalToken"}])
		with data.model_router_data as _data({_contract_id: _contract})
	m == ["egress-approval-missing"]
}

test_success_approvals_evidence_lists_tokens_and_consent if {
	a := consent.approvals(true, true) with input as _bundle("assist", {})
		with data.model_router_data as _data({_contract_id: _contract})
	{e.kind: e.verdict | some e in a} == {"personal-activation": "valid", "egress-approval": "valid", "consent": "valid"}
	some e in a
	e.kind == "consent"
	e.contractId == _contract_id
	e.consentStatus == "granted"
	e.expiresAt == "2030-01-01T00:00:00Z"
	e.tokenDigest == null
}

test_success_approvals_evidence_of_a_missing_contract if {
	consent.approvals(false, false) == [] with input as _bundle("assist", {}) with data.model_router_data as _data({})
	a := consent.approvals(true, false) with input as _bundle("assist", {}) with data.model_router_data as _data({})
	some e in a
	e.kind == "consent"
	e.verdict == "consent-contract-missing"
	e.consentStatus == null
}
