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
import hashlib
import json
import math
import os
import queue
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from router import opa_binary, paths
from router.opa_http import (  # noqa: F401  (Channel is part of the engine interface)
    DEFAULT_MAX_RESPONSE_BYTES,
    LOOPBACK_HOSTS,
    Channel,
    ChannelError,
    ChannelTimeout,
    ChannelUnavailable,
)

ENGINE_UNAVAILABLE = "engine-unavailable"
ENGINE_TIMEOUT = "engine-timeout"
ENGINE_ERROR = "engine-error"
ENGINE_REVISION_MISMATCH = "engine-revision-mismatch"
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
AUTHZ_POLICY = paths.POLICIES / "system" / "authz" / "authz.rego"
AUTHZ_BUNDLE_REVISION = "model-router-managed-authz"
SOCKET_NAME = "opa.sock"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux


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

    def _after_unavailable(self) -> Channel | None:
        """Called when OPA could not be reached; may return a fresh channel to retry once."""
        return None

    def _expected(self) -> str | None:
        return self.expected_revision

    # -- queries ---------------------------------------------------------------------
    def _ask(self, channel: Channel, input_data: Any, package: str, rule: str, decisions: int = 1) -> EngineResult:
        # a batch of N bundles gets N single-decision allowances, as one deadline for the whole call
        timeout_s = self.timeout_s * max(1, decisions)
        try:
            body = channel.post_json(rule_path(package, rule), {"input": input_data}, timeout_s)
        except ChannelTimeout:
            return EngineResult(fault=ENGINE_TIMEOUT, detail=f"no answer within {timeout_s * 1000:.0f} ms (connect, send and the complete answer)")
        except ChannelUnavailable as exc:
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail=str(exc))
        except ChannelError as exc:
            return EngineResult(fault=ENGINE_ERROR, detail=_http_error_detail(exc))
        except ValueError as exc:  # an input that JSON cannot carry (NaN, a lone surrogate)
            return EngineResult(fault=ENGINE_ERROR, detail=f"the input cannot be sent as JSON: {type(exc).__name__}")
        if not isinstance(body, dict):
            return EngineResult(fault=ENGINE_ERROR, detail="OPA answered with a body that is not a JSON object")
        revision = revision_from_provenance(body.get("provenance"))
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
        return EngineResult(result=body["result"], revision=revision)

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        """Evaluate data.<package>.<rule> for input_data (DECISIONS bundles' worth of work). Never raises for an engine fault."""
        try:
            channel, why = self._current_channel()
            if channel is None:
                return EngineResult(fault=ENGINE_UNAVAILABLE, detail=why)
            answer = self._ask(channel, input_data, package, rule, decisions)
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
    """An ephemeral loopback port that is free right now (only for the explicit TCP transport)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes of every TCP listener on PORT (from /proc/net/tcp and tcp6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                next(fh, None)
                for line in fh:
                    cols = line.split()
                    if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(cols[9])
        except (OSError, ValueError):
            continue
    return inodes


def listener_belongs_to(pid: int, port: int) -> bool:
    """True when every TCP listener on PORT is a socket held by process PID (and there is one)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    held = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                held.add(link[8:-1])
    except OSError:
        return False
    return inodes <= held


RUNTIME_PREFIX = "model-router-opa-"
OWNER_FILE = "owner"


def _process_start(pid: int) -> str | None:
    """The start time of process PID (field 22 of /proc/PID/stat), or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_tag() -> str:
    return f"{os.getpid()} {_process_start(os.getpid()) or '?'}"


def sweep_stale_runtime_dirs(base: Path) -> int:
    """Remove runtime folders under BASE left by a host process that died without cleaning up (killed with
    SIGKILL: its OPA died with it, its folder did not). Only folders of this user whose recorded owner
    process is gone are removed. Returns how many were removed."""
    removed = 0
    if not sys.platform.startswith("linux"):
        return 0
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    uid = os.getuid()
    for entry in entries:
        if not entry.name.startswith(RUNTIME_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            with open(os.path.join(entry.path, OWNER_FILE), encoding="ascii") as fh:
                pid_text, _, started = fh.read().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue  # no owner recorded (yet): not ours to judge
        current = _process_start(pid)
        if current is None or (started != "?" and current != started):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _runtime_dir() -> Path:
    """A new private (0700) folder for one managed OPA: its socket, bundle copy and log. Folders left by
    dead hosts beside it are swept first."""
    base = None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and len(runtime) < 60:
        base = runtime
    path = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX, dir=base))
    if len(str(path / SOCKET_NAME)) > _MAX_SOCKET_PATH:
        shutil.rmtree(path, ignore_errors=True)
        path = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX, dir="/tmp"))
    os.chmod(path, 0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) != 0o700:
        shutil.rmtree(path, ignore_errors=True)
        raise EngineStartError(f"{path}: expected a private folder (mode 0700, owned by this user)")
    (path / OWNER_FILE).write_text(_owner_tag() + "\n", encoding="ascii")
    sweep_stale_runtime_dirs(path.parent)
    return path


class ManagedEngine(_ClientEngine):
    """An `opa run --server` process owned by this engine, restarted when it dies.

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
            self._tmpdir = _runtime_dir()
        return self._tmpdir

    def _bundle_path(self) -> Path:
        """The bundle to serve: a verified copy in the private folder. The project bundle is built when
        needed and copied once, so a restart serves the same revision as the first start (a rebuild on
        disk does not change a running router); a bundle given explicitly is copied again on every start."""
        from router import bundle as bundle_mod

        pinned = self._private_dir() / "bundle.tar.gz"
        try:
            if self._bundle_arg is not None:
                # read on every start: a restart serves whatever the file holds now, and the revision
                # reported before the first answer must be that one, not the revision of an earlier start
                self.bundle_revision = None
                tmp = pinned.with_suffix(".tmp")
                shutil.copyfile(self._bundle_arg, tmp)
                revision = bundle_mod.verify(tmp)
                bundle_mod.check_capabilities(tmp, opa=self._opa)
                tmp.replace(pinned)
                self.bundle_revision = revision
                return pinned
            if self.bundle_revision is not None and pinned.exists():
                return pinned
            built = bundle_mod.ensure_bundle()
            shutil.copyfile(built.path, pinned)
            try:
                bundle_mod.verify(pinned, built.revision)
            except bundle_mod.BundleIntegrityError:  # replaced on disk meanwhile: build and copy again
                built = bundle_mod.ensure_bundle(force=True)
                shutil.copyfile(built.path, pinned)
                bundle_mod.verify(pinned, built.revision)
            self.bundle_revision = built.revision
            return pinned
        except bundle_mod.BundleIntegrityError as exc:
            raise EngineStartError(f"the bundle cannot be served: {exc}") from None
        except OSError as exc:
            raise EngineStartError(f"the bundle cannot be read: {exc}") from None

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

    def _served_revision(self, channel: Channel) -> str | None:
        """The revision of the policy bundle OPA reports having activated (data.system.bundles)."""
        body = channel.get_json("/v1/data/system/bundles", max(self.timeout_s, 2.0))
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            return None
        revisions = {
            b.get("manifest", {}).get("revision")
            for b in result.values()
            if isinstance(b, dict) and isinstance(b.get("manifest"), dict)
        } - {AUTHZ_BUNDLE_REVISION}
        return revisions.pop() if len(revisions) == 1 else None

    def _spawn_once(self, bundle: Path) -> None:
        opa = self._opa or opa_binary.find_opa()
        tmpdir = self._private_dir()
        if self.transport == "unix":
            sock_path = tmpdir / SOCKET_NAME
            try:
                sock_path.unlink()
            except FileNotFoundError:
                pass
            addr, port = f"unix://{sock_path}", None
            url = "unix://" + str(sock_path)
            addr_args = ["--addr", addr, "--unix-socket-perm", "600"]
        else:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            addr_args = ["--addr", f"127.0.0.1:{port}"]
        cmd = [
            str(opa), "run", "--server", *addr_args,
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
        channel = Channel(url, token=token, max_response_bytes=self.max_response_bytes)
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while True:
                if proc.poll() is not None:
                    raise EngineStartError(f"OPA exited with status {proc.returncode}: {self._log_tail()}")
                if self._listener_ready(proc, port):
                    try:
                        channel.request("GET", "/health?bundles", None, 0.5)
                        break
                    except ChannelError:
                        pass
                if time.monotonic() > deadline:
                    raise EngineStartError(f"OPA did not become ready within {self.startup_timeout_s:.0f} s: {self._log_tail()}")
                time.sleep(0.01)
            try:
                served = self._served_revision(channel)
            except ChannelError as exc:
                raise EngineStartError(f"cannot read the revision OPA serves: {exc}") from None
            if served != self.bundle_revision:
                raise EngineStartError(
                    f"{ENGINE_REVISION_MISMATCH}: OPA reports policy revision {served or '(none)'}, expected {self.bundle_revision}"
                )
        except BaseException:
            channel.close()
            self._kill(proc)
            raise
        old, old_proc = self._channel, self._proc
        self._proc, self._token, self.url = proc, token, url
        self._channel = channel
        # until the new process answers, the revision it serves is the one read from its bundle
        self.last_revision = self.bundle_revision
        if old is not None:
            old.close()
        if old_proc is not None and old_proc is not proc:
            self._kill(old_proc)  # an explicit start() while running replaces the process, never leaks it
        self.starts += 1
        self.start_error = None

    def _listener_ready(self, proc: subprocess.Popen, port: int | None) -> bool:
        """Whether the child's own listener exists: for a unix socket, the socket file in the private
        folder (owned by this user); for TCP, a listener on the port held by the child (per /proc)."""
        if port is None:
            try:
                info = os.lstat(self._tmpdir / SOCKET_NAME)
            except (OSError, TypeError):
                return False
            return stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()
        if not sys.platform.startswith("linux"):
            raise EngineStartError("transport 'tcp' needs /proc to check who owns the port (Linux only); use the unix socket")
        return listener_belongs_to(proc.pid, port)

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
        for _ in range(3):  # a TCP port taken between choosing and binding: choose another
            try:
                self._spawn_once(bundle)
                return
            except EngineStartError as exc:
                last = exc
                if self.transport != "tcp" or "address already in use" not in str(exc):
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

    def _ensure_running(self) -> Channel | None:
        if self._closed:
            return None
        if self.alive and self._channel is not None:
            return self._channel
        with self._lock:
            if self.alive and self._channel is not None:
                return self._channel
            if self._proc is not None:
                self._kill(self._proc)
                self._proc = None
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

    def _after_unavailable(self) -> Channel | None:
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
            if self._channel is not None:
                self._channel.close()
            if self._proc is not None:
                self._kill(self._proc)
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
        _LIVE.discard(self)
