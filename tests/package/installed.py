"""Build the sdist and the wheel from this checkout and install the wheel into a fresh virtual
environment in a temporary folder, outside the checkout.

Kept fast: the sdist and the wheel are built with the build backend already in the project's
environment (no build isolation, nothing downloaded), the wheel is built from the unpacked sdist (so
the sdist is shown to carry everything too), the new environment has no pip of its own (the project's
pip installs into it with --python) and it finds the dependencies through a .pth line naming the
project environment's site-packages, whose editable finder for this checkout is not activated there
(.pth files are processed only in site folders, not in folders a .pth line adds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import venv
from dataclasses import dataclass
from pathlib import Path

from router import paths
from router.approvals import EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME

CHECKOUT = paths.CHECKOUT_ROOT
BUILD_TIMEOUT_S = 120


@dataclass
class InstalledEnv:
    base: Path  # temporary folder holding everything below
    venv: Path
    wheel: Path
    sdist: Path
    home: Path  # HOME and the XDG folders of the commands run here
    work: Path  # the working directory of the commands run here

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: this venv first on PATH, no OPA on PATH, nothing of the checkout."""
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.home),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "LANG": "C.UTF-8",
            EVALUATION_TIME_ENV: os.environ.get(EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME),
        }
        env.update(extra)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return subprocess.run(cmd, cwd=self.work, env=env or self.env(), input=input, capture_output=True, timeout=timeout)


def _backend(hook: str, out: Path, cwd: Path) -> Path:
    code = f"import sys\nfrom setuptools import build_meta\nprint(build_meta.{hook}(sys.argv[1]))\n"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert proc.returncode == 0, f"{hook} failed:\n{proc.stderr[-3000:]}"
    return out / proc.stdout.strip().splitlines()[-1]


def build_and_install(base: Path) -> InstalledEnv:
    dist = base / "dist"
    dist.mkdir()
    sdist = _backend("build_sdist", dist, CHECKOUT)
    with tarfile.open(sdist) as tar:
        tar.extractall(base / "src", filter="data")
    (source,) = (base / "src").iterdir()
    wheel = _backend("build_wheel", dist, source)
    target = base / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    python = target / "bin" / "python"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (Path(site) / "model-router-test-deps.pth").write_text("".join(f"{d}\n" for d in deps), encoding="utf-8")
    home, work = base / "home", base / "work"
    home.mkdir()
    work.mkdir()
    return InstalledEnv(base=base, venv=target, wheel=wheel, sdist=sdist, home=home, work=work)
