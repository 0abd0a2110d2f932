"""The rule registry: Finding, Rule and the `rule` decorator every semantic-rule module registers with.

Its own module so that the rule modules import it, not the package that imports them (router.contracts.rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from router.contracts.context import ValidationContext

# the parts of a JSON path into a document: member names and array indexes
Parts = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    path: Parts
    found: str
    expected: str


RuleFn = Callable[[dict[str, Any], ValidationContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    summary: str
    check: RuleFn


RULES: dict[str, list[Rule]] = {}


def rule(kind: str, rule_id: str, summary: str) -> Callable[[RuleFn], RuleFn]:
    """Register the decorated function as semantic rule RULE_ID of KIND."""

    def register(fn: RuleFn) -> RuleFn:
        existing = RULES.setdefault(kind, [])
        if any(r.rule_id == rule_id for r in existing):
            raise ValueError(f"rule {rule_id!r} is registered twice for {kind}")
        existing.append(Rule(rule_id, kind, summary, fn))
        return fn

    return register
