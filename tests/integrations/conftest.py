"""guardrail-fabric's own package must be importable for these tests. When its folder is beside the
project (`../shared/third-party/guardrail-fabric/package`, which `make setup` installs into .venv), or
when MODEL_ROUTER_REQUIRE_GUARDRAIL_FABRIC=1, a failed import is an error that fails the run; only when
the folder is absent do the test modules skip (pytest.importorskip)."""

from __future__ import annotations

import os

from router import paths

PACKAGE_DIR = paths.ROOT.parent / "shared" / "third-party" / "guardrail-fabric" / "package"
REQUIRED = PACKAGE_DIR.is_dir() or os.environ.get("MODEL_ROUTER_REQUIRE_GUARDRAIL_FABRIC") == "1"

if REQUIRED:
    try:
        from guardrail_fabric import decision, hooks, log, policies  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            f"guardrail-fabric's package is present ({PACKAGE_DIR.name} beside the project) but does not import: "
            f"{exc}; run make setup"
        ) from exc
