"""Every text rendering of a decision: `explain`, tables, decision rows, terminal-safe text.

Used by the command line (router.cli), `model-router demo` (router.demo) and the impact reports
(router.replay.render). It only formats what a decision already says: the outcome, the reasons and
what would change them are the policy's (the decision document, its projection and the reason
catalogue). Nothing here decides anything.

    explain_decision(decision, reasons) -> Explanation   the chosen route, every rejected one, the fixes
    table(rows, headers) -> str                          a plain text table, control characters escaped
    decision_row(name, decision) -> [name, route, status, reason]
    escape_controls(text) -> str                         control/format characters shown as escapes
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from router import model_explain
from router.contracts.errors import Violation
from router.decision import Decision
from router.guardrail import describe_reason, remediation_for

# A guardrail verdict of this severity is the policy's unqualified allow (model_router.projection.guardrail:
# "An `allow` is always `info`"): the request got what it asked for, so there is nothing to change overall.
NOTHING_TO_CHANGE_SEVERITY = "info"


@dataclass(frozen=True)
class Explanation:
    """A decision with every candidate's reasons rendered as text."""

    decision: Decision
    lines: tuple[str, ...]
    candidates: tuple[dict[str, Any], ...]
    changes: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.to_dict(), "candidates": list(self.candidates), "whatWouldChange": list(self.changes)}

    def __str__(self) -> str:
        return self.text


def escape_controls(text: str) -> str:
    """TEXT with control and format characters (\\r, ESC, bidi overrides, ...) shown as escapes, so
    that a field cannot move the cursor, recolour or rewrite what a terminal shows."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or unicodedata.category(ch) == "Zs" else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """ROWS under HEADERS as left-aligned columns (every cell escaped for the terminal)."""
    cells = [[escape_controls(str(x)) for x in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *cells, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*row) for row in cells]
    return "\n".join(line.rstrip() for line in out)


def decision_row(name: str, decision: Decision) -> list[str]:
    """[name, lane or target (or -), status, reason]: one row of a decision table."""
    return [name, decision.route or "-", decision.status, decision.reason]


def unusable_row(name: str, violations: Sequence[Violation], check: str) -> list[str]:
    """A decision-table row for a bundle refused as unusable input: its first violation, shortened."""
    first = violations[0]
    return [name, "-", "unusable input", f"{first.path}: expected {first.expected}"[:60], check]


def batch_summary(decisions: Iterable[Decision], total: int, refused: int, mismatches: int) -> list[str]:
    """The lines under a table of TOTAL bundles: the count per status, the refused ones, the mismatches."""
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.status] = counts.get(d.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    if refused:
        summary += f", {refused} refused as unusable input"
    lines = [f"{total} bundles: {summary}; {mismatches} not as expected"]
    if refused:
        lines.append("* refused before OPA was asked: the bundle fails the input schema (decide exits 2); the policy denies it too")
    return lines


def _reason_texts(reasons: dict[str, Any], codes: Iterable[str]) -> list[dict[str, Any]]:
    return [{"code": c, "text": describe_reason(reasons, c), "remediation": remediation_for(reasons, c)} for c in codes]


def _needs_overall_change(decision: Decision) -> bool:
    """Whether the outcome is other than the unqualified allow (the policy's guardrail verdict says so;
    a decision made without the policy's projection is assumed to need one)."""
    verdict = decision.guardrail_verdict
    return not (isinstance(verdict, dict) and verdict.get("severity") == NOTHING_TO_CHANGE_SEVERITY)


def _verdict_text(name: str, ok: bool, chosen: str | None, decision: Decision) -> str:
    if name == chosen and decision.permitted:
        return "chosen"
    if ok and decision.is_personal:
        return "admissible, not needed (an earlier target won)" if decision.permitted else "admissible"
    if ok and decision.permitted:
        return f"acceptable, ranked after {chosen} by the optimizer's tie-breakers"
    if ok and name == decision.suggested_lane:
        return "acceptable; would be chosen if requested explicitly"
    if ok:
        return "acceptable, not chosen"
    return "rejected"


def _header(decision: Decision, doc: dict[str, Any], describe: Callable[[str], str]) -> list[str]:
    request = doc.get("input") or {}
    what = "target" if decision.is_personal else "lane"
    lines = [f"request {request.get('requestId')}: {decision.kind}"]
    if decision.is_personal:
        personal = request.get("personal") or {}
        lines.append(f"  binding {doc.get('bindingRef')}, route {doc.get('routeId') or personal.get('routeId')}, task {request.get('taskClass')}")
    else:
        lines.append(
            f"  task {request.get('taskClass')}, stage {request.get('stage')}, risk {request.get('riskClass')}, "
            f"requested lane {request.get('requestedLane') or '(none)'}"
        )
    if decision.route is not None:
        lines.append(f"decision: {decision.status} {what} {decision.route} — {describe(decision.reason)}")
    else:
        lines.append(f"decision: {decision.status}, no {what} — {describe(decision.reason)}")
    if decision.fault:
        lines.append(f"  fault: {decision.detail}")
    if decision.suggested_lane:
        lines.append(f"  the lane that would be chosen if requested explicitly: {decision.suggested_lane}")
    missing = doc.get("missingSignals")
    if missing:
        lines.append("  missing signals: " + ", ".join(str(m) for m in missing))
    return lines


def explain_decision(decision: Decision, reasons: dict[str, Any]) -> Explanation:
    """DECISION explained with the reason catalogue REASONS: the chosen route, why every other one was
    rejected, and what would change the outcome."""
    doc = decision.to_dict()

    def describe(code: str) -> str:
        return describe_reason(reasons, code)

    lines = _header(decision, doc, describe)
    candidates: list[dict[str, Any]] = []
    changes: list[str] = []
    chosen = decision.route
    what = "target" if decision.is_personal else "lane"
    for approval in doc.get("approvals") or []:  # the policy's verdict on each approval presented
        verdict, expires = approval.get("verdict"), approval.get("expiresAt")
        lines.append(f"  approval {approval.get('kind')} {approval.get('ref')}: {describe(verdict)}")
        fix = remediation_for(reasons, verdict) if verdict != "valid" else None
        if fix:
            changes.append(f"{approval.get('kind')}: {fix}" + (f" at {expires}" if verdict.endswith(":expired") and expires else ""))
    items: list[tuple[str, bool, tuple[str, ...], float | None, str | None]] = (
        [(t.target, t.admissible, t.reasons, None, None) for t in decision.targets]
        if decision.is_personal
        else [(c.lane, c.feasible, c.reasons, c.estimated_cost, c.cost_class) for c in decision.candidates]
    )
    if items:
        lines.append("targets:" if decision.is_personal else "candidates:")
    for name, ok, codes, cost, cost_class in items:
        texts = _reason_texts(reasons, codes)
        is_chosen = name == chosen and decision.permitted
        cost_text = f" (estimated cost {cost}, {cost_class})" if cost is not None else ""
        lines.append(f"  {name:<15} {_verdict_text(name, ok, chosen, decision)}{cost_text}")
        if not is_chosen:
            lines.extend(f"      - {t['text']}" for t in texts if t["code"] != "feasible")
        candidates.append({what: name, "chosen": is_chosen, "acceptable": ok, "estimatedCost": cost, "costClass": cost_class, "reasons": texts})
        if not ok:
            fixes = [t["remediation"] for t in texts if t["remediation"]]
            if fixes:
                changes.append(f"{name}: " + "; ".join(dict.fromkeys(fixes)))
    if _needs_overall_change(decision):
        fix = remediation_for(reasons, decision.reason)
        if fix:
            changes.insert(0, f"{'the fault' if decision.fault else 'overall'}: {fix}")
    # the concrete-model part (model, fallbacks, blocked candidates), when the decision has one
    lines.extend(model_explain.lines(doc, describe))
    if changes:
        lines.append("what would change the outcome:")
        lines.extend(f"  - {c}" for c in changes)
    return Explanation(decision, tuple(lines), tuple(candidates), tuple(changes))
