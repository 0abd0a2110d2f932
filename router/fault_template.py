"""The fault path's template: what the router needs to deny without asking the policy.

A fault (OPA unreachable, a timeout, a malformed answer, a receipt that cannot be written) and input
that cannot be decided at all must still produce a denial, so the router cannot ask OPA for it then.
`fault-template.json` beside this module holds that answer, generated from the Rego that decides:

    decisions   data.model_router.denied.fault: per decision kind, the denied document's template,
                its `selected` section without reasons, the request fields copied into `input` (of
                an object field only the members named: never an approval token or prompt text)
                and the `request.personal` fields copied to the top level
    guardrail   per fault reason code, data.model_router.projection.guardrail.fault_verdict(code);
                per unusable-input code, data.model_router.projection.guardrail.unusable[code]
    lane        the lane-decision summary of a denied agent decision (model_router.projection.lane)
    permitting  per decision kind, the statuses (from the decision schema's enum) whose guardrail
                value lets the agent continue: the statuses that permit a request on its route

`python -m router.fault_template --write` regenerates the file (after a policy or reason-catalogue
change); `--check` (and the test suite) fails when it no longer matches the policy.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from router import paths
from router.opa_binary import find_opa

TEMPLATE_FILE = Path(__file__).with_name("fault-template.json")
ENGINE_REASONS = paths.POLICY_DATA / "reasons" / "engine.json"
DECISION_SCHEMAS = {
    "AgentExecutionRouteDecision": paths.SCHEMAS / "agent-execution-route-decision.schema.json",
    "LocalPersonalRouteDecision": paths.SCHEMAS / "local-personal-route-decision.schema.json",
}


class TemplateUnavailable(RuntimeError):
    """fault-template.json is missing or malformed (the router cannot deny without it)."""


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """The template (read once)."""
    try:
        doc: dict[str, Any] = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateUnavailable(f"{TEMPLATE_FILE}: expected the fault template (python -m router.fault_template --write): {exc}") from exc
    for key in ("decisions", "guardrail", "lane", "permitting"):
        if key not in doc:
            raise TemplateUnavailable(f"{TEMPLATE_FILE}: $.{key}: expected a member; regenerate with python -m router.fault_template --write")
    return doc


def permitting_statuses(kind: str | None = None) -> frozenset[str]:
    """The statuses that permit a request on its route (of KIND, else of any kind)."""
    table = load()["permitting"]
    kinds = [kind] if kind is not None else list(table)
    return frozenset(s for k in kinds for s in table.get(k, ()))


def denied_document(kind: str, reason: str, bundle: Any, *, identity: dict[str, Any]) -> dict[str, Any]:
    """A denied decision of KIND for REASON: the template, IDENTITY (decisionId, createdAt,
    policyRevision) after `kind`, the request's own fields echoed, nothing granted."""
    entry = load()["decisions"][kind]
    doc = copy.deepcopy(entry["template"])
    given = bundle.get("request") if isinstance(bundle, dict) else None
    request: dict[str, Any] = given if isinstance(given, dict) else {}
    personal: dict[str, Any] = request["personal"] if isinstance(request.get("personal"), dict) else {}
    doc["input"] = {k: _echoed(request[k], members) for k, members in entry["echo"].items() if k in request}
    for key in entry["personal"]:
        doc[key] = personal.get(key)
    doc["selected"] = {**entry["selected"], "reason": reason, "reasons": [reason]}
    out: dict[str, Any] = {"schemaVersion": doc.pop("schemaVersion"), "kind": doc.pop("kind"), **identity}
    out.update(doc)
    return out


def _echoed(value: Any, members: list[str]) -> Any:
    """VALUE as a fault echoes it: only MEMBERS of an object (when named), else the value itself."""
    if members and isinstance(value, dict):
        return {m: copy.deepcopy(value[m]) for m in members if m in value}
    return copy.deepcopy(value)


def fault_projection(code: str | None) -> dict[str, Any]:
    """The projections of a fault denial with reason CODE: {"guardrail": <verdict>, "lane": <summary>}."""
    template = load()
    faults = template["guardrail"]["faults"]
    verdict = faults.get(code) if code else None
    return {"guardrail": copy.deepcopy(verdict or faults[""]), "lane": copy.deepcopy(template["lane"])}


def unusable_verdict(code: str) -> dict[str, Any]:
    """The guardrail verdict of input that could not be decided (invalid-input, input-too-large)."""
    verdict: dict[str, Any] = copy.deepcopy(load()["guardrail"]["unusable"][code])
    return verdict


# -- generating and checking the template -------------------------------------------------------


def _schema_statuses(kind: str) -> list[str]:
    schema = json.loads(DECISION_SCHEMAS[kind].read_text(encoding="utf-8"))
    return list(schema["properties"]["selected"]["properties"]["status"]["enum"])


def _fault_codes() -> list[str]:
    catalogued = json.loads(ENGINE_REASONS.read_text(encoding="utf-8"))
    return sorted(k for k in catalogued if not k.startswith("$"))


def evaluate(query: str, opa: str | Path | None = None, data_dir: Path | None = None) -> Any:
    """The value of `out` in QUERY (a Rego query binding `out`), evaluated by `opa eval` over the
    policies and the built policy data (build/data)."""
    args = [str(opa or find_opa()), "eval", "--format", "json", "-d", str(paths.REGO), "-d", str(data_dir or paths.BUILD / "data"), query]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"opa eval failed: {(done.stderr or done.stdout).strip()[:2000]}")
    result = json.loads(done.stdout).get("result") or []
    if not result:
        raise RuntimeError(f"opa eval: the query is undefined: {query[:200]}")
    return result[0]["bindings"]["out"]


def generate(opa: str | Path | None = None, data_dir: Path | None = None) -> dict[str, Any]:
    """The template as the policy computes it now (asks `opa eval` over policies/ and build/data)."""
    statuses = {kind: _schema_statuses(kind) for kind in DECISION_SCHEMAS}
    codes = _fault_codes() + [""]
    query = (
        "out := {"
        '"decisions": data.model_router.denied.fault, '
        f'"guardrail": {{"faults": {{c: data.model_router.projection.guardrail.fault_verdict(c) | some c in {json.dumps(codes)}; not data.model_router.projection.guardrail.unusable[c]}}, "unusable": data.model_router.projection.guardrail.unusable}}, '
        '"lane": data.model_router.projection.lane.summary(data.model_router.denied.document("AgentExecutionRouteDecision", {}, ["fault"])), '
        f'"permitting": {{k: [s | some s in ss; data.model_router.projection.guardrail.effects(data.model_router.projection.guardrail.value({{"kind": k, "selected": {{"status": s}}}})).agentMayContinue] | some k, ss in {json.dumps(statuses)}}}'
        "}"
    )
    return {"$comment": "generated by python -m router.fault_template --write from the Rego; do not edit", **evaluate(query, opa, data_dir)}


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["--write"], ["--check"]):
        print("usage: python -m router.fault_template --write | --check", file=sys.stderr)
        return 2
    text = render(generate())
    if args == ["--write"]:
        TEMPLATE_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {TEMPLATE_FILE.name}")
        return 0
    current = TEMPLATE_FILE.read_text(encoding="utf-8") if TEMPLATE_FILE.exists() else ""
    if current != text:
        print(f"{TEMPLATE_FILE}: expected the template the policy computes; regenerate with python -m router.fault_template --write", file=sys.stderr)
        return 1
    print(f"{TEMPLATE_FILE.name}: matches the policy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
