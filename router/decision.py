"""Typed route decisions: the document OPA computed, plus the id, time and policy revision.

A caller reads what it acts on through `Decision`'s typed properties (status, lane/target, reason,
reasons, model, fallbacks, suggested lane, approvals, receipt id, ...); `Decision.document` is the
decision document (AgentExecutionRouteDecision or LocalPersonalRouteDecision) as a read-only view,
nothing copied, and `Decision.to_dict()` an exact deep copy. Decisions that the Python layer builds itself for a fault
(`engine-unavailable`, `engine-timeout`, `engine-error`, `policy-undefined`,
`invalid-policy-result`, `evidence-unavailable`) are the policy's own denied decision
(model_router.denied, held in router/fault-template.json): no lane or target, nothing granted.

No status, lane or guardrail value is written here: the status sets are the decision schemas' enums,
the statuses that permit come from the policy (through the fault template), and what a decision
projects to (its guardrail verdict and lane summary) is computed by the policy in the decision's own
query and carried beside the document in `Decision.projection`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from router import agentplane, fault_template, guardrail, paths
from router.bundle_input import FastValidator, fast_validator
from router.clock import utc_now
from router.contracts.jsonpath import json_path

# a JSON object as the policy returns it (a decision document, a projection, an approval record)
JSONObject = dict[str, Any]

__all__ = [
    "AGENT_KIND", "AGENT_STATUSES", "DECISION_ID_PREFIX", "DECISION_KINDS", "PERMITTING_STATUSES", "PERSONAL_KIND",
    "PERSONAL_STATUSES", "SCHEMA_FILES", "Candidate", "Decision", "JSONObject", "Target", "decision_id", "expected_kind",
    "fail_closed_document", "non_finite_number", "reason_codes", "request_problems", "result_problems", "result_validator",
    "utc_now", "with_identity",
]

AGENT_KIND = "AgentExecutionRouteDecision"
PERSONAL_KIND = "LocalPersonalRouteDecision"
DECISION_KINDS = (AGENT_KIND, PERSONAL_KIND)
DECISION_ID_PREFIX = "urn:socioprophet:model-route-decision:"
SCHEMA_FILES = {
    AGENT_KIND: paths.SCHEMAS / "agent-execution-route-decision.schema.json",
    PERSONAL_KIND: paths.SCHEMAS / "local-personal-route-decision.schema.json",
}


def _schema_statuses(kind: str) -> tuple[str, ...]:
    """The selected.status enum of a decision schema (the schema is the one source of the status set)."""
    schema = json.loads(SCHEMA_FILES[kind].read_text(encoding="utf-8"))
    return tuple(schema["properties"]["selected"]["properties"]["status"]["enum"])


AGENT_STATUSES = _schema_statuses(AGENT_KIND)
PERSONAL_STATUSES = _schema_statuses(PERSONAL_KIND)
# the statuses that permit a request on its route, of either kind (the policy's, via the fault template)
PERMITTING_STATUSES = fault_template.permitting_statuses()


def decision_id(canonical_bundle: str, revision: str) -> str:
    """urn:socioprophet:model-route-decision: + first 24 hex of SHA-256 over the canonical JSON of
    {"bundle": <bundle without prompt text>, "policyRevision": <revision>} (sorted keys, compact)."""
    payload = '{"bundle":' + canonical_bundle + ',"policyRevision":' + json.dumps(revision, ensure_ascii=False) + "}"
    return DECISION_ID_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def expected_kind(bundle: Any) -> str:
    """The decision kind a bundle asks for (mirrors the entrypoint's dispatch on request.personal)."""
    request = bundle.get("request") if isinstance(bundle, dict) else None
    personal = request.get("personal") if isinstance(request, dict) else None
    return PERSONAL_KIND if isinstance(personal, dict) else AGENT_KIND


@cache
def result_validator(kind: str) -> FastValidator | None:
    """Compiled validator of a decision kind, built once (None when the schema file is absent)."""
    schema_file = SCHEMA_FILES[kind]
    if not schema_file.exists():
        return None
    return fast_validator(json.loads(schema_file.read_text(encoding="utf-8")))


def result_problems(result: Any, kind: str, limit: int = 3) -> list[str]:
    """Why RESULT (with decisionId/createdAt/policyRevision added) is not a valid KIND decision."""
    if not isinstance(result, dict):
        return [f"$: expected an object, found {type(result).__name__}"]
    if result.get("kind") != kind:
        return [f"$.kind: expected {kind!r}, found {result.get('kind')!r}"]
    selected = result.get("selected")
    statuses = PERSONAL_STATUSES if kind == PERSONAL_KIND else AGENT_STATUSES
    if not isinstance(selected, dict) or selected.get("status") not in statuses:
        return [f"$.selected.status: expected one of {', '.join(statuses)}"]
    validator = result_validator(kind)
    if validator is None or validator.is_valid(result):
        return []
    problems = []
    for err in validator.iter_errors(result):
        where = json_path(err.absolute_path)
        problems.append(f"{where}: {err.message[:200]}")
        if len(problems) >= limit:
            break
    if not problems:
        problems = ["$: the fast schema check found the result invalid but the detailed check named no error (an internal inconsistency)"]
    return problems


def non_finite_number(value: Any, where: str = "$") -> str | None:
    """The path of the first NaN or infinity in VALUE (None when every number is finite)."""
    try:  # the C encoder refuses a non-finite number several times faster than the walk below finds it
        json.dumps(value, allow_nan=False, check_circular=False)
        return None
    except (ValueError, TypeError, RecursionError):
        pass  # a non-finite number (or a value JSON cannot hold): the walk names the path
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, float):
            if math.isnan(item) or item in (math.inf, -math.inf):
                return at
        elif isinstance(item, dict):
            stack.extend((v, f"{at}.{k}") for k, v in item.items() if isinstance(v, (dict, list, float)))
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item) if isinstance(v, (dict, list, float)))
    return None


_MISSING = object()


def request_problems(result: JSONObject, bundle: Any, *, screened: bool = False) -> list[str]:
    """Why RESULT is not an answer to BUNDLE that may be acted on: a permitting status must name a lane
    (agent execution) or a target (local-personal); every number must be finite; the echoed request
    fields (requestId, task class, for a personal request the binding and route) must equal the
    request's own. (The kind is checked by result_problems and the caller.) SCREENED: the caller
    knows every number in RESULT is finite (its decoder saw each one: Channel.decode_screened), so
    that check is not made again."""
    selected = result.get("selected")
    if isinstance(selected, dict) and selected.get("status") in fault_template.permitting_statuses(result.get("kind")):
        route_field = "target" if result.get("kind") == PERSONAL_KIND else "lane"
        route = selected.get(route_field)
        if not (isinstance(route, str) and route):
            return [f"$.selected.{route_field}: expected a {route_field} for status {selected['status']!r}, found {type(route).__name__}"]
    where = None if screened else non_finite_number(result)
    if where is not None:
        return [f"{where}: expected a finite number, found a non-finite one"]
    request = bundle.get("request") if isinstance(bundle, dict) else None
    if not isinstance(request, dict):
        return []
    echo = result.get("input")
    if not isinstance(echo, dict):
        return ["$.input: expected the echoed request fields, found none"]
    problems = []
    for key in ("requestId", "taskClass"):
        if key in request and echo.get(key, _MISSING) != request[key]:
            problems.append(f"$.input.{key}: expected the request's own value")
    personal = request.get("personal")
    if isinstance(personal, dict):
        for key in ("bindingRef", "routeId"):
            if key in personal and result.get(key, _MISSING) != personal[key]:
                problems.append(f"$.{key}: expected the request's own value")
    return problems


def fail_closed_document(kind: str, reason: str, bundle: JSONObject, *, decision_id_: str, created_at: str,
                         revision: str) -> JSONObject:
    """A denied decision for a fault: the policy's denied decision (router.fault_template), no lane or
    target, nothing granted, the request's own fields echoed."""
    identity = {"decisionId": decision_id_, "createdAt": created_at, "policyRevision": revision}
    return fault_template.denied_document(kind, reason, bundle, identity=identity)


def reason_codes(document: Mapping[str, Any]) -> frozenset[str]:
    """Every reason code in a decision document of either kind: selected, every candidate, the requested
    lane's evaluation, every target."""
    lists = [(document.get("selected") or {}).get("reasons") or ()]
    lists += [c.get("reasons") or () for c in document.get("candidateSet") or ()]
    requested = document.get("requestedEvaluation")
    if isinstance(requested, dict):
        lists.append(requested.get("reasons") or ())
    lists += [t.get("reasons") or () for t in document.get("targets") or ()]
    return frozenset(code for codes in lists for code in codes)


def with_identity(result: JSONObject, *, decision_id_: str, created_at: str, revision: str) -> JSONObject:
    """The policy's result with decisionId, createdAt and policyRevision placed after kind."""
    doc = {"schemaVersion": result.get("schemaVersion"), "kind": result.get("kind")}
    doc.update(decisionId=decision_id_, createdAt=created_at, policyRevision=revision)
    for key, value in result.items():
        if key not in doc:
            doc[key] = value
    return doc


@dataclass(frozen=True)
class Candidate:
    """One lane the agent-execution decision evaluated."""

    lane: str
    rank: int | None
    feasible: bool
    estimated_cost: float | None
    cost_class: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """One target the local-personal decision tried."""

    target: str
    profile_ref: str | None
    admissible: bool
    reasons: tuple[str, ...]


class Decision:
    """A route decision. Read what you act on through its typed properties; `document` is the decision
    document as a read-only view (no copy), `to_dict()` an exact deep copy you may change."""

    __slots__ = (
        "_doc",
        "_guardrail_context",
        "_projection",
        "agentplane",
        "detail",
        "fault",
        "input_digest",
        "prompt_digest",
        "receipt",
        "source",
    )

    def __init__(
        self,
        document: JSONObject,
        *,
        input_digest: str,
        prompt_digest: str | None,
        fault: str | None = None,
        detail: str = "",
        receipt: JSONObject | None = None,
        source: str | None = None,
        guardrail_context: guardrail.ReasonCatalogue | None = None,
        projection: JSONObject | None = None,
    ) -> None:
        self._doc = document
        self.input_digest = input_digest
        self.prompt_digest = prompt_digest
        self.fault = fault  # the fail-closed reason code when the Python layer built this decision
        self.detail = detail
        self.receipt = receipt
        self.source = source
        self._guardrail_context = guardrail_context
        # the agentplane projection, when it was asked for (router.agentplane)
        self.agentplane: agentplane.Projection | None = None
        # the policy's projections of this decision ({"guardrail": verdict, "lane": summary}), computed in
        # the decision's own query; for a fault, the fault template's
        self._projection = projection if fault is None else fault_template.fault_projection(fault)

    # the document

    @property
    def document(self) -> Mapping[str, Any]:
        """The decision document as a read-only view (a types.MappingProxyType; nothing is copied).

        Its top level cannot be changed; the objects and lists inside it are the document's own, so
        read them and never change them (take `to_dict()` for a copy you may change)."""
        return MappingProxyType(self._doc)

    @property
    def _selected(self) -> JSONObject:
        selected: JSONObject = self._doc["selected"]
        return selected

    # identity

    @property
    def kind(self) -> str:
        kind: str = self._doc["kind"]
        return kind

    @property
    def decision_id(self) -> str:
        value: str = self._doc["decisionId"]
        return value

    @property
    def created_at(self) -> str:
        value: str = self._doc["createdAt"]
        return value

    @property
    def policy_revision(self) -> str:
        value: str = self._doc["policyRevision"]
        return value

    @property
    def is_personal(self) -> bool:
        return bool(self._doc["kind"] == PERSONAL_KIND)

    @property
    def policy_ref(self) -> str | None:
        """The routing-policy URN (agent execution) or the binding URN (local-personal)."""
        value: str | None = self._doc.get("bindingRef") if self.is_personal else self._doc.get("policyRef")
        return value

    # outcome

    @property
    def status(self) -> str:
        value: str = self._selected["status"]
        return value

    @property
    def reason(self) -> str:
        """The primary reason code."""
        value: str = self._selected["reason"]
        return value

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason code of the selected outcome, in order."""
        return tuple(self._selected.get("reasons") or ())

    @property
    def lane(self) -> str | None:
        """The chosen lane of an agent-execution decision (None when there is none)."""
        value: str | None = self._selected.get("lane")
        return value

    @property
    def target(self) -> str | None:
        """The chosen target of a local-personal decision (None when there is none)."""
        value: str | None = self._selected.get("target")
        return value

    @property
    def profile_ref(self) -> str | None:
        value: str | None = self._selected.get("profileRef")
        return value

    @property
    def cost_class(self) -> str | None:
        value: str | None = self._selected.get("costClass")
        return value

    @property
    def estimated_cost(self) -> float | None:
        value: float | None = self._selected.get("estimatedCost")
        return value

    @property
    def suggested_lane(self) -> str | None:
        """The lane that would serve the request (a deferred or denied decision may name one)."""
        value: str | None = self._selected.get("suggestedLane")
        return value

    @property
    def route(self) -> str | None:
        """The chosen lane (agent execution) or target (local-personal)."""
        return self.target if self.is_personal else self.lane

    @property
    def requires_human_approval(self) -> bool:
        return bool(self._selected.get("requiresHumanApproval", False))

    @property
    def permitted(self) -> bool:
        """True only for a status the policy lets proceed (selected, downgraded, fallback) with a route."""
        return self.status in fault_template.permitting_statuses(self.kind) and self.route is not None

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 selected/downgraded/fallback, 3 deferred/denied/quarantined."""
        return 0 if self.permitted else 3

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(
            Candidate(c.get("lane"), c.get("rank"), bool(c.get("feasible")), c.get("estimatedCost"), c.get("costClass"), tuple(c.get("reasons") or ()))
            for c in self._doc.get("candidateSet") or ()
        )

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(
            Target(t.get("target"), t.get("profileRef"), bool(t.get("admissible")), tuple(t.get("reasons") or ()))
            for t in self._doc.get("targets") or ()
        )

    @property
    def approvals(self) -> tuple[JSONObject, ...]:
        """The evidence of every approval the decision relied on (digests and verdicts, never a token; copies)."""
        return tuple(copy.deepcopy(a) for a in self._doc.get("approvals") or ())

    @property
    def model(self) -> JSONObject | None:
        """The concrete model chosen ({modelRef, status, ...}; a copy), or None."""
        model = self._doc.get("model")
        return copy.deepcopy(model) if isinstance(model, dict) else None

    @property
    def model_ref(self) -> str | None:
        model = self._doc.get("model")
        value: str | None = model.get("modelRef") if isinstance(model, dict) else None
        return value

    @property
    def fallbacks(self) -> tuple[JSONObject, ...]:
        """The fallback models, in order (copies)."""
        return tuple(copy.deepcopy(f) for f in self._doc.get("fallbacks") or ())

    @property
    def receipt_id(self) -> str | None:
        """The id of the RouteDecisionReceipt recorded for this decision (None when none was)."""
        value = (self.receipt or {}).get("receiptId")
        return value if isinstance(value, str) else None

    @property
    def projection(self) -> JSONObject | None:
        """The policy's projections of this decision: {"guardrail": verdict, "lane": summary} (a copy);
        None for a decision made without them."""
        return copy.deepcopy(self._projection)

    @property
    def guardrail_verdict(self) -> JSONObject | None:
        """The guardrail verdict the policy computed: {decision, severity, effects, remediation}."""
        verdict: JSONObject | None = (self._projection or {}).get("guardrail")
        return copy.deepcopy(verdict)

    @property
    def lane_summary(self) -> JSONObject | None:
        """The receipt's lane-decision summary the policy computed: {outcome, premium,
        deEscalationAfterStage}; None for a local-personal decision."""
        summary: JSONObject | None = (self._projection or {}).get("lane")
        return copy.deepcopy(summary)

    @property
    def all_reasons(self) -> frozenset[str]:
        """Every reason code in the decision: selected, every candidate, the requested lane, every target."""
        return reason_codes(self._doc)

    def get(self, key: str, default: Any = None) -> Any:
        """A top-level field of the document (a copy)."""
        return copy.deepcopy(self._doc.get(key, default))

    def to_dict(self) -> JSONObject:
        """The exact decision document (a deep copy)."""
        return copy.deepcopy(self._doc)

    def to_guardrail(self) -> JSONObject:
        """The sourceos.guardrail.decision.v0.1 projection of this decision."""
        return guardrail.project(self, self._guardrail_context)

    def to_agentplane(self) -> JSONObject:
        """agentplane's ModelRoutingLaneDecisionReceipt v0.1 for this decision (validated against its
        schema). Raises router.agentplane.ProjectionRefused with reason codes when there is none."""
        return agentplane.receipt_for(self)

    def to_receipt(self) -> JSONObject | None:
        """The RouteDecisionReceipt recorded for this decision (None when receipts are off)."""
        return copy.deepcopy(self.receipt)

    def __repr__(self) -> str:
        return f"Decision({self.decision_id}, {self.kind}, status={self.status}, route={self.route}, reason={self.reason})"
