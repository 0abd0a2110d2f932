"""Shared paths and helpers of the contract tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from router import paths
from router.contracts import load_document, repository_context

ROOT = paths.ROOT
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = paths.EXAMPLES

# the kinds this suite owns (other document families register further kinds with router.contracts)
OUR_KINDS = (
    "AgentExecutionModelRoutingPolicy",
    "AgentExecutionBudgetResourceOptimizer",
    "ModelPriceCatalog",
    "LocalPersonalRouteBinding",
    "RouteInputBundle",
    "AgentExecutionRouteDecision",
    "LocalPersonalRouteDecision",
    "RouteDecisionReceipt",
    "sourceos.guardrail.decision.v0.1",
)

CONTRACT_EXAMPLES = {
    "AgentExecutionModelRoutingPolicy": EXAMPLES / "agent-execution-model-routing-policy.default.json",
    "AgentExecutionBudgetResourceOptimizer": EXAMPLES / "agent-execution-budget-resource-optimizer.default.json",
    "ModelPriceCatalog": EXAMPLES / "model-price-catalog.demo.json",
    "LocalPersonalRouteBinding": EXAMPLES / "local-personal-route-binding.llama32.json",
}


def valid_fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*/valid/*.json"))


def rule_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*.json"))


def fixture_context():
    """The repository's policies plus the valid fixture policies (e.g. one without a pro lane)."""
    return repository_context().with_documents(load_document(p) for p in valid_fixtures())


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path
