"""The managed OPA process: started, verified as the router's own, and stopped.

`OpaProcess.spawn(...)` runs one `opa run --server` child serving one bundle and returns at once
with a `Launch`, whose `wait()` returns the OpaProcess once that child is known to be the one
answering and to serve the expected revision (so the caller may work while OPA starts):

* it listens on a unix domain socket (mode 0600) inside a private runtime folder (0700, owned by this
  user, created by `runtime_dir()`), so no TCP port exists that another local process could bind first;
  with the explicit `transport="tcp"` it listens on an ephemeral 127.0.0.1 port, and nothing is sent to
  that port until /proc shows the listener is a socket of the child (`listener_belongs_to`);
* with `auth=True` it answers only requests carrying a random bearer token (only the token's SHA-256
  is on disk, in the runtime folder) and the read-only authorization policy (policies/system/authz);
* after `/health?bundles`, the revision it reports in `data.system.bundles` must equal the expected
  one, else the start fails with `engine-revision-mismatch`.

The child is spawned through a small wrapper that sets the parent-death signal, from one launcher
thread, so a host killed with SIGKILL leaves no OPA behind; runtime folders such a host leaves are swept
by the next `runtime_dir()` call (`sweep_stale_runtime_dirs`). The process is stopped as a process
group (`stop()`). `OpaProcess.channel` (router.opa_http) is the probe channel of the start-up and
health checks; the process knows no policy query (router.opa_client asks those, router.opa_supervisor
restarts a process that died). From router.opa_client it takes only the names of OPA's own facts: the
health and bundles paths, the reader of `data.system.bundles`, the authorization bundle's revision.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router import paths
from router.opa_client import (
    AUTHZ_BUNDLE_REVISION,
    BUNDLES_PATH,
    HEALTH_PATH,
    bundle_manifests,
)
from router.opa_client import ENGINE_REVISION_MISMATCH as REVISION_MISMATCH
from router.opa_endpoint import DEFAULT_MAX_RESPONSE_BYTES, ChannelError

if TYPE_CHECKING:
    from router.opa_http import Channel

__all__ = [
    "AUTHZ_BUNDLE_REVISION", "AUTHZ_POLICY", "LAUNCHER", "OWNER_FILE", "REVISION_MISMATCH", "RUNTIME_PREFIX",
    "SETPRIV", "SOCKET_NAME", "EngineStartError", "Launch", "Launcher", "OpaProcess", "free_port", "kill_process_group",
    "listener_belongs_to", "log_tail", "process_start", "python_wrapper", "runtime_dir", "served_revision",
    "setpriv_wrapper", "sweep_stale_runtime_dirs", "write_authz_bundle",
]

AUTHZ_POLICY = paths.POLICIES / "system" / "authz" / "authz.rego"
SOCKET_NAME = "opa.sock"
# how often a start looks for the child's listener: a cold command waits for OPA, on average half of
# this after the listener appears. A look for a unix socket is a stat and a waitpid, so looking often
# costs OPA nothing; a look for a TCP listener reads /proc, so it looks less often
READY_POLL_S = 0.002
READY_POLL_TCP_S = 0.01
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux


class EngineStartError(RuntimeError):
    """The managed OPA could not be started (names the command and OPA's own message)."""


# On Linux the managed OPA is started through a tiny exec wrapper that asks the kernel to send it
# SIGTERM when its parent dies (PR_SET_PDEATHSIG), so even a host process killed with SIGKILL (no
# atexit) leaves no OPA behind. The signal follows the *thread* that forked the child, so every
# spawn happens on one long-lived launcher thread rather than on whichever thread asked.
# The wrapper is util-linux's `setpriv --pdeathsig` exec-ing a POSIX shell that runs OPA only if its
# parent is still the process that asked (a parent that died before the signal was set would never
# send it): about 1 ms. Where no setpriv knows --pdeathsig, a Python one-liner does the same; it costs
# an interpreter start (about 20 ms here) on every OPA start, which a cold decision waits for.
SETPRIV = "setpriv"
_PARENT_GUARD = '[ "$PPID" = "$0" ] || exit 0; exec "$@"'  # sh -c GUARD <parent pid> <command...>
_DEATH_SIGNAL_WRAPPER = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"  # 1 = PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]): sys.exit(0)\n"  # the parent is already gone
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def setpriv_wrapper() -> list[str] | None:
    """The setpriv parent-death wrapper's command prefix (the parent's pid and the command follow), or
    None when no setpriv on PATH sets the parent-death signal (checked by running it once)."""
    setpriv = shutil.which(SETPRIV)
    if setpriv is None:
        return None
    try:
        probe = subprocess.run([setpriv, "--pdeathsig", "TERM", "--", "/bin/sh", "-c", "exit 0"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return [setpriv, "--pdeathsig", "TERM", "--", "/bin/sh", "-c", _PARENT_GUARD] if probe.returncode == 0 else None


def python_wrapper() -> list[str]:
    """The Python parent-death wrapper's command prefix (the parent's pid and the command follow); empty
    when this interpreter cannot name its own executable (the child is then started unwrapped)."""
    return [sys.executable, "-I", "-S", "-c", _DEATH_SIGNAL_WRAPPER] if sys.executable else []


@dataclass
class _Spawn:
    """One request to the launcher thread and, once done, its outcome."""

    cmd: list[str]
    kwargs: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[bytes] | None = None
    error: BaseException | None = None


class Launcher:
    """Runs every subprocess.Popen of managed OPAs on one daemon thread (see above). KWARGS are those of
    subprocess.Popen for a binary (bytes) child: standard streams, sessions, file descriptors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Spawn] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        # the parent-death wrapper's command prefix (setpriv_wrapper, else python_wrapper), found once
        self.wrapper: list[str] | None = None

    def _run(self) -> None:
        while True:
            spawn = self._queue.get()
            try:
                spawn.proc = subprocess.Popen(spawn.cmd, **spawn.kwargs)
            except BaseException as exc:  # noqa: BLE001  (handed back to the caller, who raises it)
                spawn.error = exc
            spawn.done.set()

    def popen(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        if not sys.platform.startswith("linux"):
            proc: subprocess.Popen[bytes] = subprocess.Popen(cmd, **kwargs)
            return proc
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="model-router-opa-launcher", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
            if self.wrapper is None:
                self.wrapper = setpriv_wrapper() or python_wrapper()
            if not self.wrapper:
                unwrapped: subprocess.Popen[bytes] = subprocess.Popen(cmd, **kwargs)
                return unwrapped
        wrapped = [*self.wrapper, str(os.getpid()), *cmd]
        spawn = _Spawn(wrapped, kwargs)
        self._queue.put(spawn)
        spawn.done.wait()
        if spawn.error is not None:
            raise spawn.error
        assert spawn.proc is not None
        return spawn.proc


LAUNCHER = Launcher()


def free_port() -> int:
    """An ephemeral loopback port that is free right now (only for the explicit TCP transport)."""
    import socket  # (not at the top: the unix-socket start does not need it before OPA is spawned)

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes of every TCP listener on PORT (from /proc/net/tcp and tcp6)."""
    inodes: set[str] = set()
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
    held: set[str] = set()
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


def process_start(pid: int) -> str | None:
    """The start time of process PID (field 22 of /proc/PID/stat), or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_tag() -> str:
    return f"{os.getpid()} {process_start(os.getpid()) or '?'}"


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
        current = process_start(pid)
        if current is None or (started != "?" and current != started):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def runtime_dir() -> Path:
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


STOP_GRACE_S = 3.0  # how long a stopped process has to exit after SIGTERM before it is killed


def _wait(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Reap PROC within TIMEOUT_S, else subprocess.TimeoutExpired. Where the kernel gives a pidfd
    (Linux 5.3+), the wait wakes when PROC exits; Popen.wait with a timeout alone polls with growing
    sleeps (up to 50 ms) and woke about 7 ms after OPA's exit on average, which a command that stops
    its OPA waits for."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None and proc.returncode is None:
        try:
            fd = pidfd_open(proc.pid)  # PROC is not reaped yet (a zombie at worst), so its pid is still its own
        except OSError:  # no pidfd here (ENOSYS), or it was reaped meanwhile: Popen.wait alone
            fd = None
        if fd is not None:
            try:
                poller = select.poll()
                poller.register(fd, select.POLLIN)  # readable once the process has exited
                poller.poll(max(0, int(timeout_s * 1000)))
            finally:
                os.close(fd)
            timeout_s = 0.001  # exited (then reaped at once), or the time is up (TimeoutExpired)
    proc.wait(timeout=timeout_s)


def kill_process_group(proc: subprocess.Popen[bytes], grace_s: float | None = None) -> None:
    """SIGTERM the process group of PROC, then SIGKILL when it has not exited within GRACE_S (default
    STOP_GRACE_S)."""
    grace = STOP_GRACE_S if grace_s is None else grace_s
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        _wait(proc, grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _wait(proc, STOP_GRACE_S)


def server_command(opa: str | Path, addr: str, extra_args: Iterable[str] = ()) -> list[str]:
    """The managed OPA's `opa run --server` command line on ADDR (`unix:///path`, owner-only, or
    `host:port`) with EXTRA_ARGS, before its bundles and authorization options."""
    cmd = [str(opa), "run", "--server", "--addr", addr]
    if addr.startswith("unix://"):
        cmd += ["--unix-socket-perm", "600"]
    return [*cmd, "--log-level", "error", "--skip-version-check", "--shutdown-grace-period", "1", *extra_args]


def write_authz_bundle(folder: Path, token: str) -> Path:
    """The read-only authorization bundle (policies/system/authz) in FOLDER/authz-bundle, accepting only
    TOKEN (only its SHA-256 is written)."""
    root = folder / "authz-bundle"
    (root / "system" / "model_router_auth").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(AUTHZ_POLICY, root / "system" / "authz.rego")
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    (root / "system" / "model_router_auth" / "data.json").write_text(json.dumps({"token_sha256": digest}), encoding="utf-8")
    manifest = {"revision": AUTHZ_BUNDLE_REVISION, "roots": ["system"], "rego_version": 1}
    (root / ".manifest").write_text(json.dumps(manifest), encoding="utf-8")
    return root




def served_revision(channel: Channel, timeout_s: float) -> str | None:
    """The revision of the policy bundle OPA reports having activated (data.system.bundles)."""
    body = channel.get_json(BUNDLES_PATH, timeout_s)
    revisions = set(bundle_manifests(body.get("result") if isinstance(body, dict) else None).values())
    revisions.discard(AUTHZ_BUNDLE_REVISION)
    return revisions.pop() if len(revisions) == 1 else None


def log_tail(path: Path | None, limit: int = 600) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path else ""
    except OSError:
        text = ""
    return text.strip()[-limit:] or "(no output)"


class OpaProcess:
    """One running `opa run --server` child, known to be the router's own (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, token: str | None, channel: Channel, revision: str) -> None:
        self.proc, self.url, self.token, self.channel, self.revision = proc, url, token, channel, revision

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def healthy(self, timeout_s: float) -> bool:
        """Whether the process answers `/health?bundles` within TIMEOUT_S."""
        try:
            self.channel.request("GET", HEALTH_PATH, None, timeout_s)
        except ChannelError:
            return False
        return True

    def stop(self) -> None:
        self.channel.close()
        kill_process_group(self.proc)

    @classmethod
    def spawn(
        cls,
        *,
        opa: Path,
        bundle: Path,
        revision: str,
        folder: Path,
        log_path: Path,
        auth: bool = True,
        extra_args: Iterable[str] = (),
        transport: str = "unix",
        startup_timeout_s: float = 20.0,
        probe_timeout_s: float = 2.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        env: Mapping[str, str] | None = None,
    ) -> Launch:
        """Spawn OPA serving BUNDLE (REVISION: the revision it must report) and return at once: the returned
        Launch's `wait()` gives the OpaProcess once it is ready and proven, or raises EngineStartError
        when it does not become ready, is not provably the child, or reports another revision; nothing
        is sent to it before then. OPA compiles the bundle meanwhile, so the caller's own work overlaps it."""
        if transport not in ("unix", "tcp"):
            raise ValueError(f"transport {transport!r}: expected 'unix' or 'tcp'")
        if transport == "tcp" and not sys.platform.startswith("linux"):
            raise EngineStartError("transport 'tcp' needs /proc to check who owns the port (Linux only); use the unix socket")
        if transport == "unix":
            sock_path = folder / SOCKET_NAME
            sock_path.unlink(missing_ok=True)
            port, url = None, f"unix://{sock_path}"
            cmd = server_command(opa, url, extra_args)
        else:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = server_command(opa, f"127.0.0.1:{port}", extra_args)
        token = None
        bundles = [str(bundle)]
        if auth:
            token = secrets.token_urlsafe(32)
            cmd += ["--authentication=token", "--authorization=basic"]
            bundles.append(str(write_authz_bundle(folder, token)))
        cmd += ["--bundle", *bundles]
        with open(log_path, "ab") as log:
            proc = LAUNCHER.popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
                                  env=dict(env) if env is not None else None)
        try:
            # the HTTP channel is imported once OPA is spawned: a command that starts OPA before its other
            # imports has OPA compile while Python loads the HTTP client (router.opa_endpoint)
            from router.opa_http import Channel

            channel = Channel(url, token=token, max_response_bytes=max_response_bytes)
        except BaseException:  # no Launch to stop it: stopped here
            kill_process_group(proc)
            raise
        return Launch(proc, url, token, channel, revision, folder=folder, port=port, log_path=log_path,
                      deadline=time.monotonic() + startup_timeout_s, startup_timeout_s=startup_timeout_s,
                      probe_timeout_s=probe_timeout_s)


class Launch:
    """A spawned OPA child not yet known to be ready: `wait()` makes it an OpaProcess or raises
    EngineStartError (the child stopped); `abort()` stops it unasked."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, token: str | None, channel: Channel, revision: str, *,
                 folder: Path, port: int | None, log_path: Path, deadline: float, startup_timeout_s: float,
                 probe_timeout_s: float) -> None:
        self.proc, self.url, self.token, self.channel, self.revision = proc, url, token, channel, revision
        self.folder, self.port, self.log_path = folder, port, log_path
        self.deadline, self.startup_timeout_s, self.probe_timeout_s = deadline, startup_timeout_s, probe_timeout_s

    def wait(self) -> OpaProcess:
        """The OpaProcess once the child answers `/health?bundles` on its own listener and reports the
        expected revision; EngineStartError (the child stopped) when it exits, is not ready by the
        deadline, or serves another revision."""
        proc, channel = self.proc, self.channel
        try:
            while True:
                if proc.poll() is not None:
                    raise EngineStartError(f"OPA exited with status {proc.returncode}: {log_tail(self.log_path)}")
                if _listener_ready(proc, self.folder, self.port):
                    try:
                        channel.request("GET", HEALTH_PATH, None, 0.5)
                        break
                    except ChannelError:
                        pass
                if time.monotonic() > self.deadline:
                    raise EngineStartError(f"OPA did not become ready within {self.startup_timeout_s:.0f} s: {log_tail(self.log_path)}")
                time.sleep(READY_POLL_S if self.port is None else READY_POLL_TCP_S)
            try:
                served = served_revision(channel, self.probe_timeout_s)
            except ChannelError as exc:
                raise EngineStartError(f"cannot read the revision OPA serves: {exc}") from None
            if served != self.revision:
                raise EngineStartError(f"{REVISION_MISMATCH}: OPA reports policy revision {served or '(none)'}, expected {self.revision}")
        except BaseException:
            self.abort()
            raise
        return OpaProcess(proc, self.url, self.token, channel, self.revision)

    def abort(self) -> None:
        """Stop the child (its process group) without waiting for it to be ready."""
        self.channel.close()
        kill_process_group(self.proc)


def _listener_ready(proc: subprocess.Popen[bytes], folder: Path, port: int | None) -> bool:
    """Whether the child's own listener exists: for a unix socket, the socket file in the private
    folder (owned by this user); for TCP, a listener on the port held by the child (per /proc)."""
    if port is None:
        try:
            info = os.lstat(folder / SOCKET_NAME)
        except OSError:
            return False
        return stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()
    return listener_belongs_to(proc.pid, port)
