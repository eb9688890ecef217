"""RateLimiter over fake shared windows that can fail or hang: the switch to the local share, never to admitting all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from gateway.limits.limiter import Budget, Decision, LocalWindows, RateLimiter, ratelimit_headers
from gateway.settings import Tier

FLAT_100 = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1_000, max_query_cost=100)
START = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeRedis:
    """Shared windows that count exactly (like Redis) until `down` (errors) or `hang_s` (never in time)."""

    def __init__(self, clock: FakeClock, *, replicas: int = 1) -> None:
        self.windows = LocalWindows(clock=clock)
        self.down = False
        self.hang_s = 0.0
        self.replicas = replicas
        self.calls = 0
        self.refunds: list[str] = []
        self.carried: list[tuple[str, int, int]] = []
        self.left = False
        self.closed = False

    async def _reachable(self) -> None:
        self.calls += 1
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.down:
            raise ConnectionError("Connection refused")

    async def check_request(self, key_id: str, tier: Tier) -> tuple[Decision, ...]:
        await self._reachable()
        return (self.windows.check_request(key_id, tier),)

    async def charge_cost(self, key_id: str, tier: Tier, cost: int) -> Decision:
        await self._reachable()
        return self.windows.charge_cost(key_id, tier, cost)

    async def budget(self, key_id: str, tier: Tier) -> Budget:
        await self._reachable()
        return self.windows.budget(key_id, tier)

    async def refund_request(self, key_id: str, tier: Tier, decided_at: float) -> None:
        await self._reachable()
        self.refunds.append("request")
        self.windows.refund_request(key_id, tier, decided_at)

    async def refund_cost(self, key_id: str, tier: Tier, cost: int, decided_at: float) -> None:
        await self._reachable()
        self.refunds.append(f"cost {cost}")
        self.windows.refund_cost(key_id, tier, cost, decided_at)

    async def carry(self, key_id: str, tier: Tier, admitted_at: Sequence[float], cost: int) -> None:
        await self._reachable()
        self.carried.append((key_id, len(admitted_at), cost))
        for _ in admitted_at:
            self.windows.record_request(key_id, tier)
        self.windows.record_cost(key_id, tier, cost)

    async def beat(self) -> int:
        await self._reachable()
        return self.replicas

    async def leave(self) -> None:
        await self._reachable()
        self.left = True

    def close(self) -> None:
        self.closed = True


OpenLimiter = Callable[..., tuple[RateLimiter, FakeRedis, FakeClock]]


@pytest.fixture
async def open_limiter() -> AsyncIterator[OpenLimiter]:
    opened: list[RateLimiter] = []

    def open_(*, replicas: int = 1, **options: Any) -> tuple[RateLimiter, FakeRedis, FakeClock]:
        clock = FakeClock()
        redis = FakeRedis(clock, replicas=replicas)
        limiter = RateLimiter(redis, clock=clock, monotonic=clock, **options)
        opened.append(limiter)
        return limiter, redis, clock

    yield open_
    for limiter in opened:
        await limiter.aclose()


async def _admitted(limiter: RateLimiter, attempts: int, *, key: str = "k", tier: Tier = FLAT_100) -> list[Decision]:
    decisions = [await limiter.check_request(key, tier) for _ in range(attempts)]
    return [decision for decision in decisions if decision.allowed]


async def test_redis_down_from_the_start_limits_to_the_fallback_share_and_logs_once(
    open_limiter: OpenLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    limiter, redis, _ = open_limiter(fallback_replicas=2)
    redis.down = True
    with caplog.at_level(logging.WARNING, logger="gateway.limits.limiter"):
        admitted = await _admitted(limiter, 120)
        refused = await limiter.check_request("k", FLAT_100)
    assert len(admitted) == 50
    assert all(decision.degraded for decision in admitted)
    assert (refused.allowed, refused.limit, refused.degraded, refused.retry_after_s) == (False, 50, True, 60)
    assert limiter.replicas_seen is None
    assert limiter.degraded
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


async def test_the_share_divides_by_the_replicas_the_heartbeats_counted(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(replicas=4, fallback_replicas=2)
    await limiter.start()
    assert limiter.replicas_seen == 4
    redis.down = True
    assert len(await _admitted(limiter, 100)) == 25
    redis.replicas = 1
    assert await limiter.refresh_replicas() == 4  # the count last seen holds through the outage


async def test_an_outage_mid_burst_counts_what_this_replica_already_admitted(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(replicas=2)
    await limiter.start()
    before = await _admitted(limiter, 30)
    assert not any(decision.degraded for decision in before)
    redis.down = True
    during = await _admitted(limiter, 100)
    assert len(during) == 20  # 30 + 20 = the share of 50, not 30 + 50
    assert all(decision.degraded for decision in during)


async def test_a_redis_timeout_is_an_outage_too(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(timeout_s=0.02, fallback_replicas=4)
    redis.hang_s = 10
    first = await limiter.check_request("k", FLAT_100)  # waits `timeout_s` for Redis, then decides locally
    assert (first.allowed, first.degraded) == (True, True)
    rest = await asyncio.gather(*(limiter.check_request("k", FLAT_100) for _ in range(39)))
    assert sum(decision.allowed for decision in rest) == 24
    assert all(decision.degraded for decision in rest)
    assert redis.calls <= 2  # the first call and the first heartbeat: the rest did not wait for Redis


async def test_one_call_per_probe_interval_tries_redis_and_the_first_success_ends_the_outage(
    open_limiter: OpenLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    limiter, redis, clock = open_limiter(retry_storage_after_s=1.0, replicas=2)
    await limiter.start()
    redis.down = True
    assert (await limiter.check_request("k", FLAT_100)).degraded
    calls = redis.calls
    for _ in range(10):
        assert (await limiter.check_request("k", FLAT_100)).degraded
    assert redis.calls == calls  # no call while the probe interval runs
    redis.down = False
    clock.now += 1.0
    with caplog.at_level(logging.WARNING, logger="gateway.limits.limiter"):
        probe = await limiter.check_request("k", FLAT_100)
    # Redis decides again, over the whole limit, knowing the 11 admitted alone (carried over before the probe)
    assert (probe.allowed, probe.degraded, probe.limit, probe.remaining) == (True, False, 100, 88)
    assert not limiter.degraded
    assert any("reachable again" in record.getMessage() for record in caplog.records)
    assert len(await _admitted(limiter, 200)) == 88


async def test_the_cost_budget_falls_back_to_its_share(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(replicas=2)
    await limiter.start()
    assert (await limiter.charge_cost("k", FLAT_100, 300)).allowed  # counted by Redis and recorded here
    redis.down = True
    refused = await limiter.charge_cost("k", FLAT_100, 201)
    assert (refused.allowed, refused.degraded, refused.limit, refused.remaining) == (False, True, 500, 200)
    assert refused.retry_after_s == 3600
    assert (await limiter.charge_cost("k", FLAT_100, 200)).allowed
    assert not (await limiter.charge_cost("k", FLAT_100, 1)).allowed


async def test_the_budget_and_its_headers_come_from_the_local_counters_during_an_outage(
    open_limiter: OpenLimiter,
) -> None:
    limiter, redis, _ = open_limiter(replicas=2)
    await limiter.start()
    redis.down = True
    await _admitted(limiter, 10)
    await limiter.charge_cost("k", FLAT_100, 40)
    budget = await limiter.peek("k", FLAT_100)
    assert budget.degraded
    assert (budget.rate.limit, budget.rate.remaining, budget.cost.limit, budget.cost.remaining) == (50, 40, 500, 460)
    assert ratelimit_headers(budget) == {
        "RateLimit-Policy": '"minute";q=50;w=60, "cost";q=500;w=3600;pgw-qu="cost-points"',
        "RateLimit": '"minute";r=40;t=60, "cost";r=460;t=3600',
    }


async def test_a_refund_goes_to_whichever_side_counted_the_unit(open_limiter: OpenLimiter) -> None:
    tier = Tier("t", requests_per_minute=2, burst=2, cost_per_hour=100, max_query_cost=100)
    limiter, redis, _ = open_limiter(replicas=1)
    await limiter.start()
    admitted = await limiter.check_request("k", tier)
    charged = await limiter.charge_cost("k", tier, 60)
    await limiter.refund_request("k", tier, admitted)
    await limiter.refund_cost("k", tier, 60, charged)
    assert redis.refunds == ["request", "cost 60"]
    shared = await limiter.peek("k", tier)
    assert (shared.rate.remaining, shared.cost.remaining) == (2, 100)

    redis.down = True
    local = [await limiter.check_request("k", tier) for _ in range(3)]
    assert [(d.allowed, d.degraded) for d in local] == [(True, True), (True, True), (False, True)]
    await limiter.refund_request("k", tier, local[0])
    assert (await limiter.check_request("k", tier)).allowed
    await limiter.refund_request("k", tier, local[2])  # a refused request took nothing
    assert not (await limiter.check_request("k", tier)).allowed
    assert redis.refunds == ["request", "cost 60"]  # units counted locally are given back locally


async def test_a_refund_redis_cannot_take_is_dropped_quietly(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter()
    await limiter.start()
    admitted = await limiter.check_request("k", FLAT_100)
    redis.down = True
    await limiter.refund_request("k", FLAT_100, admitted)
    assert redis.refunds == []
    assert limiter.local.budget("k", FLAT_100).rate.remaining == 100  # its local record was given back


async def test_closing_stops_the_heartbeats_and_leaves(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(heartbeat_s=0.01, replicas=3)
    await limiter.check_request("k", FLAT_100)  # the first call starts the heartbeats
    await asyncio.sleep(0.05)
    assert limiter.replicas_seen == 3
    beats = redis.calls
    assert beats >= 3
    await limiter.aclose()
    assert (redis.left, redis.closed) == (True, True)
    calls = redis.calls
    await asyncio.sleep(0.03)
    assert redis.calls == calls


async def test_without_redis_the_limits_are_exact_and_never_degraded() -> None:
    limiter = RateLimiter.in_memory()
    decisions = await asyncio.gather(*(limiter.check_request("k", FLAT_100) for _ in range(150)))
    assert sum(decision.allowed for decision in decisions) == 100
    assert not any(decision.degraded for decision in decisions)
    assert await limiter.refresh_replicas() is None
    assert not (await limiter.peek("k", FLAT_100)).degraded
    await limiter.aclose()


def test_settings_give_the_fallback_replicas_and_a_bad_value_is_refused() -> None:
    with pytest.raises(ValueError, match="fallback_replicas"):
        RateLimiter(fallback_replicas=0)
    assert RateLimiter(fallback_replicas=3).replicas() == 3


async def test_what_a_replica_admitted_alone_is_added_to_redis_when_it_is_back(open_limiter: OpenLimiter) -> None:
    limiter, redis, clock = open_limiter(replicas=2, retry_storage_after_s=1.0)
    await limiter.start()
    assert len(await _admitted(limiter, 20)) == 20
    redis.down = True
    assert len(await _admitted(limiter, 40)) == 30
    await limiter.charge_cost("k", FLAT_100, 120)
    shed = await limiter.check_request("other", FLAT_100)
    await limiter.refund_request("other", FLAT_100, shed)  # a unit given back is not carried
    redis.down = False
    clock.now += 1.0
    assert len(await _admitted(limiter, 100)) == 50  # Redis knows the 20 it admitted and the 30 admitted alone
    assert redis.carried == [("k", 30, 120)]
    assert (await limiter.peek("k", FLAT_100)).cost.remaining == 880
    assert len(await _admitted(limiter, 1, key="other")) == 1
    assert redis.carried == [("k", 30, 120)]


async def test_a_unit_carried_in_vain_stays_for_the_next_try(open_limiter: OpenLimiter) -> None:
    limiter, redis, clock = open_limiter(replicas=1, retry_storage_after_s=1.0)
    await limiter.start()
    redis.down = True
    assert len(await _admitted(limiter, 3)) == 3
    clock.now += 1.0  # the probe (the carry) fails: the units wait
    assert (await limiter.check_request("k", FLAT_100)).degraded
    redis.down = False
    clock.now += 1.0
    assert not (await limiter.check_request("k", FLAT_100)).degraded
    assert redis.carried == [("k", 4, 0)]
    clock.now += 60  # a minute later nothing admitted alone is left to carry
    redis.down = True
    await limiter.check_request("late", FLAT_100)
    clock.now += 61
    redis.down = False
    assert not (await limiter.check_request("late", FLAT_100)).degraded
    assert redis.carried == [("k", 4, 0)]


async def test_a_request_redis_is_still_deciding_counts_against_the_share(open_limiter: OpenLimiter) -> None:
    limiter, redis, _ = open_limiter(replicas=2, timeout_s=5.0)
    await limiter.start()
    assert len(await _admitted(limiter, 45)) == 45
    redis.hang_s = 0.05
    in_flight = [asyncio.create_task(limiter.check_request("k", FLAT_100)) for _ in range(5)]
    await asyncio.sleep(0)
    redis.hang_s, redis.down = 0.0, True  # Redis goes away while those five wait for their answer
    alone = await limiter.check_request("k", FLAT_100)
    assert (alone.allowed, alone.degraded) == (False, True)  # 45 + 5 deciding = the share of 50
    redis.down = False
    assert all(decision.allowed and not decision.degraded for decision in await asyncio.gather(*in_flight))
