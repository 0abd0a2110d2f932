"""Canonical JSON and sha256 digests, as receipts and the guardrail ABI use them."""

from __future__ import annotations

import hashlib
from typing import Any
import json


def canonical_json(value: Any) -> bytes:
    """VALUE as canonical JSON bytes: sorted keys, compact separators, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256_digest(value: Any) -> str:
    """'sha256:' + the hex SHA-256 of VALUE's canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def prompt_sha256(text: str) -> str:
    """The hex SHA-256 of a prompt's UTF-8 text (what a bundle's request.prompt.sha256 holds)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipt_digest(receipt: dict[str, Any]) -> str:
    """A receipt's receiptDigest: the digest of the receipt without its receiptDigest field."""
    return sha256_digest({k: v for k, v in receipt.items() if k != "receiptDigest"})
