package model_router.agentplane_test

import data.model_router.agent.testing_test as t
import data.model_router.agentplane

_run := "urn:agentplane:run:test-0001"

_mapping := data.model_router_data.agentplaneMappings[data.model_router_data.active.agentplaneMapping].document

_bundle(patch) := t.with_request(object.union({"runRef": _run}, patch))

_project(patch) := p if {
	p := agentplane.projection with input as _bundle(patch)
}

_receipt(patch) := r if {
	p := _project(patch)
	p.refusals == []
	r := p.receipt
}

_refusals(patch) := _project(patch).refusals

# A decision changed in FIELDS (deep merge), projected with the base bundle as input.
_project_changed(patch, fields) := p if {
	b := _bundle(patch)
	d := data.model_router.decision with input as b
	p := agentplane.projection with input as b with data.model_router.decision as object.union(d, fields)
}

# ---- the routed base bundle --------------------------------------------------------------------

test_selected_standard_projects_every_required_field if {
	r := _receipt({})
	r.kind == "ModelRoutingLaneDecisionReceipt"
	r.run_ref == _run
	r.chain_stage == "execution"
	r.task_class == "code_generation"
	r.requested_lane == "standard"
	r.selected_lane == "standard"
	r.lane_decision_outcome == "lane_selected"
	r.cost_class == "standard"
	r.prompt_evidence_policy == "hash_only"
	r.context_tool_posture == "tools_governed"
	r.model_router_policy_ref == "urn:socioprophet:model-routing-policy:agent-execution-default"
	r.non_claims == _mapping.nonClaims
	count(r.non_claims) > 0
	not r.escalation_receipt_ref
	not r.de_escalation_required_after_stage
	not r.verification_mode
	not r.downgrade_reason
}

test_result_carries_the_decision_unchanged if {
	b := _bundle({})
	res := agentplane.result with input as b
	res.decision == data.model_router.decision with input as b
	res.agentplane == agentplane.projection with input as b
	res.projection == data.model_router.projection.current with input as b
}

test_batch_results_match_single_results if {
	b0 := _bundle({})
	b1 := _bundle({"runRef": null})
	res := agentplane.results with input as {"bundles": [b0, b1]}
	res[0] == agentplane.result with input as b0
	res[1].agentplane.refusals == ["agentplane-run-ref-missing"]
}

# ---- escalation: premium selections carry the receipt ref and the de-escalation flag -------------

test_accepted_escalation_is_escalated_with_receipt_and_de_escalation if {
	r := _receipt({"requestedLane": "high-end", "escalation": t.valid_escalation, "stage": "planning"})
	r.requested_lane == "high_end"
	r.selected_lane == "high_end"
	r.lane_decision_outcome == "escalated"
	r.cost_class == "high"
	r.escalation_reason == "architecture-decision"
	r.escalation_receipt_ref == t.valid_escalation.receiptRef
	r.de_escalation_required_after_stage == true
	r.chain_stage == "planning"
}

test_premium_without_receipt_ref_is_refused if {
	p := _project_changed(
		{"requestedLane": "high-end", "escalation": t.valid_escalation, "stage": "planning"},
		{"escalation": {"receiptRef": null}},
	)
	p.receipt == null
	p.refusals == ["agentplane-premium-without-escalation-receipt"]
}

test_premium_without_de_escalation_flag_is_refused if {
	p := _project_changed(
		{"requestedLane": "high-end", "escalation": t.valid_escalation, "stage": "planning"},
		{"deEscalation": {"required": null}},
	)
	p.refusals == ["agentplane-premium-without-de-escalation"]
}

test_premium_request_without_receipt_is_deferred_on_no_model if {
	esc := object.remove(t.valid_escalation, ["receiptRef"])
	r := _receipt({
		"requestedLane": "high-end",
		"escalation": esc,
		"stage": "planning",
		"taskClass": "architecture-decision",
		"riskClass": "high",
	})
	r.task_class == "reasoning"
	r.requested_lane == "high_end"
	r.selected_lane == "no_model"
	r.lane_decision_outcome == "deferred"
	r.cost_class == "minimal"
	r.escalation_reason == "architecture-decision"
	not r.escalation_receipt_ref
	not r.de_escalation_required_after_stage
}

test_downgrade_names_the_reason if {
	p := _project_changed({"requestedLane": "high-end"}, {"selected": {"status": "downgraded", "reason": "budget-pressure:task"}})
	p.receipt.lane_decision_outcome == "downgraded"
	p.receipt.downgrade_reason == "budget-pressure:task"
	p.receipt.requested_lane == "high_end"
	p.receipt.selected_lane == "standard"
}

test_optional_fields_the_decision_does_not_carry_are_not_projected if {
	b := _bundle({"requestedLane": "high-end"})
	d := data.model_router.decision with input as b
	selected := object.union(object.remove(d.selected, ["reason"]), {"status": "downgraded"})
	changed := object.union(object.remove(d, ["selected"]), {"selected": selected, "escalation": {"reason": 7}})
	p := agentplane.projection with input as b with data.model_router.decision as changed
	p.receipt.lane_decision_outcome == "downgraded"
	not p.receipt.downgrade_reason
	not p.receipt.escalation_reason
}

test_denied_decision_selects_no_model if {
	p := _project_changed({"requestedLane": "high-end"}, {"selected": {
		"lane": null, "status": "denied", "reason": "budget-exhausted:task", "reasons": ["budget-exhausted:task"],
		"costClass": null, "estimatedCost": null,
	}})
	r := p.receipt
	r.lane_decision_outcome == "denied"
	r.selected_lane == _mapping.unselected.lane
	r.cost_class == _mapping.unselected.costClass
	r.requested_lane == "high_end"
}

# ---- the requested lane when nothing was requested ------------------------------------------------

test_nothing_requested_and_a_lane_chosen_requests_the_chosen_lane if {
	r := _receipt({"taskClass": "log-triage", "stage": "classification", "riskClass": "low"})
	r.selected_lane == "lightweight"
	r.requested_lane == "lightweight"
	r.task_class == "classification"
	r.chain_stage == "planning"
	r.cost_class == "minimal"
}

test_nothing_requested_and_no_lane_chosen_requests_the_task_default if {
	p := _project_changed({}, {"selected": {
		"lane": null, "status": "deferred", "reason": "no-feasible-candidate", "reasons": ["no-feasible-candidate"],
		"costClass": null, "estimatedCost": null,
	}})
	r := p.receipt
	r.requested_lane == "standard"
	r.selected_lane == "no_model"
	r.lane_decision_outcome == "deferred"
}

test_no_task_default_and_nothing_requested_is_refused if {
	p := _project_changed(
		{},
		{"selected": {"lane": null, "costClass": null, "status": "deferred"}},
	) with data.model_router_data.policies as {}
	"agentplane-requested-lane-unknown" in p.refusals
}

# ---- verification mode ------------------------------------------------------------------------------

test_verification_stage_with_a_deterministic_verifier_is_mechanical if {
	r := _receipt({"stage": "verification", "deterministicVerificationAvailable": true})
	r.selected_lane == "no_model"
	r.chain_stage == "verification"
	r.verification_mode == "mechanical_tools_only"
	r.cost_class == "minimal"
}

test_verification_stage_without_a_verifier_is_model_primary if {
	r := _receipt({"stage": "verification"})
	r.selected_lane == "standard"
	r.verification_mode == "model_primary"
}

test_verification_with_a_verifier_on_a_model_lane_is_model_assisted if {
	p := _project_changed(
		{"stage": "verification", "deterministicVerificationAvailable": true},
		{"selected": {"lane": "standard", "costClass": "medium"}},
	)
	p.receipt.verification_mode == "model_assisted"
}

test_review_stage_is_verification if {
	r := _receipt({"stage": "review"})
	r.chain_stage == "verification"
	r.verification_mode == "model_primary"
}

test_no_verification_mode_outside_verification_stages if {
	every stage in ["intake", "planning", "execution", "tool-use", "finalization"] {
		not _receipt({"stage": stage}).verification_mode
	}
}

# ---- refusals -----------------------------------------------------------------------------------------

test_missing_run_ref_is_refused if {
	_refusals({"runRef": null}) == ["agentplane-run-ref-missing"]
	p := agentplane.projection with input as t.bundle
	p.receipt == null
	p.refusals == ["agentplane-run-ref-missing"]
}

test_empty_run_ref_is_refused if {
	_refusals({"runRef": ""}) == ["agentplane-run-ref-missing"]
}

test_personal_route_is_refused if {
	p := agentplane.projection with data.model_router.decision as {"kind": "LocalPersonalRouteDecision", "input": {"runRef": _run}}
	p == {"receipt": null, "refusals": ["agentplane-personal-route"]}
}

test_unmapped_task_class_is_refused if {
	_refusals({
		"taskClass": "formatting-rewrite",
		"stage": "finalization",
		"riskClass": "low",
	}) == ["agentplane-unmapped-task-class:formatting-rewrite"]
}

test_unknown_task_class_is_refused if {
	refusals := _refusals({"taskClass": "poetry"})
	"agentplane-unmapped-task-class:poetry" in refusals

	# the router denied it and no lane was requested: with no task default there is no requested lane either
	refusals == ["agentplane-requested-lane-unknown", "agentplane-unmapped-task-class:poetry"]
}

test_unknown_stage_is_refused if {
	_refusals({"stage": "daydreaming"}) == ["agentplane-unmapped-stage:daydreaming"]
}

test_quarantined_is_refused if {
	p := _project_changed(
		{},
		{"selected": {"lane": null, "costClass": null, "status": "quarantined", "reasons": ["no-feasible-candidate"]}},
	)
	p.refusals == ["agentplane-unmapped-status:quarantined"]
}

test_unmapped_cost_class_is_refused if {
	p := _project_changed({}, {"selected": {"costClass": "astronomical"}})
	p.refusals == ["agentplane-unmapped-cost-class:astronomical"]
}

test_unmapped_selected_lane_is_refused if {
	p := _project_changed({}, {"selected": {"lane": "turbo"}})
	"agentplane-unmapped-lane:turbo" in p.refusals
}

test_unmapped_requested_lane_is_refused if {
	p := _project_changed({"requestedLane": "turbo"}, {})
	"agentplane-unmapped-lane:turbo" in p.refusals
}

test_unmapped_prompt_evidence_is_refused if {
	p := _project_changed({}, {"evidence": {"promptEvidenceMode": "full-text"}})
	p.refusals == ["agentplane-unmapped-prompt-evidence:full-text"]
}

test_unresolved_policy_is_refused if {
	p := _project_changed({}, {"policyRef": null})
	p.refusals == ["agentplane-policy-unresolved"]
}

test_policy_outside_the_mapping_is_refused if {
	pol := data.model_router_data.policies[_policy_id]
	other := object.union(data.model_router_data, {"policies": {"urn:socioprophet:model-routing-policy:other": pol}})
	p := _project_changed({}, {"policyRef": "urn:socioprophet:model-routing-policy:other"}) with data.model_router_data as other
	p.refusals == ["agentplane-mapping-not-for-policy:urn:socioprophet:model-routing-policy:other"]
}

test_missing_mapping_is_refused if {
	p := _project({}) with data.model_router_data.active.agentplaneMapping as "urn:socioprophet:agentplane-lane-mapping:absent"
	p.refusals == ["agentplane-mapping-unavailable"]
}

test_an_ill_typed_decision_is_refused_as_incomplete if {
	p := _project_changed({}, {"selected": {"lane": 7}})
	p == {"receipt": null, "refusals": ["agentplane-projection-incomplete"]}
}

test_several_refusals_are_all_named_sorted if {
	_refusals({"runRef": null, "taskClass": "formatting-rewrite", "stage": "finalization", "riskClass": "low"}) == [
		"agentplane-run-ref-missing",
		"agentplane-unmapped-task-class:formatting-rewrite",
	]
}

# ---- tool posture: the tool policy in force ------------------------------------------------------------

_policy_id := "urn:socioprophet:model-routing-policy:agent-execution-default"

_with_tools(flags) := p if {
	p := _project({}) with data.model_router_data as t.with_policy({"document": {"toolPolicy": flags}})
}

_with_mapping(patch) := object.union(
	data.model_router_data,
	{"agentplaneMappings": {data.model_router_data.active.agentplaneMapping: {"document": patch}}},
)

test_governed_tool_policy_is_tools_governed if {
	_with_tools({}).receipt.context_tool_posture == "tools_governed"
}

test_unrestricted_tool_policy_is_tools_full if {
	p := _with_tools({"toolsOffUnlessNeeded": false, "networkToolsRequireReason": false, "writeToolsRequireEvidence": false})
	p.receipt.context_tool_posture == "tools_full"
}

test_mixed_tool_policy_is_refused if {
	p := _with_tools({"toolsOffUnlessNeeded": false})
	p.refusals == ["agentplane-unmapped-tool-policy"]
}

test_first_matching_posture_rule_wins if {
	rules := array.concat([{"when": {"toolsOffUnlessNeeded": true}, "posture": "tools_read_only"}], _mapping.toolPostures)
	p := _project({}) with data.model_router_data as _with_mapping({"toolPostures": rules})
	p.receipt.context_tool_posture == "tools_read_only"
}

# ---- the mapping tables, entry by entry ------------------------------------------------------------

test_lane_table if {
	_mapping.lanes == {
		"no-model": "no_model", "local-cheap": "lightweight", "cheap": "lightweight",
		"standard": "standard", "high-end": "high_end", "pro": "pro",
	}
	every lane, mapped in _mapping.lanes {
		p := _project_changed({}, {
			"selected": {"lane": lane, "costClass": "medium"},
			"escalation": {"receiptRef": "urn:socioprophet:escalation-receipt:t"},
			"deEscalation": {"required": true},
		})
		p.receipt.selected_lane == mapped
	}
}

test_requested_lane_table if {
	every lane, mapped in _mapping.lanes {
		p := _project_changed({"requestedLane": lane}, {})
		p.receipt.requested_lane == mapped
	}
}

test_stage_table if {
	_mapping.chainStages == {
		"intake": "planning", "classification": "planning", "retrieval": "execution",
		"planning": "planning", "execution": "execution", "tool-use": "execution",
		"verification": "verification", "review": "verification", "finalization": "synthesis",
	}
	every stage, mapped in _mapping.chainStages {
		p := _project_changed({}, {"input": {"stage": stage}})
		p.receipt.chain_stage == mapped
	}
}

test_task_class_table if {
	_mapping.taskClasses == {
		"formatting-rewrite": null, "log-triage": "classification", "routine-code": "code_generation",
		"architecture-decision": "reasoning", "hard-debugging": "reasoning", "security-review": "code_review",
		"multi-repo-migration": "code_generation", "high-stakes-synthesis": "reasoning",
	}
	every task, mapped in _mapping.taskClasses {
		p := _project_changed({}, {"input": {"taskClass": task}})
		_task_ok(p, task, mapped)
	}
}

_task_ok(p, _, mapped) if {
	mapped != null
	p.receipt.task_class == mapped
}

_task_ok(p, task, null) if {
	p.refusals == [concat(":", ["agentplane-unmapped-task-class", task])]
}

test_every_policy_task_class_is_decided_by_the_table if {
	every task, _ in data.model_router_data.policies[_policy_id].taskClasses {
		object.keys(_mapping.taskClasses)[task]
	}
}

test_cost_class_table if {
	_mapping.costClasses == {"none": "minimal", "low": "minimal", "medium": "standard", "high": "high", "maximum": "pro"}
	every cost, mapped in _mapping.costClasses {
		p := _project_changed({}, {"selected": {"costClass": cost}})
		p.receipt.cost_class == mapped
	}
}

test_status_table if {
	_mapping.statuses == {
		"selected": "lane_selected", "downgraded": "downgraded", "deferred": "deferred",
		"denied": "denied", "quarantined": null,
	}
	every status, mapped in _mapping.statuses {
		p := _project_changed({}, {"selected": {"status": status}})
		_status_ok(p, status, mapped)
	}
}

_status_ok(p, _, mapped) if {
	mapped != null
	p.receipt.lane_decision_outcome == mapped
}

_status_ok(p, status, null) if {
	p.refusals == [concat(":", ["agentplane-unmapped-status", status])]
}

test_selected_without_accepted_escalation_is_not_escalated if {
	p := _project_changed(
		{"requestedLane": "high-end", "escalation": t.valid_escalation, "stage": "planning"},
		{"selected": {"reasons": ["selected-cheapest-feasible"]}},
	)
	p.receipt.lane_decision_outcome == "lane_selected"
}

test_prompt_evidence_table if {
	_mapping.promptEvidence == {"hash-only": "hash_only"}
}

test_verification_mode_table if {
	_mapping.verificationModes == {
		"chainStages": ["verification"], "noModel": "mechanical_tools_only",
		"modelWithDeterministicVerifier": "model_assisted", "modelWithoutDeterministicVerifier": "model_primary",
	}
}

test_unselected_is_no_model_at_minimal_cost if {
	_mapping.unselected == {"lane": "no_model", "costClass": "minimal"}
}
