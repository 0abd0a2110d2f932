"""`model-router demo`: decide every example bundle with the managed OPA, print a compact table
(bundle, route, status, reason, and whether it matches the bundle's .expected.json), then one
decision in full. Receipts go to build/demo-receipts/ unless a receipts directory is configured.

Whether a decision is as expected is the policy's comparison (model_router.fixtures, via
router.expected), the one `opa test` and the pytest fixture tests use."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from router import approvals, fault_template, paths
from router import expected as expected_mod
from router.api import Router
from router.bundle_input import InvalidBundle
from router.config import load_settings
from router.decision import Decision
from router.receipts import ReceiptLog, ReceiptLogError, head_path, verify
from router.render import batch_summary, decision_row, table, unusable_row

DEMO_RECEIPTS = paths.BUILD / "demo-receipts"


def example_bundles(folder: Path | None = None) -> list[Path]:
    folder = folder or paths.EXAMPLES / "bundles"
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json"))


def matches(engine: Any, decision: Decision, expected: dict[str, Any]) -> bool:
    """Whether DECISION is as EXPECTED (the policy's comparison, asked of ENGINE)."""
    return expected_mod.problems(engine, decision.to_dict(), expected) == []


def refusal_expected(expected: dict[str, Any] | None) -> bool:
    """Whether an example expects its bundle to be refused as unusable input: it is marked schema-invalid
    and its expected status is one that does not permit the request."""
    return (expected is not None and expected.get("schemaValidInput") is False
            and expected.get("status") not in fault_template.permitting_statuses())


def _rotate_unsigned(log: Path | None) -> None:
    """The demo's own log, written by a version without signed heads, is signed and moved aside."""
    if log is None or not log.is_file() or head_path(log).exists() or log.stat().st_size == 0:
        return
    with contextlib.suppress(ReceiptLogError):  # the decisions then say why no receipt was recorded
        ReceiptLog(log).rotate()


def run(*, full_name: str | None = None, config_file: str | Path | None = None, opa_url: str | None = None,
        timeout_ms: float | None = None, receipts_dir: str | Path | None = None, no_receipts: bool = False,
        folder: Path | None = None) -> int:
    """Decide every example bundle in FOLDER (default examples/bundles) and print the demo; the exit code:
    0 every decision as expected, 1 some not, 2 no example bundles."""
    bundles = example_bundles(folder)
    if not bundles:
        click.echo("no example bundles found under examples/bundles/", err=True)
        return 2
    settings = load_settings(config_file, opa_url=opa_url, timeout_ms=timeout_ms, receipts_dir=receipts_dir,
                             receipts=False if no_receipts else None)
    if receipts_dir is None and settings.receipts and not settings.receipts_dir:
        settings = replace(settings, receipts_dir=DEMO_RECEIPTS)
        _rotate_unsigned(settings.receipts_path)
    rows: list[list[str]] = []
    decisions: dict[str, Decision] = {}
    mismatches = refused = 0
    # the examples carry approval tokens issued for the fixed evaluation time they are decided at
    fixed = None if os.environ.get(approvals.EVALUATION_TIME_ENV) else approvals.FIXTURE_EVALUATION_TIME
    with Router(settings=settings, evaluation_time=fixed) as router:
        click.echo(f"engine: {router.engine.describe}")
        for path in bundles:
            expected_file = path.with_name(path.stem + ".expected.json")
            expected = json.loads(expected_file.read_text(encoding="utf-8")) if expected_file.exists() else None
            try:
                decision = router.decide(path)
            except InvalidBundle as exc:
                refused_as_expected = refusal_expected(expected)
                rows.append(unusable_row(path.name, exc.violations, "yes*" if refused_as_expected else "NO"))
                refused += 1
                mismatches += 0 if refused_as_expected else 1
                continue
            decisions[path.name] = decision
            check = "-"
            if expected is not None:
                ok = matches(router.engine, decision, expected)
                check = "yes" if ok else "NO"
                mismatches += 0 if ok else 1
            rows.append([*decision_row(path.name, decision), check])
        click.echo(table(rows, ["bundle", "lane/target", "status", "reason", "as expected"]))
        click.echo("\n" + "\n".join(batch_summary(decisions.values(), len(bundles), refused, mismatches)))
        if decisions:
            permitted = [n for n, d in decisions.items() if d.permitted]
            name = full_name if full_name in decisions else (permitted or list(decisions))[0]
            if full_name and full_name not in decisions:
                click.echo(f"(no decided bundle named {full_name}; showing {name})")
            click.echo(f"\ndecision for {name} in full:")
            click.echo(json.dumps(decisions[name].to_dict(), indent=2))
        if router.receipts_path is not None and router.receipts_path.exists():
            shown = router.receipts_path
            with contextlib.suppress(ValueError):  # shown relative to the working folder when inside it
                shown = shown.resolve().relative_to(Path.cwd().resolve())
            click.echo(f"\nreceipts: {shown}: {verify(router.receipts_path)}")
    return 0 if mismatches == 0 else 1
