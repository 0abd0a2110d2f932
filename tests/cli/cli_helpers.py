"""Helpers of the command-line tests: run the CLI as a real process, pick example bundles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router import paths

BUNDLES = paths.EXAMPLES / "bundles"


def example(status: str) -> Path:
    for exp in sorted(BUNDLES.glob("personal-*.expected.json")):
        if json.loads(exp.read_text())["status"] == status:
            return exp.with_name(exp.name.replace(".expected.json", ".json"))
    pytest.skip(f"no example bundle expects {status}")


def run(*args: str, stdin: bytes | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    full_env = {**base, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args], input=stdin, capture_output=True, cwd=paths.ROOT, env=full_env, timeout=timeout,
        check=False,
    )


def decide(opa_url, receipts, *args, **kw):
    return run("decide", *args, "--opa-url", opa_url, "--receipts-dir", str(receipts), "--timeout-ms", "5000", **kw)
