# METADATA
# title: agentplane lane-decision receipt projection
# description: |
#   Projects the route decision onto agentplane's ModelRoutingLaneDecisionReceipt v0.1 with the
#   mapping tables of the active AgentplaneLaneDecisionMapping (policy data). Every policy-derived
#   field is computed here; the caller adds only the identity fields that exist once the decision is
#   recorded (receipt_id, policy_decision_ref, prompt_hash_ref, issued_at).
#   A router value with no faithful agentplane counterpart (a table entry that is null or absent), a
#   personal route, or a request without runRef refuses the projection: `receipt` is null and
#   `refusals` lists reason codes. There is never a receipt with a guessed value.
# entrypoint: true
package model_router.agentplane

# METADATA
# title: decision with its agentplane projection
# description: |
#   The route decision (exactly data.model_router.decision), its agentplane projection and its
#   router projections (model_router.projection), in one query: {"decision": <decision>,
#   "agentplane": {"receipt": <receipt or null>, "refusals": [<code>, ...]}, "projection": <projection>}.
result := {"decision": _d, "agentplane": projection, "projection": data.model_router.projection.current}

# METADATA
# title: batch decisions with their agentplane projections
# description: Index of each bundle in `input.bundles` -> its `result` (decided by the one entrypoint).
# schemas:
#   - input: {"type": "object", "properties": {"bundles": {"type": "array", "items": {"type": "object"}}}}
results[i] := r if {
	some i, bundle in input.bundles
	r := result with input as bundle
}

# METADATA
# scope: document
# description: |
#   The projection of the decision; exactly one of a receipt and refusals. Always defined: a decision
#   from which no complete receipt can be built and that no other code explains is refused with
#   `agentplane-projection-incomplete`.
default projection := {"receipt": null, "refusals": ["agentplane-projection-incomplete"]}

projection := {"receipt": _receipt, "refusals": []} if {
	count(refusals) == 0
	_receipt
} else := {"receipt": null, "refusals": sort(refusals)} if {
	count(refusals) > 0
}

_d := data.model_router.decision

_personal if _d.kind == "LocalPersonalRouteDecision"

# METADATA
# description: Why the decision cannot be projected (reason codes); empty when it can.
refusals := {"agentplane-personal-route"} if {
	_personal
} else := {"agentplane-mapping-unavailable"} if {
	not _mapping
} else := _agent_refusals

_mapping := m if {
	m := data.model_router_data.agentplaneMappings[data.model_router_data.active.agentplaneMapping].document
	is_object(m)
}

# agentplane's own contract: these selected lanes need an escalation receipt and the de-escalation flag.
_premium := {"high_end", "pro"}

# A table entry: a string, never null (null records "no faithful counterpart").
_lookup(table, key) := value if {
	is_string(key)
	value := table[key]
	is_string(value)
}

_run_ref := r if {
	r := _d.input.runRef
	is_string(r)
	r != ""
}

_policy_ref := p if {
	p := _d.policyRef
	is_string(p)
}

_chain_stage := _lookup(_mapping.chainStages, _d.input.stage)

_task_class := _lookup(_mapping.taskClasses, _d.input.taskClass)

_router_lane := l if {
	l := _d.selected.lane
	is_string(l)
}

_no_lane if _d.selected.lane == null

_selected_lane := _lookup(_mapping.lanes, _router_lane)

_selected_lane := _mapping.unselected.lane if _no_lane

# The lane the request asked for, as given (the decision echoes only lanes the policy declares).
_asked := l if {
	l := input.request.requestedLane
	is_string(l)
}

_task_default_lane := data.model_router_data.policies[_policy_ref].taskClasses[_d.input.taskClass].defaultLane

# Nothing requested: the request accepted the lane the router chose; when it chose none, the request
# stood for its task class's default lane under the policy in force.
_requested_lane := _lookup(_mapping.lanes, _asked)

_requested_lane := _selected_lane if {
	not _asked
	_router_lane
}

_requested_lane := _lookup(_mapping.lanes, _task_default_lane) if {
	not _asked
	_no_lane
}

_escalated if {
	_d.selected.status == "selected"
	_mapping.escalation.acceptedReason in _d.selected.reasons
}

_outcome := _mapping.escalation.outcome if _escalated

_outcome := _lookup(_mapping.statuses, _d.selected.status) if not _escalated

_cost_class := _lookup(_mapping.costClasses, _d.selected.costClass) if _router_lane

_cost_class := _mapping.unselected.costClass if _no_lane

_prompt_evidence := _lookup(_mapping.promptEvidence, _d.evidence.promptEvidenceMode)

_tool_policy := data.model_router_data.policies[_policy_ref].document.toolPolicy

_matches(when) if {
	every flag, value in when {
		_tool_policy[flag] == value
	}
}

_postures := [rule.posture | some rule in _mapping.toolPostures; _matches(rule.when)]

_tool_posture := _postures[0]

_verification_mode := _mapping.verificationModes.noModel if _router_lane == "no-model"

_verification_mode := _mapping.verificationModes.modelWithDeterministicVerifier if {
	_router_lane != "no-model"
	_d.input.deterministicVerificationAvailable == true
}

_verification_mode := _mapping.verificationModes.modelWithoutDeterministicVerifier if {
	_router_lane != "no-model"
	not _d.input.deterministicVerificationAvailable == true
}

# The optional fields, each given only when the decision carries it.
_optional["downgrade_reason"] := _d.selected.reason if _outcome == "downgraded"

_optional["escalation_reason"] := r if {
	r := _d.escalation.reason
	is_string(r)
}

_optional["escalation_receipt_ref"] := r if {
	r := _d.escalation.receiptRef
	is_string(r)
}

_optional["de_escalation_required_after_stage"] := r if {
	_selected_lane in _premium
	r := _d.deEscalation.required
	is_boolean(r)
}

_optional["verification_mode"] := _verification_mode if _chain_stage in _mapping.verificationModes.chainStages

_receipt := object.union(
	{
		"kind": "ModelRoutingLaneDecisionReceipt",
		"run_ref": _run_ref,
		"chain_stage": _chain_stage,
		"task_class": _task_class,
		"requested_lane": _requested_lane,
		"selected_lane": _selected_lane,
		"lane_decision_outcome": _outcome,
		"cost_class": _cost_class,
		"prompt_evidence_policy": _prompt_evidence,
		"context_tool_posture": _tool_posture,
		"model_router_policy_ref": _policy_ref,
		"non_claims": _mapping.nonClaims,
	},
	_optional,
)

_agent_refusals contains "agentplane-run-ref-missing" if not _run_ref

_agent_refusals contains "agentplane-policy-unresolved" if not _policy_ref

_agent_refusals contains sprintf("agentplane-mapping-not-for-policy:%s", [_policy_ref]) if {
	not _policy_ref in _mapping.appliesTo.policyRefs
}

_agent_refusals contains sprintf("agentplane-unmapped-stage:%v", [_d.input.stage]) if not _chain_stage

_agent_refusals contains sprintf("agentplane-unmapped-task-class:%v", [_d.input.taskClass]) if not _task_class

_agent_refusals contains sprintf("agentplane-unmapped-lane:%s", [_router_lane]) if not _selected_lane

_agent_refusals contains sprintf("agentplane-unmapped-lane:%s", [_asked]) if {
	not _lookup(_mapping.lanes, _asked)
}

_agent_refusals contains "agentplane-requested-lane-unknown" if {
	not _asked
	not _requested_lane
	_selected_lane
}

_agent_refusals contains sprintf("agentplane-unmapped-status:%v", [_d.selected.status]) if not _outcome

_agent_refusals contains sprintf("agentplane-unmapped-cost-class:%v", [_d.selected.costClass]) if {
	_router_lane
	not _cost_class
}

_agent_refusals contains sprintf("agentplane-unmapped-prompt-evidence:%v", [_d.evidence.promptEvidenceMode]) if {
	not _prompt_evidence
}

_agent_refusals contains "agentplane-unmapped-tool-policy" if {
	_policy_ref
	not _tool_posture
}

_agent_refusals contains "agentplane-premium-without-escalation-receipt" if {
	_selected_lane in _premium
	not _optional.escalation_receipt_ref
}

_agent_refusals contains "agentplane-premium-without-de-escalation" if {
	_selected_lane in _premium
	not is_boolean(_d.deEscalation.required)
}
