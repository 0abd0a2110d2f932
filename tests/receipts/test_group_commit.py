"""Group commit in the receipt log: appends from several threads at once share one write, one fsync
and one signed head; the chain stays complete and verifiable; a failed fsync fails every append of
its group (none is reported durable); an append no leader takes by its deadline gives up unwritten."""

from __future__ import annotations

import errno
import json
import os
import threading
import time

import pytest
from test_receipt_log import body, lines

from router.receipts import ReceiptLog, ReceiptLogError, verify


class FsyncProbe:
    """Wraps os.fsync: counts the calls, can hold the first one until released, can fail later ones."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, delay_s: float = 0.0, hold_first: bool = False) -> None:
        self.real = os.fsync
        self.calls = 0
        self.delay_s = delay_s
        self.held = threading.Event() if hold_first else None
        self.entered = threading.Event()
        self.fail_after_first = False
        self._mutex = threading.Lock()
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, fd: int) -> None:
        with self._mutex:
            self.calls += 1
            n = self.calls
        if n == 1 and self.held is not None:
            self.entered.set()
            assert self.held.wait(30), "the first fsync was never released"
        elif n > 1 and self.fail_after_first:
            raise OSError(errno.EIO, "Input/output error (injected)")
        if self.delay_s:
            time.sleep(self.delay_s)
        self.real(fd)


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def run_at_once(work, threads_n: int) -> list[BaseException]:
    """Run WORK(k) in THREADS_N threads released together by a barrier; the exceptions they raised."""
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            start.wait()
            work(k)
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads_n)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    return errors


def ids_in(path) -> list[str]:
    return [json.loads(line)["decisionId"] for line in lines(path)]


def test_threads_appending_at_once_share_fsyncs_and_keep_a_complete_chain(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=True)
    log.append(body(0))  # the signing key is made before counting
    probe = FsyncProbe(monkeypatch, delay_s=0.01)  # a slow disk: appends pile up while one commit runs
    threads_n, per_thread = 8, 10
    results: dict[int, list[dict]] = {}

    def work(k: int) -> None:
        results[k] = [log.append(body(1000 * (k + 1) + i)) for i in range(per_thread)]

    assert run_at_once(work, threads_n) == []
    total = threads_n * per_thread
    report = verify(path)
    assert report.ok, report
    assert report.receipts == total + 1
    expected = {f"urn:socioprophet:model-route-decision:{1000 * (k + 1) + i:024x}" for k in range(threads_n) for i in range(per_thread)}
    assert set(ids_in(path)[1:]) == expected
    # every append got back the receipt that is in the log, in chain order within its thread
    on_disk = {json.loads(line)["receiptDigest"] for line in lines(path)}
    for got in results.values():
        assert [r["receiptDigest"] in on_disk for r in got] == [True] * per_thread
    assert 0 < probe.calls < total, f"{probe.calls} fsyncs for {total} receipts: no group commit"


def test_one_thread_alone_still_fsyncs_every_append(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=True)
    log.append(body(0))
    probe = FsyncProbe(monkeypatch)
    for i in range(5):
        log.append(body(i + 1))
    assert probe.calls == 5
    assert verify(path).receipts == 6


def _hold_a_commit_and_queue(log: ReceiptLog, probe: FsyncProbe, bodies: list[dict]) -> tuple[list[threading.Thread], dict]:
    """Start one append whose fsync is held, then one thread per body that waits behind it; returns the
    threads (leader first) and the outcome per thread index (a receipt or the exception)."""
    outcome: dict[int, object] = {}

    def work(k: int, b: dict) -> None:
        try:
            outcome[k] = log.append(b)
        except BaseException as exc:
            outcome[k] = exc

    leader = threading.Thread(target=work, args=(-1, body(1)))
    leader.start()
    assert probe.entered.wait(20)
    pool = [threading.Thread(target=work, args=(k, b)) for k, b in enumerate(bodies)]
    for t in pool:
        t.start()
    wait_for(lambda: len(log._group.queue) == len(bodies))
    return [leader, *pool], outcome


def test_a_failed_fsync_fails_every_append_of_its_group(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=True)
    log.append(body(0))
    probe = FsyncProbe(monkeypatch, hold_first=True)
    followers = [body(100 + k) for k in range(6)]
    pool, outcome = _hold_a_commit_and_queue(log, probe, followers)
    probe.fail_after_first = True  # the followers' commit (one fsync for all six) fails
    probe.held.set()
    for t in pool:
        t.join(30)
    assert isinstance(outcome[-1], dict)  # the held commit went through
    for k in range(len(followers)):
        assert isinstance(outcome[k], ReceiptLogError), outcome[k]
        assert "Input/output error" in str(outcome[k])
    assert probe.calls == 2  # the leader's fsync, then one fsync for the whole group
    # none of the failed receipts is in the log: it verifies and holds the two that succeeded
    report = verify(path)
    assert report.ok and report.receipts == 2
    assert ids_in(path) == [body(0)["decisionId"], body(1)["decisionId"]]
    # the log goes on: the next append chains on the last durable receipt
    probe.fail_after_first = False
    log.append(body(9))
    assert verify(path).ok and verify(path).receipts == 3


def test_an_unchainable_append_fails_alone_in_its_group(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=True)
    log.append(body(0))
    probe = FsyncProbe(monkeypatch, hold_first=True)
    broken = body(201)
    broken["notJson"] = {1, 2}  # a set cannot be written as canonical JSON
    followers = [body(200), broken, body(202)]
    pool, outcome = _hold_a_commit_and_queue(log, probe, followers)
    probe.held.set()
    for t in pool:
        t.join(30)
    assert isinstance(outcome[1], ReceiptLogError)
    assert isinstance(outcome[0], dict) and isinstance(outcome[2], dict)
    assert probe.calls == 2
    report = verify(path)
    assert report.ok and report.receipts == 4
    assert body(201)["decisionId"] not in ids_in(path)


def test_an_append_no_leader_takes_by_its_deadline_gives_up_unwritten(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    log = ReceiptLog(path, fsync=True, lock_timeout_s=0.2)
    log.append(body(0))
    probe = FsyncProbe(monkeypatch, hold_first=True)
    outcome: dict[str, object] = {}

    def lead() -> None:
        outcome["leader"] = log.append(body(1))

    leader = threading.Thread(target=lead)
    leader.start()
    assert probe.entered.wait(20)
    t0 = time.monotonic()
    with pytest.raises(ReceiptLogError) as caught:
        log.append(body(2))
    assert caught.value.errno == errno.ETIMEDOUT
    assert time.monotonic() - t0 < 5
    assert log._group.queue == []
    probe.held.set()
    leader.join(30)
    assert isinstance(outcome["leader"], dict)
    assert ids_in(path) == [body(0)["decisionId"], body(1)["decisionId"]]
    assert verify(path).ok
