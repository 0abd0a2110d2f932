"""The policy engine: a real OPA, either started and managed by the router or reached by URL.

Both engines implement router.engine_interface.Engine (`query`, `decide`, `decide_many`, `describe`,
`last_revision`, `close`, context manager), as router.engine_fleet.FleetEngine does for several
replicas. Each is put together from the two halves of the seam:

* the **client** (router.opa_client.OpaClient): queries over one router.opa_http channel (unix socket
  or TCP/TLS), each bounded by one deadline and a response size cap, following no redirects and
  reading no proxy settings from the environment; every fault comes back as an `EngineResult` with one
  fail-closed reason code (engine-unavailable, engine-timeout, engine-error,
  engine-revision-mismatch, policy-undefined; see router.opa_client);
* the **supervisor** (router.opa_supervisor.OpaSupervisor, managed engine only): launch, health,
  restart and shutdown of the router's own `opa run --server`.

`RemoteEngine` is a client of an OPA that already serves the model-router bundle; an answer under
another revision than the pinned one (`expected_revision`) fails closed.

`ManagedEngine` runs `opa run --server` listening on a unix domain socket inside a private 0700 runtime
folder, serving a verified copy of the bundle, and checks that OPA serves its revision before the first
decision. Every answer's revision must equal the served one. When OPA has died, the next query restarts
it (and asks again once when the process died under the query). With `auth=True` (the default) the
server only answers requests carrying a random per-process bearer token (`--authentication=token
--authorization=basic` with policies/system/authz/authz.rego). `transport="tcp"` listens on an
ephemeral loopback port instead (an explicit option); the router then trusts the port only after /proc
shows that the listening socket belongs to the OPA child.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from router.engine_interface import (
    DEFAULT_TIMEOUT_S,
    Engine,
    QueryEngine,
    decision_timeout,
)
from router.opa_client import (
    BATCH_PACKAGE,
    BATCH_RULE,
    DECISION_PACKAGE,
    DECISION_RULE,
    ENGINE_ERROR,
    ENGINE_REVISION_MISMATCH,
    ENGINE_TIMEOUT,
    ENGINE_UNAVAILABLE,
    EVIDENCE_UNAVAILABLE,
    FAULT_CODES,
    INVALID_POLICY_RESULT,
    POLICY_UNDEFINED,
    QUERY_PARAMS,
    EngineResult,
    OpaClient,
    revision_from_provenance,
    rule_path,
)
from router.opa_http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    LOOPBACK_HOSTS,
    Channel,
    ChannelError,
    ChannelTimeout,
    ChannelUnavailable,
)
from router.opa_process import (
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
from router.opa_supervisor import MANAGED_OPA_ARGS, OpaSupervisor, Served

# The names other modules import from router.engine (the engines, and what the halves of the seam
# define: result and fault types of the client, the channel, the process helpers) stay importable here.
__all__ = [
    "AUTHZ_BUNDLE_REVISION", "AUTHZ_POLICY", "BATCH_PACKAGE", "BATCH_RULE", "DECISION_PACKAGE", "DECISION_RULE",
    "DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_TIMEOUT_S", "ENGINE_ERROR", "ENGINE_REVISION_MISMATCH", "ENGINE_TIMEOUT",
    "ENGINE_UNAVAILABLE", "EVIDENCE_UNAVAILABLE", "FAULT_CODES", "INVALID_POLICY_RESULT", "LOOPBACK_HOSTS", "MANAGED_OPA_ARGS",
    "POLICY_UNDEFINED", "QUERY_PARAMS", "SOCKET_NAME", "Channel", "ChannelError", "ChannelTimeout",
    "ChannelUnavailable", "ClientEngine", "Engine", "EngineResult", "EngineStartError", "ManagedEngine", "OpaClient",
    "OpaProcess", "OpaSupervisor", "RemoteEngine", "free_port", "listener_belongs_to", "revision_from_provenance",
    "rule_path", "runtime_dir", "sweep_stale_runtime_dirs",
]


class ClientEngine(QueryEngine):
    """An engine that queries one OPA through an OpaClient: the decision timeout, the expected revision,
    the revision of the latest answer. Subclasses say which client is current and whether to retry."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, *, expected_revision: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.timeout_s = decision_timeout(timeout_s)
        self.max_response_bytes = max_response_bytes
        self.expected_revision = expected_revision
        self.last_revision: str | None = None

    # -- subclass hooks --------------------------------------------------------------
    @property
    def client(self) -> OpaClient | None:
        """The client queries go through now (None: no OPA to ask)."""
        return None

    def _current_client(self) -> tuple[OpaClient | None, str]:
        return self.client, "no OPA client"

    def _after_unavailable(self, answer: EngineResult) -> OpaClient | None:
        """Called when OPA could not be reached; may return a fresh client to ask once more."""
        return None

    def _expected(self) -> str | None:
        return self.expected_revision

    # -- public accessors ------------------------------------------------------------
    @property
    def url(self) -> str | None:
        client = self.client
        return client.url if client is not None else None

    @property
    def token(self) -> str | None:
        """The bearer token sent to OPA (None: none)."""
        client = self.client
        return client.token if client is not None else None

    @property
    def channel(self) -> Channel | None:
        """The HTTP channel of the current client (raw calls: benchmarks, probes)."""
        client = self.client
        return client.channel if client is not None else None

    # -- queries ---------------------------------------------------------------------
    def _ask(self, client: OpaClient, input_data: Any, package: str, rule: str, decisions: int) -> EngineResult:
        # a batch of N bundles gets N single-decision allowances, as one deadline for the whole call
        answer = client.ask(input_data, package, rule, self.timeout_s * max(1, decisions),
                            expected_revision=self._expected())
        if answer.revision and answer.fault != ENGINE_REVISION_MISMATCH:
            self.last_revision = answer.revision
        return answer

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        """Evaluate data.<package>.<rule> for input_data (DECISIONS bundles' worth of work). Never raises for an engine fault."""
        try:
            client, why = self._current_client()
            if client is None:
                return EngineResult(fault=ENGINE_UNAVAILABLE, detail=why)
            answer = self._ask(client, input_data, package, rule, decisions)
            if answer.fault == ENGINE_UNAVAILABLE:
                retry = self._after_unavailable(answer)
                if retry is not None:
                    answer = self._ask(retry, input_data, package, rule, decisions)
            return answer
        except Exception as exc:  # noqa: BLE001  (fail closed: no fault may escape as an exception)
            return EngineResult(fault=ENGINE_ERROR, detail=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        client = self.client
        if client is not None:
            client.close()

    @property
    def describe(self) -> str:
        return "opa"


class RemoteEngine(ClientEngine):
    """An OPA that already serves the model-router bundle, reached by URL (unix:///path, http(s)://host:port).

    EXPECTED_REVISION pins the policy revision: an answer computed under any other revision fails
    closed with engine-revision-mismatch. PROXY (http://host:port) is used only when given: proxy
    settings in the environment are never read."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S, token: str | None = None, *,
                 expected_revision: str | None = None, proxy: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        super().__init__(timeout_s, expected_revision=expected_revision, max_response_bytes=max_response_bytes)
        self._client = OpaClient(url, token=token, proxy=proxy, max_response_bytes=max_response_bytes)

    @property
    def client(self) -> OpaClient:
        return self._client

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def describe(self) -> str:
        return f"remote OPA at {self.url}"


class ManagedEngine(ClientEngine):
    """An `opa run --server` process owned by this engine (an OpaSupervisor), restarted when it dies,
    queried by a client of whatever the supervisor serves now.

    TRANSPORT is "unix" (the default: a unix domain socket in the engine's private runtime folder) or
    "tcp" (an ephemeral 127.0.0.1 port, trusted only once it is shown to belong to the child). OPA is
    started at construction; a failure is recorded in `start_error` and decisions fail closed with
    engine-unavailable until a later start succeeds. With BACKGROUND_START the construction verifies the
    bundle and spawns OPA, then returns while OPA compiles the bundle; the first query or look at the
    engine's state waits for that start (router.opa_supervisor), and a query's timeout begins after it."""

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
        gogc: int | None = None,
        background_start: bool = False,
        supervisor: OpaSupervisor | None = None,
    ) -> None:
        super().__init__(timeout_s, max_response_bytes=max_response_bytes)
        # SUPERVISOR: one made for this engine already (router.opa_supervisor.for_settings), perhaps
        # started; the supervisor arguments above then do not apply, and it is started here only when it
        # never was
        self.supervisor = supervisor if supervisor is not None else OpaSupervisor(
            bundle, auth=auth, extra_args=extra_args, startup_timeout_s=startup_timeout_s,
            restart_backoff_s=restart_backoff_s, probe_timeout_s=max(self.timeout_s, 2.0), opa=opa,
            log_file=log_file, transport=transport, max_response_bytes=max_response_bytes, gogc=gogc,
        )
        self._lock = threading.Lock()
        self._current: tuple[int, OpaClient] | None = None  # (start number of the OPA it asks, client)
        if self.supervisor.start_attempted:
            return
        if self.supervisor.try_start(wait=not background_start) and not background_start:
            self._client_of(self.supervisor.served)

    # -- the supervisor's state, as the engine's ---------------------------------------
    @property
    def transport(self) -> str:
        """'unix' or 'tcp'."""
        return self.supervisor.transport

    @property
    def auth(self) -> bool:
        """Whether OPA answers only requests carrying the bearer token."""
        return self.supervisor.auth

    @property
    def pid(self) -> int | None:
        return self.supervisor.pid

    @property
    def alive(self) -> bool:
        return self.supervisor.alive

    @property
    def starts(self) -> int:
        return self.supervisor.starts

    @property
    def start_error(self) -> str | None:
        return self.supervisor.start_error

    @property
    def bundle_revision(self) -> str | None:
        return self.supervisor.bundle_revision

    @property
    def log_path(self) -> Path | None:
        return self.supervisor.log_path

    @property
    def runtime_dir(self) -> Path | None:
        return self.supervisor.runtime_dir

    @property
    def socket_path(self) -> Path | None:
        return self.supervisor.socket_path

    @property
    def url(self) -> str | None:
        return self.supervisor.url

    @property
    def token(self) -> str | None:
        return self.supervisor.token

    @property
    def client(self) -> OpaClient | None:
        current = self._current
        if current is None:  # none made yet (a start begun in the background): the served OPA's, once ready
            return self._client_of(self.supervisor.served)
        return current[1]

    @property
    def describe(self) -> str:
        url = self.supervisor.url
        return f"managed OPA at {url} (pid {self.pid})" if url else "managed OPA (not running)"

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start OPA now, replacing a running one (stopped first, once the bundle is verified); raises
        EngineStartError when it cannot."""
        self.supervisor.start()
        self._client_of(self.supervisor.served)

    def _client_of(self, served: Served | None) -> OpaClient | None:
        """The client of SERVED (what the supervisor serves now): a new one for each start of OPA, which
        also resets `last_revision` to the revision verified in the served bundle."""
        if served is None:
            return None
        current = self._current
        if current is not None and current[0] == served.start:
            return current[1]
        with self._lock:
            old = self._current
            if old is not None and old[0] == served.start:
                return old[1]
            client = OpaClient(served.url, token=served.token, max_response_bytes=self.max_response_bytes)
            self._current = (served.start, client)
            self.last_revision = served.revision
        if old is not None:
            old[1].close()
        return client

    def _expected(self) -> str | None:
        return self.supervisor.bundle_revision

    def _current_client(self) -> tuple[OpaClient | None, str]:
        if self.supervisor.ensure_running():
            client = self._client_of(self.supervisor.served)
            if client is not None:
                return client, ""
        return None, f"managed OPA is not running: {self.supervisor.start_error or 'stopped'}"

    def _after_unavailable(self, answer: EngineResult) -> OpaClient | None:
        supervisor = self.supervisor
        if supervisor.closed:
            return None
        if supervisor.alive:
            if not (answer.refused and supervisor.transport == "unix"):
                return None
            # nothing listens on the private socket any more, yet the process has not been reaped yet
            # (a process being killed closes its files before it exits): give it a moment, then restart;
            # still alive and not listening: fail closed now, the next call retries
            current = self._current
            if not supervisor.wait_for_exit(min(self.timeout_s, 1.0), current[0] if current is not None else None):
                return None
        if supervisor.ensure_running():
            return self._client_of(supervisor.served)
        return None

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current[1].close()
        self.supervisor.close()
