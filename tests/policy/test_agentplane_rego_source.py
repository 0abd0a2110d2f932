"""In model_router.agentplane only the public rules read the route decision; every helper that needs it is
a function of the decision it is given. OPA's compiler (stage check_recursion, at every start of OPA)
walks the rules each rule depends on anew from every rule, so each helper *rule* that read the decision
walked the whole decision graph: 59 such rules were 60 % of those walks (docs/performance.md, "The cold
start, continued"). This reads the module's syntax tree (`opa parse`) and names any helper rule that
reads the decision again, directly or through a public rule."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from router import opa_binary, paths

MODULE = paths.REGO / "agentplane" / "agentplane.rego"
PUBLIC = {"result", "results", "projection", "refusals"}  # the package's documented rules


def _parsed(path: Path = MODULE) -> dict[str, Any]:
    out = subprocess.run([str(opa_binary.find_opa()), "parse", "--format", "json", str(path)], capture_output=True, text=True,
                         timeout=60, check=True)
    module: dict[str, Any] = json.loads(out.stdout)
    return module


def _terms(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "type" in node and "value" in node:
            yield node
        for value in node.values():
            yield from _terms(value)
    elif isinstance(node, list):
        for item in node:
            yield from _terms(item)


def _name(rule: dict[str, Any]) -> str:
    head = rule["head"]
    return str(head.get("name") or head["ref"][0]["value"])


def _direct(rule: dict[str, Any]) -> tuple[list[str], set[str]]:
    """(the refs into data.model_router in RULE, the other names it uses: rules of this package among them)."""
    refs, names = [], set()
    for term in _terms(rule):
        if term["type"] == "ref":
            parts = [p.get("value") for p in term["value"]]
            if parts[:2] == ["data", "model_router"]:
                refs.append(".".join(str(p) for p in parts))
        elif term["type"] == "var":
            names.add(str(term["value"]))
    return refs, names - {_name(rule)}


def reading_the_decision(module: dict[str, Any]) -> dict[str, list[str]]:
    """Each rule or function of MODULE other than the public rules that depends on data.model_router (the
    decision and its projections), directly or through other rules of the package -> what it names."""
    direct = {}
    for rule in module["rules"]:
        refs, names = _direct(rule)
        previous = direct.get(_name(rule), ([], set()))
        direct[_name(rule)] = (previous[0] + refs, previous[1] | names)
    reaching = {name for name, (refs, _) in direct.items() if refs} | PUBLIC
    while True:
        more = {name for name, (_, names) in direct.items() if names & reaching} - reaching
        if not more:
            break
        reaching |= more
    return {name: sorted(set(refs) | (names & reaching)) for name, (refs, names) in direct.items() if name in reaching - PUBLIC}


def test_only_the_public_rules_read_the_decision() -> None:
    module = _parsed()
    names = {_name(r) for r in module["rules"]}
    assert names >= PUBLIC, f"the public rules moved: {sorted(PUBLIC - names)}"
    offenders = reading_the_decision(module)
    assert offenders == {}, f"helpers reading the decision (make them functions of it): {offenders}"


def test_the_check_finds_helpers_that_read_the_decision(tmp_path) -> None:
    bad = tmp_path / "agentplane.rego"
    bad.write_text(MODULE.read_text(encoding="utf-8") + "\n_stage := data.model_router.decision.input.stage\n\n_codes := refusals\n\n"
                   "_staged(x) := [x, _stage]\n\n_labels := _staged(1)\n", encoding="utf-8")
    assert reading_the_decision(_parsed(bad)) == {
        "_stage": ["data.model_router.decision.input.stage"], "_codes": ["refusals"], "_staged": ["_stage"], "_labels": ["_staged"],
    }
    # the module before helpers became functions: 59 rules, all through `_d := data.model_router.decision`
    before = tmp_path / "before.rego"
    before.write_text('package model_router.agentplane\n\n_d := data.model_router.decision\n\n_lane := _d.selected.lane\n\n'
                      'projection := {"lane": _lane}\n', encoding="utf-8")
    assert reading_the_decision(_parsed(before)) == {"_d": ["data.model_router.decision"], "_lane": ["_d"]}
