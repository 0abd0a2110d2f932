"""model-router: a governed model and service router whose decisions are Rego policy evaluated by OPA.

    from router import Router, Decision, InvalidBundle

The public names are imported here for real (no lazy module attribute), so type checkers see their
types; the package ships `py.typed`.
"""

from router.api import Router
from router.bundle_input import InvalidBundle
from router.decision import Decision

__version__ = "0.1.0"

__all__ = ["Decision", "InvalidBundle", "Router", "__version__"]
