"""The managed OPA's supervisor: launch, health, restart and shutdown of one `opa run --server` child.

`OpaSupervisor` owns one private 0700 runtime folder and at most one running router.opa_process
child in it. It serves a verified copy of the bundle (the digest of the archive's contents must equal
its revision; a bundle passed in explicitly is also checked against policies/capabilities.json;
nothing is sent to OPA before the copy it was given is verified), waits
for `/health?bundles`, checks that the bundle OPA reports (data.system.bundles) has the expected
revision, restarts OPA when the process died (at most once per `restart_backoff_s` after a failed
start), and stops it (process group) and removes the folder on close, on context-manager exit and at
interpreter exit. With `auth=True` (the default) the server answers only requests carrying a random
per-process bearer token; `transport="tcp"` listens on an ephemeral loopback port instead of the unix
socket (trusted only once /proc shows that the listener belongs to the child).

The supervisor sends no policy query: what it serves is published as a `Served` value (URL, token,
revision, start number) for a client (router.opa_client) to query; a new start number means a new
process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from router import bundle_record, opa_binary
from router.opa_endpoint import DEFAULT_MAX_RESPONSE_BYTES
from router.opa_process import SOCKET_NAME, EngineStartError, Launch, OpaProcess, runtime_dir

if TYPE_CHECKING:
    from router.bundle import BuiltBundle
    from router.config import Settings

TRANSPORTS = ("unix", "tcp")
PORT_ATTEMPTS = 3  # a TCP port taken between choosing and binding: choose another


@dataclass(frozen=True)
class Served:
    """Where the running OPA answers and what it serves: one value per start (START counts them)."""

    url: str
    token: str | None
    revision: str
    start: int


# Arguments every managed OPA gets before the caller's own (router.engine.ManagedEngine, serve-bundle).
# The in-memory store keeps policy data as AST values, so a query reads data without converting it
# first (about a tenth fewer allocations per decision; see docs/performance.md).
MANAGED_OPA_ARGS: tuple[str, ...] = ("--optimize-store-for-read-speed",)

# Go's garbage-collector target for the managed OPA (GOGC) when neither the `opa_gogc` setting nor a
# GOGC in the environment names one. A decision allocates about 3,000-15,000 objects while the live
# heap (policy data, compiled rules) stays the same, so with Go's default of 100 the collector marks
# that whole heap again every few dozen decisions. Measured side by side (`make bench`, section 10;
# docs/performance.md): 0.96x the time per decision on a quiet machine, 0.65-0.91x while other work
# loads it, for more resident memory (73 -> 119 MiB with the example data); above 400 nothing more
# was gained. `opa_gogc: 100` restores Go's default.
MANAGED_OPA_GOGC = 400


def managed_opa_env(gogc: int | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a managed OPA: this process's, with GOGC = GOGC when given, else the
    environment's own GOGC when set, else MANAGED_OPA_GOGC."""
    env = dict(os.environ if environ is None else environ)
    if gogc is not None:
        env["GOGC"] = str(gogc)
    elif not env.get("GOGC"):
        env["GOGC"] = str(MANAGED_OPA_GOGC)
    return env


def supervisor_arguments(settings: Settings, *, bundle: Path | None = None, auth: bool = True, opa_args: Iterable[str] = (),
                         log_file: Path | None = None) -> dict[str, Any]:
    """OpaSupervisor's arguments for the managed OPA that a router with SETTINGS runs (router.api.Router):
    BUNDLE (default: the project's), AUTH, OPA_ARGS after MANAGED_OPA_ARGS, LOG_FILE as Router takes them."""
    return {"bundle": bundle, "auth": auth, "extra_args": [*MANAGED_OPA_ARGS, *opa_args], "probe_timeout_s": max(settings.timeout_s, 2.0),
            "log_file": log_file, "max_response_bytes": settings.max_response_bytes, "gogc": settings.opa_gogc}


def for_settings(settings: Settings, **options: Any) -> OpaSupervisor:
    """The supervisor of the managed OPA that a router with SETTINGS runs, not started (OPTIONS: those of
    supervisor_arguments). A command may start it (`try_start(wait=False)`) before importing router.api
    and hand it to Router, so that OPA compiles while Python imports the rest of the decision path."""
    arguments = supervisor_arguments(settings, **options)
    supervisor = OpaSupervisor(**arguments)
    supervisor.arguments = arguments
    return supervisor


def started_for(settings: Settings, **options: Any) -> OpaSupervisor:
    """for_settings(SETTINGS, **OPTIONS), started without waiting (`try_start(wait=False)`): OPA compiles
    while the caller goes on; a start that fails is recorded in `start_error`, as any start's is."""
    supervisor = for_settings(settings, **options)
    supervisor.try_start(wait=False)
    return supervisor


def adopt(supervisor: OpaSupervisor | None, settings: Settings, **options: Any) -> OpaSupervisor | None:
    """SUPERVISOR (made by for_settings, maybe started) when it is the one for_settings(SETTINGS, **OPTIONS)
    would make; otherwise it is closed (its OPA stopped) and the answer is None."""
    if supervisor is None:
        return None
    if supervisor.arguments is not None and supervisor.arguments == supervisor_arguments(settings, **options):
        return supervisor
    supervisor.close()
    return None


# router.bundle (the archive, tar and policy-data code) is imported where a bundle is verified, not with
# this module: a managed OPA's first start spawns OPA on router.bundle_record's archive before that
# import, so that OPA compiles while Python imports the builder and verifies the bytes (_Pending)


def _project_bundle() -> BuiltBundle:
    """The project bundle as ensure_bundle verifies (and when needed builds) it."""
    from router import bundle as bundle_mod

    return bundle_mod.ensure_bundle()


@contextlib.contextmanager
def _bundle_start_errors() -> Iterator[None]:
    """A bundle that cannot be verified or read, raised as the EngineStartError of the start that needed it."""
    from router import bundle as bundle_mod

    try:
        yield
    except bundle_mod.BundleIntegrityError as exc:
        raise EngineStartError(f"the bundle cannot be served: {exc}") from None
    except OSError as exc:
        raise EngineStartError(f"the bundle cannot be read: {exc}") from None


def _verifies(pending: _Pending) -> bool:
    """Whether the project bundle, verified now, is the archive and revision PENDING's child was given
    unverified. A bundle that cannot be verified raises EngineStartError, as a start that verifies first does."""
    with _bundle_start_errors():
        built = _project_bundle()
    return built.revision == pending.revision and built.archive == pending.unverified


_LIVE: weakref.WeakSet[OpaSupervisor] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for supervisor in list(_LIVE):
        supervisor.close()


@dataclass(frozen=True)
class _Pending:
    """A start begun without waiting (`try_start(wait=False)`): the spawned child and its revision.
    UNVERIFIED: the archive bytes the child was given before they were verified (the project bundle as
    build/ records it), or None when they were verified before the spawn."""

    launch: Launch
    revision: str
    unverified: bytes | None = None


class OpaSupervisor:
    """One managed OPA (see the module docstring). Not started until `start()` or `try_start()`.

    `try_start(wait=False)` spawns OPA and returns while OPA compiles the bundle; the first look at the
    supervisor's state after that (any property, `ensure_running`, `healthy`) finishes that start, so
    the state read is the same as after a waiting start. The project bundle's first start spawns OPA on
    the archive build/ records and verifies it while OPA compiles: nothing is sent to that OPA until
    `ensure_bundle` has given the same bytes and revision, and when it gives others the child is stopped
    and OPA started again on the verified bytes. `stop` and `close` stop a start in progress without
    waiting for it."""

    def __init__(
        self,
        bundle: Path | None = None,
        *,
        auth: bool = True,
        extra_args: Iterable[str] = (),
        startup_timeout_s: float = 20.0,
        restart_backoff_s: float = 1.0,
        probe_timeout_s: float = 2.0,
        opa: Path | None = None,
        log_file: Path | None = None,
        transport: str = "unix",
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        gogc: int | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport {transport!r}: expected 'unix' or 'tcp'")
        # the arguments it was made with, when made by for_settings (what `adopt` compares)
        self.arguments: dict[str, Any] | None = None
        self.transport = transport
        self.auth = auth
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.restart_backoff_s = restart_backoff_s
        self.probe_timeout_s = probe_timeout_s
        self.max_response_bytes = max_response_bytes
        self.gogc = gogc
        self._bundle_arg = Path(bundle) if bundle is not None else None
        self._opa = opa
        self._log_file = Path(log_file) if log_file is not None else None
        self._lock = threading.RLock()
        self._process: OpaProcess | None = None
        self._served: Served | None = None
        self._pending: _Pending | None = None
        self._folder: Path | None = None
        self._bundle_revision: str | None = None
        self._starts = 0
        self._start_error: str | None = None
        self._last_start_attempt = 0.0
        self._attempts = 0
        self._closed = False
        _LIVE.add(self)

    # -- state (each read first waits for a start begun without waiting) ----------------
    @property
    def served(self) -> Served | None:
        """URL, token, revision and start number of the latest started OPA (None before the first start;
        `alive` says whether it still runs)."""
        self._settle()
        return self._served

    @property
    def url(self) -> str | None:
        served = self.served
        return served.url if served is not None else None

    @property
    def token(self) -> str | None:
        """The bearer token the running OPA requires (None: no authentication, or not started)."""
        served = self.served
        return served.token if served is not None else None

    @property
    def pid(self) -> int | None:
        self._settle()
        process = self._process
        return process.pid if process is not None else None

    @property
    def alive(self) -> bool:
        self._settle()
        process = self._process
        return process is not None and process.alive

    @property
    def starts(self) -> int:
        """How many times OPA started (and became ready)."""
        self._settle()
        return self._starts

    @property
    def bundle_revision(self) -> str | None:
        """The revision the latest started OPA serves (None before the first start)."""
        self._settle()
        return self._bundle_revision

    @property
    def start_error(self) -> str | None:
        """Why the latest start failed (None when it succeeded or none was tried)."""
        self._settle()
        return self._start_error

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def start_attempted(self) -> bool:
        """Whether a start was ever tried (waiting or not, whatever its outcome)."""
        return self._attempts > 0

    @property
    def runtime_dir(self) -> Path | None:
        return self._folder

    @property
    def log_path(self) -> Path | None:
        if self._log_file is not None:
            return self._log_file
        return self._folder / "opa.log" if self._folder else None

    @property
    def socket_path(self) -> Path | None:
        return self._folder / SOCKET_NAME if self._folder and self.transport == "unix" else None

    def healthy(self, timeout_s: float = 1.0) -> bool:
        """Whether the running OPA answers `/health?bundles` within TIMEOUT_S."""
        self._settle()
        process = self._process
        return process is not None and process.healthy(timeout_s)

    # -- lifecycle -------------------------------------------------------------------
    def _private_dir(self) -> Path:
        if self._folder is None:
            self._folder = runtime_dir()
        return self._folder

    def _verified_bundle(self, opa: Path) -> tuple[Path, str]:
        """The bundle to serve and its revision: a verified copy in the private folder. The project bundle
        is built when needed and copied once, so a restart serves the same revision as the first start (a
        rebuild on disk does not change a running router); a bundle given explicitly is copied, verified
        and checked against the capabilities again on every start (a restart serves what the file holds now)."""
        from router import bundle as bundle_mod

        pinned = self._private_dir() / "bundle.tar.gz"
        with _bundle_start_errors():
            if self._bundle_arg is not None:
                tmp = pinned.with_name("bundle.next.tar.gz")
                shutil.copyfile(self._bundle_arg, tmp)
                revision = bundle_mod.verify(tmp)
                bundle_mod.check_capabilities(tmp, opa=opa)
                tmp.replace(pinned)
                return pinned, revision
            if self._bundle_revision is not None and pinned.exists():
                return pinned, self._bundle_revision
            built = _project_bundle()
            # the bytes ensure_bundle verified against the sources' revision, written to the private
            # folder: the project archive is not read again, so a change to it on disk meanwhile cannot
            # reach OPA
            pinned.write_bytes(built.archive)
            return pinned, built.revision

    def _recorded_bundle(self) -> tuple[Path, str, bytes] | None:
        """For the project bundle's first start: the archive and revision build/ records, pinned in the
        private folder unverified (path, revision, bytes); None when there is no such record (or this is
        not that start), so that the bundle is verified (and built) before the spawn."""
        if self._bundle_arg is not None or self._bundle_revision is not None or self._process is not None:
            return None
        recorded = bundle_record.recorded_bundle()
        if recorded is None:
            return None
        data, revision = recorded
        pinned = self._private_dir() / "bundle.tar.gz"
        try:
            pinned.write_bytes(data)
        except OSError:
            return None
        return pinned, revision, data

    def _launch(self, wait: bool = True) -> None:
        """Verify the bundle and start OPA on it; with WAIT false (unix socket only), leave the wait for
        readiness to `_settle`, and for the project bundle's first start also its verification (the
        class docstring)."""
        opa = opa_binary.checked(self._opa) if self._opa else opa_binary.find_opa()
        background = not wait and self.transport == "unix"  # (TCP chooses another port when the first is taken: waits)
        early = self._recorded_bundle() if background else None
        unverified: bytes | None = None
        if early is not None:
            bundle, revision, unverified = early
        else:
            bundle, revision = self._verified_bundle(opa)  # a bundle that cannot be served leaves a running OPA be
        folder = self._private_dir()
        log_path = self.log_path
        assert log_path is not None
        # an explicit start while running replaces the process, never leaks it; the old one stops first,
        # since an OPA that stops removes its socket file, which is the new one's path too
        old, self._process = self._process, None
        if old is not None:
            old.stop()

        def spawn() -> Launch:
            return OpaProcess.spawn(
                opa=opa, bundle=bundle, revision=revision, folder=folder,
                log_path=log_path, auth=self.auth, extra_args=self.extra_args, transport=self.transport,
                startup_timeout_s=self.startup_timeout_s, probe_timeout_s=self.probe_timeout_s,
                max_response_bytes=self.max_response_bytes, env=managed_opa_env(self.gogc),
            )

        if background:
            self._pending = _Pending(spawn(), revision, unverified)
            return
        last: EngineStartError | None = None
        for _ in range(PORT_ATTEMPTS):
            try:
                process = spawn().wait()
                break
            except EngineStartError as exc:
                last = exc
                if self.transport != "tcp" or "address already in use" not in str(exc):
                    raise
        else:
            assert last is not None
            raise last
        self._adopt(process, revision)

    def _adopt(self, process: OpaProcess, revision: str) -> None:
        self._process = process
        self._bundle_revision = revision
        self._starts += 1
        self._served = Served(process.url, process.token, revision, self._starts)
        self._start_error = None

    def _settle(self) -> None:
        """Finish a start begun without waiting: wait until OPA is ready and proven (or record why not)."""
        if self._pending is None:  # the usual case, without the lock
            return
        with self._lock:
            self._finish_pending()

    def _finish_pending(self) -> None:
        """_settle's work under the lock (another thread may have finished the start meanwhile). The
        start stays pending until it is finished, so that a reader in another thread waits for it too."""
        pending = self._pending
        if pending is None:
            return
        try:
            if pending.unverified is not None:
                try:
                    same = _verifies(pending)
                except Exception:
                    pending.launch.abort()  # a bundle that cannot be verified: the child was never asked anything
                    raise
                if not same:
                    # other bytes or another revision than the child was given: it is stopped unasked, and
                    # OPA is started again on the verified bundle
                    pending.launch.abort()
                    self._launch(wait=True)
                    return
            self._adopt(pending.launch.wait(), pending.revision)  # (a failed wait stops the child itself)
        except Exception as exc:  # noqa: BLE001  (recorded, as try_start records it)
            self._start_error = f"{type(exc).__name__}: {exc}"
        finally:
            self._pending = None

    def _abort_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.launch.abort()

    def try_start(self, wait: bool = True) -> bool:
        """Start (or replace) OPA now; False with `start_error` set when it cannot. With WAIT false OPA is
        spawned, and the wait for it to be ready (for the project bundle's first start, also the bundle's
        verification: the class docstring) is left to the first look at the supervisor's state (its
        outcome is then recorded as a waiting start records it)."""
        with self._lock:
            self._abort_pending()
            self._last_start_attempt = time.monotonic()
            self._attempts += 1
            try:
                self._launch(wait)
                return True
            except Exception as exc:  # noqa: BLE001  (recorded; the engine fails closed with engine-unavailable)
                self._start_error = f"{type(exc).__name__}: {exc}"
                return False

    def start(self) -> None:
        """Start (or replace) OPA now; raises EngineStartError when it cannot."""
        if not self.try_start():
            raise EngineStartError(self.start_error)

    def ensure_running(self) -> bool:
        """True when OPA runs, after restarting a dead one (not sooner than `restart_backoff_s` after a
        failed start); False when it cannot run now or the supervisor is closed."""
        if self.alive and not self._closed:
            return True
        with self._lock:
            if self._closed:
                return False
            if self.alive:
                return True
            if self._process is not None:
                self._process.stop()
                self._process = None
            if time.monotonic() - self._last_start_attempt < self.restart_backoff_s and self._start_error:
                return False
            return self.try_start()

    def wait_for_exit(self, timeout_s: float, start: int | None = None) -> bool:
        """Wait up to TIMEOUT_S for the running process (of start number START, when given) to exit: a
        process being killed closes its listener before it is reaped. True when it is gone or replaced."""
        self._settle()
        process, served = self._process, self._served
        if process is None or (start is not None and (served is None or served.start != start)):
            return True
        try:
            process.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        """Stop the running OPA, or a start in progress (it is started again by `ensure_running` or `start`)."""
        with self._lock:
            self._abort_pending()
            if self._process is not None:
                self._process.stop()
                self._process = None

    def close(self) -> None:
        """Stop OPA for good and remove the runtime folder."""
        with self._lock:
            self._closed = True
            self.stop()
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
        _LIVE.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
