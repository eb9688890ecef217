"""The limiter on the real Redis: replicas counted by heartbeats, each holding its share when Redis dies mid-burst,
the shared limits back when Redis is; refunds in Redis.

The heartbeat and refund tests use the shared Redis at 127.0.0.1:6379 under a namespace of their own; the outage
tests start a private `redis-server` on a free port and stop it (the shared server is never stopped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gateway.limits.limiter import Decision, RateLimiter
from gateway.redis import redis_client
from gateway.settings import Tier
from tests.redis_harness import PrivateRedis, private_redis, require_redis, unique_namespace

FLAT_100 = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1_000, max_query_cost=100)
BURSTY = Tier("bursty", requests_per_minute=30, burst=10, cost_per_hour=500, max_query_cost=100)
REPLICAS = 2
SHARE = 100 // REPLICAS


def _limiter(url: str, namespace: str, **options: Any) -> RateLimiter:
    return RateLimiter.on_redis(url, namespace=namespace, key_prefix=f"{namespace}:ratelimit", **options)


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    with private_redis() as running:
        yield running


@pytest.fixture
async def replicas(server: PrivateRedis) -> AsyncIterator[list[RateLimiter]]:
    namespace = unique_namespace("outage")
    # timeout_s is generous: a refused connection fails at once, and a slow loop must not pass for an outage here
    limiters = [_limiter(server.url, namespace, timeout_s=2.0, retry_storage_after_s=0.1) for _ in range(REPLICAS)]
    try:
        for limiter in limiters:
            await limiter.start()
        assert [await limiter.refresh_replicas() for limiter in limiters] == [REPLICAS] * REPLICAS
        yield limiters
    finally:
        for limiter in limiters:
            await limiter.aclose()


async def _until_shared(limiter: RateLimiter, tier: Tier) -> None:
    """Probes now and then (as any call does) until Redis answers the limiter again."""
    deadline = time.monotonic() + 10
    while (await limiter.peek("probe", tier)).degraded:
        assert time.monotonic() < deadline, "the limiter did not notice Redis was back"
        await asyncio.sleep(0.05)


async def _burst(limiter: RateLimiter, key_id: str, *, clients: int, each: int) -> list[Decision]:
    """`clients` concurrent callers on one replica, each sending `each` requests one after the other."""

    async def client() -> list[Decision]:
        return [await limiter.check_request(key_id, FLAT_100) for _ in range(each)]

    return [
        decision for decisions in await asyncio.gather(*(client() for _ in range(clients))) for decision in decisions
    ]


async def test_two_replicas_admit_within_their_shares_when_redis_dies_mid_burst_then_recover(
    server: PrivateRedis, replicas: list[RateLimiter]
) -> None:
    before = await asyncio.gather(*(_burst(limiter, "shared-key", clients=5, each=6) for limiter in replicas))
    assert [sum(d.allowed and not d.degraded for d in decisions) for decisions in before] == [30, 30]
    server.stop()
    during = await asyncio.gather(*(_burst(limiter, "shared-key", clients=5, each=40) for limiter in replicas))
    alone = [sum(d.allowed for d in decisions) for decisions in during]
    assert all(d.degraded for decisions in during for d in decisions)
    assert alone == [SHARE - 30, SHARE - 30]  # what each replica admitted through Redis counts against its share
    assert sum(alone) + 60 == REPLICAS * SHARE  # the whole burst: within replicas x share, and not refused at all
    assert {(d.policy, d.limit) for decisions in during for d in decisions if not d.allowed} == {("minute", SHARE)}
    budget = await replicas[1].peek("shared-key", FLAT_100)  # the answers' RateLimit headers, from local counters
    assert (budget.degraded, budget.rate.limit, budget.rate.remaining) == (True, SHARE, 0)

    server.start()  # empty: this Redis keeps nothing across a restart
    for limiter in replicas:
        await _until_shared(limiter, FLAT_100)
    for limiter in replicas:  # each replica's first call for the key adds what it admitted alone (20) to Redis
        first = await limiter.check_request("shared-key", FLAT_100)
        assert (first.allowed, first.degraded) == (True, False)
    after = await asyncio.gather(*(_burst(limiter, "shared-key", clients=5, each=15) for limiter in replicas))
    assert sum(d.allowed for decisions in after for d in decisions) == 100 - 2 * (SHARE - 30) - 2
    assert not any(d.degraded for decisions in after for d in decisions)
    fresh = await asyncio.gather(*(_burst(limiter, "fresh-key", clients=5, each=15) for limiter in replicas))
    assert sum(d.allowed for decisions in fresh for d in decisions) == 100  # exact across replicas again
    for _ in range(2):  # the restarted Redis lost the heartbeats: one round puts both back
        counts = [await limiter.refresh_replicas() for limiter in replicas]
    assert counts == [REPLICAS] * REPLICAS


async def test_uneven_replicas_do_not_overfill_the_window_when_redis_dies(
    server: PrivateRedis, replicas: list[RateLimiter]
) -> None:
    busy, quiet = replicas
    assert len(await _burst(busy, "shared-key", clients=1, each=70)) == 70
    assert sum(d.allowed for d in await _burst(quiet, "shared-key", clients=1, each=20)) == 20
    server.stop()
    alone = [sum(d.allowed for d in await _burst(limiter, "shared-key", clients=5, each=20)) for limiter in replicas]
    # busy is over its share; quiet, which saw 90 of 100 taken, takes half of the 10 left, not 50 - 20 = 30
    assert alone == [0, 5]


async def test_answers_in_flight_when_redis_dies_are_counted_once(
    server: PrivateRedis, replicas: list[RateLimiter]
) -> None:
    admitted: list[list[Decision]] = [[], []]
    stopping: list[asyncio.Task[None]] = []
    clients = 5

    async def client(index: int) -> None:
        for _ in range(100):
            decision = await replicas[index].check_request("shared-key", FLAT_100)
            if decision.allowed:
                admitted[index].append(decision)
            if not stopping and sum(map(len, admitted)) >= 40:  # Redis dies with requests in flight
                stopping.append(asyncio.create_task(asyncio.to_thread(server.stop)))
            await asyncio.sleep(0)

    await asyncio.gather(*(client(index) for index in range(REPLICAS) for _ in range(clients)))
    await stopping[0]
    alone = [sum(decision.degraded for decision in decisions) for decisions in admitted]
    assert all(count <= SHARE for count in alone)
    assert sum(alone) <= REPLICAS * SHARE
    # A replica's view of the other's count is its last answer from Redis: answers in flight at that moment are the
    # most it can miss.
    assert sum(map(len, admitted)) <= 100 + REPLICAS * clients


async def test_two_replicas_charge_within_their_shares_of_the_cost_budget_when_redis_dies(
    server: PrivateRedis, replicas: list[RateLimiter]
) -> None:
    before = [await limiter.charge_cost("k", FLAT_100, 7) for limiter in replicas for _ in range(20)]
    assert all(decision.allowed and not decision.degraded for decision in before)
    server.stop()
    during = await asyncio.gather(*(limiter.charge_cost("k", FLAT_100, 7) for limiter in replicas for _ in range(100)))
    charged = 7 * (len(before) + sum(decision.allowed for decision in during))
    assert charged <= FLAT_100.cost_per_hour
    assert charged == REPLICAS * 7 * (SHARE * 10 // 7)  # each replica: all of its share of 500 that 7s can fill
    assert all(decision.degraded for decision in during)


async def test_heartbeats_count_two_limiters_as_two_replicas_and_a_closed_one_leaves() -> None:
    url = require_redis()
    namespace = unique_namespace("heartbeats")
    left, right = _limiter(url, namespace), _limiter(url, namespace)
    other = _limiter(url, unique_namespace("other-deployment"))
    try:
        await left.start()
        assert left.replicas_seen == 1
        await right.start()
        await other.start()
        assert (right.replicas_seen, await left.refresh_replicas(), other.replicas_seen) == (2, 2, 1)
        client = redis_client(url, timeout_s=2, pool_size=1)
        try:
            key = f"{namespace}:ratelimit:REPLICAS/{namespace}"
            assert await client.zcard(key) == 2
            assert 0 < await client.ttl(key) <= 15  # three heartbeats of 5 s: a replica that died drops out
        finally:
            client.connection_pool.disconnect()
        await right.aclose()
        assert await left.refresh_replicas() == 1
    finally:
        for limiter in (left, right, other):
            await limiter.aclose()


async def test_refunds_give_units_back_in_redis_only_while_they_are_in_their_window() -> None:
    url = require_redis()
    limiter = _limiter(url, unique_namespace("refunds"))
    try:
        admitted = [await limiter.check_request("k", BURSTY) for _ in range(10)]
        assert all(decision.allowed and not decision.degraded for decision in admitted)
        assert not (await limiter.check_request("k", BURSTY)).allowed  # the burst of 10 is spent
        await limiter.refund_request("k", BURSTY, admitted[0])
        budget = await limiter.peek("k", BURSTY)
        assert budget.burst is not None
        assert (budget.burst.remaining, budget.rate.remaining) == (1, 21)
        stale = Decision(True, "minute", 30, 20, 60, decided_at=time.time() - 120)
        await limiter.refund_request("k", BURSTY, stale)  # its unit left the windows long ago
        budget = await limiter.peek("k", BURSTY)
        assert budget.burst is not None
        assert (budget.burst.remaining, budget.rate.remaining) == (1, 21)

        charged = await limiter.charge_cost("k", BURSTY, 300)
        await limiter.refund_cost("k", BURSTY, 300, charged)
        assert (await limiter.peek("k", BURSTY)).cost.remaining == 500
        await limiter.charge_cost("k", BURSTY, 400)
        earlier_window = Decision(True, "cost", 500, 100, 600, decided_at=time.time() - 3000)
        await limiter.refund_cost("k", BURSTY, 400, earlier_window)  # a charge of a window that has ended
        assert (await limiter.peek("k", BURSTY)).cost.remaining == 100
    finally:
        await limiter.aclose()
