"""Shared fixtures of the replay and shadow suites: a recorded log of every example bundle, and
candidate policy trees (copies of the project's policies/ and examples/ with one value changed)."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from router import paths
from router.api import Router
from router.bundle_input import InvalidBundle
from router.config import Settings
from router.demo import example_bundles

# decision timeout of the routers these tests compare: far above any decision, so that a loaded machine
# never turns a decision into engine-timeout
SLOW_MACHINE_TIMEOUT_MS = 30000


def decided_examples(router: Router) -> dict[str, object]:
    """Example bundle file name -> its decision (bundles the schema refuses are left out)."""
    out = {}
    for path in example_bundles():
        with contextlib.suppress(InvalidBundle):
            out[path.name] = router.decide(path)
            assert out[path.name].fault is None, (path.name, out[path.name].detail)
    return out


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """A receipt log (with its input store) holding the decision of every usable example bundle."""
    folder = tmp_path_factory.mktemp("recorded") / "receipts"
    with Router(receipts_dir=folder, fsync=False, timeout_ms=SLOW_MACHINE_TIMEOUT_MS) as router:
        decisions = decided_examples(router)
    return folder, decisions


def candidate_tree(base: Path, change) -> Path:
    """A copy of policies/, examples/ and schemas/ under BASE, CHANGE(tree) applied; returns BASE/policies."""
    shutil.copytree(paths.POLICIES, base / "policies")
    shutil.copytree(paths.EXAMPLES, base / "examples")
    shutil.copytree(paths.SCHEMAS, base / "schemas")  # the schemas the policy data files declare
    change(base)
    return base / "policies"


def edit_json(path: Path, edit) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


POLICY_DOC = "examples/agent-execution-model-routing-policy.default.json"
OPTIMIZER_DOC = "examples/agent-execution-budget-resource-optimizer.default.json"


def close_high_end_share(base: Path) -> None:
    """No high-end share left in the task window (a valid policy: the contract caps the share at 0.25;
    removing an escalation reason is not, since a routing policy must allow all ten)."""
    def edit(doc):
        for window in doc["budgetPolicy"]["windows"]:
            if window["window"] == "task":
                window["highEndMaxShare"] = 0.0

    edit_json(base / OPTIMIZER_DOC, edit)


def lower_task_ceiling(base: Path) -> None:
    def edit(doc):
        for window in doc["budgetPolicy"]["windows"]:
            if window["window"] == "task":
                window["maxSpend"] = 0.3

    edit_json(base / OPTIMIZER_DOC, edit)


@pytest.fixture(scope="session")
def no_high_end_share(tmp_path_factory) -> Path:
    return candidate_tree(tmp_path_factory.mktemp("no-high-end-share"), close_high_end_share)


@pytest.fixture(scope="session")
def lower_ceiling(tmp_path_factory) -> Path:
    return candidate_tree(tmp_path_factory.mktemp("ceiling"), lower_task_ceiling)


def outcome(decision) -> tuple:
    doc = decision.to_dict()
    model = doc.get("model") or {}
    sel = doc["selected"]
    return (sel["status"], decision.route, model.get("modelRef"), sel.get("costClass"), sel.get("estimatedCost"),
            sel.get("reason"), tuple(sorted(sel.get("reasons") or [])))


def expected_changes(recorded_decisions: dict, policy: Path, tmp: Path) -> dict[str, object]:
    """The independent oracle: each example bundle decided directly (Router.decide, no store, no
    receipt) under POLICY; the bundles whose outcome differs from the recorded decision."""
    from router.replay.policy import build

    source = build(policy, tmp, "oracle")
    changed = {}
    # a generous timeout: an engine-timeout under a loaded machine would be a "change" the policy never made
    with Router(settings=Settings(receipts=False, timeout_ms=SLOW_MACHINE_TIMEOUT_MS), bundle=source.archive) as router:
        for name, before in recorded_decisions.items():
            after = router.decide(paths.EXAMPLES / "bundles" / name)
            assert after.fault is None, (name, after.detail)
            if outcome(after) != outcome(before):
                changed[name] = (before, after)
    return changed
