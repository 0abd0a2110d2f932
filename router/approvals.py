"""Approval tokens and evaluation time: operator tools and the router's own clock.

An approval token is a compact JWS (a JWT) signed with Ed25519 by an issuer listed in the active
ApprovalTrustAnchors document. The policy verifies it (policies/model_router/approvals/token); this
module only makes keys and tokens for operators and tests (PyJWT with `cryptography`: nothing here
hand-rolls JWS or Ed25519), decodes a token for display without judging it, and stamps the evaluation
time the policy compares token and consent times with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# `cryptography` is imported on use, as PyJWT is in `issue()`: only the operator tools make keys, and it
# adds about 20 ms (`python -X importtime`) to every process that decides (router.api imports this module)
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PURPOSES = ("escalation-receipt", "egress-approval", "personal-activation")
MAX_TOKEN_CHARS = 8192
EVALUATION_TIME_ENV = "MODEL_ROUTER_EVALUATION_TIME"
# The fixed evaluation time the example bundles are decided at (tests, `make demo`): the committed
# tokens were issued for it, so they keep working whatever today's date is.
FIXTURE_EVALUATION_TIME = "2026-06-01T12:00:00Z"


class ApprovalError(ValueError):
    """An approval tool was given something unusable (names what and what was expected)."""


# -- evaluation time --------------------------------------------------------------------------


def evaluation_from_ns(ns: int) -> dict[str, Any]:
    """{"time": RFC 3339 UTC (seconds, `Z`), "timeNs": ns}."""
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"time": stamp, "timeNs": int(ns)}


def parse_evaluation_time(text: str, where: str = EVALUATION_TIME_ENV) -> dict[str, Any]:
    """The evaluation stamp for an RFC 3339 time with a zone (e.g. 2026-06-01T12:00:00Z)."""
    if not isinstance(text, str):
        raise ApprovalError(f"{where}: expected an RFC 3339 time, found {text!r}")
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ApprovalError(f"{where}: expected an RFC 3339 time such as 2026-06-01T12:00:00Z, found {text!r}") from None
    if dt.tzinfo is None:
        raise ApprovalError(f"{where}: expected an RFC 3339 time with a zone (Z or +hh:mm), found {text!r}")
    seconds = int(dt.timestamp())
    return evaluation_from_ns(seconds * 1_000_000_000 + dt.microsecond * 1000)


def now_evaluation() -> dict[str, Any]:
    """The evaluation stamp for the router's own clock now."""
    return evaluation_from_ns(time.time_ns())


def fixed_evaluation(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The fixed evaluation time configured in the environment (tests and replay), or None."""
    env = os.environ if env is None else env
    value = env.get(EVALUATION_TIME_ENV)
    return parse_evaluation_time(value) if value else None


# -- keys -------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(private_key: Ed25519PrivateKey) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def keygen(private_key_file: str | Path, kid: str) -> dict[str, Any]:
    """Write a new Ed25519 private key (PEM, PKCS#8, mode 0600) and return its anchor key entry."""
    if not kid:
        raise ApprovalError("--kid: expected a non-empty key id")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(private_key_file)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ApprovalError(f"{path}: already exists; expected a new file for the private key") from None
    except OSError as exc:
        raise ApprovalError(f"{path}: cannot create the private key file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)
    return {"kid": kid, "jwk": public_jwk(key), "status": "active"}


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ApprovalError(f"{path}: cannot read the private key: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ApprovalError(f"{path}: expected an unencrypted PEM Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ApprovalError(f"{path}: expected an Ed25519 private key, found {type(key).__name__}")
    return key


# -- tokens -----------------------------------------------------------------------------------


def issue(
    *,
    purpose: str,
    key: Ed25519PrivateKey | str | Path,
    kid: str,
    issuer: str,
    request_id: str,
    jti: str | None = None,
    issued_at: int | None = None,
    lifetime_s: int = 3600,
    not_before: int | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """Sign an approval token (EdDSA JWT) with KEY (a private key or a PEM file path)."""
    # imported on use: only the operator tools sign tokens, and PyJWT adds about 40 ms (measured) to
    # the import of every process that decides (router.api imports this module)
    import jwt

    if purpose not in PURPOSES:
        raise ApprovalError(f"--purpose: expected one of {', '.join(PURPOSES)}, found {purpose!r}")
    if isinstance(key, (str, Path)):
        key = load_private_key(key)
    iat = int(time.time()) if issued_at is None else int(issued_at)
    payload: dict[str, Any] = {
        "iss": issuer,
        "purpose": purpose,
        "jti": jti or f"urn:socioprophet:approval:{secrets.token_hex(8)}",
        "iat": iat,
        "exp": iat + int(lifetime_s),
        "requestId": request_id,
    }
    if not_before is not None:
        payload["nbf"] = int(not_before)
    payload.update(claims or {})
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})


def _segment(text: str, what: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApprovalError(f"token {what}: expected base64url-encoded JSON") from None


def inspect(token: str) -> dict[str, Any]:
    """The decoded header and claims of TOKEN, plus its digest. No verdict: that is the policy's."""
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise ApprovalError(f"token: expected at most {MAX_TOKEN_CHARS} characters, found {len(token)}")
    parts = token.split(".")
    if len(parts) != 3:
        raise ApprovalError(f"token: expected three base64url segments separated by '.', found {len(parts)}")
    return {
        "header": _segment(parts[0], "header"),
        "claims": _segment(parts[1], "claims"),
        "tokenDigest": "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest(),
    }
