package model_router.agent.decision_test

import data.model_router.agent.decision
import data.model_router.agent.testing_test as t

_keys := {
	"schemaVersion", "kind", "policyRef", "optimizerRef", "priceCatalogRef", "input", "selected", "quality",
	"escalation", "deEscalation", "budget", "resources", "quota", "requestedEvaluation", "candidateSet",
	"missingSignals", "evidence", "approvals", "evaluation",
}

_arch_escalation := t.escalation_for("architecture-decision", "architecture-decision")

test_routed_decision_document if {
	d := t.decide(t.bundle)
	object.keys(d) == _keys
	d.kind == "AgentExecutionRouteDecision"
	d.schemaVersion == "v0.1"
	d.policyRef == data.model_router_data.active.policy
	d.optimizerRef == data.model_router_data.active.optimizer
	d.priceCatalogRef == data.model_router_data.active.priceCatalog
	d.selected == {
		"lane": "standard", "status": "selected", "reason": "selected-cheapest-feasible",
		"reasons": ["selected-cheapest-feasible"], "costClass": "medium", "estimatedCost": 0.033,
		"suggestedLane": null, "requiresHumanApproval": false,
	}
	d.quality == {"minimumLane": "standard", "requiresVerification": true}
	d.escalation == {"valid": false, "reason": null, "receiptRef": null}
	d.deEscalation == {"required": false, "afterStage": null, "toLane": null}
	d.requestedEvaluation == null
	count(d.candidateSet) == 6
	d.missingSignals == []
	d.evaluation == t.bundle.evaluation
	[approval] := d.approvals
	approval.kind == "egress-approval"
	approval.ref == "urn:socioprophet:policy-decision:egress-test-0001"
	approval.verdict == "valid"
	approval.issuer == "urn:socioprophet:approval-issuer:demo"
	approval.tokenDigest == sprintf("sha256:%s", [crypto.sha256(t.bundle.request.egressApprovalToken)])
}

test_input_echo if {
	d := t.decide(t.with_request({"requestedLane": "high-end", "escalation": t.valid_escalation}))
	d.input == {
		"requestId": "req-test-0001", "executionSurface": "codex", "taskClass": "routine-code", "stage": "execution",
		"riskClass": "medium", "requestedLane": "high-end", "standardLaneFailures": 0,
		"escalation": object.remove(t.valid_escalation, ["receiptToken"]),
		"deterministicVerificationAvailable": false, "dataClass": "internal",
		"egressApprovalRef": "urn:socioprophet:policy-decision:egress-test-0001",
		"prompt": {"sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "chars": 1200},
		"runRef": null,
	}
}

test_run_ref_is_echoed if {
	d := t.decide(t.with_request({"runRef": "urn:agentplane:run:echo-1"}))
	d.input.runRef == "urn:agentplane:run:echo-1"
}

test_budget_and_snapshots if {
	d := t.decide(t.with_resources({"localProfileRef": "urn:srcos:model-profile:local-llama32-1b", "extra": 1}))
	d.budget.currency == "USD"
	d.budget.onBudgetPressure == "downgrade"
	d.budget.premiumReserveShare == 0.35
	d.budget.windows.session == {"maxSpend": 20.0, "spent": 1, "remaining": 19, "highEndSpent": 0, "proSpent": 0}
	d.resources.localProfileRef == "urn:srcos:model-profile:local-llama32-1b"
	not d.resources.extra
	d.resources.thermalState == "normal"
	d.quota == {
		"providerQuotaKnown": true, "providerQuotaRemainingShare": 0.8,
		"budget": t.bundle.quota.budget,
	}
}

test_evidence if {
	d := t.decide(t.bundle)
	d.evidence.promptEvidenceMode == "hash-only"
	d.evidence.decisionAbi == "sourceos.guardrail.decision.v0.1"
	d.evidence.emit.emitRouteDecision == true
	d.evidence.emit.emitCandidateSet == true
	not d.evidence.emit.ledgerRefs
	"SocioProphet/guardrail-fabric" in d.evidence.ledgerRefs
	d.evidence.contextPolicy.promptStorage == "hash-only"
	d.evidence.toolPolicy.mechanicalVerificationRequired == true
}

test_evidence_is_read_from_current_tables_and_computed_otherwise if {
	data.model_router_data.modelTables.agent.evidence == decision.evidence
	t.decide(t.bundle).evidence == decision.evidence
	t.decide(t.bundle).evidence == decision.evidence with data.model_router_data.modelTables as null
	patched := t.with_policy({"document": {"enforcement": {"decisionAbi": "test.abi.v0"}}})
	from_patched := t.decide(t.bundle) with data.model_router_data as patched
	from_patched.evidence.decisionAbi == "test.abi.v0"
}

test_escalated_premium_lane if {
	b := t.with_request({
		"taskClass": "architecture-decision", "stage": "planning", "riskClass": "high",
		"requestedLane": "high-end", "escalation": _arch_escalation,
	})
	d := t.decide(b)
	d.selected.lane == "high-end"
	d.selected.reason == "escalation-accepted"
	d.escalation == {"valid": true, "reason": "architecture-decision", "receiptRef": _arch_escalation.receiptRef}
	{a.kind: a.verdict | some a in d.approvals} == {"escalation-receipt": "valid", "egress-approval": "valid"}
	d.deEscalation == {"required": true, "afterStage": "planning", "toLane": "standard"}
	d.requestedEvaluation == t.candidate(d, "high-end")
	d.requestedEvaluation.reasons == ["feasible"]
}

test_escalation_judged_for_the_selected_lane_when_none_requested if {
	b := t.with_request({"taskClass": "architecture-decision", "stage": "planning", "riskClass": "high", "escalation": _arch_escalation})
	d := t.decide(b)
	d.selected.lane == "high-end"
	d.escalation.valid == true
}

test_escalation_invalid_without_receipt if {
	b := t.with_request({
		"taskClass": "architecture-decision", "stage": "planning", "riskClass": "high", "requestedLane": "high-end",
		"escalation": {"reason": "architecture-decision", "humanJustification": "irreversible storage choice with no rollback"},
	})
	d := t.decide(b)
	d.escalation == {"valid": false, "reason": "architecture-decision", "receiptRef": null}
	d.selected.lane == null
	d.selected.status == "deferred"
	d.requestedEvaluation.reasons == ["stage-max-without-escalation:standard", "premium-lane-requires-escalation-receipt"]
}

test_no_escalation_target_when_nothing_is_chosen if {
	d := t.decide(t.with_all({"escalation": t.valid_escalation}, {"networkAvailable": false}, {}))
	d.selected.lane == null
	d.escalation.valid == false
	d.escalation.reason == "architecture-decision"
}

test_downgrade_reports_the_requested_evaluation if {
	d := t.decide(t.with_request({"taskClass": "formatting-rewrite", "stage": "intake", "riskClass": "low", "requestedLane": "high-end"}))
	d.selected.lane == "cheap"
	d.selected.status == "downgraded"
	d.selected.costClass == "low"
	d.requestedEvaluation.feasible == false
	"not-allowed-for-task-class" in d.requestedEvaluation.reasons
}

test_deferred_upgrade_names_the_suggestion if {
	b := t.with_all(
		{"taskClass": "log-triage", "stage": "classification", "riskClass": "low", "requestedLane": "local-cheap"},
		{"thermalState": "critical"},
		{},
	)
	d := t.decide(b)
	d.selected.status == "deferred"
	d.selected.suggestedLane == "cheap"
	d.selected.costClass == null
	d.selected.estimatedCost == null
	d.requestedEvaluation.reasons == ["thermal-critical"]
}

_blocked(d) if {
	d.selected.lane == null
	d.selected.status == "denied"
	d.candidateSet == []
	d.requestedEvaluation == null
	d.escalation.valid == false
	d.deEscalation.required == false
}

test_missing_signals_deny if {
	d := t.decide(json.remove(t.bundle, ["resources/thermalState", "quota/budget/day/spent"]))
	_blocked(d)
	d.selected.reasons == ["missing-signals"]
	d.missingSignals == ["budget.day.spent", "thermalState"]
	d.budget.windows.day == {"maxSpend": 100.0, "spent": null, "remaining": null, "highEndSpent": null, "proSpent": null}
	not d.resources.thermalState
}

test_unknown_identifiers_deny if {
	d := t.decide(t.with_request({"taskClass": "poetry", "stage": "nap", "riskClass": "extreme", "requestedLane": "turbo"}))
	_blocked(d)
	d.selected.reason == "unknown-task-class:poetry"
	d.selected.reasons == ["unknown-task-class:poetry", "unknown-stage:nap", "unknown-risk-class:extreme", "unknown-requested-lane:turbo"]
	d.input.requestedLane == null
	d.quality.minimumLane == null
}

test_every_blocking_reason_is_listed if {
	d := t.decide(json.remove(t.with_request({"taskClass": "poetry", "dataClass": "secret"}), ["resources/networkAvailable"]))
	d.selected.reasons == ["invalid-request-field:dataClass", "unknown-task-class:poetry", "missing-signals"]
}

test_garbage_input_is_denied_not_undefined if {
	every bad in ["text", 42, [1], null, false, {}, {"request": null}, {"request": {"requestId": 1}}] {
		d := t.decide(bad)
		_blocked(d)
		startswith(d.selected.reason, "invalid-request-field:")
		object.keys(d) == _keys
	}
}

test_unresolved_lane_denies if {
	d := t.with_optimizer({"document": {"selectionPolicy": {"candidateOrder": ["no-model", "turbo", "standard"]}}})
	r := decision.result with input as t.bundle with data.model_router_data as d
	_blocked(r)
	r.selected.reasons == ["lane-not-declared:turbo"]
}

test_no_policy_data_denies if {
	r := decision.result with input as t.bundle with data.model_router_data as {}
	_blocked(r)
	r.selected.reasons == ["policy-data-unavailable:optimizer", "policy-data-unavailable:policy", "policy-data-unavailable:priceCatalog"]
	r.policyRef == null
	r.budget == null
	r.evidence.promptEvidenceMode == "hash-only"
	r.evidence.decisionAbi == null
}

test_blocking_reasons_are_empty_for_a_routable_bundle if {
	decision.blocking_reasons == [] with input as t.bundle
}

test_same_bundle_same_decision if {
	t.decide(t.bundle) == t.decide(t.bundle)
}

test_incomplete_evaluation_falls_back_to_a_denied_decision if {
	r := decision.result with input as t.bundle with data.model_router.agent.selection.outcome as {}
	r.selected.status == "denied"
	r.selected.reason == "policy-evaluation-incomplete"
	r.candidateSet == []
	object.keys(r) == _keys
}
