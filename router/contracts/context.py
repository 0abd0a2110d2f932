"""What a validation may look up beyond the document itself: the routing policies it may refer to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from router import paths
from router.contracts.errors import UnusableInput
from router.contracts.loader import load_document

POLICY_KIND = "AgentExecutionModelRoutingPolicy"


@dataclass(frozen=True)
class ValidationContext:
    """Known routing policies by policyId (an optimizer's policyRef must name one of them)."""

    policies: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    def with_documents(self, docs: Iterable[Any]) -> ValidationContext:
        """This context plus the routing policies among DOCS (later documents win)."""
        policies = dict(self.policies)
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == POLICY_KIND and isinstance(doc.get("policyId"), str):
                policies[doc["policyId"]] = doc
        return ValidationContext(policies)


def _repository_documents(root: Path) -> Iterable[Any]:
    files = set((root / "examples").rglob("*.json"))
    sources = root / "policies" / "data" / "sources.json"
    try:
        listed = json.loads(sources.read_text(encoding="utf-8")).get("documents", [])
        files.update(root / rel for rel in listed if isinstance(rel, str))
    except (OSError, ValueError, AttributeError):
        pass
    for path in sorted(files):
        try:
            yield load_document(path)
        except UnusableInput:
            continue


@cache
def repository_context(root: Path | None = None) -> ValidationContext:
    """The policies under examples/ and those policies/data/sources.json loads (read once)."""
    return ValidationContext().with_documents(_repository_documents(root or paths.ROOT))
