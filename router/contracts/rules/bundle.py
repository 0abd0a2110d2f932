"""Semantic rules of RouteInputBundle (routing semantics, section 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.digest import prompt_sha256
from router.contracts.jsonpath import get, show
from router.contracts.rules.registry import Finding, rule

KIND = "RouteInputBundle"


@rule(KIND, "prompt-digest-matches-text", "when a prompt carries text as well as sha256 or chars, they describe that text")
def prompt_digest_matches_text(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    text = get(doc, "request", "prompt", "text")
    if not isinstance(text, str):
        return
    digest = get(doc, "request", "prompt", "sha256")
    if isinstance(digest, str) and digest != prompt_sha256(text):
        yield Finding(("request", "prompt", "sha256"), show(digest), "the SHA-256 of the UTF-8 prompt text (or no sha256 beside text)")
    chars = get(doc, "request", "prompt", "chars")
    if isinstance(chars, int) and not isinstance(chars, bool) and chars != len(text):
        yield Finding(("request", "prompt", "chars"), show(chars), f"{len(text)}, the length of the prompt text")
