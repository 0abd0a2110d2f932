"""The `model-router` console script: begins the managed OPA's start, then runs the command line.

For `decide` with the embedded OPA (no --opa-url or --config on the command line, and no remote OPA in
the settings), the OPA starts in the background (router.opa_prestart) while Python imports router.cli,
so a cold decision waits for the longer of the two instead of their sum. Anything else runs exactly
as `python -m router.cli` does; so does `decide` whenever the guess does not hold (the engine then
starts its own OPA and the prestarted one is stopped).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

# options that choose another engine or settings file than the environment names; with any of them
# (or --help) nothing is prestarted
_ENGINE_OPTIONS = ("--opa-url", "--config", "--help", "-h")


def wants_prestart(argv: Sequence[str]) -> bool:
    """Whether ARGV (without the program name) is a `decide` that will use the embedded OPA as far as
    the command line shows."""
    if not argv or argv[0] != "decide" or os.environ.get("MODEL_ROUTER_NO_PRESTART"):
        return False
    return not any(a == opt or a.startswith(opt + "=") for a in argv[1:] for opt in _ENGINE_OPTIONS)


def prestart() -> None:
    """Begin starting, in a background thread, the managed OPA a `decide` with default settings uses.
    The thread imports only the supervisor before it launches OPA, so OPA's start overlaps with this
    thread's import of the command line; then it reads the settings (environment, MODEL_ROUTER_CONFIG)
    and stops the OPA again when they name a remote OPA, another response size cap, or cannot be read
    (the command then reports that itself)."""
    from router import opa_prestart

    def make() -> opa_prestart.Made:
        from router.opa_http import DEFAULT_MAX_RESPONSE_BYTES
        from router.opa_supervisor import MANAGED_OPA_ARGS, OpaSupervisor

        supervisor = OpaSupervisor(None, extra_args=MANAGED_OPA_ARGS, max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES)
        supervisor.try_start()
        from router.config import ConfigError, load_settings

        try:
            settings = load_settings()
        except (ConfigError, OSError):
            settings = None
        if settings is None or settings.opa_url or settings.opa_urls or settings.max_response_bytes != DEFAULT_MAX_RESPONSE_BYTES:
            supervisor.close()
            return None
        return opa_prestart.key(None, auth=True, extra_args=MANAGED_OPA_ARGS, log_file=None, transport="unix",
                                max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES, opa=None), supervisor

    opa_prestart.begin_with(make)


def run() -> None:
    if wants_prestart(sys.argv[1:]):
        # only a head start: whatever goes wrong here, the command starts its own OPA as always
        with contextlib.suppress(Exception):
            prestart()
    from router.cli import main

    main()


if __name__ == "__main__":
    run()
