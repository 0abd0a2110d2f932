"""Build the OPA bundle: the project's policies and assembled policy data, with a content-digest revision.

Staged layout (build/bundle/):

    .manifest                          {"revision": "sha256:<hex>", "roots": ["model_router", "model_router_data"], ...}
    model_router/**.rego               every non-test module of policies/model_router
    model_router_data/data.json        the assembled policy data (data.model_router_data)

`opa build -b build/bundle --capabilities policies/capabilities.json` checks the staged files (a module
that calls a built-in outside the capabilities, such as `http.send`, fails the build), and the archive
build/bundle.tar.gz then holds exactly the staged files and the manifest (a deterministic tar.gz that OPA
loads as a bundle). The revision is the SHA-256 over the staged files (relative path and content), so the
same policies and data always give the same revision and any change gives a new one; and because the
archive holds those very files, `verify()` recomputes the digest from the archive alone: a hand-edited
archive no longer matches the revision in its manifest (or the revision the sources give). The bundle is
rebuilt when that digest changed or the archive does not verify. `python -m router.bundle` (and
`make bundle`) builds it.

Signed bundles (for OPA replicas that verify what they load, deploy/): `sign()` runs `opa sign` over the
archive and writes a copy that also holds OPA's `.signatures.json` (a JWT over the SHA-256 of every file);
`python -m router.bundle --signing-key KEY.pem` (`make bundle BUNDLE_SIGNING_KEY=KEY.pem`, or
MODEL_ROUTER_BUNDLE_SIGNING_KEY) writes build/bundle.signed.tar.gz beside the unsigned archive. The
signatures file is not content: the revision digest is the same for the signed and the unsigned archive.
An OPA started with a verification key refuses an unsigned, re-signed-with-another-key or edited bundle;
an OPA without one refuses a signed bundle, so the managed engine always serves the unsigned archive.
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router import opa_binary, paths, policy_data
from router.bundle_record import BUNDLE_FILE, REVISION_FILE
from router.data_views import PolicyDataError

ROOTS = ("model_router", "model_router_data")
STAGE_DIR = paths.BUILD / "bundle"
LOCK_FILE = paths.BUILD / ".bundle.lock"


class BundleBuildError(RuntimeError):
    """The OPA bundle could not be built (names the command and OPA's message)."""


@dataclass(frozen=True)
class BuiltBundle:
    path: Path
    revision: str
    rebuilt: bool
    # the archive's bytes as ensure_bundle verified them against REVISION: a copy made from these needs
    # no second read of PATH (which may change on disk meanwhile) and no second check
    archive: bytes = field(default=b"", repr=False, compare=False)


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


def staged_files(rego_dir: Path | None = None, data: dict[str, Any] | None = None) -> list[tuple[str, bytes]]:
    """The files the bundle is made of (without the manifest)."""
    rego_dir = rego_dir or paths.REGO
    if data is None:
        data_file = policy_data.write()
        data_bytes = data_file.read_bytes()
    else:  # the model tables are computed for DATA (or kept when they already are keyed to it)
        data_bytes = json.dumps(policy_data.with_tables(data, rego_dir), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return [*_rego_sources(rego_dir), (f"{policy_data.DATA_ROOT}/data.json", data_bytes)]


MAX_BUNDLE_BYTES = 64 * 1024 * 1024  # uncompressed content of one bundle archive
MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
SIGNED_BUNDLE_FILE = paths.BUILD / "bundle.signed.tar.gz"
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class BundleIntegrityError(RuntimeError):
    """A bundle archive whose contents do not give the revision it claims (or that cannot be read)."""


def _write_archive(files: list[tuple[str, bytes]], manifest: dict[str, Any], out: Path) -> None:
    """A deterministic tar.gz of FILES plus the manifest (fixed owner, mode and times)."""

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")), *sorted(files)]
        for rel, content in entries:
            info = tarfile.TarInfo("/" + rel)
            info.size, info.mode, info.mtime = len(content), 0o600, 0
            tar.addfile(info, io.BytesIO(content))
    with open(out, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(raw.getvalue())


def _source_locations(message: str, files: list[tuple[str, bytes]]) -> str:
    """MESSAGE with each staged module's bundle-relative path replaced by the project path it was staged
    from (`model_router/x.rego` -> `policies/model_router/x.rego`) when the file there has the same content."""

    shown = {}
    for rel, content in files:
        source = paths.POLICIES / rel
        if rel.endswith(".rego") and source.is_file() and source.read_bytes() == content:
            shown[rel] = source.relative_to(paths.ROOT).as_posix()
    if not shown:
        return message
    pattern = re.compile(r"(?<![\w/.-])(" + "|".join(re.escape(r) for r in sorted(shown, key=len, reverse=True)) + r")")
    return pattern.sub(lambda m: shown[m.group(1)], message)


def build_from_files(
    files: list[tuple[str, bytes]],
    out: Path,
    *,
    roots: tuple[str, ...] = ROOTS,
    stage_dir: Path | None = None,
    capabilities: Path | None = paths.CAPABILITIES,
    opa: Path | None = None,
) -> str:
    """Stage FILES with a manifest, check them with `opa build` (against CAPABILITIES) and write the
    archive; return the revision. Used for test bundles too."""
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
        (tmp_stage / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp_out = (out.parent / f"{out.name}.{os.getpid()}.tmp").resolve()
        checked = (out.parent / f"{out.name}.{os.getpid()}.check.tmp").resolve()
        # run inside the staging folder so that file locations in error messages are bundle-relative
        cmd = [str(Path(opa).resolve()), "build", "-b", ".", "-o", str(checked)]
        if capabilities is not None:
            cmd[2:2] = ["--capabilities", str(Path(capabilities).resolve())]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_stage, check=False)
        checked.unlink(missing_ok=True)
        if proc.returncode != 0:
            detail = _source_locations(proc.stderr.strip() or proc.stdout.strip(), files)
            raise BundleBuildError(f"`opa build` failed ({' '.join(cmd)}):\n{detail}")
        _write_archive(files, manifest, tmp_out)
        tmp_out.replace(out)
        if stage_dir is not None:
            if stage_dir.exists():
                shutil.rmtree(stage_dir)
            tmp_stage.rename(stage_dir)
    finally:
        if tmp_stage.exists():
            shutil.rmtree(tmp_stage, ignore_errors=True)
    return revision


def read_archive(bundle_file: Path, data: bytes | None = None) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """(manifest, files) of a bundle archive (DATA: its bytes, already read; BUNDLE_FILE then only names
    it); BundleIntegrityError when it is not a readable bundle."""

    manifest, files, total = None, [], 0
    try:
        with (tarfile.open(bundle_file, mode="r:gz") if data is None else tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")) as tar:
            for member in tar:
                name = member.name.lstrip("/")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise BundleIntegrityError(f"{bundle_file}: {name}: expected a regular file in the archive")
                total += member.size
                if total > MAX_BUNDLE_BYTES:
                    raise BundleIntegrityError(f"{bundle_file}: expected at most {MAX_BUNDLE_BYTES} bytes of content")
                fh = tar.extractfile(member)
                if fh is None:  # a regular file always has content to extract
                    raise BundleIntegrityError(f"{bundle_file}: {name}: expected a regular file in the archive")
                content = fh.read()
                if name == MANIFEST:
                    manifest = json.loads(content)
                elif name == SIGNATURES:
                    continue  # OPA's signature over the files: checked by OPA itself, not content
                else:
                    files.append((name, content))
    except BundleIntegrityError:
        raise
    except (OSError, EOFError, tarfile.TarError, ValueError) as exc:
        raise BundleIntegrityError(f"{bundle_file}: not a readable bundle archive ({type(exc).__name__})") from None
    if not isinstance(manifest, dict):
        raise BundleIntegrityError(f"{bundle_file}: .manifest: expected a manifest object with a revision")
    return manifest, files


def verify(bundle_file: Path, expected: str | None = None, data: bytes | None = None) -> str:
    """The revision of BUNDLE_FILE (or of DATA, its bytes already read) after checking that the digest
    of its contents equals the revision in its manifest (and EXPECTED, when given). Raises
    BundleIntegrityError otherwise."""
    manifest, files = read_archive(bundle_file, data)
    claimed = manifest.get("revision")
    actual = content_digest(files)
    if claimed != actual:
        raise BundleIntegrityError(
            f"{bundle_file}: .manifest.revision: expected the digest of the archive's contents ({actual}), found {claimed!r}"
        )
    if expected is not None and actual != expected:
        raise BundleIntegrityError(f"{bundle_file}: expected revision {expected}, found {actual}")
    return actual


def check_capabilities(bundle_file: Path, capabilities: Path = paths.CAPABILITIES, opa: Path | None = None) -> None:
    """Refuse a bundle that uses a built-in outside CAPABILITIES (`opa check --bundle --capabilities`)."""
    opa = opa or opa_binary.find_opa()
    cmd = [str(opa), "check", "--capabilities", str(capabilities), "--bundle", str(bundle_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise BundleIntegrityError(
            f"{bundle_file}: refused by `opa check --capabilities {capabilities}` (a built-in outside the "
            f"capabilities, or not a valid bundle):\n{(proc.stderr or proc.stdout).strip()[:2000]}"
        )


def sign(bundle_file: Path, signing_key: Path, out: Path, *, algorithm: str = "RS256", opa: Path | None = None) -> str:
    """Write OUT: the verified archive BUNDLE_FILE plus the `.signatures.json` that `opa sign` makes for it
    with SIGNING_KEY (a PEM private key). Returns the revision (unchanged by signing)."""
    if algorithm not in SIGNING_ALGORITHMS:
        raise BundleBuildError(f"signing algorithm {algorithm!r}: expected one of {', '.join(SIGNING_ALGORITHMS)}")
    key = Path(signing_key)
    if not key.is_file():
        raise BundleBuildError(f"{key}: signing key not found (expected a PEM private key file)")
    revision = verify(bundle_file)
    manifest, files = read_archive(bundle_file)
    opa = opa or opa_binary.find_opa()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".bundle-sign-", dir=out.parent))
    try:
        cmd = [str(Path(opa).resolve()), "sign", "--signing-key", str(key.resolve()), "--signing-alg", algorithm,
               "--bundle", str(Path(bundle_file).resolve()), "-o", str(work)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise BundleBuildError(f"`opa sign` failed ({key}): {(proc.stderr or proc.stdout).strip()[:2000]}")
        signatures = (work / SIGNATURES).read_bytes()
        tmp_out = out.parent / f"{out.name}.{os.getpid()}.tmp"
        _write_archive([*files, (SIGNATURES, signatures)], manifest, tmp_out)
        tmp_out.replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return revision


def is_signed(bundle_file: Path) -> bool:
    """Whether the archive carries OPA's .signatures.json."""

    try:
        with tarfile.open(bundle_file, mode="r:gz") as tar:
            return any(m.name.lstrip("/") == SIGNATURES for m in tar)
    except (OSError, EOFError, tarfile.TarError):
        return False


def revision_of(bundle_file: Path) -> str | None:
    """The revision recorded in a bundle archive's .manifest (None when it has none)."""
    try:
        manifest, _ = read_archive(bundle_file)
    except BundleIntegrityError:
        return None
    revision = manifest.get("revision")
    return revision if isinstance(revision, str) else None


def ensure_bundle(force: bool = False) -> BuiltBundle:
    """Build build/bundle.tar.gz when the policies or the policy data changed, or when the archive on
    disk does not verify against that revision; return path and revision.

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
                try:
                    data = BUNDLE_FILE.read_bytes()
                    verify(BUNDLE_FILE, revision, data)
                    return BuiltBundle(BUNDLE_FILE, revision, rebuilt=False, archive=data)
                except (BundleIntegrityError, OSError):
                    pass  # edited, damaged or gone on disk: build it again from the sources
            build_from_files(files, BUNDLE_FILE, stage_dir=STAGE_DIR)
            data = BUNDLE_FILE.read_bytes()
            verify(BUNDLE_FILE, revision, data)
            tmp = REVISION_FILE.with_suffix(".tmp")
            tmp.write_text(revision + "\n", encoding="utf-8")
            tmp.replace(REVISION_FILE)
            return BuiltBundle(BUNDLE_FILE, revision, rebuilt=True, archive=data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m router.bundle", description="build (and optionally sign) the OPA bundle")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--signing-key", default=os.environ.get("MODEL_ROUTER_BUNDLE_SIGNING_KEY") or None,
                        help="PEM private key: also write build/bundle.signed.tar.gz [env MODEL_ROUTER_BUNDLE_SIGNING_KEY]")
    parser.add_argument("--signing-alg", default="RS256", choices=SIGNING_ALGORITHMS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        built = ensure_bundle(force=args.force)
        state = "built" if built.rebuilt else "up to date"
        print(f"{paths.shown(built.path)} {state} (revision {built.revision})")
        if not args.signing_key and SIGNED_BUNDLE_FILE.exists() and revision_of(SIGNED_BUNDLE_FILE) != built.revision:
            SIGNED_BUNDLE_FILE.unlink()  # a signed copy of an older revision is never left to be published
            print(f"{paths.shown(SIGNED_BUNDLE_FILE)} removed (an older revision; sign again with --signing-key)")
        if args.signing_key:
            sign(built.path, Path(args.signing_key), SIGNED_BUNDLE_FILE, algorithm=args.signing_alg)
            print(f"{paths.shown(SIGNED_BUNDLE_FILE)} signed with {args.signing_key} ({args.signing_alg}, revision {built.revision})")
    except (BundleBuildError, BundleIntegrityError, PolicyDataError, opa_binary.OpaNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
