"""Replicas keep one pace to an OCDS publisher through the real Redis: the earliest start of the next request is
recorded (in the gateway's namespace, with a bounded TTL), and a replica taking over (`rejoin`, a refresh beginning
under the lock) waits for it, hold-offs after "too many requests" included. Fake clocks and sleeps; Redis is real."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.redis import redis_client
from gateway.settings import Settings
from gateway.upstreams.contractsfinder.adapter import open_contractsfinder_mirror
from gateway.upstreams.ocds.fetcher import Answer
from gateway.upstreams.ocds.pacing import Pacer, Pacing
from gateway.upstreams.ocds.shared_pace import MARGIN_S, RedisSharedPace
from tests.redis_harness import free_port, require_redis, unique_namespace
from tests.unit.test_ocds_mirror import NOW, Clock, FakeContractsFinder, mirror_settings, tender_release

PACING = Pacing(interval_s=10.0, throttled_wait_s=300.0, max_wait_s=600.0)


class FakeTime:
    """One wall clock (epoch seconds) for every replica, moving only when someone sleeps or the test says so."""

    def __init__(self) -> None:
        self.seconds = 1_780_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.seconds += seconds
        await asyncio.sleep(0)


def pacer(shared: RedisSharedPace, time: FakeTime) -> Pacer:
    return Pacer(PACING, clock=time, sleep=time.sleep, shared=shared, wall=time)


async def test_two_replicas_pacers_keep_one_pace() -> None:
    redis = redis_client(require_redis(), timeout_s=0.5, pool_size=4)
    key = unique_namespace("ocds-pace") + ":ocds-pace:contractsfinder"
    time = FakeTime()
    try:
        first = pacer(RedisSharedPace(redis, key, wall=time), time)
        second = pacer(RedisSharedPace(redis, key, wall=time), time)
        async with first.turn():
            pass
        assert time.slept == []  # nothing recorded yet
        assert 0 < await redis.pttl(key) <= (PACING.interval_s + MARGIN_S) * 1000  # a bounded TTL

        time.seconds += 3
        async with second.turn():  # its first request: 10 s after the other replica's, not 3
            pass
        assert time.slept == [pytest.approx(7.0)]

        time.slept.clear()
        first.rejoin()  # the first replica takes the lock back at once
        async with first.turn():
            pass
        assert time.slept == [pytest.approx(10.0)]

        # "Too many requests" on one replica holds the others back as long.
        time.slept.clear()
        await first.hold_off(300.0)
        second.rejoin()
        async with second.turn():
            pass
        assert time.slept == [pytest.approx(300.0)]
        assert await redis.pttl(key) <= (PACING.interval_s + MARGIN_S) * 1000

        # A record far ahead (a replica's clock gone wrong) holds a replica back at most max_wait_s.
        time.slept.clear()
        await redis.set(key, repr(time.seconds + 10_000))
        first.rejoin()
        async with first.turn():
            pass
        assert time.slept == [pytest.approx(PACING.max_wait_s)]

        # Without rejoin (no handoff), a replica's next request only keeps its own interval.
        time.slept.clear()
        await redis.set(key, repr(time.seconds + 100))
        async with first.turn():
            pass
        assert time.slept == [pytest.approx(10.0)]
    finally:
        await redis.delete([key])
        redis.connection_pool.disconnect()


async def test_without_redis_each_replica_paces_alone() -> None:
    redis = redis_client(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2, pool_size=2)
    time = FakeTime()
    try:
        shared = RedisSharedPace(redis, "gateway:ocds-pace:contractsfinder", timeout_s=0.2, wall=time)
        alone = pacer(shared, time)
        async with alone.turn():
            pass
        await alone.hold_off(5.0)
        async with alone.turn():
            pass
        assert time.slept == [pytest.approx(10.0)]  # its own pace; no error for want of Redis
        assert await shared.not_before() is None
    finally:
        redis.connection_pool.disconnect()


@dataclass
class TimedPublisher(FakeContractsFinder):
    """Records when each request reached it."""

    time: FakeTime = field(default_factory=FakeTime)
    starts: list[float] = field(default_factory=list)

    async def get(self, url: str, *, max_bytes: int) -> Answer:
        self.starts.append(self.time())
        return await super().get(url, max_bytes=max_bytes)


async def test_a_replica_taking_over_waits_for_the_publisher_interval(tmp_path: Path) -> None:
    namespace = unique_namespace("ocds-handoff")
    gateway = Settings.from_env({"GATEWAY_REDIS_URL": require_redis(), "GATEWAY_REDIS_NAMESPACE": namespace})
    time = FakeTime()
    publisher = TimedPublisher([tender_release(n, NOW - timedelta(hours=3 + 20 * n)) for n in range(3)], time=time)
    async with AsyncExitStack() as stack:
        mirrors = []
        for replica in ("a", "b"):
            settings = replace(
                mirror_settings(tmp_path / replica, backfill_days=2, request_interval_s=10.0), gateway_settings=gateway
            )
            mirrors.append(
                await open_contractsfinder_mirror(
                    settings, stack, transport=publisher, now=Clock(NOW), clock=time, wall=time, sleep=time.sleep
                )
            )
        for mirror in (*mirrors, mirrors[0]):  # one after the other, as the refresh lock hands over (and back)
            await mirror.refresh()
            assert mirror.statuses()[0].last_error is None
        assert len(publisher.starts) == 5  # two daily windows each, then the first replica's one short window
        gaps = [later - earlier for earlier, later in zip(publisher.starts, publisher.starts[1:], strict=False)]
        assert gaps == [pytest.approx(10.0)] * 4  # across each handoff too
        redis = redis_client(gateway.redis_url, timeout_s=0.5, pool_size=1)
        try:
            assert await redis.exists([f"{namespace}:ocds-pace:contractsfinder"]) == 1
            await redis.delete([f"{namespace}:ocds-pace:contractsfinder"])
        finally:
            redis.connection_pool.disconnect()
