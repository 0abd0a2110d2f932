"""Project a route decision onto the guardrail decision ABI (`sourceos.guardrail.decision.v0.1`).

Mapping (routing semantics, section 4):

    agent execution:  selected -> allow, downgraded -> allow_with_context, deferred -> defer,
                      denied -> deny, quarantined -> quarantine; human approval required -> escalate
    local-personal:   selected -> allow, fallback -> allow_with_context, denied -> deny

`actionClass` is `model`; `policyId` is the routing-policy URN (the binding URN for a personal route);
`policyVersion` is the policy revision and `policyHash` the bundle's content digest (the revision when
it is a `sha256:` digest); `evidence.inputDigest` is the input bundle's digest (`sha256:` + hex of its
sorted compact JSON). `reason`, `remediation` and `severity` come from the reason catalogue in the
policy data (`data.model_router_data.reasons`, keyed by reason code without its `:suffix`). Effects
are the ABI's defaults for the decision value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.decision import Decision

ABI = "sourceos.guardrail.decision.v0.1"
FALLBACK_POLICY_ID = "urn:socioprophet:model-routing-policy:unknown"

AGENT_MAP = {"selected": "allow", "downgraded": "allow_with_context", "deferred": "defer", "denied": "deny", "quarantined": "quarantine"}
PERSONAL_MAP = {"selected": "allow", "fallback": "allow_with_context", "denied": "deny"}

# the ABI's default effects per decision value: (agentMayContinue, requiresHumanApproval, redacted)
EFFECTS = {
    "allow": (True, False, False),
    "allow_with_context": (True, False, False),
    "instruct": (True, False, False),
    "redact": (True, False, True),
    "escalate": (False, True, False),
    "defer": (False, True, False),
    "quarantine": (False, True, False),
    "deny": (False, False, False),
}
DEFAULT_SEVERITY = {"allow": "info", "allow_with_context": "low", "defer": "medium", "escalate": "medium", "quarantine": "high", "deny": "medium"}


@dataclass(frozen=True)
class GuardrailContext:
    """What the projection needs beyond the decision: the reason catalogue and a policy id fallback."""

    reasons: dict = field(default_factory=dict)
    policy_id: str | None = None  # used when a fail-closed decision carries no policy reference


def reason_entry(reasons: dict, code: str) -> dict | None:
    entry = reasons.get(code) or reasons.get(code.split(":", 1)[0])
    return entry if isinstance(entry, dict) else None


def describe_reason(reasons: dict, code: str) -> str:
    """`<summary> (<code>)`, or the code alone when the catalogue does not know it."""
    entry = reason_entry(reasons, code)
    summary = entry.get("summary") if entry else None
    return f"{summary.rstrip('.')} ({code})" if summary else code


def remediation_for(reasons: dict, code: str) -> str | None:
    entry = reason_entry(reasons, code)
    return entry.get("remediation") if entry else None


def decision_digest(decision: "Decision") -> str:
    """sha256: + hex of the decision document's sorted compact JSON."""
    from router.bundle_input import canonical_json, sha256_digest

    return sha256_digest(canonical_json(decision.to_dict()))


def decision_value(decision: "Decision") -> str:
    if decision.is_personal:
        return PERSONAL_MAP.get(decision.status, "deny")
    if decision.requires_human_approval and decision.status not in ("denied", "quarantined"):
        return "escalate"
    return AGENT_MAP.get(decision.status, "deny")


def project(decision: "Decision", context: GuardrailContext | None = None) -> dict:
    context = context or GuardrailContext()
    reasons = context.reasons or {}
    value = decision_value(decision)
    code = decision.reason
    entry = reason_entry(reasons, code) or {}
    route = decision.route
    what = "target" if decision.is_personal else "lane"
    if value in ("allow", "allow_with_context"):
        head = f"route {decision.status}: {what} {route}"
    elif decision.suggested_lane:
        head = f"route {decision.status} (would need {decision.suggested_lane})"
    else:
        head = f"route {decision.status}"
    reason_text = f"{head}: {describe_reason(reasons, code)}"
    remediation = entry.get("remediation")
    if not remediation:
        remediation = "none needed: proceed on the selected route" if value == "allow" else (
            f"proceed on {what} {route}; see the decision's reasons for why the request was not routed as asked"
            if value == "allow_with_context" else "see the decision's reasons; change the request or its signals and ask again"
        )
    severity = entry.get("severity") if entry.get("severity") in ("info", "low", "medium", "high", "critical") else DEFAULT_SEVERITY[value]
    if value == "allow":
        severity = "info"
    may_continue, needs_human, redacted = EFFECTS[value]
    revision = decision.policy_revision or "unknown"
    request = (decision.get("input") or {})
    doc = {
        "schema": ABI,
        "decisionId": decision.decision_id,
        "timestamp": decision.created_at,
        "policyId": decision.policy_ref or context.policy_id or FALLBACK_POLICY_ID,
        "policyVersion": revision,
        "policyHash": revision if revision.startswith("sha256:") else None,
        "scope": "user" if decision.is_personal else "runtime",
        "severity": severity,
        "decision": value,
        "reason": reason_text,
        "remediation": remediation,
        "evidence": {
            "actionClass": "model",
            "tool": "model-router",
            "inputDigest": decision.input_digest,
            "outputDigest": decision_digest(decision),
            "taskId": request.get("requestId"),
            "routeKind": decision.kind,
            "route": route,
            "status": decision.status,
            "reasonCodes": list(decision.reasons),
            "promptDigest": decision.prompt_digest,
            "receiptId": (decision.receipt or {}).get("receiptId"),
            "receiptDigest": (decision.receipt or {}).get("receiptDigest"),
        },
        "effects": {
            "agentMayContinue": may_continue,
            "requiresHumanApproval": needs_human,
            "redacted": redacted,
            "logsRequired": True,
            "tamperSealRequired": True,
        },
    }
    return doc
