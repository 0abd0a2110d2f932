"""tools/rego_style.py: the style rules Regal would otherwise enforce."""

from __future__ import annotations

import shutil
import subprocess
import sys

from router import paths


def style(rego_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(paths.ROOT / "tools/rego_style.py"), str(rego_dir)],
                          capture_output=True, text=True)


def test_project_policies_are_style_clean():
    result = style(paths.REGO)
    assert result.returncode == 0, result.stdout


def test_missing_test_module_and_package_mismatch_are_reported(tmp_path):
    rego = tmp_path / "model_router"
    shutil.copytree(paths.REGO, rego)
    (rego / "extra").mkdir()
    (rego / "extra" / "thing.rego").write_text(
        "# METADATA\n# title: thing\npackage model_router.extra.thing\n\nx := 1\n", encoding="utf-8"
    )
    result = style(rego)
    assert result.returncode == 1
    assert "model_router/extra/thing.rego:1: no `thing_test.rego` beside it" in result.stdout
    assert "package `model_router.extra.thing` does not mirror its folder; expected `model_router.extra`" in result.stdout


def test_module_without_metadata_is_reported(tmp_path):
    rego = tmp_path / "model_router"
    shutil.copytree(paths.REGO, rego)
    (rego / "bare").mkdir()
    (rego / "bare" / "bare.rego").write_text("package model_router.bare\n\nx := 1\n", encoding="utf-8")
    (rego / "bare" / "bare_test.rego").write_text(
        "package model_router.bare_test\n\ntest_x if data.model_router.bare.x == 1\n", encoding="utf-8"
    )
    result = style(rego)
    assert "model_router/bare/bare.rego:1: no `# METADATA` block" in result.stdout
