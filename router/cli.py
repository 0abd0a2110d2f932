"""The model-router command line.

Exit codes (decide, explain, demo):
    0  the request may proceed: selected, downgraded or fallback
    3  it may not: deferred, denied or quarantined (including every fail-closed engine fault)
    2  unusable input (file missing, not JSON, fails the bundle schema, bad settings)
    1  internal error
With several bundles (files, or JSON Lines on standard input) the exit code is the most severe of
the bundles' codes, in the order 1, 2, 3, 0.
`receipts verify`/`head`: 0 chain and signed head intact, 3 broken (or a head/count expectation unmet), 2 log unreadable.
`replay`/`shadow report`: 0 report made (gate passed), 3 the gate failed, 2 unusable log, store or policy.
`hook`: guardrail-fabric's hook exit code (0, with the blocking answer in the printed response);
2 when guardrail-fabric is not installed or the settings are unusable.

A file argument may be `-` for standard input wherever a file is read (decide, explain, validate,
receipts verify, approvals inspect).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from importlib import import_module
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from router import (
    agentplane,
    bundle_input,
    fixture_data,
    guardrail,
    local_policy,
    opa_binary,
    opa_supervisor,
    paths,
    policy_data,
)
from router import bundle as bundle_mod
from router.approvals import ApprovalError
from router.approvals_cli import approvals_group
from router.bundle_input import InvalidBundle
from router.config import ConfigError, ignored_cwd_config, load_settings
from router.contracts.errors import UnusableInput, Violation
from router.data_views import PolicyDataError
from router.decision import Decision
from router.package_cli import register as register_package_commands
from router.receipts import (
    LOG_NAME,
    CheckpointError,
    ReceiptLog,
    ReceiptLogError,
    UnreadableLog,
    generate_key,
    load_public_key,
    verify,
)
from router.receipts.checkpoint import public_key_text
from router.render import decision_row, escape_controls, table

if TYPE_CHECKING:
    from router.api import Router

EXIT_OK, EXIT_INTERNAL, EXIT_UNUSABLE, EXIT_REFUSED = 0, 1, 2, 3
# the reader of standard output went away (`decide - | head`): 128 + SIGPIPE, as a shell reports a
# writer the pipe stopped; nothing more is printed
EXIT_BROKEN_PIPE = 141
# the order in which several bundles' exit codes combine: the last present wins
EXIT_SEVERITY = (EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE, EXIT_INTERNAL)
EXIT_CODES_HELP = """\b
Exit codes:
  0  the request may proceed: selected, downgraded or fallback
  3  it may not: deferred, denied or quarantined (every fail-closed fault too)
  2  unusable input (file missing, not JSON, fails the bundle schema, bad settings)
  1  internal error
  141  standard output was closed by its reader (e.g. piped into head)
  several bundles: the most severe of their codes, in the order 1, 2, 3, 0"""
# one JSON Lines record on standard input is at most one bundle's size (1 MiB)
MAX_LINE_BYTES = bundle_input.MAX_BYTES
STDIN = "-"
STDIN_SOURCE = "<stdin>"
UNUSABLE = (InvalidBundle, ConfigError, ApprovalError, UnusableInput)
FORMATS = ("decision", "receipt", "guardrail", "agentplane", "table")

# The one place the command line imports lazily: each of these commands costs measurable start-up
# time that `model-router decide` does not need (measured with `python -X importtime -m router.cli`):
# validate loads jsonschema and the contracts package (~60 ms), replay/shadow the replay engine
# (~15 ms), fleet the fleet manager. A command's module is imported when the command is looked up.
# The one other lazy import is in `hook`: the guardrail-fabric integration and guardrail_fabric itself
# (~30 ms after router.api), which only that command uses.
LAZY_COMMANDS = {
    "validate": ("router.contracts.command", "validate_command"),
    "replay": ("router.replay.cli", "replay_command"),
    "shadow": ("router.replay.cli", "shadow_group"),
    "fleet": ("router.fleet_cli", "fleet_group"),
}

F = TypeVar("F", bound=Callable[..., Any])

# the key under which the entry point (router.launch) hands a started managed OPA's supervisor to the
# command in click's context object
EARLY_SUPERVISOR = "opa_supervisor"


def _sigterm_exits() -> None:
    """Let SIGTERM unwind normally so the managed OPA is stopped (atexit, context managers)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def most_severe(codes: Sequence[int]) -> int:
    """The most severe of several exit codes (EXIT_SEVERITY); EXIT_OK for none."""
    return max(codes, key=EXIT_SEVERITY.index, default=EXIT_OK)


def _report_unusable(exc: Exception) -> None:
    if isinstance(exc, InvalidBundle):
        click.echo(f"error: unusable input bundle ({len(exc.violations)} problem{'s' if len(exc.violations) != 1 else ''}):", err=True)
        for v in exc.violations:
            click.echo(f"  {v}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


def _config_options(fn: F) -> F:
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False), help="settings file (none is read unless named) [env MODEL_ROUTER_CONFIG]"),
        click.option("--opa-url", help="use this OPA (serving the model-router bundle) instead of starting one [env MODEL_ROUTER_OPA_URL]"),
        click.option("--timeout-ms", type=float, help="decision timeout in milliseconds (default 500) [env MODEL_ROUTER_TIMEOUT_MS]"),
        click.option("--receipts-dir", type=click.Path(file_okay=False), help="directory of the receipt log [env MODEL_ROUTER_RECEIPTS_DIR]"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def router_options(fn: F) -> F:
    """Options shared by the commands that decide."""
    return _config_options(click.option("--no-receipts", is_flag=True, help="record no receipt")(fn))


def _make_router(config_file: str | None, opa_url: str | None, timeout_ms: float | None, receipts_dir: str | None,
                 no_receipts: bool, **options: Any) -> Router:
    ignored = ignored_cwd_config(config_file)
    if ignored is not None:
        click.echo(f"note: {ignored.resolve()} is not read (settings files are read only when named: --config or MODEL_ROUTER_CONFIG)", err=True)
    settings = load_settings(config_file, opa_url=opa_url, timeout_ms=timeout_ms, receipts_dir=receipts_dir,
                             receipts=False if no_receipts else None)
    # the managed OPA is started before router.api (the engine, the HTTP client, the decision and receipt
    # modules) is imported: OPA compiles the policy while Python imports and reads the bundles. The entry
    # point (router.launch) may have started it before this module was imported: adopted when it is the
    # one these settings ask for, else stopped.
    early = _early_supervisor()
    supervisor = None
    if settings.managed_opa:
        supervisor = opa_supervisor.adopt(early, settings) or opa_supervisor.started_for(settings)
    elif early is not None:
        early.close()
    try:
        from router.api import Router

        return Router(settings=settings, opa_supervisor=supervisor, **options)
    except BaseException:
        if supervisor is not None:
            supervisor.close()
        raise


def _early_supervisor() -> opa_supervisor.OpaSupervisor | None:
    """The supervisor router.launch started before this module was imported (taken: at most one command
    adopts it), or None."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj.pop(EARLY_SUPERVISOR, None) if isinstance(obj, dict) else None


def _fault_note(decision: Decision) -> None:
    if decision.fault:
        click.echo(escape_controls(f"fail-closed: {decision.reason}: {decision.detail}"), err=True)


class _Group(click.Group):
    """Loads the LAZY_COMMANDS when looked up; turns an unexpected exception into `internal error: ...`
    and exit code 1 (set MODEL_ROUTER_DEBUG=1 for the traceback)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # what was decided is recorded (receipts); the output nobody reads is dropped, and standard
            # output points at /dev/null so that the interpreter's final flush does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            ctx.exit(EXIT_BROKEN_PIPE)
        except Exception as exc:
            if os.environ.get("MODEL_ROUTER_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(None, "-V", "--version", package_name="model-router", prog_name="model-router")
def main() -> None:
    """model-router: governed model routing decisions, evaluated by OPA.

    A file argument may be - for standard input.
    """
    _sigterm_exits()


# -- decide ------------------------------------------------------------------------------------


def _dumps(doc: Any, compact: bool) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) if compact else json.dumps(doc, indent=2, ensure_ascii=False)


def _agentplane_refusal(decision: Decision, exc: agentplane.ProjectionRefused) -> None:
    reasons = local_policy.reasons()
    click.echo(f"error: no agentplane lane-decision receipt for {decision.decision_id}:", err=True)
    for code in exc.reasons:
        fix = guardrail.remediation_for(reasons, code)
        click.echo(f"  {guardrail.describe_reason(reasons, code)}" + (f"; fix: {fix}" if fix else ""), err=True)
    if exc.detail:
        click.echo(f"  {exc.detail}", err=True)


def _rendered(decision: Decision, fmt: str, compact: bool) -> tuple[str | None, int]:
    """DECISION in format FMT (not table) and its exit code; None (the reason on standard error) when
    there is nothing of that format for it."""
    if fmt == "decision":
        return _dumps(decision.to_dict(), compact), decision.exit_code
    if fmt == "guardrail":
        return _dumps(decision.to_guardrail(), compact), decision.exit_code
    if fmt == "receipt":
        if decision.receipt is None:
            _fault_note(decision)
            click.echo(f"error: {decision.source}: no receipt was recorded (receipts are off, or the log is not writable)", err=True)
            return None, decision.exit_code if decision.fault else EXIT_UNUSABLE
        return _dumps(decision.receipt, compact), decision.exit_code
    try:
        return _dumps(decision.to_agentplane(), compact), decision.exit_code
    except agentplane.ProjectionRefused as exc:
        _agentplane_refusal(decision, exc)
        _fault_note(decision)
        return None, EXIT_REFUSED


def _violations_of(decision: Decision) -> tuple[Violation, ...] | None:
    violations = getattr(decision, "violations", None)
    return violations if isinstance(violations, tuple) else None


def _emit_batch(decisions: list[Decision], fmt: str, rows: list[list[str]]) -> list[int]:
    """Print DECISIONS as JSON Lines (FMT) or add them to the table ROWS; their exit codes."""
    codes = []
    for decision in decisions:
        violations = _violations_of(decision)
        if violations is not None:  # an unusable bundle: its denied decision (invalid-input) in its place
            _report_unusable(InvalidBundle(violations))
            if fmt == "table":
                rows.append(decision_row(decision.source or "-", decision))
            elif fmt == "guardrail":  # as for one bundle: the guardrail document of unusable input
                click.echo(_dumps(guardrail.unusable_projection(violations, guardrail.local_context()), True))
            elif fmt == "decision":
                click.echo(_dumps(decision.to_dict(), True))
            else:
                click.echo("null")
            codes.append(EXIT_UNUSABLE)
            continue
        if fmt == "table":
            rows.append(decision_row(decision.source or "-", decision))
            _fault_note(decision)
            codes.append(decision.exit_code)
            continue
        out, code = _rendered(decision, fmt, compact=True)
        click.echo(out if out is not None else "null")
        if out is not None:
            _fault_note(decision)
        codes.append(code)
    return codes


def _stdin_records(stream: IO[bytes], first: bytes, number: int) -> Iterator[tuple[str, bytes | None]]:
    """(source, line) for every non-blank JSON Lines record, starting with FIRST (line NUMBER); the line
    is None when it is longer than MAX_LINE_BYTES (the rest of it is read and dropped)."""
    raw = first
    while raw:
        source = f"{STDIN_SOURCE}:{number}"
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES + 1)
            yield source, None
        elif raw.strip():
            yield source, raw
        raw = stream.readline(MAX_LINE_BYTES + 1)
        number += 1


def _parsed(source: str, raw: bytes | None) -> tuple[Any, list[Violation]]:
    """(the bundle value, []) or (None, why it is unusable) for one JSON Lines record or file."""
    if raw is None:
        return None, [Violation(source, "$", f"a line longer than {MAX_LINE_BYTES} bytes",
                                f"one bundle per line, at most {MAX_LINE_BYTES} bytes (1 MiB)")]
    try:
        return bundle_input.parse_bundle_bytes(raw.rstrip(b"\r\n"), source), []
    except InvalidBundle as exc:
        return None, exc.violations


def _file_records(files: Sequence[str]) -> Iterator[tuple[str, Any, list[Violation]]]:
    for name in files:
        try:
            value, source = bundle_input.read_bundle(name)
        except InvalidBundle as exc:
            yield name, None, exc.violations
            continue
        yield source, value, []


def _decide_records(router: Router, records: Iterator[tuple[str, Any, list[Violation]]], fmt: str) -> int:
    """Decide RECORDS ((source, bundle, violations)) BATCH_CHUNK at a time and print each answer as it
    comes; the most severe exit code."""
    from router.api import BATCH_CHUNK

    codes: list[int] = []
    rows: list[list[str]] = []
    chunk: list[tuple[str, Any, list[Violation]]] = []

    def flush() -> None:
        parsed = [(source, value) for source, value, bad in chunk if not bad]
        decided = iter(router.decide_many([v for _, v in parsed], sources=[s for s, _ in parsed], on_invalid="decision",
                                          agentplane=fmt == "agentplane"))
        decisions = [next(decided) if not bad else router.invalid_input_decision(None, bad, source) for source, _, bad in chunk]
        codes.extend(_emit_batch(decisions, fmt, rows))
        sys.stdout.flush()
        chunk.clear()

    for record in records:
        chunk.append(record)
        if len(chunk) >= BATCH_CHUNK:
            flush()
    if chunk:
        flush()
    if fmt == "table":
        click.echo(table(rows, ["bundle", "lane/target", "status", "reason"]))
    return most_severe(codes)


def _first_record(stream: IO[bytes]) -> tuple[bytes, int, bool]:
    """(the first non-blank line, its number, whether it is a whole JSON value: JSON Lines)."""
    number = 1
    raw = stream.readline(MAX_LINE_BYTES + 1)
    while raw and not raw.strip() and raw.endswith(b"\n"):
        raw = stream.readline(MAX_LINE_BYTES + 1)
        number += 1
    if not raw.endswith(b"\n") and len(raw) > MAX_LINE_BYTES:
        return raw, number, False
    try:
        json.loads(raw)
    except ValueError:
        return raw, number, False
    return raw, number, True


def _decide_one(prep: bundle_input.PreparedBundle, router: Router, fmt: str) -> int:
    decision = router.decide(prep)
    if fmt == "table":
        out: str | None = table([decision_row(prep.source, decision)], ["bundle", "lane/target", "status", "reason"])
        code = decision.exit_code
    else:
        out, code = _rendered(decision, fmt, compact=False)
    if out is None:
        return code
    click.echo(out)
    _fault_note(decision)
    return code


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("bundles", nargs=-1, required=True, metavar="BUNDLE.json... | -")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="decision", show_default=True)
@click.option("--agentplane-receipts", is_flag=True, help="also append the agentplane lane-decision receipt beside the receipt log")
@router_options
def decide(bundles: tuple[str, ...], fmt: str, agentplane_receipts: bool, config_file: str | None, opa_url: str | None,
           timeout_ms: float | None, receipts_dir: str | None, no_receipts: bool) -> None:
    """Decide input bundles and print the decisions.

    \b
    One file: the decision, indented. Several files: one decision per line (JSON Lines), in order.
    -: standard input; one JSON document is decided as one file, JSON Lines (one bundle per line, at
    most 1 MiB each) give one decision per line. An unusable bundle among several is named on standard
    error and its line is the fail-closed denied decision (reason invalid-input) — with --format
    guardrail the guardrail document of unusable input, with receipt or agentplane `null`.
    --format agentplane prints agentplane's lane-decision receipt; when the projection is
    refused (no runRef, a personal route, a value with no agentplane counterpart) the reasons
    go to standard error and the exit code is 3.
    """
    if agentplane_receipts and no_receipts:
        _fail("error: --agentplane-receipts writes beside the receipt log; it cannot be used with --no-receipts", EXIT_UNUSABLE)
    if STDIN in bundles and len(bundles) > 1:
        _fail("error: - reads the bundles from standard input (JSON Lines); give it alone, not with files", EXIT_UNUSABLE)
    options = {"agentplane": fmt == "agentplane", "agentplane_receipts": agentplane_receipts}
    stream = sys.stdin.buffer
    one: bundle_input.PreparedBundle | None = None
    lines: Iterator[tuple[str, bytes | None]] | None = None
    try:
        # the router first: its managed OPA starts (compiles the policy) while the bundles are read and
        # validated; an unusable bundle stops it unasked
        with _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts, **options) as router:
            if bundles == (STDIN,):
                first, number, json_lines = _first_record(stream)
                if json_lines:
                    lines = _stdin_records(stream, first, number)
                else:  # one JSON document (indented over several lines): as one file
                    rest = stream.read(bundle_input.MAX_BYTES + 1 - min(len(first), bundle_input.MAX_BYTES))
                    one = bundle_input.load(STDIN, stdin=io.BytesIO(first + rest))
            elif len(bundles) == 1:
                one = bundle_input.load(bundles[0])
            if one is not None:
                code = _decide_one(one, router, fmt)
            elif lines is not None:
                code = _decide_records(router, ((s, *_parsed(s, raw)) for s, raw in lines), fmt)
            else:
                code = _decide_records(router, _file_records(bundles), fmt)
    except UNUSABLE as exc:
        _report_unusable(exc)
        if fmt == "guardrail":  # the refusal is still a guardrail document (quarantine, or defer when oversized)
            click.echo(json.dumps(guardrail.unusable_projection(getattr(exc, "violations", ()), guardrail.local_context()), indent=2))
        sys.exit(EXIT_UNUSABLE)
    sys.exit(code)


# -- explain -----------------------------------------------------------------------------------


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("bundle", metavar="BUNDLE.json|-")
@click.option("--json", "as_json", is_flag=True, help="print the explanation as JSON")
@click.option("--receipts", "with_receipts", is_flag=True, help="record the decision's receipt in the receipt log (default: none; naming --receipts-dir asks for it too)")
@click.option("--no-receipts", is_flag=True, hidden=True, help="record no receipt (the default)")
@_config_options
def explain(bundle: str, as_json: bool, with_receipts: bool, no_receipts: bool, config_file: str | None, opa_url: str | None,
            timeout_ms: float | None, receipts_dir: str | None) -> None:
    """Explain the decision for a bundle: the chosen route, why every other one was rejected, what would
    change it. No receipt is recorded unless asked (--receipts, or --receipts-dir)."""
    record = (with_receipts or receipts_dir is not None) and not no_receipts
    try:
        with _make_router(config_file, opa_url, timeout_ms, receipts_dir, not record) as router:  # OPA starts meanwhile
            explanation = router.explain(bundle_input.load(bundle))
    except UNUSABLE as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    click.echo(json.dumps(explanation.to_dict(), indent=2) if as_json else "\n".join(escape_controls(line) for line in explanation.lines))
    sys.exit(explanation.decision.exit_code)


# -- hook --------------------------------------------------------------------------------------


@main.command()
@click.option("--payload-limit-bytes", type=click.IntRange(min=1), default=1_048_576, show_default=True,
              help="larger stdin is not parsed: the answer is defer")
@click.option("--write-log", is_flag=True, help="append the decision to guardrail-fabric's decision log (and the route evidence beside it)")
@click.option("--log-path", type=click.Path(dir_okay=False), help="guardrail-fabric decision log (default .sourceos/logs/guardrail-decisions.jsonl under the payload's cwd)")
@click.option("--debug-decision", is_flag=True, help="print the full guardrail decision instead of the hook response")
@router_options
def hook(payload_limit_bytes: int, write_log: bool, log_path: str | None, debug_decision: bool, config_file: str | None,
         opa_url: str | None, timeout_ms: float | None, receipts_dir: str | None, no_receipts: bool) -> None:
    """Decide a Claude-Code hook payload on standard input for guardrail-fabric.

    \b
    The route bundle is the payload's tool_input.routeBundle. Prints exactly what guardrail-fabric's
    render_claude_code_response renders for the decision (nothing for allow) and exits with its exit
    code; oversized input is defer, unparsable input or a missing/invalid bundle is quarantine.
    Exit 2 (which a Claude Code hook treats as blocking) when guardrail-fabric is not installed or the
    settings are unusable.
    """
    from router.integrations import guardrail_fabric as gfi  # lazily: see LAZY_COMMANDS

    data = sys.stdin.buffer.read(payload_limit_bytes + 1)
    try:
        result = gfi.evaluate_hook(
            data[:payload_limit_bytes], len(data) > payload_limit_bytes,
            lambda: _make_router(config_file, opa_url, timeout_ms, receipts_dir, no_receipts),
            write_log=write_log, log_path=log_path,
        )
    except gfi.GuardrailFabricMissing as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    except UNUSABLE as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    if debug_decision:
        click.echo(json.dumps(result.event.policy_decision.to_dict(), indent=2, sort_keys=True))
    elif result.response is not None:
        click.echo(json.dumps(result.response, sort_keys=True))
    sys.exit(result.exit_code)


main.add_command(approvals_group, "approvals")


# -- receipts ----------------------------------------------------------------------------------


@main.group()
def receipts() -> None:
    """Receipt log tools."""


def _log_path(path: str) -> Path:
    target = Path(path)
    return target / LOG_NAME if target.is_dir() else target


def _verify_stdin(expect_head: str | None, min_count: int | None) -> None:
    """Verify a log read from standard input: its lines and hash chain (it has no signed head beside it)."""
    with tempfile.TemporaryDirectory(prefix="model-router-verify-") as folder:
        copy = Path(folder) / LOG_NAME
        with open(copy, "wb") as out:
            while chunk := sys.stdin.buffer.read(1 << 20):
                out.write(chunk)
        try:
            report = verify(copy, expect_head=expect_head, min_count=min_count, require_head=False)
        except (UnreadableLog, OSError) as exc:
            _fail(f"error: {STDIN_SOURCE}: {getattr(exc, 'strerror', None) or exc}", EXIT_UNUSABLE)
    shown = (f"ok: {report.receipts} receipts, hash chain intact; the signed head was not checked (a log on standard input "
             "has none beside it: verify the log file to check it)") if report.ok else str(report)
    click.echo(f"{STDIN_SOURCE}: {shown}")
    sys.exit(EXIT_OK if report.ok else EXIT_REFUSED)


@receipts.command("verify")
@click.argument("path", metavar="LOG|DIR|-")
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="the public key to trust (KEY.pub from keygen, a PEM public key); default: the key recorded in the signed head beside the log")
@click.option("--expect-head", metavar="DIGEST", help="a receipt digest exported earlier (receipts head): it must still be in the chain")
@click.option("--min-count", type=click.IntRange(min=0), help="the log must hold at least this many receipts")
def receipts_verify(path: str, key_file: str | None, expect_head: str | None, min_count: int | None) -> None:
    """Check a receipt log: canonical lines, the hash chain and the signed head; report the first problem.
    - reads the log from standard input (lines and chain only: it has no signed head)."""
    if path == STDIN:
        if key_file:
            _fail("error: --key checks the signed head, and a log on standard input has none; give the log file", EXIT_UNUSABLE)
        _verify_stdin(expect_head, min_count)
    target = _log_path(path)
    try:
        key = load_public_key(key_file) if key_file else None
    except OSError as exc:
        _fail(f"error: {key_file}: {exc.strerror or exc}", EXIT_UNUSABLE)
    except CheckpointError as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    try:
        report = verify(target, public_key=key, expect_head=expect_head, min_count=min_count)
    except (UnreadableLog, OSError) as exc:
        _fail(f"error: {target}: {getattr(exc, 'strerror', None) or exc}", EXIT_UNUSABLE)
    click.echo(f"{target}: {report}")
    sys.exit(EXIT_OK if report.ok else EXIT_REFUSED)


@receipts.command("head")
@click.argument("path", type=click.Path())
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="the public key to trust (default: the one in the head)")
def receipts_head(path: str, key_file: str | None) -> None:
    """Print the log's signed head (count, head digest, log id, signature) for export, after verifying the log."""
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
def receipts_keygen(path: str) -> None:
    """Create an Ed25519 receipt-signing key at PATH (mode 0600) and its public key at PATH.pub."""
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
def receipts_rotate(path: str, key_file: str | None, config_file: str | None) -> None:
    """Move the log and its signed head aside (receipts.<time>.jsonl) and start a new log that continues the chain."""
    target = _log_path(path)
    try:
        key = key_file or load_settings(config_file).receipts_key
    except UNUSABLE as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    log = ReceiptLog(target, key_path=key)
    try:
        rotated, head = log.rotate()
    except ReceiptLogError as exc:
        _fail(f"error: {exc.strerror or exc}", EXIT_REFUSED)
    finally:
        log.close()
    click.echo(f"{target}: rotated to {rotated} ({head['count']} receipts, head {head['headDigest']}); the new log continues from it")


# -- policy ------------------------------------------------------------------------------------


@main.group()
def policy() -> None:
    """Policy-author tools (wrappers over the pinned OPA)."""


def _opa() -> str:
    try:
        return str(opa_binary.find_opa())
    except opa_binary.OpaNotFound as exc:
        _fail(f"error: {exc}", EXIT_INTERNAL)


def _run(cmd: list[str]) -> NoReturn:
    click.echo("$ " + " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd)), err=True)
    sys.exit(subprocess.run(cmd, cwd=paths.ROOT, check=False).returncode)


def _ensure_data() -> None:
    """Assemble build/data as `make data` does (policy data, plus the fixture data)."""
    try:
        policy_data.write()
    except PolicyDataError as exc:
        _fail(f"error: {exc}", EXIT_UNUSABLE)
    try:
        fixture_data.write()
    except Exception as exc:  # noqa: BLE001 - a broken fixture is reported, not hidden
        _fail(f"error: {exc}", EXIT_UNUSABLE)


@policy.command("test", context_settings={"ignore_unknown_options": True})
@click.argument("opa_args", nargs=-1, type=click.UNPROCESSED)
def policy_test(opa_args: tuple[str, ...]) -> None:
    """opa test policies/model_router build/data with the capabilities file (extra args go to OPA)."""
    _ensure_data()
    _run([_opa(), "test", "policies/model_router", "build/data", "--capabilities", "policies/capabilities.json", *opa_args])


@policy.command("check", context_settings={"ignore_unknown_options": True})
@click.argument("opa_args", nargs=-1, type=click.UNPROCESSED)
def policy_check(opa_args: tuple[str, ...]) -> None:
    """opa check --strict with the capabilities file (and the input schema)."""
    _ensure_data()
    schema = ["--schema", "schemas/route-input-bundle.schema.json"] if (paths.SCHEMAS / "route-input-bundle.schema.json").exists() else []
    _run([_opa(), "check", "--strict", "--capabilities", "policies/capabilities.json", *schema, "policies/model_router", "build/data", *opa_args])


@policy.command("fmt")
@click.option("--write", is_flag=True, help="rewrite the files instead of listing the unformatted ones")
def policy_fmt(write: bool) -> None:
    """opa fmt: list the .rego files that are not formatted (exit 1), or rewrite them with --write."""
    if write:
        _run([_opa(), "fmt", "--write", "policies/model_router"])
    _run([_opa(), "fmt", "--list", "--fail", "policies/model_router"])


@policy.command("build")
@click.option("--force", is_flag=True, help="rebuild even when nothing changed")
def policy_build(force: bool) -> None:
    """Build build/bundle.tar.gz (revision = content digest) with opa build."""
    sys.exit(bundle_mod.main(["--force"] if force else []))


# -- demo --------------------------------------------------------------------------------------


@main.command()
@click.option("--full", "full_name", default=None, help="the bundle (file name) to print in full (default: the first)")
@router_options
def demo(full_name: str | None, config_file: str | None, opa_url: str | None, timeout_ms: float | None,
         receipts_dir: str | None, no_receipts: bool) -> None:
    """Decide every example bundle: a compact table, then one decision in full."""
    from router import demo as demo_mod

    try:
        code = demo_mod.run(
            full_name=full_name, config_file=config_file, opa_url=opa_url, timeout_ms=timeout_ms,
            receipts_dir=receipts_dir, no_receipts=no_receipts,
        )
    except UNUSABLE as exc:
        _report_unusable(exc)
        sys.exit(EXIT_UNUSABLE)
    sys.exit(code)


register_package_commands(main)  # opa-path, install-opa, serve-bundle

if __name__ == "__main__":
    main()
