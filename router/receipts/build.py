"""Building a RouteDecisionReceipt from a decision, and its digest.

`receiptDigest` = sha256: + hex of the canonical JSON (router.contracts.digest: sorted keys, compact,
UTF-8) of the receipt without `receiptDigest`; the chain fields are added by the log
(router.receipts.log). The lane-decision summary (outcome, de-escalation stage) is the policy's
(model_router.projection.lane, computed in the decision's own query): it is passed in, never derived here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from router.contracts.digest import canonical, receipt_digest
from router.decision import AGENT_KIND, PERSONAL_KIND

LOG_NAME = "receipts.jsonl"
RECEIPT_ID_PREFIX = "urn:socioprophet:model-route-receipt:"

__all__ = [
    "LOG_NAME", "RECEIPT_ID_PREFIX", "build_receipt", "canonical", "evaluation_record", "receipt_digest", "request_summary",
    "strict_loads",
]


class LaneSummaryMissing(ValueError):
    """An agent decision's receipt needs the policy's lane-decision summary, and none was given."""


# -- the receipt JSON: written canonical (router.contracts.digest), read strictly -----------------


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_loads(raw: bytes) -> Any:
    """Parse JSON bytes, refusing duplicate keys, NaN/Infinity and invalid UTF-8."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs, parse_constant=_no_constant)



# -- building a receipt from a decision -------------------------------------------------------


# The request fields a receipt records (never the prompt: only its digest, in promptDigest).
REQUEST_FIELDS = (
    "requestId", "executionSurface", "taskClass", "stage", "riskClass", "dataClass", "requestedLane",
    "standardLaneFailures", "deterministicVerificationAvailable", "egressApprovalRef",
)
SUBJECT_FIELDS = ("userRef", "workspaceRef", "tenantRef", "deviceRef")
ESCALATION_FIELDS = ("reason", "receiptRef")
PERSONAL_FIELDS = ("bindingRef", "routeId", "consentRef", "ledgerApprovalRef")


def _pick(value: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: value[k] for k in fields if k in value and (value[k] is None or isinstance(value[k], (str, int, float, bool)))}


def request_summary(bundle: Any) -> dict[str, Any] | None:
    """The prompt-free summary of the request an auditor needs to read a decision without its input:
    task class, stage, risk and data class, requested lane, escalation reason and refs, the personal
    binding and route, the subject refs. Free text (the prompt, a human justification) is left out."""
    request = bundle.get("request") if isinstance(bundle, dict) else None
    if not isinstance(request, dict):
        return None
    out = _pick(request, REQUEST_FIELDS) or {}
    for key, fields in (("subject", SUBJECT_FIELDS), ("escalation", ESCALATION_FIELDS), ("personal", PERSONAL_FIELDS)):
        picked = _pick(request.get(key), fields)
        out[key] = picked if picked else None
    return out


def evaluation_record(bundle: Any, fallback: dict[str, Any] | None, issued_at: str) -> dict[str, Any]:
    """The evaluation time the decision was made at: input.evaluation when the OPA input carries one,
    else the router's own clock (FALLBACK, or ISSUED_AT)."""
    given = bundle.get("evaluation") if isinstance(bundle, dict) else None
    if isinstance(given, dict) and isinstance(given.get("time"), str):
        out = {"time": given["time"], "source": "input"}
        if isinstance(given.get("timeNs"), int) and not isinstance(given.get("timeNs"), bool):
            out["timeNs"] = given["timeNs"]
        return out
    fallback = fallback or {}
    out = {"time": fallback.get("time") or issued_at, "source": "router"}
    if isinstance(fallback.get("timeNs"), int):
        out["timeNs"] = fallback["timeNs"]
    return out


def build_receipt(
    document: Mapping[str, Any],
    *,
    input_digest: str,
    prompt_digest: str | None,
    issued_at: str,
    bundle: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
    lane: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The receipt body (without the chain fields) for a decision document (a dict, or a decision's
    read-only `Decision.document` view: nothing in it is changed).

    BUNDLE is the prompt-stripped input the decision was made from (its request summary and
    input.evaluation are recorded); EVALUATION is the router's own clock reading, recorded when the
    input carries no evaluation time. LANE is the policy's lane-decision summary of an agent decision
    ({outcome, premium, deEscalationAfterStage}: Decision.lane_summary); an agent decision without
    one raises LaneSummaryMissing. New evidence fields are added as keyword arguments."""
    kind = document["kind"]
    selected = document.get("selected") or {}
    evidence = document.get("evidence") or {}
    head = {
        "schemaVersion": "v0.1",
        "kind": "RouteDecisionReceipt",
        "receiptId": RECEIPT_ID_PREFIX + secrets.token_hex(12),
        "decisionId": document["decisionId"],
        "decisionKind": kind,
        "issuedAt": issued_at,
        # the time the policy evaluated at: the decision's own echo of input.evaluation when it has one
        "evaluation": evaluation_record(
            {"evaluation": document["evaluation"]} if isinstance(document.get("evaluation"), dict) else bundle,
            evaluation, issued_at,
        ),
        "request": request_summary(bundle if bundle is not None else {"request": document.get("input")}),
        # governance evidence: the approvals the decision relied on (digests and verdicts, never a token)
        "approvals": list(document.get("approvals") or []),
    }
    model = document.get("model")
    if isinstance(model, dict):  # the concrete model chosen (replay compares it)
        head["model"] = {"modelRef": model.get("modelRef"), "status": model.get("status")}
    echo = document.get("input") or {}
    for ref in ("runRef", "guardrailRef"):  # the agentplane run and the guardrail decision, when given
        if echo.get(ref):
            head[ref] = echo[ref]
    if kind == PERSONAL_KIND:
        gov = document.get("governanceRefs") or {}
        ledger = gov.get("ledgerRef")
        return {
            **head,
            "policyRef": document.get("bindingRef"),
            "policyRevision": document["policyRevision"],
            "inputDigest": input_digest,
            "promptDigest": prompt_digest,
            "selected": {
                "target": selected.get("target"),
                "profileRef": selected.get("profileRef"),
                "status": selected.get("status"),
                "reason": selected.get("reason"),
                "reasons": list(selected.get("reasons") or [selected.get("reason")]),
                "costClass": None,
                "estimatedCost": None,
            },
            "escalation": None,
            "budgetDecision": None,
            "resourceSnapshot": document.get("runtimeHealth"),
            "quotaSnapshot": None,
            "candidateSet": list(document.get("targets") or []),
            "contextPolicy": None,
            "toolPolicy": None,
            "governanceRefs": {
                "ledgerRefs": [ledger] if ledger else [],
                "consentContractRef": gov.get("consentContractRef"),
                "artifactRef": gov.get("artifactRef"),
                "consentRef": gov.get("consentRef"),
                "ledgerApprovalRef": gov.get("ledgerApprovalRef"),
            },
            "laneDecision": None,
        }
    assert kind == AGENT_KIND, kind
    if not isinstance(lane, dict):
        raise LaneSummaryMissing(f"{document['decisionId']}: expected the policy's lane-decision summary (data.model_router.projection)")
    escalation = document.get("escalation")
    request_echo = document.get("input") or {}
    summary, lane = lane, selected.get("lane")
    return {
        **head,
        "policyRef": document.get("policyRef"),
        "policyRevision": document["policyRevision"],
        "inputDigest": input_digest,
        "promptDigest": prompt_digest,
        "selected": {
            "lane": lane,
            "status": selected.get("status"),
            "reason": selected.get("reason"),
            "reasons": list(selected.get("reasons") or [selected.get("reason")]),
            "costClass": selected.get("costClass"),
            "estimatedCost": selected.get("estimatedCost"),
        },
        "escalation": (
            {"reason": escalation.get("reason"), "receiptRef": escalation.get("receiptRef")}
            if isinstance(escalation, dict) and (escalation.get("reason") or escalation.get("receiptRef"))
            else None
        ),
        "budgetDecision": document.get("budget"),
        "resourceSnapshot": document.get("resources"),
        "quotaSnapshot": document.get("quota"),
        "candidateSet": list(document.get("candidateSet") or []),
        "contextPolicy": evidence.get("contextPolicy"),
        "toolPolicy": evidence.get("toolPolicy"),
        "governanceRefs": {"ledgerRefs": list(dict.fromkeys(evidence.get("ledgerRefs") or []))},
        "laneDecision": {
            "requested_lane": request_echo.get("requestedLane"),
            "selected_lane": lane,
            "lane_decision_outcome": summary["outcome"],
            "cost_class": selected.get("costClass"),
            "prompt_evidence_policy": "hash_only",
            "policy_decision_ref": document["decisionId"],
            "model_router_policy_ref": document.get("policyRef"),
            "escalation_receipt_ref": escalation.get("receiptRef") if isinstance(escalation, dict) else None,
            "de_escalation_required_after_stage": summary["deEscalationAfterStage"],
        },
    }
