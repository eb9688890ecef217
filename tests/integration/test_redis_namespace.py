"""`redis_namespace`: two deployments sharing one Redis (staging, production) share no key and no counter."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest

from gateway.cache.store import RedisCache, open_cache
from gateway.edge.persisted import open_persisted_documents
from gateway.errors import UpstreamQuotaExceeded
from gateway.limits.keys import ApiKeys, redis_client
from gateway.limits.limiter import RateLimiter
from gateway.limits.quota import QuotaGuard
from gateway.settings import CredentialSettings, Settings, Tier, default_credentials
from tests.redis_harness import private_redis, require_redis, unique_namespace

THREE_A_MINUTE = Tier("three", requests_per_minute=3, burst=3, cost_per_hour=1_000, max_query_cost=100)
# Every part of the gateway that writes to Redis, and where under the namespace it writes.
PARTS = ("ratelimit:", "quota:", "apikeys:", "cache:", "apq:")


def _settings(url: str, namespace: str) -> Settings:
    quotas = {**default_credentials(), "sam": CredentialSettings(daily_quota=2)}
    settings = Settings(redis_url=url, redis_namespace=namespace, keys_store="redis", credentials=quotas)
    settings.validate()
    return settings


def _clock() -> datetime:
    """A day no other test counts on, so that its quota keys are this test's alone."""
    return datetime(random.randint(2100, 9000), random.randint(1, 12), random.randint(1, 28), 12, tzinfo=UTC)


async def _keys(url: str, pattern: str) -> set[str]:
    client = redis_client(url, timeout_s=5, pool_size=2)
    try:
        return {name async for name in client.scan_iter(match=pattern, count=1000)}
    finally:
        client.connection_pool.disconnect()


async def _delete(url: str, pattern: str) -> None:
    client = redis_client(url, timeout_s=5, pool_size=2)
    try:
        doomed = [name async for name in client.scan_iter(match=pattern, count=1000)]
        if doomed:
            await client.delete(doomed)
    finally:
        client.connection_pool.disconnect()


@pytest.fixture
async def namespaces() -> AsyncIterator[tuple[str, str]]:
    pair = (unique_namespace("staging"), unique_namespace("production"))
    yield pair
    for namespace in pair:
        await _delete(require_redis(), f"{namespace}:*")


async def _spend_quota(guard: QuotaGuard, calls: int) -> int:
    granted = 0
    for _ in range(calls):
        try:
            await guard.acquire("sam")
        except UpstreamQuotaExceeded:
            continue
        granted += 1
    return granted


async def test_two_namespaces_on_one_redis_keep_separate_rate_limits_and_quota(
    namespaces: tuple[str, str],
) -> None:
    url = require_redis()
    clock = _clock()
    key_id = uuid.uuid4().hex[:12]  # the same caller id in both deployments
    deployments = [_settings(url, namespace) for namespace in namespaces]
    limiters = [RateLimiter.from_settings(settings) for settings in deployments]
    guards = [QuotaGuard.from_settings(settings, clock=lambda: clock) for settings in deployments]
    try:
        for limiter in limiters:  # production's limiter starts afresh after staging's has refused
            decisions = await asyncio.gather(*(limiter.check_request(key_id, THREE_A_MINUTE) for _ in range(5)))
            assert sum(decision.allowed for decision in decisions) == 3
            assert not any(decision.degraded for decision in decisions)
        charged = [await limiter.charge_cost(key_id, THREE_A_MINUTE, 600) for limiter in limiters]
        assert [(decision.allowed, decision.remaining) for decision in charged] == [(True, 400), (True, 400)]

        assert [await _spend_quota(guard, 3) for guard in guards] == [2, 2]
        assert [await guard.remaining("sam") for guard in guards] == [0, 0]
        await guards[0].pause("sam", 60)  # a pause in staging does not pause production
        with pytest.raises(UpstreamQuotaExceeded, match="pause"):
            await guards[0].acquire("sam")
        with pytest.raises(UpstreamQuotaExceeded, match="spent"):
            await guards[1].acquire("sam")

        day = clock.date().isoformat()
        for namespace in namespaces:
            written = await _keys(url, f"{namespace}:*")
            assert f"{namespace}:quota:sam:{day}" in written
            assert any(name.startswith(f"{namespace}:ratelimit:") and key_id in name for name in written)
        for marker in (key_id, day):  # nothing this test wrote lives outside the two namespaces
            found = await _keys(url, f"*{marker}*")
            assert found
            assert all(name.startswith(tuple(f"{namespace}:" for namespace in namespaces)) for name in found)
    finally:
        for limiter in limiters:
            await limiter.aclose()
        for guard in guards:
            await guard.aclose()


async def _use_every_redis_part(settings: Settings, marker: str) -> None:
    """Writes through each Redis user the gateway builds from its settings, as `create_app` opens them."""
    clock = _clock()
    async with AsyncExitStack() as stack:
        limiter = RateLimiter.from_settings(settings)
        stack.push_async_callback(limiter.aclose)
        keys = ApiKeys.from_settings(settings)
        stack.push_async_callback(keys.aclose)
        guard = QuotaGuard.from_settings(settings, clock=lambda: clock)
        stack.push_async_callback(guard.aclose)
        cache = await open_cache(settings, stack)
        assert isinstance(cache, RedisCache)
        documents = open_persisted_documents(settings)
        await documents.open(stack)

        issued = await keys.create(tier="three", owner=marker)
        assert await keys.authenticate(issued.plaintext) is not None
        key_id = issued.record.key_id
        assert (await limiter.check_request(key_id, THREE_A_MINUTE)).allowed
        assert (await limiter.charge_cost(key_id, THREE_A_MINUTE, 5)).allowed
        await guard.acquire("sam")
        await guard.pause("sam", 60)
        await cache.get_or_fetch(f"sam:{marker}", _answer, ttl_s=60, stale_for_s=60)
        query = f"{{ sources {{ name }} }} # {marker}"
        sha256 = hashlib.sha256(query.encode()).hexdigest()
        assert await documents.document(query, {"persistedQuery": {"version": 1, "sha256Hash": sha256}}) == query


async def _answer() -> object:
    return {"rows": [1, 2, 3]}


async def test_every_key_a_namespaced_gateway_writes_starts_with_its_namespace(namespaces: tuple[str, str]) -> None:
    url = require_redis()
    for namespace in namespaces:
        await _use_every_redis_part(_settings(url, namespace), marker=namespace)
    for namespace in namespaces:
        written = await _keys(url, f"{namespace}:*")
        for part in PARTS:
            assert any(name.startswith(f"{namespace}:{part}") for name in written), (part, sorted(written))


async def test_no_key_outside_the_namespace_on_an_empty_redis() -> None:
    """On a Redis of its own, SCAN sees everything: every key two namespaced gateways wrote is under a namespace."""
    namespaces = ("staging", "production.eu-1")
    with private_redis() as server:
        for namespace in namespaces:
            await _use_every_redis_part(_settings(server.url, namespace), marker=namespace)
        written = await _keys(server.url, "*")
    assert written
    strays = sorted(name for name in written if not name.startswith(tuple(f"{ns}:" for ns in namespaces)))
    assert strays == []
    for namespace in namespaces:
        for part in PARTS:
            assert any(name.startswith(f"{namespace}:{part}") for name in written), (namespace, part)


async def test_the_specific_namespace_settings_still_override() -> None:
    settings = Settings(
        redis_namespace="staging",
        cache_redis_namespace="legacy:cache",
        persisted_documents_redis_namespace="legacy:apq",
    )
    assert (settings.cache_namespace, settings.persisted_documents_namespace) == ("legacy:cache", "legacy:apq")
    defaults = Settings()
    assert (defaults.cache_namespace, defaults.persisted_documents_namespace) == ("gateway:cache", "gateway:apq")
    assert defaults.redis_prefix("ratelimit") == "gateway:ratelimit"
