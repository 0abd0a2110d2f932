"""`model-router fleet up|down|status`: a bundle server, N OPA replicas and the decision-log collector on
loopback (router.fleet), started from the files in deploy/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from router.config import load_settings

if TYPE_CHECKING:
    from router.fleet import Fleet, FleetError

DEFAULT_FOLDER = "build/fleet"


def _fleet_api() -> tuple[type[Fleet], type[FleetError]]:
    """router.fleet, imported when a fleet command runs. The one lazy import of this module: the CLI
    imports this module on every start, and router.fleet (the collector's http.server, the bundle
    signing) adds about 40 ms to `import router.cli` (about 100 ms; `python -X importtime`)."""
    from router.fleet import Fleet, FleetError

    return Fleet, FleetError


@click.group("fleet")
def fleet_group() -> None:
    """A local fleet: nginx bundle server + OPA replicas + decision-log collector (deploy/)."""


@fleet_group.command("up")
@click.option("--folder", type=click.Path(file_okay=False), default=DEFAULT_FOLDER, show_default=True, help="the fleet's state, keys, bundles and logs")
@click.option("--replicas", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--signing-key", type=click.Path(dir_okay=False, exists=True), help="PEM private key to sign the bundles (default: a new key in FOLDER/keys)")
@click.option("--bundle", "bundle_file", type=click.Path(dir_okay=False, exists=True), help="the bundle to publish (default: the project bundle)")
@click.option("--receipts-dir", type=click.Path(file_okay=False), help="where the collector writes decision-logs.jsonl (default: the router's receipt folder)")
def fleet_up(folder: str, replicas: int, signing_key: str | None, bundle_file: str | None, receipts_dir: str | None) -> None:
    """Start the fleet in the background and print the router setting that uses it."""
    Fleet, FleetError = _fleet_api()
    receipts = Path(receipts_dir) if receipts_dir else (load_settings().receipts_path or Path(folder) / "receipts" / "x").parent
    fleet = Fleet(Path(folder), replicas=replicas, receipts_dir=receipts, attached=False,
                  signing_key=Path(signing_key) if signing_key else None)
    try:
        fleet.up(Path(bundle_file) if bundle_file else None)
    except FleetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"fleet up: {replicas} replicas, revision {fleet.state['revision']}")
    click.echo(f"MODEL_ROUTER_OPA_URL={','.join(fleet.urls)}")
    click.echo(f"decision logs: {fleet.decision_log}")


@fleet_group.command("status")
@click.option("--folder", type=click.Path(file_okay=False), default=DEFAULT_FOLDER, show_default=True)
def fleet_status(folder: str) -> None:
    """Print each process and the revision each replica serves (JSON)."""
    Fleet, FleetError = _fleet_api()
    try:
        click.echo(json.dumps(Fleet.load(Path(folder)).status(), indent=1))
    except FleetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@fleet_group.command("down")
@click.option("--folder", type=click.Path(file_okay=False), default=DEFAULT_FOLDER, show_default=True)
def fleet_down(folder: str) -> None:
    """Stop every process of the fleet (replicas first, so that they ship their last decision logs)."""
    Fleet, FleetError = _fleet_api()
    try:
        fleet = Fleet.load(Path(folder))
    except FleetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    fleet.down()
    click.echo("fleet down")
