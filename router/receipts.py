"""RouteDecisionReceipts in a hash-chained JSON-lines log.

Each line is one receipt. `receiptDigest` = sha256: + hex of the canonical JSON (sorted keys,
compact) of the receipt without `receiptDigest`; `previousReceiptDigest` is the digest of the line
before (null for the first). Changing, reordering or removing any past receipt breaks the chain,
and `verify` names the first broken link.

Appends take an exclusive `fcntl.flock` on the log (and a thread lock), so several threads and
processes can write at once; each receipt is one `write` of a complete line on an O_APPEND file,
followed by `fsync` unless disabled. A write or fsync that fails (disk full, file-size limit, I/O
error) is taken back by truncating the log to its size before the append, so the log still verifies
and the decision fails closed without a receipt. A crash mid-write can only leave an incomplete last
line — never touch an earlier one; the next append removes that torn tail (a receipt that was never
completed was never handed to a caller) before chaining on.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from router.decision import AGENT_KIND, PERSONAL_KIND

LOG_NAME = "receipts.jsonl"
RECEIPT_ID_PREFIX = "urn:socioprophet:model-route-receipt:"
PREMIUM_LANES = frozenset({"high-end", "pro"})


class ReceiptLogError(OSError):
    """The receipt could not be recorded (the decision then fails closed: evidence-unavailable)."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def receipt_digest(receipt: dict) -> str:
    body = {k: v for k, v in receipt.items() if k != "receiptDigest"}
    return "sha256:" + hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


# -- building a receipt from a decision -------------------------------------------------------


def _lane_outcome(status: str, lane: str | None, escalation: dict | None) -> str:
    if status == "selected":
        valid = isinstance(escalation, dict) and escalation.get("valid")
        return "escalated" if lane in PREMIUM_LANES and valid else "lane_selected"
    return {"downgraded": "downgraded", "deferred": "deferred"}.get(status, "denied")


def build_receipt(document: dict, *, input_digest: str, prompt_digest: str | None, issued_at: str) -> dict:
    """The receipt body (without the chain fields) for a decision document."""
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
        # governance evidence: the approvals the decision relied on (never a token) and its evaluation time
        "approvals": list(document.get("approvals") or []),
        "evaluation": document.get("evaluation"),
    }
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
    escalation = document.get("escalation")
    de_escalation = document.get("deEscalation") or {}
    request_echo = document.get("input") or {}
    if request_echo.get("runRef"):
        head["runRef"] = request_echo["runRef"]
    lane = selected.get("lane")
    after_stage = de_escalation.get("afterStage") if de_escalation.get("required") else None
    if lane in PREMIUM_LANES and after_stage is None:
        after_stage = de_escalation.get("afterStage") or request_echo.get("stage")
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
            "lane_decision_outcome": _lane_outcome(selected.get("status"), lane, escalation),
            "cost_class": selected.get("costClass"),
            "prompt_evidence_policy": "hash_only",
            "policy_decision_ref": document["decisionId"],
            "model_router_policy_ref": document.get("policyRef"),
            "escalation_receipt_ref": escalation.get("receiptRef") if isinstance(escalation, dict) else None,
            "de_escalation_required_after_stage": after_stage,
        },
    }


# -- the log ---------------------------------------------------------------------------------


def _last_line(fd: int, size: int) -> tuple[bytes, int]:
    """(last complete line without its newline, offset just after the last newline) of the file."""
    if size == 0:
        return b"", 0
    chunk = 65536
    end = size
    buf = b""
    # find the end of the last complete line (the last b"\n")
    pos = size
    last_nl = -1
    while pos > 0 and last_nl < 0:
        start = max(0, pos - chunk)
        data = os.pread(fd, pos - start, start)
        buf = data + buf
        idx = data.rfind(b"\n")
        if idx >= 0:
            last_nl = start + idx
        pos = start
    if last_nl < 0:
        return b"", 0  # no complete line at all: everything is a torn tail
    end = last_nl
    # find the newline before it
    pos = end
    line = b""
    while pos > 0:
        start = max(0, pos - chunk)
        data = os.pread(fd, pos - start, start)
        idx = data.rfind(b"\n")
        if idx >= 0:
            line = data[idx + 1 :] + line
            break
        line = data + line
        pos = start
    return line, last_nl + 1


class ReceiptLog:
    """An append-only, hash-chained receipt log (one JSON receipt per line)."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = None
        self._known: tuple[int, str] | None = None  # (file size after our last write, its last digest)

    def _open(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        # a forked child must not share the parent's open file description (flock is per description)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._pid = os.getpid()
        self._known = None
        return self._fd

    def _previous_digest(self, fd: int) -> str | None:
        size = os.fstat(fd).st_size
        if self._known is not None and self._known[0] == size:
            return self._known[1]
        line, complete_end = _last_line(fd, size)
        if complete_end < size:
            os.ftruncate(fd, complete_end)  # a torn tail left by a crash mid-write
        if not line.strip():
            return None
        try:
            last = json.loads(line)
            digest = last["receiptDigest"]
        except (ValueError, KeyError, TypeError):
            raise ReceiptLogError(f"{self.path}: the last receipt is unreadable; run `model-router receipts verify {self.path}`") from None
        if not isinstance(digest, str):
            raise ReceiptLogError(f"{self.path}: the last receipt has no receiptDigest")
        return digest

    def append_many(self, bodies: Iterable[dict]) -> list[dict]:
        """Chain and append receipts (built by build_receipt); return them with their chain fields."""
        bodies = list(bodies)
        if not bodies:
            return []
        try:
            with self._lock:
                fd = self._open()
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    previous = self._previous_digest(fd)
                    out, lines = [], []
                    for body in bodies:
                        receipt = dict(body)
                        receipt["previousReceiptDigest"] = previous
                        receipt["receiptDigest"] = previous = receipt_digest(receipt)
                        out.append(receipt)
                        lines.append(_canonical(receipt))
                    data = ("\n".join(lines) + "\n").encode("utf-8")
                    start = os.fstat(fd).st_size
                    try:
                        written = 0
                        while written < len(data):
                            written += os.write(fd, data[written:])
                        if self.fsync:
                            os.fsync(fd)
                    except BaseException:
                        # a full disk or a file-size limit can leave part of a line: take it back, so
                        # the log still verifies and no receipt exists for a decision that failed closed
                        self._truncate(fd, start)
                        raise
                    self._known = (os.fstat(fd).st_size, previous)
                    return out
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        except ReceiptLogError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            self._known = None
            raise ReceiptLogError(f"{self.path}: cannot record the receipt: {exc}") from exc

    @staticmethod
    def _truncate(fd: int, size: int) -> None:
        try:
            os.ftruncate(fd, size)
        except OSError:
            pass  # the next append repairs a torn tail before chaining on

    def append(self, body: dict) -> dict:
        return self.append_many([body])[0]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    receipts: int  # receipts whose link checked out
    line: int | None = None  # 1-based line of the first broken link
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.receipts} receipts, hash chain intact"
        return f"broken at line {self.line}: {self.problem} ({self.receipts} receipts before it are intact)"


def verify(path: str | Path) -> VerifyReport:
    """Recompute the hash chain of the log at PATH; report the first broken link."""
    previous: str | None = None
    count = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return VerifyReport(False, count, number, "incomplete last record (a write was interrupted)")
            try:
                receipt = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return VerifyReport(False, count, number, "not a JSON receipt")
            if not isinstance(receipt, dict) or receipt.get("kind") != "RouteDecisionReceipt":
                return VerifyReport(False, count, number, "not a RouteDecisionReceipt")
            if receipt.get("previousReceiptDigest") != previous:
                expected = previous or "null (first receipt)"
                return VerifyReport(False, count, number, f"previousReceiptDigest is {receipt.get('previousReceiptDigest')}, expected {expected} (a receipt before it was changed, removed or reordered)")
            digest = receipt_digest(receipt)
            if receipt.get("receiptDigest") != digest:
                return VerifyReport(False, count, number, f"receiptDigest does not match the receipt's content (recomputed {digest}): the receipt was changed")
            previous = digest
            count += 1
    return VerifyReport(True, count)
