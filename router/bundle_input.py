"""Read and prepare a RouteInputBundle before anything else sees it.

Order matters:
1. parse strictly (size limit, UTF-8, depth limit, duplicate keys and NaN/Infinity rejected);
2. hash `request.prompt.text` with SHA-256 and remove it — nothing after this step ever sees the text;
3. validate against schemas/route-input-bundle.schema.json (errors name the file, the JSON path and
   what was expected);
4. serialise once to canonical JSON (sorted keys, compact): the input digest and the decision id are
   computed from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from router import paths
from router.contracts import formats
from router.contracts.digest import canonical, sha256_text
from router.contracts.errors import Violation
from router.regular_file import SpecialFileError, read_regular_file

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema import Draft202012Validator, ValidationError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
BUNDLE_KIND = "RouteInputBundle"
BUNDLE_SCHEMA = paths.SCHEMAS / "route-input-bundle.schema.json"


class InvalidBundle(ValueError):
    """The input is not a usable RouteInputBundle. `violations` lists every problem found."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = list(violations)
        super().__init__("\n".join(str(v) for v in self.violations) or "invalid input bundle")


@dataclass(frozen=True)
class PreparedBundle:
    """A validated bundle without prompt text, plus its canonical form and digests."""

    bundle: dict[str, Any]
    canonical: str
    input_digest: str  # sha256:<hex> of the canonical JSON
    prompt_digest: str | None  # sha256:<hex> of the prompt, when the request carried one
    source: str = field(default="<bundle>")


# the one canonical JSON (sorted keys, compact separators, UTF-8 text as is; NaN and Infinity are
# refused) and its digest: router.contracts.digest
canonical_json = canonical
sha256_digest = sha256_text


def _found(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.replace("_", "a").replace("-", "a").isalnum() and not p[:1].isdigit():
            out += f".{p}"
        else:
            out += "[" + json.dumps(p) + "]"
    return out


# -- step 1: strict parsing ----------------------------------------------------------------


class _DuplicateKey(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


MAX_INT_DIGITS = 4000
_MAX_INT = 10**MAX_INT_DIGITS


def _utf8_text(text: str) -> bool:
    """Whether TEXT is valid Unicode text (no unpaired surrogates): encodable as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value_violation(value: Any, where: tuple[str | int, ...], source: str) -> Violation | None:
    """What is wrong with one scalar that no JSON Schema check can safely look at, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return Violation(source, json_path(where), str(value), "a finite number (NaN and Infinity are not JSON)")
    if isinstance(value, int) and not isinstance(value, bool) and not -_MAX_INT < value < _MAX_INT:
        return Violation(source, json_path(where), f"an integer of more than {MAX_INT_DIGITS} digits",
                         f"an integer of at most {MAX_INT_DIGITS} digits")
    if isinstance(value, str) and not _utf8_text(value):
        return Violation(source, json_path(where), "unpaired surrogates", "valid Unicode text")
    return None


def _shape_is_clean(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when _shape_violation has nothing to report for VALUE; False when it may have. The usual
    case (plain JSON values from a parser) costs a quarter of the precise walk: no path is built, and
    only exact JSON types pass (anything else, a subclass too, is left to the precise walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is str:
            if not node.isascii() and not _utf8_text(node):
                return False
        elif kind is dict:
            if depth > limit:
                return False
            for k, v in node.items():
                if type(k) is not str or (not k.isascii() and not _utf8_text(k)):
                    return False
                push((v, depth + 1))
        elif kind is list:
            if depth > limit:
                return False
            for v in node:
                push((v, depth + 1))
        elif kind is int:
            if not -_MAX_INT < node < _MAX_INT:
                return False
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif not (kind is bool or node is None):
            return False
    return True


def _shape_violation(value: Any, source: str, limit: int = MAX_DEPTH) -> Violation | None:
    """The first thing that makes VALUE unusable before schema validation: nesting deeper than LIMIT,
    a non-string object key, NaN or Infinity, an integer too long to print, unpaired surrogates."""
    return None if _shape_is_clean(value, limit) else _first_shape_violation(value, source, limit)


def _first_shape_violation(value: Any, source: str, limit: int = MAX_DEPTH) -> Violation | None:
    """_shape_violation's precise walk: the first violation with its path, or None."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, where = stack.pop()
        if not isinstance(node, (dict, list)):
            bad = _value_violation(node, where, source)
            if bad:
                return bad
            continue
        if depth > limit:
            return Violation(source, json_path(where), f"nesting depth {depth}", f"at most {limit} levels of nesting")
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    return Violation(source, json_path(where), f"a {type(k).__name__} key {_found(k)}", "string keys only")
                bad = _value_violation(k, (*where, k), source)
                if bad:
                    return bad
                stack.append((v, depth + 1, (*where, k)))
        else:
            stack.extend((v, depth + 1, (*where, i)) for i, v in enumerate(node))
    return None


def parse_bundle_bytes(raw: bytes, source: str = "<bundle>") -> Any:
    """Parse one JSON document strictly; raise InvalidBundle naming the source."""
    if len(raw) > MAX_BYTES:
        raise InvalidBundle([Violation(source, "$", f"{len(raw)} bytes", f"at most {MAX_BYTES} bytes (1 MiB)")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBundle([Violation(source, "$", f"invalid UTF-8 at byte {exc.start}", "UTF-8 encoded JSON")]) from None
    if text.startswith("\ufeff"):
        raise InvalidBundle([Violation(source, "$", "a byte-order mark", "UTF-8 JSON without a byte-order mark")])
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _DuplicateKey as exc:
        raise InvalidBundle([Violation(source, "$", f"duplicate key {exc.args[0]!r}", "each key at most once per object")]) from None
    except RecursionError:
        raise InvalidBundle([Violation(source, "$", "too deeply nested JSON", f"at most {MAX_DEPTH} levels of nesting")]) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidBundle([Violation(source, "$", f"{exc.msg} at {where}", "a JSON document")]) from None
    except ValueError as exc:
        raise InvalidBundle([Violation(source, "$", str(exc), "finite JSON numbers (no NaN or Infinity)")]) from None
    bad = _shape_violation(value, source)
    if bad:
        raise InvalidBundle([bad])
    return value


def read_bundle(path: str | Path, stdin: BinaryIO | None = None) -> tuple[Any, str]:
    """Read PATH ('-' for standard input); return (parsed JSON, source name for messages)."""
    if str(path) == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read(MAX_BYTES + 1)
        return parse_bundle_bytes(raw, "<stdin>"), "<stdin>"
    source = str(path)
    try:
        raw = read_regular_file(path, MAX_BYTES)
    except SpecialFileError:
        raise InvalidBundle([Violation(source, "$", "a special file (FIFO, device or socket)", "a regular JSON file")]) from None
    except FileNotFoundError:
        raise InvalidBundle([Violation(source, "$", "no such file", "a readable JSON file")]) from None
    except IsADirectoryError:
        raise InvalidBundle([Violation(source, "$", "a directory", "a readable JSON file")]) from None
    except OSError as exc:
        raise InvalidBundle([Violation(source, "$", exc.strerror or str(exc), "a readable JSON file")]) from None
    return parse_bundle_bytes(raw, source), source


# -- step 2: prompt text --------------------------------------------------------------------


def strip_prompt_text(bundle: Any, source: str = "<bundle>") -> tuple[Any, str | None]:
    """Return (a copy of bundle without request.prompt.text, prompt digest or None).

    The caller's object is never modified. When text is present it is hashed (SHA-256 over its
    UTF-8 bytes), `sha256` and `chars` are set from it and the text is removed; a `sha256` or
    `chars` given beside the text must agree with it.
    """
    if not isinstance(bundle, dict):
        return bundle, None
    request = bundle.get("request")
    if not isinstance(request, dict):
        return bundle, None
    if "prompt" not in request:
        return bundle, None
    prompt = request.get("prompt")
    if not isinstance(prompt, dict):
        # a string or a list here may well be the prompt itself: name its type, never its content
        raise InvalidBundle([Violation(source, "$.request.prompt", _type_name(prompt), "an object with sha256 and chars (or text)")])
    if "text" not in prompt:
        digest = prompt.get("sha256")
        return bundle, ("sha256:" + digest) if isinstance(digest, str) else None
    text = prompt["text"]
    new_prompt = {k: v for k, v in prompt.items() if k != "text"}
    new_bundle = {**bundle, "request": {**request, "prompt": new_prompt}}
    if not isinstance(text, str):
        raise InvalidBundle([Violation(source, "$.request.prompt.text", f"a {type(text).__name__}", "a string")])
    try:
        hexdigest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        raise InvalidBundle([Violation(source, "$.request.prompt.text", "unpaired surrogates", "valid Unicode text")]) from None
    chars = len(text)
    if "sha256" in prompt and prompt["sha256"] != hexdigest:
        raise InvalidBundle([Violation(source, "$.request.prompt.sha256", "a digest that differs from the text's", "the SHA-256 of request.prompt.text (or no sha256)")])
    if "chars" in prompt and prompt["chars"] != chars:
        raise InvalidBundle([Violation(source, "$.request.prompt.chars", _found(prompt["chars"]), f"the length of request.prompt.text ({chars})")])
    new_prompt["sha256"] = hexdigest
    new_prompt["chars"] = chars
    return new_bundle, "sha256:" + hexdigest


# -- step 3: schema validation --------------------------------------------------------------


def inline_local_refs(schema: dict[str, Any], _max_depth: int = 16) -> dict[str, Any]:
    """The same schema with every local `#/$defs/...` reference replaced by its definition.

    Validation is identical (a `$ref` beside other keywords becomes an `allOf` of both, as draft 2020-12
    evaluates them) and much faster: resolving references is most of jsonschema's work on our
    documents. A recursive definition is left as a reference (`$defs` is kept for it).
    """
    defs = schema.get("$defs") or {}

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs and depth < _max_depth:
                target = walk(defs[ref[8:]], depth + 1)
                rest = {k: walk(v, depth + 1) for k, v in node.items() if k != "$ref"}
                return {"allOf": [target, rest]} if rest else target
            return {k: (v if k in ("$defs", "const", "enum", "default", "examples") else walk(v, depth + 1)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth + 1) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema, 0)
    return inlined


def _format_names(node: Any) -> set[str]:
    """Every `format` value used anywhere in a schema."""
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        for v in node.values():
            found |= _format_names(v)
        return found
    if isinstance(node, list):
        return set().union(*(_format_names(v) for v in node)) if node else set()
    return set()


class FastValidator:
    """A draft 2020-12 validator: a quick yes/no, and precise errors only when the answer is no.

    `is_valid` runs a compiled jsonschema-rs validator (several times faster than jsonschema on our
    documents; jsonschema alone answers for a schema jsonschema-rs cannot compile); every `format` the
    schema uses is checked by the same function in both (router.contracts.formats), so both give the
    same verdict. `iter_errors` (and
    `validate`) always come from jsonschema with local references inlined, so error messages are
    unchanged; that validator is built on first use only.

    jsonschema (and router.contracts.schemas, which registers those functions with its FormatChecker)
    is imported only when the Python validator is first needed, i.e. for an invalid document, not on
    the decide path (measured: about 50 ms of a cold `model-router decide`, see docs/performance.md).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        # imported here, not with the module: the command line builds its first validator after it has
        # started the managed OPA, so this import overlaps OPA's start (docs/performance.md)
        import jsonschema_rs

        self.schema = schema
        self._python: Draft202012Validator | None = None
        self._rust: jsonschema_rs.Draft202012Validator | None = None
        checks = {name: (lambda value, _name=name: formats.conforms(value, _name)) for name in _format_names(schema)}
        try:
            self._rust = jsonschema_rs.Draft202012Validator(schema, formats=checks, validate_formats=True)
        except Exception:  # a schema jsonschema-rs cannot compile: jsonschema answers alone
            self._rust = None

    @property
    def python(self) -> Draft202012Validator:
        if self._python is None:
            from jsonschema import Draft202012Validator  # on first use only: see the class docstring

            from router.contracts.schemas import FORMAT_CHECKER

            self._python = Draft202012Validator(inline_local_refs(self.schema), format_checker=FORMAT_CHECKER)
        return self._python

    @property
    def accelerated(self) -> bool:
        return self._rust is not None

    def is_valid(self, instance: Any) -> bool:
        if self._rust is not None:
            try:
                return self._rust.is_valid(instance)
            except (ValueError, TypeError, OverflowError):  # a value jsonschema-rs cannot convert
                pass
        valid: bool = self.python.is_valid(instance)
        return valid

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        errors: Iterator[ValidationError] = self.python.iter_errors(instance)
        return errors

    def validate(self, instance: Any) -> None:
        if not self.is_valid(instance):
            self.python.validate(instance)


def fast_validator(schema: dict[str, Any]) -> FastValidator:
    """A compiled draft 2020-12 validator of SCHEMA (see FastValidator), checking date-time formats as
    the contracts package does."""
    return FastValidator(schema)


@cache
def bundle_validator() -> FastValidator:
    """The compiled validator for RouteInputBundle, built once."""
    return fast_validator(json.loads(BUNDLE_SCHEMA.read_text(encoding="utf-8")))


_PROMPT_PATHS = ("$", "$.request", "$.request.prompt")
_log = logging.getLogger("router.bundle_input")


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


def _value_at(doc: Any, path: str) -> Any:
    node = doc
    for part in path[2:].split(".") if path != "$" else []:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _without_prompt_content(violation: Violation, doc: Any) -> Violation:
    """A violation at the prompt (or at an object that holds it) names the value's type, not its content."""
    path = violation.path
    if path in _PROMPT_PATHS or path.startswith(("$.request.prompt.", "$.request.prompt[")):
        shown = path if path in _PROMPT_PATHS else "$.request.prompt." + path[len("$.request.prompt."):].split(".")[0].split("[")[0]
        return Violation(violation.file, violation.path, _type_name(_value_at(doc, shown) if shown != path else _value_at(doc, path)),
                         violation.expected, violation.rule)
    return violation


def schema_violations(doc: Any, source: str, validator: FastValidator | None = None) -> list[Violation]:
    """Every schema violation of DOC as a RouteInputBundle (none: an empty list). The compiled check
    answers yes or no; only a no pays for the contracts package's precise messages. A no without any
    precise message is still a no (an internal inconsistency between the two validators, logged)."""
    validator = validator or bundle_validator()
    if validator.is_valid(doc):
        return []
    # an invalid bundle only (see FastValidator): the precise messages need jsonschema
    from router.contracts.schemas import schema_violations as render_schema_violations

    found = [_without_prompt_content(v, doc) for v in render_schema_violations(doc, BUNDLE_KIND, source)]
    if not found:
        _log.error("%s: the compiled schema check found the bundle invalid, the detailed check found no error", source)
        found = [Violation(source, "$", "a bundle the compiled schema check rejects (the detailed check names no field)",
                           "a RouteInputBundle both schema checks accept", "schema")]
    return found


# -- all steps ---------------------------------------------------------------------------------


def prepare(bundle: Any, source: str = "<bundle>") -> PreparedBundle:
    """Strip prompt text, validate and canonicalise BUNDLE (a parsed JSON value). Raises InvalidBundle."""
    bad = _shape_violation(bundle, source)
    if bad:
        raise InvalidBundle([bad])
    if isinstance(bundle, dict) and "evaluation" in bundle:
        raise InvalidBundle([Violation(source, "$.evaluation", "a caller-supplied evaluation time",
                                       "no evaluation member: the router stamps the evaluation time itself")])
    clean, prompt_digest = strip_prompt_text(bundle, source)
    violations = schema_violations(clean, source)
    if violations:
        raise InvalidBundle(violations)
    try:
        canonical = canonical_json(clean)
    except (TypeError, ValueError) as exc:
        raise InvalidBundle([Violation(source, "$", str(exc), "JSON values only")]) from None
    size = len(canonical.encode("utf-8"))
    if size > MAX_BYTES:
        raise InvalidBundle([Violation(source, "$", f"{size} bytes", f"at most {MAX_BYTES} bytes (1 MiB)")])
    return PreparedBundle(clean, canonical, sha256_digest(canonical), prompt_digest, source)


def load(path: str | Path, stdin: BinaryIO | None = None) -> PreparedBundle:
    """Read, strip, validate and canonicalise the bundle in PATH ('-' for standard input)."""
    value, source = read_bundle(path, stdin=stdin)
    return prepare(value, source)
