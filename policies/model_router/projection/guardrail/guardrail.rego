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

# The ABI's default effects per decision value, written out whole: a verdict takes its value's object
# as it is, nothing is built per decision.
_effects := {
	"allow": {
		"agentMayContinue": true,
		"requiresHumanApproval": false,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"allow_with_context": {
		"agentMayContinue": true,
		"requiresHumanApproval": false,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"instruct": {
		"agentMayContinue": true,
		"requiresHumanApproval": false,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"redact": {
		"agentMayContinue": true,
		"requiresHumanApproval": false,
		"redacted": true,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"escalate": {
		"agentMayContinue": false,
		"requiresHumanApproval": true,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"defer": {
		"agentMayContinue": false,
		"requiresHumanApproval": true,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"quarantine": {
		"agentMayContinue": false,
		"requiresHumanApproval": true,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
	"deny": {
		"agentMayContinue": false,
		"requiresHumanApproval": false,
		"redacted": false,
		"logsRequired": true,
		"tamperSealRequired": true,
	},
}

_catalogue := object.get(data.model_router_data, "reasons", {})

# METADATA
# description: The reason catalogue entry of CODE (else of CODE without its `:suffix`), or {}.
entry(code) := e if {
	e := _catalogue[code]
} else := object.get(_catalogue, split(code, ":")[0], {})

# METADATA
# scope: document
# description: The guardrail decision value of DECISION (a route decision document).
value(decision) := "escalate" if {
	decision.kind == _agent
	decision.selected.requiresHumanApproval == true
	not decision.selected.status in {"denied", "quarantined"}
} else := object.get(_values, [decision.kind, decision.selected.status], "deny")

# METADATA
# description: The severity of VALUE given the reason catalogue ENTRY.
severity(value, entry) := "info" if {
	value == "allow"
} else := entry.severity if {
	object.get(entry, "severity", null) in _severities
} else := _default_severity[value]

# METADATA
# description: The effects the ABI prescribes for VALUE.
effects(value) := _effects[value]

# the remediation text of a catalogue ENTRY; undefined when it gives none
_catalogue_remediation(entry) := text if {
	text := entry.remediation
	is_string(text)
	text != ""
}

# the catalogue entry's remediation when it gives one, else the value's default (computed only then)
_remediation(value, entry, decision) := text if {
	text := _catalogue_remediation(entry)
} else := _default_remediation(value, decision)

# the catalogue entry's remediation when it gives one, else FALLBACK
_remediation_or(entry, fallback) := text if {
	text := _catalogue_remediation(entry)
} else := fallback

_default_remediation(value, decision) := "none needed: proceed on the selected route" if {
	value == "allow"
} else := sprintf(
	"proceed on %s %v; see the decision's reasons for why the request was not routed as asked",
	_what_route(decision),
) if {
	value == "allow_with_context"
} else := "see the decision's reasons; change the request or its signals and ask again"

_what_route(decision) := ["lane", decision.selected.lane] if decision.kind == _agent

_what_route(decision) := ["target", decision.selected.target] if decision.kind != _agent

_verdict(value, entry, remediation) := {
	"decision": value,
	"severity": severity(value, entry),
	"effects": _effects[value],
	"remediation": remediation,
}

# METADATA
# description: |
#   The guardrail verdict of DECISION: {decision, severity, effects, remediation}. The caller adds
#   identity, digests and the reason text.
verdict(decision) := _verdict(v, e, _remediation(v, e, decision)) if {
	v := value(decision)
	e := entry(decision.selected.reason)
}

# METADATA
# description: The verdict of a fault that denies with reason CODE (the router's fault path).
fault_verdict(code) := _verdict("deny", e, _remediation("deny", e, null)) if {
	e := entry(code)
}

_unusable := {
	"invalid-input": ["quarantine", "fix the fields named in the reason and resend"],
	"input-too-large": ["defer", "send a bundle within the size limit"],
}

# METADATA
# description: |
#   The verdicts of input that could not be decided, by reason code: `invalid-input` (quarantine) and
#   `input-too-large` (defer).
unusable[code] := _verdict(value, e, _remediation_or(e, fallback)) if {
	some code, [value, fallback] in _unusable
	e := entry(code)
}
