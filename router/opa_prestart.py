"""Start the managed OPA early, while the command line is still importing the rest of the router.

A cold `model-router decide` spends most of its time in two waits that do not depend on each other:
Python importing the router (click, the decision and receipt modules, jsonschema) and OPA starting
(loading and compiling the bundle). `router.launch` begins the managed OPA's start in a background
thread before it imports the command line, so the two overlap; the ManagedEngine the command then
builds adopts that supervisor instead of starting a second OPA.

Nothing about the OPA is different: the prestarted supervisor is an ordinary OpaSupervisor (verified
bundle copy in a private folder, random bearer token, unix socket, revision checked), made with the
very arguments the engine would use. An engine adopts it only when its own arguments are equal (the
`key`); otherwise the prestarted OPA is stopped and the engine starts its own. One that is never
adopted (the command failed before it decided, or decided with a remote OPA) is stopped when the
process exits, as every supervisor is.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from router.opa_supervisor import OpaSupervisor


def key(bundle: Path | None, *, auth: bool, extra_args: tuple[str, ...], log_file: Path | None,
        transport: str, max_response_bytes: int, opa: Path | None) -> Hashable:
    """What makes two managed OPAs interchangeable: the supervisor arguments that shape the process
    (the timeouts and the restart backoff are the adopting engine's to set)."""
    return (str(bundle) if bundle is not None else None, auth, tuple(extra_args),
            str(log_file) if log_file is not None else None, transport, max_response_bytes,
            str(opa) if opa is not None else None)


class _Pending:
    def __init__(self, supervisor_key: Hashable, supervisor: OpaSupervisor) -> None:
        self.key = supervisor_key
        self.supervisor = supervisor
        self.thread = threading.Thread(target=supervisor.try_start, name="model-router-opa-prestart", daemon=True)


_lock = threading.Lock()
_pending: _Pending | None = None


def begin(bundle: Path | None = None, *, auth: bool = True, extra_args: tuple[str, ...] = (),
          log_file: Path | None = None, transport: str = "unix", max_response_bytes: int, opa: Path | None = None,
          **supervisor_args: Any) -> None:
    """Start a managed OPA in the background for the engine this process is about to build (one at a
    time: a second call while one is pending does nothing)."""
    global _pending
    with _lock:
        if _pending is not None:
            return
        supervisor = OpaSupervisor(bundle, auth=auth, extra_args=extra_args, log_file=log_file, transport=transport,
                                   max_response_bytes=max_response_bytes, opa=opa, **supervisor_args)
        supervisor_key = key(bundle, auth=auth, extra_args=extra_args, log_file=log_file, transport=transport,
                             max_response_bytes=max_response_bytes, opa=opa)
        _pending = _Pending(supervisor_key, supervisor)
        _pending.thread.start()


def take(supervisor_key: Hashable) -> OpaSupervisor | None:
    """The prestarted supervisor when there is one made with SUPERVISOR_KEY (after its start attempt has
    finished: started, or with `start_error` set); None otherwise. A pending one of another key is
    stopped. Either way nothing stays pending."""
    global _pending
    with _lock:
        pending, _pending = _pending, None
    if pending is None:
        return None
    pending.thread.join()
    if pending.key != supervisor_key:
        pending.supervisor.close()
        return None
    return pending.supervisor


def pending() -> bool:
    """Whether a prestarted supervisor waits to be adopted."""
    return _pending is not None
