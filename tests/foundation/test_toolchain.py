"""The OPA tool chain: pinned binary, lookup order, idempotent install, capabilities, and the make
targets that must fail on unformatted Rego, a forbidden built-in or a failing Rego test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from router import opa_binary, paths

ROOT = paths.ROOT


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)


def test_tools_folder_opa_is_the_pinned_version():
    opa = paths.TOOLS_BIN / "opa"
    assert opa_binary.opa_version(opa) == opa_binary.pinned_version()
    assert opa_binary.pinned_version().startswith("v1.")


def test_version_is_written_in_exactly_one_place():
    version = opa_binary.pinned_version()
    hits = [
        p.relative_to(ROOT)
        for p in ROOT.rglob("*")
        if p.is_file()
        and not any(part in {".git", ".venv", ".tools", "build", ".hypothesis", "__pycache__"} for part in p.relative_to(ROOT).parts)
        and p.suffix not in {".json", ".md"}
        and version in p.read_text(encoding="utf-8", errors="ignore")
    ]
    assert hits == [Path("tools/opa.version")]


def test_lookup_prefers_environment_override(monkeypatch, tmp_path):
    fake = tmp_path / "opa"
    shutil.copy(paths.TOOLS_BIN / "opa", fake)
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(fake))
    assert opa_binary.find_opa() == fake


def test_lookup_rejects_a_bad_override_naming_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(tmp_path / "missing-opa"))
    with pytest.raises(opa_binary.OpaNotFound, match="tools/install-opa.sh"):
        opa_binary.find_opa()


def test_lookup_falls_back_to_path_only_at_the_pinned_version_and_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.delenv("MODEL_ROUTER_OPA", raising=False)
    monkeypatch.setattr(paths, "TOOLS_BIN", tmp_path / "no-tools")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(opa_binary.OpaNotFound, match="make setup"):
        opa_binary.find_opa()
    (bin_dir / "opa").write_text("#!/bin/sh\necho 'Version: 0.0.1'\n", encoding="utf-8")
    (bin_dir / "opa").chmod(0o755)
    with pytest.raises(opa_binary.OpaNotFound, match="make setup") as refused:  # an opa on PATH of another version
        opa_binary.find_opa()
    assert "found v0.0.1" in str(refused.value)
    (bin_dir / "opa").unlink()
    shutil.copy(ROOT / ".tools/bin/opa", bin_dir / "opa")
    found = opa_binary.locate()  # the pinned version on PATH, after the (missing) pinned build
    assert (found.path, found.source, found.version) == (bin_dir / "opa", opa_binary.ON_PATH, opa_binary.pinned_version())
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(bin_dir / "opa"))  # named explicitly, of the pinned version
    assert opa_binary.locate().source == opa_binary.EXPLICIT


def test_second_install_does_not_rebuild():
    opa = paths.TOOLS_BIN / "opa"
    before = opa.stat().st_mtime_ns
    result = run(["bash", "tools/install-opa.sh"])
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout
    assert opa.stat().st_mtime_ns == before


def _policy_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "model_router"
    shutil.copytree(paths.REGO, dest)
    return dest


FORBIDDEN = {
    "http.send": 'http.send({"method": "POST", "url": "https://example.invalid", "body": input.request})',
    "net.lookup_ip_addr": 'net.lookup_ip_addr("example.invalid")',
    "opa.runtime": "opa.runtime()",
    "time.now_ns": "time.now_ns()",
    "rand.intn": 'rand.intn("x", 10)',
}


@pytest.mark.parametrize("builtin", sorted(FORBIDDEN))
def test_capabilities_reject_builtins_that_reach_outside_the_input(tmp_path, builtin):
    module = tmp_path / "leak.rego"
    module.write_text(f"package leak\n\nexfiltrate := {FORBIDDEN[builtin]}\n", encoding="utf-8")
    result = run([str(paths.TOOLS_BIN / "opa"), "check", "--strict", "--capabilities", str(paths.CAPABILITIES), str(module)])
    assert result.returncode != 0
    assert "undefined function" in result.stderr + result.stdout
    assert builtin in result.stderr + result.stdout


def test_capabilities_still_allow_what_the_policies_need(tmp_path):
    module = tmp_path / "ok.rego"
    module.write_text('package ok\n\nx := round(1.5)\n\ny := crypto.sha256("a")\n\nz := sprintf("%v", [1])\n', encoding="utf-8")
    result = run([str(paths.TOOLS_BIN / "opa"), "check", "--strict", "--capabilities", str(paths.CAPABILITIES), str(module)])
    assert result.returncode == 0, result.stderr


def make(target: str, rego_dir: Path) -> subprocess.CompletedProcess:
    return run(["make", "-s", target, f"REGO_DIR={rego_dir}"])


def test_make_check_fails_on_a_policy_that_calls_http_send(tmp_path):
    rego = _policy_copy(tmp_path)
    (rego / "leak.rego").write_text(
        "package model_router.leak\n\nsend := http.send({\"method\": \"GET\", \"url\": \"https://example.invalid\"})\n",
        encoding="utf-8",
    )
    result = make("check", rego)
    assert result.returncode != 0
    assert "http.send" in result.stdout + result.stderr


def test_make_fmt_check_fails_on_an_unformatted_module(tmp_path):
    rego = _policy_copy(tmp_path)
    assert make("fmt-check", rego).returncode == 0
    (rego / "ugly.rego").write_text("package model_router.ugly\nx:=1\n", encoding="utf-8")
    result = make("fmt-check", rego)
    assert result.returncode != 0
    assert "ugly.rego" in result.stdout


def _tiny_policies(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A small policy folder (fast to test): {relative path: Rego text}."""
    rego = tmp_path / "policies" / "model_router"
    for rel, text in modules.items():
        (rego / rel).parent.mkdir(parents=True, exist_ok=True)
        (rego / rel).write_text(text, encoding="utf-8")
    return rego


COVERED = {
    "lanes/lanes.rego": "package model_router.lanes\n\nrank := {\"a\": 1}\n",
    "lanes/lanes_test.rego": "package model_router.lanes_test\n\nimport data.model_router.lanes\n\ntest_rank if lanes.rank.a == 1\n",
}


def test_make_rego_test_shows_every_failing_test_with_file_line_and_values(tmp_path):
    rego = _tiny_policies(tmp_path, {
        **COVERED,
        "lanes/broken_test.rego": (
            "package model_router.lanes_test\n\nimport data.model_router.lanes\n\n"
            "test_always_wrong if {\n\tr := lanes.rank.a\n\tr == 2\n}\n\n"
            "test_also_wrong if {\n\tx := {\"k\": 1}\n\tx.k == 3\n}\n"
        ),
    })
    result = make("rego-test", rego)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    test_file = f"{rego}/lanes/broken_test.rego"
    assert f"{test_file}:5: data.model_router.lanes_test.test_always_wrong: FAIL" in out
    assert f"{test_file}:10: data.model_router.lanes_test.test_also_wrong: FAIL" in out
    assert f"{test_file}:7:" in out and "r == 2" in out  # the failing expression, with the value of r
    assert "x.k: 1" in out
    assert "opa test: 2 test(s) failed" in out
    assert out.count("coverage") == 0  # a failing run reports failures, not coverage


def test_make_rego_test_names_a_forbidden_builtin_and_the_capabilities_file(tmp_path):
    rego = _tiny_policies(tmp_path, {
        **COVERED,
        "leak/leak.rego": 'package model_router.leak\n\nnow := time.now_ns()\n',
    })
    result = make("rego-test", rego)
    assert result.returncode != 0
    assert (f"{rego}/leak/leak.rego:3: built-in `time.now_ns` is not allowed by policies/capabilities.json"
            in result.stdout), result.stdout + result.stderr


def test_make_rego_test_fails_a_package_under_its_coverage_threshold(tmp_path):
    rego = _tiny_policies(tmp_path, {
        **COVERED,
        "untested/untested.rego": (
            "package model_router.untested\n\nlimit := 3\n\nover(n) if {\n\tn > limit\n}\n"
        ),
    })
    result = make("rego-test", rego)
    assert result.returncode != 0, result.stdout
    assert "opa test: every test passed" in result.stdout
    assert f"package {rego}/untested  UNDER the package threshold 90 %" in result.stdout
    assert f"{rego}/untested/untested.rego  uncovered lines 3,5-6" in result.stdout.replace("   0.00 %  ", "")
    assert f"package {rego}/lanes" in result.stdout and "UNDER" not in result.stdout.split(f"package {rego}/lanes")[1].splitlines()[0]


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "make test"
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_make_help_lists_every_documented_target():
    out = run(["make", "-s", "help"]).stdout
    for target in ["setup", "test", "lint", "fmt", "demo", "bench", "clean"]:
        assert f"make {target} " in out
