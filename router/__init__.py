"""model-router: a governed model and service router whose decisions are Rego policy evaluated by OPA."""

__version__ = "0.1.0"
