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
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by the background thread itself: this module stays import-free
    from router.opa_supervisor import OpaSupervisor


def key(bundle: Path | None, *, auth: bool, extra_args: tuple[str, ...], log_file: Path | None,
        transport: str, max_response_bytes: int, opa: Path | None) -> Hashable:
    """What makes two managed OPAs interchangeable: the supervisor arguments that shape the process
    (the timeouts and the restart backoff are the adopting engine's to set)."""
    return (str(bundle) if bundle is not None else None, auth, tuple(extra_args),
            str(log_file) if log_file is not None else None, transport, max_response_bytes,
            str(opa) if opa is not None else None)


# what a prestart makes: the supervisor and its key, or None when there is nothing to start
Made = tuple[Hashable, "OpaSupervisor"] | None


class _Pending:
    def __init__(self, make: Callable[[], Made]) -> None:
        self.made: Made = None
        self._make = make
        self.thread = threading.Thread(target=self._run, name="model-router-opa-prestart", daemon=True)

    def _run(self) -> None:
        try:
            self.made = self._make()
        except Exception:  # noqa: BLE001 - only a head start: the engine then starts its own OPA
            self.made = None


_lock = threading.Lock()
_pending: _Pending | None = None


def begin_with(make: Callable[[], Made]) -> None:
    """Run MAKE in a background thread now: it imports what it needs, starts a supervisor and returns
    it with its key (or None when there is nothing to adopt). Registered at once, so an
    engine built meanwhile waits for it rather than starting a second OPA. One at a time: a second
    call while one is pending does nothing."""
    global _pending
    with _lock:
        if _pending is not None:
            return
        _pending = _Pending(make)
        _pending.thread.start()


def begin(bundle: Path | None = None, *, auth: bool = True, extra_args: tuple[str, ...] = (),
          log_file: Path | None = None, transport: str = "unix", max_response_bytes: int, opa: Path | None = None,
          **supervisor_args: Any) -> None:
    """Start a managed OPA in the background for the engine this process is about to build."""

    def make() -> Made:
        from router.opa_supervisor import OpaSupervisor

        supervisor = OpaSupervisor(bundle, auth=auth, extra_args=extra_args, log_file=log_file, transport=transport,
                                   max_response_bytes=max_response_bytes, opa=opa, **supervisor_args)
        supervisor.try_start()
        return key(bundle, auth=auth, extra_args=extra_args, log_file=log_file, transport=transport,
                   max_response_bytes=max_response_bytes, opa=opa), supervisor

    begin_with(make)


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
    if pending.made is None:
        return None
    made_key, supervisor = pending.made
    if made_key != supervisor_key:
        supervisor.close()
        return None
    return supervisor


def pending() -> bool:
    """Whether a prestart waits to be adopted."""
    return _pending is not None
