"""Semantic rules: what a JSON Schema cannot express about a document.

Each rule is one function registered with its stable rule id and the kind it applies to. A rule gets
the document and a ValidationContext and yields Findings (path parts, found, expected). Rules never
assume the document is schema-valid: a value that is absent or of the wrong type is the schema's to
report, and the rule skips it (unless the rule itself requires a field the schema leaves optional).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from router.contracts.context import ValidationContext
from router.contracts.kinds import load_extensions

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


def rules_for(kind: str) -> list[Rule]:
    _load_all()
    load_extensions()
    return list(RULES.get(kind, []))


def _load_all() -> None:
    # importing the modules registers their rules (imported here, not at the top: each imports this package)
    from router.contracts.rules import (  # noqa: F401
        binding,
        bundle,
        decision,
        optimizer,
        policy,
        price_catalog,
        receipt,
    )
