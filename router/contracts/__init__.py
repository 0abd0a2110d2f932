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
from typing import Any

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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
