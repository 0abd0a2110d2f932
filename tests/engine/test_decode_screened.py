"""Channel.decode_screened: the value json.loads gives, and whether every number in it is finite — the
flag that lets the result check skip its own screen for non-finite numbers."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.decision import non_finite_number
from router.opa_http import Channel, ChannelError

# number literals as JSON text: ordinary ones, ones beyond the float range, and the constants Python's
# parser accepts (NaN, Infinity, -Infinity)
_literals = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-9, 9), st.integers(-400, 400)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-2.5E+308", "1e-999", "0.0", "-0"]),
)
_texts = st.recursive(
    st.one_of(_literals, st.sampled_from(["null", "true", '"NaN"', '"1e999"', '"x"'])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(st.text(max_size=4), inner), max_size=4).map(
            lambda kvs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in kvs) + "}"),
    ),
    max_leaves=20,
)


def _same(a, b) -> bool:
    """Equal as decoded JSON, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=500)
@given(_texts)
def test_the_flag_is_true_only_when_the_decoded_value_holds_no_non_finite_number(text):
    """True proves the value finite; a non-finite number always gives False. False is also given for a
    non-finite number that a later duplicate key replaces (the decoder saw it): the result check then
    screens the value itself and finds nothing, so the flag errs only towards checking."""
    data = text.encode("utf-8")
    value, finite = Channel.decode_screened(data)
    expected = json.loads(data)
    assert _same(value, expected)
    if non_finite_number(expected) is not None:
        assert finite is False
    if finite is False:
        assert any(lit in text.lower() for lit in ("nan", "infinity", "e")), text  # a constant or an exponent


def test_a_replaced_duplicate_is_flagged_and_the_screen_then_finds_nothing():
    value, finite = Channel.decode_screened(b'{"a": 1e999, "a": 0}')
    assert value == {"a": 0} and finite is False and non_finite_number(value) is None


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe{", b"[1,]", b"nan", b'{"a": 1} x'])
def test_what_decode_refuses_decode_screened_refuses_alike(data):
    with pytest.raises(ChannelError):
        Channel.decode(data)
    with pytest.raises(ChannelError):
        Channel.decode_screened(data)


def test_a_byte_order_mark_is_read_as_json_loads_reads_it():
    data = b"\xef\xbb\xbf" + json.dumps({"result": {"x": 1.5}}).encode()
    assert Channel.decode_screened(data) == (json.loads(data), True)
