"""The policy engine: a real OPA, either started and managed by the router or reached by URL.

Every query is a POST to /v1/data/<package>/<rule> with `strict-builtin-errors` and `provenance`, so
each answer names the policy revision it was computed under; the HTTP channel (router.opa_http) bounds
each call by one deadline and a response size cap, follows no redirects and reads no proxy settings
from the environment. Faults never raise: each comes back as an `EngineResult` carrying one
fail-closed reason code:

    engine-unavailable        OPA could not be reached (connection refused, process gone, failed to start)
    engine-timeout            no complete answer within the decision timeout
    engine-error              OPA answered with an HTTP error (a built-in error under strict mode, 401/403,
                              5xx, a redirect), with a body over the size cap, or with a body that is not
                              a JSON object
    engine-revision-mismatch  the answer was computed under another policy revision than the expected one
    policy-undefined          the answer has no `result` key (the rule is undefined for this input)

(`invalid-policy-result`, a result that does not match the decision schema or the request, is found
by the caller.)

`ManagedEngine` runs `opa run --server` listening on a unix domain socket inside a private 0700 runtime
folder, serving a verified copy of the bundle (the digest of the archive's contents must equal its
revision; a bundle passed in explicitly is also checked against policies/capabilities.json). It waits
for `/health?bundles`, then checks that the bundle OPA reports (data.system.bundles) has the expected
revision before the first decision, restarts OPA when the process died, and stops it (process group) on
close, on context-manager exit and at interpreter exit. Every answer's revision must equal the served
one. With `auth=True` (the default) the server also only answers requests carrying a random
per-process bearer token (`--authentication=token --authorization=basic` with
policies/system/authz/authz.rego). `transport="tcp"` listens on an ephemeral loopback port instead
(an explicit option); the router then trusts the port only after /proc shows that the listening socket
belongs to the OPA child.
"""

from __future__ import annotations

import atexit
import json
import math
import shutil
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from router import opa_binary
from router.opa_http import (  # noqa: F401  (Channel and LOOPBACK_HOSTS are part of the engine interface)
    DEFAULT_MAX_RESPONSE_BYTES,
    LOOPBACK_HOSTS,
    Channel,
    ChannelError,
    ChannelTimeout,
    ChannelUnavailable,
)
from router.opa_process import (  # noqa: F401  (re-exported: the process supervisor behind ManagedEngine)
    AUTHZ_BUNDLE_REVISION,
    AUTHZ_POLICY,
    SOCKET_NAME,
    EngineStartError,
    OpaProcess,
    free_port,
    listener_belongs_to,
    runtime_dir,
    sweep_stale_runtime_dirs,
)

ENGINE_UNAVAILABLE = "engine-unavailable"
ENGINE_TIMEOUT = "engine-timeout"
ENGINE_ERROR = "engine-error"
ENGINE_REVISION_MISMATCH = "engine-revision-mismatch"  # = router.opa_process.REVISION_MISMATCH
POLICY_UNDEFINED = "policy-undefined"
INVALID_POLICY_RESULT = "invalid-policy-result"
EVIDENCE_UNAVAILABLE = "evidence-unavailable"
FAULT_CODES = (
    ENGINE_UNAVAILABLE, ENGINE_TIMEOUT, ENGINE_ERROR, ENGINE_REVISION_MISMATCH, POLICY_UNDEFINED,
    INVALID_POLICY_RESULT, EVIDENCE_UNAVAILABLE,
)

DEFAULT_TIMEOUT_S = 0.5
QUERY_PARAMS = {"strict-builtin-errors": "true", "provenance": "true"}
_QUERY_STRING = "?" + "&".join(f"{k}={v}" for k, v in QUERY_PARAMS.items())
DECISION_PACKAGE, DECISION_RULE = "model_router", "decision"
BATCH_PACKAGE, BATCH_RULE = "model_router.batch", "decisions"


@dataclass(frozen=True)
class EngineResult:
    """One answer from OPA: the result, or a fault code with a human-readable detail."""

    result: Any = None
    revision: str | None = None
    fault: str | None = None
    detail: str = ""
    refused: bool = field(default=False, repr=False, compare=False)  # engine-unavailable: nothing listens
    decision_id: str | None = field(default=None, repr=False, compare=False)  # OPA's id when it logs decisions

    @property
    def ok(self) -> bool:
        return self.fault is None


def revision_from_provenance(provenance: Any, ignore: Iterable[str] = (AUTHZ_BUNDLE_REVISION,)) -> str | None:
    """The policy revision in an OPA provenance block: the revision of the (one) policy bundle."""
    if not isinstance(provenance, dict):
        return None
    bundles = provenance.get("bundles")
    if not isinstance(bundles, dict):
        return None
    revisions = sorted(
        str(b["revision"])
        for b in bundles.values()
        if isinstance(b, dict) and b.get("revision") and b.get("revision") not in set(ignore)
    )
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else ",".join(revisions)


def _http_error_detail(exc: ChannelError) -> str:
    if exc.status is None or not exc.body:
        return str(exc)
    try:
        body = json.loads(exc.body)
        message = body.get("message") or json.dumps(body)[:300]
        code = body.get("code")
        errors = body.get("errors")
        if errors and isinstance(errors, list) and isinstance(errors[0], dict):
            message = f"{message}: {errors[0].get('message', '')}"
        return f"{exc}{' ' + code if isinstance(code, str) else ''}: {str(message)[:300]}"
    except (ValueError, AttributeError, RecursionError):
        return f"{exc}: {exc.body[:300].decode('utf-8', errors='replace')!r}"


def rule_path(package: str, rule: str) -> str:
    return "/v1/data/" + "/".join([*package.split("."), rule]) + _QUERY_STRING


class _ClientEngine:
    """Queries an OPA server over a router.opa_http channel; maps every failure to a fault code."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, *, expected_revision: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError("the decision timeout must be a positive number of seconds")
        self.timeout_s = float(timeout_s)
        self.max_response_bytes = max_response_bytes
        self.expected_revision = expected_revision
        self._channel: Channel | None = None
        self.last_revision: str | None = None

    # -- subclass hooks --------------------------------------------------------------
    def _current_channel(self) -> tuple[Channel | None, str]:
        return self._channel, "no OPA channel"

    def _after_unavailable(self, answer: EngineResult) -> Channel | None:
        """Called when OPA could not be reached; may return a fresh channel to retry once."""
        return None

    def _expected(self) -> str | None:
        return self.expected_revision

    def _revision(self, body: dict) -> str | None:
        return revision_from_provenance(body.get("provenance"))

    # -- queries ---------------------------------------------------------------------
    def _ask(self, channel: Channel, input_data: Any, package: str, rule: str, decisions: int = 1,
             timeout_s: float | None = None) -> EngineResult:
        # a batch of N bundles gets N single-decision allowances, as one deadline for the whole call
        if timeout_s is None:
            timeout_s = self.timeout_s * max(1, decisions)
        try:
            body = channel.post_json(rule_path(package, rule), {"input": input_data}, timeout_s)
        except ChannelTimeout:
            return EngineResult(fault=ENGINE_TIMEOUT, detail=f"no answer within {timeout_s * 1000:.0f} ms (connect, send and the complete answer)")
        except ChannelUnavailable as exc:
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail=str(exc), refused=exc.refused)
        except ChannelError as exc:
            return EngineResult(fault=ENGINE_ERROR, detail=_http_error_detail(exc))
        except ValueError as exc:  # an input that JSON cannot carry (NaN, a lone surrogate)
            return EngineResult(fault=ENGINE_ERROR, detail=f"the input cannot be sent as JSON: {type(exc).__name__}")
        if not isinstance(body, dict):
            return EngineResult(fault=ENGINE_ERROR, detail="OPA answered with a body that is not a JSON object")
        revision = self._revision(body)
        expected = self._expected()
        if expected is not None and revision != expected:
            return EngineResult(
                revision=expected, fault=ENGINE_REVISION_MISMATCH,
                detail=f"the answer was computed under policy revision {revision or '(none)'}, expected {expected}",
            )
        if revision:
            self.last_revision = revision
        if "result" not in body:
            return EngineResult(revision=revision, fault=POLICY_UNDEFINED, detail=f"data.{package}.{rule} is undefined for this input")
        decision_id = body.get("decision_id")
        return EngineResult(result=body["result"], revision=revision,
                            decision_id=decision_id if isinstance(decision_id, str) else None)

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        """Evaluate data.<package>.<rule> for input_data (DECISIONS bundles' worth of work). Never raises for an engine fault."""
        try:
            channel, why = self._current_channel()
            if channel is None:
                return EngineResult(fault=ENGINE_UNAVAILABLE, detail=why)
            answer = self._ask(channel, input_data, package, rule, decisions)
            if answer.fault == ENGINE_UNAVAILABLE:
                retry = self._after_unavailable(answer)
                if retry is not None:
                    answer = self._ask(retry, input_data, package, rule, decisions)
            return answer
        except Exception as exc:  # fail closed: no fault may escape as an exception
            return EngineResult(fault=ENGINE_ERROR, detail=f"{type(exc).__name__}: {exc}")

    def decide(self, input_data: Any) -> EngineResult:
        return self.query(input_data, DECISION_PACKAGE, DECISION_RULE)

    def decide_many(self, inputs: list[Any]) -> EngineResult:
        """One round trip: data.model_router.batch.decisions for {"bundles": inputs}; the timeout is the
        single-decision timeout once per bundle."""
        return self.query({"bundles": inputs}, BATCH_PACKAGE, BATCH_RULE, decisions=max(1, len(inputs)))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    describe = property(lambda self: "opa")


class RemoteEngine(_ClientEngine):
    """An OPA that already serves the model-router bundle, reached by URL (unix:///path, http(s)://host:port).

    EXPECTED_REVISION pins the policy revision: an answer computed under any other revision fails
    closed with engine-revision-mismatch. PROXY (http://host:port) is used only when given: proxy
    settings in the environment are never read."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, token: str | None = None, *,
                 expected_revision: str | None = None, proxy: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        super().__init__(timeout_s, expected_revision=expected_revision, max_response_bytes=max_response_bytes)
        self._channel = Channel(url.rstrip("/") if not url.startswith("unix:") else url, token=token, proxy=proxy,
                                max_response_bytes=max_response_bytes)
        self.url = self._channel.url

    @property
    def describe(self) -> str:
        return f"remote OPA at {self.url}"


# ---------------------------------------------------------------------------------------------
# managed OPA

_LIVE: "weakref.WeakSet[ManagedEngine]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for engine in list(_LIVE):
        engine.close()


class ManagedEngine(_ClientEngine):
    """An `opa run --server` process owned by this engine (router.opa_process), restarted when it dies.

    TRANSPORT is "unix" (the default: a unix domain socket in the engine's private runtime folder) or
    "tcp" (an ephemeral 127.0.0.1 port, trusted only once it is shown to belong to the child)."""

    def __init__(
        self,
        bundle: Path | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        auth: bool = True,
        extra_args: Iterable[str] = (),
        startup_timeout_s: float = 20.0,
        restart_backoff_s: float = 1.0,
        opa: Path | None = None,
        log_file: Path | None = None,
        transport: str = "unix",
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(timeout_s, max_response_bytes=max_response_bytes)
        if transport not in ("unix", "tcp"):
            raise ValueError(f"transport {transport!r}: expected 'unix' or 'tcp'")
        self.transport = transport
        self._bundle_arg = Path(bundle) if bundle is not None else None
        self.auth = auth
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.restart_backoff_s = restart_backoff_s
        self._opa = opa
        self._log_file = Path(log_file) if log_file is not None else None
        self._lock = threading.RLock()
        self._process: OpaProcess | None = None
        self._tmpdir: Path | None = None
        self._token: str | None = None
        self.url: str | None = None
        self.bundle_revision: str | None = None
        self.starts = 0
        self.start_error: str | None = None
        self._last_start_attempt = 0.0
        self._closed = False
        _LIVE.add(self)
        self._start_locked_or_record()

    # -- lifecycle -----------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.alive

    @property
    def log_path(self) -> Path | None:
        if self._log_file is not None:
            return self._log_file
        return self._tmpdir / "opa.log" if self._tmpdir else None

    @property
    def runtime_dir(self) -> Path | None:
        return self._tmpdir

    @property
    def socket_path(self) -> Path | None:
        return self._tmpdir / SOCKET_NAME if self._tmpdir and self.transport == "unix" else None

    @property
    def describe(self) -> str:
        return f"managed OPA at {self.url} (pid {self.pid})" if self.url else "managed OPA (not running)"

    def _expected(self) -> str | None:
        return self.bundle_revision

    def _private_dir(self) -> Path:
        if self._tmpdir is None:
            self._tmpdir = runtime_dir()
        return self._tmpdir

    def _verified_bundle(self, opa: Path) -> tuple[Path, str]:
        """The bundle to serve and its revision: a verified copy in the private folder. The project bundle
        is built when needed and copied once, so a restart serves the same revision as the first start (a
        rebuild on disk does not change a running router); a bundle given explicitly is copied, verified
        and checked against the capabilities again on every start (a restart serves what the file holds now)."""
        from router import bundle as bundle_mod

        pinned = self._private_dir() / "bundle.tar.gz"
        try:
            if self._bundle_arg is not None:
                tmp = pinned.with_name("bundle.next.tar.gz")
                shutil.copyfile(self._bundle_arg, tmp)
                revision = bundle_mod.verify(tmp)
                bundle_mod.check_capabilities(tmp, opa=opa)
                tmp.replace(pinned)
                return pinned, revision
            if self.bundle_revision is not None and pinned.exists():
                return pinned, self.bundle_revision
            built = bundle_mod.ensure_bundle()
            shutil.copyfile(built.path, pinned)
            try:
                bundle_mod.verify(pinned, built.revision)
            except bundle_mod.BundleIntegrityError:  # replaced on disk meanwhile: build and copy again
                built = bundle_mod.ensure_bundle(force=True)
                shutil.copyfile(built.path, pinned)
                bundle_mod.verify(pinned, built.revision)
            return pinned, built.revision
        except bundle_mod.BundleIntegrityError as exc:
            raise EngineStartError(f"the bundle cannot be served: {exc}") from None
        except OSError as exc:
            raise EngineStartError(f"the bundle cannot be read: {exc}") from None

    def _start(self) -> None:
        opa = opa_binary.checked(self._opa) if self._opa else opa_binary.find_opa()
        bundle, revision = self._verified_bundle(opa)
        folder = self._private_dir()
        log_path = self.log_path
        assert log_path is not None
        last: Exception | None = None
        for _ in range(3):  # a TCP port taken between choosing and binding: choose another
            try:
                process = OpaProcess.start(
                    opa=opa, bundle=bundle, revision=revision, folder=folder,
                    log_path=log_path, auth=self.auth, extra_args=self.extra_args, transport=self.transport,
                    startup_timeout_s=self.startup_timeout_s, probe_timeout_s=max(self.timeout_s, 2.0),
                    max_response_bytes=self.max_response_bytes,
                )
                break
            except EngineStartError as exc:
                last = exc
                if self.transport != "tcp" or "address already in use" not in str(exc):
                    raise
        else:
            assert last is not None
            raise last
        old = self._process
        self._process, self._channel, self._token, self.url = process, process.channel, process.token, process.url
        # until the new process answers, the revision it serves is the one verified in its bundle
        self.bundle_revision = self.last_revision = revision
        if old is not None and old is not process:
            old.stop()  # an explicit start() while running replaces the process, never leaks it
        self.starts += 1
        self.start_error = None

    def _start_locked_or_record(self) -> bool:
        with self._lock:
            self._last_start_attempt = time.monotonic()
            try:
                self._start()
                return True
            except Exception as exc:  # recorded; decisions fail closed with engine-unavailable
                self.start_error = f"{type(exc).__name__}: {exc}"
                return False

    def start(self) -> None:
        """Start OPA now (raises EngineStartError when it cannot)."""
        if not self._start_locked_or_record():
            raise EngineStartError(self.start_error)

    def _ensure_running(self) -> Channel | None:
        if self._closed:
            return None
        if self.alive and self._channel is not None:
            return self._channel
        with self._lock:
            if self.alive and self._channel is not None:
                return self._channel
            if self._process is not None:
                self._process.stop()
                self._process = None
            if time.monotonic() - self._last_start_attempt < self.restart_backoff_s and self.start_error:
                return None
            if self._start_locked_or_record():
                return self._channel
            return None

    def _current_channel(self) -> tuple[Channel | None, str]:
        if self.alive and self._channel is not None:
            return self._channel, ""
        channel = self._ensure_running()
        return channel, f"managed OPA is not running: {self.start_error or 'stopped'}"

    def _after_unavailable(self, answer: EngineResult) -> Channel | None:
        if self._closed:
            return None
        process = self._process
        if process is not None and process.alive:
            if not (answer.refused and self.transport == "unix"):
                return None
            # nothing listens on the private socket any more, yet the process has not been reaped yet
            # (a process being killed closes its files before it exits): give it a moment, then restart
            try:
                process.proc.wait(timeout=min(self.timeout_s, 1.0))
            except Exception:  # still alive and not listening: fail closed now, the next call retries
                return None
        return self._ensure_running()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._channel is not None:
                self._channel.close()
            if self._process is not None:
                self._process.stop()
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
        _LIVE.discard(self)
