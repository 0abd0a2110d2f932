"""Canonical JSON and sha256 digests: the one definition the router, its receipts and the guardrail
ABI use.

Canonical JSON is sorted keys, compact separators (`,` and `:`), UTF-8 text as is (no `\\u` escapes
for non-ASCII), and no NaN or Infinity (refused with ValueError).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(value: Any) -> str:
    """VALUE as canonical JSON text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def runs(value: dict[str, Any], at: tuple[str, ...]) -> list[str]:
    """The members of the object VALUE as canonical JSON text without the braces, in len(AT) + 1 runs
    split at the sorted keys AT (which VALUE does not hold): the members whose keys sort before AT[0],
    then those before AT[1], and so on. With `spliced`, an object that gains members at AT is
    serialised once, not once per member added."""
    groups: list[dict[str, Any]] = [{} for _ in range(len(at) + 1)]
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        groups[sum(key > split for split in at)][key] = item
    return [canonical(group)[1:-1] for group in groups]


def spliced(parts: list[str], added: dict[int, str]) -> str:
    """The canonical JSON of the object whose members are the runs PARTS (see `runs`) with the member
    texts ADDED[i] (`"key":value`) between run i and run i + 1: the same text as `canonical` of it."""
    out = []
    for i, part in enumerate(parts):
        if i in added:
            out.append(added[i])
        if part:
            out.append(part)
    return "{" + ",".join(out) + "}"


def canonical_json(value: Any) -> bytes:
    """VALUE as canonical JSON bytes (UTF-8)."""
    return canonical(value).encode("utf-8")


def sha256_text(data: str | bytes) -> str:
    """'sha256:' + the hex SHA-256 of DATA (text is hashed as UTF-8)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def sha256_digest(value: Any) -> str:
    """'sha256:' + the hex SHA-256 of VALUE's canonical JSON."""
    return sha256_text(canonical_json(value))


def prompt_sha256(text: str) -> str:
    """The hex SHA-256 of a prompt's UTF-8 text (what a bundle's request.prompt.sha256 holds)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipt_digest(receipt: dict[str, Any]) -> str:
    """A receipt's receiptDigest: the digest of the receipt without its receiptDigest field."""
    return sha256_digest({k: v for k, v in receipt.items() if k != "receiptDigest"})
