# METADATA
# title: Agent-execution lane decision
# description: |
#   Assembles the AgentExecutionRouteDecision document (docs/architecture.md) for the input bundle.
#   Always defined: unusable policy data, an invalid request, unknown identifiers or missing signals
#   yield a `denied` decision with reasons and an empty candidate set; otherwise every candidate is
#   evaluated and the selection outcome is reported. The caller adds decisionId, createdAt and
#   policyRevision.
package model_router.agent.decision

import data.model_router.agent.budget
import data.model_router.agent.candidates
import data.model_router.agent.config
import data.model_router.agent.escalation
import data.model_router.agent.guardrail
import data.model_router.agent.hosted
import data.model_router.agent.quality
import data.model_router.agent.request
import data.model_router.agent.reserve
import data.model_router.agent.selection
import data.model_router.agent.signals
import data.model_router.approvals.token
import data.model_router.denied

# METADATA
# scope: document
# description: |
#   Reasons the request cannot be routed at all: unusable policy data; else invalid request fields,
#   unknown identifiers, a missing guardrail reference, the reasons of authored blocking rules
#   (model_router.agent.blocks.*), lanes the documents do not resolve and missing signals. Empty when lanes can
#   be evaluated.
blocking_reasons := sort(config.problems) if count(config.problems) > 0

else := [] if {
	# the usual case: no source has a reason (no list is built)
	count(request.reasons) == 0
	count(guardrail.reasons) == 0
	count(_authored_reasons) == 0
	count(candidates.unresolved) == 0
	count(signals.missing) == 0
} else := array.concat(
	array.concat(
		array.concat(array.concat(request.reasons, guardrail.reasons), _authored_reasons),
		[sprintf("lane-not-declared:%s", [l]) | some l in sort(candidates.unresolved)],
	),
	[r | count(signals.missing) > 0; r := "missing-signals"],
)

_blocked if count(blocking_reasons) > 0

# Reasons from the blocking rules policy authors add: every package `model_router.agent.blocks.<name>`
# (policies/model_router/agent/blocks/<name>/) exposes `reasons`, a set of codes that deny the request
# before any lane is evaluated (docs/policy-authoring.md, "Adding a data file and a rule").
_authored_reasons := sort([r |
	some name
	reasons := data.model_router.agent.blocks[name].reasons
	some r in reasons
])

default _policy_ref := null

_policy_ref := config.policy_ref

default _optimizer_ref := null

_optimizer_ref := config.optimizer_ref

default _price_catalog_ref := null

_price_catalog_ref := config.price_catalog_ref

default _guardrail_echo := {}

# The guardrail reference is echoed only when the request carries one.
_guardrail_echo := {"guardrailRef": guardrail.ref} if guardrail.ref != null

# The requested lane is echoed only when the policy declares it (an unknown one is named in the reasons).
default _echo_lane := null

_echo_lane := request.asked_lane if config.policy_lanes[request.asked_lane]

_empty_window(window) := {
	"maxSpend": config.windows[window].maxSpend,
	"spent": null,
	"remaining": null,
	"highEndSpent": null,
	"proSpent": null,
}

_window(window) := budget.windows[window]

_window(window) := _empty_window(window) if not budget.windows[window]

# Every declared window's summary: budget.windows itself when it has one for each (its keys are
# declared windows, so equal counts mean every one and no duplicate), else window by window.
_budget_windows := budget.windows if {
	count(budget.windows) == count(config.window_order)
} else := {window: _window(window) | some window in config.window_order}

# The budget summary; null when no optimizer is in force.
default _budget := null

_budget := {
	"currency": config.optimizer.budgetPolicy.currency,
	"windows": _budget_windows,
	"onBudgetPressure": config.optimizer.budgetPolicy.onBudgetPressure,
	"premiumReserveShare": reserve.premium_share,
}

# The escalation's [reason, receiptRef], nulls without an escalation.
_escalation_echo := [null, null] if {
	request.escalation == null
} else := [request.escalation.reason, request.escalation.receiptRef]

# The lane the escalation (and every approval) is judged for: the requested lane, else the selected
# lane; null when there is none.
default _escalation_target := null

_escalation_target := request.asked_lane if request.asked_lane != null

_escalation_target := selection.outcome.lane if {
	request.asked_lane == null
	selection.outcome.lane != null
}

# The evidence of every approval token the request presents (never the token itself).
_approvals := array.concat(
	[a | a := escalation.approval(_escalation_target)],
	[a | a := hosted.approval(_escalation_target)],
)

default _escalation_valid := false

_escalation_valid if escalation.valid_for(_escalation_target)

_blocked_escalation := {"valid": false, "reason": _escalation_echo[0], "receiptRef": _escalation_echo[1]}

default _de_escalation := {"required": false, "afterStage": null, "toLane": null}

_de_escalation := {"required": true, "afterStage": request.stage, "toLane": escalation.de_escalation_lane} if {
	escalation.deescalate_after(selection.outcome.lane)
}

# The evidence sections' flags (everything but the policy's ledgerRefs, reported on their own).
default _emit := {}

_emit := object.remove(object.union(config.policy.evidence, config.optimizer.evidence), ["ledgerRefs"])

default _decision_abi := null

_decision_abi := config.policy.enforcement.decisionAbi

default _ledger_refs := []

_ledger_refs := config.policy.evidence.ledgerRefs

default _context_policy := {}

_context_policy := config.policy.contextPolicy

default _tool_policy := {}

_tool_policy := config.policy.toolPolicy

# The evidence section: from the stored agent tables when they are current (config.tables), else
# computed from the documents in force.
_evidence := stored if {
	stored := config.tables.evidence
} else := evidence

# METADATA
# scope: document
# description: |
#   The evidence section of a decision, computed from the active policy and optimizer (request
#   independent: model_router.models.tables.agent stores it as `evidence`).
evidence := {
	"emit": _emit,
	"promptEvidenceMode": "hash-only",
	"decisionAbi": _decision_abi,
	"ledgerRefs": _ledger_refs,
	"contextPolicy": _context_policy,
	"toolPolicy": _tool_policy,
}

default _requested_evaluation := null

_requested_evaluation := candidates.evaluation[request.asked_lane]

# The selected lane's evaluation (cost class and estimate); nulls when no lane is selected.
default _selected_evaluation := {"costClass": null, "estimatedCost": null}

_selected_evaluation := candidates.evaluation[selection.outcome.lane]

_header := {
	"schemaVersion": "v0.1",
	"kind": "AgentExecutionRouteDecision",
	"policyRef": _policy_ref,
	"optimizerRef": _optimizer_ref,
	"priceCatalogRef": _price_catalog_ref,
	"input": object.union(
		{
			"requestId": request.id,
			"executionSurface": request.execution_surface,
			"taskClass": request.task_class,
			"stage": request.stage,
			"riskClass": request.risk_class,
			"requestedLane": _echo_lane,
			"escalation": request.escalation,
			"standardLaneFailures": request.standard_lane_failures,
			"deterministicVerificationAvailable": request.deterministic_verification,
			"dataClass": request.data_class,
			"egressApprovalRef": request.egress_approval_ref,
			"prompt": request.prompt,
			"runRef": request.run_ref,
		},
		_guardrail_echo,
	),
	"quality": {"minimumLane": quality.minimum_lane, "requiresVerification": quality.requires_verification},
	"budget": _budget,
	"resources": object.filter(signals.value, {
		"localModelProfileAvailable", "localServiceHealthy", "batteryState", "thermalState",
		"memoryAvailableBytes", "networkAvailable", "providerErrorRate", "providerLatencyP95Ms",
		"localProfileRef",
	}),
	"quota": object.union(
		object.filter(signals.value, {"providerQuotaKnown", "providerQuotaRemainingShare"}),
		{"budget": signals.budget_spend},
	),
	"missingSignals": signals.missing,
	"evidence": _evidence,
	"approvals": _approvals,
	"evaluation": token.evaluation,
}

_blocked_result := denied.document(
	"AgentExecutionRouteDecision",
	object.union(_header, {"escalation": _blocked_escalation}),
	blocking_reasons,
)

# The parts of a routed decision used nowhere else are written out here (a rule each costs more).
_routed_result := object.union(_header, {
	"selected": {
		"lane": selection.outcome.lane,
		"status": selection.outcome.status,
		"reason": selection.outcome.reasons[0],
		"reasons": selection.outcome.reasons,
		"suggestedLane": selection.outcome.suggestedLane,
		"requiresHumanApproval": selection.outcome.requiresHumanApproval,
		"costClass": _selected_evaluation.costClass,
		"estimatedCost": _selected_evaluation.estimatedCost,
	},
	"escalation": {"valid": _escalation_valid, "reason": _escalation_echo[0], "receiptRef": _escalation_echo[1]},
	"deEscalation": _de_escalation,
	"requestedEvaluation": _requested_evaluation,
	"candidateSet": candidates.candidate_set,
})

_decided := _blocked_result if _blocked

_decided := _routed_result if not _blocked

# METADATA
# scope: document
# title: agent-execution decision
# description: |
#   The AgentExecutionRouteDecision for the input bundle. Always defined and never an allow on bad
#   input: should any part be undefined, it is the denied decision `policy-evaluation-incomplete`.
result := _decided if _decided

else := denied.document("AgentExecutionRouteDecision", {}, ["policy-evaluation-incomplete"])
