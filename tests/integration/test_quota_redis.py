from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import coredis
import pytest

from gateway.errors import UpstreamQuotaExceeded, UpstreamUnavailable
from gateway.limits.keys import redis_client
from gateway.limits.quota import KEY_TTL_S, QuotaGuard
from tests.redis_harness import free_port, private_redis, require_redis, unique_namespace


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _guard(url: str, prefix: str, clock: FakeClock, quota: int = 10, **options: float) -> QuotaGuard:
    return QuotaGuard(
        {"sam": quota}, redis=redis_client(url, timeout_s=5, pool_size=20), prefix=prefix, clock=clock, **options
    )


async def _succeeded(guard: QuotaGuard) -> bool:
    try:
        await guard.acquire("sam")
    except UpstreamQuotaExceeded:
        return False
    return True


async def test_two_guards_let_exactly_the_quota_through_and_reset_at_utc_midnight() -> None:
    url = require_redis()
    prefix = unique_namespace("quota") + ":"
    clock = FakeClock(datetime(2026, 11, 25, 23, 58, 30, tzinfo=UTC))
    guards = [_guard(url, prefix, clock), _guard(url, prefix, clock)]
    try:
        outcomes = await asyncio.gather(*(_succeeded(guards[n % 2]) for n in range(50)))
        assert sum(outcomes) == 10
        assert await guards[1].remaining("sam") == 0
        with pytest.raises(UpstreamQuotaExceeded) as caught:
            await guards[0].acquire("sam")
        assert caught.value.retry_after_s == 90
        probe: coredis.Redis[str] = redis_client(url, timeout_s=5, pool_size=2)
        ttl = await probe.ttl(f"{prefix}sam:2026-11-25")
        assert KEY_TTL_S - 60 < ttl <= KEY_TTL_S
        probe.connection_pool.disconnect()
        clock.now += timedelta(seconds=91)
        assert sum(await asyncio.gather(*(_succeeded(guards[n % 2]) for n in range(20)))) == 10
        assert await guards[0].remaining("sam") == 0
    finally:
        for guard in guards:
            await guard.aclose()


async def test_pause_is_shared_between_replicas() -> None:
    url = require_redis()
    prefix = unique_namespace("pause") + ":"
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    left, right = _guard(url, prefix, clock, quota=100), _guard(url, prefix, clock, quota=100)
    try:
        await left.pause("sam", 30)
        with pytest.raises(UpstreamQuotaExceeded) as caught:
            await right.acquire("sam")
        assert caught.value.retry_after_s == 30
        clock.now += timedelta(seconds=31)
        await right.acquire("sam")
    finally:
        await left.aclose()
        await right.aclose()


async def test_unreachable_redis_fails_closed() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    guard = QuotaGuard(
        {"sam": 10},
        redis=redis_client(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5, pool_size=5),
        clock=clock,
        retry_storage_after_s=0.05,
    )
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable) as caught:
            await guard.acquire("sam")
        assert caught.value.code == "UPSTREAM_UNAVAILABLE"
        assert caught.value.upstream == "sam"
        await asyncio.sleep(0.06)
    assert await guard.remaining("sam") is None
    await guard.acquire("ita")  # no quota, nothing to protect
    await guard.aclose()


async def test_guard_recovers_by_itself_when_redis_comes_back() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    with private_redis() as server:
        guard = QuotaGuard(
            {"sam": 3},
            redis=redis_client(server.url, timeout_s=0.5, pool_size=5),
            clock=clock,
            retry_storage_after_s=0.1,
        )
        try:
            await guard.acquire("sam")
            server.stop()
            with pytest.raises(UpstreamUnavailable):
                await guard.acquire("sam")
            server.start()
            await asyncio.sleep(0.15)
            await guard.acquire("sam")  # a fresh server: the count starts again
            assert await guard.remaining("sam") == 2
        finally:
            await guard.aclose()
