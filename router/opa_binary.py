"""The OPA binary, found in a fixed order and always of the pinned version (tools/opa.version).

1. **explicit setting**: MODEL_ROUTER_OPA names a binary; it must be an executable of the pinned version,
   and nothing else is tried when it is not.
2. **the project's pinned build**: `paths.TOOLS_BIN/opa`, i.e. `.tools/bin/opa` in a checkout (built by
   `make setup` / tools/install-opa.sh) or the per-user folder of an installed package (built by
   `model-router install-opa`). A file there that is not executable is an error, not a reason to look
   further.
3. **`opa` on PATH**, used only when it reports the pinned version; another version is skipped (and
   named in the error when nothing else is found).

`locate()` returns the binary with where it came from (`model-router opa-path` prints both); the
version of a binary found in 1, 2 (installed layout) or 3 is checked once per process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from router import paths

OPA_ENV = "MODEL_ROUTER_OPA"
OPA_MODULE = "github.com/open-policy-agent/opa"

EXPLICIT = "explicit"
PINNED_BUILD = "pinned-build"
ON_PATH = "path"
SOURCES = {
    EXPLICIT: f"named by {OPA_ENV}",
    PINNED_BUILD: "the project's pinned build",
    ON_PATH: "opa on PATH, of the pinned version",
}


class OpaNotFound(RuntimeError):
    """No usable OPA binary was found."""


def install_hint() -> str:
    if paths.LAYOUT == paths.CHECKOUT:
        return "run `make setup` (or `bash tools/install-opa.sh`, or `model-router install-opa`) to build the pinned OPA into .tools/bin/opa"
    return f"run `model-router install-opa` (needs Go) to build the pinned OPA into {paths.TOOLS_BIN}, or set {OPA_ENV}"


INSTALL_HINT = "run `make setup` (or `bash tools/install-opa.sh`) to build the pinned OPA into .tools/bin/opa"


@dataclass(frozen=True)
class FoundOpa:
    path: Path
    source: str  # EXPLICIT, PINNED_BUILD or ON_PATH
    version: str | None  # the version reported, when it was asked (None: the checkout's own build)

    @property
    def description(self) -> str:
        return SOURCES[self.source]


def pinned_version() -> str:
    return paths.OPA_VERSION_FILE.read_text(encoding="utf-8").strip()


def _executable(candidate: Path) -> bool:
    return candidate.is_file() and os.access(candidate, os.X_OK)


def pinned_build() -> Path:
    """Where the project's pinned build lives (whether or not it is there)."""
    return paths.TOOLS_BIN / "opa"


def locate() -> FoundOpa:
    """The OPA binary to use and where it came from, or OpaNotFound naming what was tried and the fix."""
    override = os.environ.get(OPA_ENV)
    if override:
        candidate = Path(override)
        if not _executable(candidate):
            raise OpaNotFound(f"{OPA_ENV}={override}: expected an executable OPA binary; {install_hint()}")
        try:
            found = _check_version(str(candidate.resolve()), candidate.stat().st_mtime_ns, f"{OPA_ENV}={override}")
        except OpaNotFound as exc:
            raise OpaNotFound(f"{exc}; {install_hint()}") from None
        return FoundOpa(candidate, EXPLICIT, found)
    local = pinned_build()
    if _executable(local):
        if paths.LAYOUT == paths.CHECKOUT:  # kept at the pinned version by tools/install-opa.sh
            return FoundOpa(local, PINNED_BUILD, None)
        try:
            found = _check_version(str(local.resolve()), local.stat().st_mtime_ns, str(local))
        except OpaNotFound as exc:
            raise OpaNotFound(f"{exc}; {install_hint()}") from None
        return FoundOpa(local, PINNED_BUILD, found)
    if local.exists():
        raise OpaNotFound(f"{local}: expected an executable file (the pinned OPA); {install_hint()}")
    tried = [f"{local}: not found (the pinned OPA)"]
    on_path = shutil.which("opa")
    if on_path:
        candidate = Path(on_path)
        try:
            found = _check_version(str(candidate.resolve()), candidate.stat().st_mtime_ns, f"opa on PATH ({on_path})")
            return FoundOpa(candidate, ON_PATH, found)
        except (OpaNotFound, OSError) as exc:
            tried.append(str(exc))
    else:
        tried.append("no opa on PATH")
    raise OpaNotFound(f"{'; '.join(tried)}; {OPA_ENV} can name one of the pinned version; {install_hint()}")


def find_opa() -> Path:
    """Return the OPA binary to use (see locate()), or raise OpaNotFound naming the file and the install command."""
    return locate().path


def checked(opa: Path | str) -> Path:
    """OPA, a binary named explicitly (not found by find_opa), after checking it is an executable of the
    pinned version; the checkout's pinned binary itself is returned as is."""
    candidate = Path(opa)
    if candidate == pinned_build() and paths.LAYOUT == paths.CHECKOUT:
        return candidate
    if not _executable(candidate):
        raise OpaNotFound(f"{candidate}: expected an executable OPA binary; {install_hint()}")
    _check_version(str(candidate.resolve()), candidate.stat().st_mtime_ns, str(candidate))
    return candidate


@lru_cache(maxsize=8)
def _check_version(opa: str, _mtime: int, named: str = "") -> str:
    try:
        found = opa_version(Path(opa))
    except (OSError, subprocess.SubprocessError) as exc:
        raise OpaNotFound(f"{named or opa}: cannot run `opa version` ({type(exc).__name__})") from None
    pinned = pinned_version()
    if found != pinned:
        raise OpaNotFound(f"{named or opa}: expected OPA {pinned} (tools/opa.version), found {found}")
    return found


def opa_version(opa: Path) -> str:
    out = subprocess.run([str(opa), "version"], capture_output=True, text=True, check=True, timeout=30).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return "v" + line.split(":", 1)[1].strip().removeprefix("v")
    raise OpaNotFound(f"{opa} did not report a version")


class InstallError(RuntimeError):
    """The pinned OPA could not be built (names the command and what to do)."""


def install(target_dir: Path | None = None, *, force: bool = False, go: str | None = None) -> tuple[Path, bool]:
    """Build the pinned OPA with `go install <module>@<pinned>` into TARGET_DIR (default paths.TOOLS_BIN);
    return (binary, built). Nothing is built when the binary there already reports the pinned version."""
    target_dir = Path(target_dir or paths.TOOLS_BIN)
    binary = target_dir / "opa"
    want = pinned_version()
    if not force and _executable(binary):
        try:
            if opa_version(binary) == want:
                return binary, False
        except (OSError, subprocess.SubprocessError, OpaNotFound):
            pass  # unusable: build it again
    go = go or shutil.which("go")
    if not go:
        raise InstallError(f"Go is required to build OPA {want} (`go install {OPA_MODULE}@{want}`): install Go >= 1.24 and run this again")
    target_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(target_dir.resolve()), GOFLAGS=(os.environ.get("GOFLAGS", "") + " -trimpath").strip())
    cmd = [go, "install", f"{OPA_MODULE}@{want}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise InstallError(f"`{' '.join(cmd)}` (GOBIN={target_dir}) failed with status {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    if not _executable(binary):
        raise InstallError(f"{binary}: `{' '.join(cmd)}` succeeded but left no executable there")
    found = opa_version(binary)
    if found != want:
        raise InstallError(f"{binary}: expected OPA {want} after the build, found {found}")
    return binary, True
