"""agentplane lane-decision receipts (ModelRoutingLaneDecisionReceipt v0.1) for route decisions.

The projection is policy: the Rego package model_router.agentplane computes it from the mapping tables
in policy data, in the same OPA query as the decision (data.model_router.agentplane.result). This
module only carries the answer and adds the identity fields that exist once a decision is recorded:

    receipt_id           the router's receipt id (RouteDecisionReceipt.receiptId) when the decision was
                         recorded, else a fresh urn:socioprophet:agentplane-lane-receipt:<hex>
    policy_decision_ref  the decision id
    prompt_hash_ref      the prompt digest (sha256:<hex>), when the request carried a prompt
    issued_at            the router receipt's issuedAt, else the time the receipt is first asked for

Every receipt is validated against schemas/model-routing-lane-decision-receipt.schema.json before it
is handed out. A projection the policy refused, a decision built for an engine fault and a receipt
that does not validate all raise ProjectionRefused with reason codes: no receipt rather than a wrong one.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from router import paths
from router.clock import utc_now
from router.contracts.digest import canonical
from router.contracts.jsonpath import json_path

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

PACKAGE = "model_router.agentplane"
RULE = "result"
BATCH_RULE = "results"
RECEIPT_KIND = "ModelRoutingLaneDecisionReceipt"
SCHEMA_FILE = paths.SCHEMAS / "model-routing-lane-decision-receipt.schema.json"
RECEIPT_ID_PREFIX = "urn:socioprophet:agentplane-lane-receipt:"
LOG_NAME = "agentplane-lane-receipts.jsonl"
RECEIPT_INVALID = "agentplane-receipt-invalid"
RESULT_MALFORMED = "agentplane-projection-malformed"
NOT_WRITTEN = "agentplane-receipt-not-written"


class ProjectionRefused(Exception):
    """No agentplane receipt for this decision; `reasons` holds the reason codes."""

    def __init__(self, decision_id: str | None, reasons: Iterable[str], detail: str = "") -> None:
        self.decision_id = decision_id
        self.reasons = tuple(reasons)
        self.detail = detail
        text = f"no agentplane lane-decision receipt for {decision_id or 'this decision'}: {', '.join(self.reasons)}"
        super().__init__(f"{text} ({detail})" if detail else text)


class ProjectionNotRequested(RuntimeError):
    """The decision was made without the projection (it is computed in the decision's own query)."""


@dataclass
class Projection:
    """The policy's answer for one decision: a receipt body (without identity fields) or refusals."""

    body: dict[str, Any] | None
    refusals: tuple[str, ...]
    receipt: dict[str, Any] | None = field(default=None, repr=False)  # the finished receipt, once built
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_result(cls, value: Any) -> Projection:
        """Read the `agentplane` part of data.model_router.agentplane.result (a malformed one is a refusal)."""
        if not isinstance(value, dict):
            return cls(None, (RESULT_MALFORMED,))
        body, refusals = value.get("receipt"), value.get("refusals")
        if not isinstance(refusals, list) or not all(isinstance(r, str) for r in refusals):
            return cls(None, (RESULT_MALFORMED,))
        if refusals:
            return cls(None, tuple(refusals))
        if not isinstance(body, dict):
            return cls(None, (RESULT_MALFORMED,))
        return cls(body, ())


def split_result(result: Any) -> tuple[Any, Projection | None]:
    """(decision, projection) from a data.model_router.agentplane.result value; (None, None) when it
    is not such a value (the caller then fails closed on the decision)."""
    if isinstance(result, dict) and "decision" in result:
        return result["decision"], Projection.from_result(result.get("agentplane"))
    return None, None


class ProjectedDecision(Protocol):
    """What a lane receipt reads of a route decision. router.decision.Decision is one; it is named here
    by what is read so that this module does not import router.decision (which imports it)."""

    @property
    def decision_id(self) -> str: ...
    @property
    def fault(self) -> str | None: ...
    @property
    def prompt_digest(self) -> str | None: ...
    @property
    def receipt(self) -> dict[str, Any] | None: ...
    @property
    def agentplane(self) -> Projection | None: ...


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # Imported on first use, measured: jsonschema (and router.contracts.schemas, which imports it) is
    # about a third of `import router.api` (50-90 ms, python -X importtime), and only a lane receipt
    # needs it, so a decision made without agentplane receipts never pays for it.
    from jsonschema import Draft202012Validator

    from router.contracts.schemas import FORMAT_CHECKER

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def receipt_problems(receipt: Any, limit: int = 3) -> list[str]:
    """Why RECEIPT is not a valid ModelRoutingLaneDecisionReceipt (empty when it is)."""
    problems: list[str] = []
    for err in _validator().iter_errors(receipt):
        where = json_path(err.absolute_path)
        problems.append(f"{where}: {err.message[:200]}")
        if len(problems) >= limit:
            break
    return problems


def _identity(decision: ProjectedDecision) -> dict[str, Any]:
    recorded = decision.receipt or {}
    ident = {
        "receipt_id": recorded.get("receiptId") or RECEIPT_ID_PREFIX + secrets.token_hex(12),
        "policy_decision_ref": decision.decision_id,
        "issued_at": recorded.get("issuedAt") or utc_now(),
    }
    # the prompt as the router's receipt references it (keyed per log, so no plain digest lands beside
    # the receipt log); without a receipt, the request's own sha256 digest
    prompt_ref = recorded.get("promptDigest") if decision.receipt else decision.prompt_digest
    if prompt_ref:
        ident["prompt_hash_ref"] = prompt_ref
    return ident


_FIELD_ORDER = (
    "kind", "receipt_id", "run_ref", "chain_stage", "task_class", "requested_lane", "selected_lane",
    "lane_decision_outcome", "downgrade_reason", "escalation_reason", "escalation_receipt_ref",
    "de_escalation_required_after_stage", "cost_class", "prompt_evidence_policy", "prompt_hash_ref",
    "context_tool_posture", "verification_mode", "policy_decision_ref", "model_router_policy_ref",
    "guardrail_fabric_ref", "hellgraph_evidence_refs", "upstream_anchors", "non_claims", "issued_at",
)


def receipt_for(decision: ProjectedDecision) -> dict[str, Any]:
    """The agentplane receipt of DECISION (a copy); raises ProjectionRefused or ProjectionNotRequested."""
    if decision.fault:
        raise ProjectionRefused(decision.decision_id, (decision.fault,), "the policy did not decide (fail-closed fault)")
    projection: Projection | None = decision.agentplane
    if projection is None:
        raise ProjectionNotRequested(
            "this decision was made without the agentplane projection: decide with Router(agentplane=True) "
            "or router.decide(bundle, agentplane=True) (the projection is evaluated in the decision's own query)"
        )
    with projection._lock:
        if projection.receipt is None:
            if projection.refusals or projection.body is None:  # from_result gives a body or refusals
                raise ProjectionRefused(decision.decision_id, projection.refusals or (RESULT_MALFORMED,))
            merged = {**projection.body, **_identity(decision)}
            receipt = {k: merged[k] for k in _FIELD_ORDER if k in merged}
            receipt.update({k: v for k, v in merged.items() if k not in receipt})
            problems = receipt_problems(receipt)
            if problems:
                projection.refusals = (RECEIPT_INVALID,)
                raise ProjectionRefused(decision.decision_id, projection.refusals, "; ".join(problems))
            projection.receipt = receipt
        return copy.deepcopy(projection.receipt)


def refusals_of(decision: ProjectedDecision) -> tuple[str, ...]:
    """The reason codes why DECISION has no agentplane receipt (empty when it has one)."""
    try:
        receipt_for(decision)
    except ProjectionRefused as exc:
        return exc.reasons
    return ()


class LaneReceiptLog:
    """agentplane receipts beside the router's receipt log: one JSON receipt per line, appended under
    an exclusive lock (the router's receipt log stays the hash-chained record of every decision)."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()

    def append_many(self, receipts: list[dict[str, Any]]) -> None:
        if not receipts:
            return
        data = "".join(canonical(r) + "\n" for r in receipts)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = data.encode("utf-8")
                written = 0
                while written < len(raw):
                    written += os.write(fd, raw[written:])
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)


def write_beside(log: LaneReceiptLog, decisions: Sequence[ProjectedDecision]) -> None:
    """Append the agentplane receipt of every recorded decision that has one. A decision whose receipt
    cannot be written is marked refused (agentplane-receipt-not-written); the decision itself stands."""
    ready: list[tuple[Projection, dict[str, Any]]] = []
    for d in decisions:
        if d.receipt is None or d.agentplane is None:
            continue
        try:
            ready.append((d.agentplane, receipt_for(d)))
        except ProjectionRefused:
            continue
    try:
        log.append_many([r for _, r in ready])
    except OSError:
        for projection, _ in ready:
            projection.receipt = None
            projection.refusals = (NOT_WRITTEN,)
