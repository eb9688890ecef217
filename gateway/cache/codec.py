"""How cached upstream JSON is stored: compact JSON bytes, and for Redis an envelope with the time it was stored.

An upstream body is stored as the bytes it was received in (`Received`): decoded once, never encoded again. orjson
reads and writes; what it refuses and the stdlib `json` accepts (NaN, integers beyond 64 bits, a byte-order mark,
UTF-16) goes to `json`, so every value reads and writes as it did before orjson.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson

# An upstream answered without a body (HTTP 204: nothing matched); cached as such, distinct from JSON null.
JSON_NULL_BODY: object = object()

_NO_BODY = b""  # not valid JSON, so it cannot collide with a payload


EntryId = tuple[float, int]


@dataclass(frozen=True)
class Entry:
    stored_at: float
    value: object
    stored_hash: int = 0  # hash() of the bytes it was read from: two writes within one clock tick still differ

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.stored_at)

    @property
    def entry_id(self) -> EntryId:
        """Equal for two reads of one stored entry (in this process), different once the entry is written again."""
        return (self.stored_at, self.stored_hash)


@dataclass(frozen=True)
class Received:
    """A decoded JSON body and the bytes it was decoded from (as the upstream sent them). `strict`: plain UTF-8 JSON
    (orjson read it), which may be embedded in another JSON text as it is."""

    value: object
    raw: bytes = field(repr=False)
    strict: bool = True


# orjson reads an integer beyond 64 bits (20 digits or more) as a float: a text with such a run of digits anywhere
# (in a string too, rarely) is read by `json`. One translate and one search in C, a small part of the decoding.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 20


def receive(raw: bytes) -> Received:
    """`raw` decoded as `json.loads` reads it; raises ValueError (or UnicodeDecodeError) when it is not JSON."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Received(json.loads(raw), raw, strict=False)
    if len(raw) >= len(_LONG_DIGIT_RUN) and _LONG_DIGIT_RUN in raw.translate(_DIGITS_AS_ZERO):
        return Received(json.loads(raw), raw)  # plain UTF-8 JSON (orjson read it), with integers kept exact
    return Received(value, raw)


def loads(raw: bytes) -> object:
    return receive(raw).value


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON; raises TypeError or ValueError when `value` is not JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode_payload(value: object) -> bytes:
    """Raises TypeError or ValueError when `value` is not JSON."""
    if value is JSON_NULL_BODY:
        return _NO_BODY
    if isinstance(value, Received):
        return value.raw
    return dumps(value)


def decode_payload(payload: bytes) -> object:
    if payload == _NO_BODY:
        return JSON_NULL_BODY
    return loads(payload)


def encode_envelope(value: object, stored_at: float) -> bytes:
    """Raises TypeError or ValueError when `value` is not JSON."""
    if value is JSON_NULL_BODY:
        return dumps({"stored_at": stored_at, "no_body": True})
    if isinstance(value, Received):
        if value.strict:  # the bytes as received, inside the envelope: not encoded again
            return b'{"stored_at":' + dumps(stored_at) + b',"payload":' + value.raw + b"}"
        envelope = {"stored_at": stored_at, "payload": value.value}  # NaN, a surrogate...: as `json` always wrote it
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    return dumps({"stored_at": stored_at, "payload": value})


def decode_envelope(raw: bytes) -> Entry | None:
    """The entry, or None when `raw` is not an envelope this version wrote."""
    try:
        envelope = loads(raw)
    except ValueError:
        return None
    if not isinstance(envelope, dict):
        return None
    stored_at = envelope.get("stored_at")
    if not isinstance(stored_at, int | float) or isinstance(stored_at, bool):
        return None
    if envelope.get("no_body") is True:
        return Entry(float(stored_at), JSON_NULL_BODY, hash(raw))
    if "payload" not in envelope:
        return None
    return Entry(float(stored_at), envelope["payload"], hash(raw))
