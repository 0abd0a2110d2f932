"""Semantic rules: what a JSON Schema cannot express about a document.

Each rule is one function registered with its stable rule id and the kind it applies to. A rule gets
the document and a ValidationContext and yields Findings (path parts, found, expected). Rules never
assume the document is schema-valid: a value that is absent or of the wrong type is the schema's to
report, and the rule skips it (unless the rule itself requires a field the schema leaves optional).
"""

from __future__ import annotations

from router.contracts.kinds import load_extensions
from router.contracts.rules.registry import RULES, Finding, Parts, Rule, RuleFn, rule

__all__ = ["RULES", "Finding", "Parts", "Rule", "RuleFn", "rule", "rules_for"]


def rules_for(kind: str) -> list[Rule]:
    _load_all()
    load_extensions()
    return list(RULES.get(kind, []))


def _load_all() -> None:
    # importing the modules registers their rules (imported here, not at the top, so that importing the package stays cheap)
    from router.contracts.rules import (  # noqa: F401
        binding,
        bundle,
        decision,
        optimizer,
        policy,
        price_catalog,
        receipt,
    )
