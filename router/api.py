"""The Python API: `Router` turns input bundles into decisions and receipts by asking OPA.

    from router import Router

    with Router() as router:                       # starts a managed OPA; stops it on exit
        decision = router.decide(bundle_dict)      # or a path to a bundle file
        decision.status, decision.lane, decision.reason
        decision.to_dict()                         # the exact decision document
        decision.to_guardrail()                    # sourceos.guardrail.decision.v0.1
        router.decide(bundle, agentplane=True).to_agentplane()  # agentplane lane-decision receipt
        decision.receipt                           # the RouteDecisionReceipt appended to the log
        router.decide_many(bundles, on_invalid="decision")  # one round trip; an unusable bundle gets a
                                                   # denied decision (invalid-input) in its place

No policy rule is implemented here. Faults (OPA unreachable, timeout, HTTP error, an undefined or
malformed result, a receipt that cannot be written) become `denied` decisions with the fault's reason
code; only an unusable input raises (`InvalidBundle`), before OPA is asked anything — or, in
`decide_many(..., on_invalid="decision")`, gets the policy's denied decision (reason `invalid-input`,
from the fault template) in its place, with no receipt. Text rendering (`explain`) is router.render's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from router import agentplane as agentplane_mod
from router import approvals, bundle_input, guardrail, local_policy
from router import engine as engine_mod
from router import opa_supervisor as supervisor_mod
from router import projection as projection_mod
from router.bundle_input import InvalidBundle, PreparedBundle
from router.config import Settings, load_settings
from router.contracts.digest import canonical, sha256_digest, sha256_text
from router.contracts.errors import Violation
from router.decision import (
    Decision,
    decision_id,
    expected_kind,
    fail_closed_document,
    request_problems,
    result_problems,
    utc_now,
    with_identity,
)
from router.engine_fleet import FleetEngine
from router.guardrail import INVALID_INPUT
from router.receipts import (
    InputStore,
    InputStoreError,
    ReceiptLog,
    ReceiptLogError,
    build_receipt,
)
from router.render import Explanation, explain_decision

if TYPE_CHECKING:
    from router.replay.shadow import ShadowEvaluator

UNKNOWN_REVISION = "unknown"

# decide_many sends a large batch as several sub-batches of at most this many bundles, at most one per
# CPU at a time, so OPA evaluates them on every core (one query runs on one core). Smaller batches go
# in one round trip.
BATCH_CHUNK = 256

# What decide_many does with an unusable bundle: raise InvalidBundle for the batch, or put a denied
# decision (reason invalid-input) in its place.
OnInvalid = Literal["raise", "decision"]
ON_INVALID: tuple[OnInvalid, ...] = ("raise", "decision")

Engine = engine_mod.ManagedEngine | engine_mod.RemoteEngine | FleetEngine


class _Catalogue:
    """Reason catalogue and active policy id: asked once from the engine's policy data, else read locally."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._loaded = False
        self.reasons: dict[str, Any] = {}
        self.policy_id: str | None = None

    def load(self) -> _Catalogue:
        if not self._loaded:
            with self._lock:
                self._fill()
        return self

    def _fill(self) -> None:
        """Ask the engine (else read the local policy data) once; the caller holds the lock."""
        if not self._loaded:
            data: dict[str, Any] | None = None
            answer = self._engine.query({}, "model_router_data", "reasons")
            active = self._engine.query({}, "model_router_data", "active")
            if answer.ok and isinstance(answer.result, dict):
                data = {"reasons": answer.result, "active": active.result if active.ok else {}}
            if data is None:
                data = local_policy.policy_data()
            reasons, act = data.get("reasons"), data.get("active")
            self.reasons = reasons if isinstance(reasons, dict) else {}
            policy = act.get("policy") if isinstance(act, dict) else None
            self.policy_id = policy if isinstance(policy, str) else None
            self._loaded = True


class _LazyGuardrailContext:
    def __init__(self, catalogue: _Catalogue) -> None:
        self._catalogue = catalogue

    @property
    def reasons(self) -> dict[str, Any]:
        return self._catalogue.load().reasons

    @property
    def policy_id(self) -> str | None:
        return self._catalogue.load().policy_id


class InvalidInputDecision(Decision):
    """The fail-closed denied decision decide_many(on_invalid="decision") puts in the place of an unusable
    bundle: the policy's denied document (the fault template) with reason invalid-input, and the
    bundle's violations. No receipt is recorded for it: the receipt log records what the policy
    decided (or a fault while deciding a usable request), and this input never reached the policy, as
    `decide` refuses it with InvalidBundle."""

    __slots__ = ("violations",)

    def __init__(self, document: dict[str, Any], violations: Iterable[Violation], *, input_digest: str, source: str | None,
                 guardrail_context: Any) -> None:
        self.violations: tuple[Violation, ...] = tuple(violations)
        super().__init__(document, input_digest=input_digest, prompt_digest=None, fault=INVALID_INPUT,
                         detail="; ".join(str(v) for v in self.violations), source=source, guardrail_context=guardrail_context)


def _without_violations(bundle: Any, violations: Iterable[Violation]) -> dict[str, Any]:
    """BUNDLE with only the request members no violation names (and of request.personal, only its
    members no violation names): what the denied decision of an unusable bundle may echo."""
    request = bundle.get("request") if isinstance(bundle, dict) else None
    if not isinstance(request, dict):
        return {}
    bad = [v.path for v in violations]

    def named(prefix: str) -> bool:
        return any(p == prefix or p.startswith((prefix + ".", prefix + "[")) for p in bad)

    kept: dict[str, Any] = {}
    for key, value in request.items():
        if key == "personal" and isinstance(value, dict):
            kept[key] = {k: v for k, v in value.items() if not named(f"$.request.personal.{k}")}
        elif not named(f"$.request.{key}"):
            kept[key] = value
    return {"request": kept}


def _unusable_digest(bundle: Any) -> str:
    """The input digest of an unusable bundle: sha256 of its prompt-stripped canonical JSON, else (when it
    cannot even be stripped or canonicalised) of the empty input."""
    try:
        clean, _ = bundle_input.strip_prompt_text(bundle)
        return sha256_digest(clean)
    except (InvalidBundle, TypeError, ValueError):
        return sha256_text(b"")


class Router:
    """Decides route requests with OPA. Use as a context manager (or call `close()`)."""

    def __init__(
        self,
        *,
        opa_url: str | None = None,
        opa_token: str | None = None,
        timeout_ms: float | None = None,
        receipts_dir: str | Path | None = None,
        receipts: bool | None = None,
        receipts_key: str | Path | None = None,
        fsync: bool | None = None,
        config_file: str | Path | None = None,
        settings: Settings | None = None,
        bundle: str | Path | None = None,
        auth: bool = True,
        opa_args: Iterable[str] = (),
        opa_log: str | Path | None = None,
        validate_results: bool = True,
        agentplane: bool = False,
        agentplane_receipts: bool = False,
        evaluation_time: str | None = None,
        store_inputs: bool = True,
        shadow_policy: str | Path | None = None,
        shadow_log: str | Path | None = None,
        opa_supervisor: supervisor_mod.OpaSupervisor | None = None,
    ) -> None:
        self.settings = settings or load_settings(
            config_file,
            opa_url=opa_url,
            opa_token=opa_token,
            timeout_ms=timeout_ms,
            receipts_dir=receipts_dir,
            receipts=receipts,
            receipts_key=receipts_key,
            fsync=fsync,
        )
        s = self.settings
        self.engine: Engine
        if s.managed_opa:
            # OPA_SUPERVISOR: the managed OPA's supervisor made (and usually started) by the caller with
            # router.opa_supervisor.for_settings(settings); BUNDLE, AUTH, OPA_ARGS and OPA_LOG are its
            # arguments then (the command line starts OPA before it imports this module)
            supervisor = opa_supervisor or supervisor_mod.for_settings(
                s, bundle=Path(bundle) if bundle else None, auth=auth, opa_args=opa_args,
                log_file=Path(opa_log) if opa_log is not None else None,
            )
            self.engine = engine_mod.ManagedEngine(timeout_s=s.timeout_s, max_response_bytes=s.max_response_bytes, supervisor=supervisor,
                                                   background_start=True)
        elif len(s.opa_urls) > 1 or s.opa_revision == "newest":
            self.engine = FleetEngine(
                s.opa_urls, s.timeout_s, token=s.opa_token, expected_revision=s.opa_revision, proxy=s.opa_proxy,
                max_response_bytes=s.max_response_bytes,
            )
        else:
            assert s.opa_url  # not managed_opa: an OPA URL is named
            self.engine = engine_mod.RemoteEngine(
                s.opa_url, s.timeout_s, token=s.opa_token, expected_revision=s.opa_revision, proxy=s.opa_proxy,
                max_response_bytes=s.max_response_bytes,
            )
        log_path = s.receipts_path
        # the log's lock is waited for at most one decision timeout: a holder never hangs a decision
        self.receipt_log = (
            ReceiptLog(log_path, fsync=s.fsync, key_path=s.receipts_key, lock_timeout_s=s.timeout_s) if log_path else None
        )
        # STORE_INPUTS: keep each decision's prompt-stripped input beside the log, by inputDigest (replay);
        # stored in the receipt log's group commit, before the receipts
        self.input_store = InputStore.beside(log_path, fsync=s.fsync) if log_path and store_inputs else None
        # agentplane: evaluate the agentplane projection in each decision's own query;
        # agentplane_receipts: also append each agentplane receipt beside the receipt log
        if agentplane_receipts and not log_path:
            self.engine.close()
            raise ValueError("agentplane_receipts: the agentplane receipts are written beside the receipt log, and receipts are off")
        self.agentplane = bool(agentplane or agentplane_receipts)
        self.agentplane_log = (
            agentplane_mod.LaneReceiptLog(log_path.parent / agentplane_mod.LOG_NAME, fsync=s.fsync) if agentplane_receipts and log_path else None
        )
        self.validate_results = validate_results
        # A fixed evaluation time (tests, replay): the argument, else MODEL_ROUTER_EVALUATION_TIME;
        # otherwise every query is stamped with the router's own clock.
        self.fixed_evaluation = (
            approvals.parse_evaluation_time(evaluation_time, "evaluation_time") if evaluation_time else approvals.fixed_evaluation()
        )
        self._catalogue = _Catalogue(self.engine)
        self._guardrail_context = _LazyGuardrailContext(self._catalogue)
        # SHADOW_POLICY (a policies/ folder or a bundle archive): every decision is also evaluated under
        # it by a second managed OPA, off the caller's path; disagreements go to the shadow log
        self.shadow: ShadowEvaluator | None = None
        if shadow_policy is not None:
            # the one import here made on use: the shadow evaluator brings the replay engine and the bundle
            # builder (about 35 ms of `python -X importtime`), which no router without a shadow policy needs
            from router.replay.shadow import ShadowEvaluator

            try:
                self.shadow = ShadowEvaluator(shadow_policy, log=shadow_log or (log_path.parent / "shadow.jsonl" if log_path else None),
                                              timeout_s=s.timeout_s, fsync=s.fsync, router_factory=Router)
            except BaseException:
                self.engine.close()
                raise

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self.shadow is not None:
            self.shadow.close()
        self.engine.close()
        if self.receipt_log is not None:
            self.receipt_log.close()
        if self.input_store is not None:
            self.input_store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def receipts_path(self) -> Path | None:
        return self.receipt_log.path if self.receipt_log else None

    @property
    def guardrail_context(self) -> guardrail.ReasonCatalogue:
        """The reason catalogue and policy id this router's guardrail projections use (loaded on first read)."""
        return self._guardrail_context

    # -- decisions ---------------------------------------------------------------------------
    @staticmethod
    def prepare(bundle: Any, source: str | None = None) -> PreparedBundle:
        """Read (when given a path), strip prompt text, validate and canonicalise a bundle."""
        if isinstance(bundle, PreparedBundle):
            return bundle
        if isinstance(bundle, (str, Path)):
            return bundle_input.load(bundle)
        return bundle_input.prepare(bundle, source or "<bundle>")

    def _revision(self, answer_revision: str | None) -> str:
        return (
            answer_revision
            or self.engine.last_revision
            or getattr(self.engine, "bundle_revision", None)
            or UNKNOWN_REVISION
        )

    def _build(self, prep: PreparedBundle, answer: engine_mod.EngineResult, fault: str | None = None, detail: str = "",
               projection: dict[str, Any] | None = None) -> Decision:
        kind = expected_kind(prep.bundle)
        revision = self._revision(answer.revision)
        did = decision_id(prep.canonical, revision)
        created = utc_now()
        fault = fault or answer.fault
        detail = detail or answer.detail
        if fault is None:
            try:
                doc = with_identity(answer.result, decision_id_=did, created_at=created, revision=revision) if isinstance(answer.result, dict) else answer.result
                # first what ties the result to this request (always checked), then the decision schema
                # (the screen for non-finite numbers is skipped when the channel's decoder already did it)
                problems = (request_problems(doc, prep.bundle, screened=answer.finite)
                            if isinstance(doc, dict) and doc.get("kind") == kind else [])
                if not problems and (self.validate_results or not isinstance(doc, dict)):
                    problems = result_problems(doc, kind)
                if not problems and doc.get("kind") != kind:
                    problems = [f"$.kind: expected {kind!r}"]
            except Exception as exc:  # noqa: BLE001 - a result that cannot even be checked is not a decision
                problems = [f"the result cannot be checked: {type(exc).__name__}: {exc}"]
            if problems:
                fault, detail = engine_mod.INVALID_POLICY_RESULT, "; ".join(problems)
        if fault is not None:
            doc = fail_closed_document(kind, fault, prep.bundle, decision_id_=did, created_at=created, revision=revision)
        return Decision(
            doc,
            input_digest=prep.input_digest,
            prompt_digest=prep.prompt_digest,
            fault=fault,
            detail=detail,
            source=prep.source,
            guardrail_context=self._guardrail_context,
            projection=projection,
        )

    def _record(self, decisions: list[Decision], preps: list[PreparedBundle], stamps: list[dict[str, Any]] | None = None) -> list[Decision]:
        if self.shadow is not None:
            self.shadow.submit(decisions, preps, stamps)
        if self.receipt_log is None:
            return decisions
        issued = utc_now()
        clock = {"time": issued, "timeNs": time.time_ns()}  # recorded when the input carries no input.evaluation
        try:
            bodies = [
                build_receipt(d.document, input_digest=d.input_digest, prompt_digest=d.prompt_digest, issued_at=issued,
                              bundle=prep.bundle, evaluation=clock, lane=d.lane_summary)
                for d, prep in zip(decisions, preps, strict=True)
            ]
            # the inputs are stored in the same group commit, before the receipts (a receipt always finds its input)
            inputs = [(prep.input_digest, prep.canonical) for prep in preps] if self.input_store is not None else []
            receipts = self.receipt_log.append_many(bodies, inputs, self.input_store)
        except (ReceiptLogError, InputStoreError, OSError, KeyError, TypeError, ValueError) as exc:
            detail = f"receipt not recorded: {exc}"
            failed = []
            for d, prep in zip(decisions, preps, strict=True):
                failed.append(self._build(prep, engine_mod.EngineResult(revision=d.policy_revision), engine_mod.EVIDENCE_UNAVAILABLE, detail))
            return failed
        for d, r in zip(decisions, receipts, strict=True):
            d.receipt = r
        return decisions

    def evaluation(self) -> dict[str, Any]:
        """The evaluation stamp for the next query: the fixed time when configured, else the clock now."""
        return self.fixed_evaluation or approvals.now_evaluation()

    @staticmethod
    def _stamped(prep: PreparedBundle, evaluation: dict[str, Any]) -> dict[str, Any]:
        return {**prep.bundle, "evaluation": evaluation}

    def _with_projection(self, prep: PreparedBundle, answer: engine_mod.EngineResult) -> Decision:
        """The decision from a {decision, projection} answer (router.projection), carrying the policy's projection."""
        projection = None
        if answer.ok:
            result, projection, problems = projection_mod.split_result(answer.result)
            if problems:
                answer = engine_mod.EngineResult(revision=answer.revision, fault=engine_mod.INVALID_POLICY_RESULT,
                                                 detail=f"data.{projection_mod.PACKAGE}.{projection_mod.RULE}: " + "; ".join(problems))
            else:
                answer = engine_mod.EngineResult(result=result, revision=answer.revision, finite=answer.finite)
        return self._build(prep, answer, projection=projection)

    def _projected(self, prep: PreparedBundle, answer: engine_mod.EngineResult) -> Decision:
        """The decision from a data.model_router.agentplane.result answer, carrying its projections."""
        lane_receipt = None
        if answer.ok:
            _, lane_receipt = agentplane_mod.split_result(answer.result)
            if lane_receipt is None:
                answer = engine_mod.EngineResult(revision=answer.revision, fault=engine_mod.INVALID_POLICY_RESULT,
                                                 detail=f"data.{agentplane_mod.PACKAGE}.{agentplane_mod.RULE} is not a decision with its projection")
        decision = self._with_projection(prep, answer)
        if decision.fault is None:
            decision.agentplane = lane_receipt
        return decision

    def _finish(self, decisions: list[Decision], preps: list[PreparedBundle], stamps: list[dict[str, Any]] | None = None) -> list[Decision]:
        decisions = self._record(decisions, preps, stamps)
        if self.agentplane_log is not None:
            agentplane_mod.write_beside(self.agentplane_log, decisions)
        return decisions

    def decide(
        self, bundle: Any, *, source: str | None = None, agentplane: bool | None = None, evaluation: dict[str, Any] | None = None
    ) -> Decision:
        """Decide one bundle (a dict, or a path to a JSON file). Raises InvalidBundle for unusable input.

        AGENTPLANE (default: the router's setting) evaluates the agentplane projection in the same query.
        EVALUATION (replay only) re-uses a recorded {"time", "timeNs"} instead of the router's clock."""
        prep = self.prepare(bundle, source)
        stamp = evaluation or self.evaluation()
        stamped = self._stamped(prep, stamp)
        if self.agentplane if agentplane is None else agentplane:
            decision = self._projected(prep, self.engine.query(stamped, agentplane_mod.PACKAGE, agentplane_mod.RULE))
            return self._finish([decision], [prep], [stamp])[0]
        answer = self.engine.query(stamped, projection_mod.PACKAGE, projection_mod.RULE)
        return self._record([self._with_projection(prep, answer)], [prep], [stamp])[0]

    def decide_many(
        self, bundles: Iterable[Any], *, agentplane: bool | None = None, evaluations: list[dict[str, Any]] | None = None,
        on_invalid: OnInvalid = "raise", sources: Iterable[str] | None = None,
    ) -> list[Decision]:
        """Decide many bundles with data.model_router.batch.decisions: one OPA round trip for up to
        BATCH_CHUNK bundles; a larger batch is split into sub-batches evaluated concurrently.

        Every bundle is validated first. ON_INVALID="raise" (the default): if any is unusable,
        InvalidBundle lists all violations (each naming the bundle's source or its index) and OPA is not
        asked. ON_INVALID="decision": each unusable bundle gets, in its place, a fail-closed denied
        decision with reason invalid-input carrying its violations (InvalidInputDecision; no receipt),
        and the others are decided. SOURCES names each bundle in violations (default bundles[i]).
        AGENTPLANE as for decide (data.model_router.agentplane.results then answers each sub-batch).
        EVALUATIONS (replay only): one recorded {"time", "timeNs"} per bundle instead of one router
        clock reading for the batch.
        """
        if on_invalid not in ON_INVALID:
            raise ValueError(f"on_invalid: expected one of {', '.join(ON_INVALID)}, found {on_invalid!r}")
        items = list(bundles)
        names = list(sources) if sources is not None else [f"bundles[{i}]" for i in range(len(items))]
        if len(names) != len(items):
            raise ValueError(f"sources: expected one name per bundle ({len(items)}), found {len(names)}")
        if evaluations is not None and len(evaluations) != len(items):
            raise ValueError(f"evaluations: expected one evaluation time per bundle ({len(items)}), found {len(evaluations)}")
        preps: list[PreparedBundle | None] = []
        refused: dict[int, list[Violation]] = {}
        for i, (b, name) in enumerate(zip(items, names, strict=True)):
            try:
                preps.append(self.prepare(b, source=name))
            except InvalidBundle as exc:
                preps.append(None)
                refused[i] = exc.violations
        if refused and on_invalid == "raise":
            raise InvalidBundle([v for i in sorted(refused) for v in refused[i]])
        usable = [i for i, p in enumerate(preps) if p is not None]
        decided = iter(self._decide_prepared(
            [p for p in preps if p is not None], agentplane=agentplane,
            evaluations=[evaluations[i] for i in usable] if evaluations is not None else None,
        ))
        return [
            next(decided) if prep is not None else self.invalid_input_decision(items[i], refused[i], names[i])
            for i, prep in enumerate(preps)
        ]

    def invalid_input_decision(self, bundle: Any, violations: Iterable[Violation], source: str) -> InvalidInputDecision:
        """The denied decision (reason invalid-input) for an unusable BUNDLE (any value, None when it
        could not even be parsed) with its VIOLATIONS: the fault template's, with no receipt."""
        violations = list(violations)
        revision = self._revision(None)
        digest = _unusable_digest(bundle)
        doc = fail_closed_document(expected_kind(bundle), INVALID_INPUT, _without_violations(bundle, violations),
                                   decision_id_=decision_id(canonical(digest), revision), created_at=utc_now(), revision=revision)
        return InvalidInputDecision(doc, violations, input_digest=digest, source=source, guardrail_context=self._guardrail_context)

    def _decide_prepared(
        self, preps: list[PreparedBundle], *, agentplane: bool | None, evaluations: list[dict[str, Any]] | None
    ) -> list[Decision]:
        if not preps:
            return []
        stamps = list(evaluations) if evaluations is not None else [self.evaluation()] * len(preps)  # one time per batch
        inputs = [self._stamped(p, stamp) for p, stamp in zip(preps, stamps, strict=True)]
        chunks = [inputs[i : i + BATCH_CHUNK] for i in range(0, len(inputs), BATCH_CHUNK)]
        workers = min(len(chunks), os.cpu_count() or 1)
        project = self.agentplane if agentplane is None else agentplane
        package, rule = (agentplane_mod.PACKAGE, agentplane_mod.BATCH_RULE) if project else (projection_mod.BATCH_PACKAGE, projection_mod.BATCH_RULE)

        def ask(chunk: list[dict[str, Any]]) -> engine_mod.EngineResult:
            return self.engine.query({"bundles": chunk}, package, rule, decisions=max(1, len(chunk)))

        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-router-batch") as pool:
                answers = list(pool.map(ask, chunks))
        else:
            answers = [ask(chunk) for chunk in chunks]
        build: Callable[[PreparedBundle, engine_mod.EngineResult], Decision] = self._projected if project else self._with_projection
        decisions = [build(prep, _one_answer(answers[i // BATCH_CHUNK], i)) for i, prep in enumerate(preps)]
        return self._finish(decisions, preps, stamps) if project else self._record(decisions, preps, stamps)

    # -- explanations ------------------------------------------------------------------------
    def explain(self, bundle: Any, *, source: str | None = None) -> Explanation:
        """Decide BUNDLE and render why: the chosen route, why every other one was rejected, what would change it."""
        decision = self.decide(bundle, source=source)
        return explain_decision(decision, self._catalogue.load().reasons)


def _one_answer(answer: engine_mod.EngineResult, i: int) -> engine_mod.EngineResult:
    """Bundle I's answer in its sub-batch's ANSWER (an object keyed by the index within the sub-batch)."""
    key = str(i % BATCH_CHUNK)
    if not answer.ok:
        return answer
    if not isinstance(answer.result, dict):
        return engine_mod.EngineResult(revision=answer.revision, fault=engine_mod.INVALID_POLICY_RESULT,
                                       detail="the batch result is not an object keyed by bundle index")
    if key not in answer.result:
        return engine_mod.EngineResult(revision=answer.revision, fault=engine_mod.POLICY_UNDEFINED,
                                       detail=f"data.model_router.decision is undefined for bundles[{i}]")
    return engine_mod.EngineResult(result=answer.result[key], revision=answer.revision, finite=answer.finite)


