"""Semantic rules of the route decisions (architecture: decision documents)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.jsonpath import get, show
from router.contracts.rules.registry import Finding, rule


def _reason_is_first(doc: dict[str, Any]) -> Iterator[Finding]:
    reason, reasons = get(doc, "selected", "reason"), get(doc, "selected", "reasons")
    if isinstance(reason, str) and isinstance(reasons, list) and reasons and reasons[0] != reason:
        yield Finding(("selected", "reason"), show(reason), f"the first of $.selected.reasons ({show(reasons[0])})")


@rule("AgentExecutionRouteDecision", "reason-is-first-of-reasons", "selected.reason is the first of selected.reasons")
def agent_reason_is_first(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from _reason_is_first(doc)


@rule("LocalPersonalRouteDecision", "reason-is-first-of-reasons", "selected.reason is the first of selected.reasons")
def personal_reason_is_first(doc: dict[str, Any], ctx: ValidationContext) -> Iterator[Finding]:
    yield from _reason_is_first(doc)
