package model_router.projection.guardrail_test

import data.model_router.projection.guardrail

_agent(status, reason) := {
	"kind": "AgentExecutionRouteDecision",
	"selected": {"lane": "cheap", "status": status, "reason": reason, "reasons": [reason], "requiresHumanApproval": false},
}

_personal(status, reason) := {
	"kind": "LocalPersonalRouteDecision",
	"selected": {"target": "base-local", "status": status, "reason": reason, "reasons": [reason]},
}

_catalogue := {
	"graded": {"summary": "s", "remediation": "do this", "severity": "high"},
	"prefixed": {"summary": "s", "severity": "critical"},
	"oddly-graded": {"summary": "s", "severity": "severe"},
}

test_agent_status_values if {
	guardrail.value(_agent("selected", "x")) == "allow"
	guardrail.value(_agent("downgraded", "x")) == "allow_with_context"
	guardrail.value(_agent("deferred", "x")) == "defer"
	guardrail.value(_agent("denied", "x")) == "deny"
	guardrail.value(_agent("quarantined", "x")) == "quarantine"
	guardrail.value(_agent("unheard-of", "x")) == "deny"
}

test_personal_status_values if {
	guardrail.value(_personal("selected", "x")) == "allow"
	guardrail.value(_personal("fallback", "x")) == "allow_with_context"
	guardrail.value(_personal("denied", "x")) == "deny"
	guardrail.value(_personal("deferred", "x")) == "deny"
}

test_human_approval_escalates_unless_refused if {
	waiting := json.patch(_agent("deferred", "x"), [{"op": "replace", "path": "/selected/requiresHumanApproval", "value": true}])
	guardrail.value(waiting) == "escalate"
	refused := json.patch(waiting, [{"op": "replace", "path": "/selected/status", "value": "denied"}])
	guardrail.value(refused) == "deny"
	personal := object.union(_personal("selected", "x"), {"selected": {"requiresHumanApproval": true}})
	guardrail.value(personal) == "allow"
}

test_severity_from_catalogue_else_default if {
	v := guardrail.verdict(_agent("denied", "graded")) with data.model_router_data.reasons as _catalogue
	v.severity == "high"
	v.remediation == "do this"
	guardrail.verdict(_agent("denied", "prefixed:day")).severity == "critical" with data.model_router_data.reasons as _catalogue
	guardrail.verdict(_agent("denied", "oddly-graded")).severity == "medium" with data.model_router_data.reasons as _catalogue
	guardrail.verdict(_agent("quarantined", "unknown")).severity == "high" with data.model_router_data.reasons as _catalogue
	guardrail.verdict(_agent("downgraded", "unknown")).severity == "low" with data.model_router_data.reasons as _catalogue
}

test_allow_is_always_info if {
	guardrail.verdict(_agent("selected", "graded")).severity == "info" with data.model_router_data.reasons as _catalogue
}

test_default_remediations if {
	allowed := guardrail.verdict(_agent("selected", "u")) with data.model_router_data.reasons as {}
	allowed.remediation == "none needed: proceed on the selected route"
	r := guardrail.verdict(_personal("fallback", "u")).remediation with data.model_router_data.reasons as {}
	startswith(r, "proceed on target base-local;")
	d := guardrail.verdict(_agent("downgraded", "u")).remediation with data.model_router_data.reasons as {}
	startswith(d, "proceed on lane cheap;")
	startswith(guardrail.verdict(_agent("denied", "u")).remediation, "see the decision's reasons") with data.model_router_data.reasons as {}
}

test_effects if {
	guardrail.effects("allow") == {
		"agentMayContinue": true, "requiresHumanApproval": false, "redacted": false,
		"logsRequired": true, "tamperSealRequired": true,
	}
	guardrail.effects("redact").redacted == true
	guardrail.effects("escalate").requiresHumanApproval == true
	guardrail.effects("deny").agentMayContinue == false
}

test_fault_verdict_denies if {
	v := guardrail.fault_verdict("graded") with data.model_router_data.reasons as _catalogue
	v.decision == "deny"
	v.severity == "high"
	v.effects.agentMayContinue == false
	guardrail.fault_verdict("unknown").severity == "medium" with data.model_router_data.reasons as _catalogue
}

test_unusable_input_verdicts if {
	guardrail.unusable["invalid-input"].decision == "quarantine" with data.model_router_data as {"reasons": {}}
	guardrail.unusable["input-too-large"].decision == "defer" with data.model_router_data as {"reasons": {}}
	guardrail.unusable["input-too-large"].remediation == "send a bundle within the size limit" with data.model_router_data as {"reasons": {}}
}
