"""Cursors and Relay connections over upstream offsets."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.errors import BadUserInput
from gateway.models import Page
from schema.common import Connection, Edge, PageInfo

ModelT = TypeVar("ModelT")
NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 10
MAX_OFFSET = 400_000


def page_size(first: int, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise BadUserInput(f"`first` must be between 1 and {maximum}", argument="first")
    return first


def encode_cursor(position: dict[str, int]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: Sequence[str]) -> dict[str, int]:
    """Positions per key from an `after` cursor; BAD_USER_INPUT when it is not one of ours."""
    if cursor is None:
        return dict.fromkeys(keys, 0)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("`after` is not a cursor of this API", argument="after") from None
    if not isinstance(data, dict) or set(data) != set(keys):
        raise BadUserInput("`after` is a cursor of another list", argument="after")
    positions = {key: data[key] for key in keys}
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_OFFSET for v in positions.values()):
        raise BadUserInput("`after` is not a cursor of this API", argument="after")
    return positions


def offset_connection(
    page: Page[ModelT], offset: int, to_node: Callable[[ModelT], NodeT], key: str = "o"
) -> Connection[NodeT]:
    edges = [
        Edge(cursor=encode_cursor({key: offset + index + 1}), node=to_node(item))
        for index, item in enumerate(page.items)
    ]
    end = offset + len(page.items)
    has_next = page.total > end if page.total is not None else False
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total,
    )
