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


def prestart() -> bool:
    """Begin starting the managed OPA the settings (environment, MODEL_ROUTER_CONFIG) call for; False
    when they name a remote OPA or cannot be read (the command then reports that itself)."""
    from router import opa_prestart
    from router.config import ConfigError, load_settings
    from router.engine import MANAGED_OPA_ARGS

    try:
        settings = load_settings()
    except (ConfigError, OSError):
        return False
    if settings.opa_url or settings.opa_urls:
        return False
    opa_prestart.begin(extra_args=MANAGED_OPA_ARGS, max_response_bytes=settings.max_response_bytes)
    return True


def run() -> None:
    if wants_prestart(sys.argv[1:]):
        # only a head start: whatever goes wrong here, the command starts its own OPA as always
        with contextlib.suppress(Exception):
            prestart()
    from router.cli import main

    main()


if __name__ == "__main__":
    run()
