"""Relay global ids: opaque, stable, and carrying the upstream key (plus a lookup hint where the upstream needs one)."""

from __future__ import annotations

import base64
import binascii

import strawberry

SEPARATOR = "\x1f"


class InvalidGlobalId(ValueError):
    pass


def to_global_id(type_name: str, *parts: str) -> strawberry.ID:
    raw = SEPARATOR.join((type_name, *parts))
    return strawberry.ID(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, tuple[str, ...]]:
    """(type name, key parts) or InvalidGlobalId."""
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidGlobalId("not a global id of this API") from exc
    type_name, *parts = raw.split(SEPARATOR)
    if not type_name or not parts or not all(parts[:1]):
        raise InvalidGlobalId("not a global id of this API")
    return type_name, tuple(parts)


@strawberry.interface(description="An object with a stable global id, fetchable again through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id; pass it to `node(id:)` to fetch it again.")
