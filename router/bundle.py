"""Build the OPA bundle: the project's policies and assembled policy data, with a content-digest revision.

Staged layout (build/bundle/):

    .manifest                          {"revision": "sha256:<hex>", "roots": ["model_router", "model_router_data"], ...}
    model_router/**.rego               every non-test module of policies/model_router
    model_router_data/data.json        the assembled policy data (data.model_router_data)

then `opa build -b build/bundle --capabilities policies/capabilities.json -o build/bundle.tar.gz`.
The revision is the SHA-256 over the staged files (relative path and content), so the same policies and
data always give the same revision and any change gives a new one. The bundle is rebuilt only when that
digest changed. `python -m router.bundle` (and `make bundle`) builds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from router import opa_binary, paths, policy_data

ROOTS = ("model_router", "model_router_data")
STAGE_DIR = paths.BUILD / "bundle"
BUNDLE_FILE = paths.BUILD / "bundle.tar.gz"
REVISION_FILE = paths.BUILD / "bundle.revision"
LOCK_FILE = paths.BUILD / ".bundle.lock"


class BundleBuildError(RuntimeError):
    """The OPA bundle could not be built (names the command and OPA's message)."""


@dataclass(frozen=True)
class BuiltBundle:
    path: Path
    revision: str
    rebuilt: bool


def _rego_sources(rego_dir: Path) -> list[tuple[str, bytes]]:
    """Non-test .rego modules under rego_dir as (bundle-relative path, content), sorted by path."""
    files = []
    for src in sorted(rego_dir.rglob("*.rego")):
        if src.name.endswith("_test.rego"):
            continue
        rel = "model_router/" + src.relative_to(rego_dir).as_posix()
        files.append((rel, src.read_bytes()))
    return files


def content_digest(files: list[tuple[str, bytes]]) -> str:
    """sha256: + hex over every staged file's path and content (length-prefixed, sorted by path)."""
    h = hashlib.sha256()
    for rel, content in sorted(files):
        name = rel.encode("utf-8")
        h.update(len(name).to_bytes(8, "big"))
        h.update(name)
        h.update(len(content).to_bytes(8, "big"))
        h.update(content)
    return "sha256:" + h.hexdigest()


def staged_files(rego_dir: Path | None = None, data: dict | None = None) -> list[tuple[str, bytes]]:
    """The files the bundle is made of (without the manifest)."""
    rego_dir = rego_dir or paths.REGO
    if data is None:
        data_file = policy_data.write()
        data_bytes = data_file.read_bytes()
    else:
        data_bytes = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return [*_rego_sources(rego_dir), (f"{policy_data.DATA_ROOT}/data.json", data_bytes)]


def build_from_files(
    files: list[tuple[str, bytes]],
    out: Path,
    *,
    roots: tuple[str, ...] = ROOTS,
    stage_dir: Path | None = None,
    capabilities: Path | None = paths.CAPABILITIES,
    opa: Path | None = None,
) -> str:
    """Stage FILES with a manifest and run `opa build`; return the revision. Used for test bundles too."""
    revision = content_digest(files)
    opa = opa or opa_binary.find_opa()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_stage = Path(tempfile.mkdtemp(prefix=".bundle-stage-", dir=out.parent))
    try:
        for rel, content in files:
            target = tmp_stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        manifest = {"revision": revision, "roots": list(roots), "rego_version": 1}
        (tmp_stage / ".manifest").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp_out = (out.parent / f"{out.name}.{os.getpid()}.tmp").resolve()
        # run inside the staging folder so that file locations in the bundle are bundle-relative
        cmd = [str(Path(opa).resolve()), "build", "-b", ".", "-o", str(tmp_out)]
        if capabilities is not None:
            cmd[2:2] = ["--capabilities", str(Path(capabilities).resolve())]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_stage)
        if proc.returncode != 0:
            tmp_out.unlink(missing_ok=True)
            raise BundleBuildError(f"`opa build` failed ({' '.join(cmd)}):\n{proc.stderr.strip() or proc.stdout.strip()}")
        tmp_out.replace(out)
        if stage_dir is not None:
            if stage_dir.exists():
                shutil.rmtree(stage_dir)
            tmp_stage.rename(stage_dir)
    finally:
        if tmp_stage.exists():
            shutil.rmtree(tmp_stage, ignore_errors=True)
    return revision


def revision_of(bundle_file: Path) -> str | None:
    """The revision recorded in a bundle archive's .manifest (None when it has none)."""
    import tarfile

    try:
        with tarfile.open(bundle_file) as tar:
            for member in tar.getmembers():
                if member.name.lstrip("/") == ".manifest":
                    return json.load(tar.extractfile(member)).get("revision")
    except (OSError, tarfile.TarError, ValueError):
        return None
    return None


def ensure_bundle(force: bool = False) -> BuiltBundle:
    """Build build/bundle.tar.gz when the policies or the policy data changed; return path and revision.

    Safe to call from several processes at once (a lock file serialises builds).
    """
    paths.BUILD.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            files = staged_files()
            revision = content_digest(files)
            current = REVISION_FILE.read_text(encoding="utf-8").strip() if REVISION_FILE.exists() else None
            if not force and current == revision and BUNDLE_FILE.exists():
                return BuiltBundle(BUNDLE_FILE, revision, rebuilt=False)
            build_from_files(files, BUNDLE_FILE, stage_dir=STAGE_DIR)
            tmp = REVISION_FILE.with_suffix(".tmp")
            tmp.write_text(revision + "\n", encoding="utf-8")
            tmp.replace(REVISION_FILE)
            return BuiltBundle(BUNDLE_FILE, revision, rebuilt=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        built = ensure_bundle(force="--force" in args)
    except (BundleBuildError, policy_data.PolicyDataError, opa_binary.OpaNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "built" if built.rebuilt else "up to date"
    print(f"{built.path.relative_to(paths.ROOT)} {state} (revision {built.revision})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
