"""The hash-chained receipt log: chaining, verification of every kind of tampering, torn writes,
concurrent writers (threads and processes), a writer killed mid-run."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import paths
from router.receipts import (
    ReceiptLog,
    ReceiptLogError,
    build_receipt,
    canonical,
    receipt_digest,
    verify,
)


def agent_document(n: int = 0, lane: str | None = "standard", status: str = "selected") -> dict:
    return {
        "schemaVersion": "v0.1",
        "kind": "AgentExecutionRouteDecision",
        "decisionId": f"urn:socioprophet:model-route-decision:{n:024x}",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "policyRevision": "sha256:" + "a" * 64,
        "policyRef": "urn:socioprophet:model-routing-policy:agent-execution-default",
        "input": {"requestId": f"r{n}", "requestedLane": "standard", "stage": "execution"},
        "selected": {"lane": lane, "status": status, "reason": "feasible", "reasons": ["feasible"], "costClass": "medium", "estimatedCost": 0.02},
        "escalation": {"valid": False, "reason": None, "receiptRef": None},
        "deEscalation": {"required": False, "afterStage": None, "toLane": None},
        "budget": None,
        "resources": {"networkAvailable": True},
        "quota": None,
        "candidateSet": [],
        "evidence": {"promptEvidenceMode": "hash-only", "ledgerRefs": ["SocioProphet/agentplane"]},
    }


@cache
def _policy_lane(doc_json: str) -> str:
    """The policy's lane-decision summary of a decision document (model_router.projection.lane), as JSON."""
    from router import fault_template

    return json.dumps(fault_template.evaluate(f"out := data.model_router.projection.lane.summary({doc_json})"))


def lane_of(doc: dict) -> dict:
    return json.loads(_policy_lane(canonical(doc)))


def body(n: int = 0) -> dict:
    lane = lane_of(agent_document(0))  # every agent_document(n) is the same decision but for its ids
    return build_receipt(agent_document(n), input_digest="sha256:" + "b" * 64, prompt_digest=None, issued_at="2026-01-01T00:00:00.000Z",
                         lane=lane)


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_receipts_chain_from_null(tmp_path):
    log = ReceiptLog(tmp_path / "r.jsonl", fsync=False)
    first, second = log.append(body(1)), log.append(body(2))
    assert first["previousReceiptDigest"] is None
    assert second["previousReceiptDigest"] == first["receiptDigest"]
    assert first["receiptDigest"] == receipt_digest(first)
    report = verify(tmp_path / "r.jsonl")
    assert report.ok and report.receipts == 2


def test_a_new_log_object_continues_the_existing_chain(tmp_path):
    path = tmp_path / "r.jsonl"
    a = ReceiptLog(path).append(body(1))
    b = ReceiptLog(path).append(body(2))
    assert b["previousReceiptDigest"] == a["receiptDigest"]
    assert verify(path).ok


def test_receipts_validate_against_the_schema(tmp_path):
    from jsonschema import Draft202012Validator

    schema = json.loads((paths.SCHEMAS / "route-decision-receipt.schema.json").read_text())
    log = ReceiptLog(tmp_path / "r.jsonl")
    premium = agent_document(3, lane="high-end")
    premium["escalation"] = {"valid": True, "reason": "hard-debugging", "receiptRef": "urn:x:receipt:1"}
    premium["deEscalation"] = {"required": True, "afterStage": "planning", "toLane": "standard"}
    bodies = [body(1), build_receipt(premium, input_digest="sha256:" + "c" * 64, prompt_digest="sha256:" + "d" * 64, issued_at="2026-01-01T00:00:00Z",
                                     lane=lane_of(premium))]
    for receipt in log.append_many(bodies):
        assert list(Draft202012Validator(schema).iter_errors(receipt)) == []
    lane = log.append_many([bodies[1]])[0]["laneDecision"]
    assert lane["lane_decision_outcome"] == "escalated"
    assert lane["escalation_receipt_ref"] == "urn:x:receipt:1" and lane["de_escalation_required_after_stage"] == "planning"


def _write_chain(path: Path, n: int = 5) -> list[str]:
    log = ReceiptLog(path, fsync=False)
    for i in range(n):
        log.append(body(i))
    return lines(path)


def test_changed_receipt_is_reported_at_its_line(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = _write_chain(path)
    changed = json.loads(rows[2])
    changed["selected"]["lane"] = "pro"
    rows[2] = canonical(changed)
    path.write_text("\n".join(rows) + "\n")
    report = verify(path)
    assert not report.ok and report.line == 3 and "changed" in report.problem and report.receipts == 2


def test_changed_receipt_with_recomputed_digest_breaks_the_next_link(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = _write_chain(path)
    changed = json.loads(rows[1])
    changed["selected"]["estimatedCost"] = 0.0
    changed["receiptDigest"] = receipt_digest(changed)
    rows[1] = canonical(changed)
    path.write_text("\n".join(rows) + "\n")
    report = verify(path)
    assert not report.ok and report.line == 3 and "previousReceiptDigest" in report.problem


@pytest.mark.parametrize("how", ["remove-middle", "remove-first", "swap"])
def test_removed_or_reordered_receipts_are_detected(tmp_path, how):
    path = tmp_path / "r.jsonl"
    rows = _write_chain(path)
    if how == "remove-middle":
        del rows[2]
        expected_line = 3
    elif how == "remove-first":
        del rows[0]
        expected_line = 1
    else:
        rows[1], rows[2] = rows[2], rows[1]
        expected_line = 2
    path.write_text("\n".join(rows) + "\n")
    report = verify(path)
    assert not report.ok and report.line == expected_line


def test_not_json_and_not_a_receipt_are_reported(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = _write_chain(path, 2)
    path.write_text(rows[0] + "\n{not json\n")
    assert verify(path).line == 2 and "JSON" in verify(path).problem
    path.write_text(rows[0] + '\n{"kind": "Other"}\n')
    assert "RouteDecisionReceipt" in verify(path).problem


def test_torn_tail_is_reported_then_repaired_without_touching_earlier_receipts(tmp_path):
    path = tmp_path / "r.jsonl"
    _write_chain(path, 3)
    intact = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"schemaVersion":"v0.1","kind":"RouteDecisionRec')  # a crash mid-write
    report = verify(path)
    assert not report.ok and report.line == 4 and "incomplete" in report.problem and report.receipts == 3
    new = ReceiptLog(path).append(body(9))
    data = path.read_bytes()
    assert data.startswith(intact)
    assert json.loads(intact.splitlines()[-1])["receiptDigest"] == new["previousReceiptDigest"]
    assert verify(path).ok and verify(path).receipts == 4


def test_unreadable_last_receipt_refuses_to_chain(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("garbage line\n")
    with pytest.raises(ReceiptLogError, match="verify"):
        ReceiptLog(path).append(body(1))


def test_unwritable_location_raises_receipt_log_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReceiptLogError):
        ReceiptLog(blocker / "r.jsonl").append(body(1))


def test_threads_share_one_log(tmp_path):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=False)
    errors = []

    def work(k):
        try:
            for i in range(40):
                log.append(body(k * 1000 + i))
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is reported below  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(path)
    assert report.ok and report.receipts == 240


def _writer(path: str, k: int, n: int) -> None:
    log = ReceiptLog(path, fsync=False)
    for i in range(n):
        log.append(body(k * 1000 + i))


def test_processes_write_concurrently(tmp_path):
    path = tmp_path / "r.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), k, 60)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    report = verify(path)
    assert report.ok and report.receipts == 240
    ids = {json.loads(line)["decisionId"] for line in lines(path)}
    assert len(ids) == 240


def test_forked_child_does_not_share_the_parents_lock(tmp_path):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=False)
    log.append(body(1))
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=lambda: [log.append(body(100 + i)) for i in range(30)])
    child.start()
    for i in range(30):
        log.append(body(200 + i))
    child.join(60)
    assert child.exitcode == 0
    assert verify(path).ok and verify(path).receipts == 61


WRITER = """
import sys
from router.receipts import ReceiptLog, build_receipt
sys.path.insert(0, {tests!r})
from test_receipt_log import body
log = ReceiptLog({path!r}, fsync=False)
body(0)  # the policy's lane summary is asked of OPA once, before the writing starts
print("ready", flush=True)
i = 0
while True:
    log.append(body(i)); i += 1
"""


def test_writer_killed_mid_run_never_corrupts_earlier_receipts(tmp_path):
    path = tmp_path / "r.jsonl"
    script = WRITER.format(tests=str(Path(__file__).parent), path=str(path))
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=paths.ROOT) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == b"ready"
        time.sleep(0.4)
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
    finally:
        for p in procs:
            p.wait(10)
    before = verify(path)
    assert before.receipts > 0
    # whatever the kill left (at most an incomplete last line), the next append repairs and chains on
    ReceiptLog(path).append(body(424242))
    after = verify(path)
    assert after.ok and after.receipts >= before.receipts + 1


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.integers(), st.text(max_size=20), st.none()), max_size=5))
def test_any_content_change_changes_the_digest(extra):
    receipt = body(1)
    receipt["previousReceiptDigest"] = None
    digest = receipt_digest(receipt)
    changed = dict(receipt)
    changed["resourceSnapshot"] = extra
    assert (receipt_digest(changed) == digest) == (extra == receipt["resourceSnapshot"])
    assert receipt_digest({**receipt, "receiptDigest": "sha256:" + "0" * 64}) == digest


def test_digests_agree_with_the_contracts_package(tmp_path):
    from router.contracts import digest

    receipt = ReceiptLog(tmp_path / "r.jsonl").append(body(5))
    assert receipt["receiptDigest"] == digest.receipt_digest(receipt)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=8), st.lists(st.text(max_size=6), max_size=3, unique=True))
def test_an_object_serialised_in_runs_is_its_canonical_json(value, at):
    """The log writes a receipt's MAC, digest and line from its members serialised once, in runs split
    where receiptDigest and receiptMac go (digest.runs / digest.spliced): the text must be canonical
    JSON of the same object, whichever of the keys AT it holds."""
    from router.contracts import digest

    at = tuple(sorted(at))
    parts = digest.runs({k: v for k, v in value.items() if k not in at}, at)
    added = {i + 1: digest.canonical(key) + ":" + digest.canonical(value[key]) for i, key in enumerate(at) if key in value}
    assert digest.spliced(parts, added) == digest.canonical(value)
    assert digest.spliced(parts, {}) == digest.canonical({k: v for k, v in value.items() if k not in at})


def test_written_receipts_carry_the_mac_and_digest_of_their_canonical_json(tmp_path):
    from router.receipts import checkpoint as cp

    log = ReceiptLog(tmp_path / "r.jsonl", fsync=False)
    written = log.append_many([body(n) for n in range(3)])
    key = cp.load_private_key(log.key_path)
    for line, receipt in zip(lines(log.path), written, strict=True):
        assert line == canonical(receipt)
        mac_key = cp.receipt_mac_key(key, written[0]["logStart"]["logId"])
        assert receipt["receiptMac"] == cp.receipt_mac(mac_key, receipt)
        assert receipt["receiptDigest"] == receipt_digest(receipt)


ROUTER_WRITER = """
import json, sys
from router import Router
bundle = json.load(open(sys.argv[1]))
with Router(receipts_dir=sys.argv[2], timeout_ms=5000) as router:
    for i in range(int(sys.argv[3])):
        bundle["request"]["requestId"] = f"proc-{sys.argv[4]}-{i}"
        d = router.decide(bundle)
        assert d.fault is None and d.receipt is not None, d.detail
"""


def test_routers_in_four_processes_share_one_receipt_log_under_its_signed_head(tmp_path):
    from click.testing import CliRunner

    from router.cli import main
    from router.receipts import default_key_path

    bundle = paths.EXAMPLES / "bundles" / "personal-router-healthy-laptop.json"
    procs = [
        subprocess.Popen([sys.executable, "-c", ROUTER_WRITER, str(bundle), str(tmp_path), "200", str(k)], cwd=paths.ROOT,
                         stderr=subprocess.PIPE)
        for k in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    log = tmp_path / "receipts.jsonl"
    report = verify(log)
    assert report.ok and report.signed and report.receipts == 800
    decision_ids = {json.loads(line)["decisionId"] for line in lines(log)}
    assert len(decision_ids) == 800  # every request id differs, so every decision id does
    # the head is signed by the one key the four routers share (made by whichever came first)
    public = default_key_path(log).with_name("receipt-signing.key.pub")
    result = CliRunner().invoke(main, ["receipts", "verify", str(tmp_path), "--key", str(public), "--min-count", "800"])
    assert result.exit_code == 0 and "800 receipts" in result.output and "pinned key" in result.output


def test_rotation_while_processes_append_loses_no_receipt(tmp_path):
    path = tmp_path / "receipts.jsonl"
    ReceiptLog(path).append(body(999999))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), k, 150)) for k in range(2)]
    for p in procs:
        p.start()
    rotations = 0
    while any(p.is_alive() for p in procs) and rotations < 3:
        if path.stat().st_size > 0:
            ReceiptLog(path).rotate()
            rotations += 1
        time.sleep(0.05)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    logs = sorted(tmp_path.glob("receipts.*.jsonl")) + [path]
    ids, total = set(), 0
    for log in logs:
        report = verify(log)
        assert report.ok, (log, report)
        total += report.receipts
        ids |= {json.loads(line)["decisionId"] for line in lines(log)}
    assert rotations >= 1 and total == len(ids) == 301
