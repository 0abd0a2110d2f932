"""model-router: a governed model and service router whose decisions are Rego policy evaluated by OPA."""

__version__ = "0.1.0"

__all__ = ["Router", "Decision", "InvalidBundle", "__version__"]


def __getattr__(name: str):
    # imported lazily so that `python -m router.policy_data` and friends stay light
    if name == "Router":
        from router.api import Router

        return Router
    if name == "Decision":
        from router.decision import Decision

        return Decision
    if name == "InvalidBundle":
        from router.bundle_input import InvalidBundle

        return InvalidBundle
    raise AttributeError(f"module 'router' has no attribute {name!r}")
