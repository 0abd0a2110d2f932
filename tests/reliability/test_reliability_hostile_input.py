"""Hostile input: bundles over 1 MiB, deep nesting, bytes that are not UTF-8, duplicate keys,
NaN/Infinity, huge integers, and a wrong type in every field of the bundle schema (generated from the
schema). Each gets a clear error naming the file, the JSON path and what was expected, or a decision
(never an exception, a hang or an unchecked permission)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from functools import cache

import pytest
from reliability_support import example_bundle, personal_bundle

from router import Router, paths
from router import bundle_input as bi
from router.receipts import verify

AGENT = "agent-log-triage-local"


def violations(exc_info) -> list[bi.Violation]:
    found = exc_info.value.violations
    assert found, "an InvalidBundle must list at least one violation"
    for v in found:
        assert v.file and v.path.startswith("$") and v.expected and v.found
    return found


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    return subprocess.run([sys.executable, "-m", "router.cli", *args], input=stdin, capture_output=True,
                          cwd=paths.ROOT, env=env, timeout=120)


@pytest.fixture(scope="module")
def router(project_bundle, tmp_path_factory):
    receipts = tmp_path_factory.mktemp("hostile-receipts")
    with Router(receipts_dir=receipts, timeout_ms=10000) as r:
        yield r
    assert verify(receipts / "receipts.jsonl").ok


# -- size -----------------------------------------------------------------------------------------


def padded(doc: dict, size: int) -> bytes:
    raw = json.dumps(doc).encode()
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def test_a_bundle_of_exactly_1_mib_is_read_one_byte_more_is_refused(tmp_path):
    exact = tmp_path / "exact.json"
    exact.write_bytes(padded(personal_bundle(), bi.MAX_BYTES))
    assert bi.load(exact).bundle["request"]["requestId"] == "req-p-1"
    over = tmp_path / "over.json"
    over.write_bytes(padded(personal_bundle(), bi.MAX_BYTES + 1))
    for load in (lambda: bi.load(over), lambda: bi.load("-", stdin=io.BytesIO(over.read_bytes()))):
        with pytest.raises(bi.InvalidBundle) as info:
            load()
        (v,) = violations(info)
        assert v.file in (str(over), "<stdin>") and v.path == "$" and "1 MiB" in v.expected


def test_a_huge_file_is_not_read_whole(tmp_path):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:  # a sparse 4 GiB file: reading it whole would take the machine down
        fh.truncate(4 * 1024**3)
    with pytest.raises(bi.InvalidBundle, match="1 MiB"):
        bi.load(huge)


def test_cli_refuses_an_oversized_bundle_with_exit_2(tmp_path):
    over = tmp_path / "over.json"
    over.write_bytes(padded(personal_bundle(), bi.MAX_BYTES + 1))
    out = run_cli("decide", str(over), "--no-receipts")
    assert out.returncode == 2
    assert str(over) in out.stderr.decode() and "1 MiB" in out.stderr.decode()


def test_a_python_bundle_over_1_mib_is_refused():
    big = personal_bundle()
    big["request"]["requestId"] = "x" * (bi.MAX_BYTES + 1)
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(big, "api")
    assert "1 MiB" in violations(info)[0].expected


# -- nesting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 200_000])
def test_deep_nesting_in_bytes_is_refused(depth):
    raw = b'{"schemaVersion":"v0.1","kind":"RouteInputBundle","request":{"requestId":"d","taskClass":"router","subject":{"userRef":' \
        + b"[" * depth + b"]" * depth + b"}}}"
    if len(raw) > bi.MAX_BYTES:
        raw = raw[: bi.MAX_BYTES]
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bi.parse_bundle_bytes(raw, "deep.json"), "deep.json")
    (v,) = violations(info)
    assert v.file == "deep.json" and ("nesting" in v.expected or "JSON document" in v.expected)


def test_deep_nesting_in_a_python_bundle_is_refused_with_its_path():
    deep: object = "leaf"
    for _ in range(100_000):
        deep = [deep]
    bundle = personal_bundle()
    bundle["request"]["subject"] = {"userRef": deep}
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "api")
    (v,) = violations(info)
    assert v.path.startswith("$.request.subject.userRef[0]") and "nesting" in v.expected


# -- encoding ---------------------------------------------------------------------------------------

NOT_UTF8 = {
    "invalid byte": b'{"a": "\xff"}',
    "overlong slash": b'{"a": "\xc0\xaf"}',
    "lone continuation": b'{"a": "\x80"}',
    "truncated sequence": b'{"a": "\xe2\x82"}',
    "encoded surrogate": b'{"a": "\xed\xa0\x80"}',
    "utf-16": json.dumps({"a": 1}).encode("utf-16"),
    "latin-1": '{"requestId": "caf\xe9"}'.encode("latin-1"),
}


@pytest.mark.parametrize("raw", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_bytes_that_are_not_utf8_are_refused(raw):
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(raw, "enc.json")
    (v,) = violations(info)
    assert v.file == "enc.json" and "UTF-8" in v.expected


@pytest.mark.parametrize("field", ["requestId", "stage"])
def test_a_lone_surrogate_escape_is_refused_not_raised(field):
    raw = json.dumps({**example_bundle(AGENT), "request": {**example_bundle(AGENT)["request"], field: "\ud800"}}).encode()
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bi.parse_bundle_bytes(raw, "sur.json"), "sur.json")
    assert violations(info)[0].path == f"$.request.{field}"


def test_a_lone_surrogate_in_the_prompt_text_is_refused():
    bundle = personal_bundle()
    bundle["request"]["prompt"] = {"text": "\udc00"}
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "api")
    assert violations(info)[0].path == "$.request.prompt.text"


# -- duplicate keys, NaN, Infinity, huge numbers ------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"kind": "RouteInputBundle", "kind": "RouteInputBundle"}',
        b'{"request": {"taskClass": "router", "taskClass": "premium"}}',
        b'{"resources": {"networkAvailable": false, "networkAvailable": true}}',
        b'{"quota": {"budget": {"task": {"spent": 0, "spent": 0}}}}',
    ],
)
def test_duplicate_keys_anywhere_are_refused(raw):
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(raw, "dup.json")
    (v,) = violations(info)
    assert "duplicate key" in v.found and v.file == "dup.json"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
@pytest.mark.parametrize("field", ["providerErrorRate", "memoryAvailableBytes"])
def test_non_finite_numbers_are_refused(token, field):
    bundle = personal_bundle()
    bundle["resources"][field] = "@@"
    raw = json.dumps(bundle).replace('"@@"', token).encode()
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bi.parse_bundle_bytes(raw, "n.json"), "n.json")
    (v,) = violations(info)
    assert v.path in ("$", f"$.resources.{field}")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_python_floats_are_refused_with_their_path(value):
    bundle = example_bundle(AGENT)
    bundle.setdefault("quota", {})["budget"] = {"task": {"spent": value}}
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "api")
    assert violations(info)[0].path == "$.quota.budget.task.spent"


def test_an_integer_too_long_to_convert_is_refused_in_bytes():
    raw = json.dumps(personal_bundle()).replace("17179869184", "1" + "0" * 5000).encode()
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(raw, "long.json")
    assert violations(info)[0].file == "long.json"


def test_an_integer_too_long_to_print_in_a_wrong_place_is_refused_not_raised():
    bundle = personal_bundle()
    bundle["resources"]["batteryState"] = 10**5000
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "api")
    assert violations(info)[0].path == "$.resources.batteryState"


def test_a_non_string_key_in_a_python_bundle_is_refused_not_raised():
    bundle = personal_bundle()
    bundle["resources"][7] = True
    with pytest.raises(bi.InvalidBundle):
        bi.prepare(bundle, "api")


# -- a wrong type in every field, generated from the schema ------------------------------------------

SAMPLES = {"null": None, "boolean": True, "integer": 7, "number": 1.5, "string": "x", "array": [1], "object": {"a": 1}}


def _types_of(node: dict) -> set[str]:
    types: set[str] = set()
    t = node.get("type")
    if isinstance(t, str):
        types.add(t)
    elif isinstance(t, list):
        types.update(t)
    for key in ("enum",):
        for value in node.get(key) or []:
            types.add(_json_type(value))
    if "const" in node:
        types.add(_json_type(node["const"]))
    for sub in node.get("allOf") or []:
        types.update(_types_of(sub))
    return types


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


@cache
def schema_fields() -> tuple[tuple[tuple[str, ...], frozenset], ...]:
    """Every property path of the RouteInputBundle schema with the JSON types it accepts."""
    schema = bi.inline_local_refs(json.loads(bi.BUNDLE_SCHEMA.read_text(encoding="utf-8")))
    out = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        for name, sub in (node.get("properties") or {}).items():
            if not path and name == "evaluation":
                continue  # stamped by the router: a caller's bundle carrying it is refused as a whole
            out.append(((*path, name), frozenset(_types_of(sub))))
            walk(sub, (*path, name))
        for sub in node.get("allOf") or []:
            walk(sub, path)

    walk(schema, ())
    return tuple(out)


def bundle_with(path: tuple[str, ...], value) -> dict:
    """A valid bundle of the right family with VALUE at PATH (parents created as objects)."""
    bundle = personal_bundle() if "personal" in path else example_bundle(AGENT)
    node = bundle
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return bundle


def wrong_type_cases() -> list[tuple[tuple[str, ...], str]]:
    cases = []
    for path, types in schema_fields():
        if not types:
            continue
        accepted = set(types) | ({"integer"} if "number" in types else set())
        cases.extend((path, t) for t in SAMPLES if t not in accepted)
    return cases


def test_the_schema_walk_covers_every_field():
    paths_seen = {".".join(p) for p, _ in schema_fields()}
    assert {"request.requestId", "request.prompt.chars", "resources.providerErrorRate", "quota.budget.month.proSpent",
            "request.personal.bindingRef", "request.escalation.reason"} <= paths_seen
    assert all(types for _, types in schema_fields()), [p for p, t in schema_fields() if not t]
    assert len(wrong_type_cases()) > 300


def test_a_wrong_type_in_every_field_is_refused_with_file_path_and_expected():
    problems = []
    for path, wrong in wrong_type_cases():
        bundle = bundle_with(path, SAMPLES[wrong])
        where = bi.json_path(path)
        try:
            bi.prepare(bundle, "typed.json")
        except bi.InvalidBundle as exc:
            hits = [v for v in exc.violations if v.path == where and v.file == "typed.json" and v.expected]
            if not hits:
                problems.append(f"{where} = {wrong}: no violation at that path ({[str(v) for v in exc.violations][:3]})")
            continue
        except Exception as exc:  # pragma: no cover - reported below
            problems.append(f"{where} = {wrong}: raised {type(exc).__name__}: {exc}")
            continue
        problems.append(f"{where} = {wrong}: accepted")
    assert problems == []


def test_cli_lists_every_wrong_field_of_a_bundle(tmp_path):
    bundle = example_bundle(AGENT)
    bundle["request"]["standardLaneFailures"] = "three"
    bundle["request"]["deterministicVerificationAvailable"] = 1
    bundle.setdefault("resources", {})["batteryState"] = None
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(bundle))
    out = run_cli("decide", str(path), "--no-receipts")
    assert out.returncode == 2
    err = out.stderr.decode()
    for where in ("$.request.standardLaneFailures", "$.request.deterministicVerificationAvailable", "$.resources.batteryState"):
        assert f"{path}: {where}: found " in err, err


def test_a_batch_with_one_hostile_bundle_names_it_and_asks_opa_nothing(router):
    starts_before = router.engine.starts
    bad = example_bundle(AGENT)
    bad["request"]["standardLaneFailures"] = -1
    with pytest.raises(bi.InvalidBundle) as info:
        router.decide_many([example_bundle(AGENT), bad])
    (v,) = violations(info)
    assert v.file == "bundles[1]" and v.path == "$.request.standardLaneFailures"
    assert router.engine.starts == starts_before


def integer_fields() -> list[tuple[str, ...]]:
    return [p for p, types in schema_fields() if types == {"integer"}]


@pytest.mark.parametrize("path", integer_fields(), ids=lambda p: ".".join(p))
def test_a_huge_integer_in_any_integer_field_is_refused_or_denied(router, path):
    """10**400 is valid JSON but no real count: it must not turn into a permission."""
    bundle = bundle_with(path, 10**400)
    try:
        decision = router.decide(bundle)
    except bi.InvalidBundle as exc:
        assert exc.violations and exc.violations[0].path.startswith("$")
        return
    assert decision.receipt is not None
    assert not decision.permitted, (path, decision.status, decision.route, decision.reasons)
