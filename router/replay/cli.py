"""`model-router replay` and `model-router shadow report`.

Exit codes: 0 the report was made and the gate (if any) passed; 3 the gate failed (more changed
decisions than --max-changed, or a more permissive decision with --fail-on more-permissive);
2 unusable input (the log, the store, a policy, or an option); 1 internal error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from router.api import Router
from router.replay import render
from router.replay.core import ReplayError, Report, parse_max_changed, replay
from router.replay.policy import PolicySourceError
from router.replay.shadow import report_from_log

FORMATS = ("text", "json", "html")
EXIT_UNUSABLE = 2

F = TypeVar("F", bound=Callable[..., Any])


def _emit(report: Report, fmt: str, out: str | None, limit: int | None) -> None:
    body = {"text": lambda r: render.text(r, limit), "json": render.as_json, "html": render.html}[fmt](report)
    if out:
        Path(out).write_text(body + ("" if body.endswith("\n") else "\n"), encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(body)


def _gate_options(fn: F) -> F:
    fn = click.option("--fail-on", "fail_on", multiple=True, type=click.Choice(["more-permissive"]),
                      help="fail (exit 3) when any decision becomes more permissive: a denied/deferred decision the candidate selects, or a higher lane")(fn)
    fn = click.option("--max-changed", metavar="N|P%", help="fail (exit 3) when more than N decisions (or P percent of them) change")(fn)
    fn = click.option("--limit", type=click.IntRange(min=1), help="text format: list at most this many changed decisions")(fn)
    fn = click.option("--out", type=click.Path(dir_okay=False), help="write the report to this file instead of standard output")(fn)
    fn = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)(fn)
    return fn


@click.command("replay")
@click.argument("log", type=click.Path())
@click.option("--policy", "policy", required=True, metavar="DIR|BUNDLE", help="the candidate policy: a policies/ folder (model_router/ Rego and data/) or a bundle archive")
@click.option("--baseline", metavar="DIR|BUNDLE", help="compare with the same inputs decided under this policy (default: the recorded decisions)")
@click.option("--timeout-ms", type=float, help="per-decision timeout of the replay OPA (default 500)")
@click.option("--no-verify", is_flag=True, help="do not verify the receipt log's chain and signed head first")
@_gate_options
def replay_command(log: str, policy: str, baseline: str | None, timeout_ms: float | None, no_verify: bool, fmt: str,
                   out: str | None, limit: int | None, max_changed: str | None, fail_on: tuple[str, ...]) -> None:
    """Re-decide every recorded input of LOG (a receipt log or its folder) under a candidate policy.

    Each input is read from the store beside the log and decided at its recorded evaluation time by a
    separate managed OPA serving the candidate policy; the report counts the changes per class (status,
    lane/target, model, cost, reasons), lists the changed decisions, and estimates the cost delta per
    budget window.
    """
    try:
        parse_max_changed(max_changed)
        report = replay(log, policy, baseline, timeout_ms=timeout_ms, check_log=not no_verify, router_factory=Router)
    except (ReplayError, PolicySourceError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    if not report.entries and report.total:
        _emit(report, fmt, out, limit)
        click.echo(f"error: none of the {report.total} receipts could be replayed (no stored inputs)", err=True)
        sys.exit(EXIT_UNUSABLE)
    code = report.apply_gate(max_changed, tuple(fail_on))
    _emit(report, fmt, out, limit)
    sys.exit(code)


@click.group("shadow")
def shadow_group() -> None:
    """Shadow evaluation: the disagreements of a candidate policy recorded beside the receipt log."""


@shadow_group.command("report")
@click.argument("log", type=click.Path())
@_gate_options
def shadow_report(log: str, fmt: str, out: str | None, limit: int | None, max_changed: str | None, fail_on: tuple[str, ...]) -> None:
    """Summarise the shadow log LOG (shadow.jsonl, or the folder holding it) like replay."""
    try:
        parse_max_changed(max_changed)
        report = report_from_log(log)
    except ReplayError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    code = report.apply_gate(max_changed, tuple(fail_on))
    _emit(report, fmt, out, limit)
    sys.exit(code)
