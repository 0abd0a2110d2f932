"""Where the project's files are: the repository root and the folders below it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
REGO = POLICIES / "model_router"
POLICY_DATA = POLICIES / "data"
CAPABILITIES = POLICIES / "capabilities.json"
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "examples"
BUILD = ROOT / "build"
TOOLS_BIN = ROOT / ".tools" / "bin"
OPA_VERSION_FILE = ROOT / "tools" / "opa.version"
