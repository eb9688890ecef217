"""Decoding upstream bodies: JSON nested too deep or too long is UPSTREAM_BAD_RESPONSE, never a RecursionError (which
was answered as INTERNAL_SERVER_ERROR), and the depth is counted exactly, strings and escapes included."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import UpstreamBadResponse
from gateway.upstreams._http import MAX_JSON_DEPTH, decode_json, nests_deeper_than
from tests.unit.test_upstream_http import SETTINGS, Reply, harness

# Strings full of what could fool a count: brackets, quotes, backslashes and escape-like text.
TRICKY_TEXT = st.text(alphabet=st.sampled_from(list('[]{}"\\/nu0aé\u2019\n\t ,:')), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3),
    max_leaves=30,
)


def depth(value: object) -> int:
    """The reference: how deep arrays and objects nest in a decoded value (0 for a scalar)."""
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


def nested(levels: int, inner: str = "1") -> bytes:
    return ("[" * levels + inner + "]" * levels).encode()


@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_the_depth_is_counted_exactly_whatever_the_strings_hold(value: object, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    levels = depth(value)
    assert not nests_deeper_than(raw, levels)
    if levels > 0:
        assert nests_deeper_than(raw, levels - 1)


@pytest.mark.parametrize(
    ("raw", "levels"),
    [
        (b"1", 0),
        (b'"[[[["', 0),
        (b"[]", 1),
        (b'{"a": "]]]]", "b": [[1]]}', 3),
        (b'["\\\\", [[1]]]', 3),  # an escaped backslash ends before the quote that ends the string
        (b'["\\"[[[[", 1]', 1),  # an escaped quote does not end the string
        (b'[["]", ["["]]]', 3),
        (b'[ "]", [ "]", [ "]" ] ] ]', 3),  # brackets in strings cannot hide a real level
    ],
)
def test_known_depths(raw: bytes, levels: int) -> None:
    assert depth(json.loads(raw)) == levels
    assert not nests_deeper_than(raw, levels)
    assert levels == 0 or nests_deeper_than(raw, levels - 1)


def test_a_body_nested_as_deep_as_allowed_decodes() -> None:
    assert depth(decode_json("sam", nested(MAX_JSON_DEPTH))) == MAX_JSON_DEPTH


@pytest.mark.parametrize(
    "raw",
    [
        nested(MAX_JSON_DEPTH + 1),
        nested(100_000),
        b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
        # 100,000 levels, each opened after a string of closing brackets: only a count that skips strings sees them
        b'["]]]",' * 100_000 + b"1" + b"]" * 100_000,
    ],
    ids=["one-too-deep", "100000-arrays", "100000-objects", "strings-of-brackets"],
)
def test_deeper_bodies_are_bad_responses_not_recursion_errors(raw: bytes) -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        decode_json("sam", raw)
    assert raised.value.as_extensions() == {"code": "UPSTREAM_BAD_RESPONSE", "upstream": "sam"}
    assert f"deeper than {MAX_JSON_DEPTH} levels" in raised.value.message


def test_many_shallow_containers_are_not_deep() -> None:
    raw = json.dumps([{"a": [1]} for _ in range(10_000)]).encode()
    assert len(decode_json("ita", raw)) == 10_000  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"", b"[1,", b"{]", b"\xff\xfe", b"<html>"])
def test_bodies_that_are_not_json_are_bad_responses(raw: bytes) -> None:
    with pytest.raises(UpstreamBadResponse, match="not JSON"):
        decode_json("canada", raw)


async def test_the_transport_answers_a_body_nested_100_000_deep_as_a_bad_response_once() -> None:
    h = harness(Reply(body=nested(100_000)), settings=replace(SETTINGS, max_upstream_body_bytes=1_000_000))
    with pytest.raises(UpstreamBadResponse) as raised:
        await h.call()
    assert raised.value.code == "UPSTREAM_BAD_RESPONSE"
    assert len(h.session.requests) == 1  # a bad body is not retried
    assert h.http.breaker.last_failure is not None  # a bad body counts against the upstream's health


async def test_the_transport_reads_a_body_up_to_its_size_limit_and_refuses_one_byte_more() -> None:
    limit = SETTINGS.max_upstream_body_bytes
    filler = b'{"a": "' + b"x" * (limit - 9) + b'"}'
    assert len(filler) == limit
    assert await harness(Reply(body=filler)).call() == {"a": "x" * (limit - 9)}
    longer = b'{"a": "' + b"x" * (limit - 8) + b'"}'
    with pytest.raises(UpstreamBadResponse, match="more than the gateway reads"):
        await harness(Reply(body=longer)).call()
