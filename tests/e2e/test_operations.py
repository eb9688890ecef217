"""Operating two replicas: two `python -m gateway` processes, the sandbox and a private Redis (keys stored in it).

One test, to start the processes once: the replicas share the rate limits and the upstream cache; /readyz on each
follows Redis going away (not ready: the keys live there) and coming back; and SIGTERM to a replica under load
drains it (/readyz 503 while it still serves), answers every request it had received (200, complete, no reset), and
exits 0.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from gateway.limits.keys import ApiKeys, RedisKeyStore, redis_client
from tests.e2e.processes import GatewayProcess, gateway_environment, gateway_processes
from tests.redis_harness import PrivateRedis, private_redis
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
KEYS_PREFIX = "gateway:apikeys:"  # the processes' default GATEWAY_REDIS_NAMESPACE
CHEAP_QUERY = "{ sources { name } }"
LIMIT = 20
SLOW_UPSTREAM_MS = 1500
IN_FLIGHT = 10
DRAIN_DELAY_S = 1.0
WITHIN_S = 10.0


def _tiers() -> str:
    def tier(requests_per_minute: int) -> dict[str, int]:
        return {
            "requests_per_minute": requests_per_minute,
            "burst": requests_per_minute,
            "cost_per_hour": 10_000_000,
            "max_query_cost": 1000,
        }

    return json.dumps({"limited": tier(LIMIT), "wide": tier(100_000)})


async def _create_key(redis: PrivateRedis, tier: str) -> str:
    client = redis_client(redis.url, timeout_s=2, pool_size=2)
    try:
        issued = await ApiKeys(RedisKeyStore(client, prefix=KEYS_PREFIX)).create(tier=tier, owner="operations-test")
    finally:
        client.connection_pool.disconnect()
    return issued.plaintext


async def _post(replica: GatewayProcess, query: str, key: str, client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        replica.base_url + "/graphql",
        json={"query": query},
        headers={"Accept": GRAPHQL_RESPONSE, "Authorization": f"Bearer {key}"},
    )


async def _readiness(replica: GatewayProcess) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:  # a new connection each time, as a load balancer's check
        response = await client.get(replica.base_url + "/readyz")
    detail: dict[str, Any] = response.json()
    return response.status_code, detail


async def _readiness_when(replica: GatewayProcess, status: int) -> dict[str, Any]:
    deadline = time.monotonic() + WITHIN_S
    while True:
        found, detail = await _readiness(replica)
        if found == status:
            return detail
        if time.monotonic() > deadline:
            pytest.fail(f"{replica.base_url}/readyz did not answer {status} within {WITHIN_S} s: {detail}")
        await asyncio.sleep(0.1)


async def _shared_limits_and_cache(
    replicas: list[GatewayProcess], redis: PrivateRedis, sandbox: RunningSandbox
) -> None:
    limited, wide = await _create_key(redis, "limited"), await _create_key(redis, "wide")
    limits = httpx.Limits(max_connections=2 * LIMIT)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        # A first request per replica (another key): a process's first request loads what it loads lazily, and a
        # burst meeting that stall could see Redis as slow and fall back to the replica's share of the limit.
        for replica in replicas:
            assert (await _post(replica, CHEAP_QUERY, wide, client)).status_code == 200
        answers = await asyncio.gather(
            *(_post(replica, CHEAP_QUERY, limited, client) for replica in replicas for _ in range(LIMIT))
        )
        degraded = [answer.headers.get("RateLimit-Policy") for answer in answers if answer.status_code == 429]
        counted = Counter(answer.status_code for answer in answers)
        assert counted == {200: LIMIT, 429: LIMIT}, degraded  # one limit, two replicas

        keyword = f"ops{uuid.uuid4().hex[:8]}"  # asked of no replica yet
        query = f'{{ contracts(first: 2, filter: {{sources: [SAM], keywords: "{keyword}"}}) {{ totalCount }} }}'
        first = (await _post(replicas[0], query, wide, client)).json()
        second = (await _post(replicas[1], query, wide, client)).json()
    assert first["data"] == second["data"]
    assert first["extensions"]["cache"]["sam"]["status"] == "MISS"
    assert second["extensions"]["cache"]["sam"]["status"] == "HIT"  # the other replica's answer, from Redis
    assert await sandbox.hits("sam.search") == 1


async def _readiness_follows_redis(replicas: list[GatewayProcess], redis: PrivateRedis) -> None:
    for replica in replicas:
        detail = await _readiness_when(replica, 200)
        assert detail["redis"]["redis"] | {"latency_ms": 0} == {
            "configured": True,
            "role": "cache, limits, quotas, documents, API keys",
            "required": True,
            "reachable": True,
            "latency_ms": 0,
        }
    redis.stop()
    for replica in replicas:
        detail = await _readiness_when(replica, 503)
        assert detail["redis"]["redis"]["reachable"] is False
        assert detail["reasons"] == ["redis is unreachable and holds the API keys (GATEWAY_KEYS_STORE=redis)"]
    redis.start()
    for replica in replicas:
        detail = await _readiness_when(replica, 200)
        assert detail["redis"]["redis"]["reachable"] is True


async def _sigterm_under_load(replica: GatewayProcess, redis: PrivateRedis, sandbox: RunningSandbox) -> None:
    key = await _create_key(redis, "wide")  # Redis came back empty
    run = uuid.uuid4().hex[:8]
    queries = [
        f'{{ contracts(first: 2, filter: {{sources: [SAM], keywords: "drain{run}n{n}"}}) {{ totalCount }} }}'
        for n in range(IN_FLIGHT)
    ]
    await sandbox.set_fault("sam", latency_ms=SLOW_UPSTREAM_MS)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=IN_FLIGHT)) as client:
        sent = [asyncio.create_task(_post(replica, query, key, client)) for query in queries]
        deadline = time.monotonic() + WITHIN_S
        while (await sandbox.stats())["in_flight"].get("sam", 0) < IN_FLIGHT:  # every request is being served
            assert time.monotonic() < deadline, "the requests did not reach the upstream"
            await asyncio.sleep(0.02)
        replica.process.send_signal(signal.SIGTERM)
        status, detail = await _readiness(replica)  # during the drain: still answering, not ready
        assert status == 503
        assert detail["draining"] is True
        answers = await asyncio.gather(*sent)
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body
        assert body["data"]["contracts"]["totalCount"] >= 0
    assert await asyncio.to_thread(replica.process.wait, 30) == 0
    await sandbox.clear_fault("sam")


@pytest.mark.timeout(90)
async def test_two_replicas_share_redis_follow_it_in_readyz_and_stop_without_losing_a_request(
    sandbox: RunningSandbox,
) -> None:
    with private_redis() as redis:
        env = gateway_environment(
            sandbox.base_url,
            redis_url=redis.url,
            keys_store="redis",
            tiers=_tiers(),
            response_cache_ttl_s="0",  # the upstream cache is what the replicas share
            max_concurrent_executions=str(2 * IN_FLIGHT),
            shutdown_drain_delay_s=str(DRAIN_DELAY_S),
        )
        with gateway_processes(2, env) as replicas:
            await _shared_limits_and_cache(replicas, redis, sandbox)
            await _readiness_follows_redis(replicas, redis)
            await _sigterm_under_load(replicas[0], redis, sandbox)
            assert (await _readiness(replicas[1]))[0] == 200  # the other replica serves on
