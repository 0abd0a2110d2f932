"""The input store: the prompt-stripped input bundle of every recorded decision, content-addressed.

A receipt records `inputDigest` = `sha256:` + SHA-256 of the canonical JSON of the input bundle the
policy was asked about (prompt text already removed, no `evaluation` member) and the evaluation time
(`evaluation`). The store keeps that canonical JSON beside the log, so the exact OPA input can be
rebuilt later (`model-router replay`): the stored bundle plus the recorded evaluation.

Layout: `inputs/pack.jsonl`, an append-only file of one record per line, each the canonical JSON of
`{"input": <the bundle>, "inputDigest": "sha256:<hex>"}` — so the bundle's canonical bytes are the
line between the fixed prefix `{"input":` and the fixed-length digest suffix, and are hashed as they
are. The receipt log appends a commit group's inputs with one `write` and one fsync before it writes
the group's receipts (router.receipts.log: a receipt always finds its input, and N decisions
committed together cost two fsyncs, not N + 1). Stores written by earlier versions (one file per
input, `inputs/<hex>.json`) are still read.

- The folder is created 0700 inside the log's (0700) folder; the pack is opened 0600 with O_APPEND
  and O_NOFOLLOW, must be a regular file with one link, and is appended under an exclusive flock. A
  store keeps the pack open while it is the file at the pack's path (`close` closes it).
- A crash mid-append can leave a partial last line: the next append starts on a new line, and readers
  skip any line that is not a record (it names no input).
- Reading checks the bytes against the digest asked for: an edited record is refused. The same input
  may be stored more than once (two processes); the first record that verifies is used.
- Prompt text is never stored (the router removes it before computing the digest). The stored bundle
  does carry what the policy needs to re-decide, including approval tokens and a human
  justification, so the folder is as private as the receipts themselves.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from router.receipts.build import strict_loads
from router.receipts.checkpoint import make_private_dirs, write_fully

STORE_NAME = "inputs"
PACK_NAME = "pack.jsonl"
MAX_INPUT_BYTES = 1024 * 1024 + 1024  # a bundle is at most 1 MiB of canonical JSON
PREFIX = b'{"input":'
SUFFIX = re.compile(rb',"inputDigest":"sha256:([0-9a-f]{64})"\}\Z')
SUFFIX_BYTES = len(b',"inputDigest":"sha256:"}') + 64
REMEMBERED = 65536  # digests this process knows are stored (no second copy is appended for them)
CHUNK = 1 << 20


class InputStoreError(OSError):
    """An input could not be stored, or a stored input is missing, unreadable or altered."""


def store_folder(log: str | Path) -> Path:
    """The input store of the receipt log at LOG (shared by its rotated logs in the same folder)."""
    return Path(log).parent / STORE_NAME


def _hex(input_digest: object) -> str:
    """The hex part of a sha256:<hex> digest; any other value (a receipt may carry anything) is refused."""
    if not (isinstance(input_digest, str) and input_digest.startswith("sha256:") and len(input_digest) == 71):
        raise InputStoreError(errno.EINVAL, f"inputDigest: expected sha256:<64 hex digits>, found {input_digest!r}")
    hexpart = input_digest[7:]
    if any(c not in "0123456789abcdef" for c in hexpart):
        raise InputStoreError(errno.EINVAL, f"inputDigest: expected sha256:<64 lowercase hex digits>, found {input_digest!r}")
    return hexpart


def _record(input_digest: str, canonical: str) -> bytes:
    """The pack line (with its newline) for CANONICAL, the canonical JSON whose digest is INPUT_DIGEST."""
    return PREFIX + canonical.encode("utf-8") + b',"inputDigest":"' + input_digest.encode("ascii") + b'"}\n'


class InputStore:
    """Content-addressed prompt-stripped input bundles (see the module docstring)."""

    def __init__(self, folder: str | Path, *, fsync: bool = True) -> None:
        self.folder = Path(folder)
        self.fsync = fsync
        self._mutex = threading.Lock()
        self._stored: OrderedDict[str, None] = OrderedDict()  # hex digests known to be in the pack
        self._index: dict[str, list[tuple[int, int]]] = {}  # hex -> [(offset, length)] of its records
        self._indexed = 0  # bytes of the pack read into the index
        self._indexed_ident: tuple[int, int] | None = None
        self._fd: int | None = None  # the pack, open for appending (see _pack_fd)
        self._fd_pid: int | None = None

    @classmethod
    def beside(cls, log: str | Path, *, fsync: bool = True) -> InputStore:
        return cls(store_folder(log), fsync=fsync)

    @property
    def pack(self) -> Path:
        return self.folder / PACK_NAME

    def path_of(self, input_digest: object) -> Path:
        """Where an earlier version kept INPUT_DIGEST's input (one file per input; still read)."""
        return self.folder / f"{_hex(input_digest)}.json"

    # -- writing ---------------------------------------------------------------------------------
    def _pack_fd(self) -> int:
        """The pack, open for appending: the file this process opened, while it is still the one at the
        pack's path (the caller holds the mutex)."""
        fd = self._fd
        if fd is not None and self._fd_pid == os.getpid():
            try:
                at_path = os.stat(self.pack, follow_symlinks=False)
                mine = os.fstat(fd)
                if (at_path.st_dev, at_path.st_ino) == (mine.st_dev, mine.st_ino):
                    return fd
            except OSError:
                pass
            os.close(fd)
        self._fd = None  # a forked child opens its own (flock is per open file description)
        self._fd, self._fd_pid = self._open_pack(), os.getpid()
        return self._fd

    def close(self) -> None:
        with self._mutex:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def _open_pack(self) -> int:
        make_private_dirs(self.folder)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        created = not self.pack.exists()
        try:
            fd = os.open(self.pack, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputStoreError(errno.ELOOP, f"{self.pack}: the input store's pack is a symbolic link; refusing to write inputs through it") from None
            raise InputStoreError(exc.errno, f"{self.pack}: cannot open the input store: {exc.strerror}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise InputStoreError(errno.EINVAL, f"{self.pack}: expected a regular file with one link")
        if created and self.fsync:  # the pack's name is durable before anything refers to it
            dfd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return fd

    def put_many(self, items: Iterable[tuple[str, str]]) -> int:
        """Append the inputs ITEMS ((inputDigest, canonical JSON) pairs) not yet known to be stored: one
        `write` and (with fsync) one fsync for all of them. Returns how many records were appended.
        InputStoreError when an input does not have its digest or the pack cannot be written."""
        with self._mutex:
            fresh: dict[str, bytes] = {}
            for input_digest, canonical in items:
                hexpart = _hex(input_digest)
                if hexpart in self._stored or hexpart in fresh:
                    continue
                if "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest() != input_digest:
                    raise InputStoreError(errno.EINVAL, f"{self.folder}: the input does not have the digest {input_digest}")
                fresh[hexpart] = _record(input_digest, canonical)
            if not fresh:
                return 0
            fd = self._pack_fd()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    size = os.fstat(fd).st_size
                    # a partial last line (a crash mid-append) is left as it is; the records start on a new line
                    torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
                    write_fully(fd, (b"\n" if torn else b"") + b"".join(fresh.values()), fsync=self.fsync)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise InputStoreError(exc.errno, f"{self.pack}: cannot write to the input store: {exc.strerror or exc}") from None
            for hexpart in fresh:
                self._stored[hexpart] = None
            while len(self._stored) > REMEMBERED:
                self._stored.popitem(last=False)
            return len(fresh)

    # -- reading ---------------------------------------------------------------------------------
    def _refresh_index(self, fd: int, st: os.stat_result) -> None:
        """Read the records appended to the pack (open as FD, its fstat ST) since the last call into the
        index (the caller holds the mutex); another file at the path, or a shorter one, is read anew."""
        ident = (st.st_dev, st.st_ino)
        if ident != self._indexed_ident or st.st_size < self._indexed:  # another file, or cut short: start over
            self._index, self._indexed, self._indexed_ident = {}, 0, ident
        pos, carry, skipping = self._indexed, b"", False
        while pos < st.st_size:
            chunk = os.pread(fd, min(CHUNK, st.st_size - pos), pos)
            if not chunk:
                break
            start, data, pos = pos - len(carry), carry + chunk, pos + len(chunk)
            begin = 0
            if skipping:  # the rest of a line longer than any record: no record starts before its end
                nl = data.find(b"\n")
                if nl < 0:
                    carry, self._indexed = b"", pos
                    continue
                begin, skipping = nl + 1, False
            while (nl := data.find(b"\n", begin)) >= 0:
                self._note(data, begin, nl, start)
                begin = nl + 1
            carry = data[begin:]
            if len(carry) > MAX_INPUT_BYTES + 256:
                carry, skipping = b"", True
            self._indexed = pos - len(carry)

    def _note(self, data: bytes, begin: int, end: int, start: int) -> None:
        """Index the record in DATA[BEGIN:END] (at pack offset START + BEGIN), if it is one."""
        if end - begin < len(PREFIX) + SUFFIX_BYTES or not data.startswith(PREFIX, begin):
            return
        found = SUFFIX.search(data, end - SUFFIX_BYTES, end)
        if found is None:
            return
        hexpart = found.group(1).decode("ascii")
        self._index.setdefault(hexpart, []).append((start + begin + len(PREFIX), end - begin - len(PREFIX) - SUFFIX_BYTES))

    def _from_pack(self, input_digest: str, hexpart: str) -> dict[str, Any] | None:
        """The input INPUT_DIGEST from the pack: the first of its records that verifies; None when the
        pack holds no record of it; InputStoreError when each record of it fails its digest."""
        try:
            fd = os.open(self.pack, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputStoreError(exc.errno, f"{self.pack}: cannot read the input store: {exc.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputStoreError(errno.EINVAL, f"{self.pack}: expected a regular file")
            with self._mutex:
                if hexpart not in self._index or (st.st_dev, st.st_ino) != self._indexed_ident:
                    self._refresh_index(fd, st)
                places = list(self._index.get(hexpart, ()))
            for offset, length in places:
                data = os.pread(fd, length, offset)
                if len(data) == length and "sha256:" + hashlib.sha256(data).hexdigest() == input_digest:
                    return _parsed(data, f"{self.pack} (byte {offset})")
        finally:
            os.close(fd)
        if places:
            raise InputStoreError(errno.EINVAL, f"{self.pack}: the stored input does not match its digest {input_digest} (altered)")
        return None

    def get(self, input_digest: object) -> dict[str, Any]:
        """The stored bundle for INPUT_DIGEST; InputStoreError when it is missing, unreadable or altered."""
        hexpart = _hex(input_digest)
        assert isinstance(input_digest, str)
        value = self._from_pack(input_digest, hexpart)
        if value is not None:
            return value
        target = self.path_of(input_digest)  # a store written by an earlier version
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise InputStoreError(errno.ENOENT, f"{self.folder}: no stored input for {input_digest}") from None
        except OSError as exc:
            raise InputStoreError(exc.errno, f"{target}: cannot read the stored input: {exc.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputStoreError(errno.EINVAL, f"{target}: expected a regular file")
            chunks, size = [], 0
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_INPUT_BYTES:
                    raise InputStoreError(errno.EFBIG, f"{target}: expected at most {MAX_INPUT_BYTES} bytes")
                chunks.append(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if "sha256:" + hashlib.sha256(data).hexdigest() != input_digest:
            raise InputStoreError(errno.EINVAL, f"{target}: the stored input does not match its digest {input_digest} (altered)")
        return _parsed(data, str(target))


def _parsed(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = strict_loads(data)
    except (ValueError, RecursionError):
        raise InputStoreError(errno.EINVAL, f"{where}: the stored input is not JSON") from None
    if not isinstance(value, dict):
        raise InputStoreError(errno.EINVAL, f"{where}: $: expected an input bundle object")
    return value


__all__ = ["PACK_NAME", "STORE_NAME", "InputStore", "InputStoreError", "store_folder"]
