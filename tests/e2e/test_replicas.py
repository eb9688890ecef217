"""Real gateway processes sharing the real Redis: limits, revocations and the upstream quota hold across replicas.

Each test uses a Redis database where the keys it touches are absent, and deletes them afterwards (API keys and
rate-limit counters are per key id; the SAM quota counter is per UTC day).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import coredis
import httpx
import pytest

from gateway.limits.keys import ApiKeys, RedisKeyStore, redis_client
from tests.e2e.processes import GatewayProcess, gateway_environment, gateway_processes
from tests.redis_harness import require_redis
from tests.sandbox_harness import RunningSandbox

GRAPHQL_RESPONSE = "application/graphql-response+json"
TEST_DATABASES = range(8, 16)
# The gateway processes run with the default GATEWAY_REDIS_NAMESPACE: every key they write starts with "gateway:".
KEYS_PREFIX = "gateway:apikeys:"
QUOTA_PREFIX = "gateway:quota:"
CHEAP_QUERY = "{ sources { name } }"  # asks no upstream
REQUEST_TIMEOUT_S = 30.0


@dataclass
class SharedRedis:
    url: str
    client: coredis.Redis[str]
    keys: ApiKeys
    key_ids: list[str]

    def quota_keys(self) -> list[str]:
        return [f"{QUOTA_PREFIX}sam:{datetime.now(UTC).date().isoformat()}", f"{QUOTA_PREFIX}sam:paused-until"]

    async def create_key(self, tier: str) -> str:
        issued = await self.keys.create(tier=tier, owner="replica-test")
        self.key_ids.append(issued.record.key_id)
        return issued.plaintext


@pytest.fixture
async def shared_redis() -> AsyncIterator[SharedRedis]:
    base = require_redis().rsplit("/", 1)[0]
    probe = redis_client(f"{base}/0", timeout_s=2, pool_size=2)
    try:
        databases = list(TEST_DATABASES)
        random.shuffle(databases)
        for database in databases:
            client = redis_client(f"{base}/{database}", timeout_s=2, pool_size=10)
            shared = SharedRedis(f"{base}/{database}", client, ApiKeys(RedisKeyStore(client, prefix=KEYS_PREFIX)), [])
            if not await client.exists(shared.quota_keys()):
                break
            client.connection_pool.disconnect()
        else:
            pytest.fail(f"every test database {TEST_DATABASES} holds today's SAM quota counter")
    finally:
        probe.connection_pool.disconnect()
    try:
        yield shared
    finally:
        await _clean(shared)
        client.connection_pool.disconnect()


async def _clean(shared: SharedRedis) -> None:
    doomed = set(shared.quota_keys())
    for shared_part in ("gateway:cache*", "gateway:apq:*"):  # this database is ours
        async for name in shared.client.scan_iter(match=shared_part, count=1000):
            doomed.add(name)
    for key_id in shared.key_ids:
        doomed.add(f"{KEYS_PREFIX}key:{key_id}")
        async for name in shared.client.scan_iter(match=f"gateway:*{key_id}*", count=1000):  # API key, limiter
            doomed.add(name)
    if shared.key_ids:
        await shared.client.srem(f"{KEYS_PREFIX}ids", shared.key_ids)
    await shared.client.delete(list(doomed))


def replica_environment(
    sandbox: RunningSandbox, redis_url: str, quotas: dict[str, int] | None = None, **settings: str
) -> dict[str, str]:
    fields = {"redis_url": redis_url, "keys_store": "redis", **settings}
    return gateway_environment(sandbox.base_url, quotas=quotas, ttls=None, **fields)


def tier(name: str, requests_per_minute: int) -> str:
    limits = {
        "requests_per_minute": requests_per_minute,
        "burst": requests_per_minute,  # no separate burst window: the minute window alone decides
        "cost_per_hour": 10_000_000,
        "max_query_cost": 1000,
    }
    return json.dumps({name: limits})


async def post_many(replica: GatewayProcess, queries: list[str], key: str) -> list[httpx.Response]:
    """All `queries` at once, one connection each."""
    limits = httpx.Limits(max_connections=len(queries), max_keepalive_connections=len(queries))
    async with httpx.AsyncClient(base_url=replica.base_url, limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        "/graphql",
                        json={"query": query},
                        headers={"Accept": GRAPHQL_RESPONSE, "Authorization": f"Bearer {key}"},
                    )
                    for query in queries
                )
            )
        )


@pytest.mark.timeout(120)
async def test_two_replicas_admit_exactly_the_limit_and_refuse_a_revoked_key_at_once(
    sandbox: RunningSandbox, shared_redis: SharedRedis
) -> None:
    key = await shared_redis.create_key("hundred")
    other_key = await shared_redis.create_key("hundred")
    env = replica_environment(sandbox, shared_redis.url, tiers=tier("hundred", 100))
    with gateway_processes(2, env) as replicas:
        answers = await asyncio.gather(*(post_many(replica, [CHEAP_QUERY] * 200, key) for replica in replicas))
        statuses = Counter(response.status_code for responses in answers for response in responses)
        assert statuses == {200: 100, 429: 300}
        refused = next(r for responses in answers for r in responses if r.status_code == 429)
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1

        for replica in replicas:
            assert (await post_many(replica, [CHEAP_QUERY], other_key))[0].status_code == 200
        await shared_redis.keys.revoke(shared_redis.key_ids[1])
        for replica in replicas:
            response = (await post_many(replica, [CHEAP_QUERY], other_key))[0]
            assert response.status_code == 401
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.timeout(120)
async def test_two_replicas_spend_exactly_the_daily_sam_quota_between_them(
    sandbox: RunningSandbox, shared_redis: SharedRedis
) -> None:
    key = await shared_redis.create_key("busy")
    env = replica_environment(sandbox, shared_redis.url, tiers=tier("busy", 1000), quotas={"sam": 10})
    run = uuid.uuid4().hex[:8]  # the shared cache outlives a run: distinct keywords keep every query a miss
    queries = [
        f'{{ contracts(first: 1, filter: {{sources: [SAM], keywords: "q{run}n{n}"}}) {{ totalCount }} }}'
        for n in range(30)
    ]
    with gateway_processes(2, env) as replicas:
        answers = await asyncio.gather(
            post_many(replicas[0], queries[:15], key), post_many(replicas[1], queries[15:], key)
        )
    bodies = [response.json() for responses in answers for response in responses]
    codes = Counter(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK" for body in bodies)
    assert codes == {"OK": 10, "UPSTREAM_QUOTA_EXCEEDED": 20}
    assert await sandbox.hits("sam.search") == 10


@pytest.mark.timeout(120)
async def test_500_concurrent_requests_on_one_replica_get_no_5xx_and_the_limit_still_holds(
    sandbox: RunningSandbox, shared_redis: SharedRedis
) -> None:
    wide_key, hundred_key = await shared_redis.create_key("wide"), await shared_redis.create_key("hundred")
    tiers = {**json.loads(tier("wide", 100_000)), **json.loads(tier("hundred", 100))}
    env = replica_environment(sandbox, shared_redis.url, tiers=json.dumps(tiers))
    with gateway_processes(1, env) as (replica,):
        wide = await post_many(replica, [CHEAP_QUERY] * 500, wide_key)
        hundred = await post_many(replica, [CHEAP_QUERY] * 500, hundred_key)
    assert Counter(response.status_code for response in wide) == {200: 500}
    # Every answer carries the headers: the limiter counted each request (it never failed open under the burst).
    assert all("RateLimit" in response.headers for response in wide)
    assert Counter(response.status_code for response in hundred) == {200: 100, 429: 400}


@pytest.mark.timeout(60)
async def test_bad_and_huge_credentials_through_uvicorn_are_4xx_never_5xx(sandbox: RunningSandbox) -> None:
    env = replica_environment(sandbox, "", keys_store="file", keys_file="var/test-never-written.json")
    del env["GATEWAY_REDIS_URL"]
    answers: dict[str, httpx.Response] = {}
    with gateway_processes(1, env) as (replica,):
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=REQUEST_TIMEOUT_S) as client:
            for name, authorization in {
                "unknown": "Bearer pgw_0123456789ab_" + "s" * 43,
                "long": "Bearer " + "k" * 1_000,
                "16k": "Bearer " + "k" * 16_384,
                "64k": "Bearer " + "k" * 65_536,
            }.items():
                answers[name] = await client.post(
                    "/graphql",
                    json={"query": CHEAP_QUERY},
                    headers={"Accept": GRAPHQL_RESPONSE, "Authorization": authorization},
                )
    assert answers["unknown"].status_code == 401
    assert answers["unknown"].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answers["long"].status_code == 400
    assert answers["long"].json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    for name in ("16k", "64k"):  # uvicorn lets them through: the gateway's own header limit answers, with a code
        assert answers[name].status_code == 431
        assert answers[name].json()["errors"][0]["extensions"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


@pytest.mark.timeout(120)
async def test_two_replicas_sharing_redis_make_one_upstream_call_for_concurrent_identical_misses(
    sandbox: RunningSandbox, shared_redis: SharedRedis
) -> None:
    key = await shared_redis.create_key("busy")
    namespace = f"gateway:cache:replica-test-{uuid.uuid4().hex[:8]}"  # cold, and swept by the fixture's cleanup
    env = replica_environment(sandbox, shared_redis.url, tiers=tier("busy", 1000), cache_redis_namespace=namespace)
    await sandbox.set_fault("sam", latency_ms=300)
    query = "{ contracts(first: 5, filter: {sources: [SAM]}) { edges { node { piid } } } }"
    with gateway_processes(2, env) as replicas:
        await sandbox.reset()
        await sandbox.set_fault("sam", latency_ms=300)
        answers = await asyncio.gather(*(post_many(replica, [query] * 50, key) for replica in replicas))
        bodies = [response.json() for responses in answers for response in responses]
    assert all(body["data"]["contracts"]["edges"] for body in bodies)
    first_piids = {tuple(edge["node"]["piid"] for edge in body["data"]["contracts"]["edges"]) for body in bodies}
    assert len(first_piids) == 1
    assert await sandbox.hits("sam.search") == 1
