"""Strict input handling: parse limits, prompt text hashed and dropped before validation, errors
that name the file, the JSON path and what was expected."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from api_helpers import personal_bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from router import bundle_input as bi


def raw(doc) -> bytes:
    return json.dumps(doc).encode()


def only(exc_info) -> bi.Violation:
    assert len(exc_info.value.violations) == 1
    return exc_info.value.violations[0]


def test_valid_bundle_is_prepared_with_canonical_json_and_digest():
    prep = bi.prepare(bi.parse_bundle_bytes(raw(personal_bundle()), "b.json"), "b.json")
    assert prep.canonical == json.dumps(personal_bundle(), sort_keys=True, separators=(",", ":"))
    assert prep.input_digest == "sha256:" + hashlib.sha256(prep.canonical.encode()).hexdigest()
    assert prep.prompt_digest is None and prep.source == "b.json"


def test_oversized_input_is_refused():
    big = personal_bundle()
    big["request"]["requestId"] = "x" * (bi.MAX_BYTES + 10)
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(raw(big), "big.json")
    v = only(info)
    assert v.file == "big.json" and "1 MiB" in v.expected


def test_invalid_utf8_and_bom_are_refused():
    with pytest.raises(bi.InvalidBundle, match="UTF-8"):
        bi.parse_bundle_bytes(b'{"a": "\xff"}', "x.json")
    with pytest.raises(bi.InvalidBundle, match="byte-order mark"):
        bi.parse_bundle_bytes("\ufeff{}".encode(), "x.json")


def test_duplicate_keys_are_refused():
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(b'{"kind": "RouteInputBundle", "kind": "Other"}', "dup.json")
    assert "duplicate key 'kind'" in only(info).found


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(token):
    with pytest.raises(bi.InvalidBundle, match="NaN|Infinity"):
        bi.parse_bundle_bytes(f'{{"x": {token}}}'.encode(), "n.json")


def test_nan_in_a_python_bundle_is_refused():
    bundle = personal_bundle()
    bundle["resources"]["providerErrorRate"] = float("nan")
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "py")
    assert only(info).path == "$.resources.providerErrorRate"


def test_deep_nesting_is_refused():
    deep = b'{"a":' * 40 + b"1" + b"}" * 40
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(deep, "deep.json")
    assert "levels of nesting" in only(info).expected


def test_not_json_names_line_and_column():
    with pytest.raises(bi.InvalidBundle) as info:
        bi.parse_bundle_bytes(b'{\n  "a": tru\n}', "broken.json")
    assert "line 2" in only(info).found


def test_stdin_is_read_as_a_bundle():
    prep = bi.load("-", stdin=io.BytesIO(raw(personal_bundle("req-stdin"))))
    assert prep.source == "<stdin>" and prep.bundle["request"]["requestId"] == "req-stdin"


def test_schema_violations_name_path_found_and_expected():
    bundle = personal_bundle()
    bundle["request"]["dataClass"] = "secret"
    bundle["quota"]["budget"] = {"fortnight": {"spent": 1}}
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "s.json")
    by_path = {v.path: v for v in info.value.violations}
    assert "$.request.dataClass" in by_path
    assert "secret" in by_path["$.request.dataClass"].found
    assert "restricted" in by_path["$.request.dataClass"].expected
    assert all(v.file == "s.json" for v in info.value.violations)
    assert any("budget" in p for p in by_path)


def test_agent_request_requires_stage_and_risk_class():
    bundle = {"schemaVersion": "v0.1", "kind": "RouteInputBundle", "request": {"requestId": "r", "taskClass": "routine-code"}}
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "a.json")
    text = str(info.value)
    assert "stage" in text and "riskClass" in text


def test_prompt_text_is_removed_before_validation():
    bundle = personal_bundle(prompt={"text": "hello world"})
    prep = bi.prepare(bundle, "p")
    assert prep.bundle["request"]["prompt"] == {"sha256": hashlib.sha256(b"hello world").hexdigest(), "chars": 11}
    assert "hello world" not in prep.canonical
    assert bundle["request"]["prompt"] == {"text": "hello world"}  # not mutated


def test_prompt_text_must_be_a_string_and_agree_with_chars():
    with pytest.raises(bi.InvalidBundle, match="prompt.text"):
        bi.prepare(personal_bundle(prompt={"text": 42}), "p")
    with pytest.raises(bi.InvalidBundle, match="prompt.chars"):
        bi.prepare(personal_bundle(prompt={"text": "abc", "chars": 4}), "p")


def test_prompt_text_with_lone_surrogates_is_refused():
    with pytest.raises(bi.InvalidBundle, match="Unicode"):
        bi.prepare(personal_bundle(prompt={"text": "a\ud800b"}), "p")


@settings(max_examples=75, deadline=None)
@given(st.text(max_size=200).filter(lambda t: all(not 0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_any_prompt_text_is_hashed_and_absent_from_what_follows(body):
    text = "prompt-marker-\u2603:" + body  # a marker no other field of the bundle contains
    prep = bi.prepare(personal_bundle(prompt={"text": text}), "p")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert prep.prompt_digest == "sha256:" + digest
    assert prep.bundle["request"]["prompt"] == {"sha256": digest, "chars": len(text)}
    assert "prompt-marker-" not in prep.canonical and "\u2603" not in prep.canonical


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.integers(), max_size=4))
def test_unknown_request_fields_are_always_reported_by_path(extra):
    bundle = personal_bundle()
    extra = {k: v for k, v in extra.items() if k not in bundle["request"]}
    bundle["request"].update(extra)
    if not extra:
        assert bi.prepare(bundle, "h").bundle == bundle
        return
    with pytest.raises(bi.InvalidBundle) as info:
        bi.prepare(bundle, "h")
    assert any(v.path.startswith("$.request") for v in info.value.violations)


# the values the shape check sees: JSON values, plus what a Python caller (or a lenient parser) can put
# in a bundle that JSON cannot carry: NaN and infinities, integers too long to print, unpaired
# surrogates, non-string keys, and nesting around MAX_DEPTH
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**bi.MAX_INT_DIGITS, -(10**bi.MAX_INT_DIGITS), 10**bi.MAX_INT_DIGITS - 1]),
    st.text(max_size=8), st.sampled_from(["\ud800", "a\udfff", "é", "\u2028"]),
)
_keys = st.one_of(st.text(max_size=6), st.sampled_from(["\udc80", "ключ"]), st.integers(0, 3), st.none(), st.booleans())
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
                       max_leaves=25)


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for i in range(depth - 1):
        value = [value] if i % 2 else {"k": value}
    return value


@settings(max_examples=400)
@given(_values)
def test_the_shape_checks_fast_path_agrees_with_the_precise_walk(value):
    """The usual-case check (_shape_is_clean) passes a value exactly when the precise walk finds nothing,
    so the violation reported (and whether there is one) never depends on which of the two ran."""
    assert bi._shape_is_clean(value) == (bi._first_shape_violation(value, "b") is None)
    assert bi._shape_violation(value, "b") == bi._first_shape_violation(value, "b")


@pytest.mark.parametrize("depth", [bi.MAX_DEPTH - 1, bi.MAX_DEPTH, bi.MAX_DEPTH + 1, bi.MAX_DEPTH + 2])
@pytest.mark.parametrize("leaf", [1, "x", [], {}])
def test_the_shape_checks_agree_at_the_nesting_limit(depth, leaf):
    value = _nested(depth, leaf)
    assert bi._shape_is_clean(value) == (bi._first_shape_violation(value, "b") is None)


def test_values_json_cannot_carry_go_to_the_precise_walk():
    """Anything but the exact JSON types (a tuple, a dict subclass, an int subclass) is not passed by the
    fast path; the precise walk decides (as before), and later steps refuse what JSON cannot encode."""
    import collections
    import enum

    class Level(enum.IntEnum):
        LOW = 1

    for value in [(1, 2), collections.OrderedDict(a=1), {"a": Level.LOW}]:
        assert not bi._shape_is_clean(value)
        assert bi._shape_violation(value, "b") == bi._first_shape_violation(value, "b")
