"""Cursors and Relay connections over merged upstream pages.

A cursor is base64url (unpadded) of a JSON object: the position reached in each source, keyed by upstream name
(`{"canada": 4, "sam": 6}`): an offset, or an opaque string a source made (a keyset position, `{"canadabuys": "..."}`).
Cursors issued before lists were merged generically still work: a contracts cursor had this very shape; a leads or
tenders cursor was `{"o": n}`, the position in the one upstream that served the list then.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection
from typing import TypeVar

from gateway.errors import BadUserInput
from resolvers.merge import Merged, Position
from schema.common import Connection, Edge, PageInfo

ModelT = TypeVar("ModelT")
NodeT = TypeVar("NodeT")

MAX_OFFSET = 400_000
MAX_POSITION_CHARS = 512  # a source's own position (a keyset cursor) is a short string
LEGACY_SINGLE_SOURCE_KEY = "o"


def page_size(first: int, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise BadUserInput(f"`first` must be between 1 and {maximum}", argument="first")
    return first


def decode_cursor(
    cursor: str | None, sources: Collection[str], legacy_source: str | None = None
) -> dict[str, Position]:
    """Positions per source from an `after` cursor (sources it does not name are at 0); BAD_USER_INPUT when it is
    not a cursor of this API or names a source outside `sources` (a cursor of another list).

    `legacy_source`: the source an old `{"o": n}` cursor of this list was a position in (None: there were none).
    """
    if cursor is None:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("`after` is not a cursor of this API", argument="after") from None
    if not isinstance(data, dict) or not data:
        raise BadUserInput("`after` is not a cursor of this API", argument="after")
    if legacy_source is not None and set(data) == {LEGACY_SINGLE_SOURCE_KEY}:
        data = {legacy_source: data[LEGACY_SINGLE_SOURCE_KEY]}
    if not set(data) <= set(sources):
        raise BadUserInput("`after` is a cursor of another list", argument="after")
    if not all(_is_position(value) for value in data.values()):
        raise BadUserInput("`after` is not a cursor of this API", argument="after")
    return dict(data)


def _is_position(value: object) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_POSITION_CHARS
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_OFFSET


def to_connection(merged: Merged[ModelT], to_node: Callable[[str, ModelT], NodeT]) -> Connection[NodeT]:
    """`to_node(upstream, record)` makes the node of a record that came from `upstream`."""
    edges = [Edge(positions=taken.positions, node=to_node(taken.source, taken.record)) for taken in merged.taken]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=merged.has_next,
            has_previous_page=merged.has_previous,
            start=edges[0].positions if edges else None,
            end=edges[-1].positions if edges else None,
        ),
        total_count=merged.total,
    )
