"""The bridge to Rego: `opa check --schema schemas/route-input-bundle.schema.json` type-checks the
policies against the input bundle, so a misspelt input field fails the check instead of silently
evaluating to undefined. Runs the real pinned OPA on copies of the policies (policies/ is never touched)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from contracts_support import ROOT

from router import paths
from router.opa_binary import OpaNotFound, find_opa

SCHEMA = paths.SCHEMAS / "route-input-bundle.schema.json"


@pytest.fixture(scope="module")
def opa() -> Path:
    try:
        return find_opa()
    except OpaNotFound as exc:
        pytest.skip(str(exc))


def opa_check(opa: Path, *targets: Path) -> subprocess.CompletedProcess:
    cmd = [str(opa), "check", "--strict", "--capabilities", str(paths.CAPABILITIES), "--schema", str(SCHEMA), *map(str, targets)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def probe(folder: Path, ref: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    module = folder / "probe.rego"
    module.write_text(f"package probe\n\nprobed if {ref}\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "typo,field",
    [
        ("input.request.taskClas", "taskClass"),
        ("input.request.escalation.reasn", "reason"),
        ("input.request.personal.routeI", "routeId"),
        ("input.request.prompt.text_", "text"),
        ("input.resources.memoryAvailableByte", "memoryAvailableBytes"),
        ("input.quota.providerQuotaKnwn", "providerQuotaKnown"),
        ("input.quota.budget.task.spnt", "spent"),
        ("input.requests.taskClass", "request"),
    ],
)
def test_a_misspelt_input_field_fails_opa_check(opa, tmp_path, typo, field):
    correct = typo.rsplit(".", 1)[0] + "." + field
    if typo == "input.requests.taskClass":
        correct = "input.request.taskClass"
    assert opa_check(opa, probe(tmp_path / "good", correct)).returncode == 0
    bad = opa_check(opa, probe(tmp_path / "bad", typo))
    assert bad.returncode != 0
    assert f"undefined ref: {typo}" in bad.stdout + bad.stderr


def test_the_typo_fails_the_check_of_a_copy_of_the_real_policies(opa, tmp_path):
    """A module referencing input.request.taskClas beside the real policies fails `opa check --schema`."""
    copy = tmp_path / "model_router"
    shutil.copytree(paths.REGO, copy)
    (copy / "zz_typo_probe.rego").write_text(
        'package model_router.zz_typo_probe\n\nprobed if input.request.taskClas == "routine-code"\n', encoding="utf-8"
    )
    targets = [copy]
    data = ROOT / "build" / "data"
    if data.is_dir():
        targets.append(data)
    result = opa_check(opa, *targets)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "zz_typo_probe.rego:3: rego_type_error: undefined ref: input.request.taskClas" in output
    assert '"taskClass"' in output  # OPA names the fields the schema declares


def test_opa_accepts_the_draft_2020_12_input_schema(opa, tmp_path):
    """The schema's 2020-12 keywords ($defs, if/then, propertyNames, nullable types) load in OPA's checker."""
    module = tmp_path / "p" / "all.rego"
    module.parent.mkdir()
    module.write_text(
        "package probe\n\n"
        'a if input.request.prompt.sha256 == "x"\n'
        "b if input.request.escalation.humanJustification\n"
        "c if input.quota.budget.session.highEndSpent > 0\n"
        "d if input.resources.localProfileRef\n"
        'e if input.request.personal.ledgerApprovalRef == "x"\n'
        "f if input.request.estimatedLocalRuntimeMinutes > 1\n",
        encoding="utf-8",
    )
    result = opa_check(opa, module.parent)
    assert result.returncode == 0, result.stdout + result.stderr
