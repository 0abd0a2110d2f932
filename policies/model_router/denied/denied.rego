# METADATA
# title: The denied decision
# description: |
#   The one constructor of a denied decision, for both decision kinds: no lane or target, nothing
#   granted, every policy-computed section empty or null unless the caller supplies it. The agent and
#   personal decisions deny through it, and `fault` is the template the router's fault path fills
#   when no policy answer can be had (exported with the router, checked against this package).
package model_router.denied

_agent := "AgentExecutionRouteDecision"

_personal := "LocalPersonalRouteDecision"

# The `selected` section of a denial without its reasons, by kind.
_selected := {
	_agent: {
		"lane": null,
		"status": "denied",
		"costClass": null,
		"estimatedCost": null,
		"suggestedLane": null,
		"requiresHumanApproval": false,
	},
	_personal: {"target": null, "profileRef": null, "status": "denied"},
}

# METADATA
# description: |
#   Every field of a denied decision but `selected`, by kind: what a denial grants (nothing) and
#   records when nothing else is known. The caller adds decisionId, createdAt and policyRevision.
templates := {
	_agent: {
		"schemaVersion": "v0.1",
		"kind": _agent,
		"policyRef": null,
		"optimizerRef": null,
		"priceCatalogRef": null,
		"input": {},
		"quality": {"minimumLane": null, "requiresVerification": false},
		"escalation": {"valid": false, "reason": null, "receiptRef": null},
		"deEscalation": {"required": false, "afterStage": null, "toLane": null},
		"budget": null,
		"resources": {},
		"quota": {},
		"requestedEvaluation": null,
		"candidateSet": [],
		"missingSignals": [],
		"approvals": [],
		"evaluation": null,
		"evidence": {
			"emit": {},
			"promptEvidenceMode": "hash-only",
			"decisionAbi": null,
			"ledgerRefs": [],
			"contextPolicy": {},
			"toolPolicy": {},
		},
	},
	_personal: {
		"schemaVersion": "v0.1",
		"kind": _personal,
		"bindingRef": null,
		"routeId": null,
		"input": {},
		"targets": [],
		"runtimeHealth": null,
		"governanceRefs": null,
		"egress": {"allowed": false, "approvalRef": null},
		"approvals": [],
		"evaluation": null,
		"evidence": {"emit": {}, "promptEvidenceMode": "hash-only"},
	},
}

# METADATA
# description: The `selected` section of a denied decision of KIND for REASONS (the first is the reason).
selected(kind, reasons) := object.union(_selected[kind], {"reason": reasons[0], "reasons": reasons})

# METADATA
# description: A denied decision of KIND for REASONS, HEADER's fields over the kind's template.
document(kind, header, reasons) := object.union(
	object.union(templates[kind], header),
	{"selected": selected(kind, reasons)},
)

# METADATA
# description: |
#   What the router's fault path needs to build a denied decision without asking the policy, by
#   kind: the template, the `selected` section without reasons, the request fields copied into
#   `input` (field -> the members copied of an object field, [] for a field copied as it is), and
#   the `request.personal` fields copied to the top level.
fault[kind] := {
	"template": template,
	"selected": selected,
	"echo": echo,
	"personal": personal,
} if {
	some kind, template in templates
	selected := _selected[kind]
	echo := _fault_echo[kind]
	personal := _fault_personal[kind]
}

# The request fields a fault echoes into `input`: a field -> [] is copied as it is; a field -> [names]
# is an object of which only those members are copied (never an approval token, never prompt text).
_prompt := ["sha256", "chars"]

_fault_echo := {
	_agent: {
		"requestId": [], "executionSurface": [], "taskClass": [], "stage": [], "riskClass": [],
		"requestedLane": [], "escalation": ["reason", "receiptRef", "humanJustification"],
		"standardLaneFailures": [], "deterministicVerificationAvailable": [], "dataClass": [],
		"egressApprovalRef": [], "guardrailRef": [], "prompt": _prompt, "runRef": [],
	},
	_personal: {
		"requestId": [], "taskClass": [], "dataClass": [], "egressApprovalRef": [], "guardrailRef": [],
		"personal": ["bindingRef", "routeId", "consentRef", "ledgerApprovalRef"], "prompt": _prompt,
	},
}

_fault_personal := {_agent: [], _personal: ["bindingRef", "routeId"]}
