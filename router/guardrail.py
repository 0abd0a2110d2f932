"""Project a route decision onto the guardrail decision ABI (`sourceos.guardrail.decision.v0.1`).

The verdict is policy: the decision value, severity, effects and remediation are computed by the
Rego package model_router.projection.guardrail in the decision's own query (routing semantics,
section 4) and carried in `Decision.projection`; a fault, or input that could not be decided, takes
the policy's verdict from the fault template (router.fault_template), so it needs no OPA. This module
only adds identity, digests, evidence and the reason text.

`actionClass` is `model`; `policyId` is the routing-policy URN (the binding URN for a personal route);
`policyVersion` is the policy revision and `policyHash` the bundle's content digest (the revision when
it is a `sha256:` digest); `evidence.inputDigest` is the input bundle's digest (`sha256:` + hex of its
sorted compact JSON). `reason` renders every reason code with its summary from the reason
catalogue in the policy data (`data.model_router_data.reasons`, keyed by reason code without its
`:suffix`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from router import fault_template
from router.bundle_input import MAX_BYTES
from router.clock import utc_now
from router.contracts.digest import sha256_digest, sha256_text
from router.local_policy import policy_data

ABI = "sourceos.guardrail.decision.v0.1"
FALLBACK_POLICY_ID = "urn:socioprophet:model-routing-policy:unknown"
# policyVersion of a fault or unusable input when the router knows no policy revision
FAULT_POLICY_VERSION = "model-router-fail-closed-v1"
UNKNOWN_REVISIONS = (None, "", "unknown")
INVALID_INPUT = "invalid-input"
INPUT_TOO_LARGE = "input-too-large"
# evidence members the guardrail ABI's own Evidence record does not define (kept by the projection,
# and by router.integrations.guardrail_fabric in its side record)
ROUTE_EVIDENCE_KEYS = (
    "routeDecisionId", "routeKind", "route", "status", "reasonCodes", "promptDigest", "receiptId",
    "receiptDigest", "guardrailRef",
)


class ProjectedDecision(Protocol):
    """What the projection reads of a route decision. router.decision.Decision is one; it is named
    here by what is read so that this module does not import router.decision (which imports it)."""

    @property
    def kind(self) -> str: ...
    @property
    def decision_id(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def policy_revision(self) -> str: ...
    @property
    def policy_ref(self) -> str | None: ...
    @property
    def is_personal(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def route(self) -> str | None: ...
    @property
    def suggested_lane(self) -> str | None: ...
    @property
    def input_digest(self) -> str: ...
    @property
    def prompt_digest(self) -> str | None: ...
    @property
    def receipt(self) -> dict[str, Any] | None: ...
    @property
    def guardrail_verdict(self) -> dict[str, Any] | None: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...


class ReasonCatalogue(Protocol):
    """What the projection needs beyond the decision (GuardrailContext, or the Router's own context
    that reads the catalogue from its policy on first use)."""

    @property
    def reasons(self) -> dict[str, Any]: ...
    @property
    def policy_id(self) -> str | None: ...


@dataclass(frozen=True)
class GuardrailContext:
    """What the projection needs beyond the decision: the reason catalogue and a policy id fallback."""

    reasons: dict[str, Any] = field(default_factory=dict)
    policy_id: str | None = None  # used when a fail-closed decision carries no policy reference


def local_context() -> GuardrailContext:
    """The reason catalogue and active policy id from the local policy data (no OPA is asked)."""
    data = policy_data()
    reasons = data.get("reasons") if isinstance(data.get("reasons"), dict) else {}
    active = data.get("active") if isinstance(data.get("active"), dict) else {}
    return _context(reasons, active)


def _context(reasons: Any, active: Any) -> GuardrailContext:
    """The context of a reason catalogue and an active-policy record (each an object, else left out)."""
    policy = active.get("policy") if isinstance(active, dict) else None
    return GuardrailContext(reasons=reasons if isinstance(reasons, dict) else {}, policy_id=policy if isinstance(policy, str) else None)


def reason_entry(reasons: dict[str, Any], code: str) -> dict[str, Any] | None:
    entry = reasons.get(code) or reasons.get(code.split(":", 1)[0])
    return entry if isinstance(entry, dict) else None


def describe_reason(reasons: dict[str, Any], code: str) -> str:
    """`<summary> (<code>)`, or the code alone when the catalogue does not know it."""
    entry = reason_entry(reasons, code)
    summary = entry.get("summary") if entry else None
    return f"{summary.rstrip('.')} ({code})" if summary else code


def remediation_for(reasons: dict[str, Any], code: str) -> str | None:
    entry = reason_entry(reasons, code)
    remediation: str | None = entry.get("remediation") if entry else None
    return remediation


def decision_digest(decision: ProjectedDecision) -> str:
    """sha256: + hex of the decision document's sorted compact JSON."""
    return sha256_digest(decision.to_dict())


def policy_version(revision: str | None) -> str:
    """The revision, or the named fault version when none is known."""
    return FAULT_POLICY_VERSION if revision in UNKNOWN_REVISIONS else str(revision)


def event_id(decision: ProjectedDecision) -> str:
    """The guardrail event id: the receipt id, else a fresh UUID (never the content-addressed decision id)."""
    receipt_id = (decision.receipt or {}).get("receiptId")
    return receipt_id if isinstance(receipt_id, str) and receipt_id else str(uuid.uuid4())


def describe_reasons(reasons: dict[str, Any], codes: Iterable[str]) -> str:
    """Every code with its summary, in order, separated by `; `."""
    return "; ".join(describe_reason(reasons, c) for c in dict.fromkeys(codes))


class VerdictUnavailable(ValueError):
    """The decision carries no guardrail verdict (it was made without the policy's projection)."""


def verdict_of(decision: ProjectedDecision) -> dict[str, Any]:
    """The policy's guardrail verdict of DECISION: {decision, severity, effects, remediation}."""
    verdict = decision.guardrail_verdict
    if not isinstance(verdict, dict):
        raise VerdictUnavailable(
            f"{decision.decision_id}: expected the guardrail verdict the policy computes beside the decision "
            "(data.model_router.projection), found none"
        )
    return verdict


def project(decision: ProjectedDecision, context: ReasonCatalogue | None = None) -> dict[str, Any]:
    context = context or GuardrailContext()
    reasons = context.reasons or {}
    verdict = verdict_of(decision)
    code = decision.reason
    codes = list(decision.reasons) or [code]
    if code not in codes:
        codes.insert(0, code)
    route = decision.route
    what = "target" if decision.is_personal else "lane"
    if verdict["effects"]["agentMayContinue"]:
        head = f"route {decision.status}: {what} {route}"
    elif decision.suggested_lane:
        head = f"route {decision.status} (would need {decision.suggested_lane})"
    else:
        head = f"route {decision.status}"
    reason_text = f"{head}: {describe_reasons(reasons, codes)}"
    request = (decision.get("input") or {})
    receipt = decision.receipt or {}
    return _envelope(
        decision_id=event_id(decision), timestamp=decision.created_at,
        policy_id=decision.policy_ref or context.policy_id or FALLBACK_POLICY_ID, revision=decision.policy_revision,
        scope="user" if decision.is_personal else "runtime", verdict=verdict, reason_text=reason_text,
        evidence={
            "inputDigest": decision.input_digest,
            "outputDigest": decision_digest(decision),
            "taskId": request.get("requestId"),
            "routeDecisionId": decision.decision_id,
            "routeKind": decision.kind,
            "route": route,
            "status": decision.status,
            "reasonCodes": list(decision.reasons),
            "promptDigest": decision.prompt_digest,
            "receiptId": receipt.get("receiptId"),
            "receiptDigest": receipt.get("receiptDigest"),
            "guardrailRef": request.get("guardrailRef"),
        },
    )


def is_oversized(violations: Iterable[Any]) -> bool:
    """True when the input was refused for its size alone (bundle_input's size limit)."""
    expected = f"at most {MAX_BYTES} bytes (1 MiB)"
    return any(getattr(v, "path", None) == "$" and getattr(v, "expected", None) == expected for v in violations)


def _envelope(*, decision_id: str, timestamp: str, policy_id: str, revision: str | None, scope: str,
              verdict: dict[str, Any], reason_text: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """The one shape of every guardrail document: identity, policy version, verdict and evidence."""
    version = policy_version(revision)
    return {
        "schema": ABI,
        "decisionId": decision_id,
        "timestamp": timestamp,
        "policyId": policy_id,
        "policyVersion": version,
        "policyHash": version if version.startswith("sha256:") else None,
        "scope": scope,
        "severity": verdict["severity"],
        "decision": verdict["decision"],
        "reason": reason_text,
        "remediation": verdict["remediation"],
        "evidence": {"actionClass": "model", "tool": "model-router", **evidence},
        "effects": dict(verdict["effects"]),
    }


def unusable_projection(
    violations: Iterable[Any] = (),
    context: ReasonCatalogue | None = None,
    *,
    oversized: bool | None = None,
    raw: bytes | None = None,
    revision: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The guardrail document for input that could not be decided (invalid-input, or input-too-large
    for oversized input), with the policy's verdict for it from the fault template. Names the field paths and what was expected, never
    the values found (they may be prompt text). `evidence.inputDigest` is the digest of the raw bytes
    when they are given."""
    context = context or GuardrailContext()
    reasons = context.reasons or {}
    violations = list(violations)
    if oversized is None:
        oversized = is_oversized(violations)
    code = INPUT_TOO_LARGE if oversized else INVALID_INPUT
    problems = [f"{getattr(v, 'path', '$')}: expected {getattr(v, 'expected', 'a RouteInputBundle')}" for v in violations]
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    reason_text = f"input not decided: {describe_reason(reasons, code)}" + (f": {shown}" if shown else "")
    return _envelope(
        decision_id=str(uuid.uuid4()), timestamp=created_at or utc_now(),
        policy_id=context.policy_id or FALLBACK_POLICY_ID, revision=revision, scope="runtime",
        verdict=fault_template.unusable_verdict(code), reason_text=reason_text,
        evidence={
            "inputDigest": sha256_text(raw) if raw is not None else None,
            "routeDecisionId": None,
            "routeKind": None,
            "route": None,
            "status": None,
            "reasonCodes": [code],
            "promptDigest": None,
            "receiptId": None,
            "receiptDigest": None,
            "guardrailRef": None,
        },
    )
