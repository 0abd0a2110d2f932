"""The `model-router` console entry point ([project.scripts] in pyproject.toml).

`decide`, `explain` and `hook` wait for their managed OPA to load and compile the policy, which is most
of a cold command's time. For these commands this entry point starts that OPA before it imports the
command line (click, the bundle reader, the decision, receipt and projection modules), so that OPA
compiles while Python imports. It does so only with the settings of the environment alone
(MODEL_ROUTER_* variables, a MODEL_ROUTER_CONFIG file) asking for a managed OPA, and only when the
command line names no other OPA or settings file (--opa-url, --config) and asks for no help.

The command adopts that OPA when its own settings (command-line options included) ask for the same
one (`opa_supervisor.adopt`); otherwise it stops it and starts its own. Any problem in the early start
is left for the command to meet and report as it always does: nothing is printed here.

When one of these commands ends and no other thread that Python would wait for runs, the entry point
exits the way Python's own exit does as far as anything outside the process can tell (the atexit
handlers run: the managed OPA stopped and its folder removed; the standard streams flushed; the
command's exit status) and then skips the interpreter's teardown, which only frees memory the system
takes back anyway: clearing every module and collecting its objects took 35-50 ms of a 0.5 s cold
decide (`exit_without_teardown`).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.opa_supervisor import OpaSupervisor

EARLY_COMMANDS = frozenset({"decide", "explain", "hook"})
# command-line options after which the environment's settings are not the command's
_OTHER_SETTINGS = ("--opa-url", "--config", "-h", "--help")


def early_start(args: Sequence[str]) -> OpaSupervisor | None:
    """The managed OPA's supervisor, started without waiting, for the command line ARGS (without the
    program name) when the command is one of EARLY_COMMANDS and the environment's settings alone ask
    for a managed OPA; else None."""
    if not args or args[0] not in EARLY_COMMANDS:
        return None
    if any(arg == option or arg.startswith(option + "=") for arg in args[1:] for option in _OTHER_SETTINGS):
        return None
    from router import opa_supervisor
    from router.config import load_settings

    try:
        settings = load_settings(None)
    except Exception:  # noqa: BLE001  (unusable settings: the command reads them again and reports them)
        return None
    return opa_supervisor.started_for(settings) if settings.managed_opa else None


# the exit status of a process whose standard output cannot be flushed at exit (as Python's own exit)
FLUSH_FAILED_STATUS = 120


def exit_without_teardown(end: SystemExit) -> None:
    """End the process as SystemExit END would, without the interpreter's teardown: run the atexit
    handlers, flush standard output and standard error, then `os._exit` with END's status
    (FLUSH_FAILED_STATUS when a successful command's output cannot be flushed, as Python's own exit
    gives). Returns, leaving the exit to Python, when END's code is not a status or when a non-daemon
    thread other than this one still runs (Python would wait for it). Open files are the caller's to
    close: their buffers are not flushed here."""
    code = 0 if end.code is None else end.code
    if not isinstance(code, int) or isinstance(code, bool):
        return
    current = threading.current_thread()
    if any(thread is not current and not thread.daemon and thread.is_alive() for thread in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            if stream is sys.stdout and code == 0:
                code = FLUSH_FAILED_STATUS
    os._exit(code & 0xFF)


def main() -> None:
    args = sys.argv[1:]
    supervisor = early_start(args)
    from router import cli

    try:
        cli.main(obj={cli.EARLY_SUPERVISOR: supervisor})
    except SystemExit as end:
        if args and args[0] in EARLY_COMMANDS:
            exit_without_teardown(end)
        raise
