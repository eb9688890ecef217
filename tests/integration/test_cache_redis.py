"""RedisCache against a real Redis: envelopes, cross-replica single-flight, the fetch lock, outages and recovery.

Needs the shared Redis at 127.0.0.1:6379 (TEST_REDIS_URL overrides it) and fails when it is absent. The outage
tests start their own `redis-server` on a free port; the shared server is never stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
import redis.asyncio
from redis.exceptions import RedisError

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, RedisCache, cache_key, open_cache
from gateway.errors import UpstreamUnavailable
from gateway.settings import Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = cache_key("sam", "contract-awards/v1/search", {"piid": "X1"})

OpenCache = Callable[..., RedisCache]


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SlowFetch:
    def __init__(self, value: object, delay_s: float = 0.0) -> None:
        self.value = value
        self.delay_s = delay_s
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        pytest.fail(f"these tests need Redis at {REDIS_URL} ({error}); start it (see DESIGN.md §9)")
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    namespace = f"test:cache:{uuid.uuid4().hex}"
    yield namespace
    keys = [key async for key in redis_client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def open_redis_cache(namespace: str) -> AsyncIterator[OpenCache]:
    opened: list[RedisCache] = []

    def open_one(url: str = REDIS_URL, **options: object) -> RedisCache:
        cache = RedisCache(url, namespace=namespace, **options)  # type: ignore[arg-type]
        opened.append(cache)
        return cache

    yield open_one
    for cache in opened:
        await cache.close()


async def get(cache: RedisCache, fetch: Fetch, key: str = KEY, ttl_s: int = 60, stale_for_s: int = 600) -> Cached:
    return await cache.get_or_fetch(key, fetch, ttl_s=ttl_s, stale_for_s=stale_for_s)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_values_are_json_envelopes_kept_for_ttl_plus_stale_window(
    open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis
) -> None:
    clock = FakeClock()
    cache = open_redis_cache(clock=clock)
    fetch = SlowFetch({"totalRecords": 1, "data": [{"piid": "X1"}]})

    first = await get(cache, fetch, ttl_s=60, stale_for_s=600)
    clock.now += 30
    second = await get(cache, fetch)

    assert first == Cached({"totalRecords": 1, "data": [{"piid": "X1"}]}, CacheStatus.MISS)
    assert second == Cached(first.value, CacheStatus.HIT, 30.0)
    assert fetch.calls == 1
    stored = await redis_client.get(cache.entry_key(KEY))
    assert isinstance(stored, bytes)
    assert json.loads(stored) == {"stored_at": 1_700_000_000.0, "payload": first.value}
    assert 655 <= await redis_client.ttl(cache.entry_key(KEY)) <= 660
    assert not await redis_client.exists(cache.lock_key(KEY))


async def test_no_body_marker_round_trips(open_redis_cache: OpenCache) -> None:
    cache = open_redis_cache()
    await get(cache, SlowFetch(JSON_NULL_BODY))

    hit = await get(cache, SlowFetch({"unused": True}))

    assert hit.status is CacheStatus.HIT
    assert hit.value is JSON_NULL_BODY


async def test_unreadable_entries_are_misses(open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis) -> None:
    cache = open_redis_cache()
    await redis_client.set(cache.entry_key(KEY), b"not an envelope")

    answer = await get(cache, SlowFetch([1]))

    assert answer == Cached([1], CacheStatus.MISS)


async def test_an_answer_store_if_refuses_is_answered_but_never_written(
    open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis
) -> None:
    cache = open_redis_cache()
    refused = SlowFetch({"errors": ["not for everyone"]})

    answer = await cache.get_or_fetch(KEY, refused, ttl_s=60, stale_for_s=0, store_if=lambda value: False)

    assert answer == Cached({"errors": ["not for everyone"]}, CacheStatus.MISS)
    assert not await redis_client.exists(cache.entry_key(KEY))
    assert not await redis_client.exists(cache.lock_key(KEY))
    assert cache.stats.total("fetch_errors") == 0
    kept = SlowFetch({"data": 1})
    await cache.get_or_fetch(KEY, kept, ttl_s=60, stale_for_s=0, store_if=lambda value: True)
    assert (await get(cache, kept)).status is CacheStatus.HIT
    assert (refused.calls, kept.calls) == (1, 1)


async def test_stale_if_error_from_redis(open_redis_cache: OpenCache) -> None:
    clock = FakeClock()
    cache = open_redis_cache(clock=clock)
    await get(cache, SlowFetch({"v": 1}), ttl_s=60, stale_for_s=600)
    clock.now += 100

    stale = await get(cache, SlowFetch(UpstreamUnavailable("sam", "down")), ttl_s=60, stale_for_s=600)
    clock.now += 600
    with pytest.raises(UpstreamUnavailable):
        await get(cache, SlowFetch(UpstreamUnavailable("sam", "down")), ttl_s=60, stale_for_s=600)

    assert stale == Cached({"v": 1}, CacheStatus.STALE, 100.0)
    assert cache.stats.snapshot()["sam"]["fetch_errors"] == 2


async def test_entry_id_is_shared_by_hits_and_stale_serves_and_changes_with_the_entry(
    open_redis_cache: OpenCache,
) -> None:
    clock = FakeClock()
    cache, replica = open_redis_cache(clock=clock), open_redis_cache(clock=clock)
    miss = await get(cache, SlowFetch({"v": 1}))
    hit = await get(cache, SlowFetch({"unused": True}))
    clock.now += 60
    stale = await get(replica, SlowFetch(UpstreamUnavailable("sam", "down")))
    refreshed = await get(replica, SlowFetch({"v": 2}))
    hit_after = await get(cache, SlowFetch({"unused": True}))

    assert miss.entry_id is None
    assert hit.entry_id is not None
    assert stale.entry_id == hit.entry_id
    assert refreshed.status is CacheStatus.MISS
    assert (hit_after.value, hit_after.status) == ({"v": 2}, CacheStatus.HIT)
    assert hit_after.entry_id not in (None, hit.entry_id)


async def test_two_replicas_make_one_fetch_for_200_concurrent_cold_gets(open_redis_cache: OpenCache) -> None:
    replicas = (open_redis_cache(), open_redis_cache())
    fetch = SlowFetch({"v": "shared"}, delay_s=0.2)

    answers = await asyncio.gather(*(get(replicas[n % 2], fetch) for n in range(200)))

    assert fetch.calls == 1
    assert all(answer.value == {"v": "shared"} for answer in answers)
    statuses = [answer.status for answer in answers]
    assert statuses.count(CacheStatus.MISS) == 100
    assert statuses.count(CacheStatus.HIT) == 100
    assert sum(replica.stats.total("redis_errors") for replica in replicas) == 0


async def test_a_replica_stuck_in_its_fetch_holds_the_others_only_for_the_wait_bound(
    open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis
) -> None:
    stuck_replica = open_redis_cache()
    other = open_redis_cache(lock_wait_s=0.5)
    started = asyncio.Event()

    async def never_answers() -> object:
        started.set()
        await asyncio.Event().wait()
        return None  # pragma: no cover

    stuck = asyncio.create_task(get(stuck_replica, never_answers))
    await started.wait()
    fetch = SlowFetch({"v": "own"})
    began = time.monotonic()
    answer = await get(other, fetch)
    waited_s = time.monotonic() - began

    assert answer == Cached({"v": "own"}, CacheStatus.MISS)
    assert fetch.calls == 1
    assert 0.45 <= waited_s < 1.5
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    assert not await redis_client.exists(stuck_replica.lock_key(KEY))  # released, token-checked, on cancellation


async def test_a_cancelled_lock_holder_releases_the_lock_at_once(open_redis_cache: OpenCache) -> None:
    holder = open_redis_cache()
    other = open_redis_cache(lock_wait_s=5.0)
    started = asyncio.Event()

    async def never_answers() -> object:
        started.set()
        await asyncio.Event().wait()
        return None  # pragma: no cover

    held = asyncio.create_task(get(holder, never_answers))
    await started.wait()
    fetch = SlowFetch({"v": "own"})
    began = time.monotonic()
    waiting = asyncio.create_task(get(other, fetch))
    await asyncio.sleep(0.1)
    held.cancel()
    answer = await waiting

    assert answer.status is CacheStatus.MISS
    assert fetch.calls == 1
    assert time.monotonic() - began < 1.0


async def test_a_dead_holders_lock_expires_and_the_waiter_fetches(
    open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis
) -> None:
    cache = open_redis_cache(lock_wait_s=5.0)
    await redis_client.set(cache.lock_key(KEY), "token-of-a-dead-replica", px=400)
    fetch = SlowFetch({"v": 1})

    began = time.monotonic()
    answer = await get(cache, fetch)

    assert answer.status is CacheStatus.MISS
    assert 0.35 <= time.monotonic() - began < 1.5


async def test_a_foreign_lock_is_not_released(open_redis_cache: OpenCache, redis_client: redis.asyncio.Redis) -> None:
    cache = open_redis_cache(lock_wait_s=0.2)
    await redis_client.set(cache.lock_key(KEY), "someone-else", px=5_000)

    await get(cache, SlowFetch({"v": 1}))

    assert await redis_client.get(cache.lock_key(KEY)) == b"someone-else"


async def test_1000_concurrent_hits_fit_the_blocking_pool(open_redis_cache: OpenCache) -> None:
    cache = open_redis_cache(timeout_s=5.0)
    await get(cache, SlowFetch({"v": 1}))

    answers = await asyncio.gather(*(get(cache, SlowFetch("unused")) for _ in range(1000)))

    assert {answer.status for answer in answers} == {CacheStatus.HIT}
    assert cache.stats.total("redis_errors") == 0


async def test_without_redis_the_cache_answers_from_fetch_and_warns_once(
    open_redis_cache: OpenCache, caplog: pytest.LogCaptureFixture
) -> None:
    cache = open_redis_cache(f"redis://127.0.0.1:{free_port()}/0", probe_every_s=60.0)
    fetch = SlowFetch({"v": 1})

    with caplog.at_level(logging.WARNING, logger="gateway.cache.store"):
        answers = [await get(cache, fetch) for _ in range(3)]

    assert [answer.status for answer in answers] == [CacheStatus.MISS] * 3
    assert fetch.calls == 3
    assert [record.getMessage() for record in caplog.records if "redis unavailable" in record.getMessage()] != []
    assert len(caplog.records) == 1
    assert cache.stats.snapshot()["sam"]["redis_errors"] == 1


async def test_a_redis_that_never_answers_costs_one_timeout(open_redis_cache: OpenCache) -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        cache = open_redis_cache(f"redis://127.0.0.1:{port}/0", timeout_s=0.2, probe_every_s=60.0)
        began = time.monotonic()
        first = await get(cache, SlowFetch({"v": 1}))
        first_s = time.monotonic() - began
        began = time.monotonic()
        second = await get(cache, SlowFetch({"v": 2}))
        second_s = time.monotonic() - began
        await cache.close()

    assert (first.status, second.status) == (CacheStatus.MISS, CacheStatus.MISS)
    assert 0.15 <= first_s < 0.6
    assert second_s < 0.1
    assert cache.outage.down


class OwnRedis:
    """A throwaway redis-server on a free port, to stop and start (never the shared one)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.process = await asyncio.create_subprocess_exec(
            *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = redis.asyncio.Redis.from_url(self.url)
        try:
            for _ in range(250):
                try:
                    await client.ping()
                except (RedisError, OSError):
                    await asyncio.sleep(0.02)
                else:
                    return
            pytest.fail(f"redis-server did not start on port {self.port}")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    server = OwnRedis()
    yield server
    await server.stop()


async def test_redis_going_down_mid_run_then_coming_back(
    own_redis: OwnRedis, open_redis_cache: OpenCache, caplog: pytest.LogCaptureFixture
) -> None:
    await own_redis.start()
    cache = open_redis_cache(own_redis.url, probe_every_s=0.1)
    fetch = SlowFetch({"v": 1})
    assert (await get(cache, fetch)).status is CacheStatus.MISS
    assert (await get(cache, fetch)).status is CacheStatus.HIT

    await own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="gateway.cache.store"):
        during = [await get(cache, fetch, key=f"sam:outage:{n}") for n in range(5)]
        during.append(await get(cache, fetch))
        assert cache.outage.down

        await own_redis.start()
        await asyncio.sleep(0.15)  # past the probe interval
        after = await get(cache, fetch, key="sam:after")
        again = await get(cache, fetch, key="sam:after")

    assert all(answer.status is CacheStatus.MISS for answer in during)
    assert fetch.calls == 1 + 6 + 1
    assert (after.status, again.status) == (CacheStatus.MISS, CacheStatus.HIT)
    assert not cache.outage.down
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("redis unavailable")
    assert messages[1].startswith("redis available again")


async def test_open_cache_with_a_redis_url_opens_and_closes_a_redis_cache(namespace: str) -> None:
    settings = Settings(redis_url=REDIS_URL, cache_redis_namespace=namespace)
    async with AsyncExitStack() as stack:
        cache = await open_cache(settings, stack)
        assert isinstance(cache, RedisCache)
        assert (await get(cache, SlowFetch([1]))).status is CacheStatus.MISS
        hit = await get(cache, SlowFetch([2]))
        assert (hit.value, hit.status) == ([1], CacheStatus.HIT)
