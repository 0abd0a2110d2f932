"""The router's contracts: JSON Schemas, semantic rules and validators of every document it reads or writes.

Public API (imported lazily, so that the standard-library-only bootstrap of the validator scripts can
import this package before the dependencies are known to be installed):

- ``load_document(path)`` read one JSON object strictly, raising ``UnusableInput``
- ``detect_kind(doc)`` the document's kind, raising ``UnusableInput`` when unknown
- ``validate_document(doc, source, kind=None, context=None)`` every ``Violation`` (schema + semantic)
- ``schema_for(kind)``, ``validator_for(kind)`` the schema and its compiled validator (cached)
- ``run_validator(paths, kinds=None)`` print violations, return the exit code 0/1/2
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real types for type checkers; at run time the names are imported on first use
    from router.contracts.context import ValidationContext, repository_context
    from router.contracts.digest import canonical_json, prompt_sha256, receipt_digest, sha256_digest
    from router.contracts.errors import UnusableInput, Violation
    from router.contracts.kinds import GUARDRAIL_ABI, KINDS, detect_kind
    from router.contracts.loader import load_document, parse_document
    from router.contracts.runner import run_validator
    from router.contracts.schemas import schema_for, validator_for
    from router.contracts.validate import validate_document

_EXPORTS = {
    "UnusableInput": "router.contracts.errors",
    "Violation": "router.contracts.errors",
    "load_document": "router.contracts.loader",
    "parse_document": "router.contracts.loader",
    "KINDS": "router.contracts.kinds",
    "GUARDRAIL_ABI": "router.contracts.kinds",
    "detect_kind": "router.contracts.kinds",
    "schema_for": "router.contracts.schemas",
    "validator_for": "router.contracts.schemas",
    "validate_document": "router.contracts.validate",
    "ValidationContext": "router.contracts.context",
    "repository_context": "router.contracts.context",
    "run_validator": "router.contracts.runner",
    "canonical_json": "router.contracts.digest",
    "sha256_digest": "router.contracts.digest",
    "prompt_sha256": "router.contracts.digest",
    "receipt_digest": "router.contracts.digest",
}

__all__ = [  # the names of _EXPORTS
    "GUARDRAIL_ABI",
    "KINDS",
    "UnusableInput",
    "ValidationContext",
    "Violation",
    "canonical_json",
    "detect_kind",
    "load_document",
    "parse_document",
    "prompt_sha256",
    "receipt_digest",
    "repository_context",
    "run_validator",
    "schema_for",
    "sha256_digest",
    "validate_document",
    "validator_for",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
