"""guardrail-fabric calls the router: route decisions as its own `PolicyDecision`, a `BaselinePolicy` for
model-call events, and the hook response its Claude-Code adapter renders.

Needs the optional extra `model-router[guardrail]`, i.e. guardrail-fabric's package (installed from its
own source: `pip install <guardrail-fabric checkout>/package`);
`guardrail_fabric` is imported with this module when it is installed; when it is absent this module
still imports, and every function that needs it raises `GuardrailFabricMissing` (an ImportError) saying
how to install it.

    from router import Router
    from router.integrations import guardrail_fabric as gf

    with Router() as router:
        decision = router.decide(bundle)
        pd = gf.to_policy_decision(decision)          # guardrail_fabric.decision.PolicyDecision
        gf.append_decision(pd, decision, cwd=".")     # its log, plus the route-evidence side record

        policy = gf.model_route_policy(router)        # guardrail_fabric.policies.BaselinePolicy
        pd = policy.evaluate(ctx)                     # ctx: a PolicyContext of a model-call event

A model-call event carries the route bundle (a RouteInputBundle) in its tool input under
`ROUTE_BUNDLE_KEY` (`"routeBundle"`). guardrail-fabric's `Evidence` holds only its own fields; the route
evidence it cannot hold (route decision id and kind, route, status, every reason code, prompt digest,
receipt id and digest, guardrailRef) is written as one JSON line per decision to the side record
`model-router-route-evidence.jsonl` beside guardrail-fabric's decision log, keyed by the guardrail
`decisionId` (`guardrailDecisionId`). Nothing is dropped: `reason` also names every reason code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router import guardrail
from router.bundle_input import MAX_BYTES, InvalidBundle
from router.contracts.errors import Violation
from router.decision import Decision

if TYPE_CHECKING:  # pragma: no cover - types only
    from router.api import Router

# guardrail-fabric is the optional extra model-router[guardrail]: its absence is recorded here and
# reported by require() when a function needs it (this module itself always imports)
_MISSING: ImportError | None
try:
    from guardrail_fabric import decision as gd
    from guardrail_fabric import hooks as ghooks
    from guardrail_fabric import log as glog
    from guardrail_fabric import policies as gpolicies
except ImportError as exc:
    _MISSING = exc
else:
    _MISSING = None

ROUTE_BUNDLE_KEY = "routeBundle"
POLICY_ID = "model-router/route-decision"
EVIDENCE_LOG_NAME = "model-router-route-evidence.jsonl"
SIDE_RECORD_SCHEMA = "model-router.route-evidence.v1"
DEFAULT_PAYLOAD_LIMIT_BYTES = 1_048_576
INSTALL_HINT = "the model-router[guardrail] extra: pip install <guardrail-fabric checkout>/package"


class GuardrailFabricMissing(ImportError):
    """guardrail_fabric is not installed."""


def require() -> None:
    """Raise GuardrailFabricMissing (an ImportError naming the extra to install) when guardrail_fabric
    could not be imported; every function here that needs it calls this first."""
    if _MISSING is not None:
        raise GuardrailFabricMissing(f"guardrail_fabric is not importable ({_MISSING}); install it: {INSTALL_HINT}") from _MISSING




def route_evidence(source: Decision | dict[str, Any]) -> dict[str, Any]:
    """The route evidence guardrail-fabric's Evidence cannot hold, from a decision or a projection."""
    doc = source if isinstance(source, dict) else source.to_guardrail()
    evidence = doc.get("evidence") or {}
    return {key: evidence.get(key) for key in guardrail.ROUTE_EVIDENCE_KEYS}


def from_projection(doc: dict[str, Any], context: gpolicies.PolicyContext | None = None) -> gd.PolicyDecision:
    """A guardrail projection (sourceos.guardrail.decision.v0.1 dict) as guardrail-fabric's own
    PolicyDecision. CONTEXT (its PolicyContext, optional) adds the event's repo, cwd, session and agent."""
    require()
    ev = doc["evidence"]
    ctx = {
        "repo": getattr(context, "repo", None), "branch": getattr(context, "branch", None),
        "commit": getattr(context, "commit", None), "cwd": getattr(context, "cwd", None),
        "sessionId": getattr(context, "session_id", None), "agentId": getattr(context, "agent_id", None),
    }
    evidence = gd.Evidence(
        **ctx,
        tool=ev.get("tool"),
        actionClass=gd.ActionClass.MODEL,
        inputDigest=ev.get("inputDigest"),
        outputDigest=ev.get("outputDigest"),
        taskId=ev.get("taskId") or getattr(context, "task_id", None),
    )
    return gd.PolicyDecision(
        schema=doc["schema"],
        decisionId=doc["decisionId"],
        timestamp=doc["timestamp"],
        policyId=doc["policyId"],
        policyVersion=doc["policyVersion"],
        policyHash=doc.get("policyHash"),
        scope=gd.Scope(doc["scope"]),
        severity=gd.Severity(doc["severity"]),
        decision=gd.Decision(doc["decision"]),
        reason=doc["reason"],
        remediation=doc["remediation"],
        evidence=evidence,
        effects=gd.Effects(**doc["effects"]),
    )


def to_policy_decision(decision: Decision, context: gpolicies.PolicyContext | None = None) -> gd.PolicyDecision:
    """The route decision as guardrail_fabric.decision.PolicyDecision (its own enums and dataclasses):
    actionClass model, every reason code in `reason`, remediation from the reason catalogue, policy
    id/version/hash from the revision, decisionId unique per event (the receipt id, else a fresh UUID)."""
    return from_projection(decision.to_guardrail(), context)


@dataclass(frozen=True)
class RoutedEvent:
    """One model-call event decided through the router: guardrail-fabric's decision and the route evidence."""

    policy_decision: gd.PolicyDecision
    route_evidence: dict[str, Any]
    decision: Decision | None = None  # None when the input could not be decided at all


def side_record(policy_decision: gd.PolicyDecision, evidence: dict[str, Any]) -> dict[str, Any]:
    """The side-record line for POLICY_DECISION: the route evidence keyed by the guardrail decision id."""
    return {
        "schema": SIDE_RECORD_SCHEMA,
        "guardrailDecisionId": policy_decision.decisionId,
        "timestamp": policy_decision.timestamp,
        "routeEvidence": evidence,
    }


def evidence_log_path(decision_log: str | Path | None = None, *, cwd: str | Path | None = None) -> Path:
    """The side record beside guardrail-fabric's decision log (its default path when none is given)."""
    require()
    log = Path(decision_log).expanduser().resolve() if decision_log else glog.default_decision_log_path(cwd)
    return log.parent / EVIDENCE_LOG_NAME


def append_route_evidence(policy_decision: gd.PolicyDecision, evidence: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(side_record(policy_decision, evidence), sort_keys=True, separators=(",", ":")))
        handle.write("\n")
    return target


def append_decision(
    policy_decision: gd.PolicyDecision,
    source: Decision | dict[str, Any] | None = None,
    *,
    path: str | Path | None = None,
    cwd: str | Path | None = None,
    evidence: dict[str, Any] | None = None,
) -> Path:
    """guardrail-fabric's append_decision, plus the side-record line with the route evidence (from
    SOURCE, a decision or projection, or EVIDENCE) beside its log. Returns its log's path."""
    require()
    log = glog.append_decision(policy_decision, path=path, cwd=cwd)
    if evidence is None and source is not None:
        evidence = route_evidence(source)
    if evidence is not None:
        append_route_evidence(policy_decision, evidence, log.parent / EVIDENCE_LOG_NAME)
    return log


def _unusable(violations: Iterable[Violation] = (), *, oversized: bool = False,
              context: gpolicies.PolicyContext | None = None, raw: bytes | None = None,
              router: Router | None = None) -> RoutedEvent:
    gctx = router.guardrail_context if router is not None else guardrail.local_context()
    doc = guardrail.unusable_projection(violations, gctx, oversized=oversized, raw=raw)
    return RoutedEvent(from_projection(doc, context), route_evidence(doc))


def decide_event(router: Router, tool_input: Any, context: gpolicies.PolicyContext | None = None) -> RoutedEvent:
    """Decide the route bundle carried in TOOL_INPUT[ROUTE_BUNDLE_KEY]. A missing or unusable bundle is
    `quarantine` (invalid-input), an oversized one `defer` (input-too-large): never an allow."""
    bundle = tool_input.get(ROUTE_BUNDLE_KEY) if isinstance(tool_input, dict) else None
    if not isinstance(bundle, dict):
        where = f"$.tool_input.{ROUTE_BUNDLE_KEY}"
        return _unusable([Violation("<hook payload>", where, "absent or not an object", "a RouteInputBundle object")],
                         context=context, router=router)
    try:
        size = len(json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError):
        size = 0  # not JSON values: the bundle check below names the problem
    if size > MAX_BYTES:
        where = f"$.tool_input.{ROUTE_BUNDLE_KEY}"
        return _unusable([Violation("<hook payload>", where, f"{size} bytes", f"at most {MAX_BYTES} bytes")],
                         oversized=True, context=context, router=router)
    try:
        decision = router.decide(bundle, source=f"tool_input.{ROUTE_BUNDLE_KEY}")
    except InvalidBundle as exc:
        return _unusable(exc.violations, oversized=guardrail.is_oversized(exc.violations), context=context, router=router)
    doc = decision.to_guardrail()
    return RoutedEvent(from_projection(doc, context), route_evidence(doc), decision)


def model_route_policy(router: Router, *, evidence_log: str | Path | None = None,
                       record_evidence: bool = True) -> gpolicies.BaselinePolicy:
    """guardrail_fabric.policies.BaselinePolicy that decides model-call events (ActionClass.MODEL)
    with ROUTER; other events get None (not this policy's concern). Each decision's route evidence is
    appended to the side record (EVIDENCE_LOG, default beside guardrail-fabric's default log for the
    event's cwd) unless RECORD_EVIDENCE is False."""
    require()

    def evaluate(ctx: gpolicies.PolicyContext) -> gd.PolicyDecision | None:
        if ctx.action_class != gd.ActionClass.MODEL:
            return None
        event = decide_event(router, ctx.tool_input, ctx)
        if record_evidence:
            target = Path(evidence_log) if evidence_log else evidence_log_path(cwd=ctx.cwd)
            append_route_evidence(event.policy_decision, event.route_evidence, target)
        return event.policy_decision

    return gpolicies.BaselinePolicy(POLICY_ID, "Decide model calls with the model router (route bundle in tool input).", evaluate)


@dataclass(frozen=True)
class HookResult:
    """What `model-router hook` prints (RESPONSE as guardrail-fabric renders it, None for allow) and returns."""

    event: RoutedEvent
    response: dict[str, Any] | None
    exit_code: int
    event_name: str


def evaluate_hook(raw: bytes, oversized: bool, router_factory: Callable[[], Router], *,
                  log_path: str | Path | None = None, write_log: bool = False) -> HookResult:
    """Decide one Claude-Code hook payload as guardrail-fabric's hook does, with the router deciding:
    oversized stdin -> defer, unparsable -> quarantine, otherwise the route bundle in the tool input is
    decided (ROUTER_FACTORY() gives the Router, called only then). The response and exit code are
    guardrail-fabric's render_claude_code_response for the decision; with WRITE_LOG the decision is
    appended to its log (and the route evidence to the side record)."""
    require()
    payload: Any = None
    if not oversized:
        try:
            payload = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            payload = None
    if oversized:
        event, context, name = _unusable(oversized=True, raw=raw), None, "PreToolUse"
    elif not isinstance(payload, dict):
        what = "a JSON object (the hook payload)"
        event, context, name = _unusable([Violation("<stdin>", "$", "not a JSON object", what)], raw=raw), None, "PreToolUse"
    else:
        context = ghooks.normalize_claude_code_payload(payload)
        name = ghooks.hook_event_name(payload)
        with router_factory() as router:
            event = decide_event(router, context.tool_input, context)
    response, code = ghooks.render_claude_code_response(event.policy_decision, event_name=name)
    if write_log:
        append_decision(event.policy_decision, path=log_path, cwd=getattr(context, "cwd", None), evidence=event.route_evidence)
    return HookResult(event, response, code, name)

