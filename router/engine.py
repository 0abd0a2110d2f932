"""The policy engine: a real OPA, either started and managed by the router or reached by URL.

Every query goes through opa-python-client (`OpaClient.query_rule`) with `strict-builtin-errors`
and `provenance`, so each answer names the policy revision it was computed under. Faults never
raise: each comes back as an `EngineResult` carrying one fail-closed reason code:

    engine-unavailable     OPA could not be reached (connection refused, process gone, failed to start)
    engine-timeout         no answer within the decision timeout
    engine-error           OPA answered with an HTTP error (a built-in error under strict mode, 401/403, 5xx)
                           or with a body that is not a JSON object
    policy-undefined       the answer has no `result` key (the rule is undefined for this input)

(`invalid-policy-result`, a result that does not match the decision schema, is found by the caller.)

`ManagedEngine` runs `opa run --server` on an ephemeral loopback port with the project bundle,
waits for `/health?bundles`, restarts OPA when the process died, and stops it (process group) on
close, on context-manager exit and at interpreter exit. With `auth=True` (the default) the server
only answers requests carrying a random per-process bearer token (`--authentication=token
--authorization=basic` with policies/system/authz/authz.rego).
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient

from router import opa_binary, paths

ENGINE_UNAVAILABLE = "engine-unavailable"
ENGINE_TIMEOUT = "engine-timeout"
ENGINE_ERROR = "engine-error"
POLICY_UNDEFINED = "policy-undefined"
INVALID_POLICY_RESULT = "invalid-policy-result"
EVIDENCE_UNAVAILABLE = "evidence-unavailable"
FAULT_CODES = (ENGINE_UNAVAILABLE, ENGINE_TIMEOUT, ENGINE_ERROR, POLICY_UNDEFINED, INVALID_POLICY_RESULT, EVIDENCE_UNAVAILABLE)

DEFAULT_TIMEOUT_S = 0.5
QUERY_PARAMS = {"strict-builtin-errors": "true", "provenance": "true"}
DECISION_PACKAGE, DECISION_RULE = "model_router", "decision"
BATCH_PACKAGE, BATCH_RULE = "model_router.batch", "decisions"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
AUTHZ_POLICY = paths.POLICIES / "system" / "authz" / "authz.rego"
AUTHZ_BUNDLE_REVISION = "model-router-managed-authz"


@dataclass(frozen=True)
class EngineResult:
    """One answer from OPA: the result, or a fault code with a human-readable detail."""

    result: Any = None
    revision: str | None = None
    fault: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.fault is None


class EngineStartError(RuntimeError):
    """The managed OPA could not be started (names the command and OPA's own message)."""


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


def _http_error_detail(exc: requests.HTTPError) -> str:
    response = exc.response
    if response is None:
        return str(exc)
    try:
        body = response.json()
        message = body.get("message") or json.dumps(body)[:300]
        code = body.get("code")
        errors = body.get("errors")
        if errors and isinstance(errors, list) and isinstance(errors[0], dict):
            message = f"{message}: {errors[0].get('message', '')}"
        return f"HTTP {response.status_code}{' ' + code if code else ''}: {message}"
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"


class _ClientEngine:
    """Queries an OPA server through opa-python-client; maps every failure to a fault code."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if not timeout_s > 0:
            raise ValueError("the decision timeout must be positive")
        self.timeout_s = float(timeout_s)
        self._client: OpaClient | None = None
        self.last_revision: str | None = None

    # -- subclass hooks --------------------------------------------------------------
    def _current_client(self) -> tuple[OpaClient | None, str]:
        return self._client, "no OPA client"

    def _after_unavailable(self) -> OpaClient | None:
        """Called when OPA could not be reached; may return a fresh client to retry once."""
        return None

    # -- queries ---------------------------------------------------------------------
    def _ask(self, client: OpaClient, input_data: Any, package: str, rule: str, decisions: int = 1) -> EngineResult:
        if decisions > 1:
            # a batch of N bundles gets N single-decision allowances (same session, own timeout)
            client = copy.copy(client)
            client.timeout = self.timeout_s * decisions
        try:
            body = client.query_rule(input_data, package, rule, query_params=QUERY_PARAMS)
        except requests.Timeout as exc:
            return EngineResult(fault=ENGINE_TIMEOUT, detail=f"no answer within {client.timeout * 1000:.0f} ms ({type(exc).__name__})")
        except requests.ConnectionError as exc:
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail=f"cannot reach OPA at {client.root_url}: {type(exc).__name__}")
        except requests.HTTPError as exc:
            return EngineResult(fault=ENGINE_ERROR, detail=_http_error_detail(exc))
        except (requests.RequestException, ValueError) as exc:
            return EngineResult(fault=ENGINE_ERROR, detail=f"unreadable answer from OPA: {type(exc).__name__}: {exc}")
        if not isinstance(body, dict):
            return EngineResult(fault=ENGINE_ERROR, detail="OPA answered with a body that is not a JSON object")
        revision = revision_from_provenance(body.get("provenance"))
        if revision:
            self.last_revision = revision
        if "result" not in body:
            return EngineResult(revision=revision, fault=POLICY_UNDEFINED, detail=f"data.{package}.{rule} is undefined for this input")
        return EngineResult(result=body["result"], revision=revision)

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        """Evaluate data.<package>.<rule> for input_data (DECISIONS bundles' worth of work). Never raises for an engine fault."""
        try:
            client, why = self._current_client()
            if client is None:
                return EngineResult(fault=ENGINE_UNAVAILABLE, detail=why)
            answer = self._ask(client, input_data, package, rule, decisions)
            if answer.fault == ENGINE_UNAVAILABLE:
                retry = self._after_unavailable()
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
        if self._client is not None:
            self._client.close_connection()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    describe = property(lambda self: "opa")


def _client_for(url: str, timeout_s: float, token: str | None) -> OpaClient:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OPA URL {url!r}: expected http://host:port or https://host:port")
    if parts.path not in ("", "/"):
        raise ValueError(f"OPA URL {url!r}: expected no path (the router queries /v1/data/...)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    client = OpaClient(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "https",
        token=token,
        retries=0,  # the client's default retries with backoff would exceed the decision timeout
        timeout=timeout_s,
    )
    if parts.hostname in LOOPBACK_HOSTS:
        # no proxy can stand between us and a loopback OPA: skip requests' per-request look-up of
        # proxy settings in the environment (about 0.4 ms a decision; see docs/performance.md)
        client._session.trust_env = False
    return client


class RemoteEngine(_ClientEngine):
    """An OPA that already serves the model-router bundle, reached by URL."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, token: str | None = None) -> None:
        super().__init__(timeout_s)
        self.url = url.rstrip("/")
        self._client = _client_for(self.url, self.timeout_s, token)

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


# On Linux the managed OPA is started through a tiny exec wrapper that asks the kernel to send it
# SIGTERM when its parent dies (PR_SET_PDEATHSIG), so even a host process killed with SIGKILL (no
# atexit) leaves no OPA behind. The signal follows the *thread* that forked the child, so every
# spawn happens on one long-lived launcher thread rather than on whichever thread asked.
_DEATH_SIGNAL_WRAPPER = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"  # 1 = PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]): sys.exit(0)\n"  # the parent is already gone
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


class _Launcher:
    """Runs every subprocess.Popen of managed OPAs on one daemon thread (see above)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: "queue.Queue[tuple]" = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def _run(self) -> None:
        while True:
            done, cmd, kwargs, box = self._queue.get()
            try:
                box.append(subprocess.Popen(cmd, **kwargs))
            except BaseException as exc:  # handed back to the caller
                box.append(exc)
            done.set()

    def popen(self, cmd: list[str], **kwargs) -> subprocess.Popen:
        if not sys.platform.startswith("linux") or not sys.executable:
            return subprocess.Popen(cmd, **kwargs)
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="model-router-opa-launcher", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
        wrapped = [sys.executable, "-I", "-S", "-c", _DEATH_SIGNAL_WRAPPER, str(os.getpid()), *cmd]
        done, box = threading.Event(), []
        self._queue.put((done, wrapped, kwargs, box))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]


_LAUNCHER = _Launcher()


def free_port() -> int:
    """An ephemeral loopback port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagedEngine(_ClientEngine):
    """An `opa run --server` process owned by this engine, restarted when it dies."""

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
    ) -> None:
        super().__init__(timeout_s)
        self._bundle_arg = Path(bundle) if bundle is not None else None
        self.auth = auth
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.restart_backoff_s = restart_backoff_s
        self._opa = opa
        self._log_file = Path(log_file) if log_file is not None else None
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
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
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        if self._log_file is not None:
            return self._log_file
        return self._tmpdir / "opa.log" if self._tmpdir else None

    @property
    def describe(self) -> str:
        return f"managed OPA at {self.url} (pid {self.pid})" if self.url else "managed OPA (not running)"

    def _private_dir(self) -> Path:
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="model-router-opa-"))
            os.chmod(self._tmpdir, 0o700)
        return self._tmpdir

    def _bundle_path(self) -> Path:
        """The bundle to serve. The project bundle is built when needed and copied once, so a restart
        serves the same revision as the first start (a rebuild on disk does not change a running router)."""
        if self._bundle_arg is not None:
            # read on every start: a restart serves whatever the file holds now, and the revision
            # reported before the first answer must be that one, not the revision of an earlier start
            from router.bundle import revision_of

            self.bundle_revision = revision_of(self._bundle_arg)
            return self._bundle_arg
        pinned = self._private_dir() / "bundle.tar.gz"
        if self.bundle_revision is not None and pinned.exists():
            return pinned
        from router import bundle as bundle_mod

        built = bundle_mod.ensure_bundle()
        shutil.copyfile(built.path, pinned)
        if bundle_mod.revision_of(pinned) != built.revision:  # rebuilt by another process meanwhile
            built = bundle_mod.ensure_bundle()
            shutil.copyfile(built.path, pinned)
        self.bundle_revision = bundle_mod.revision_of(pinned)
        return pinned

    def _write_authz_bundle(self, token: str) -> Path:
        assert self._tmpdir is not None
        root = self._tmpdir / "authz-bundle"
        (root / "system" / "model_router_auth").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(AUTHZ_POLICY, root / "system" / "authz.rego")
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        (root / "system" / "model_router_auth" / "data.json").write_text(json.dumps({"token_sha256": digest}), encoding="utf-8")
        manifest = {"revision": AUTHZ_BUNDLE_REVISION, "roots": ["system"], "rego_version": 1}
        (root / ".manifest").write_text(json.dumps(manifest), encoding="utf-8")
        return root

    def _spawn_once(self, bundle: Path) -> None:
        opa = self._opa or opa_binary.find_opa()
        self._private_dir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            str(opa), "run", "--server", "--addr", f"127.0.0.1:{port}",
            "--log-level", "error", "--skip-version-check", "--shutdown-grace-period", "1",
            *self.extra_args,
        ]
        token = None
        bundles = [str(bundle)]
        if self.auth:
            token = secrets.token_urlsafe(32)
            cmd += ["--authentication=token", "--authorization=basic"]
            bundles.append(str(self._write_authz_bundle(token)))
        cmd += ["--bundle", *bundles]
        log_path = self.log_path
        assert log_path is not None
        with open(log_path, "ab") as log:
            proc = _LAUNCHER.popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
        health = requests.Session()
        if token:
            health.headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while True:
                if proc.poll() is not None:
                    raise EngineStartError(f"OPA exited with status {proc.returncode}: {self._log_tail()}")
                try:
                    if health.get(f"{url}/health?bundles", timeout=0.5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise EngineStartError(f"OPA did not become ready within {self.startup_timeout_s:.0f} s: {self._log_tail()}")
                time.sleep(0.02)
        except BaseException:
            self._kill(proc)
            raise
        finally:
            health.close()
        old, old_proc = self._client, self._proc
        self._proc, self._token, self.url = proc, token, url
        self._client = _client_for(url, self.timeout_s, token)
        # until the new process answers, the revision it serves is the one read from its bundle
        self.last_revision = self.bundle_revision
        if old is not None:
            old.close_connection()
        if old_proc is not None and old_proc is not proc:
            self._kill(old_proc)  # an explicit start() while running replaces the process, never leaks it
        self.starts += 1
        self.start_error = None

    def _log_tail(self, limit: int = 600) -> str:
        path = self.log_path
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path else ""
        except OSError:
            text = ""
        return text.strip()[-limit:] or "(no output)"

    def _start(self) -> None:
        bundle = self._bundle_path()
        last: Exception | None = None
        for _ in range(3):  # a port taken between choosing and binding: choose another
            try:
                self._spawn_once(bundle)
                return
            except EngineStartError as exc:
                last = exc
                if "address already in use" not in str(exc):
                    break
        assert last is not None
        raise last

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

    def _ensure_running(self) -> OpaClient | None:
        if self._closed:
            return None
        if self.alive and self._client is not None:
            return self._client
        with self._lock:
            if self.alive and self._client is not None:
                return self._client
            if self._proc is not None:
                self._kill(self._proc)
                self._proc = None
            if time.monotonic() - self._last_start_attempt < self.restart_backoff_s and self.start_error:
                return None
            if self._start_locked_or_record():
                return self._client
            return None

    def _current_client(self) -> tuple[OpaClient | None, str]:
        if self.alive and self._client is not None:
            return self._client, ""
        client = self._ensure_running()
        return client, f"managed OPA is not running: {self.start_error or 'stopped'}"

    def _after_unavailable(self) -> OpaClient | None:
        if self._closed or self.alive:
            return None
        return self._ensure_running()

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=3)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close_connection()
            if self._proc is not None:
                self._kill(self._proc)
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
        _LIVE.discard(self)
