"""Start a tools/validate_*.py script: standard library only, so it runs under any python3.

When the dependencies (jsonschema, click) are not importable and the project's .venv exists, the
script is run again under .venv/bin/python; otherwise it says to run `make setup`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

_REEXEC_MARK = "MODEL_ROUTER_VALIDATOR_REEXEC"


def run_main(script: str, load_main: Callable[[], Callable[[list[str], str], int]]) -> None:
    """Run the validator that LOAD_MAIN imports for SCRIPT's arguments and exit with its status.

    LOAD_MAIN imports the dependencies; when that fails, the script is run again under the project's
    .venv (once), or the user is told to run `make setup`.
    """
    root = Path(__file__).resolve().parents[2]
    prog = f"tools/{Path(script).name}"
    try:
        main = load_main()
    except ImportError as exc:
        venv_python = root / ".venv" / "bin" / "python"
        if venv_python.exists() and not os.environ.get(_REEXEC_MARK):
            os.environ[_REEXEC_MARK] = "1"
            os.execv(str(venv_python), [str(venv_python), script, *sys.argv[1:]])
        missing = exc.name or "a dependency"
        print(
            f"{prog}: cannot import {missing}: the project's Python environment is not set up;"
            " run `make setup` (it creates .venv with the dependencies), then run this again",
            file=sys.stderr,
        )
        sys.exit(2)
    sys.exit(main(sys.argv[1:], prog))


def run_tool(kind: str, script: str) -> None:
    """Run the validator of KIND for SCRIPT's command line arguments and exit with its status."""

    def load_main() -> Callable[[list[str], str], int]:
        from router.contracts.runner import main_for_kind

        return lambda argv, prog: main_for_kind(kind, argv, prog)

    run_main(script, load_main)
