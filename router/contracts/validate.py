"""validate_document: JSON Schema errors plus the semantic rules of the document's kind, all of them."""

from __future__ import annotations

from typing import Any

from router.contracts.context import ValidationContext, repository_context
from router.contracts.errors import Violation
from router.contracts.jsonpath import json_path
from router.contracts.kinds import detect_kind, kind_info
from router.contracts.rules import rules_for
from router.contracts.schemas import schema_violations


def validate_document(
    doc: Any, source: str = "<document>", kind: str | None = None, context: ValidationContext | None = None
) -> list[Violation]:
    """Every violation of DOC: schema errors first (in path order), then semantic rules in rule order.

    KIND defaults to the kind the document names (UnusableInput when it names none we know).
    CONTEXT holds the known routing policies; by default those of this repository.
    """
    kind = kind_info(kind).name if kind else detect_kind(doc)
    found = schema_violations(doc, kind, source)
    if isinstance(doc, dict):
        rules = rules_for(kind)
        if rules:
            ctx = context if context is not None else repository_context()
            for r in rules:
                for finding in r.check(doc, ctx):
                    found.append(Violation(source, json_path(finding.path), finding.found, finding.expected, r.rule_id))
    return found
