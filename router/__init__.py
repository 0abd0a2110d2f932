"""model-router: a governed model and service router whose decisions are Rego policy evaluated by OPA.

    from router import Router, Decision, InvalidBundle

Type checkers see the real classes (the `TYPE_CHECKING` imports below; the package ships `py.typed`).
At run time the three names are imported on first use, and this is the package's one lazy import:
`router` itself must import with the standard library alone, because the stand-alone tools
(tools/*.py, through router.contracts.bootstrap) import it under a bare python3 before re-running
themselves in the virtual environment, and `python -m router.policy_data` and friends stay light
(importing router.api costs about 0.1 s and needs PyYAML, cryptography and click).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.api import Router
    from router.bundle_input import InvalidBundle
    from router.decision import Decision

__version__ = "0.1.0"

__all__ = ["Decision", "InvalidBundle", "Router", "__version__"]

_PUBLIC = {"Router": "router.api", "Decision": "router.decision", "InvalidBundle": "router.bundle_input"}


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'router' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once imported, an ordinary module attribute
    return value
