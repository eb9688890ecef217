"""MemoryCache with a fake clock: freshness, stale-if-error, bounds, immutability, single-flight and counters."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from contextlib import AsyncExitStack

import pytest

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, MemoryCache, cache_key, open_cache
from gateway.errors import UpstreamTimeout, UpstreamUnavailable
from gateway.settings import Settings

TTL_S = 60
STALE_FOR_S = 600


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingFetch:
    """A fetch that answers `values` in turn (an exception is raised), optionally held until `gate` is set."""

    def __init__(self, *values: object, gate: asyncio.Event | None = None) -> None:
        self.values = list(values)
        self.calls = 0
        self.gate = gate

    async def __call__(self) -> object:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        value = self.values[min(self.calls, len(self.values)) - 1]
        if isinstance(value, BaseException):
            raise value
        return value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(max_entries=100, max_bytes=1_000_000, clock=clock)


async def get(cache: MemoryCache, key: str, fetch: Fetch, ttl_s: int = TTL_S, stale_for_s: int = STALE_FOR_S) -> Cached:
    return await cache.get_or_fetch(key, fetch, ttl_s=ttl_s, stale_for_s=stale_for_s)


def key(name: str = "a", upstream: str = "ita") -> str:
    return cache_key(upstream, "search", {"q": name})


async def test_miss_then_hit_with_age(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"results": [1, 2]})
    first = await get(cache, key(), fetch)
    clock.advance(59)
    second = await get(cache, key(), fetch)

    assert first == Cached({"results": [1, 2]}, CacheStatus.MISS, 0.0)
    assert second == Cached({"results": [1, 2]}, CacheStatus.HIT, 59.0)
    assert fetch.calls == 1


async def test_refetches_after_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"v": 1}, {"v": 2})
    await get(cache, key(), fetch)
    clock.advance(TTL_S)

    refreshed = await get(cache, key(), fetch)
    clock.advance(1)

    assert refreshed.status is CacheStatus.MISS
    assert refreshed.value == {"v": 2}
    assert await get(cache, key(), fetch) == Cached({"v": 2}, CacheStatus.HIT, 1.0)
    assert fetch.calls == 2


async def test_stale_served_on_upstream_error_within_window(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"v": 1}, UpstreamTimeout("ita", "slow"))
    await get(cache, key(), fetch)
    clock.advance(TTL_S + STALE_FOR_S - 1)

    stale = await get(cache, key(), fetch)

    assert stale == Cached({"v": 1}, CacheStatus.STALE, TTL_S + STALE_FOR_S - 1)
    assert cache.stats.snapshot()["ita"]["stale"] == 1
    assert cache.stats.snapshot()["ita"]["fetch_errors"] == 1


async def test_past_the_stale_window_the_error_is_raised_and_the_entry_dropped(
    cache: MemoryCache, clock: FakeClock
) -> None:
    fetch = CountingFetch({"v": 1}, UpstreamUnavailable("ita", "down"))
    await get(cache, key(), fetch)
    clock.advance(TTL_S + STALE_FOR_S)

    with pytest.raises(UpstreamUnavailable):
        await get(cache, key(), fetch)
    assert cache.entries == 0
    assert cache.size_bytes == 0


async def test_stale_is_not_served_for_errors_other_than_upstream_errors(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"v": 1}, RuntimeError("a bug"))
    await get(cache, key(), fetch)
    clock.advance(TTL_S + 1)

    with pytest.raises(RuntimeError):
        await get(cache, key(), fetch)


async def test_errors_are_not_cached(cache: MemoryCache) -> None:
    fetch = CountingFetch(UpstreamUnavailable("ita", "down"), {"v": 1})

    with pytest.raises(UpstreamUnavailable):
        await get(cache, key(), fetch)
    answer = await get(cache, key(), fetch)

    assert answer == Cached({"v": 1}, CacheStatus.MISS)
    assert fetch.calls == 2
    assert cache.stats.snapshot()["ita"]["fetch_errors"] == 1


async def test_values_that_are_not_json_are_answered_but_not_cached(
    cache: MemoryCache, caplog: pytest.LogCaptureFixture
) -> None:
    fetch = CountingFetch({1, 2})

    with caplog.at_level(logging.WARNING, logger="gateway.cache.store"):
        first = await get(cache, key(), fetch)
    second = await get(cache, key(), fetch)

    assert first == Cached({1, 2}, CacheStatus.MISS)
    assert second.status is CacheStatus.MISS
    assert cache.entries == 0
    assert "not JSON" in caplog.text


async def test_no_body_marker_round_trips(cache: MemoryCache) -> None:
    fetch = CountingFetch(JSON_NULL_BODY)
    await get(cache, key(), fetch)

    hit = await get(cache, key(), fetch)

    assert hit.status is CacheStatus.HIT
    assert hit.value is JSON_NULL_BODY


async def test_json_null_is_not_the_no_body_marker(cache: MemoryCache) -> None:
    await get(cache, key(), CountingFetch(None))

    hit = await get(cache, key(), CountingFetch())

    assert hit == Cached(None, CacheStatus.HIT)


async def test_callers_cannot_change_cached_values(cache: MemoryCache) -> None:
    original = {"results": [{"id": 1}]}
    fetched = await get(cache, key(), CountingFetch(original))
    original["results"].append({"id": 2})
    assert isinstance(fetched.value, dict)
    fetched.value["total"] = 99

    first_hit = await get(cache, key(), CountingFetch())
    assert isinstance(first_hit.value, dict)
    first_hit.value["results"].clear()
    second_hit = await get(cache, key(), CountingFetch())

    assert second_hit.value == {"results": [{"id": 1}]}


async def test_least_recently_used_entries_are_evicted_first(clock: FakeClock) -> None:
    cache = MemoryCache(max_entries=3, max_bytes=1_000_000, clock=clock)
    for name in "abc":
        await get(cache, key(name), CountingFetch(name))
    await get(cache, key("a"), CountingFetch())  # a is now the most recently used

    await get(cache, key("d", upstream="sam"), CountingFetch("d"))

    refetch_b = CountingFetch("b again")
    assert (await get(cache, key("b"), refetch_b)).status is CacheStatus.MISS  # b was evicted, and evicts c
    assert (await get(cache, key("a"), CountingFetch())).status is CacheStatus.HIT
    assert (await get(cache, key("d", upstream="sam"), CountingFetch())).status is CacheStatus.HIT
    assert cache.entries == 3
    assert cache.stats.total("evictions") == 2
    assert cache.stats.snapshot()["ita"]["evictions"] == 2


async def test_byte_bound_evicts_and_oversized_values_are_not_cached(clock: FakeClock) -> None:
    cache = MemoryCache(max_entries=100, max_bytes=1_000, clock=clock)
    value = "x" * 298  # 300 bytes as JSON
    for name in "abcd":
        await get(cache, key(name), CountingFetch(value))

    assert cache.size_bytes == 900
    assert cache.entries == 3
    assert cache.stats.total("evictions") == 1

    await get(cache, key("huge"), CountingFetch("y" * 2_000))
    assert cache.entries == 3
    assert cache.size_bytes == 900
    assert (await get(cache, key("huge"), CountingFetch("y"))).status is CacheStatus.MISS


async def test_replacing_an_entry_accounts_its_new_size(cache: MemoryCache, clock: FakeClock) -> None:
    await get(cache, key(), CountingFetch("x" * 98))
    clock.advance(TTL_S)
    await get(cache, key(), CountingFetch("x" * 8))

    assert cache.entries == 1
    assert cache.size_bytes == 10


async def test_single_flight_makes_one_fetch_for_100_concurrent_misses(cache: MemoryCache) -> None:
    gate = asyncio.Event()
    fetch = CountingFetch({"v": 1}, gate=gate)

    calls = [asyncio.create_task(get(cache, key(), fetch)) for _ in range(100)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*calls)

    assert fetch.calls == 1
    assert {answer.status for answer in answers} == {CacheStatus.MISS}
    assert all(answer.value == {"v": 1} for answer in answers)
    assert cache.stats.snapshot()["ita"]["misses"] == 100


async def test_single_flight_delivers_an_error_to_every_waiter_and_caches_nothing(cache: MemoryCache) -> None:
    gate = asyncio.Event()
    fetch = CountingFetch(UpstreamUnavailable("ita", "down"), {"v": 2}, gate=gate)

    calls = [asyncio.create_task(get(cache, key(), fetch)) for _ in range(100)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    assert fetch.calls == 1
    assert all(isinstance(outcome, UpstreamUnavailable) for outcome in outcomes)
    assert cache.stats.total("fetch_errors") == 1
    assert (await get(cache, key(), fetch)).value == {"v": 2}
    assert fetch.calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_others(cache: MemoryCache) -> None:
    gate = asyncio.Event()
    fetch = CountingFetch({"v": 1}, gate=gate)
    leader = asyncio.create_task(get(cache, key(), fetch))
    follower = asyncio.create_task(get(cache, key(), fetch))
    await asyncio.sleep(0)

    leader.cancel()
    await asyncio.sleep(0)
    gate.set()

    assert (await follower).value == {"v": 1}
    assert leader.cancelled()
    assert fetch.calls == 1


async def test_the_fetch_is_cancelled_when_every_caller_left(cache: MemoryCache) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hangs() -> object:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return None  # pragma: no cover

    calls = [asyncio.create_task(get(cache, key(), hangs)) for _ in range(3)]
    await started.wait()
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    await cancelled.wait()

    assert (await get(cache, key(), CountingFetch({"v": 1}))).status is CacheStatus.MISS


async def test_counters_per_upstream_in_process_and_in_prometheus(cache: MemoryCache) -> None:
    await get(cache, key("a", "ita"), CountingFetch(1))
    await get(cache, key("a", "ita"), CountingFetch())
    await get(cache, key("b", "sam"), CountingFetch(2))

    snapshot = cache.stats.snapshot()
    assert snapshot["ita"] == {
        "hits": 1,
        "misses": 1,
        "stale": 0,
        "evictions": 0,
        "fetch_errors": 0,
        "redis_errors": 0,
    }
    assert snapshot["sam"]["misses"] == 1
    registry = cache.stats.registry
    assert registry.get_sample_value("gateway_cache_hits_total", {"backend": "memory", "upstream": "ita"}) == 1
    assert registry.get_sample_value("gateway_cache_misses_total", {"backend": "memory", "upstream": "sam"}) == 1


async def test_open_cache_without_redis_is_the_bounded_memory_cache() -> None:
    settings = Settings(cache_max_entries=7, cache_max_bytes=1234)
    async with AsyncExitStack() as stack:
        cache = await open_cache(settings, stack)
        assert isinstance(cache, MemoryCache)
        assert (cache.max_entries, cache.max_bytes) == (7, 1234)
        await get(cache, key(), CountingFetch(1))
    assert cache.entries == 0


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_a_flood_of_distinct_keys_stays_within_the_bounds_and_memory_stays_flat(clock: FakeClock) -> None:
    cache = MemoryCache(max_entries=1000, max_bytes=1_000_000, clock=clock)

    async def flood(first: int, count: int) -> int:
        for number in range(first, first + count):

            async def fetch(number: int = number) -> object:
                return {"id": number, "text": f"{number:08d}" * 250}  # ~2 KB as JSON

            await get(cache, key(str(number)), fetch)
            assert cache.entries <= 1000
            assert cache.size_bytes <= 1_000_000
        gc.collect()
        return resident_bytes()

    after_first = await flood(0, 10_000)
    after_second = await flood(10_000, 10_000)

    assert cache.stats.total("misses") == 20_000
    assert cache.stats.total("evictions") == 20_000 - cache.entries
    assert after_second <= after_first + 1_000_000, (after_first, after_second)


async def test_a_caller_arriving_while_an_abandoned_fetch_unwinds_starts_a_new_one(cache: MemoryCache) -> None:
    started = asyncio.Event()

    async def hangs() -> object:
        started.set()
        await asyncio.Event().wait()
        return None  # pragma: no cover

    abandoned = asyncio.create_task(get(cache, key(), hangs))
    await started.wait()
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned

    assert (await get(cache, key(), CountingFetch({"v": 1}))).value == {"v": 1}


async def test_entry_id_is_kept_by_hits_and_changes_with_every_write(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"v": 1}, UpstreamTimeout("ita", "slow"), {"v": 2}, UpstreamTimeout("ita", "slow"))
    miss = await get(cache, key(), fetch, ttl_s=0)  # ttl 0: every get refreshes, and the clock never moves
    first = await get(cache, key(), fetch, ttl_s=0)
    again = await get(cache, key(), CountingFetch(UpstreamTimeout("ita", "slow")), ttl_s=0)
    await get(cache, key(), fetch, ttl_s=0)  # {"v": 2}, written at the same instant
    second = await get(cache, key(), fetch, ttl_s=0)

    assert miss.entry_id is None
    assert (first.status, first.value, second.status, second.value) == (
        CacheStatus.STALE,
        {"v": 1},
        CacheStatus.STALE,
        {"v": 2},
    )
    assert first.entry_id is not None
    assert again.entry_id == first.entry_id
    assert second.entry_id not in (None, first.entry_id)
    assert (await get(cache, key(), fetch)).entry_id == second.entry_id  # a hit on the same entry


class Unkept:
    """An answer its caller must not have kept (e.g. a GraphQL response with errors); not JSON either."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def keep_unless_unkept(value: object) -> bool:
    return not isinstance(value, Unkept)


async def test_an_answer_store_if_refuses_is_returned_to_every_waiter_not_stored_and_not_an_error(
    cache: MemoryCache,
) -> None:
    gate = asyncio.Event()
    refused = Unkept("errors")
    fetch = CountingFetch(refused, {"v": 2}, gate=gate)

    calls = [
        asyncio.create_task(cache.get_or_fetch(key(), fetch, ttl_s=TTL_S, stale_for_s=0, store_if=keep_unless_unkept))
        for _ in range(10)
    ]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*calls)

    assert fetch.calls == 1
    assert all(answer.value is refused and answer.status is CacheStatus.MISS for answer in answers)
    assert cache.entries == 0
    assert cache.stats.total("fetch_errors") == 0
    kept = await cache.get_or_fetch(key(), fetch, ttl_s=TTL_S, stale_for_s=0, store_if=keep_unless_unkept)
    assert (kept.value, cache.entries, fetch.calls) == ({"v": 2}, 1, 2)
    assert (await get(cache, key(), fetch)).status is CacheStatus.HIT


async def test_an_unkept_answer_leaves_the_stored_entry_as_it_was(cache: MemoryCache, clock: FakeClock) -> None:
    fetch = CountingFetch({"v": 1}, Unkept("stale data"))
    await get(cache, key(), fetch)
    clock.advance(TTL_S)
    unkept = await cache.get_or_fetch(key(), fetch, ttl_s=TTL_S, stale_for_s=STALE_FOR_S, store_if=keep_unless_unkept)
    assert isinstance(unkept.value, Unkept)
    assert cache.entries == 1
    clock.advance(STALE_FOR_S - 1)
    failing = CountingFetch(UpstreamUnavailable("ita", "down"))
    assert (await get(cache, key(), failing)).value == {"v": 1}  # still the first entry, served stale
