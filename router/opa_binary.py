"""The OPA binary: the pinned one in the project tools folder, or one named explicitly in MODEL_ROUTER_OPA.

There is no fallback: an `opa` found on PATH is never used, and a `.tools/bin/opa` that is not an
executable file is an error naming it. A binary named in MODEL_ROUTER_OPA must report the pinned version
(tools/opa.version); it is checked once per process.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

from router import paths

INSTALL_HINT = "run `make setup` (or `bash tools/install-opa.sh`) to build the pinned OPA into .tools/bin/opa"


class OpaNotFound(RuntimeError):
    """No usable OPA binary was found."""


def pinned_version() -> str:
    return paths.OPA_VERSION_FILE.read_text(encoding="utf-8").strip()


def _executable(candidate: Path) -> bool:
    return candidate.is_file() and os.access(candidate, os.X_OK)


def find_opa() -> Path:
    """Return the OPA binary to use, or raise OpaNotFound naming the file and the install command."""
    override = os.environ.get("MODEL_ROUTER_OPA")
    if override:
        candidate = Path(override)
        if not _executable(candidate):
            raise OpaNotFound(f"MODEL_ROUTER_OPA={override}: expected an executable OPA binary; {INSTALL_HINT}")
        _check_version(str(candidate.resolve()), candidate.stat().st_mtime_ns, f"MODEL_ROUTER_OPA={override}")
        return candidate
    local = paths.TOOLS_BIN / "opa"
    if _executable(local):
        return local
    if local.exists():
        raise OpaNotFound(f"{local}: expected an executable file (the pinned OPA); {INSTALL_HINT}")
    raise OpaNotFound(f"{local}: not found (the pinned OPA; MODEL_ROUTER_OPA can name another of the same version); {INSTALL_HINT}")


def checked(opa: Path | str) -> Path:
    """OPA, a binary named explicitly (not found by find_opa), after checking it is an executable of the
    pinned version; the pinned binary itself is returned as is."""
    candidate = Path(opa)
    if candidate == paths.TOOLS_BIN / "opa":
        return candidate
    if not _executable(candidate):
        raise OpaNotFound(f"{candidate}: expected an executable OPA binary; {INSTALL_HINT}")
    _check_version(str(candidate.resolve()), candidate.stat().st_mtime_ns, str(candidate))
    return candidate


@lru_cache(maxsize=8)
def _check_version(opa: str, _mtime: int, named: str = "") -> None:
    try:
        found = opa_version(Path(opa))
    except (OSError, subprocess.SubprocessError) as exc:
        raise OpaNotFound(f"{named or opa}: cannot run `opa version` ({type(exc).__name__})") from None
    pinned = pinned_version()
    if found != pinned:
        raise OpaNotFound(f"{named or opa}: expected OPA {pinned} (tools/opa.version), found {found}")


def opa_version(opa: Path) -> str:
    out = subprocess.run([str(opa), "version"], capture_output=True, text=True, check=True, timeout=30).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return "v" + line.split(":", 1)[1].strip().removeprefix("v")
    raise OpaNotFound(f"{opa} did not report a version")
