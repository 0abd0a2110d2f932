"""Assemble the example input bundles and their expected outcomes into OPA test data.

Every `examples/bundles/<case>.expected.json` is paired with `examples/bundles/<case>.json` (the input
bundle) and written to `build/data/model_router_fixtures/data.json`:

    {"cases": {"<case>": {"input": {...bundle...}, "expected": {...expected outcome...}}}}

mounted at `data.model_router_fixtures`, where `policies/model_router/fixtures/fixtures_test.rego` decides every
case through `data.model_router.decision` (`opa test`), and `tests/policy/test_fixtures.py` does the same
against a running OPA server. Both decision families share the format: `family` is `agent` (expected
`status`, `lane`, `reasonsInclude`, optional `suggestedLane`) or `personal` (expected `status`, `target`,
`reasonsInclude`, optional `profileRef`). An optional `"schemaValidInput": false` marks a case whose bundle
deliberately violates the input schema, to show the policy failing closed on its own.

Every case is decided at the fixed evaluation time `router.approvals.FIXTURE_EVALUATION_TIME` (the
input gets the `evaluation` member the router would stamp), so the committed approval tokens keep
working whatever today's date is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from router import approvals, paths
from router.data_views import write_data_root

DATA_ROOT = "model_router_fixtures"
BUNDLES = paths.EXAMPLES / "bundles"
EXPECTED_SUFFIX = ".expected.json"
FAMILIES = {"agent": ("status", "lane", "reasonsInclude"), "personal": ("status", "target", "reasonsInclude")}


class FixtureError(ValueError):
    """A fixture pair is incomplete or malformed (names the file, the JSON path and what was expected)."""


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _check_expected(path: Path, expected: Any) -> None:
    if not isinstance(expected, dict):
        raise FixtureError(f"{path}: $: expected an object")
    family = expected.get("family")
    if family not in FAMILIES:
        raise FixtureError(f"{path}: $.family: expected one of {sorted(FAMILIES)}, got {family!r}")
    for key in FAMILIES[family]:
        if key not in expected:
            raise FixtureError(f"{path}: $.{key}: required for family {family!r}")
    reasons = expected["reasonsInclude"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) and r for r in reasons):
        raise FixtureError(f"{path}: $.reasonsInclude: expected an array of reason codes")


def cases(bundles_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every fixture case in bundles_dir: {case: {"input": bundle, "expected": expected}}."""
    bundles_dir = bundles_dir or BUNDLES
    out: dict[str, dict[str, Any]] = {}
    for expected_path in sorted(bundles_dir.glob(f"*{EXPECTED_SUFFIX}")):
        name = expected_path.name[: -len(EXPECTED_SUFFIX)]
        expected = _load(expected_path)
        _check_expected(expected_path, expected)
        bundle_path = expected_path.with_name(f"{name}.json")
        bundle = _load(bundle_path)
        if not isinstance(bundle, dict) or bundle.get("kind") != "RouteInputBundle":
            raise FixtureError(f"{bundle_path}: $.kind: expected \"RouteInputBundle\"")
        stamp = approvals.parse_evaluation_time(approvals.FIXTURE_EVALUATION_TIME, "FIXTURE_EVALUATION_TIME")
        out[name] = {"input": {**bundle, "evaluation": stamp}, "expected": expected}
    return out


def write(out_dir: Path | None = None) -> Path:
    """Write data.json under OUT_DIR/model_router_fixtures/ (the layout OPA loads); return its path."""
    return write_data_root(out_dir or paths.BUILD / "data", DATA_ROOT, {"cases": cases()})


if __name__ == "__main__":
    try:
        print(write())
    except FixtureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
