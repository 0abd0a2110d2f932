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
