"""The model-router command line.

Exit codes (decide, explain, demo):
    0  the request may proceed: selected, downgraded or fallback
    3  it may not: deferred, denied or quarantined (including every fail-closed engine fault)
    2  unusable input (file missing, not JSON, fails the bundle schema, bad settings)
    1  internal error
`receipts verify`/`head`: 0 chain and signed head intact, 3 broken (or a head/count expectation unmet), 2 log unreadable.
`replay`/`shadow report`: 0 report made (gate passed), 3 the gate failed, 2 unusable log, store or policy.
`hook`: guardrail-fabric's hook exit code (0, with the blocking answer in the printed response);
2 when guardrail-fabric is not installed or the settings are unusable.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_INTERNAL, EXIT_UNUSABLE, EXIT_REFUSED = 0, 1, 2, 3


def _sigterm_exits() -> None:
    """Let SIGTERM unwind normally so the managed OPA is stopped (atexit, context managers)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _unusable_types() -> tuple[type, ...]:
    from router.bundle_input import InvalidBundle
    from router.config import ConfigError

    from router.approvals import ApprovalError

    types: list[type] = [InvalidBundle, ConfigError, ApprovalError]
    try:
        from router.contracts.errors import UnusableInput

        types.append(UnusableInput)
    except ImportError:
        pass
    return tuple(types)


def _report_unusable(exc: Exception) -> None:
    from router.bundle_input import InvalidBundle

    if isinstance(exc, InvalidBundle):
        click.echo(f"error: unusable input bundle ({len(exc.violations)} problem{'s' if len(exc.violations) != 1 else ''}):", err=True)
        for v in exc.violations:
            click.echo(f"  {v}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


def router_options(fn):
    """Options shared by the commands that decide."""
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False), help="settings file (none is read unless named) [env MODEL_ROUTER_CONFIG]"),
        click.option("--opa-url", help="use this OPA (serving the model-router bundle) instead of starting one [env MODEL_ROUTER_OPA_URL]"),
        click.option("--timeout-ms", type=float, help="decision timeout in milliseconds (default 500) [env MODEL_ROUTER_TIMEOUT_MS]"),
        click.option("--receipts-dir", type=click.Path(file_okay=False), help="directory of the receipt log [env MODEL_ROUTER_RECEIPTS_DIR]"),
        click.option("--no-receipts", is_flag=True, help="record no receipt"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts, **options):
    from router.api import Router
    from router.config import ignored_cwd_config

    ignored = ignored_cwd_config(config_file)
    if ignored is not None:
        click.echo(f"note: {ignored.resolve()} is not read (settings files are read only when named: --config or MODEL_ROUTER_CONFIG)", err=True)

    return Router(
        config_file=config_file,
        opa_url=opa_url,
        timeout_ms=timeout_ms,
        receipts_dir=receipts_dir,
        receipts=False if no_receipts else None,
        **options,
    )


def _fault_note(decision) -> None:
    if decision.fault:
        click.echo(escape_controls(f"fail-closed: {decision.reason}: {decision.detail}"), err=True)


class _Group(click.Group):
    """Turns an unexpected exception into `internal error: ...` and exit code 1
    (set MODEL_ROUTER_DEBUG=1 for the traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            import os

            if os.environ.get("MODEL_ROUTER_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="model-router", prog_name="model-router")
def main() -> None:
    """model-router: governed model routing decisions, evaluated by OPA.

    \b
    Exit codes: 0 selected/downgraded/fallback, 3 deferred/denied/quarantined,
    2 unusable input, 1 internal error.
    """
    _sigterm_exits()


def escape_controls(text: str) -> str:
    """TEXT with control and format characters (\\r, ESC, bidi overrides, ...) shown as escapes, so
    that a field cannot move the cursor, recolour or rewrite what a terminal shows."""
    import unicodedata

    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or unicodedata.category(ch) == "Zs" else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


def table(rows: list[list[str]], headers: list[str]) -> str:
    rows = [[escape_controls(str(x)) for x in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*row) for row in rows]
    return "\n".join(line.rstrip() for line in out)


def decision_row(name: str, decision) -> list[str]:
    return [name, decision.route or "-", decision.status, decision.reason]


@main.command()
@click.argument("bundle", metavar="BUNDLE.json|-")
@click.option("--format", "fmt", type=click.Choice(["decision", "receipt", "guardrail", "agentplane", "table"]), default="decision", show_default=True)
@click.option("--agentplane-receipts", is_flag=True, help="also append the agentplane lane-decision receipt beside the receipt log")
@router_options
def decide(bundle, fmt, agentplane_receipts, config_file, opa_url, timeout_ms, receipts_dir, no_receipts):
    """Decide one input bundle (a file, or - for standard input) and print the decision.

    \b
    --format agentplane prints agentplane's lane-decision receipt; when the projection is
    refused (no runRef, a personal route, a value with no agentplane counterpart) the reasons
    go to standard error and the exit code is 3.
    """
    from router import bundle_input

    unusable = _unusable_types()
    if agentplane_receipts and no_receipts:
        _fail("error: --agentplane-receipts writes beside the receipt log; it cannot be used with --no-receipts", EXIT_UNUSABLE)
    options = {"agentplane": fmt == "agentplane", "agentplane_receipts": agentplane_receipts}
    try:
        prep = bundle_input.load(bundle)
        with _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts, **options) as router:
            decision = router.decide(prep)
            if fmt == "agentplane":
                out = _agentplane_or_exit(decision)
            elif fmt == "decision":
                out = json.dumps(decision.to_dict(), indent=2, ensure_ascii=False)
            elif fmt == "guardrail":
                out = json.dumps(decision.to_guardrail(), indent=2, ensure_ascii=False)
            elif fmt == "receipt":
                if decision.receipt is None:
                    _fault_note(decision)
                    _fail("error: no receipt was recorded (receipts are off, or the log is not writable)", decision.exit_code if decision.fault else EXIT_UNUSABLE)
                out = json.dumps(decision.receipt, indent=2, ensure_ascii=False)
            else:
                out = table([decision_row(prep.source, decision)], ["bundle", "lane/target", "status", "reason"])
    except unusable as exc:
        _report_unusable(exc)
        if fmt == "guardrail":  # the refusal is still a guardrail document (quarantine, or defer when oversized)
            from router import guardrail

            click.echo(json.dumps(guardrail.unusable_projection(getattr(exc, "violations", ()), guardrail.local_context()), indent=2))
        sys.exit(EXIT_UNUSABLE)
    click.echo(out)
    _fault_note(decision)
    sys.exit(decision.exit_code)


def _agentplane_or_exit(decision) -> str:
    from router.agentplane import ProjectionRefused
    from router.api import _local_policy_data
    from router.guardrail import describe_reason, remediation_for

    try:
        return json.dumps(decision.to_agentplane(), indent=2, ensure_ascii=False)
    except ProjectionRefused as exc:
        reasons = _local_policy_data().get("reasons") or {}
        click.echo(f"error: no agentplane lane-decision receipt for {decision.decision_id}:", err=True)
        for code in exc.reasons:
            fix = remediation_for(reasons, code)
            click.echo(f"  {describe_reason(reasons, code)}" + (f"; fix: {fix}" if fix else ""), err=True)
        if exc.detail:
            click.echo(f"  {exc.detail}", err=True)
        _fault_note(decision)
        sys.exit(EXIT_REFUSED)


@main.command()
@click.argument("bundle", metavar="BUNDLE.json|-")
@click.option("--json", "as_json", is_flag=True, help="print the explanation as JSON")
@router_options
def explain(bundle, as_json, config_file, opa_url, timeout_ms, receipts_dir, no_receipts):
    """Explain the decision for a bundle: the chosen route, why every other one was rejected, what would change it."""
    from router import bundle_input

    try:
        prep = bundle_input.load(bundle)
        with _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts) as router:
            explanation = router.explain(prep)
    except _unusable_types() as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    click.echo(json.dumps(explanation.to_dict(), indent=2) if as_json else "\n".join(escape_controls(line) for line in explanation.lines))
    sys.exit(explanation.decision.exit_code)


@main.command()
@click.option("--payload-limit-bytes", type=click.IntRange(min=1), default=1_048_576, show_default=True,
              help="larger stdin is not parsed: the answer is defer")
@click.option("--write-log", is_flag=True, help="append the decision to guardrail-fabric's decision log (and the route evidence beside it)")
@click.option("--log-path", type=click.Path(dir_okay=False), help="guardrail-fabric decision log (default .sourceos/logs/guardrail-decisions.jsonl under the payload's cwd)")
@click.option("--debug-decision", is_flag=True, help="print the full guardrail decision instead of the hook response")
@router_options
def hook(payload_limit_bytes, write_log, log_path, debug_decision, config_file, opa_url, timeout_ms, receipts_dir, no_receipts):
    """Decide a Claude-Code hook payload on standard input for guardrail-fabric.

    \b
    The route bundle is the payload's tool_input.routeBundle. Prints exactly what guardrail-fabric's
    render_claude_code_response renders for the decision (nothing for allow) and exits with its exit
    code; oversized input is defer, unparsable input or a missing/invalid bundle is quarantine.
    Exit 2 (which a Claude Code hook treats as blocking) when guardrail-fabric is not installed or the
    settings are unusable.
    """
    try:
        from router.integrations import guardrail_fabric as gfi

        gfi._fabric()
    except ImportError as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    data = sys.stdin.buffer.read(payload_limit_bytes + 1)
    try:
        result = gfi.evaluate_hook(
            data[:payload_limit_bytes], len(data) > payload_limit_bytes,
            lambda: _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts),
            write_log=write_log, log_path=log_path,
        )
    except _unusable_types() as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    if debug_decision:
        click.echo(json.dumps(result.event.policy_decision.to_dict(), indent=2, sort_keys=True))
    elif result.response is not None:
        click.echo(json.dumps(result.response, sort_keys=True))
    sys.exit(result.exit_code)


def _register_validate() -> None:
    try:
        from router.contracts.command import validate_command  # type: ignore[import-not-found]
    except Exception:  # absent or broken: the bundle-only validator below keeps the CLI usable
        validate_command = None
    if validate_command is not None:
        main.add_command(validate_command, "validate")
        return

    @main.command("validate")
    @click.argument("files", nargs=-1, required=True, type=click.Path())
    def validate(files):
        """Validate input bundles against the RouteInputBundle schema."""
        from router import bundle_input

        bad = 0
        for f in files:
            try:
                bundle_input.load(f)
                click.echo(f"{f}: ok")
            except bundle_input.InvalidBundle as exc:
                bad += 1
                for v in exc.violations:
                    click.echo(str(v), err=True)
        sys.exit(EXIT_UNUSABLE if bad else EXIT_OK)


_register_validate()


def _register_approvals() -> None:
    from router.approvals_cli import approvals_group

    main.add_command(approvals_group, "approvals")


_register_approvals()


def _register_replay() -> None:
    from router.replay.cli import replay_command, shadow_group

    main.add_command(replay_command, "replay")
    main.add_command(shadow_group, "shadow")


_register_replay()


def _register_fleet() -> None:
    from router.fleet_cli import fleet_group

    main.add_command(fleet_group, "fleet")


_register_fleet()


@main.group()
def receipts():
    """Receipt log tools."""


def _log_path(path) -> Path:
    from router.receipts import LOG_NAME

    target = Path(path)
    return target / LOG_NAME if target.is_dir() else target


@receipts.command("verify")
@click.argument("path", type=click.Path())
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="the public key to trust (KEY.pub from keygen, a PEM public key); default: the key recorded in the signed head beside the log")
@click.option("--expect-head", metavar="DIGEST", help="a receipt digest exported earlier (receipts head): it must still be in the chain")
@click.option("--min-count", type=click.IntRange(min=0), help="the log must hold at least this many receipts")
def receipts_verify(path, key_file, expect_head, min_count):
    """Check a receipt log: canonical lines, the hash chain and the signed head; report the first problem."""
    from router.receipts import CheckpointError, UnreadableLog, load_public_key, verify

    target = _log_path(path)
    try:
        key = load_public_key(key_file) if key_file else None
    except (OSError, CheckpointError) as exc:
        _fail(f"error: {key_file}: {exc.strerror}" if isinstance(exc, OSError) else f"error: {exc}", EXIT_UNUSABLE)
    try:
        report = verify(target, public_key=key, expect_head=expect_head, min_count=min_count)
    except (UnreadableLog, OSError) as exc:
        _fail(f"error: {target}: {exc.strerror or exc}", EXIT_UNUSABLE)
    click.echo(f"{target}: {report}")
    sys.exit(EXIT_OK if report.ok else EXIT_REFUSED)


@receipts.command("head")
@click.argument("path", type=click.Path())
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="the public key to trust (default: the one in the head)")
def receipts_head(path, key_file):
    """Print the log's signed head (count, head digest, log id, signature) for export, after verifying the log."""
    from router.receipts import CheckpointError, UnreadableLog, load_public_key, verify

    target = _log_path(path)
    try:
        key = load_public_key(key_file) if key_file else None
        report = verify(target, public_key=key)
    except (UnreadableLog, CheckpointError, OSError) as exc:
        _fail(f"error: {target}: {getattr(exc, 'strerror', None) or exc}", EXIT_UNUSABLE)
    if not report.ok:
        _fail(f"{target}: {report}", EXIT_REFUSED)
    click.echo(json.dumps(report.head, indent=2, sort_keys=True))


@receipts.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False))
def receipts_keygen(path):
    """Create an Ed25519 receipt-signing key at PATH (mode 0600) and its public key at PATH.pub."""
    from router.receipts import generate_key
    from router.receipts.checkpoint import public_key_text

    try:
        key = generate_key(path)
    except FileExistsError:
        _fail(f"error: {path}: already exists; not overwriting a key", EXIT_UNUSABLE)
    except OSError as exc:
        _fail(f"error: {path}: {exc.strerror or exc}", EXIT_UNUSABLE)
    click.echo(f"{path}: private receipt-signing key (0600); set receipts_key or MODEL_ROUTER_RECEIPTS_KEY to it")
    click.echo(f"{path}.pub: {public_key_text(key.public_key())}")


@receipts.command("rotate")
@click.argument("path", type=click.Path())
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="the receipt-signing key (default: the configured one, else the router's own beside the log)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="settings file (for receipts_key)")
def receipts_rotate(path, key_file, config_file):
    """Move the log and its signed head aside (receipts.<time>.jsonl) and start a new log that continues the chain."""
    from router.config import load_settings
    from router.receipts import ReceiptLog, ReceiptLogError

    target = _log_path(path)
    try:
        key = key_file or load_settings(config_file).receipts_key
    except _unusable_types() as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    log = ReceiptLog(target, key_path=key)
    try:
        rotated, head = log.rotate()
    except ReceiptLogError as exc:
        _fail(f"error: {exc.strerror or exc}", EXIT_REFUSED)
    finally:
        log.close()
    click.echo(f"{target}: rotated to {rotated} ({head['count']} receipts, head {head['headDigest']}); the new log continues from it")


@main.group()
def policy():
    """Policy-author tools (wrappers over the pinned OPA)."""


def _opa() -> str:
    from router.opa_binary import OpaNotFound, find_opa

    try:
        return str(find_opa())
    except OpaNotFound as exc:
        _fail(f"error: {exc}", EXIT_INTERNAL)


def _run(cmd: list[str]) -> None:
    from router import paths

    click.echo("$ " + " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd)), err=True)
    sys.exit(subprocess.run(cmd, cwd=paths.ROOT).returncode)


def _ensure_data() -> None:
    """Assemble build/data as `make data` does (policy data, plus the fixture data when present)."""
    from router import policy_data

    try:
        policy_data.write()
    except policy_data.PolicyDataError as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    try:
        from router import fixture_data
    except ImportError:
        return
    try:
        fixture_data.write()
    except Exception as exc:  # a broken fixture is reported, not hidden
        _fail(f"error: {exc}", EXIT_UNUSABLE)


@policy.command("test", context_settings={"ignore_unknown_options": True})
@click.argument("opa_args", nargs=-1, type=click.UNPROCESSED)
def policy_test(opa_args):
    """opa test policies/model_router build/data with the capabilities file (extra args go to OPA)."""
    _ensure_data()
    _run([_opa(), "test", "policies/model_router", "build/data", "--capabilities", "policies/capabilities.json", *opa_args])


@policy.command("check", context_settings={"ignore_unknown_options": True})
@click.argument("opa_args", nargs=-1, type=click.UNPROCESSED)
def policy_check(opa_args):
    """opa check --strict with the capabilities file (and the input schema)."""
    from router import paths

    _ensure_data()
    schema = ["--schema", "schemas/route-input-bundle.schema.json"] if (paths.SCHEMAS / "route-input-bundle.schema.json").exists() else []
    _run([_opa(), "check", "--strict", "--capabilities", "policies/capabilities.json", *schema, "policies/model_router", "build/data", *opa_args])


@policy.command("fmt")
@click.option("--write", is_flag=True, help="rewrite the files instead of listing the unformatted ones")
def policy_fmt(write):
    """opa fmt: list the .rego files that are not formatted (exit 1), or rewrite them with --write."""
    if write:
        _run([_opa(), "fmt", "--write", "policies/model_router"])
    _run([_opa(), "fmt", "--list", "--fail", "policies/model_router"])


@policy.command("build")
@click.option("--force", is_flag=True, help="rebuild even when nothing changed")
def policy_build(force):
    """Build build/bundle.tar.gz (revision = content digest) with opa build."""
    from router import bundle

    sys.exit(bundle.main(["--force"] if force else []))


@main.command("opa-path")
def opa_path():
    """Print the path of the pinned OPA binary the router uses."""
    click.echo(_opa())


@main.command()
@click.option("--full", "full_name", default=None, help="the bundle (file name) to print in full (default: the first)")
@router_options
def demo(full_name, config_file, opa_url, timeout_ms, receipts_dir, no_receipts):
    """Decide every example bundle: a compact table, then one decision in full."""
    from router import demo as demo_mod

    try:
        code = demo_mod.run(
            full_name=full_name, config_file=config_file, opa_url=opa_url, timeout_ms=timeout_ms,
            receipts_dir=receipts_dir, no_receipts=no_receipts,
        )
    except _unusable_types() as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    sys.exit(code)


__import__("router.package_cli").package_cli.register(main)  # opa-path (replaces the one above), install-opa, serve-bundle

if __name__ == "__main__":
    main()
