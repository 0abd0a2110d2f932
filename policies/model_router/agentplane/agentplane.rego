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
result := {"decision": data.model_router.decision, "agentplane": projection, "projection": data.model_router.projection.current}

# METADATA
# title: batch decisions with their agentplane projections
# description: Index of each bundle in `input.bundles` -> its `result` (decided by the one entrypoint).
# schemas:
#   - input: {"type": "object", "properties": {"bundles": {"type": "array", "items": {"type": "object"}}}}
results[i] := r if {
	some i, bundle in input.bundles
	r := result with input as bundle
}

# Only the public rules read data.model_router.decision (`result`, `results`, `projection`,
# `refusals`); every helper is a function of the decision `d` it is given, or a rule that reads only
# policy data or the input (`_mapping`, `_premium`, `_asked`). Keep it so: OPA's compiler (stage
# check_recursion, at every start) walks the rules a rule depends on anew from every rule, and each
# helper rule that read the decision reached the whole decision graph (59 rules here were 93,000 of
# about 155,000 edges visited), while a function depends only on what its body names.

# METADATA
# scope: document
# description: |
#   The projection of the decision; exactly one of a receipt and refusals. Always defined: a decision
#   from which no complete receipt can be built and that no other code explains is refused with
#   `agentplane-projection-incomplete`.
default projection := {"receipt": null, "refusals": ["agentplane-projection-incomplete"]}

projection := _projection(refusals, data.model_router.decision)

_projection(codes, d) := {"receipt": receipt, "refusals": []} if {
	count(codes) == 0
	receipt := _receipt(d)
} else := {"receipt": null, "refusals": sort(codes)} if {
	count(codes) > 0
}

# METADATA
# description: Why the decision cannot be projected (reason codes); empty when it can.
refusals := _refusals(data.model_router.decision)

_refusals(d) := {"agentplane-personal-route"} if {
	d.kind == "LocalPersonalRouteDecision"
} else := {"agentplane-mapping-unavailable"} if {
	not _mapping
} else := _agent_refusals(d)

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

_run_ref(d) := r if {
	r := d.input.runRef
	is_string(r)
	r != ""
}

_policy_ref(d) := p if {
	p := d.policyRef
	is_string(p)
}

_chain_stage(d) := _lookup(_mapping.chainStages, d.input.stage)

_task_class(d) := _lookup(_mapping.taskClasses, d.input.taskClass)

_router_lane(d) := l if {
	l := d.selected.lane
	is_string(l)
}

_no_lane(d) if d.selected.lane == null

_selected_lane(d) := _lookup(_mapping.lanes, _router_lane(d))

_selected_lane(d) := _mapping.unselected.lane if _no_lane(d)

# The lane the request asked for, as given (the decision echoes only lanes the policy declares).
_asked := l if {
	l := input.request.requestedLane
	is_string(l)
}

_task_default_lane(d) := data.model_router_data.policies[_policy_ref(d)].taskClasses[d.input.taskClass].defaultLane

# Nothing requested: the request accepted the lane the router chose; when it chose none, the request
# stood for its task class's default lane under the policy in force.
_requested_lane(_) := _lookup(_mapping.lanes, _asked)

_requested_lane(d) := _selected_lane(d) if {
	not _asked
	_router_lane(d)
}

_requested_lane(d) := _lookup(_mapping.lanes, _task_default_lane(d)) if {
	not _asked
	_no_lane(d)
}

_escalated(d) if {
	d.selected.status == "selected"
	_mapping.escalation.acceptedReason in d.selected.reasons
}

_outcome(d) := _mapping.escalation.outcome if _escalated(d)

_outcome(d) := _lookup(_mapping.statuses, d.selected.status) if not _escalated(d)

_cost_class(d) := _lookup(_mapping.costClasses, d.selected.costClass) if _router_lane(d)

_cost_class(d) := _mapping.unselected.costClass if _no_lane(d)

_prompt_evidence(d) := _lookup(_mapping.promptEvidence, d.evidence.promptEvidenceMode)

_tool_policy(d) := data.model_router_data.policies[_policy_ref(d)].document.toolPolicy

_matches(d, when) if {
	every flag, value in when {
		_tool_policy(d)[flag] == value
	}
}

_tool_posture(d) := postures[0] if {
	postures := [rule.posture | some rule in _mapping.toolPostures; _matches(d, rule.when)]
}

_verification_mode(d) := _mapping.verificationModes.noModel if _router_lane(d) == "no-model"

_verification_mode(d) := _mapping.verificationModes.modelWithDeterministicVerifier if {
	_router_lane(d) != "no-model"
	d.input.deterministicVerificationAvailable == true
}

_verification_mode(d) := _mapping.verificationModes.modelWithoutDeterministicVerifier if {
	_router_lane(d) != "no-model"
	not d.input.deterministicVerificationAvailable == true
}

_escalation_receipt_ref(d) := r if {
	r := d.escalation.receiptRef
	is_string(r)
}

# The optional fields, each given only when the decision carries it.
_optional(d) := object.union_n([
	{"downgrade_reason": d.selected.reason | _outcome(d) == "downgraded"},
	{"escalation_reason": d.escalation.reason | is_string(d.escalation.reason)},
	{"escalation_receipt_ref": r | r := _escalation_receipt_ref(d)},
	{"de_escalation_required_after_stage": d.deEscalation.required |
		_selected_lane(d) in _premium
		is_boolean(d.deEscalation.required)
	},
	{"verification_mode": m | _chain_stage(d) in _mapping.verificationModes.chainStages; m := _verification_mode(d)},
])

_receipt(d) := object.union(
	{
		"kind": "ModelRoutingLaneDecisionReceipt",
		"run_ref": _run_ref(d),
		"chain_stage": _chain_stage(d),
		"task_class": _task_class(d),
		"requested_lane": _requested_lane(d),
		"selected_lane": _selected_lane(d),
		"lane_decision_outcome": _outcome(d),
		"cost_class": _cost_class(d),
		"prompt_evidence_policy": _prompt_evidence(d),
		"context_tool_posture": _tool_posture(d),
		"model_router_policy_ref": _policy_ref(d),
		"non_claims": _mapping.nonClaims,
	},
	_optional(d),
)

# The reason codes that hold: each set below holds its code when the condition after `|` holds (and
# the values the code names exist).
_agent_refusals(d) := union({
	{"agentplane-run-ref-missing" | not _run_ref(d)},
	{"agentplane-policy-unresolved" | not _policy_ref(d)},
	{code |
		p := _policy_ref(d)
		not p in _mapping.appliesTo.policyRefs
		code := sprintf("agentplane-mapping-not-for-policy:%s", [p])
	},
	{code | s := d.input.stage; not _chain_stage(d); code := sprintf("agentplane-unmapped-stage:%v", [s])},
	{code | c := d.input.taskClass; not _task_class(d); code := sprintf("agentplane-unmapped-task-class:%v", [c])},
	{code | l := _router_lane(d); not _selected_lane(d); code := sprintf("agentplane-unmapped-lane:%s", [l])},
	{code | a := _asked; not _lookup(_mapping.lanes, a); code := sprintf("agentplane-unmapped-lane:%s", [a])},
	{"agentplane-requested-lane-unknown" | not _asked; not _requested_lane(d); _selected_lane(d)},
	{code | s := d.selected.status; not _outcome(d); code := sprintf("agentplane-unmapped-status:%v", [s])},
	{code |
		c := d.selected.costClass
		_router_lane(d)
		not _cost_class(d)
		code := sprintf("agentplane-unmapped-cost-class:%v", [c])
	},
	{code |
		m := d.evidence.promptEvidenceMode
		not _prompt_evidence(d)
		code := sprintf("agentplane-unmapped-prompt-evidence:%v", [m])
	},
	{"agentplane-unmapped-tool-policy" | _policy_ref(d); not _tool_posture(d)},
	{"agentplane-premium-without-escalation-receipt" | _selected_lane(d) in _premium; not _escalation_receipt_ref(d)},
	{"agentplane-premium-without-de-escalation" | _selected_lane(d) in _premium; not is_boolean(d.deEscalation.required)},
})
