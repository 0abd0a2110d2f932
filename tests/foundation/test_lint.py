"""Regal: built from the pinned module (tools/regal), enforced by make lint (part of make test), with the
project's own conventions as custom rules (.regal/rules). Deliberate mistakes each fail with the file and
the line named."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from router import paths

ROOT = paths.ROOT
REGAL = paths.TOOLS_BIN / "regal"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(cmd: list[str], cwd: Path = ROOT, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    result.stdout = ANSI.sub("", result.stdout)
    result.stderr = ANSI.sub("", result.stderr)
    return result


def _prerequisites(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = re.search(rf"^{target}:([^#\n]*)", makefile, re.MULTILINE)
    assert line, f"no `{target}:` target"
    return line.group(1).split()


def test_make_test_runs_every_check_including_lint():
    assert _prerequisites("test") == ["setup", "fleet-deps", "fmt-check", "style", "rego-test", "lint", "pytest"]
    assert {"fmt-check", "check", "style", "regal"} <= set(_prerequisites("lint"))


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE)
    assert recipe, f"no `{target}:` target with a recipe"
    return recipe.group(1)


def test_python_lint_runs_ruff_and_strict_mypy_configured_in_pyproject():
    # make lint runs it after Regal, so a Rego finding is reported first
    assert re.search(r"\$\(MAKE\).* python-lint$", _recipe("lint").splitlines()[-1])
    recipe = _recipe("python-lint")
    assert re.search(r"ruff check .*\brouter\b.*\btests\b", recipe)
    assert "mypy --strict router" in recipe
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["mypy"]["strict"] is True
    assert config["tool"]["mypy"]["packages"] == ["router"]
    # overrides only for third-party modules (no strictness exceptions for the project's own)
    for override in config["tool"]["mypy"].get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        assert not any(m == "router" or m.startswith("router.") for m in modules), override
    assert {"E", "F", "I", "B", "UP"} <= set(config["tool"]["ruff"]["lint"]["select"])
    dev = " ".join(config["project"]["optional-dependencies"]["dev"])
    assert all(name in dev for name in ("ruff", "mypy", "types-PyYAML"))


def test_the_pinned_regal_is_built_and_reports_its_version():
    want = (ROOT / "tools/regal.version").read_text().strip()
    result = run([str(REGAL), "version"])
    assert result.returncode == 0, result.stderr
    assert f"Version:       {want}" in result.stdout
    go_mod = (ROOT / "tools/regal/go.mod").read_text()
    assert re.search(rf"^\s*github\.com/open-policy-agent/regal {re.escape(want)}$", go_mod, re.MULTILINE)
    assert (ROOT / "tools/regal/go.sum").stat().st_size > 0


def test_a_second_install_does_not_rebuild():
    before = REGAL.stat().st_mtime_ns
    result = run(["bash", "tools/install-regal.sh"])
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout
    assert REGAL.stat().st_mtime_ns == before


def _install_copy(tmp_path: Path) -> Path:
    """A project root with only what tools/install-regal.sh needs, and no Regal built yet."""
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools/install-regal.sh", root / "tools")
    shutil.copy(ROOT / "tools/regal.version", root / "tools")
    shutil.copytree(ROOT / "tools/regal", root / "tools/regal")
    shutil.copy(ROOT / "Makefile", root / "Makefile")
    return root


def _path_without_go() -> str:
    return os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "go").exists())


def test_without_go_regal_cannot_be_built_and_make_says_why(tmp_path):
    root = _install_copy(tmp_path)
    env = {**os.environ, "PATH": _path_without_go()}
    result = run(["bash", "tools/install-regal.sh"], cwd=root, env=env)
    assert result.returncode == 1
    assert "regal v" in result.stderr and "could not be built: Go is not installed" in result.stderr
    made = run(["make", "-s", "regal"], cwd=root, env=env)
    assert made.returncode != 0
    assert "cannot be built, so make lint cannot run it" in made.stderr


def test_a_version_mismatch_between_the_pin_and_the_module_is_refused(tmp_path):
    root = _install_copy(tmp_path)
    (root / "tools/regal.version").write_text("v0.0.1\n")
    result = run(["bash", "tools/install-regal.sh"], cwd=root)
    assert result.returncode == 1
    assert "tools/regal/go.mod requires regal v" in result.stderr
    assert "tools/regal.version says v0.0.1" in result.stderr


def test_the_custom_rules_pass_their_own_tests():
    result = run([str(REGAL), "test", ".regal/rules"])
    assert result.returncode == 0, result.stdout + result.stderr
    rules = sorted(p.stem for p in (ROOT / ".regal/rules/conventions").glob("*.rego") if not p.stem.endswith("_test"))
    assert rules == ["policy_data_known", "public_rule_metadata", "reason_code_catalogued", "test_module_beside"]
    for rule in rules:
        assert (ROOT / f".regal/rules/conventions/{rule}_test.rego").exists()


def test_the_config_knows_the_data_roots_and_exempts_tests_only_where_it_must():
    config = (ROOT / ".regal/config.yaml").read_text()
    assert "- policies" in config  # project root holding the root packages
    for root in ("data.model_router_data.**", "data.model_router_fixtures.**"):
        assert root in config
    ignores = re.findall(r"ignore:\n\s+files:\n((?:\s+#.*\n|\s+- .*\n)+)", config)
    patterns = [line.strip()[2:].strip('"') for block in ignores for line in block.splitlines() if line.strip().startswith("- ")]
    assert patterns.count("*_test.rego") == 1, patterns  # with-outside-test-context only


@pytest.fixture
def policies_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "policies" / "model_router"
    shutil.copytree(paths.REGO, dest)
    return dest


def make_lint(rego_dir: Path) -> subprocess.CompletedProcess:
    return run(["make", "-s", "lint", f"REGO_DIR={rego_dir}"], timeout=600)


def test_regal_mistakes_fail_make_lint_naming_file_and_line(policies_copy):
    extra = policies_copy / "extra"
    extra.mkdir()
    (extra / "extra.rego").write_text(
        "# METADATA\n# title: Blocked tenants\npackage model_router.extra\n\n"
        "# METADATA\n# description: The workspace is blocked.\n"
        "blocked if input.request.subject.workspaceRef in data.model_router_data.blockedTenants.workspaces\n\n"
        "# METADATA\n# description: The reason a blocked workspace is denied with.\n"
        'reason := "tenant-blocked"\n\n'
        "undocumented := 1\n",
        encoding="utf-8",
    )
    (extra / "extra_test.rego").write_text(
        "package model_router.extra_test\n\nimport data.model_router.extra\n\n"
        'test_reason if extra.reason == "tenant-blocked"\n\ntest_undocumented if extra.undocumented == 1\n',
        encoding="utf-8",
    )
    result = make_lint(policies_copy)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    module = f"{extra}/extra.rego"
    assert re.search(rf"data\.model_router_data\.blockedTenants is not assembled by make data: add policies/data/blocked-tenants\.json.*\n.*\nLocation:\s+{re.escape(module)}:7:", out), out[-3000:]
    assert re.search(rf'reason code "tenant-blocked" is not catalogued.*\n.*\nLocation:\s+{re.escape(module)}:11:', out), out[-3000:]
    assert re.search(rf"public rule `undocumented` has no `# METADATA` block.*\n.*\nLocation:\s+{re.escape(module)}:13:", out), out[-3000:]


def test_a_module_without_a_test_module_fails_make_lint_naming_it(policies_copy):
    extra = policies_copy / "extra"
    extra.mkdir()
    (extra / "extra.rego").write_text("# METADATA\n# title: Extra\npackage model_router.extra\n\n# METADATA\n# description: x\nx := 1\n")
    result = make_lint(policies_copy)
    assert result.returncode != 0
    assert "model_router/extra/extra.rego:1: no `extra_test.rego` beside it" in result.stdout

