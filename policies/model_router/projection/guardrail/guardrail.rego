# METADATA
# title: Guardrail verdict of a route decision
# description: |
#   The verdict part of the guardrail decision ABI (sourceos.guardrail.decision.v0.1) for a route
#   decision (routing semantics, section 4): the decision value, severity, effects and remediation.
#
#     agent execution:  selected -> allow, downgraded -> allow_with_context, deferred -> defer,
#                       denied -> deny, quarantined -> quarantine; human approval required -> escalate
#     local-personal:   selected -> allow, fallback -> allow_with_context; anything else -> deny
#
#   Severity and remediation come from the reason catalogue entry of the decision's reason (keyed by
#   code, else by the code without its `:suffix`); without one, the value's default applies. An
#   `allow` is always `info`. Effects are the ABI's defaults for the value.
package model_router.projection.guardrail

_agent := "AgentExecutionRouteDecision"

_values := {
	_agent: {
		"selected": "allow",
		"downgraded": "allow_with_context",
		"deferred": "defer",
		"denied": "deny",
		"quarantined": "quarantine",
	},
	"LocalPersonalRouteDecision": {"selected": "allow", "fallback": "allow_with_context", "denied": "deny"},
}

_severities := {"info", "low", "medium", "high", "critical"}

_default_severity := {
	"allow": "info",
	"allow_with_context": "low",
	"defer": "medium",
	"escalate": "medium",
	"quarantine": "high",
	"deny": "medium",
}

# The ABI's default effects per decision value: [agentMayContinue, requiresHumanApproval, redacted].
_effects := {
	"allow": [true, false, false],
	"allow_with_context": [true, false, false],
	"instruct": [true, false, false],
	"redact": [true, false, true],
	"escalate": [false, true, false],
	"defer": [false, true, false],
	"quarantine": [false, true, false],
	"deny": [false, false, false],
}

_catalogue := object.get(data.model_router_data, "reasons", {})

# METADATA
# description: The reason catalogue entry of CODE (else of CODE without its `:suffix`), or {}.
entry(code) := object.get(_catalogue, code, object.get(_catalogue, split(code, ":")[0], {}))

_escalates(decision) if {
	decision.kind == _agent
	decision.selected.requiresHumanApproval == true
	not decision.selected.status in {"denied", "quarantined"}
}

# METADATA
# scope: document
# description: The guardrail decision value of DECISION (a route decision document).
value(decision) := "escalate" if _escalates(decision)

value(decision) := object.get(_values, [decision.kind, decision.selected.status], "deny") if not _escalates(decision)

# METADATA
# scope: document
# description: The severity of VALUE given the reason catalogue ENTRY.
severity("allow", _) := "info"

severity(value, entry) := entry.severity if {
	value != "allow"
	object.get(entry, "severity", null) in _severities
}

severity(value, entry) := _default_severity[value] if {
	value != "allow"
	not object.get(entry, "severity", null) in _severities
}

# METADATA
# description: The effects the ABI prescribes for VALUE.
effects(value) := {
	"agentMayContinue": _effects[value][0],
	"requiresHumanApproval": _effects[value][1],
	"redacted": _effects[value][2],
	"logsRequired": true,
	"tamperSealRequired": true,
}

_remediation(entry, _) := entry.remediation if _given(object.get(entry, "remediation", null))

_remediation(entry, fallback) := fallback if not _given(object.get(entry, "remediation", null))

_given(text) if {
	is_string(text)
	text != ""
}

_what(decision) := "target" if decision.kind != _agent

_what(decision) := "lane" if decision.kind == _agent

_route(decision) := decision.selected.target if decision.kind != _agent

_route(decision) := decision.selected.lane if decision.kind == _agent

_default_remediation("allow", _) := "none needed: proceed on the selected route"

_default_remediation("allow_with_context", decision) := sprintf(
	"proceed on %s %v; see the decision's reasons for why the request was not routed as asked",
	[_what(decision), _route(decision)],
)

_default_remediation(value, _) := "see the decision's reasons; change the request or its signals and ask again" if {
	not value in {"allow", "allow_with_context"}
}

_verdict(value, entry, fallback) := {
	"decision": value,
	"severity": severity(value, entry),
	"effects": effects(value),
	"remediation": _remediation(entry, fallback),
}

# METADATA
# description: |
#   The guardrail verdict of DECISION: {decision, severity, effects, remediation}. The caller adds
#   identity, digests and the reason text.
verdict(decision) := _verdict(v, entry(decision.selected.reason), _default_remediation(v, decision)) if {
	v := value(decision)
}

# METADATA
# description: The verdict of a fault that denies with reason CODE (the router's fault path).
fault_verdict(code) := _verdict("deny", entry(code), _default_remediation("deny", null))

_unusable := {
	"invalid-input": ["quarantine", "fix the fields named in the reason and resend"],
	"input-too-large": ["defer", "send a bundle within the size limit"],
}

# METADATA
# description: |
#   The verdicts of input that could not be decided, by reason code: `invalid-input` (quarantine) and
#   `input-too-large` (defer).
unusable[code] := _verdict(value, entry(code), fallback) if {
	some code, [value, fallback] in _unusable
}
