#!/usr/bin/env python3
"""Validate ModelCatalog, ModelRoutePolicy and route authorization mirror documents.

    python3 tools/validate_model_catalogs.py            # every such document under examples/
    python3 tools/validate_model_catalogs.py FILE...    # those files (mirrors among them are used
                                                        # to check the catalogs' authorization records)

Checks the JSON Schema plus: score weights sum to exactly 1.0, authorization status and flags agree,
and every catalog model has an authorization record (a model without one is named).
Exit status: 0 valid, 1 invalid, 2 unusable input.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_REEXEC_MARK = "MODEL_ROUTER_VALIDATOR_REEXEC"

if __name__ == "__main__":
    prog = f"tools/{Path(__file__).name}"
    try:
        from router.contracts import model_rules
    except ImportError as exc:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and not os.environ.get(_REEXEC_MARK):
            os.environ[_REEXEC_MARK] = "1"
            os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
        print(f"{prog}: cannot import {exc.name or 'a dependency'}: run `make setup`, then run this again", file=sys.stderr)
        sys.exit(2)
    sys.exit(model_rules.main(sys.argv[1:], prog))
