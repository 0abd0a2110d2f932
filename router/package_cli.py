"""Commands for an installed package: which OPA is used, building the pinned one, serving the bundle.

    model-router opa-path [--json]      the OPA binary the router runs and where it was found
    model-router install-opa [--force]  build the pinned OPA (Go) into the project's pinned-build folder
    model-router serve-bundle ...       run OPA as a remote engine: the project bundle (or a given one),
                                        the token authorization policy (policies/system/authz), and
                                        the same server options as the managed OPA

Registered on the main command group by router.cli (`register(main)`).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from router import bundle as bundle_mod
from router import opa_binary, paths
from router.data_views import PolicyDataError
from router.opa_process import write_authz_bundle
from router.opa_supervisor import MANAGED_OPA_ARGS, managed_opa_env

EXIT_OK, EXIT_INTERNAL, EXIT_UNUSABLE = 0, 1, 2
TOKEN_BYTES = 32


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.command("opa-path")
@click.option("--json", "as_json", is_flag=True, help="print the path, where it was found, the versions and the project's locations as JSON")
def opa_path(as_json: bool) -> None:
    """Print the OPA binary the router runs. It is looked for in this order: MODEL_ROUTER_OPA (explicit
    setting), the project's pinned build (.tools/bin/opa in a checkout, the folder `install-opa` builds
    into for an installed package), then `opa` on PATH when it reports the pinned version. Where it was
    found goes to standard error (with --json, into the document)."""
    try:
        found = opa_binary.locate()
    except opa_binary.OpaNotFound as exc:
        _fail(f"error: {exc}", EXIT_INTERNAL)
        return
    if as_json:
        try:
            version = found.version or opa_binary.opa_version(found.path)
        except (OSError, subprocess.SubprocessError, opa_binary.OpaNotFound) as exc:
            _fail(f"error: {found.path}: cannot run `opa version` ({type(exc).__name__})", EXIT_INTERNAL)
            return
        doc: dict[str, Any] = {
            "path": str(found.path),
            "source": found.source,
            "sourceDescription": found.description,
            "version": version,
            "pinnedVersion": opa_binary.pinned_version(),
            "pinnedBuild": str(opa_binary.pinned_build()),
            "locations": paths.describe(),
        }
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(str(found.path))
    click.echo(f"opa-path: {found.source}: {found.description}", err=True)


@click.command("install-opa")
@click.option("--force", is_flag=True, help="build even when the pinned version is already there")
def install_opa(force: bool) -> None:
    """Build the pinned OPA with `go install github.com/open-policy-agent/opa@<pinned>` (needs Go) into the
    project's pinned-build folder: .tools/bin in a checkout; for an installed package
    $MODEL_ROUTER_TOOLS_BIN, else $XDG_DATA_HOME/model-router/bin (~/.local/share/model-router/bin).
    Nothing is built when the binary there already reports the pinned version."""
    want = opa_binary.pinned_version()
    target = opa_binary.pinned_build()
    if not force:
        click.echo(f"install-opa: OPA {want} into {target.parent} (go install; the first build takes a minute or two)", err=True)
    try:
        binary, built = opa_binary.install(force=force)
    except opa_binary.InstallError as exc:
        _fail(f"error: {exc}", EXIT_INTERNAL)
        return
    except OSError as exc:
        _fail(f"error: {target.parent}: {exc.strerror or exc}", EXIT_INTERNAL)
        return
    click.echo(str(binary))
    click.echo(f"install-opa: {'built' if built else 'already installed:'} OPA {want} at {binary}", err=True)


def _read_or_create_token(path: Path) -> str:
    """The bearer token in PATH (one line), or a new random one written there (mode 0600)."""
    if path.exists():
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise click.UsageError(f"{path}: expected a regular file holding the bearer token")
        if info.st_mode & 0o077:
            raise click.UsageError(f"{path}: expected mode 0600 (the bearer token must not be readable by others), found {stat.S_IMODE(info.st_mode):04o}")
        token = path.read_text(encoding="utf-8").strip()
        if not token or any(ch.isspace() for ch in token) or len(token) < 16:
            raise click.UsageError(f"{path}: expected one line with a bearer token of at least 16 characters and no spaces")
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def _router_url(addr: str) -> str:
    """The URL a router uses for an OPA listening on ADDR (OPA's --addr syntax)."""
    if addr.startswith("unix://"):
        return addr
    if addr.startswith(("http://", "https://")):
        return addr
    host, _, port = addr.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port}"


def serve_command(
    *,
    opa: Path,
    addr: str,
    bundle: Path,
    authz_bundle: Path,
    extra_args: tuple[str, ...] = (),
) -> list[str]:
    """The `opa run --server` command line of a remote engine (the managed OPA's options, on ADDR)."""
    cmd = [str(opa), "run", "--server", "--addr", addr]
    if addr.startswith("unix://"):
        cmd += ["--unix-socket-perm", "600"]
    cmd += ["--skip-version-check", "--log-level", "error", *MANAGED_OPA_ARGS]
    cmd += ["--authentication=token", "--authorization=basic"]
    return [*cmd, *extra_args, "--bundle", str(bundle), str(authz_bundle)]


@click.command("serve-bundle", context_settings={"ignore_unknown_options": True})
@click.option("--addr", help="where OPA listens: unix:///path/opa.sock, or host:port (e.g. 127.0.0.1:8181) [default: unix://<state-dir>/opa.sock]")
@click.option("--bundle", "bundle_file", type=click.Path(dir_okay=False, exists=True),
              help="serve this bundle archive (checked: content digest and capabilities); default: the project bundle, built when the policies or data changed")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="folder for the served copy of the bundle and the authorization bundle (default: <build>/serve)")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="bearer token routers must send (read; created with a random token, mode 0600, when missing) [default: <state-dir>/token]")
@click.option("--print", "print_only", is_flag=True, help="prepare the files and print the command line instead of running OPA")
@click.argument("opa_args", nargs=-1, type=click.UNPROCESSED)
def serve_bundle(addr: str | None, bundle_file: str | None, state_dir: str | None, token_file: str | None,
                 print_only: bool, opa_args: tuple[str, ...]) -> None:
    """Run OPA as the remote engine routers reach with MODEL_ROUTER_OPA_URL (opa_url).

    \b
    It serves the project bundle (build/bundle.tar.gz: policies and policy data, built with
    `opa build --capabilities policies/capabilities.json`), or --bundle, from a verified copy in the
    state folder, with the options of the managed OPA, token authentication and the read-only
    authorization policy policies/system/authz/authz.rego (only the token's SHA-256 is on disk).
    Extra arguments go to `opa run` (e.g. --tls-cert-file/--tls-private-key-file). OPA replaces this
    process (exec); the settings for routers are printed first on standard error.
    """

    try:
        opa = opa_binary.find_opa()
    except opa_binary.OpaNotFound as exc:
        _fail(f"error: {exc}", EXIT_INTERNAL)
        return
    state = Path(state_dir) if state_dir else paths.BUILD / "serve"
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    addr = addr or f"unix://{state.resolve() / 'opa.sock'}"
    if addr.startswith("unix://") and not addr.startswith("unix:///"):
        addr = "unix://" + str(Path(addr[len("unix://"):]).resolve())
    served = state / "bundle.tar.gz"
    tmp = state / "bundle.next.tar.gz"
    try:
        if bundle_file is not None:
            shutil.copyfile(bundle_file, tmp)
            revision = bundle_mod.verify(tmp)
            bundle_mod.check_capabilities(tmp, opa=opa)
        else:
            built = bundle_mod.ensure_bundle()
            shutil.copyfile(built.path, tmp)
            revision = bundle_mod.verify(tmp, built.revision)
        tmp.replace(served)
    except (bundle_mod.BundleBuildError, bundle_mod.BundleIntegrityError, PolicyDataError) as exc:
        tmp.unlink(missing_ok=True)
        _fail(f"error: {exc}", EXIT_UNUSABLE)
        return
    # always token authentication and the read-only authorization policy: without them any client of
    # the address could also replace the policies and data (OPA's REST API writes too)
    token_path = Path(token_file) if token_file else state / "token"
    try:
        token = _read_or_create_token(token_path)
    except OSError as exc:
        _fail(f"error: {token_path}: {exc.strerror or exc}", EXIT_UNUSABLE)
        return
    authz_dir = state / "authz"
    if authz_dir.exists():
        shutil.rmtree(authz_dir)
    authz_dir.mkdir()
    authz = write_authz_bundle(authz_dir, token)
    cmd = serve_command(opa=opa, addr=addr, bundle=served, authz_bundle=authz, extra_args=opa_args)
    url = _router_url(addr)
    click.echo(f"serve-bundle: policy revision {revision}", err=True)
    click.echo(f"serve-bundle: routers use MODEL_ROUTER_OPA_URL={url} MODEL_ROUTER_OPA_REVISION={revision}"
               f" MODEL_ROUTER_OPA_TOKEN=<the token in {token_path}>", err=True)
    env = managed_opa_env()  # the managed OPA's GC target unless GOGC is set (router.opa_supervisor.MANAGED_OPA_GOGC)
    if print_only:
        click.echo(f"serve-bundle: run it with GOGC={env['GOGC']} in its environment, as the router runs its own OPA", err=True)
        click.echo(shlex.join(cmd))
        return
    click.echo(f"serve-bundle: $ GOGC={env['GOGC']} " + shlex.join(cmd), err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)


def register(main: click.Group) -> None:
    """Add (or replace) opa-path, install-opa and serve-bundle on the main command group."""
    for command in (opa_path, install_opa, serve_bundle):
        main.add_command(command)
