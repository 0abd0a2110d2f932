"""The JSON Schemas of every document kind, compiled once, and their errors as Violations."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from router import paths
from router.contracts import formats
from router.contracts.errors import Violation
from router.contracts.jsonpath import json_path, json_type, show
from router.contracts.kinds import kind_info

FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in formats.CHECKS.items():  # the same checks the compiled validator calls
    FORMAT_CHECKER.checks(_name, raises=ValueError)(_check)


@cache
def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema (a dict) of documents of KIND, read once from schemas/."""
    info = kind_info(kind)
    schema: dict[str, Any] = json.loads((paths.SCHEMAS / info.schema_file).read_text(encoding="utf-8"))
    return schema


@cache
def validator_for(kind: str) -> Draft202012Validator:
    """A compiled Draft 2020-12 validator for KIND (with date-time checking), built once and reused."""
    schema = schema_for(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


# ---- rendering schema errors as found/expected -------------------------------------------------

_HEX = re.compile(r"^\[0-9a-f\]\{(\d+)\}$")
_ID_TAIL = "[A-Za-z0-9][A-Za-z0-9._:-]*"
_LITERAL = re.compile(r"^\^((?:[A-Za-z0-9:._/-])*)(.*?)\$?$")


def describe_pattern(pattern: str) -> str:
    """A reader's description of a schema pattern (URN prefixes, hex digests, currency codes)."""
    if pattern == "^[A-Z]{3}$":
        return "a three-letter currency code such as USD"
    match = _LITERAL.match(pattern)
    if match:
        literal, tail = match.group(1), match.group(2)
        hexm = _HEX.match(tail)
        if hexm:
            digits = f"{hexm.group(1)} lowercase hex digits"
            return f"{literal!r} followed by {digits}" if literal else digits
        if literal and tail == _ID_TAIL:
            return f"a string starting with {literal!r} followed by an id"
        if literal and tail == "":
            return f"a string starting with {literal!r}"
    return f"a string matching the pattern {pattern}"


def _choices(values: list[Any]) -> str:
    return ", ".join("null" if v is None else (v if isinstance(v, str) else show(v)) for v in values)


_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


def _type_words(types: str | list[str]) -> str:
    if isinstance(types, str):
        return _TYPE_WORDS.get(types, types)
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _declared_fields(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def _render(error: ValidationError, source: str) -> list[Violation]:
    parts: list[str | int] = list(error.absolute_path)
    inst = error.instance
    keyword = error.validator
    value = error.validator_value

    def v(path_parts: list[str | int], found: str, expected: str) -> Violation:
        return Violation(source, json_path(path_parts), found, expected, "schema")

    schema_path = list(error.absolute_schema_path)
    if "propertyNames" in schema_path and keyword != "propertyNames":
        # an error about a field name: the instance is the name, the path its object
        inner = _render_keyword(error, source, parts, inst, keyword, value)
        return [v(parts, f"the field name {show(inst)}", f"field names that are {inner[0].expected}")] if inner else []
    if keyword is None or keyword is False:  # a `false` schema: the field is not allowed here
        if len(schema_path) >= 2 and schema_path[-2] == "properties" and (not parts or parts[-1] != schema_path[-1]):
            parts = [*parts, schema_path[-1]]
        return [v(parts, show(inst), "no such field for this document")]
    return _render_keyword(error, source, parts, inst, keyword, value)


def _render_keyword(
    error: ValidationError, source: str, parts: list[str | int], inst: Any, keyword: Any, value: Any
) -> list[Violation]:
    def v(path_parts: list[str | int], found: str, expected: str) -> Violation:
        return Violation(source, json_path(path_parts), found, expected, "schema")

    if keyword == "required":
        missing = [name for name in value if isinstance(inst, dict) and name not in inst]
        return [v([*parts, name], "no value (field absent)", "a value: the field is required") for name in missing]
    if keyword == "additionalProperties" and value is False and isinstance(inst, dict):
        declared = _declared_fields(error.schema)
        pattern_props = error.schema.get("patternProperties", {})
        out: list[Violation] = []
        for name in inst:
            if name in declared or any(re.search(p, name) for p in pattern_props):
                continue
            near = difflib.get_close_matches(name, declared, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            out.append(v([*parts, name], "an unexpected field", f"only the declared fields{hint}: {', '.join(declared)}"))
        return out
    if keyword == "type":
        found = show(inst) if inst is None else f"{show(inst)} ({json_type(inst)})"
        return [v(parts, found, _type_words(value))]
    if keyword == "enum":
        return [v(parts, show(inst), f"one of: {_choices(value)}")]
    if keyword == "const":
        return [v(parts, show(inst), f"exactly {show(value)}")]
    if keyword == "pattern":
        return [v(parts, show(inst), describe_pattern(value))]
    if keyword == "format":
        return [v(parts, show(inst), "an RFC 3339 date-time such as 2026-11-01T00:00:00Z")]
    if keyword == "minimum":
        return [v(parts, show(inst), f"a number >= {value}")]
    if keyword == "maximum":
        return [v(parts, show(inst), f"a number <= {value}")]
    if keyword == "exclusiveMinimum":
        return [v(parts, show(inst), f"a number > {value}")]
    if keyword == "exclusiveMaximum":
        return [v(parts, show(inst), f"a number < {value}")]
    if keyword == "minItems":
        return [v(parts, f"{len(inst)} item{'s' if len(inst) != 1 else ''}", f"at least {value} items")]
    if keyword == "maxItems":
        return [v(parts, f"{len(inst)} items", f"at most {value} items")]
    if keyword == "uniqueItems":
        dup = next((x for i, x in enumerate(inst) if x in inst[:i]), None)
        return [v(parts, f"the item {show(dup)} more than once", "no repeated items")]
    if keyword == "minLength":
        return [v(parts, show(inst), "a non-empty string" if value == 1 else f"at least {value} characters")]
    if keyword == "maxLength":
        return [v(parts, f"{len(inst)} characters", f"at most {value} characters")]
    if keyword == "propertyNames":
        sub = error.context[0] if error.context else None
        what = _render(sub, source)[0].expected if sub is not None else "a declared name"
        return [v(parts, f"the field name {show(inst)}", f"field names that are {what}")]
    if keyword == "not" and isinstance(value, dict) and set(value) == {"required"} and isinstance(inst, dict):
        return [v([*parts, name], show(inst[name]), "no such field for this document") for name in value["required"] if name in inst]
    if keyword in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        rendered = _render(best, source)
        if rendered:
            return rendered
    return [v(parts, show(inst), error.message)]


def schema_violations(doc: Any, kind: str, source: str) -> list[Violation]:
    """Every JSON Schema violation of DOC as KIND, sorted by JSON path (array items in index order)."""
    found: list[Violation] = []
    for error in validator_for(kind).iter_errors(doc):
        found.extend(_render(error, source))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda x: _path_key(x.path))


_PART = re.compile(r"\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]")


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(m.group(1)), "") if m.group(1) else (1, 0, m.group(2) or m.group(3)) for m in _PART.finditer(path))
