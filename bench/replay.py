"""Bench section `replay`: `model-router replay` of 10,000 recorded decisions under the unchanged policy.

The log is made first: the representative bundles decided once with receipts and the input store on
(fsync off), their receipts then appended again with fresh receipt ids up to 10,000; then `router.replay.core.replay` is timed end to end:
reading and verifying the log, reading and validating every stored input, building the candidate bundle
from policies/, starting its managed OPA, deciding every input at its recorded evaluation time and
comparing. The whole replay must report zero changes.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

REPLAY_TARGET_S = 180.0


def section_replay(ctx: dict) -> dict:
    from bench.harness import batch, load_bundle
    from router import Router, paths
    from router.receipts import RECEIPT_ID_PREFIX
    from router.replay.core import replay

    count = ctx.get("replay_decisions", 10_000)  # --quick: 2,000
    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-replay-"))
    try:
        bundles = batch([load_bundle(n) for n in ctx["bundles"]], len(ctx["bundles"]), "replay")
        t0 = time.perf_counter()
        with Router(receipts=True, receipts_dir=tmp / "receipts", fsync=False, timeout_ms=30000) as router:
            decisions = router.decide_many(bundles)
            # the log is filled up to COUNT receipts by recording these decisions again (fresh receipt ids):
            # a log of COUNT real receipts whose inputs are all in the store, without COUNT more evaluations
            bodies = [d.receipt for d in decisions]
            more = []
            for i in range(count - len(bodies)):
                body = dict(bodies[i % len(bodies)])
                body["receiptId"] = RECEIPT_ID_PREFIX + secrets.token_hex(12)
                more.append(body)
            for i in range(0, len(more), 2000):
                router.receipt_log.append_many(more[i:i + 2000])
        record_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = replay(tmp / "receipts", paths.POLICIES, timeout_ms=30000, router_factory=Router)
        wall = time.perf_counter() - t0
        faults = sum(1 for e in report.entries if e.after.get("fault"))
        return {
            "decisions": count, "record_s": round(record_s, 2), "replayed": report.compared, "changed": len(report.changed),
            "faults": faults, "wall_s": round(wall, 2), "per_s": round(report.compared / wall, 1) if wall else None,
            "target_s": REPLAY_TARGET_S,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_lines(r: dict) -> tuple[list[str], list[tuple[str, str, bool | None]]]:
    lines = ["", "8. Replay (model-router replay of recorded decisions under the unchanged policy)"]
    lines.append(f"   recorded {r['decisions']} decisions in {r['record_s']:.1f} s; replayed {r['replayed']} in {r['wall_s']:.1f} s "
                 f"({r['per_s']:.0f}/s), changed {r['changed']}, faults {r['faults']}")
    ok = r["replayed"] == r["decisions"] and r["changed"] == 0 and r["faults"] == 0 and r["wall_s"] <= r["target_s"]
    return lines, [(f"replay of {r['decisions']} decisions ≤ {r['target_s']:.0f} s, zero changes", f"{r['wall_s']:.1f} s, {r['changed']} changed", ok)]
