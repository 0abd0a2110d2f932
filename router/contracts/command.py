"""`model-router validate FILE...`: check contract documents of any kind (detected from each document)."""

from __future__ import annotations

from pathlib import Path

import click

from router.contracts.kinds import KINDS, load_extensions
from router.contracts.runner import run_validator

load_extensions()


@click.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(list(KINDS)),
    help="Only accept documents of this kind (repeatable). Without FILE: check every example of it.",
)
@click.pass_context
def validate_command(ctx: click.Context, files: tuple[Path, ...], kinds: tuple[str, ...]) -> None:
    """Validate FILE... against their JSON Schema and semantic rules; the kind comes from each document.

    With no FILE, every document under examples/ is checked. Every violation names the file, the
    JSON path, what was found and what was expected. Exit status: 0 valid, 1 invalid, 2 unusable
    input (missing file, not JSON, not an object, unknown kind).
    """
    ctx.exit(run_validator(list(files), list(kinds) or None))
