"""Where the project's files are: in a checkout, or in an installed package.

Two layouts, one set of names:

* **checkout** (a clone of the repository, also an editable install): ROOT is the repository root;
  policies/, schemas/, examples/ and tools/opa.version are below it; build outputs go to ROOT/build and
  the pinned OPA is ROOT/.tools/bin/opa.
* **installed** (a wheel or an sdist installed with pip): the same folders are package data of the
  `router` package, under `router/_data/` (the build copies them there; see setup.py), and ROOT is that
  folder (found beside this module). Nothing is written into the installed package: build outputs
  (the assembled policy data, the OPA bundle) go to a per-user cache folder, and the pinned OPA is
  built by `model-router install-opa` into a per-user data folder.

The package data is preferred when it is there: an installed package never reads files of a checkout
it happens to sit beside.

Environment (installed layout only):
    MODEL_ROUTER_BUILD_DIR   build outputs (default $XDG_CACHE_HOME/model-router/build, or
                             ~/.cache/model-router/build)
    MODEL_ROUTER_TOOLS_BIN   where `model-router install-opa` puts the pinned OPA (default
                             $XDG_DATA_HOME/model-router/bin, or ~/.local/share/model-router/bin)
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = "_data"
CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = "checkout"
INSTALLED = "installed"


def _package_data() -> Path | None:
    """router/_data as a folder on disk, when the package carries it (an installed wheel). Found beside
    this file rather than with importlib.resources, whose import a cold command would wait for: OPA reads
    policies and data from real files, so a package inside a zip archive (no such folder on disk) is
    not usable either way."""
    found = Path(__file__).resolve().parent / PACKAGE_DATA
    return found.resolve() if (found / "policies").is_dir() else None


def _user_dir(env: str, default: str) -> Path:
    base = os.environ.get(env)
    return Path(base) if base and os.path.isabs(base) else Path.home() / default


def _installed_build() -> Path:
    override = os.environ.get("MODEL_ROUTER_BUILD_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return _user_dir("XDG_CACHE_HOME", ".cache") / "model-router" / "build"


def _installed_tools_bin() -> Path:
    override = os.environ.get("MODEL_ROUTER_TOOLS_BIN")
    if override:
        return Path(override).expanduser().resolve()
    return _user_dir("XDG_DATA_HOME", ".local/share") / "model-router" / "bin"


_DATA = _package_data()
LAYOUT = INSTALLED if _DATA is not None else CHECKOUT
ROOT = _DATA if _DATA is not None else CHECKOUT_ROOT
POLICIES = ROOT / "policies"
REGO = POLICIES / "model_router"
POLICY_DATA = POLICIES / "data"
CAPABILITIES = POLICIES / "capabilities.json"
SYSTEM_POLICIES = POLICIES / "system"
AUTHZ_POLICY = SYSTEM_POLICIES / "authz" / "authz.rego"
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "examples"
DEPLOY = ROOT / "deploy"
OPA_VERSION_FILE = ROOT / "tools" / "opa.version"
BUILD = _installed_build() if LAYOUT == INSTALLED else ROOT / "build"
# the project's pinned OPA build: .tools/bin/opa in a checkout, a per-user folder for an installed package
TOOLS_BIN = _installed_tools_bin() if LAYOUT == INSTALLED else ROOT / ".tools" / "bin"


def shown(path: Path) -> str:
    """PATH relative to ROOT when it is below it (build/bundle.tar.gz in a checkout), else in full (a
    build output of an installed package lives in the user's cache, outside the package)."""
    try:
        return Path(path).relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def describe() -> dict[str, str]:
    """Every location above, for `model-router opa-path --json` and error messages."""
    return {
        "layout": LAYOUT,
        "root": str(ROOT),
        "policies": str(POLICIES),
        "schemas": str(SCHEMAS),
        "examples": str(EXAMPLES),
        "build": str(BUILD),
        "toolsBin": str(TOOLS_BIN),
    }
