"""`replay`: re-decide every recorded input under a candidate policy and report what changes.

For each receipt in the log the input is read from the input store beside the log (by `inputDigest`,
checked against it), validated again, and decided by a second managed OPA serving the candidate policy
at the receipt's recorded evaluation time (`evaluation.time` / `timeNs`, as the policy saw it). The
baseline is the recorded decision, or the same inputs decided under a baseline policy (a third managed
OPA). Receipts whose input is not in the store (recorded with input storage off, or before it existed)
are counted as not replayable and listed.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from router import approvals, bundle_input
from router.config import Settings
from router.decision import JSONObject
from router.receipts import LOG_NAME, InputStore, InputStoreError, store_folder, verify
from router.receipts.build import strict_loads
from router.receipts.verify import MAX_LINE, UnreadableLog
from router.replay import compare
from router.replay.policy import PolicySource, build

if TYPE_CHECKING:
    from router.api import Router

# makes the Router that serves a policy (router.api.Router itself); the caller passes it, since
# router.api imports the replay package (Router(shadow_policy=...)) and replay must not import it back
RouterFactory = Callable[..., "Router"]

EXIT_OK, EXIT_UNUSABLE, EXIT_GATE = 0, 2, 3


class ReplayError(ValueError):
    """The log, the store or a policy cannot be used for replay (names the file and what was expected)."""


def log_file(path: str | Path) -> Path:
    target = Path(path)
    return target / LOG_NAME if target.is_dir() else target


def read_receipts(log: Path) -> list[tuple[int, JSONObject]]:
    """(line number, receipt) for every line of LOG; ReplayError naming the line when one is not a receipt."""
    out: list[tuple[int, JSONObject]] = []
    try:
        with open(log, "rb") as fh:
            for number, raw in enumerate(fh, 1):
                raw = raw.rstrip(b"\n")
                if not raw:
                    continue
                if len(raw) > MAX_LINE:
                    raise ReplayError(f"{log}: line {number}: expected a receipt of at most {MAX_LINE} bytes")
                try:
                    receipt = strict_loads(raw)
                except (ValueError, RecursionError):
                    raise ReplayError(f"{log}: line {number}: expected a JSON receipt") from None
                if not isinstance(receipt, dict) or receipt.get("kind") != "RouteDecisionReceipt":
                    raise ReplayError(f"{log}: line {number}: $.kind: expected RouteDecisionReceipt")
                out.append((number, receipt))
    except FileNotFoundError:
        raise ReplayError(f"{log}: receipt log not found") from None
    except IsADirectoryError:
        raise ReplayError(f"{log}: expected a receipt log file (or its folder)") from None
    return out


def recorded_evaluation(receipt: JSONObject, where: str) -> JSONObject:
    """The OPA input's `evaluation` as recorded: {"time", "timeNs"}."""
    ev = receipt.get("evaluation")
    if not isinstance(ev, dict) or not isinstance(ev.get("time"), str):
        raise ReplayError(f"{where}: $.evaluation.time: expected the recorded evaluation time")
    ns = ev.get("timeNs")
    if isinstance(ns, int) and not isinstance(ns, bool):
        return {"time": ev["time"], "timeNs": ns}
    try:
        stamp = approvals.parse_evaluation_time(ev["time"], f"{where}: $.evaluation.time")
    except approvals.ApprovalError as exc:
        raise ReplayError(str(exc)) from None
    return {"time": ev["time"], "timeNs": stamp["timeNs"]}


def parse_max_changed(text: str | None) -> tuple[float, bool] | None:
    """'N' -> (N, False); 'P%' -> (P, True); None -> None."""
    if text is None:
        return None
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        value = -1.0
    if value < 0 or (not percent and value != int(value)) or (percent and value > 100):
        raise ReplayError(f"--max-changed: expected a count N or a percentage P% (0-100), found {text!r}")
    return value, percent


@dataclass
class Entry:
    line: int
    receipt_id: str | None
    decision_id: str | None
    request: JSONObject
    evaluation: JSONObject
    input_digest: str | None
    before: JSONObject
    after: JSONObject
    classes: list[str]
    more_permissive: str | None

    def to_dict(self) -> JSONObject:
        return {
            "line": self.line, "receiptId": self.receipt_id, "decisionId": self.decision_id,
            "requestId": self.request.get("requestId"), "request": self.request, "evaluation": self.evaluation,
            "inputDigest": self.input_digest, "before": self.before, "after": self.after,
            "classes": self.classes, "morePermissive": self.more_permissive,
        }


@dataclass
class Report:
    mode: str  # "replay" or "shadow"
    source: str
    candidate: JSONObject
    baseline: JSONObject
    total: int = 0
    entries: list[Entry] = field(default_factory=list)  # every compared decision
    skipped: list[JSONObject] = field(default_factory=list)  # receipts without a usable stored input
    log_check: JSONObject | None = None
    gate: JSONObject | None = None

    @property
    def compared(self) -> int:
        return len(self.entries)

    @property
    def changed(self) -> list[Entry]:
        return [e for e in self.entries if e.classes]

    def class_counts(self) -> dict[str, int]:
        counts = Counter(c for e in self.entries for c in e.classes)
        return {c: counts.get(c, 0) for c in compare.CLASSES}

    def permissive_count(self) -> int:
        return sum(1 for e in self.entries if e.more_permissive)

    def cost_windows(self) -> list[JSONObject]:
        """Estimated cost before and after per budget window (the day window per evaluation date)."""
        rows: dict[tuple[str, str], JSONObject] = {}
        for e in self.entries:
            names = list(dict.fromkeys([*e.before.get("windows", {}), *e.after.get("windows", {})]))
            for name in names:
                period = e.evaluation.get("time", "")[:10] if name == "day" else "all"
                row = rows.setdefault((name, period), {
                    "window": name, "period": period, "decisions": 0, "before": 0.0, "after": 0.0,
                    "maxSpendBefore": e.before.get("windows", {}).get(name), "maxSpendAfter": e.after.get("windows", {}).get(name),
                })
                row["decisions"] += 1
                row["before"] += compare.spend(e.before)
                row["after"] += compare.spend(e.after)
        out: list[JSONObject] = []
        for row in rows.values():
            row["before"], row["after"] = round(row["before"], 6), round(row["after"], 6)
            row["delta"] = round(row["after"] - row["before"], 6)
            out.append(row)
        order = {"task": 0, "session": 1, "day": 2}
        return sorted(out, key=lambda r: (order.get(r["window"], 9), r["window"], r["period"]))

    def cost_total(self) -> dict[str, float]:
        before = round(sum(compare.spend(e.before) for e in self.entries), 6)
        after = round(sum(compare.spend(e.after) for e in self.entries), 6)
        return {"before": before, "after": after, "delta": round(after - before, 6)}

    def apply_gate(self, max_changed: str | None = None, fail_on: tuple[str, ...] = ()) -> int:
        limit = parse_max_changed(max_changed)
        failures: list[str] = []
        changed = len(self.changed)
        if limit is not None:
            value, percent = limit
            allowed = value * self.compared / 100.0 if percent else value
            if changed > allowed:
                failures.append(f"{changed} changed decisions, more than --max-changed {max_changed}")
        if "more-permissive" in fail_on and self.permissive_count():
            failures.append(f"{self.permissive_count()} more permissive decisions (--fail-on more-permissive)")
        exit_code = EXIT_GATE if failures else EXIT_OK
        self.gate = {"maxChanged": max_changed, "failOn": list(fail_on), "failures": failures, "passed": not failures,
                     "exitCode": exit_code}
        return exit_code

    def to_dict(self) -> JSONObject:
        return {
            "kind": "PolicyChangeImpactReport" if self.mode == "replay" else "ShadowDisagreementReport",
            "mode": self.mode,
            "source": self.source,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "logCheck": self.log_check,
            "summary": {
                "receipts": self.total, "compared": self.compared, "notReplayable": len(self.skipped),
                "changed": len(self.changed), "unchanged": self.compared - len(self.changed),
                "classes": self.class_counts(), "morePermissive": self.permissive_count(),
            },
            "cost": {"total": self.cost_total(), "windows": self.cost_windows()},
            "changed": [e.to_dict() for e in self.changed],
            "notReplayable": self.skipped,
            "gate": self.gate,
        }


def _router(source: PolicySource, timeout_ms: float | None, factory: RouterFactory) -> Router:
    settings = Settings(receipts=False, timeout_ms=timeout_ms or Settings().timeout_ms)
    return factory(settings=settings, bundle=source.archive, store_inputs=False)


def lane_rank(router: Router) -> dict[str, int] | None:
    """data.model_router.agent.lanes.rank under the router's policy (None when it has none)."""
    answer = router.engine.query({}, compare.RANK_PACKAGE, compare.RANK_RULE)
    rank: dict[str, int] | None = answer.result if answer.ok and isinstance(answer.result, dict) else None
    return rank


def _decide(router: Router, preps: list[bundle_input.PreparedBundle], evaluations: list[JSONObject]) -> list[JSONObject]:
    if not preps:
        return []
    start_error = getattr(router.engine, "start_error", None)
    if start_error:
        raise ReplayError(f"the managed OPA for the policy did not start: {start_error}")
    return [compare.from_document(d.document) | {"fault": d.fault} for d in router.decide_many(preps, evaluations=evaluations)]


def replay(log: str | Path, policy: str | Path, baseline: str | Path | None = None, *, timeout_ms: float | None = None,
           check_log: bool = True, router_factory: RouterFactory) -> Report:
    """Re-decide every recorded input of LOG under POLICY (and BASELINE, default: the recorded decision).

    ROUTER_FACTORY makes the Router serving each policy (pass router.api.Router: the replay package
    never imports router.api, which imports it for Router(shadow_policy=...))."""
    factory = router_factory
    path = log_file(log)
    receipts = read_receipts(path)
    log_check = None
    if check_log:
        try:
            report = verify(path)
        except UnreadableLog as exc:
            raise ReplayError(str(exc)) from None
        if not report.ok:
            raise ReplayError(f"{path}: the receipt log does not verify ({report}); check it with `model-router receipts verify {path}`")
        log_check = {"verified": True, "receipts": report.receipts}
    store = InputStore(store_folder(path))
    usable: list[tuple[int, JSONObject, bundle_input.PreparedBundle, JSONObject]] = []
    skipped: list[JSONObject] = []
    for line, receipt in receipts:
        where = f"{path}: line {line}"
        digest = receipt.get("inputDigest")
        request = receipt.get("request") or {}
        try:
            evaluation = recorded_evaluation(receipt, where)
            value = store.get(digest)
            prep = bundle_input.prepare(value, str(store.path_of(digest)))
        except (InputStoreError, bundle_input.InvalidBundle) as exc:
            skipped.append({"line": line, "receiptId": receipt.get("receiptId"), "requestId": request.get("requestId"),
                            "inputDigest": digest, "why": str(exc).splitlines()[0]})
            continue
        usable.append((line, receipt, prep, evaluation))
    with tempfile.TemporaryDirectory(prefix="model-router-replay-") as tmp:
        candidate = build(policy, Path(tmp), "candidate")
        base = build(baseline, Path(tmp), "baseline") if baseline is not None else None
        preps = [u[2] for u in usable]
        evaluations = [u[3] for u in usable]
        with _router(candidate, timeout_ms, factory) as router:
            after = _decide(router, preps, evaluations)
            rank = lane_rank(router)
        if base is not None:
            with _router(base, timeout_ms, factory) as router:
                before = _decide(router, preps, evaluations)
        else:
            before = [compare.from_receipt(r) for _, r, _, _ in usable]
    out = Report(
        mode="replay", source=str(path),
        candidate={"policy": candidate.given, "revision": candidate.revision},
        baseline={"policy": base.given, "revision": base.revision} if base else {"policy": None, "recorded": True},
        total=len(receipts), skipped=skipped, log_check=log_check,
    )
    for (line, receipt, prep, evaluation), b, a in zip(usable, before, after, strict=True):
        out.entries.append(Entry(
            line=line, receipt_id=receipt.get("receiptId"), decision_id=receipt.get("decisionId"),
            request=receipt.get("request") or {}, evaluation=evaluation, input_digest=prep.input_digest,
            before=b, after=a, classes=compare.classes(b, a), more_permissive=compare.more_permissive(b, a, rank),
        ))
    return out
