"""The model-router command line (click)."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """model-router: governed model routing decisions evaluated by OPA."""
