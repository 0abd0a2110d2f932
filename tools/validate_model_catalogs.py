#!/usr/bin/env python3
"""Validate ModelCatalog, ModelRoutePolicy and route authorization mirror documents.

    python3 tools/validate_model_catalogs.py            # every such document under examples/
    python3 tools/validate_model_catalogs.py FILE...    # those files (mirrors among them are used
                                                        # to check the catalogs' authorization records)

Checks the JSON Schema plus: score weights sum to exactly 1.0, authorization status and flags agree,
and every catalog model has an authorization record (a model without one is named).
Exit status: 0 valid, 1 invalid, 2 unusable input.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.contracts.bootstrap import run_main  # noqa: E402  (standard library only)


def _load_main():
    from router.contracts import model_rules

    return model_rules.main


if __name__ == "__main__":
    run_main(__file__, _load_main)
