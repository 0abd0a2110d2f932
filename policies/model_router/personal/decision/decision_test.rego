package model_router.personal.decision_test

import data.model_router.approvals.testing_test as approvals
import data.model_router.personal.decision

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

_contract := "urn:socioprophet:personal-tuning-contract:test"

_artifact := "urn:socioprophet:model-adapter:test"

_binding := {
	"bindingId": _binding_id,
	"defaultLocalProfileRef": _small,
	"qualityFallbackLocalProfileRef": _large,
	"personalization": {
		"enabled": true,
		"governanceContractRef": _contract,
		"artifactRef": _artifact,
		"defaultState": "personal-only",
		"activationRequiresLedgerApproval": true,
	},
	"routes": [
		{
			"routeId": "router",
			"taskClass": "router",
			"preferredTarget": "base-local",
			"fallbackTarget": "quality-local",
			"requiresConsent": false,
			"requiresNetwork": false,
		},
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
			"routeId": "private",
			"taskClass": "privacy-first-chat",
			"preferredTarget": "personal-local",
			"fallbackTarget": "deny",
			"requiresConsent": true,
			"requiresNetwork": false,
		},
	],
	"policy": {
		"localFirst": true,
		"promptEgressDefault": "deny",
		"hostedFallbackRequiresPolicy": true,
		"personalizationRequiresConsent": true,
		"promptHashOnlyEvidence": true,
	},
	"evidence": {"emitRouteDecision": true, "emitRuntimeHealth": false, "emitGovernanceRefs": true, "ledgerRef": "ledger/repo"},
}

_data := object.union(_governance, {
	"bindings": {_binding_id: {"document": _binding, "routes": {route.routeId: route | some route in _binding.routes}}},
	"localProfiles": {
		_small: {"profileRef": _small, "memoryRequiredBytes": 1000},
		_large: {"profileRef": _large, "memoryRequiredBytes": 3000},
	},
})

_healthy := {
	"localServiceHealthy": true,
	"localModelProfileAvailable": true,
	"memoryAvailableBytes": 4000,
	"thermalState": "normal",
	"batteryState": "normal",
	"networkAvailable": true,
}

_task := {"router": "router", "assist": "office-assist", "reason": "complex-reasoning", "private": "privacy-first-chat"}

_prompt := {"sha256": "0000000000000000000000000000000000000000000000000000000000000000", "chars": 5}

_bundle(route_id, personal_patch, request_patch, resources_patch) := {
	"schemaVersion": "v0.1",
	"kind": "RouteInputBundle",
	"request": object.union(
		{
			"requestId": "req-1",
			"taskClass": _task[route_id],
			"prompt": _prompt,
			"personal": object.union(
				{
					"bindingRef": _binding_id, "routeId": route_id, "consentRef": "consent:1", "ledgerApprovalRef": "ledger:1",
					"ledgerApprovalToken": approvals.tokens["personal-activation"],
				},
				personal_patch,
			),
		},
		request_patch,
	),
	"resources": object.union(_healthy, resources_patch),
	"evaluation": approvals.evaluation,
}

_decide(bundle) := result if {
	result := decision.result with input as bundle with data.model_router_data as _data
}

_egress := {"egressApprovalRef": "egress:1", "egressApprovalToken": approvals.tokens["personal-egress"]}

test_preferred_target_selected if {
	d := _decide(_bundle("router", {}, {}, {}))
	d.kind == "LocalPersonalRouteDecision"
	d.schemaVersion == "v0.1"
	d.bindingRef == _binding_id
	d.routeId == "router"
	d.selected == {
		"target": "base-local", "profileRef": _small, "status": "selected",
		"reason": "preferred-target-admissible", "reasons": ["preferred-target-admissible"],
	}
	d.targets == [
		{"target": "base-local", "profileRef": _small, "admissible": true, "reasons": ["admissible"]},
		{"target": "quality-local", "profileRef": _large, "admissible": true, "reasons": ["admissible"]},
	]
	d.egress == {"allowed": false, "approvalRef": null}
	d.runtimeHealth == _healthy_local
}

_healthy_local := object.remove(_healthy, ["networkAvailable"])

test_low_memory_reported_on_the_fallback_only if {
	d := _decide(_bundle("router", {}, {}, {"memoryAvailableBytes": 2000}))
	d.selected.target == "base-local"
	d.targets[1].reasons == ["insufficient-local-memory"]
	not d.targets[1].admissible
}

test_fallback_lists_why_the_preferred_target_failed if {
	d := _decide(_bundle("assist", {"consentRef": null}, {}, {}))
	d.selected == {
		"target": "base-local", "profileRef": _small, "status": "fallback",
		"reason": "preferred-target-inadmissible:personal-local",
		"reasons": ["preferred-target-inadmissible:personal-local", "consent-missing"],
	}
	d.governanceRefs.consentRef == null
}

test_personal_local_selected_with_governance_refs if {
	d := _decide(_bundle("assist", {}, {}, {}))
	d.selected.target == "personal-local"
	d.selected.profileRef == _small
	d.governanceRefs == {
		"consentContractRef": _contract, "artifactRef": _artifact, "consentRef": "consent:1",
		"ledgerApprovalRef": "ledger:1", "ledgerRef": "ledger/repo",
	}
}

test_only_local_targets_consult_no_personal_governance if {
	d := _decide(_bundle("router", {}, {}, {}))
	d.governanceRefs == {
		"consentContractRef": null, "artifactRef": null, "consentRef": null,
		"ledgerApprovalRef": null, "ledgerRef": "ledger/repo",
	}
}

test_hosted_selected_allows_egress_under_its_approval if {
	d := _decide(_bundle("reason", {}, _egress, {}))
	d.selected.target == "hosted"
	d.selected.profileRef == null
	d.selected.status == "selected"
	d.egress == {"allowed": true, "approvalRef": "egress:1"}
	d.governanceRefs.consentRef == "consent:1"
	d.governanceRefs.artifactRef == null
}

test_hosted_without_egress_approval_falls_back_to_quality_local if {
	d := _decide(_bundle("reason", {}, {}, {}))
	d.selected.target == "quality-local"
	d.selected.profileRef == _large
	d.selected.status == "fallback"
	"egress-approval-missing" in d.selected.reasons
	d.egress == {"allowed": false, "approvalRef": null}
}

test_restricted_data_never_leaves_the_device if {
	d := _decide(_bundle("reason", {}, object.union(_egress, {"dataClass": "restricted"}), {}))
	d.selected.target == "quality-local"
	d.selected.reasons == [
		"preferred-target-inadmissible:hosted",
		"egress-approval-invalid:data-class",
		"data-class-forbids-egress",
	]
	d.egress.allowed == false
}

test_no_admissible_target_lists_every_reason_once if {
	d := _decide(_bundle("reason", {"consentRef": null}, {}, {"thermalState": "critical", "networkAvailable": false}))
	d.selected == {
		"target": null, "profileRef": null, "status": "denied", "reason": "no-admissible-target",
		"reasons": ["no-admissible-target", "network-unavailable", "egress-approval-missing", "consent-missing", "thermal-critical"],
	}
	count(d.targets) == 2
	d.egress.allowed == false
}

test_deny_fallback_denies if {
	d := _decide(_bundle("private", {"ledgerApprovalRef": null, "ledgerApprovalToken": null}, {}, {}))
	d.selected.status == "denied"
	d.selected.reasons == ["no-admissible-target", "ledger-approval-missing", "route-target-deny"]
	d.targets[1] == {"target": "deny", "profileRef": null, "admissible": false, "reasons": ["route-target-deny"]}
}

test_unknown_binding_denied_before_any_target if {
	d := _decide(_bundle("router", {"bindingRef": "urn:socioprophet:model-router-binding:nobody"}, {}, {}))
	d.selected == {"target": null, "profileRef": null, "status": "denied", "reason": "unknown-binding", "reasons": ["unknown-binding"]}
	d.targets == []
	d.runtimeHealth == {}
	d.governanceRefs.ledgerRef == null
	d.evidence.emit == {"emitRouteDecision": true, "emitRuntimeHealth": true, "emitGovernanceRefs": true}
}

test_unknown_route_denied if {
	d := _decide(_bundle("router", {"routeId": "nowhere"}, {}, {}))
	d.selected.reasons == ["unknown-route"]
	d.routeId == "nowhere"
}

test_task_class_mismatch_denied if {
	d := _decide(_bundle("router", {}, {"taskClass": "triage"}, {}))
	d.selected.reasons == ["task-class-mismatch:router"]
}

test_malformed_personal_request_denied_with_every_field if {
	d := _decide(_bundle("router", {"bindingRef": "", "consentRef": 3}, {}, {}))
	d.selected.reason == "invalid-request-field:personal.bindingRef"
	d.selected.reasons == [
		"invalid-request-field:personal.bindingRef",
		"invalid-request-field:personal.consentRef",
	]
	d.bindingRef == null
	d.input.personal.consentRef == null
	d.input.personal.bindingRef == null
	d.input.personal.routeId == "router"
}

test_malformed_echo_fields_are_null if {
	b := json.patch(_bundle("router", {}, {"requestId": "", "dataClass": "secret", "egressApprovalRef": 4}, {}), [
		{"op": "replace", "path": "/request/prompt", "value": {"sha256": "XYZ", "chars": 1}},
		{"op": "remove", "path": "/request/taskClass"},
	])
	d := _decide(b)
	d.input == {
		"requestId": null, "taskClass": null, "dataClass": null, "egressApprovalRef": null,
		"personal": {"bindingRef": _binding_id, "routeId": "router", "consentRef": "consent:1", "ledgerApprovalRef": "ledger:1"},
		"prompt": null,
	}
	d.selected.reasons == ["invalid-request-field:dataClass", "invalid-request-field:egressApprovalRef"]
}

test_missing_signals_denied_and_listed if {
	b := _bundle("reason", {}, _egress, {})
	bundle := json.patch(b, [{"op": "replace", "path": "/resources", "value": {"networkAvailable": true, "thermalState": "hot"}}])
	d := _decide(bundle)
	d.selected.status == "denied"
	d.selected.reason == "missing-signals"
	d.selected.reasons == [
		"missing-signals",
		"missing-signals:localServiceHealthy", "missing-signals:localModelProfileAvailable",
		"missing-signals:memoryAvailableBytes", "missing-signals:thermalState", "missing-signals:batteryState",
	]
	d.runtimeHealth == {"networkAvailable": true}
	d.targets == []
	d.egress.allowed == false
}

test_input_echo_and_evidence if {
	d := _decide(_bundle("router", {}, {"dataClass": "confidential"}, {}))
	d.input == {
		"requestId": "req-1", "taskClass": "router", "dataClass": "confidential", "egressApprovalRef": null,
		"personal": {"bindingRef": _binding_id, "routeId": "router", "consentRef": "consent:1", "ledgerApprovalRef": "ledger:1"},
		"prompt": _prompt,
	}
	d.evidence == {
		"emit": {"emitRouteDecision": true, "emitRuntimeHealth": false, "emitGovernanceRefs": true},
		"promptEvidenceMode": "hash-only",
	}
}

test_guardrail_ref_echoed_only_when_well_formed if {
	d := _decide(_bundle("router", {}, {"guardrailRef": "guardrail:1"}, {}))
	d.input.guardrailRef == "guardrail:1"
	d.input.requestId == "req-1"
	not _decide(_bundle("router", {}, {"guardrailRef": ""}, {})).input.guardrailRef
	not _decide(_bundle("router", {}, {}, {})).input.guardrailRef
}

test_always_defined_for_any_input if {
	d := decision.result with input as {} with data.model_router_data as _data
	d.selected.status == "denied"
	d.selected.reasons == ["invalid-request-field:personal"]
	d.input.personal == {"bindingRef": null, "routeId": null, "consentRef": null, "ledgerApprovalRef": null}
}

test_dispatcher_decides_personal_bundles_here if {
	b := _bundle("assist", {}, {}, {})
	data.model_router.decision == _decide(b) with input as b with data.model_router_data as _data
}
