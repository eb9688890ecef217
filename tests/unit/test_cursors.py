"""Cursors: positions keyed by upstream name, old cursors still accepted, anything else BAD_USER_INPUT."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.errors import BadUserInput
from resolvers.pagination import MAX_OFFSET, MAX_POSITION_CHARS, decode_cursor
from schema.common import encode_cursor

CONTRACT_SOURCES = ("canada", "sam")


def raw_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_holds_each_sources_position_and_round_trips() -> None:
    cursor = encode_cursor({"sam": 6, "canada": 4})
    assert json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))) == {"canada": 4, "sam": 6}
    assert "=" not in cursor
    assert decode_cursor(cursor, CONTRACT_SOURCES) == {"sam": 6, "canada": 4}


def test_a_source_may_keep_a_position_of_its_own_beside_offsets() -> None:
    # a keyset source keeps the opaque position it made (a string); the others keep offsets, old cursors included
    cursor = encode_cursor({"canadabuys": "WyIyMDI2LTA5LTAxIiwiY2ItMSJd", "sam": 6})
    assert decode_cursor(cursor, (*CONTRACT_SOURCES, "canadabuys")) == {
        "canadabuys": "WyIyMDI2LTA5LTAxIiwiY2ItMSJd",
        "sam": 6,
    }


def test_no_cursor_is_the_start_of_every_source() -> None:
    assert decode_cursor(None, CONTRACT_SOURCES) == {}


def test_a_cursor_may_name_only_some_of_the_sources() -> None:
    assert decode_cursor(encode_cursor({"sam": 3}), CONTRACT_SOURCES) == {"sam": 3}


def test_contract_cursors_issued_before_the_generic_merge_still_work() -> None:
    # 0.1.0 encoded {"canada": m, "sam": n} with sorted keys and no spaces, exactly as today.
    legacy = base64.urlsafe_b64encode(b'{"canada":2,"sam":8}').decode().rstrip("=")
    assert decode_cursor(legacy, CONTRACT_SOURCES) == {"canada": 2, "sam": 8}


def test_single_source_cursors_issued_before_are_that_sources_position() -> None:
    legacy = base64.urlsafe_b64encode(b'{"o":15}').decode().rstrip("=")
    assert decode_cursor(legacy, ("ita",), legacy_source="ita") == {"ita": 15}
    assert decode_cursor(legacy, ("canada", "other"), legacy_source="canada") == {"canada": 15}


@pytest.mark.parametrize(
    ("cursor", "sources", "legacy", "message"),
    [
        ("not-a-cursor", ("ita",), "ita", "not a cursor"),
        ("%%%", ("ita",), "ita", "not a cursor"),
        (raw_cursor([1, 2]), ("ita",), "ita", "not a cursor"),
        (raw_cursor({}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": -1}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": True}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": ""}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": "p" * (MAX_POSITION_CHARS + 1)}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": ["3"]}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"ita": MAX_OFFSET + 1}), ("ita",), "ita", "not a cursor"),
        (raw_cursor({"o": 1.5}), ("ita",), "ita", "not a cursor"),
        # another list's cursor: a contracts cursor to leads, a leads cursor to contracts
        (raw_cursor({"sam": 1, "canada": 1}), ("ita",), "ita", "another list"),
        (raw_cursor({"ita": 1}), CONTRACT_SOURCES, None, "another list"),
        # an old single-source cursor where no list had one (contracts), or mixed with names
        (raw_cursor({"o": 1}), CONTRACT_SOURCES, None, "another list"),
        (raw_cursor({"o": 1, "ita": 2}), ("ita",), "ita", "another list"),
    ],
)
def test_anything_else_is_bad_user_input(
    cursor: str, sources: tuple[str, ...], legacy: str | None, message: str
) -> None:
    with pytest.raises(BadUserInput, match=message) as refused:
        decode_cursor(cursor, sources, legacy)
    assert refused.value.extensions == {"argument": "after"}
