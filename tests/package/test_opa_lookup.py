"""The OPA lookup order (explicit setting, the project's pinned build, opa on PATH at the pinned version)
and `install-opa`'s build step, in both layouts. Go is stood in for by small scripts: the real build
takes minutes and needs the module proxy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from router import opa_binary, paths

PINNED_OPA = paths.CHECKOUT_ROOT / ".tools" / "bin" / "opa"


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def _other_version(path: Path) -> Path:
    return _script(path, "echo 'Version: 0.0.1'\n")


@pytest.fixture
def installed_layout(monkeypatch, tmp_path):
    """paths as an installed package has them: the pinned build in a per-user folder (empty here)."""
    monkeypatch.setattr(paths, "LAYOUT", paths.INSTALLED)
    monkeypatch.setattr(paths, "TOOLS_BIN", tmp_path / "user-bin")
    monkeypatch.delenv("MODEL_ROUTER_OPA", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.delenv("GOFLAGS", raising=False)
    return tmp_path


def test_the_order_is_explicit_then_pinned_build_then_path(installed_layout, monkeypatch):
    tmp = installed_layout
    on_path = tmp / "path-bin" / "opa"
    on_path.parent.mkdir()
    os.symlink(PINNED_OPA, on_path)
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert opa_binary.locate().source == opa_binary.ON_PATH
    pinned = paths.TOOLS_BIN / "opa"
    pinned.parent.mkdir()
    os.symlink(PINNED_OPA, pinned)
    assert (opa_binary.locate().path, opa_binary.locate().source) == (pinned, opa_binary.PINNED_BUILD)
    explicit = tmp / "elsewhere" / "opa"
    explicit.parent.mkdir()
    os.symlink(PINNED_OPA, explicit)
    monkeypatch.setenv("MODEL_ROUTER_OPA", str(explicit))
    assert (opa_binary.locate().path, opa_binary.locate().source) == (explicit, opa_binary.EXPLICIT)


def test_an_installed_pinned_build_of_another_version_is_an_error_naming_install_opa(installed_layout, monkeypatch):
    tmp = installed_layout
    _other_version(paths.TOOLS_BIN / "opa")
    on_path = tmp / "path-bin" / "opa"
    on_path.parent.mkdir()
    os.symlink(PINNED_OPA, on_path)
    monkeypatch.setenv("PATH", str(on_path.parent))  # a good one on PATH does not hide a broken pinned build
    with pytest.raises(opa_binary.OpaNotFound, match=r"found v0\.0\.1") as refused:
        opa_binary.locate()
    assert "model-router install-opa" in str(refused.value)


def test_nothing_found_names_every_place_tried(installed_layout, monkeypatch):
    tmp = installed_layout
    _other_version(tmp / "path-bin" / "opa")
    monkeypatch.setenv("PATH", str(tmp / "path-bin"))
    with pytest.raises(opa_binary.OpaNotFound) as refused:
        opa_binary.locate()
    message = str(refused.value)
    assert str(paths.TOOLS_BIN / "opa") in message and "not found" in message
    assert f"opa on PATH ({tmp / 'path-bin' / 'opa'}): expected OPA {opa_binary.pinned_version()}" in message
    assert "MODEL_ROUTER_OPA" in message and "model-router install-opa" in message


def test_install_runs_go_install_of_the_pinned_module_into_the_pinned_build_folder(installed_layout):
    tmp = installed_layout
    log = tmp / "go.log"
    go = _script(tmp / "go", f'echo "$@" "GOBIN=$GOBIN" "GOFLAGS=$GOFLAGS" >> {log}\nln -sf {PINNED_OPA} "$GOBIN/opa"\n')
    binary, built = opa_binary.install(go=str(go))
    assert (binary, built) == (paths.TOOLS_BIN / "opa", True)
    assert log.read_text().split() == [
        "install", f"{opa_binary.OPA_MODULE}@{opa_binary.pinned_version()}", f"GOBIN={paths.TOOLS_BIN.resolve()}", "GOFLAGS=-trimpath",
    ]
    assert opa_binary.install(go=str(go)) == (binary, False)  # the pinned version is there: not built again
    assert len(log.read_text().splitlines()) == 1
    assert opa_binary.install(go=str(go), force=True) == (binary, True)
    assert opa_binary.locate().source == opa_binary.PINNED_BUILD


@pytest.mark.parametrize(
    "body, message",
    [
        ("echo 'module not found' >&2\nexit 1\n", "failed with status 1: module not found"),
        ("exit 0\n", "left no executable there"),
        ("printf '#!/bin/sh\\necho Version: 0.0.1\\n' > \"$GOBIN/opa\"\nchmod 755 \"$GOBIN/opa\"\n", r"expected OPA .* after the build, found v0\.0\.1"),
    ],
)
def test_a_failed_build_is_an_error_naming_the_command(installed_layout, body, message):
    go = _script(installed_layout / "go", body)
    with pytest.raises(opa_binary.InstallError, match=message):
        opa_binary.install(go=str(go))


def test_install_without_go_says_go_is_needed(installed_layout):
    with pytest.raises(opa_binary.InstallError, match="Go is required"):
        opa_binary.install()
