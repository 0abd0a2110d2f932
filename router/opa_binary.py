"""Find the pinned OPA binary: MODEL_ROUTER_OPA, then the project tools folder, then PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from router import paths

INSTALL_HINT = "run `make setup` (or `bash tools/install-opa.sh`) to build the pinned OPA into .tools/bin/opa"


class OpaNotFound(RuntimeError):
    """No usable OPA binary was found."""


def pinned_version() -> str:
    return paths.OPA_VERSION_FILE.read_text(encoding="utf-8").strip()


def find_opa() -> Path:
    """Return the OPA binary to use, or raise OpaNotFound naming the install command."""
    override = os.environ.get("MODEL_ROUTER_OPA")
    if override:
        candidate = Path(override)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise OpaNotFound(f"MODEL_ROUTER_OPA={override} is not an executable file; {INSTALL_HINT}")
    local = paths.TOOLS_BIN / "opa"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    on_path = shutil.which("opa")
    if on_path:
        return Path(on_path)
    raise OpaNotFound(f"no OPA binary found (MODEL_ROUTER_OPA, .tools/bin/opa, PATH); {INSTALL_HINT}")


def opa_version(opa: Path) -> str:
    out = subprocess.run([str(opa), "version"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return "v" + line.split(":", 1)[1].strip()
    raise OpaNotFound(f"{opa} did not report a version")
