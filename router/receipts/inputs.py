"""The input store: the prompt-stripped input bundle of every recorded decision, content-addressed.

A receipt records `inputDigest` = `sha256:` + SHA-256 of the canonical JSON of the input bundle the
policy was asked about (prompt text already removed, no `evaluation` member) and the evaluation time
(`evaluation`). The store keeps that canonical JSON in `inputs/<hex>.json` beside the log, so the exact
OPA input can be rebuilt later (`model-router replay`): the stored bundle plus the recorded evaluation.

- The folder is created 0700 inside the log's (0700) folder; each file is written 0600 with O_EXCL to
  a temporary name and renamed into place; an existing file is kept (same digest, same content).
- Reading checks that the file's digest equals the digest asked for: an edited file is refused.
- Prompt text is never stored (the router removes it before computing the digest). The stored bundle
  does carry what the policy needs to re-decide, including approval tokens and a human
  justification, so the folder is as private as the receipts themselves.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from router.receipts.build import strict_loads
from router.receipts.checkpoint import make_private_dirs, write_fully

STORE_NAME = "inputs"
MAX_INPUT_BYTES = 1024 * 1024 + 1024  # a bundle is at most 1 MiB of canonical JSON


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


class InputStore:
    """Content-addressed prompt-stripped input bundles (see the module docstring)."""

    def __init__(self, folder: str | Path, *, fsync: bool = True) -> None:
        self.folder = Path(folder)
        self.fsync = fsync

    @classmethod
    def beside(cls, log: str | Path, *, fsync: bool = True) -> InputStore:
        return cls(store_folder(log), fsync=fsync)

    def path_of(self, input_digest: object) -> Path:
        return self.folder / f"{_hex(input_digest)}.json"

    def put(self, input_digest: str, canonical: str) -> Path:
        """Store CANONICAL (the canonical JSON whose SHA-256 is INPUT_DIGEST); a stored copy is kept."""
        data = canonical.encode("utf-8")
        if "sha256:" + hashlib.sha256(data).hexdigest() != input_digest:
            raise InputStoreError(errno.EINVAL, f"{self.folder}: the input does not have the digest {input_digest}")
        target = self.path_of(input_digest)
        if target.exists():
            return target
        make_private_dirs(self.folder)
        tmp = self.folder / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            write_fully(fd, data, fsync=self.fsync)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        try:
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    def get(self, input_digest: object) -> dict[str, Any]:
        """The stored bundle for INPUT_DIGEST; InputStoreError when it is missing, unreadable or altered."""
        target = self.path_of(input_digest)
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise InputStoreError(errno.ENOENT, f"{target}: no stored input for {input_digest}") from None
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
        try:
            value = strict_loads(data)
        except (ValueError, RecursionError):
            raise InputStoreError(errno.EINVAL, f"{target}: the stored input is not JSON") from None
        if not isinstance(value, dict):
            raise InputStoreError(errno.EINVAL, f"{target}: $: expected an input bundle object")
        return value


__all__ = ["STORE_NAME", "InputStore", "InputStoreError", "store_folder"]
