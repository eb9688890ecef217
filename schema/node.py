"""Relay global ids: opaque, stable, naming the type, the upstream the object came from and its key there.

An id is base64url (unpadded) of `v2:` followed by the JSON array `[type, upstream, key]` or `[type, upstream, key,
hint]` (`hint`: a lookup hint the upstream needs beside the key, e.g. a Canadian GSIN). JSON escapes every character, so
no key can be mistaken for a separator.

Ids issued before sources were named (base64url of fields joined by U+001F) still resolve: `Lead␟id` (upstream `ita`),
`Tender␟reference[␟gsin]` (upstream `canada`), `Contract␟SAM|CANADA␟key[␟hint]` (the source, lower-cased).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

import strawberry

VERSION_PREFIX = "v2:"
LEGACY_SEPARATOR = "\x1f"
# The upstream behind the ids of each type issued before ids named their upstream (contract ids named it themselves).
LEGACY_UPSTREAM_OF_TYPE = {"Lead": "ita", "Tender": "canada"}
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
_UPSTREAM_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
# What `json.dumps(..., ensure_ascii=False)` escapes in a string (and lone surrogates, which it writes unencodable).
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\ud800-\udfff]')


class InvalidGlobalId(ValueError):
    pass


@dataclass(frozen=True)
class GlobalId:
    """What a global id names. `upstream` is None only for an old id of a type that never had objects."""

    type_name: str
    upstream: str | None
    key: str
    hint: str | None = None


def to_global_id(type_name: str, upstream: str, key: str, hint: str | None = None) -> strawberry.ID:
    fields = [type_name, upstream, key, *([hint] if hint else [])]
    # Made per record of every page: the JSON `json` would write, by hand, when no field needs escaping (the fields
    # are searched, not their JSON, whose own quotes would always match).
    if _NEEDS_ESCAPE.search("".join(fields)) is None:
        raw = VERSION_PREFIX + '["' + '","'.join(fields) + '"]'
    else:
        raw = VERSION_PREFIX + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return strawberry.ID(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


def from_global_id(global_id: str) -> GlobalId:
    """What `global_id` names (a current or an old id), or InvalidGlobalId."""
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidGlobalId("not a global id of this API") from exc
    if raw.startswith(VERSION_PREFIX):
        return _current(raw.removeprefix(VERSION_PREFIX))
    return _legacy(raw)


def _current(text: str) -> GlobalId:
    try:
        fields = json.loads(text)
    except ValueError:
        raise InvalidGlobalId("not a global id of this API") from None
    if (
        not isinstance(fields, list)
        or not 3 <= len(fields) <= 4
        or not all(isinstance(field, str) and field for field in fields)
        or not _TYPE_NAME.match(fields[0])
        or not _UPSTREAM_NAME.match(fields[1])
    ):
        raise InvalidGlobalId("not a global id of this API")
    return GlobalId(fields[0], fields[1], fields[2], fields[3] if len(fields) == 4 else None)


def _legacy(raw: str) -> GlobalId:
    type_name, *parts = raw.split(LEGACY_SEPARATOR)
    if not _TYPE_NAME.match(type_name) or not parts or not parts[0]:
        raise InvalidGlobalId("not a global id of this API")
    if type_name == "Contract":
        if len(parts) < 2 or parts[0] not in {"SAM", "CANADA"} or not parts[1]:
            raise InvalidGlobalId("not the id of a contract")
        return GlobalId(type_name, parts[0].lower(), parts[1], (parts[2] if len(parts) > 2 else "") or None)
    hint = (parts[1] if len(parts) > 1 else "") or None
    return GlobalId(type_name, LEGACY_UPSTREAM_OF_TYPE.get(type_name), parts[0], hint)


# What a node's global id is made of: `to_global_id`'s arguments.
GlobalIdParts = tuple[str, str, str, str | None]


@strawberry.interface(description="An object with a stable global id, fetchable again through `node(id:)`.")
class Node:
    _id_parts: strawberry.Private[GlobalIdParts]  # encoded only when `id` is selected

    @strawberry.field(
        description="Opaque global id naming the object's type, its upstream and its key there; pass it to "
        "`node(id:)` to fetch it again."
    )
    def id(self) -> strawberry.ID:
        return to_global_id(*self._id_parts)
