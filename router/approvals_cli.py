"""`model-router approvals keygen | issue | inspect`: operator tools for approval tokens.

The verdict on a token is always the policy's (`model-router explain` shows it); these commands only
make keys and tokens and show what a token says.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from router import approvals

EXIT_OK, EXIT_UNUSABLE = 0, 2


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


@click.group("approvals")
def approvals_group() -> None:
    """Approval tokens (EdDSA JWTs): make keys, issue tokens, inspect them."""


@approvals_group.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="new private key file (PEM, written with mode 0600)")
@click.option("--kid", required=True, help="key id to publish in the trust anchors")
def keygen(out: str, kid: str) -> None:
    """Make an Ed25519 key pair; print the trust-anchor key entry (public key only)."""
    try:
        entry = approvals.keygen(out, kid)
    except approvals.ApprovalError as exc:
        _fail(str(exc))
    click.echo(json.dumps(entry, indent=2))


def _claims(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            _fail(f"--claim {pair!r}: expected NAME=VALUE (VALUE may be JSON, e.g. dataClasses='[\"internal\"]')")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


@approvals_group.command("issue")
@click.option("--purpose", required=True, type=click.Choice(approvals.PURPOSES))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False), help="the issuer's private key (PEM)")
@click.option("--kid", required=True, help="the key id the trust anchors list for this key")
@click.option("--issuer", required=True, help="the issuer id (an issuerId of the trust anchors)")
@click.option("--request-id", required=True, help="the request the token approves")
@click.option("--jti", help="token id; the bundle's reference field must equal it (default: a random URN)")
@click.option("--lifetime", type=click.IntRange(1, 31536000), default=3600, show_default=True, help="seconds until exp")
@click.option("--issued-at", type=int, help="iat (NumericDate seconds; default now)")
@click.option("--not-before", type=int, help="nbf (NumericDate seconds; optional)")
@click.option("--task-class", help="escalation-receipt: the request's task class")
@click.option("--reason", help="escalation-receipt: the escalation reason")
@click.option("--max-lane", help="escalation-receipt and egress-approval: the highest lane approved")
@click.option("--data-class", "data_classes", multiple=True, help="egress-approval: a data class that may leave the device (repeat)")
@click.option("--binding", help="personal-activation: the binding id")
@click.option("--artifact", help="personal-activation: the personal artifact")
@click.option("--contract", help="personal-activation: the ledger contract id")
@click.option("--claim", "extra", multiple=True, help="any other claim as NAME=VALUE")
def issue(purpose: str, key_file: str, kid: str, issuer: str, request_id: str, jti: str | None, lifetime: int,
          issued_at: int | None, not_before: int | None, task_class: str | None, reason: str | None, max_lane: str | None,
          data_classes: tuple[str, ...], binding: str | None, artifact: str | None, contract: str | None, extra: tuple[str, ...]) -> None:
    """Sign an approval token and print it (the token is a credential: handle it like one)."""
    claims: dict[str, Any] = {k: v for k, v in {
        "taskClass": task_class, "reason": reason, "maxLane": max_lane,
        "dataClasses": list(data_classes) if data_classes else None,
        "bindingRef": binding, "artifactRef": artifact, "contractId": contract,
    }.items() if v is not None}
    claims.update(_claims(extra))
    try:
        token = approvals.issue(purpose=purpose, key=key_file, kid=kid, issuer=issuer, request_id=request_id, jti=jti,
                                issued_at=issued_at, lifetime_s=lifetime, not_before=not_before, claims=claims)
    except approvals.ApprovalError as exc:
        _fail(str(exc))
    click.echo(token)


@approvals_group.command("inspect")
@click.argument("token")
def inspect(token: str) -> None:
    """Print a token's decoded header and claims and its digest (no verdict: that is the policy's)."""
    if token == "-":
        token = sys.stdin.read(approvals.MAX_TOKEN_CHARS + 2)
    try:
        shown = approvals.inspect(token)
    except approvals.ApprovalError as exc:
        _fail(str(exc))
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
