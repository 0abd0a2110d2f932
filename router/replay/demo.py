"""`make replay-demo`: record the example bundles' decisions, change one documented policy value in a
temporary copy of the policies, replay the log under the copy, and print the impact.

The change: the task budget window's ceiling, `budgetPolicy.windows[window=task].maxSpend` in
examples/agent-execution-budget-resource-optimizer.default.json, lowered from its value to 0.3 (USD).
The decisions are recorded at the examples' fixed evaluation time (the time their approval tokens were
issued for). The HTML report is written to build/replay-demo/impact.html.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from router import paths
from router.api import Router
from router.approvals import FIXTURE_EVALUATION_TIME
from router.bundle_input import InvalidBundle
from router.demo import example_bundles
from router.replay import render
from router.replay.core import replay

OPTIMIZER = "examples/agent-execution-budget-resource-optimizer.default.json"
NEW_TASK_CEILING = 0.3
OUT = paths.BUILD / "replay-demo"


def lower_task_ceiling(tree: Path, value: float = NEW_TASK_CEILING) -> float | None:
    """Set the task window's maxSpend in TREE's optimizer document to VALUE; return the old value (None: no task window)."""
    doc_path = tree / OPTIMIZER
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    old: float | None = None
    for window in doc["budgetPolicy"]["windows"]:
        if window["window"] == "task":
            old, window["maxSpend"] = window["maxSpend"], value
    doc_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return old


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="model-router-replay-demo-") as tmp:
        base = Path(tmp)
        recorded = 0
        with Router(receipts_dir=base / "receipts", fsync=False, evaluation_time=FIXTURE_EVALUATION_TIME) as router:
            for bundle in example_bundles():
                try:
                    router.decide(bundle)
                    recorded += 1
                except InvalidBundle:
                    pass
        print(f"recorded {recorded} decisions of the example bundles (evaluation time {FIXTURE_EVALUATION_TIME})")
        shutil.copytree(paths.POLICIES, base / "candidate" / "policies")
        shutil.copytree(paths.EXAMPLES, base / "candidate" / "examples")
        shutil.copytree(paths.SCHEMAS, base / "candidate" / "schemas")
        old = lower_task_ceiling(base / "candidate")
        print(f"candidate policy: {OPTIMIZER} budgetPolicy.windows[task].maxSpend {old} -> {NEW_TASK_CEILING}")
        print("$ model-router replay <receipts> --policy <candidate>/policies --fail-on more-permissive\n")
        report = replay(base / "receipts", base / "candidate" / "policies", router_factory=Router)
        code = report.apply_gate(None, ("more-permissive",))
        report.source = "the example bundles' receipt log"
        report.candidate["policy"] = f"policies/ with the task ceiling at {NEW_TASK_CEILING}"
        print(render.text(report))
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "impact.html").write_text(render.html(report), encoding="utf-8")
        print(f"\nHTML report: {paths.shown(OUT / 'impact.html')}; gate exit code {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
