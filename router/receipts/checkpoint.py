"""Signed checkpoints ("heads") of a receipt log, and the Ed25519 receipt-signing key.

A head says: the log LOG_ID holds COUNT receipts, the last one's digest is HEAD_DIGEST and it ends
at byte SIZE of the file (device DEV, inode INODE); its chain starts at START_DIGEST (null, or the
head digest of the log it continues, PREVIOUS_LOG_ID). It is signed with Ed25519 over the canonical
JSON of every field except `signature` and `previousLog`, and written atomically beside the log
(`<log>.head`: a temporary file renamed into place; see write_head). A head of an empty log made by `receipts rotate` also
carries `previousLog`: the rotated log's own signed head, which the new log's first receipt records.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router.contracts.digest import sha256_text
from router.receipts.build import canonical, strict_loads

# `cryptography` is imported where a key is made, read or used (about 15-20 ms of `python -X importtime`):
# a process that decides with receipts off never needs it; with receipts on, the log reads its key at
# the first receipt
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEAD_KIND = "RouteDecisionReceiptLogHead"
LOG_ID_PREFIX = "urn:socioprophet:model-route-receipt-log:"
KEY_PREFIX = "ed25519:"
MAX_HEAD_BYTES = 64 * 1024
MAX_KEY_BYTES = 16 * 1024
HEAD_FIELDS = {
    "schemaVersion", "kind", "logId", "count", "headDigest", "size", "dev", "inode", "signedAt",
    "startDigest", "previousLogId", "publicKey", "signature", "previousLog",
}
PROMPT_DIGEST_PREFIX = "hmac-sha256:"


class CheckpointError(ValueError):
    """A head or key file is unusable (the message names the file and what was expected)."""


def head_path(log: str | Path) -> Path:
    log = Path(log)
    return log.with_name(log.name + ".head")


def new_log_id() -> str:
    return LOG_ID_PREFIX + secrets.token_hex(12)


# -- keys ----------------------------------------------------------------------------------------


def public_key_text(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str, where: str = "publicKey") -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        raise CheckpointError(f"{where}: expected an Ed25519 public key 'ed25519:<base64>'")
    try:
        raw = base64.b64decode(text[len(KEY_PREFIX):], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise CheckpointError(f"{where}: expected an Ed25519 public key 'ed25519:<base64 of 32 bytes>'") from None


def _read_small(path: Path, limit: int, what: str) -> bytes:
    """Read a small regular file without following a symlink at PATH."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a symlink
            raise CheckpointError(f"{path}: the {what} is a symbolic link; refusing to follow it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CheckpointError(f"{path}: the {what} is not a regular file")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise CheckpointError(f"{path}: the {what} is larger than {limit} bytes")
    return data


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    data = _read_small(path, MAX_KEY_BYTES, "receipt-signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CheckpointError(f"{path}: expected an unencrypted PEM Ed25519 private key (model-router receipts keygen)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: expected an Ed25519 private key, found {type(key).__name__}")
    mode = os.stat(path, follow_symlinks=False).st_mode
    if mode & 0o077:
        raise CheckpointError(f"{path}: the receipt-signing key is readable by others (mode {stat.S_IMODE(mode):04o}); expected 0600")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key file: 'ed25519:<base64>' (what keygen writes to KEY.pub), a PEM public key, or
    the private key itself."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    path = Path(path)
    data = _read_small(path, MAX_KEY_BYTES, "public key")
    text = data.decode("utf-8", "replace").strip()
    if text.startswith(KEY_PREFIX):
        return parse_public_key(text, str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise CheckpointError(f"{path}: expected an Ed25519 public key ('ed25519:<base64>' or PEM)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: expected an Ed25519 public key, found {type(key).__name__}")
    return key


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create PATH with DATA, complete or not at all: a temporary file linked into place (fails if PATH exists)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_fully(fd: int, data: bytes, *, fsync: bool) -> None:
    """Write all of DATA to FD (os.write may write less than asked), then fsync it when FSYNC."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if fsync:
        os.fsync(fd)


def make_private_dirs(folder: Path) -> None:
    """Create FOLDER and every missing folder above it with mode 0700 (existing ones are left as they are)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for item in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(item, 0o700)


def generate_key(path: str | Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 private key at PATH (mode 0600, never overwriting) and PATH.pub."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    make_private_dirs(path.parent)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_new(path, pem, 0o600)
    pub = path.with_name(path.name + ".pub")
    with contextlib.suppress(FileExistsError):
        _write_new(pub, (public_key_text(key.public_key()) + "\n").encode("ascii"), 0o644)
    return key


def load_or_create_key(path: str | Path) -> Ed25519PrivateKey:
    """The key at PATH; created (0600, in a 0700 folder) when there is none. Several processes may race:
    exactly one key wins and every one of them uses it."""
    path = Path(path)
    try:
        return load_private_key(path)
    except FileNotFoundError:
        pass
    try:
        return generate_key(path)
    except FileExistsError:
        return load_private_key(path)


def prompt_digest_key(key: Ed25519PrivateKey, log_id: str) -> bytes:
    """The per-log secret that keys prompt digests in receipts (derived from the signing key)."""
    from cryptography.hazmat.primitives import serialization

    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return hmac.new(seed, b"model-router receipt prompt digest v1\0" + log_id.encode("utf-8"), hashlib.sha256).digest()


def receipt_mac_key(key: Ed25519PrivateKey, log_id: str) -> bytes:
    """The per-log secret that authenticates each receipt line (derived from the signing key)."""
    from cryptography.hazmat.primitives import serialization

    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return hmac.new(seed, b"model-router receipt mac v1\0" + log_id.encode("utf-8"), hashlib.sha256).digest()


def receipt_mac(secret: bytes, receipt: dict[str, Any]) -> str:
    """hmac-sha256: + HMAC of the digest of RECEIPT without receiptDigest and receiptMac. Only the key
    holder can make it: receipts appended after the last signed head are signed by the next append
    only when each carries a valid MAC (a writer stopped between its append and its signature), never
    when someone without the key appended them."""
    body = {k: v for k, v in receipt.items() if k not in ("receiptDigest", "receiptMac")}
    return receipt_mac_of(secret, canonical(body))


def receipt_mac_of(secret: bytes, body: str) -> str:
    """receipt_mac of the receipt whose canonical JSON without receiptDigest and receiptMac is BODY."""
    return PROMPT_DIGEST_PREFIX + hmac.new(secret, sha256_text(body).encode("ascii"), hashlib.sha256).hexdigest()


def keyed_prompt_digest(secret: bytes, prompt_digest: str | None) -> str | None:
    """hmac-sha256: + hex HMAC of the prompt's sha256 digest under the log's secret (None stays None)."""
    if prompt_digest is None:
        return None
    return PROMPT_DIGEST_PREFIX + hmac.new(secret, prompt_digest.encode("ascii"), hashlib.sha256).hexdigest()


# -- heads ---------------------------------------------------------------------------------------


def signed_payload(head: dict[str, Any]) -> bytes:
    return canonical({k: v for k, v in head.items() if k not in ("signature", "previousLog")}).encode("utf-8")


def sign_head(key: Ed25519PrivateKey, fields: dict[str, Any]) -> dict[str, Any]:
    head = {"schemaVersion": "v0.1", "kind": HEAD_KIND, **fields, "publicKey": public_key_text(key.public_key())}
    head.pop("signature", None)
    head["signature"] = KEY_PREFIX + base64.b64encode(key.sign(signed_payload(head))).decode("ascii")
    return head


def flat(head: dict[str, Any]) -> dict[str, Any]:
    """A head as another log records it: without its own previousLog (which its signature does not cover)."""
    return {k: v for k, v in head.items() if k != "previousLog"}


def head_problems(head: Any, where: str) -> list[str]:
    """Shape problems of a parsed head (no signature check)."""
    if not isinstance(head, dict):
        return [f"{where}: expected a JSON object"]
    out = []
    if head.get("kind") != HEAD_KIND:
        out.append(f"{where}: $.kind: expected {HEAD_KIND!r}")
    extra = set(head) - HEAD_FIELDS
    if extra:
        out.append(f"{where}: unexpected field(s) {', '.join(sorted(extra))}")
    for name in ("count", "size", "dev", "inode"):
        v = head.get(name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            out.append(f"{where}: $.{name}: expected a non-negative integer")
    if not isinstance(head.get("logId"), str) or not head["logId"].startswith(LOG_ID_PREFIX):
        out.append(f"{where}: $.logId: expected {LOG_ID_PREFIX}<hex>")
    for name in ("headDigest", "startDigest"):
        v = head.get(name)
        if v is not None and not (isinstance(v, str) and v.startswith("sha256:")):
            out.append(f"{where}: $.{name}: expected sha256:<hex> or null")
    if not isinstance(head.get("signature"), str) or not isinstance(head.get("publicKey"), str):
        out.append(f"{where}: $.signature and $.publicKey: expected 'ed25519:<base64>' text")
    return out


def signature_valid(head: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    from cryptography.exceptions import InvalidSignature

    sig = head.get("signature")
    if not isinstance(sig, str) or not sig.startswith(KEY_PREFIX):
        return False
    try:
        public_key.verify(base64.b64decode(sig[len(KEY_PREFIX):], validate=True), signed_payload(head))
        return True
    except (InvalidSignature, ValueError):
        return False


def same_key(a: Ed25519PublicKey, b: Ed25519PublicKey) -> bool:
    return public_key_text(a) == public_key_text(b)


def parse_head(data: bytes, where: str) -> dict[str, Any]:
    try:
        head = strict_loads(data.rstrip(b"\n"))
    except ValueError as exc:
        raise CheckpointError(f"{where}: not a signed head: {exc}") from None
    problems = head_problems(head, where)
    if problems:
        raise CheckpointError("; ".join(problems))
    checked: dict[str, Any] = head  # head_problems found it an object with the head's fields
    return checked


def read_head_bytes(log: str | Path) -> bytes | None:
    """The bytes of the signed head of the log at LOG (unparsed), or None when it has no head file."""
    try:
        return _read_small(head_path(log), MAX_HEAD_BYTES, "signed head")
    except FileNotFoundError:
        return None


def read_head(log: str | Path) -> tuple[dict[str, Any], bytes] | None:
    """(head, its bytes) of the log at LOG, or None when it has no head file."""
    data = read_head_bytes(log)
    if data is None:
        return None
    return parse_head(data, str(head_path(log))), data


def write_head(log: str | Path, head: dict[str, Any], *, fsync: bool = True) -> bytes:
    """Write HEAD beside LOG atomically (a temporary file, fsynced when FSYNC, renamed into place);
    return the bytes written."""
    path = head_path(log)
    data = (canonical(head) + "\n").encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            write_fully(fd, data, fsync=fsync)
        finally:
            os.close(fd)
        os.replace(tmp, path)  # rename never follows a symlink at PATH: it replaces the link itself
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The folder is not fsynced: if a crash loses the rename, the previous head stays and the next
    # append signs the receipts written after it (a reader meanwhile sees them as not yet covered).
    return data


def head_json(head: dict[str, Any]) -> str:
    return json.dumps(head, indent=2, sort_keys=True)
