"""Verifying a receipt log in bounded memory: every line canonical, the hash chain, the signed head.

The log is read as a stream of lines of at most MAX_LINE bytes, so a huge file, a file without a
newline or a file of zeros gives a clear verdict in bounded memory; only a regular file is read (a
FIFO, a device such as /dev/zero or a socket is refused before any read, so nothing can hang).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router.receipts import checkpoint as cp
from router.receipts.build import canonical, receipt_digest, strict_loads

# strict_loads lives with canonical in router.receipts.build; it is re-exported here for existing callers
__all__ = ["MAX_LINE", "READ_BUFFER", "UnreadableLog", "VerifyReport", "strict_loads", "verify"]

MAX_LINE = 8 * 1024 * 1024  # a receipt never comes near this (an input bundle is at most 1 MiB)
READ_BUFFER = 1024 * 1024


class UnreadableLog(OSError):
    """The log cannot be read as a receipt log at all (missing, not a regular file, no permission)."""


@dataclass
class VerifyReport:
    ok: bool
    receipts: int  # receipts whose link checked out
    line: int | None = None  # 1-based line of the first problem in the log (None: the problem is the head)
    problem: str = ""
    signed: bool = False  # the signed head matched and its signature verified
    key_pinned: bool = False  # the signature was checked with a key the caller named (--key)
    head: dict[str, Any] | None = None
    log_id: str | None = None
    continues: dict[str, Any] | None = None  # the previous log's signed head this log continues from
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.ok:
            if self.line is None:
                return f"broken: {self.problem} (the chain of its {self.receipts} receipts is intact)"
            return f"broken at line {self.line}: {self.problem} ({self.receipts} receipts before it are intact)"
        text = f"ok: {self.receipts} receipts, hash chain intact, signed head verified"
        if self.key_pinned:
            text += " with the pinned key"
        else:
            text += (" with the key found beside the log (this proves integrity against accidents and writers"
                     " without the signing key only; pass --key to check against the key you trust)")
        if self.continues:
            text += f"; continues log {self.continues.get('logId')} after its receipt {self.continues.get('count')}"
        return text


def _open_regular(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableLog(exc.errno, f"{exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise UnreadableLog(22, f"not a receipt log: {kind} (only a regular file is read)")
    return fd


def verify(
    path: str | Path,
    *,
    public_key: Any = None,
    expect_head: str | None = None,
    min_count: int | None = None,
    require_head: bool = True,
) -> VerifyReport:
    """Check every line of the log at PATH (canonical JSON receipt, hash chain) and its signed head.

    PUBLIC_KEY (an Ed25519PublicKey) is the key to trust; without it the key recorded in the head is
    used. EXPECT_HEAD (a receipt digest exported earlier) must be in the chain; MIN_COUNT receipts at
    least. Raises UnreadableLog when PATH is not a readable regular file."""
    path = Path(path)
    fd = _open_regular(path)
    previous: str | None = None
    count = 0
    first: dict[str, Any] | None = None
    seen_expected = expect_head is None
    offset = 0

    def broken(line: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, count, line, problem)

    with os.fdopen(fd, "rb", buffering=READ_BUFFER) as fh:
        number = 0
        while True:
            raw = fh.readline(MAX_LINE + 1)
            if not raw:
                break
            number += 1
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE:
                    return broken(number, f"a line longer than {MAX_LINE} bytes (not a receipt log)")
                return broken(number, "incomplete last record (a write was interrupted)")
            offset += len(raw)
            body = raw[:-1]
            try:
                receipt = strict_loads(body)
            except UnicodeDecodeError:
                return broken(number, "not UTF-8 text")
            except RecursionError:
                return broken(number, "not a JSON receipt (nested too deeply)")
            except ValueError as exc:
                return broken(number, f"not a JSON receipt ({exc})")
            if not isinstance(receipt, dict) or receipt.get("kind") != "RouteDecisionReceipt":
                return broken(number, "not a RouteDecisionReceipt")
            try:
                exact = canonical(receipt).encode("utf-8") == body
            except (TypeError, ValueError):
                exact = False
            if not exact:
                return broken(number, "not the canonical serialisation of its JSON (sorted keys, compact, UTF-8); a receipt is always written canonically, so the line was edited")
            start = receipt.get("logStart")
            if count == 0:
                first = receipt
                problem = _first_link_problem(receipt, public_key)
                if problem:
                    return broken(number, problem)
                previous = receipt.get("previousReceiptDigest")
            elif start is not None:
                return broken(number, "logStart in a receipt that is not the first of its log")
            if receipt.get("previousReceiptDigest") != previous:
                expected = previous or "null (first receipt)"
                return broken(number, f"previousReceiptDigest is {receipt.get('previousReceiptDigest')}, expected {expected} (a receipt before it was changed, removed or reordered)")
            digest = receipt_digest(receipt)
            if receipt.get("receiptDigest") != digest:
                return broken(number, f"receiptDigest does not match the receipt's content (recomputed {digest}): the receipt was changed")
            previous = digest
            count += 1
            if not seen_expected and digest == expect_head:
                seen_expected = True
    report = VerifyReport(True, count)
    start = first.get("logStart") if first else None
    report.continues = start.get("previousLog") if isinstance(start, dict) else None
    report.log_id = start.get("logId") if isinstance(start, dict) else None
    if require_head:
        problem = _head_problem(path, report, previous, offset, first, public_key)
        if problem:
            return VerifyReport(False, count, None, problem, log_id=report.log_id)
    if not seen_expected:
        return VerifyReport(False, count, None, f"the expected head {expect_head} is not in this log (the log was rolled back or replaced)")
    if min_count is not None and count < min_count:
        return VerifyReport(False, count, None, f"the log holds {count} receipts, fewer than the {min_count} expected (receipts were removed)")
    return report


def _first_link_problem(receipt: dict[str, Any], public_key: Any) -> str | None:
    start = receipt.get("logStart")
    prev = receipt.get("previousReceiptDigest")
    if start is None:
        return None if prev is None else f"previousReceiptDigest is {prev}, expected null (first receipt) or a logStart naming the log it continues"
    if not isinstance(start, dict) or not isinstance(start.get("logId"), str):
        return "logStart: expected {logId, previousLog}"
    previous_log = start.get("previousLog")
    if previous_log is None:
        return None if prev is None else f"previousReceiptDigest is {prev}, expected null (logStart names no previous log)"
    problems = cp.head_problems(previous_log, "logStart.previousLog")
    if problems:
        return "; ".join(problems)
    try:
        key = public_key or cp.parse_public_key(previous_log["publicKey"], "logStart.previousLog.publicKey")
    except cp.CheckpointError as exc:
        return str(exc)
    if not cp.signature_valid(previous_log, key):
        return "logStart.previousLog: the previous log's head signature does not verify" + (" with the pinned key" if public_key else "")
    if prev != previous_log.get("headDigest"):
        return f"previousReceiptDigest is {prev}, expected the previous log's head {previous_log.get('headDigest')}"
    return None


def _head_problem(path: Path, report: VerifyReport, last: str | None, size: int, first: dict[str, Any] | None, public_key: Any) -> str | None:
    where = cp.head_path(path)
    try:
        found = cp.read_head(path)
    except cp.CheckpointError as exc:
        return str(exc)
    except OSError as exc:
        return f"{where}: cannot read the signed head: {exc.strerror or exc}"
    if found is None:
        return f"{where}: no signed head beside the log, so a removed tail or an emptied log cannot be ruled out"
    head, _ = found
    report.head = cp.flat(head)
    report.log_id = head["logId"]
    try:
        key = public_key or cp.parse_public_key(head["publicKey"], f"{where}: $.publicKey")
    except cp.CheckpointError as exc:
        return str(exc)
    if not cp.signature_valid(head, key):
        return f"{where}: the signature does not verify" + (" with the pinned key (the head was forged or signed by another key)" if public_key else " (the head was changed)")
    report.key_pinned = public_key is not None
    start = first.get("logStart") if first else None
    if isinstance(start, dict) and start.get("logId") != head["logId"]:
        return f"{where}: the head is of log {head['logId']}, but this log is {start.get('logId')} (a head of another log)"
    if head["count"] > report.receipts:
        return (f"the signed head covers {head['count']} receipts but the log holds {report.receipts}: "
                f"receipts were removed from the end (or the log was emptied)")
    if head["count"] < report.receipts:
        return (f"receipts {head['count'] + 1}..{report.receipts} are not covered by the signed head "
                f"(appended without the signing key, or a writer stopped between the append and the signature)")
    if head["headDigest"] != last:
        return f"the signed head's digest {head['headDigest']} is not the last receipt's {last} (the log was rewritten)"
    if head["size"] != size:
        return f"the signed head says the log ends at byte {head['size']}, it ends at byte {size}"
    if first is not None and head.get("startDigest") != first.get("previousReceiptDigest"):
        return f"the signed head says the chain starts after {head.get('startDigest')}, the first receipt says {first.get('previousReceiptDigest')}"
    report.signed = True
    return None
