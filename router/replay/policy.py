"""A candidate (or baseline) policy for replay and shadow evaluation, as a verified bundle archive.

POLICY is either a bundle archive built by `make bundle` / `model-router policy build` (verified: its
contents must give the revision in its manifest), or a policies/ folder laid out like the project's:
`model_router/` (the Rego modules; `_test.rego` files are left out) and `data/sources.json` (the policy
data sources; the documents it names are read relative to the folder that holds the policies/ folder,
as in the repository). A folder holding `policies/` (a repository checkout) is accepted too. The folder is
assembled and built with the same machinery as the project's own bundle (router.policy_data,
router.bundle), so an unchanged copy of the project's policies gives the project's bundle revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router import bundle as bundle_mod
from router import policy_data
from router.data_views import PolicyDataError


class PolicySourceError(ValueError):
    """The policy given for replay or shadow evaluation cannot be used (names the path and what was expected)."""


@dataclass(frozen=True)
class PolicySource:
    given: str  # the path as given
    archive: Path  # the bundle archive to serve
    revision: str


def _policies_root(folder: Path) -> Path:
    if (folder / "model_router").is_dir():
        return folder
    if (folder / "policies" / "model_router").is_dir():
        return folder / "policies"
    raise PolicySourceError(f"{folder}: expected a policies/ folder holding model_router/ (Rego modules) and data/sources.json, or a bundle archive (.tar.gz)")


def build(policy: str | Path, workdir: Path, name: str = "candidate") -> PolicySource:
    """The bundle archive for POLICY (see the module docstring); a folder is built into WORKDIR/NAME.tar.gz."""
    path = Path(policy)
    if path.is_file():
        try:
            revision = bundle_mod.verify(path)
        except bundle_mod.BundleIntegrityError as exc:
            raise PolicySourceError(str(exc)) from None
        return PolicySource(str(policy), path, revision)
    if not path.is_dir():
        raise PolicySourceError(f"{path}: not found (expected a policies/ folder or a bundle archive)")
    root = _policies_root(path)
    sources = root / "data" / "sources.json"
    if not sources.is_file():
        raise PolicySourceError(f"{sources}: not found (a policies/ folder needs data/sources.json naming its policy data)")
    try:
        data = policy_data.assemble(sources_file=sources, root=root.parent)
        files = bundle_mod.staged_files(rego_dir=root / "model_router", data=data)
        out = Path(workdir) / f"{name}.tar.gz"
        revision = bundle_mod.build_from_files(files, out)
    except PolicyDataError as exc:
        raise PolicySourceError(f"{root}: the policy data cannot be assembled: {exc}") from None
    except bundle_mod.BundleBuildError as exc:
        raise PolicySourceError(f"{root}: the policy does not build: {exc}") from None
    return PolicySource(str(policy), out, revision)
