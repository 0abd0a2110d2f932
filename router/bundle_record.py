"""What build/ records of the project bundle: the archive and the revision file beside it.

The names live here, apart from the bundle builder (router.bundle: the archive, tar and policy-data
code, about 15-25 ms of imports), so that a managed OPA's first start can read the recorded archive and
spawn OPA on it before the builder is imported; router.opa_supervisor verifies those bytes while OPA
compiles them.
"""

from __future__ import annotations

from router import paths

BUNDLE_FILE = paths.BUILD / "bundle.tar.gz"
REVISION_FILE = paths.BUILD / "bundle.revision"


def recorded_bundle() -> tuple[bytes, str] | None:
    """The project archive and the revision build/ records for it, read as they are, without verifying
    either (None when one is missing or unreadable). A start may hand these bytes to OPA before
    `router.bundle.ensure_bundle` has verified them only if nothing is asked of that OPA until
    `ensure_bundle` gives the same bytes and revision (router.opa_supervisor)."""
    try:
        revision = REVISION_FILE.read_text(encoding="utf-8").strip()
        data = BUNDLE_FILE.read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    return (data, revision) if revision else None
