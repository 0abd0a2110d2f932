"""Soak (loopback only, bounded): several threads and several processes decide concurrently for a fixed
count, all writing one receipt log. Afterwards the receipt count equals the decision count, the chain
verifies, every decision matches the reference decision for its bundle, and no OPA or Python process
is left behind (checked through /proc)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from reliability_support import descendants, example_bundle, personal_bundle, pid_alive, wait_until, with_request_id

from router import Router, paths
from router.receipts import LOG_NAME, verify

HERE = Path(__file__).parent
BUNDLES = ("agent-log-triage-local", "agent-formatting-finalization", "agent-architecture-escalated", "personal-router-healthy-laptop")

# A child process: its own Router (managed OPA), THREADS threads deciding COUNT bundles each, and one
# batch per thread. Prints its OPA pid first, then one JSON line per decision.
WORKER = r"""
import json, sys, threading
sys.path[:0] = [{here!r}, {here!r} + "/.."]
from reliability_support import example_bundle, personal_bundle, with_request_id
receipts, tag, threads, count, bundle_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
names = {bundles!r}
templates = [example_bundle(n) for n in names] + [personal_bundle()]
from router import Router
lock = threading.Lock()
def emit(d, which):
    with lock:
        print(json.dumps([which, d.fault, d.status, d.route, list(d.reasons), d.receipt is not None, d.decision_id]), flush=True)
with Router(bundle=bundle_file, receipts_dir=receipts, timeout_ms=20000) as router:
    print(router.engine.pid, flush=True)
    def work(t):
        for i in range(count):
            which = (t + i) % len(templates)
            emit(router.decide(with_request_id(templates[which], f"soak-{{tag}}-{{t}}-{{i}}")), which)
        batch = [with_request_id(templates[w], f"soak-{{tag}}-{{t}}-batch-{{w}}") for w in range(len(templates))]
        for w, d in enumerate(router.decide_many(batch)):
            emit(d, w)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
"""


def templates() -> list[dict]:
    return [example_bundle(n) for n in BUNDLES] + [personal_bundle()]


def soak(project_bundle, receipts: Path, *, threads: int, processes: int, count: int) -> dict:
    """Run the soak; return what was seen. Asserts the invariants."""
    before = descendants()
    bundles = templates()
    outcomes: list[tuple[int, object]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    script = WORKER.format(here=str(HERE), bundles=BUNDLES)
    # one pinned copy of the policy bundle for every router, so all decide under one revision
    pinned = receipts.parent / "policy-bundle.tar.gz"
    receipts.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_bundle.path, pinned)
    with Router(bundle=pinned, receipts_dir=receipts, timeout_ms=20000) as router:
        references = [router.decide(with_request_id(b, f"soak-reference-{i}")) for i, b in enumerate(bundles)]
        for r in references:
            assert r.fault is None, r.detail
        children = [
            subprocess.Popen([sys.executable, "-c", script, str(receipts), f"p{k}", str(threads), str(count), str(pinned)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=paths.ROOT, env=env)
            for k in range(processes)
        ]

        def work(t):
            try:
                for i in range(count):
                    which = (t + i) % len(bundles)
                    d = router.decide(with_request_id(bundles[which], f"soak-main-{t}-{i}"))
                    with lock:
                        outcomes.append((which, d))
                batch = [with_request_id(bundles[w], f"soak-main-{t}-batch-{w}") for w in range(len(bundles))]
                for w, d in enumerate(router.decide_many(batch)):
                    with lock:
                        outcomes.append((w, d))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        child_rows, child_opa, child_pids = [], [], [c.pid for c in children]
        for c in children:
            out, err = c.communicate(timeout=600)
            assert c.returncode == 0, err[-3000:]
            first, *rows = out.splitlines()
            child_opa.append(int(first))
            child_rows.extend(json.loads(r) for r in rows)
        for w in workers:
            w.join(600)
        main_opa = router.engine.pid
    assert errors == []
    revisions = {r.policy_revision for r in references} | {d.policy_revision for _, d in outcomes}
    assert len(revisions) == 1, revisions
    # every decision matches the reference for its bundle and has a receipt
    for which, d in outcomes:
        ref = references[which]
        assert d.fault is None, d.detail
        assert (d.status, d.route, d.reasons) == (ref.status, ref.route, ref.reasons)
        assert d.receipt is not None
    for which, fault, status, route, reasons, has_receipt, _ in child_rows:
        ref = references[which]
        assert fault is None and has_receipt
        assert [status, route, reasons] == [ref.status, ref.route, list(ref.reasons)]
    per_worker = count + len(bundles)
    decisions = len(references) + len(outcomes) + len(child_rows)
    assert len(outcomes) == threads * per_worker and len(child_rows) == processes * threads * per_worker
    # receipts == decisions, chain intact and covered by the head signed with the routers' one key
    from router.receipts import default_key_path, load_public_key

    key = default_key_path(receipts / LOG_NAME)
    report = verify(receipts / LOG_NAME, public_key=load_public_key(key.with_name(key.name + ".pub")))
    assert report.ok and report.signed and report.key_pinned, report
    assert report.receipts == decisions
    lines = (receipts / LOG_NAME).read_text(encoding="utf-8").splitlines()
    decision_ids = [json.loads(line)["decisionId"] for line in lines]
    expected_ids = [r.decision_id for r in references] + [d.decision_id for _, d in outcomes] + [row[6] for row in child_rows]
    assert sorted(decision_ids) == sorted(expected_ids)
    # nothing leaked: every OPA and every worker process is gone, and this process has no new children
    for pid in (main_opa, *child_opa, *child_pids):
        assert wait_until(lambda pid=pid: not pid_alive(pid), 10), f"process {pid} is still alive"
    assert wait_until(lambda: not (descendants() - before), 10), sorted(descendants() - before)
    return {"decisions": decisions, "receipts": report.receipts}


def test_soak_threads_and_processes_receipts_equal_decisions(project_bundle, tmp_path):
    seen = soak(project_bundle, tmp_path / "receipts", threads=3, processes=2, count=20)
    assert seen["decisions"] == seen["receipts"] == 5 + 3 * 25 + 2 * 3 * 25


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_soak_long(project_bundle, tmp_path):
    seen = soak(project_bundle, tmp_path / "receipts", threads=4, processes=4, count=250)
    assert seen["decisions"] == seen["receipts"]
