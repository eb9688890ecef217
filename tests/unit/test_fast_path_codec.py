"""The fast decoding path: upstream bodies decoded once (orjson), read exactly as the stdlib `json` reads them, and
stored in the cache as the bytes they were received in, never encoded again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from gateway.cache.codec import (
    JSON_NULL_BODY,
    Received,
    decode_envelope,
    decode_payload,
    encode_envelope,
    encode_payload,
    receive,
)
from gateway.cache.store import CacheStatus, MemoryCache
from gateway.errors import UpstreamBadResponse
from gateway.upstreams._http import decode_json, receive_json
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.ita.spec import SPEC as ITA
from gateway.upstreams.spec import RecordKind


def _json_samples(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.json") if path.is_file())


def test_every_recorded_sample_decodes_as_the_stdlib_reads_it(samples_dir: Path) -> None:
    samples = _json_samples(samples_dir)
    assert len(samples) >= 10
    compared = 0
    for path in samples:
        raw = path.read_bytes()
        try:
            expected = json.loads(raw)
        except ValueError:
            with pytest.raises(UpstreamBadResponse):
                decode_json("sam", raw)
            continue
        received = receive_json("sam", raw)
        assert received.value == expected, path
        assert received.raw is raw
        assert decode_payload(encode_payload(received)) == expected, path
        compared += 1
    assert compared >= 10


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": NaN, "other": -Infinity}',  # the stdlib reads these, orjson does not
        b'{"piid": 123456789012345678901234567890}',  # beyond 64 bits
        b'\xef\xbb\xbf{"bom": true}',  # a byte-order mark
        '{"utf16": "é"}'.encode("utf-16"),
        b'{"lone": "\\ud800"}',  # a lone surrogate
    ],
)
def test_what_orjson_refuses_or_misreads_is_read_as_the_stdlib_reads_it(raw: bytes) -> None:
    received = receive(raw)
    assert repr(received.value) == repr(json.loads(raw))  # repr: NaN is not equal to itself, 1e29 equals the int
    assert repr(decode_payload(encode_payload(received))) == repr(json.loads(raw))
    try:
        envelope = encode_envelope(received, 5.0)
    except ValueError:  # a lone surrogate cannot be written as UTF-8: not cached, as before orjson
        assert received.value == {"lone": chr(0xD800)}
        return
    entry = decode_envelope(envelope)
    assert entry is not None
    assert repr(entry.value) == repr(json.loads(raw))


def test_a_long_run_of_digits_in_a_string_changes_nothing() -> None:
    raw = b'{"uei": "123456789012345678901234", "n": 18446744073709551615, "m": -9223372036854775808}'
    assert receive(raw).value == json.loads(raw)
    assert receive(raw).strict


def test_not_json_is_refused_as_before() -> None:
    for raw in (b"", b"{", b"<html>", b"\xff\xfe\xfa", b'{"a": 1} trailing'):
        with pytest.raises(UpstreamBadResponse):
            decode_json("ita", raw)


def test_a_strict_body_is_embedded_in_the_envelope_as_received() -> None:
    raw = b'{"totalRecords": 2,\n  "data": [{"piid": "X1", "amount": 1.5e3}, {"piid": "\xc3\xa9t\xc3\xa9"}]}'
    received = receive(raw)
    assert received.strict
    envelope = encode_envelope(received, 1_700_000_000.25)
    assert raw in envelope
    entry = decode_envelope(envelope)
    assert entry is not None
    assert entry.stored_at == 1_700_000_000.25
    assert entry.value == json.loads(raw)
    assert decode_envelope(encode_envelope(JSON_NULL_BODY, 3.0)) is not None


async def test_the_memory_cache_stores_the_bytes_as_received_and_hands_out_the_decoded_value() -> None:
    cache = MemoryCache(max_entries=10, max_bytes=100_000, clock=lambda: 1_000.0)
    raw = b'{ "results" : [ 1, 2 ],   "total": 2 }'

    async def fetch() -> object:
        return receive(raw)

    first = await cache.get_or_fetch("ita:x", fetch, ttl_s=60, stale_for_s=0)
    assert first.status is CacheStatus.MISS
    assert first.value == {"results": [1, 2], "total": 2}
    assert cache.size_bytes == len(raw)  # not re-encoded (compact JSON would be shorter)
    second = await cache.get_or_fetch("ita:x", fetch, ttl_s=60, stale_for_s=0)
    assert second.status is CacheStatus.HIT
    assert second.value == first.value


async def test_nothing_kept_means_every_call_fetches_and_reports_a_miss() -> None:
    cache = MemoryCache(max_entries=10, max_bytes=100_000)
    calls = 0

    async def fetch() -> object:
        nonlocal calls
        calls += 1
        return receive(b'{"n": %d}' % calls)

    for expected in (1, 2):
        cached = await cache.get_or_fetch("ita:y", fetch, ttl_s=0, stale_for_s=0)
        assert cached.status is CacheStatus.MISS
        assert cached.value == {"n": expected}
    assert cache.entries == 0
    assert cache.stats.total("misses") == 2


class _ReceivingTransport:
    """Answers every GET with one body, as UpstreamHttp does: decoded, with its bytes."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.calls = 0

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        raise AssertionError("the fetch path asks for the received body")

    async def get_received(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        self.calls += 1
        return receive(self.raw)


def _count(value: object) -> int:
    assert isinstance(value, dict)
    return len(value["results"])


async def test_the_fetch_path_stores_the_upstream_bytes_and_parses_once() -> None:
    raw = b'{"results": [{"id": "a"}, {"id": "b"}],\n "total": 2}'
    transport = _ReceivingTransport(raw)
    cache = MemoryCache(max_entries=10, max_bytes=100_000)
    fetch = UpstreamFetch(ITA, transport, cache, ttl_s={RecordKind.LEAD: 60}, stale_for_s=0)
    deadline = Deadline.after(5.0)
    assert await fetch.get("v2/search", {"q": "x"}, kind=RecordKind.LEAD, parse=_count, deadline=deadline) == 2
    assert cache.size_bytes == len(raw)
    assert await fetch.get("v2/search", {"q": "x"}, kind=RecordKind.LEAD, parse=_count, deadline=deadline) == 2
    assert transport.calls == 1


def test_received_hides_its_bytes_from_repr() -> None:
    assert "raw" not in repr(Received({"a": 1}, b'{"a":1}'))
