"""The cursor of `search`: one opaque string holding each source's position, and what the next page must know.

base64url (unpadded) of a JSON object:
- `f`: the fingerprint of the search it belongs to (a cursor of another search is refused);
- `p`: the position reached in each source, keyed `upstream.kind` (`{"ita.lead": 12, "sam.contract": 9}`): an offset,
  or a position the source made itself (a string, e.g. a keyset cursor; see `resolvers.merge`);
- `n`: how many records were taken from a source whose position is a string (its rank, for relevance);
- `d`: the sources that have nothing more, with their number of matches (they are not asked again);
- `s`: per source, the positions of records to pass over silently: duplicates of a record already shown;
- `o`: per source, `[position, [[upstream, id], ...]]` of a record not yet shown and the origins already seen of it.
A source that failed keeps its position, so its records come on a later page. `s` and `o` hold at most
`MAX_CARRIED` entries each: beyond, a duplicate is shown twice rather than the cursor growing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import BadUserInput
from resolvers.dedup import Origin
from resolvers.merge import START, Position

MAX_OFFSET = 400_000
MAX_POSITION_CHARS = 512
MAX_CARRIED = 32
MAX_ID_CHARS = 1024
NOT_A_CURSOR = "`after` is not a cursor of `search`"


@dataclass(frozen=True)
class SearchCursor:
    fingerprint: str
    positions: Mapping[str, Position] = field(default_factory=dict)
    ranks: Mapping[str, int] = field(default_factory=dict)  # records taken, where the position is no offset
    done: Mapping[str, int | None] = field(default_factory=dict)  # source -> its number of matches
    skips: Mapping[str, frozenset[Position]] = field(default_factory=dict)
    origins: Mapping[str, Mapping[Position, tuple[Origin, ...]]] = field(default_factory=dict)

    def position(self, key: str) -> Position:
        return self.positions.get(key, START)

    def rank(self, key: str) -> int:
        """How many records of the source were taken before this cursor."""
        position = self.position(key)
        return position if isinstance(position, int) else self.ranks.get(key, 0)

    @property
    def started(self) -> bool:
        return any(position != START for position in self.positions.values())

    def encode(self) -> str:
        data: dict[str, Any] = {
            "f": self.fingerprint,
            "p": {key: value for key, value in sorted(self.positions.items()) if value != START},
        }
        ranks = {key: self.ranks[key] for key in sorted(self.ranks) if isinstance(self.positions.get(key), str)}
        if ranks:
            data["n"] = ranks
        if self.done:
            data["d"] = dict(sorted(self.done.items()))
        skips = {key: sorted(found, key=str) for key, found in sorted(self.skips.items()) if found}
        if skips:
            data["s"] = skips
        origins = {
            key: [[position, [[o.upstream, o.id] for o in seen]] for position, seen in by_position.items()]
            for key, by_position in sorted(self.origins.items())
            if by_position
        }
        if origins:
            data["o"] = origins
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _refuse(message: str = NOT_A_CURSOR) -> BadUserInput:
    return BadUserInput(message, argument="after")


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET:
        raise _refuse()
    return value


def _position(value: object) -> Position:
    if isinstance(value, str) and 0 < len(value) <= MAX_POSITION_CHARS:
        return value
    return _count(value)


def _keyed(data: object, sources: Collection[str]) -> dict[str, Any]:
    if not isinstance(data, dict) or not set(data) <= set(sources):
        raise _refuse()
    return data


def _listed(value: object) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_CARRIED:
        raise _refuse()
    return value


def decode_search_cursor(cursor: str | None, fingerprint: str, sources: Collection[str]) -> SearchCursor:
    """The state `cursor` holds (a fresh one when None); BAD_USER_INPUT when it is not a cursor of `search`, names a
    source `sources` does not hold, or belongs to another search (other keywords or filters)."""
    if cursor is None:
        return SearchCursor(fingerprint)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError, RecursionError):
        raise _refuse() from None
    if not isinstance(data, dict) or not isinstance(data.get("f"), str) or not set(data) <= set("fpndso"):
        raise _refuse()
    if data["f"] != fingerprint:
        raise _refuse("`after` is a cursor of another search (other keywords or filter): start again without it")
    positions = {key: _position(value) for key, value in _keyed(data.get("p", {}), sources).items()}
    ranks = {key: _count(value) for key, value in _keyed(data.get("n", {}), sources).items()}
    done = {key: None if total is None else _count(total) for key, total in _keyed(data.get("d", {}), sources).items()}
    skips = {
        key: frozenset(_position(value) for value in _listed(listed))
        for key, listed in _keyed(data.get("s", {}), sources).items()
    }
    origins: dict[str, dict[Position, tuple[Origin, ...]]] = {}
    for key, entries in _keyed(data.get("o", {}), sources).items():
        origins[key] = {}
        for entry in _listed(entries):
            if not isinstance(entry, list) or len(entry) != 2:
                raise _refuse()
            origins[key][_position(entry[0])] = tuple(_origin(seen) for seen in _listed(entry[1]))
    if sum(len(found) for found in skips.values()) > MAX_CARRIED or sum(map(len, origins.values())) > MAX_CARRIED:
        raise _refuse()
    return SearchCursor(data["f"], positions, ranks, done, skips, origins)


def _origin(entry: object) -> Origin:
    if (
        not isinstance(entry, list)
        or len(entry) != 2
        or not all(isinstance(part, str) and 0 < len(part) <= MAX_ID_CHARS for part in entry)
    ):
        raise _refuse()
    return Origin(entry[0], entry[1])
