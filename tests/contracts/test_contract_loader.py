"""load_document and detect_kind: unusable input is named precisely (file, line, column), never a traceback."""

from __future__ import annotations

import pytest

from router.contracts import GUARDRAIL_ABI, UnusableInput, detect_kind, load_document, parse_document


def _load_text(tmp_path, text: str, name: str = "doc.json", raw: bytes | None = None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _message(tmp_path, text: str, **kw) -> str:
    path = _load_text(tmp_path, text, **kw)
    with pytest.raises(UnusableInput) as exc:
        load_document(path)
    assert str(exc.value).startswith(str(path) + ": ")
    return str(exc.value)[len(str(path)) + 2 :]


def test_reads_an_object(tmp_path):
    assert load_document(_load_text(tmp_path, '{"kind": "X", "n": [1, 2.5, null]}')) == {"kind": "X", "n": [1, 2.5, None]}


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    assert load_document(_load_text(tmp_path, "", raw=b'\xef\xbb\xbf{"a": 1}')) == {"a": 1}


def test_missing_file(tmp_path):
    with pytest.raises(UnusableInput, match=r"nope\.json: no such file$"):
        load_document(tmp_path / "nope.json")


def test_a_directory_is_not_a_document(tmp_path):
    with pytest.raises(UnusableInput, match="is a directory"):
        load_document(tmp_path)


def test_malformed_json_names_line_and_column(tmp_path):
    assert _message(tmp_path, '{\n  "a": 1,\n  "b": \n}') == "not valid JSON: Expecting value at line 4 column 1"


def test_trailing_comma_names_line_and_column(tmp_path):
    assert _message(tmp_path, '{"a": [1, 2,]}') == "not valid JSON: Expecting value at line 1 column 13"


def test_duplicate_keys_are_rejected_with_their_position(tmp_path):
    text = '{\n  "routes": [{"routeId": "a", "taskClass": "x",\n    "routeId": "b"}]\n}'
    assert _message(tmp_path, text) == "not valid JSON: duplicate key 'routeId' at line 3 column 5"


def test_the_same_key_in_different_objects_is_fine(tmp_path):
    assert load_document(_load_text(tmp_path, '{"a": {"x": 1}, "b": {"x": 2}, "x": 3}'))["x"] == 3


@pytest.mark.parametrize("token,where", [("NaN", "line 2 column 10"), ("Infinity", "line 2 column 10"), ("-Infinity", "line 2 column 10")])
def test_nan_and_infinity_are_not_json(tmp_path, token, where):
    text = '{"note": "NaN and Infinity inside strings are fine",\n  "x": [ ' + token + "]}"
    assert _message(tmp_path, text) == f"not valid JSON: {token} is not a JSON number at {where}"


@pytest.mark.parametrize("text,found", [("[1, 2]", "an array"), ("null", "null"), ('"s"', "a string"), ("3", "an integer")])
def test_the_top_level_must_be_an_object(tmp_path, text, found):
    assert _message(tmp_path, text) == f"$: found {found}; expected a JSON object"


def test_not_utf8(tmp_path):
    assert _message(tmp_path, "", raw=b'{"a": "\xff"}') == "not valid JSON: not UTF-8 text (byte offset 7)"


def test_deep_nesting_is_unusable_not_a_crash():
    with pytest.raises(UnusableInput, match="nested too deeply"):
        parse_document("[" * 100000 + "]" * 100000, "deep.json")


def test_detect_kind_by_kind_field():
    assert detect_kind({"kind": "RouteInputBundle"}) == "RouteInputBundle"


def test_detect_kind_of_the_guardrail_abi_by_its_schema_field():
    assert detect_kind({"schema": GUARDRAIL_ABI, "decisionId": "x"}) == GUARDRAIL_ABI


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"kind": "RoutingPolicy"}, '$.kind: found "RoutingPolicy"; expected one of '),
        ({"kind": 3}, "$.kind: found 3; expected one of "),
        ({"schema": "sourceos.guardrail.decision.v0.2"}, "$.kind: found no value (field absent); expected one of "),
        ({"kind": GUARDRAIL_ABI}, f'$.kind: found "{GUARDRAIL_ABI}"; expected one of '),
    ],
)
def test_unknown_kind_is_unusable(doc, message):
    with pytest.raises(UnusableInput) as exc:
        detect_kind(doc)
    assert str(exc.value).startswith(message)
    assert "AgentExecutionModelRoutingPolicy" in str(exc.value)
