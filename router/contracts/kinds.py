"""The document kinds the router reads and writes, their schema files and how a document names its kind."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from router.contracts.errors import UnusableInput
from router.contracts.jsonpath import show

GUARDRAIL_ABI = "sourceos.guardrail.decision.v0.1"


@dataclass(frozen=True)
class Kind:
    name: str  # the document's `kind` (or the guardrail ABI id)
    slug: str  # schema file stem, fixture folder name
    id_field: str | None  # the field that identifies a document of this kind

    @property
    def schema_file(self) -> str:
        return f"{self.slug}.schema.json"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("AgentExecutionModelRoutingPolicy", "agent-execution-model-routing-policy", "policyId"),
        Kind("AgentExecutionBudgetResourceOptimizer", "agent-execution-budget-resource-optimizer", "optimizerId"),
        Kind("ModelPriceCatalog", "model-price-catalog", "catalogId"),
        Kind("LocalPersonalRouteBinding", "local-personal-route-binding", "bindingId"),
        Kind("RouteInputBundle", "route-input-bundle", None),
        Kind("AgentExecutionRouteDecision", "agent-execution-route-decision", "decisionId"),
        Kind("LocalPersonalRouteDecision", "local-personal-route-decision", "decisionId"),
        Kind("RouteDecisionReceipt", "route-decision-receipt", "receiptId"),
        Kind(GUARDRAIL_ABI, GUARDRAIL_ABI, "decisionId"),
    )
}


# modules that register further document kinds (and their rules) when imported
EXTENSIONS = ("router.contracts.model_rules", "router.contracts.agentplane_rules", "router.contracts.approval_rules")
_extensions_loaded = False


def load_extensions() -> None:
    """Import the extension modules once, so that their kinds are known (standard library only)."""
    global _extensions_loaded
    if _extensions_loaded:
        return
    _extensions_loaded = True
    # imported here, not at the top: each of them imports this module to register its kinds
    for name in EXTENSIONS:
        import_module(name)


def kind_info(kind: str) -> Kind:
    load_extensions()
    try:
        return KINDS[kind]
    except KeyError:
        raise UnusableInput(f"unknown document kind {kind!r}; known kinds: {', '.join(KINDS)}") from None


def detect_kind(doc: Any) -> str:
    """The kind of DOC: its `kind` field, or the guardrail ABI when its `schema` names it."""
    load_extensions()
    if not isinstance(doc, dict):
        raise UnusableInput("$: not a JSON object, so it has no kind")
    if doc.get("schema") == GUARDRAIL_ABI and "kind" not in doc:
        return GUARDRAIL_ABI
    kind = doc.get("kind")
    if isinstance(kind, str) and kind in KINDS and kind != GUARDRAIL_ABI:
        return kind
    if "kind" not in doc:
        raise UnusableInput(
            f"$.kind: found no value (field absent); expected one of {', '.join(k for k in KINDS if k != GUARDRAIL_ABI)}"
            f" (or $.schema {GUARDRAIL_ABI!r} for a guardrail decision)"
        )
    raise UnusableInput(
        f"$.kind: found {show(kind)}; expected one of {', '.join(k for k in KINDS if k != GUARDRAIL_ABI)}"
    )
