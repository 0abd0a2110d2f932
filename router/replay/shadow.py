"""Shadow evaluation: every decision is also evaluated under a candidate policy; disagreements are logged.

`Router(shadow_policy=DIR|BUNDLE)` starts a second managed OPA serving the candidate policy (built like
replay's, router.replay.policy). After the router has decided (and recorded) a request, the same OPA
input — the prompt-stripped bundle and the same evaluation time — is queued for the shadow OPA and
evaluated by one background thread, off the caller's latency path (what queued up meanwhile goes to
the shadow OPA as one batch): the caller pays for summarising the decision and a queue put. When the shadow decision differs (router.replay.compare change classes) one
line is appended to the shadow log (`shadow.jsonl` beside the receipt log unless `shadow_log` names
another file; folder 0700, file 0600): both decisions' summaries, the change classes, the request
summary (never prompt text), the input digest and the evaluation time.

The queue is bounded (SHADOW_QUEUE decisions): when the shadow OPA falls behind, further decisions are
not shadowed and are counted in `dropped`, so shadow evaluation never slows or blocks the active
path. `flush()` waits until everything queued has been evaluated; `close()` (called by Router.close)
flushes, then stops the shadow OPA. The shadow never changes the active decision.
"""

from __future__ import annotations

import errno
import json
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router.bundle_input import PreparedBundle
from router.clock import utc_now
from router.config import Settings
from router.decision import Decision, JSONObject
from router.receipts import request_summary
from router.receipts.build import strict_loads
from router.receipts.checkpoint import make_private_dirs, write_fully
from router.replay import compare
from router.replay.core import (
    Entry,
    ReplayError,
    Report,
    RouterFactory,
    lane_rank,
)
from router.replay.policy import build

if TYPE_CHECKING:
    from router.api import Router

SHADOW_LOG = "shadow.jsonl"
SHADOW_QUEUE = 4096
SHADOW_BATCH = 256  # queued decisions evaluated together
KIND = "ShadowDisagreement"


# one queued decision: its summary, its id, the prepared input and the evaluation time it was made at
Shadowed = tuple[compare.Summary, str, PreparedBundle, JSONObject | None]


class ShadowLog:
    """An append-only JSON-lines file of disagreements (folder 0700, file 0600, no symlinks)."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def append(self, records: list[JSONObject]) -> None:
        """Append RECORDS (none: only create the log, so that an empty log means no disagreements)."""
        make_private_dirs(self.path.parent)
        data = "".join(json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records).encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, f"{self.path}: the shadow log path is a symbolic link; refusing to write through it") from None
            raise
        try:
            write_fully(fd, data, fsync=self.fsync)
        finally:
            os.close(fd)


class ShadowEvaluator:
    """The candidate policy's second managed OPA, its queue and worker (see the module docstring)."""

    def __init__(self, policy: str | Path, *, log: str | Path | None, timeout_s: float = 0.5, fsync: bool = True,
                 queue_size: int = SHADOW_QUEUE, router_factory: RouterFactory) -> None:
        """ROUTER_FACTORY makes the Router of the shadow OPA: the active Router passes its own class."""
        if log is None:
            raise ValueError("shadow_policy: the shadow log is written beside the receipt log, and receipts are off; name one with shadow_log")
        self.log = ShadowLog(Path(log), fsync)
        self.log.append([])
        self._tmp = Path(tempfile.mkdtemp(prefix="model-router-shadow-"))
        try:
            self.source = build(policy, self._tmp, "shadow")
            self.router: Router = router_factory(settings=Settings(receipts=False, timeout_ms=timeout_s * 1000.0),
                                          bundle=self.source.archive, store_inputs=False)
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self.evaluated = 0
        self.disagreements = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self._rank: dict[str, int] | None = None
        # None is the stop signal (close)
        self._queue: queue.Queue[list[Shadowed] | None] = queue.Queue(maxsize=queue_size)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="model-router-shadow", daemon=True)
        self._thread.start()

    @property
    def revision(self) -> str:
        return self.source.revision

    def submit(self, decisions: Sequence[Decision], preps: Sequence[PreparedBundle],
               stamps: Sequence[JSONObject | None] | None) -> None:
        """Queue DECISIONS (already made) for shadow evaluation; never blocks, never raises."""
        if self._closed or not decisions:
            return
        try:
            item: list[Shadowed] = [(compare.from_document(d.document), d.decision_id, p, s)
                                    for d, p, s in zip(decisions, preps, stamps or [None] * len(preps), strict=True)]
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += len(decisions)
        except Exception as exc:  # noqa: BLE001 - shadowing must never disturb the active decision
            self.errors += len(decisions)
            self.last_error = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            # what queued up meanwhile is evaluated in the same batch (one OPA round trip)
            while items[-1] is not None and len(items) < SHADOW_BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = items[-1] is None
            batch = [one for item in items if item is not None for one in item]
            try:
                if batch:
                    self._evaluate(batch)
            except Exception as exc:  # noqa: BLE001 - the worker counts any failure and keeps serving the queue
                self.errors += len(batch)
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                for _ in items:
                    self._queue.task_done()
            if stop:
                return

    def _evaluate(self, item: list[Shadowed]) -> None:
        if self._rank is None:
            self._rank = lane_rank(self.router) or {}
        preps = [p for _, _, p, _ in item]
        stamps = [s or self.router.evaluation() for _, _, _, s in item]
        shadowed = self.router.decide_many(preps, evaluations=stamps)
        records: list[JSONObject] = []
        for (active, decision_id, prep, stamp), shadow in zip(item, shadowed, strict=True):
            after = compare.from_document(shadow.document) | {"fault": shadow.fault}
            changes = compare.classes(active, after)
            self.evaluated += 1
            if not changes:
                continue
            records.append({
                "kind": KIND, "recordedAt": utc_now(), "decisionId": decision_id, "inputDigest": prep.input_digest,
                "request": request_summary(prep.bundle) or {}, "evaluation": stamp,
                "active": active, "shadow": after, "classes": changes,
                "morePermissive": compare.more_permissive(active, after, self._rank),
                "shadowPolicy": {"policy": self.source.given, "revision": self.source.revision},
            })
        self.disagreements += len(records)
        self.log.append(records)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued decision has been shadowed (True), or TIMEOUT_S passed (False)."""
        if timeout_s is None:
            self._queue.join()
            return True
        done = threading.Event()

        def wait_for_queue() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait_for_queue, daemon=True).start()
        return done.wait(timeout_s)

    def stats(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "disagreements": self.disagreements, "dropped": self.dropped, "errors": self.errors,
                "revision": self.revision}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self.router.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def report_from_log(path: str | Path) -> Report:
    """A report (mode "shadow") of the disagreements in the shadow log PATH (or its folder)."""
    target = Path(path)
    log = target / SHADOW_LOG if target.is_dir() else target
    entries: list[Entry] = []
    policy: dict[str, Any] = {}
    try:
        with open(log, "rb") as fh:
            for number, raw in enumerate(fh, 1):
                raw = raw.rstrip(b"\n")
                if not raw:
                    continue
                try:
                    rec = strict_loads(raw)
                except (ValueError, RecursionError):
                    raise ReplayError(f"{log}: line {number}: expected a JSON {KIND} record") from None
                if not isinstance(rec, dict) or rec.get("kind") != KIND:
                    raise ReplayError(f"{log}: line {number}: $.kind: expected {KIND}")
                try:
                    entries.append(Entry(
                        line=number, receipt_id=None, decision_id=rec.get("decisionId"), request=rec.get("request") or {},
                        evaluation=rec.get("evaluation") or {}, input_digest=rec.get("inputDigest"),
                        before=dict(rec["active"]), after=dict(rec["shadow"]), classes=list(rec["classes"]),
                        more_permissive=rec.get("morePermissive"),
                    ))
                except (KeyError, TypeError, ValueError):
                    raise ReplayError(f"{log}: line {number}: expected active, shadow and classes") from None
                policy = rec.get("shadowPolicy") or policy
    except FileNotFoundError:
        raise ReplayError(f"{log}: shadow log not found") from None
    except IsADirectoryError:
        raise ReplayError(f"{log}: expected a shadow log file (or its folder)") from None
    report = Report(mode="shadow", source=str(log), candidate={"policy": policy.get("policy"), "revision": policy.get("revision")},
                    baseline={"policy": "the active policy", "revision": "as recorded per decision"}, total=len(entries))
    report.entries = entries
    return report
