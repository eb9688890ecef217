from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.limits.limiter import RateLimiter
from gateway.settings import Tier
from tests.redis_harness import free_port, private_redis, require_redis, unique_namespace

FLAT_100 = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1_000, max_query_cost=100)
REPO = Path(__file__).resolve().parents[2]

REPLICA = """
import asyncio, json, sys
from gateway.limits.limiter import RateLimiter
from gateway.settings import Tier

async def main():
    url, namespace, go_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    limiter = RateLimiter.on_redis(url, namespace=namespace, timeout_s=20, pool_size=50)
    tier = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1000, max_query_cost=100)
    await limiter.peek("warm-up", tier)
    import time
    await asyncio.sleep(max(0.0, go_at - time.time()))
    decisions = await asyncio.gather(*(limiter.check_request("shared-key", tier) for _ in range(200)))
    await limiter.aclose()
    print(json.dumps({"admitted": sum(d.allowed for d in decisions), "degraded": sum(d.degraded for d in decisions)}))

asyncio.run(main())
"""


def test_two_processes_with_200_concurrent_hits_each_admit_exactly_100() -> None:
    url = require_redis()
    namespace = unique_namespace("two-replicas")
    go_at = str(time.time() + 3)
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, url, namespace, go_at], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [json.loads(replica.communicate(timeout=90)[0]) for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0]
    assert sum(result["degraded"] for result in results) == 0
    assert sum(result["admitted"] for result in results) == 100


async def test_two_limiters_share_the_cost_budget_atomically() -> None:
    url = require_redis()
    namespace = unique_namespace("cost")
    left = RateLimiter.on_redis(url, namespace=namespace, timeout_s=10)
    right = RateLimiter.on_redis(url, namespace=namespace, timeout_s=10)
    try:
        decisions = await asyncio.gather(
            *(limiter.charge_cost("k", FLAT_100, 7) for limiter in (left, right) for _ in range(150))
        )
        assert sum(d.allowed for d in decisions) == 1_000 // 7
        budget = await right.peek("k", FLAT_100)
        assert budget.cost.remaining == 1_000 - 7 * (1_000 // 7)
        assert 3500 < budget.cost.reset_after_s <= 3600
        refused = await left.charge_cost("k", FLAT_100, 50)
        assert not refused.allowed
        assert (await left.peek("k", FLAT_100)).cost.remaining == budget.cost.remaining
    finally:
        await left.aclose()
        await right.aclose()


async def test_unreachable_redis_limits_each_replica_to_its_share_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RateLimiter.on_redis(
        f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5, retry_storage_after_s=0.05, fallback_replicas=2
    )
    tier = Tier("tiny", requests_per_minute=4, burst=4, cost_per_hour=10, max_query_cost=10)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.limits.limiter"):
            decisions = []
            for _ in range(5):  # probes fail in between: the limits hold across them
                decisions.append(await limiter.check_request("k", tier))
                await asyncio.sleep(0.06)
            assert [d.allowed for d in decisions] == [True, True, False, False, False]  # 4 // 2 replicas assumed
            assert all(d.degraded for d in decisions)
            assert [(await limiter.charge_cost("k", tier, cost)).allowed for cost in (4, 2, 1)] == [True, False, True]
            budget = await limiter.peek("k", tier)
        assert budget.degraded
        assert (budget.rate.limit, budget.rate.remaining, budget.cost.limit, budget.cost.remaining) == (2, 0, 5, 0)
        assert limiter.replicas_seen is None
        assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
    finally:
        await limiter.aclose()


async def test_limiter_recovers_by_itself_when_redis_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    tier = Tier("tiny", requests_per_minute=3, burst=3, cost_per_hour=10, max_query_cost=10)
    with private_redis() as server:
        limiter = RateLimiter.on_redis(server.url, timeout_s=0.5, retry_storage_after_s=0.1)
        try:
            await limiter.start()
            assert limiter.replicas_seen == 1
            assert [(await limiter.check_request("k", tier)).allowed for _ in range(4)] == [True] * 3 + [False]
            server.stop()
            with caplog.at_level(logging.WARNING, logger="gateway.limits.limiter"):
                outage = [await limiter.check_request("k", tier) for _ in range(3)]
                assert all(d.degraded and not d.allowed for d in outage)  # it remembers the 3 Redis admitted
                assert (await limiter.check_request("k2", tier)).allowed
                server.start()
                deadline = time.monotonic() + 5
                while (await limiter.peek("k3", tier)).degraded:  # a probe now and then, until one succeeds
                    assert time.monotonic() < deadline, "the limiter did not notice Redis was back"
                    await asyncio.sleep(0.05)
                back = [await limiter.check_request("k3", tier) for _ in range(4)]
            assert [d.allowed for d in back] == [True] * 3 + [False]
            assert not any(d.degraded for d in back)
            assert any("reachable again" in r.getMessage() for r in caplog.records)
        finally:
            await limiter.aclose()
