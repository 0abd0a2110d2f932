"""No Python module under router/ carries policy: no lane, target, status or guardrail decision value
appears in it as a literal. The literal sets are the contract schemas' own enums, so a value added to
a schema is checked too. Field names that happen to equal a value (`selected` is both a status and the
decision's section) are allowed where they are used as keys: a dict key, a subscript, `.get(...)`.

router/contracts/ is exempt: it is the schema layer (the semantic rules that validate authored policy
documents against their contracts), where the vocabulary is the subject."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from router import paths

ROUTER = paths.ROOT / "router"
EXEMPT = (ROUTER / "contracts",)
# Known occurrences, each pinned to its exact source line (an edit of the line, or a new literal, fails):
KNOWN = {
    # model.status is the model schema's own vocabulary (selected | blocked), not a route status
    ("router/model_explain.py", 'if model.get("status") == "selected":'),
}


def _schema(name: str) -> dict:
    return json.loads((paths.SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def _enum(schema: dict, *path: str) -> set[str]:
    """The string values of the enum at PATH in SCHEMA (following a local $ref)."""
    node = schema
    for key in path:
        node = node[key]
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return {v for v in node["enum"] if isinstance(v, str)}


def policy_literals() -> dict[str, set[str]]:
    agent = _schema("agent-execution-route-decision")
    personal = _schema("local-personal-route-decision")
    selected = ("properties", "selected", "properties")
    return {
        "lane": _enum(agent, *selected, "lane"),
        "target": _enum(personal, *selected, "target"),
        "status": _enum(agent, *selected, "status") | _enum(personal, *selected, "status"),
        "guardrail decision": _enum(_schema("sourceos.guardrail.decision.v0.1"), "properties", "decision"),
    }


def _used_as_key(node: ast.Constant, parent: ast.AST | None) -> bool:
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True
    if isinstance(parent, ast.Dict) and any(k is node for k in parent.keys):
        return True
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in ("get", "pop", "setdefault"):
        return bool(parent.args) and parent.args[0] is node
    return False


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def literal_findings(source: str, filename: str, literals: dict[str, set[str]]) -> list[str]:
    """`file:line: <what> literal 'value'` for every policy literal in SOURCE (but the KNOWN lines)."""
    tree = ast.parse(source, filename)
    text = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docs:
            continue
        if _used_as_key(node, parents.get(node)) or (filename, text[node.lineno - 1].strip()) in KNOWN:
            continue
        for what, values in literals.items():
            if node.value in values:
                found.append(f"{filename}:{node.lineno}: {what} literal {node.value!r}")
    return found


def router_modules() -> list[Path]:
    return sorted(p for p in ROUTER.rglob("*.py") if not any(p.is_relative_to(e) for e in EXEMPT))


def test_the_literal_sets_come_from_the_schemas():
    literals = policy_literals()
    assert {"high-end", "pro", "standard"} <= literals["lane"]
    assert {"base-local", "hosted"} <= literals["target"]
    assert {"selected", "downgraded", "fallback", "denied"} <= literals["status"]
    assert {"allow", "allow_with_context", "deny", "escalate", "quarantine", "defer"} <= literals["guardrail decision"]


def test_the_check_finds_a_policy_literal():
    literals = policy_literals()
    source = 'PREMIUM = {"high-end", "pro"}\nif status == "selected":\n    value = "allow"\nx = doc["selected"]\ny = doc.get("selected")\n'
    found = literal_findings(source, "example.py", literals)
    assert found == [
        "example.py:1: lane literal 'high-end'", "example.py:1: lane literal 'pro'",
        "example.py:2: status literal 'selected'", "example.py:3: guardrail decision literal 'allow'",
    ]


def test_no_router_module_holds_a_policy_literal():
    literals = policy_literals()
    found = [f for path in router_modules() for f in literal_findings(path.read_text(encoding="utf-8"), str(path.relative_to(paths.ROOT)), literals)]
    assert found == [], "policy literals in router/ (the policy decides these; read them from its answer):\n" + "\n".join(found)
