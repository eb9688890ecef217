"""The whole-response cache's store (`KeptAnswers`): answers kept as objects, bounded, shared by concurrent misses."""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from gateway.cache import store as cache
from gateway.cache.store import CacheStatus
from gateway.edge.compression import KEPT_HEAD_STATE, KeptHead
from gateway.edge.json_response import JSONResponse
from gateway.edge.response_cache import KeptAnswer, KeptAnswers, Served, WholeResponseCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def answer(n: int, padding: str = "") -> dict[str, object]:
    return {"body": {"data": {"n": n, "padding": padding}}, "cost": n}


async def test_a_kept_answer_is_served_as_kept_until_its_ttl_and_each_answer_is_reported() -> None:
    clock = Clock()
    kept = KeptAnswers(max_entries=10, max_bytes=10_000, clock=clock)
    fetched: list[int] = []

    async def fetch() -> object:
        fetched.append(1)
        return answer(len(fetched))

    with cache.reporting() as report:
        miss = await kept.get_or_fetch("response:a", fetch, ttl_s=60, stale_for_s=0)
    assert (miss.status, miss.value, miss.entry_id) == (CacheStatus.MISS, answer(1), None)
    assert report.as_extensions() == {"response": {"status": "MISS", "ageSeconds": 0.0}}
    clock.now += 30
    with cache.reporting() as report:
        hit = await kept.get_or_fetch("response:a", fetch, ttl_s=60, stale_for_s=0)
    assert (hit.status, hit.value, hit.age_s) == (CacheStatus.HIT, answer(1), 30.0)
    assert hit.value is miss.value  # not encoded and decoded again
    assert report.as_extensions() == {"response": {"status": "HIT", "ageSeconds": 30.0}}
    assert hit.entry_id == (await kept.get_or_fetch("response:a", fetch, ttl_s=60, stale_for_s=0)).entry_id
    clock.now += 30  # 60 s old: no longer kept
    again = await kept.get_or_fetch("response:a", fetch, ttl_s=60, stale_for_s=0)
    assert (again.status, again.value, len(fetched)) == (CacheStatus.MISS, answer(2), 2)
    assert kept.entries == 1


async def test_the_store_is_bounded_by_entries_and_by_the_bytes_of_the_answers_json() -> None:
    size = len(orjson.dumps(answer(1, "x" * 100)))
    kept = KeptAnswers(max_entries=3, max_bytes=size * 2, clock=Clock())
    for n in (1, 2):
        await kept.get_or_fetch(f"response:{n}", _returning(answer(1, "x" * 100)), ttl_s=60, stale_for_s=0)
    assert (kept.entries, kept.size_bytes) == (2, size * 2)
    await kept.get_or_fetch("response:1", _returning(None), ttl_s=60, stale_for_s=0)  # read: now the newest
    await kept.get_or_fetch("response:3", _returning(answer(1, "x" * 100)), ttl_s=60, stale_for_s=0)
    assert (kept.entries, kept.size_bytes) == (2, size * 2)
    assert (await kept.get_or_fetch("response:1", _returning(None), ttl_s=60, stale_for_s=0)).status is CacheStatus.HIT
    assert (await kept.get_or_fetch("response:2", _returning(None), ttl_s=60, stale_for_s=0)).value is None  # evicted

    small = KeptAnswers(max_entries=2, max_bytes=10_000, clock=Clock())
    for n in (1, 2, 3):
        await small.get_or_fetch(f"response:{n}", _returning(answer(n)), ttl_s=60, stale_for_s=0)
    assert small.entries == 2
    too_big = KeptAnswers(max_entries=2, max_bytes=10, clock=Clock())
    await too_big.get_or_fetch("response:1", _returning(answer(1)), ttl_s=60, stale_for_s=0)
    assert (too_big.entries, too_big.size_bytes) == (0, 0)


async def test_only_what_may_be_kept_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    kept = KeptAnswers(max_entries=10, max_bytes=10_000, clock=Clock())
    await kept.get_or_fetch(
        "response:refused", _returning(answer(1)), ttl_s=60, stale_for_s=0, store_if=lambda _: False
    )
    await kept.get_or_fetch("response:off", _returning(answer(1)), ttl_s=0, stale_for_s=0)
    with caplog.at_level(logging.WARNING):
        await kept.get_or_fetch("response:odd", _returning({"body": {1, 2}}), ttl_s=60, stale_for_s=0)
    assert kept.entries == 0
    assert "not caching response:odd" in caplog.text


async def test_concurrent_misses_share_one_execution() -> None:
    kept = KeptAnswers(max_entries=10, max_bytes=10_000, clock=Clock())
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def fetch() -> object:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return answer(7)

    first = asyncio.create_task(kept.get_or_fetch("response:k", fetch, ttl_s=60, stale_for_s=0))
    await started.wait()
    second = asyncio.create_task(kept.get_or_fetch("response:k", fetch, ttl_s=60, stale_for_s=0))
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(first, second)
    assert calls == 1
    assert [result.value for result in results] == [answer(7), answer(7)]
    await kept.close()
    assert (kept.entries, kept.size_bytes) == (0, 0)


def _returning(value: object) -> Callable[[], Awaitable[object]]:
    async def fetch() -> object:
        return value

    return fetch


def test_a_kept_answer_orjson_cannot_write_still_gets_its_compressed_head() -> None:
    """An integer beyond 64 bits (an OCDS document's, say): the head is written as the answer is, by `json`."""
    answers = WholeResponseCache(KeptAnswers(max_entries=10, max_bytes=10_000), ttl_s=60)
    body = {"data": {"n": 2**70}}
    scope: dict[str, object] = {"type": "http", "method": "POST", "headers": [], "state": {}}
    served = Served(KeptAnswer.of(body, 1), CacheStatus.HIT, 0.0, (1.0, 1))
    answers.http_caching(Request(scope), JSONResponse(body), served, b"")
    head = scope["state"][KEPT_HEAD_STATE]  # type: ignore[index]
    assert isinstance(head, KeptHead)
    sent = bytes(JSONResponse({**body, "extensions": {"cost": 1}}).body)
    assert gzip.decompress(head.compress(sent, "gzip") or b"") == sent


KEPT_BODIES: list[dict[str, Any]] = [
    {"data": {"leads": {"edges": [{"node": {"title": "Caf\u00e9 \u2013 \u00fcn\u00efcode \u2028", "n": 1.5}}]}}},
    {"data": {"n": 2**70, "s": 'quote " and \\ backslash'}},
    {"data": None},
    {"data": {}},
]
EXTENSIONS: list[dict[str, Any] | None] = [
    None,
    {},
    {"cache": {"response": {"status": "HIT", "ageSeconds": 1.5}}, "cost": {"requested": 3}},
]


@pytest.mark.parametrize("extensions", EXTENSIONS)
@pytest.mark.parametrize("body", KEPT_BODIES)
def test_a_kept_answer_writes_the_bytes_of_its_body_with_the_extensions_last(
    body: dict[str, Any], extensions: dict[str, Any] | None
) -> None:
    kept = KeptAnswer.of(body, 3)
    expected = {**body, "extensions": extensions} if extensions else body
    assert kept.write(extensions) == bytes(JSONResponse(expected).body)
    assert kept.body() == body
    assert KeptAnswer.from_entry(kept.entry()) == kept
    assert KeptAnswer.from_entry({"head": kept.head, "cost": 3}) is None  # entries hold text


def test_a_cache_report_is_current_within_its_context_only_and_written_in_upstream_order() -> None:
    assert cache.current_report() is None
    with cache.reporting() as outer:
        assert cache.current_report() is outer
        assert outer.as_extensions() == {}
        with cache.reporting() as inner:
            assert cache.current_report() is inner
            inner.record("sam:/x", cache.Cached(None, CacheStatus.HIT, 2.04))
            inner.record("canada:/y", cache.Cached(None, CacheStatus.MISS))
        assert cache.current_report() is outer
    assert cache.current_report() is None
    written = inner.as_extensions()
    assert list(written.items()) == [
        ("canada", {"status": "MISS", "ageSeconds": 0.0}),
        ("sam", {"status": "HIT", "ageSeconds": 2.0}),
    ]
    written["response"] = {"status": "HIT"}  # each call writes a new dict
    assert "response" not in inner.as_extensions()
    with pytest.raises(KeyError), cache.reporting():
        raise KeyError("x")
    assert cache.current_report() is None


async def test_a_fresh_kept_answer_is_served_without_awaiting_and_reported_as_a_hit() -> None:
    clock = Clock()
    store = KeptAnswers(max_entries=10, max_bytes=10_000, clock=clock)
    answers = WholeResponseCache(store, ttl_s=60)
    assert answers.served_now("response:a") is None  # nothing kept: `serve` executes

    async def execute() -> KeptAnswer:
        return KeptAnswer.of({"data": {"n": 1}}, 4)

    await answers.serve("response:a", execute)
    clock.now += 30
    with cache.reporting() as report:
        served = answers.served_now("response:a")
    assert served is not None
    assert (served.status, served.age_s, served.answer) == (CacheStatus.HIT, 30.0, KeptAnswer.of({"data": {"n": 1}}, 4))
    assert report.as_extensions() == {"response": {"status": "HIT", "ageSeconds": 30.0}}
    clock.now += 30  # 60 s old: no longer fresh
    assert answers.served_now("response:a") is None
    assert WholeResponseCache(store, ttl_s=0).served_now("response:a") is None
