"""The append-only receipt log: one canonical JSON receipt per line, hash-chained, with a signed head.

Appends take a thread lock and an exclusive `fcntl.flock` on the lock file beside the log
(`receipts.jsonl.lock`, which is never rotated), each with a deadline (the decision timeout): a lock
held too long by anyone gives `ReceiptLogError` (the decision fails closed
with evidence-unavailable), never a hang. Under the lock the writer checks that the file it has open
is still the file at the log path (device and inode); if the log was rotated (renamed) or deleted it
opens the file now at the path and continues the chain from the signed head of the log that was
there, recording that head in the new log's first receipt (`logStart.previousLog`).

The folder is created 0700, the log and head 0600; the log is opened with O_NOFOLLOW (a symlink at
the log path is refused) and must be a regular file. Each append is one `write` of complete lines on
an O_APPEND file, fsync, then the new head is signed and written atomically beside the log. A write,
fsync or head write that fails (disk full, file-size limit, I/O error) is taken back by truncating the
log to its size before the append, so the log still verifies and the decision fails closed without a
receipt. A crash mid-write can only leave an incomplete last line beyond the signed head; the next
append removes that torn tail before chaining on — and only that: bytes that do not look like the
start of a receipt, or lie inside the signed part, are never truncated.

Group commit: threads of one process that append at the same time share one commit. The first
append to find no commit under way leads; it takes the appends waiting at that moment, chains them in
arrival order, writes them with one `write`, one fsync and one signed head under the locks above, and
hands each its receipts. A failed write, fsync or head takes the whole group back (truncation, as
above) and fails every append in it: none is reported durable. Appends that arrive during a commit
wait for the next one, which one of them leads.

The prompt digest is keyed per log: a receipt's `promptDigest` is `hmac-sha256:` + HMAC-SHA256 of the
request's `sha256:` prompt digest under a secret derived from the signing key and the log id, so a
short prompt cannot be confirmed from the log by trying a dictionary of prompts.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from router.clock import utc_now
from router.contracts.digest import runs, sha256_text, spliced
from router.receipts import checkpoint as cp
from router.receipts.build import LOG_NAME, canonical, receipt_digest
from router.receipts.inputs import InputStore
from router.receipts.verify import MAX_LINE, strict_loads, verify

if TYPE_CHECKING:  # the key's type only: cryptography is imported where a key is read (receipts.checkpoint)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_LOCK_TIMEOUT_S = 10.0
CHAIN_KEYS = ("receiptDigest", "receiptMac")  # the members the log adds last, in sorted order
MAX_GROUP = 1024  # appends committed together at most (one write, one fsync, one signed head)
KEY_FOLDER = "signing"
KEY_NAME = "receipt-signing.key"


JSONObject = dict[str, Any]
T = TypeVar("T")


class ReceiptLogError(OSError):
    """The receipt could not be recorded (the decision then fails closed: evidence-unavailable)."""


@dataclass(eq=False)
class _Pending:
    """One append_many call waiting in the group commit: its bodies, then its receipts or its error."""

    bodies: list[JSONObject]
    inputs: list[tuple[str, str]]  # (inputDigest, canonical JSON), stored in STORE before the receipts
    store: InputStore | None = None
    taken: bool = False  # a leader is committing it
    done: bool = False  # the commit is over: receipts or error is set
    receipts: list[JSONObject] | None = None
    error: ReceiptLogError | None = None


class _Group:
    """The appends of one process waiting to be committed, and whether a leader is committing."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cond = threading.Condition(threading.Lock())
        self.queue: list[_Pending] = []
        self.leading = False


def default_key_path(log: str | Path) -> Path:
    """Where the router keeps its own signing key when none is configured: a 0700 folder beside the log."""
    return Path(log).parent / KEY_FOLDER / KEY_NAME


@dataclass(frozen=True)
class _State:
    log_id: str
    count: int
    last: str | None  # digest of the last receipt (or the previous log's head digest for an empty log)
    end: int  # byte offset after the last complete receipt
    start_digest: str | None
    previous_log_id: str | None
    previous_log: JSONObject | None  # the previous log's signed head, recorded in this log's first receipt


@dataclass(frozen=True)
class _Known:
    ident: tuple[int, int]
    size: int
    head_bytes: bytes
    state: _State


def _last_line(fd: int, size: int) -> tuple[bytes, int]:
    """(last complete line without its newline, offset just after the last newline) of the first SIZE bytes."""
    if size == 0:
        return b"", 0
    chunk = 65536
    pos, last_nl = size, -1
    while pos > 0 and last_nl < 0:
        start = max(0, pos - chunk)
        data = os.pread(fd, pos - start, start)
        idx = data.rfind(b"\n")
        if idx >= 0:
            last_nl = start + idx
        pos = start
        if size - pos > MAX_LINE:
            break
    if last_nl < 0:
        return b"", 0
    pos, line = last_nl, b""
    while pos > 0:
        start = max(0, pos - chunk)
        data = os.pread(fd, pos - start, start)
        idx = data.rfind(b"\n")
        if idx >= 0:
            line = data[idx + 1 :] + line
            break
        line = data + line
        pos = start
        if len(line) > MAX_LINE:
            break
    return line, last_nl + 1


class ReceiptLog:
    """An append-only, hash-chained receipt log with a signed head (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: bool = True,
        key_path: str | Path | None = None,
        lock_timeout_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.key_path = Path(key_path) if key_path else default_key_path(self.path)
        self.create_key = key_path is None  # a configured key must exist; the router's own is made on first use
        self.lock_timeout_s = DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
        self._lock = threading.Lock()
        self._group = _Group(os.getpid())
        self._fd: int | None = None
        self._pid: int | None = None
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None
        self._key: Ed25519PrivateKey | None = None
        self._known: _Known | None = None
        self._last_head: JSONObject | None = None  # the last head this object signed
        self._secrets: tuple[Ed25519PrivateKey, str, bytes, bytes] | None = None  # see _log_secrets

    # -- files -----------------------------------------------------------------------------------
    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            try:
                if self.create_key:
                    self._key = cp.load_or_create_key(self.key_path)
                else:
                    self._key = cp.load_private_key(self.key_path)
            except FileNotFoundError:
                raise ReceiptLogError(f"{self.key_path}: the configured receipt-signing key does not exist (create one with `model-router receipts keygen {self.key_path}`)") from None
            except cp.CheckpointError as exc:
                raise ReceiptLogError(str(exc)) from None
        return self._key

    def _open(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        # a forked child must not share the parent's open file description (flock is per description)
        self._fd, self._known = None, None
        cp.make_private_dirs(self.path.parent)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ReceiptLogError(errno.ELOOP, f"{self.path}: the receipt log path is a symbolic link; refusing to write receipts through it (the log must be a regular file)") from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: the receipt log path is not a regular file; refusing to write receipts to it")
        if st.st_nlink != 1:
            os.close(fd)
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: the receipt log has {st.st_nlink} hard links (it may be another file); refusing to write receipts to it")
        self._fd, self._pid = fd, os.getpid()
        self._remove_stale_temporaries()
        return fd

    def _remove_stale_temporaries(self) -> None:
        """Remove temporary head files left by writers that died mid-write (their process is gone)."""
        prefix = f".{cp.head_path(self.path).name}."
        try:
            names = [n for n in os.listdir(self.path.parent) if n.startswith(prefix) and n.endswith(".tmp")]
        except OSError:
            return
        for name in names:
            try:
                pid = int(name[len(prefix):].split(".")[0])
                if pid == os.getpid():
                    continue
                os.kill(pid, 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(self.path.parent / name)
            except (ValueError, PermissionError):
                pass

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _open_lock(self) -> int:
        """The lock file beside the log (never rotated, so writers and `receipts rotate` exclude each
        other whichever log file is at the path). Opened per process: flock is per open file."""
        if self._lock_fd is not None and self._lock_pid == os.getpid():
            return self._lock_fd
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(self.lock_path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ReceiptLogError(errno.ELOOP, f"{self.lock_path}: the receipt log's lock file is a symbolic link; refusing to use it") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ReceiptLogError(errno.EINVAL, f"{self.lock_path}: the receipt log's lock file is not a regular file")
        self._lock_fd, self._lock_pid = fd, os.getpid()
        return fd

    def _drop(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._known = None, None

    def _is_current(self, fd: int) -> bool:
        try:
            at_path = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (at_path.st_dev, at_path.st_ino) == (mine.st_dev, mine.st_ino)

    def _flock(self, fd: int, deadline: float) -> None:
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ReceiptLogError(errno.ETIMEDOUT, f"{self.path}: the receipt log is locked ({self.lock_path.name}) by another holder for longer than {self.lock_timeout_s * 1000:.0f} ms") from None
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.02)

    # -- state -----------------------------------------------------------------------------------
    def _repair_tail(self, fd: int, end: int, size: int) -> None:
        """Remove a torn tail (an incomplete last receipt) after END — nothing else."""
        if size == end:
            return
        tail = os.pread(fd, 2, end)
        if size - end > MAX_LINE or not tail.startswith(b"{"):
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: ends with {size - end} bytes that are not a receipt; not repairing a file that may not be a receipt log (run `model-router receipts verify {self.path}`)")
        os.ftruncate(fd, end)

    def _digest_of(self, line: bytes, what: str) -> str:
        try:
            digest = strict_loads(line)["receiptDigest"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: {what} is unreadable; run `model-router receipts verify {self.path}`") from None
        if not isinstance(digest, str):
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: {what} has no receiptDigest")
        return digest

    def _new_log(self, previous: JSONObject | None) -> _State:
        previous = cp.flat(previous) if previous else None
        digest = previous["headDigest"] if previous else None
        return _State(cp.new_log_id(), 0, digest, 0, digest, previous["logId"] if previous else None, previous)

    def _state(self, fd: int, key: Ed25519PrivateKey) -> _State:
        st = os.fstat(fd)
        ident, size = (st.st_dev, st.st_ino), st.st_size
        raw = cp.read_head_bytes(self.path)
        known = self._known
        if known is not None and raw == known.head_bytes and (ident, size) == (known.ident, known.size):
            return known.state  # nobody else wrote since this object's last commit: the head it signed is current
        found = None if raw is None else (cp.parse_head(raw, str(cp.head_path(self.path))), raw)
        if found is not None and not cp.signature_valid(found[0], key.public_key()):
            raise ReceiptLogError(errno.EINVAL, f"{cp.head_path(self.path)}: the signed head does not verify with the receipt-signing key {self.key_path}; run `model-router receipts verify {self.path}`")
        head = found[0] if found else None
        _, end = _last_line(fd, size)
        if head is None:
            if end > 0:
                raise ReceiptLogError(errno.EINVAL, f"{self.path}: holds receipts but has no signed head ({cp.head_path(self.path).name}): it was removed, or an older version wrote the log; check it with `model-router receipts verify`, then start a new log with `model-router receipts rotate`")
            self._repair_tail(fd, 0, size)
            # the log and its head are both gone: continue from the last head this router signed
            return self._new_log(self._last_head)
        same_file = (head["dev"], head["inode"]) == ident
        if head["size"] > end:
            if same_file or end > 0:
                raise ReceiptLogError(errno.EINVAL, f"{self.path}: the log is shorter than its signed head ({head['count']} receipts, {head['size']} bytes): receipts were removed; run `model-router receipts verify {self.path}`")
            # a new file at the path: the signed log was rotated away or deleted; continue from its head
            self._repair_tail(fd, 0, size)
            return self._new_log(head if head["count"] else head.get("previousLog"))
        if head["size"] > 0:
            at_head, head_end = _last_line(fd, head["size"])
            if head_end != head["size"] or self._digest_of(at_head, f"the receipt at the signed head (byte {head['size']})") != head["headDigest"]:
                raise ReceiptLogError(errno.EINVAL, f"{self.path}: the log does not match its signed head; run `model-router receipts verify {self.path}`")
        self._repair_tail(fd, end, size)
        count = head["count"]
        last = head["headDigest"] if count else head.get("startDigest")
        if end > head["size"]:  # receipts appended after the last signature (a writer stopped in between)
            added, last = self._unsigned_receipts(fd, key, head["logId"], head["size"], end, last)
            count += added
        previous_log = head.get("previousLog") if count == 0 else None
        return _State(head["logId"], count, last, end, head.get("startDigest"), head.get("previousLogId"), previous_log)

    def _unsigned_receipts(self, fd: int, key: Ed25519PrivateKey, log_id: str, start: int, end: int, previous: str | None) -> tuple[int, str | None]:
        """Check the receipts between the signed head (START) and END before signing them: each must
        chain on and carry a valid MAC under this log's key, so receipts appended without the key are
        never signed. Returns (how many, the last digest)."""
        secret = cp.receipt_mac_key(key, log_id)
        count, pos, buf = 0, start, b""
        while pos < end or buf:
            if pos < end:
                chunk = os.pread(fd, min(1 << 20, end - pos), pos)
                if not chunk:
                    break
                pos += len(chunk)
                buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                try:
                    receipt = strict_loads(raw)
                    ok = (isinstance(receipt, dict) and receipt.get("previousReceiptDigest") == previous
                          and receipt.get("receiptDigest") == receipt_digest(receipt)
                          and receipt.get("receiptMac") == cp.receipt_mac(secret, receipt))
                except (ValueError, RecursionError):
                    ok = False
                if not ok:
                    raise ReceiptLogError(errno.EINVAL, f"{self.path}: receipt {count + 1} after the signed head was not written by a holder of the signing key (or is broken); run `model-router receipts verify {self.path}`")
                previous, count = receipt["receiptDigest"], count + 1
            if len(buf) > MAX_LINE:
                raise ReceiptLogError(errno.EINVAL, f"{self.path}: a line after the signed head is longer than {MAX_LINE} bytes")
            if pos >= end:
                break
        return count, previous

    # -- appending -------------------------------------------------------------------------------
    def _locked(self, deadline: float, action: Callable[[int, Ed25519PrivateKey], T]) -> T:
        """Run ACTION(fd, key) holding the log's lock, on the file that is at the log path now."""
        cp.make_private_dirs(self.path.parent)  # the log folder (0700) before the key folder inside it
        key = self._signing_key()
        lock = self._open_lock()
        self._flock(lock, deadline)
        stale: int | None = None  # a replaced file, kept open until the new one is open (so its inode is not reused)
        try:
            for _ in range(3):
                fd = self._open()
                if stale is not None:
                    os.close(stale)
                    stale = None
                if not self._is_current(fd):
                    # rotated or deleted: open what is at the path now and continue from its head
                    self._keep_head_with(fd)
                    stale, self._fd, self._known = fd, None, None
                    continue
                return action(fd, key)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
            if stale is not None:
                os.close(stale)
        raise ReceiptLogError(errno.EAGAIN, f"{self.path}: the receipt log kept being replaced while opening it")

    def _keep_head_with(self, fd: int) -> None:
        """The file FD was renamed away from the log path (rotated by hand): when the head at the path
        still describes it, put a copy of that head beside the file's new name, so it verifies there."""
        try:
            found = cp.read_head(self.path)
            mine = os.fstat(fd)
            if found is None or (found[0]["dev"], found[0]["inode"]) != (mine.st_dev, mine.st_ino) or mine.st_nlink == 0:
                return
            moved = Path(os.readlink(f"/proc/self/fd/{fd}"))
            if moved.parent != self.path.parent or moved == self.path:
                return
            target = cp.head_path(moved)
            if not target.exists():
                cp.write_head(moved, found[0], fsync=self.fsync)
        except (OSError, cp.CheckpointError):
            pass  # best effort: the new log's first receipt records the head in any case

    def _write(self, fd: int, key: Ed25519PrivateKey, group: list[_Pending]) -> None:
        """Chain the receipts of every append in GROUP, write them with one `write`, one fsync and
        one signed head; each append's receipts (or its error) are set on it. An append whose bodies
        cannot be chained (not JSON) fails alone; a failed write, fsync or head fails them all."""
        state = self._state(fd, key)
        previous = state.last
        lines: list[str] = []
        written: list[tuple[_Pending, list[JSONObject]]] = []
        secret, mac_key = self._log_secrets(key, state.log_id)
        count = 0
        for pending in group:
            before = previous
            receipts: list[JSONObject] = []
            own: list[str] = []
            try:
                for body in pending.bodies:
                    receipt = {k: v for k, v in body.items() if k not in ("logStart", "previousReceiptDigest", "receiptDigest", "receiptMac")}
                    digest = receipt.get("promptDigest")
                    if isinstance(digest, str) and digest.startswith("sha256:"):
                        receipt["promptDigest"] = cp.keyed_prompt_digest(secret, digest)
                    if state.count == 0 and count + len(receipts) == 0:
                        receipt["logStart"] = {"logId": state.log_id, "previousLog": state.previous_log}
                    receipt["previousReceiptDigest"] = previous
                    # serialised once: the MAC, the digest and the line are the canonical JSON of the
                    # receipt without, then with, receiptMac and receiptDigest
                    parts = runs(receipt, CHAIN_KEYS)
                    receipt["receiptMac"] = mac = cp.receipt_mac_of(mac_key, spliced(parts, {}))
                    mac_member = '"receiptMac":' + canonical(mac)
                    receipt["receiptDigest"] = previous = sha256_text(spliced(parts, {2: mac_member}))
                    receipts.append(receipt)
                    own.append(spliced(parts, {1: '"receiptDigest":' + canonical(previous), 2: mac_member}))
            except (ValueError, TypeError, RecursionError) as exc:
                previous = before  # this append is left out; the chain goes on from the one before it
                pending.error = ReceiptLogError(f"{self.path}: cannot record the receipt: {exc}")
                continue
            lines += own
            count += len(receipts)
            written.append((pending, receipts))
        if not written:
            return
        # the inputs first (one write and one fsync per store for the whole group): a receipt always finds its input
        stores: dict[int, tuple[InputStore, list[tuple[str, str]]]] = {}
        for pending, _ in written:
            if pending.store is not None and pending.inputs:
                stores.setdefault(id(pending.store), (pending.store, []))[1].extend(pending.inputs)
        for store, items in stores.values():
            store.put_many(items)
        data = ("\n".join(lines) + "\n").encode("utf-8")
        st = os.fstat(fd)
        start = st.st_size
        try:
            cp.write_fully(fd, data, fsync=self.fsync)
            after = replace(state, count=state.count + count, last=previous, end=start + len(data), previous_log=None)
            head = self._sign(key, after, (st.st_dev, st.st_ino))
            # the receipts are durable (fsync above) before the head that covers them is written; the
            # head itself is replaced by rename without a second fsync: after a power loss the previous
            # head may remain, and the next append signs the receipts after it (each has a valid MAC)
            head_bytes = cp.write_head(self.path, head, fsync=False)
        except BaseException:
            # a full disk or a file-size limit can leave part of a line, or no head for it: take it
            # back, so the log still verifies and no receipt exists for a decision that failed closed
            self._truncate(fd, start)
            raise
        self._known = _Known((st.st_dev, st.st_ino), after.end, head_bytes, after)
        self._last_head = head
        for pending, receipts in written:
            pending.receipts = receipts

    def _log_secrets(self, key: Ed25519PrivateKey, log_id: str) -> tuple[bytes, bytes]:
        """(prompt-digest secret, receipt-MAC secret) of the log LOG_ID, derived once per log and key."""
        cached = self._secrets
        if cached is None or cached[0] is not key or cached[1] != log_id:
            cached = self._secrets = (key, log_id, cp.prompt_digest_key(key, log_id), cp.receipt_mac_key(key, log_id))
        return cached[2], cached[3]

    @staticmethod
    def _sign(key: Ed25519PrivateKey, state: _State, ident: tuple[int, int]) -> JSONObject:
        return cp.sign_head(key, {
            "logId": state.log_id, "count": state.count, "headDigest": state.last if state.count else None,
            "size": state.end, "dev": ident[0], "inode": ident[1], "signedAt": utc_now(),
            "startDigest": state.start_digest, "previousLogId": state.previous_log_id,
        })

    def append_many(
        self, bodies: Iterable[JSONObject], inputs: Iterable[tuple[str, str]] = (), store: InputStore | None = None
    ) -> list[JSONObject]:
        """Chain and append receipts (built by build_receipt); return them with their chain fields.
        INPUTS ((inputDigest, canonical JSON) pairs) are stored in STORE in the same commit, before the
        receipts: with the inputs of the other appends in the group, in one write and one fsync.

        Group commit: appends from several threads at once share one write, one fsync and one signed
        head. The first thread to find no commit under way leads: it takes every append waiting at that
        moment (its own first), commits them under the log's locks and hands each its receipts, or the
        error that failed the commit (then none of them is in the log). Appends that arrive meanwhile
        wait; when the leader is done, one of them leads the next commit. A waiting append that no
        leader has taken by its deadline gives up (ReceiptLogError, nothing written); one that a leader
        has taken waits for that commit's outcome, which the leader's own deadline bounds."""
        mine = _Pending(list(bodies), list(inputs), store)
        if mine.inputs and store is None:
            raise ValueError("append_many: inputs to store, and no input store given")
        if not mine.bodies:
            return []
        deadline = time.monotonic() + self.lock_timeout_s
        group = self._group_state()
        with group.cond:
            group.queue.append(mine)
            try:
                while not mine.done:
                    if not group.leading and not mine.taken:
                        group.leading = True
                        break
                    left = deadline - time.monotonic()
                    if mine.taken:
                        group.cond.wait()
                    elif left <= 0:
                        raise ReceiptLogError(errno.ETIMEDOUT, f"{self.path}: another thread held the receipt log for longer than {self.lock_timeout_s * 1000:.0f} ms")
                    else:
                        group.cond.wait(left)
            except BaseException:
                if not mine.taken:  # not committed, and no leader will take it now
                    group.queue.remove(mine)
                raise
        if not mine.done:
            self._lead(group, mine, deadline)
        if mine.error is not None:
            raise mine.error
        assert mine.receipts is not None
        return mine.receipts

    def _group_state(self) -> _Group:
        """The group-commit queue of this process (a forked child starts with its own, empty one)."""
        group = self._group
        if group.pid != os.getpid():
            group = self._group = _Group(os.getpid())
        return group

    def _lead(self, group: _Group, mine: _Pending, deadline: float) -> None:
        """Commit MINE and the appends waiting now (up to MAX_GROUP in all) and wake them all."""
        with group.cond:
            group.queue.remove(mine)
            taken = [mine, *group.queue[: MAX_GROUP - 1]]
            del group.queue[: MAX_GROUP - 1]
            for pending in taken:
                pending.taken = True
        try:
            self._commit(taken, deadline)
        except BaseException as exc:
            failure = exc if isinstance(exc, ReceiptLogError) else ReceiptLogError(f"{self.path}: cannot record the receipt: {exc}")
            for pending in taken:
                if pending.error is None and pending.receipts is None:
                    # each waiting append gets its own exception object (they are raised in different threads)
                    pending.error = failure if pending is mine else ReceiptLogError(*failure.args)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and the like: the others fail, the leader's thread stops
        finally:
            with group.cond:
                for pending in taken:
                    pending.done = True
                group.leading = False
                group.cond.notify_all()

    def _commit(self, group: list[_Pending], deadline: float) -> None:
        if not self._lock.acquire(timeout=max(deadline - time.monotonic(), 0.001)):
            raise ReceiptLogError(errno.ETIMEDOUT, f"{self.path}: another thread held the receipt log for longer than {self.lock_timeout_s * 1000:.0f} ms")
        try:
            self._locked(deadline, lambda fd, key: self._write(fd, key, group))
        except ReceiptLogError:
            self._known = None
            raise
        except (OSError, ValueError, TypeError, cp.CheckpointError) as exc:
            self._known = None
            raise ReceiptLogError(f"{self.path}: cannot record the receipt: {exc}") from exc
        finally:
            self._lock.release()

    def append(self, body: JSONObject) -> JSONObject:
        return self.append_many([body])[0]

    @staticmethod
    def _truncate(fd: int, size: int) -> None:
        with contextlib.suppress(OSError):  # the next append repairs a torn tail before chaining on
            os.ftruncate(fd, size)

    # -- head and rotation -----------------------------------------------------------------------
    def rotate(self) -> tuple[Path, JSONObject]:
        """Move the log and its signed head aside (receipts.<time>.jsonl) and start a new log whose
        chain continues from the rotated log's head. Returns (the rotated log's path, its head)."""
        deadline = time.monotonic() + self.lock_timeout_s
        with self._lock:
            return self._locked(deadline, self._rotate)

    def _rotate(self, fd: int, key: Ed25519PrivateKey) -> tuple[Path, JSONObject]:
        st = os.fstat(fd)
        try:
            state = self._state(fd, key)
        except (ReceiptLogError, cp.CheckpointError):
            try:
                found = cp.read_head(self.path)
            except cp.CheckpointError:
                found = None  # an unreadable head (e.g. lost in a power failure): adopt the log if its chain verifies
            if found is not None and found[0]["count"]:
                # a log that no longer matches its signed head (receipts removed, lines changed) is moved
                # aside as it is, for investigation; the new log continues from the last signed head
                head = found[0]
            elif found is None:
                head = self._adopt(fd, key, st)  # a log without a head (an older version wrote it)
            else:
                raise
        else:
            if state.count == 0:
                raise ReceiptLogError(errno.EINVAL, f"{self.path}: the log holds no receipts; nothing to rotate")
            head = self._sign(key, state, (st.st_dev, st.st_ino))
            cp.write_head(self.path, head, fsync=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        stem = self.path.name[: -len(".jsonl")] if self.path.name.endswith(".jsonl") else self.path.name
        for n in range(1000):
            rotated = self.path.with_name(f"{stem}.{stamp}{'' if n == 0 else f'.{n}'}.jsonl")
            if not rotated.exists() and not cp.head_path(rotated).exists():
                break
        os.rename(cp.head_path(self.path), cp.head_path(rotated))
        os.rename(self.path, rotated)
        new_fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            new = os.fstat(new_fd)
        finally:
            os.close(new_fd)
        fresh = self._new_log(head)
        start = cp.sign_head(key, {
            "logId": fresh.log_id, "count": 0, "headDigest": None, "size": 0, "dev": new.st_dev, "inode": new.st_ino,
            "signedAt": utc_now(), "startDigest": fresh.start_digest, "previousLogId": fresh.previous_log_id,
        })
        start["previousLog"] = cp.flat(head)
        cp.write_head(self.path, start, fsync=True)
        return rotated, head

    def _adopt(self, fd: int, key: Ed25519PrivateKey, st: os.stat_result) -> JSONObject:
        """Sign the head of a log that has none (or an unreadable one), when its whole chain verifies
        and, for a log of this version, every receipt carries a valid MAC; anything else stays refused."""
        report = verify(self.path, require_head=False)
        if not report.ok:
            raise ReceiptLogError(errno.EINVAL, f"{self.path}: has no signed head and its chain is broken ({report}); move it aside by hand")
        line, end = _last_line(fd, st.st_size)
        previous = report.continues or {}
        if report.log_id:  # written by a version with receipt MACs: every receipt must carry a valid one
            self._unsigned_receipts(fd, key, report.log_id, 0, end, previous.get("headDigest"))
        state = _State(report.log_id or cp.new_log_id(), report.receipts, self._digest_of(line, "the last receipt"), end,
                       previous.get("headDigest"), previous.get("logId"), None)
        head = self._sign(key, state, (st.st_dev, st.st_ino))
        cp.write_head(self.path, head, fsync=True)
        return head

    def close(self) -> None:
        with self._lock:
            self._drop()
            if self._lock_fd is not None and self._lock_pid == os.getpid():
                os.close(self._lock_fd)
            self._lock_fd = None


__all__ = ["LOG_NAME", "ReceiptLog", "ReceiptLogError", "default_key_path"]
