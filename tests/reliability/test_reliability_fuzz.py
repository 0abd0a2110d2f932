"""Property-based fuzzing (hypothesis) of bundle parsing, validation, the command line and decide.

Whatever the input — random bytes, a valid bundle with bytes inserted, removed or replaced, a valid
bundle with values replaced, removed or added anywhere — the outcome is either an InvalidBundle
whose every violation names the file, a JSON path and what was expected, or a decision that matches
its schema and has a receipt. No other exception, no hang, and the receipt log verifies with exactly
one receipt per decision. The default run is bounded (a few hundred examples); the `_long` variants
run many more (make fuzz). A crash found here becomes a regression test in
test_reliability_hostile_input.py.

Known crashes excluded from the generators until fixed (see the strict xfails there): lone
surrogates in strings (hypothesis's text() excludes them), integers of more than 4300 digits, and
non-string keys in Python bundles.
"""

from __future__ import annotations

import copy
import json
from functools import cache

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import example_bundle, personal_bundle

from router import Router, paths
from router import bundle_input as bi
from router import engine as eng
from router.receipts import verify

BASES = ("agent-log-triage-local", "agent-architecture-escalated", "agent-formatting-finalization", "personal-router-healthy-laptop")
QUICK = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECIDE = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=20000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG_DECIDE = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _bases() -> tuple[str, ...]:
    return tuple(json.dumps(example_bundle(name)) for name in BASES) + (json.dumps(personal_bundle()),)


def bases() -> list[dict]:
    return [json.loads(text) for text in _bases()]


@cache
def validator(kind: str):
    from jsonschema import Draft202012Validator

    name = "local-personal-route-decision" if kind == "LocalPersonalRouteDecision" else "agent-execution-route-decision"
    schema = json.loads((paths.SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


# -- generators -------------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.integers(min_value=-5, max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "v0.1", "RouteInputBundle", "router", "execution", "pro", "high-end", "critical", "sha256:"])
)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8)


def all_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from all_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from all_paths(v, (*prefix, i))


@st.composite
def mutated_bundles(draw, max_mutations: int = 3):
    """A valid example bundle with a few values replaced, removed or added anywhere."""
    bundle = draw(st.sampled_from(bases()))
    for _ in range(draw(st.integers(1, max_mutations))):
        where = draw(st.sampled_from(list(all_paths(bundle))))
        op = draw(st.sampled_from(["replace", "remove", "add"]))
        if not where:
            if op == "replace":  # a string at the root is a file path to Router.decide, not a bundle
                bundle = draw(json_values.filter(lambda v: not isinstance(v, str)))
            continue
        parent = bundle
        for key in where[:-1]:
            parent = parent[key]
        last = where[-1]
        if op == "replace":
            parent[last] = draw(json_values)
        elif op == "remove":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=10) | st.sampled_from(["text", "personal", "budget", "prompt"]))] = draw(json_values)
        elif isinstance(parent[last], list):
            parent[last].append(draw(json_values))
        if not isinstance(bundle, dict):
            break
    return bundle


@st.composite
def mutated_bytes(draw):
    """The JSON text of a valid bundle with bytes inserted, removed or replaced."""
    raw = bytearray(draw(st.sampled_from(_bases())).encode())
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.integers(0, 255) | st.sampled_from(list(b'{}[]",:\\0-e.nul')))
        if op == "insert":
            raw.insert(pos, byte)
        elif pos < len(raw):
            if op == "delete":
                del raw[pos]
            else:
                raw[pos] = byte
    return bytes(raw)


any_bytes = st.binary(max_size=512) | mutated_bytes()


# -- the properties -----------------------------------------------------------------------------------


def check_refusal(exc: bi.InvalidBundle, files: set[str]) -> None:
    assert exc.violations
    for v in exc.violations:
        assert v.file in files, v
        assert v.path.startswith("$") and v.expected and v.found, v
        assert str(v).startswith(f"{v.file}: {v.path}: found ") and "; expected " in str(v)


def check_bytes(raw: bytes) -> None:
    try:
        value = bi.parse_bundle_bytes(raw, "fuzz.json")
        prep = bi.prepare(value, "fuzz.json")
    except bi.InvalidBundle as exc:
        check_refusal(exc, {"fuzz.json"})
        return
    assert prep.input_digest.startswith("sha256:") and json.loads(prep.canonical) == prep.bundle


class Tally:
    def __init__(self) -> None:
        self.decisions = 0


def check_decide(router: Router, tally: Tally, bundle) -> None:
    before = copy.deepcopy(bundle)
    try:
        decision = router.decide(bundle)
    except bi.InvalidBundle as exc:
        check_refusal(exc, {"<bundle>"})
        return
    finally:
        assert bundle == before  # the caller's object is never changed
    tally.decisions += 1
    doc = decision.to_dict()
    assert list(validator(doc["kind"]).iter_errors(doc)) == [], decision.detail
    assert decision.receipt is not None and decision.receipt["decisionId"] == decision.decision_id
    if decision.fault is not None:
        assert decision.status == "denied" and not decision.permitted
    assert decision.exit_code == (0 if decision.permitted else 3)


def check_batch(router: Router, tally: Tally, bundles: list) -> None:
    try:
        decisions = router.decide_many(bundles)
    except bi.InvalidBundle as exc:
        check_refusal(exc, {f"bundles[{i}]" for i in range(len(bundles))})
        return
    tally.decisions += len(decisions)
    assert len(decisions) == len(bundles)
    for d in decisions:
        assert d.receipt is not None


def check_cli(opa: eng.ManagedEngine, receipts, raw: bytes) -> None:
    from router.cli import main

    result = CliRunner().invoke(
        main, ["decide", "-", "--opa-url", opa.url, "--receipts-dir", str(receipts), "--timeout-ms", "10000"],
        input=raw, env={"MODEL_ROUTER_OPA_TOKEN": opa.token, "MODEL_ROUTER_CONFIG": None},
    )
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.output[-2000:], result.exception)
    if result.exit_code == 2:
        assert "error:" in result.output and "<stdin>" in result.output
    else:
        decision = json.loads(result.stdout)
        assert decision["kind"] in ("AgentExecutionRouteDecision", "LocalPersonalRouteDecision")


def check_engine(opa: eng.ManagedEngine, value) -> None:
    """Unvalidated input straight to OPA: an answer or a fault, never an exception."""
    answer = opa.decide(value)
    assert isinstance(answer, eng.EngineResult)
    assert answer.ok or answer.fault in eng.FAULT_CODES


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_router(project_bundle, tmp_path_factory):
    receipts = tmp_path_factory.mktemp("fuzz-receipts")
    tally = Tally()
    with Router(receipts_dir=receipts, timeout_ms=10000) as router:
        yield router, tally
    assert tally.decisions > 0  # the generators reach OPA, not only the input checks
    report = verify(receipts / "receipts.jsonl")
    assert report.ok and report.receipts == tally.decisions


@pytest.fixture(scope="module")
def cli_opa(project_bundle, tmp_path_factory):
    with eng.ManagedEngine(timeout_s=10.0) as opa:
        yield opa, tmp_path_factory.mktemp("fuzz-cli-receipts")


# -- bounded campaign (make test) ----------------------------------------------------------------------


@QUICK
@given(raw=any_bytes)
def test_fuzz_parse_and_prepare_bytes(raw):
    check_bytes(raw)


@QUICK
@given(bundle=mutated_bundles())
def test_fuzz_prepare_mutated_bundles(bundle):
    try:
        bi.prepare(bundle, "fuzz")
    except bi.InvalidBundle as exc:
        check_refusal(exc, {"fuzz"})


@DECIDE
@given(bundle=mutated_bundles())
def test_fuzz_decide(fuzz_router, bundle):
    check_decide(*fuzz_router, bundle)


@settings(DECIDE, max_examples=60)
@given(bundles=st.lists(mutated_bundles(max_mutations=1) | st.sampled_from(bases()), min_size=1, max_size=4))
def test_fuzz_decide_many(fuzz_router, bundles):
    check_batch(*fuzz_router, bundles)


@settings(DECIDE, max_examples=120)
@given(raw=mutated_bytes() | mutated_bundles().map(lambda b: json.dumps(b).encode()))
def test_fuzz_cli_decide(cli_opa, raw):
    check_cli(cli_opa[0], cli_opa[1], raw)


@DECIDE
@given(value=json_values | mutated_bundles())
def test_fuzz_engine_with_unvalidated_input(cli_opa, value):
    check_engine(cli_opa[0], value)


# -- long campaign (make fuzz) --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1800)
@LONG
@given(raw=any_bytes)
def test_fuzz_parse_and_prepare_bytes_long(raw):
    check_bytes(raw)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@LONG_DECIDE
@given(bundle=mutated_bundles(max_mutations=5))
def test_fuzz_decide_long(fuzz_router, bundle):
    check_decide(*fuzz_router, bundle)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(LONG_DECIDE, max_examples=800)
@given(bundles=st.lists(mutated_bundles(max_mutations=2) | st.sampled_from(bases()), min_size=1, max_size=6))
def test_fuzz_decide_many_long(fuzz_router, bundles):
    check_batch(*fuzz_router, bundles)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(LONG_DECIDE, max_examples=1500)
@given(raw=mutated_bytes() | mutated_bundles(max_mutations=5).map(lambda b: json.dumps(b).encode()))
def test_fuzz_cli_decide_long(cli_opa, raw):
    check_cli(cli_opa[0], cli_opa[1], raw)
