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
"""

from __future__ import annotations

import sys
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


def main() -> None:
    supervisor = early_start(sys.argv[1:])
    from router import cli

    cli.main(obj={cli.EARLY_SUPERVISOR: supervisor})
