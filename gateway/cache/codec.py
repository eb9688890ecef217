"""How cached upstream JSON is stored: compact JSON bytes, and for Redis an envelope with the time it was stored."""

from __future__ import annotations

import json
from dataclasses import dataclass

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


def encode_payload(value: object) -> bytes:
    """Raises TypeError or ValueError when `value` is not JSON."""
    if value is JSON_NULL_BODY:
        return _NO_BODY
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode_payload(payload: bytes) -> object:
    if payload == _NO_BODY:
        return JSON_NULL_BODY
    return json.loads(payload)


def encode_envelope(value: object, stored_at: float) -> bytes:
    """Raises TypeError or ValueError when `value` is not JSON."""
    if value is JSON_NULL_BODY:
        envelope: dict[str, object] = {"stored_at": stored_at, "no_body": True}
    else:
        envelope = {"stored_at": stored_at, "payload": value}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode_envelope(raw: bytes) -> Entry | None:
    """The entry, or None when `raw` is not an envelope this version wrote."""
    try:
        envelope = json.loads(raw)
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
