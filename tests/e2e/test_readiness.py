"""GET /readyz: ready when the process can serve. Redis fails it only where the API keys live there; what else it
depends on (Redis, breakers, quotas, mirrors, load) is reported in its detail; probes are cheap, unmetered and never
cached. Liveness stays at /healthz."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import coredis
import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.edge.readiness import PROBE_KEPT_S
from gateway.settings import UpstreamSettings
from gateway.upstreams.canadabuys.spec import SPEC as CANADABUYS
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory, gateway_settings, graphql, sandbox_upstreams
from tests.redis_harness import PrivateRedis, private_redis
from tests.sandbox_harness import RunningSandbox

WITHIN_S = 5.0


async def readiness(gateway: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await gateway.get("/readyz")
    assert response.headers["cache-control"] == "no-store"
    assert "ratelimit" not in response.headers  # unmetered
    detail: dict[str, Any] = response.json()
    return response.status_code, detail


async def readiness_when(gateway: httpx.AsyncClient, status: int) -> dict[str, Any]:
    """The detail once /readyz answers `status` (the Redis probe is kept for a second)."""
    deadline = time.monotonic() + WITHIN_S
    while True:
        found, detail = await readiness(gateway)
        if found == status:
            return detail
        if time.monotonic() > deadline:
            pytest.fail(f"/readyz did not answer {status} within {WITHIN_S} s: {found} {detail}")
        await asyncio.sleep(0.1)


async def pings(redis: PrivateRedis) -> int:
    client = coredis.Redis.from_url(redis.url, decode_responses=True)
    try:
        stats = await client.info("commandstats")
    finally:
        client.connection_pool.disconnect()
    ping = stats.get("cmdstat_ping")
    return int(ping["calls"]) if isinstance(ping, dict) else 0


async def test_without_redis_it_is_ready_and_reports_what_it_sees(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway(anonymous_tier_enabled=False)  # no key needed for the probes
    status, detail = await readiness(gateway)
    assert status == 200
    assert detail["status"] == "ready"
    assert detail["reasons"] == []
    assert detail["draining"] is False
    assert detail["redis"] == {"configured": False}
    assert detail["upstreams"]["sam"]["breaker"] == "CLOSED"
    assert detail["quotas"]["sam"] == {"daily_quota": 1000, "remaining": 1000}
    assert detail["load"]["executing"] == 0
    assert detail["load"]["max_concurrent_executions"] == 8
    health = await gateway.get("/healthz")
    assert health.status_code == 200
    assert health.headers["cache-control"] == "no-store"
    assert (await gateway.post("/graphql", json={"query": "{ __typename }"})).status_code == 401  # /graphql: keyed


async def test_an_open_breaker_and_a_spent_quota_are_reported_but_do_not_fail_it(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    gateway = await start_gateway(breaker_failure_threshold=1, upstream_retries=0, quotas={"sam": 1})
    await sandbox.set_fault("ita", error_rate=1.0)
    await graphql(gateway, "{ leads(first: 1) { edges { node { leadId } } } }")
    await graphql(gateway, "{ contracts(first: 1, filter: {sources: [SAM]}) { edges { node { piid } } } }")
    status, detail = await readiness(gateway)
    assert status == 200
    assert detail["upstreams"]["ita"]["breaker"] == "OPEN"
    assert detail["upstreams"]["ita"]["last_failure"] is not None
    assert detail["quotas"]["sam"] == {"daily_quota": 1, "remaining": 0}


async def test_with_keys_in_a_file_it_stays_ready_while_redis_is_away(start_gateway: GatewayFactory) -> None:
    with private_redis() as redis:
        gateway = await start_gateway(redis_url=redis.url, keys_store="file")
        detail = await readiness_when(gateway, 200)
        assert detail["redis"]["redis"]["reachable"] is True
        assert detail["redis"]["redis"]["required"] is False
        assert detail["redis"]["redis"]["latency_ms"] >= 0
        redis.stop()
        await asyncio.sleep(1.1)  # past the kept probe
        status, detail = await readiness(gateway)
        assert status == 200
        assert detail["redis"]["redis"]["reachable"] is False
        assert detail["redis"]["redis"]["error"]
        assert detail["quotas"]["sam"]["remaining"] is None  # the shared counter is unreachable: unknown


async def test_with_keys_in_redis_it_is_not_ready_while_redis_is_away_and_ready_when_back(
    start_gateway: GatewayFactory,
) -> None:
    with private_redis() as redis:
        gateway = await start_gateway(redis_url=redis.url, keys_store="redis")
        detail = await readiness_when(gateway, 200)
        assert detail["redis"]["redis"]["required"] is True
        redis.stop()
        started = time.monotonic()
        detail = await readiness_when(gateway, 503)
        assert time.monotonic() - started < 4  # the kept probe (1 s), then a ping bounded by its timeout (0.5 s)
        assert detail["status"] == "not_ready"
        assert detail["redis"]["redis"]["reachable"] is False
        assert any("API keys" in reason for reason in detail["reasons"])
        redis.start()
        detail = await readiness_when(gateway, 200)
        assert detail["redis"]["redis"]["reachable"] is True
        assert detail["reasons"] == []


async def test_a_separate_key_store_redis_is_the_one_that_decides(start_gateway: GatewayFactory) -> None:
    with private_redis() as shared, private_redis() as keys:
        gateway = await start_gateway(redis_url=shared.url, keys_store="redis", keys_redis_url=keys.url)
        detail = await readiness_when(gateway, 200)
        assert set(detail["redis"]) == {"redis", "keys_redis"}
        shared.stop()
        await asyncio.sleep(1.1)
        status, detail = await readiness(gateway)
        assert status == 200
        assert detail["redis"]["redis"]["reachable"] is False
        keys.stop()
        detail = await readiness_when(gateway, 503)
        assert detail["redis"]["keys_redis"]["reachable"] is False


async def test_a_storm_of_probes_sends_redis_one_ping_a_second(start_gateway: GatewayFactory) -> None:
    with private_redis() as redis:
        gateway = await start_gateway(redis_url=redis.url)
        await readiness_when(gateway, 200)
        before, started = await pings(redis), time.monotonic()
        answers = await asyncio.gather(*(gateway.get("/readyz") for _ in range(200)))
        elapsed_s = time.monotonic() - started
        assert {answer.status_code for answer in answers} == {200}
        assert await pings(redis) - before <= 1 + elapsed_s / PROBE_KEPT_S


async def test_a_draining_process_is_not_ready(sandbox: RunningSandbox) -> None:
    app = create_app(gateway_settings(sandbox))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as gateway:
            assert (await readiness(gateway))[0] == 200
            app.state.readiness.start_draining()  # what `python -m gateway` does on SIGTERM (gateway.server)
            status, detail = await readiness(gateway)
            assert status == 503
            assert detail["draining"] is True
            assert detail["reasons"][0].startswith("draining")
            assert (await graphql(gateway, "{ __typename }")).status_code == 200  # still serving while it drains
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as stopped:
        status, detail = await readiness(stopped)  # the lifespan has closed everything
    assert status == 503
    assert detail["reasons"][0].startswith("starting or stopping")


async def test_each_mirror_reports_its_snapshot_and_feeds(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/canadabuys"), json={"rows": 20}) as response:
        assert response.status == 200
    upstreams = sandbox_upstreams(SPECS, sandbox.base_url, {})
    upstreams["canadabuys"] = UpstreamSettings(sandbox.base_url, dict(CANADABUYS.default_ttl_s))
    gateway = await start_gateway(
        upstreams=upstreams,
        mirror_data_dir=str(tmp_path),
        mirror_replica="ready",
        mirror_contact="mailto:t@example.org",
    )
    deadline = time.monotonic() + 60
    while True:
        status, detail = await readiness(gateway)
        assert status == 200  # a mirror not ready yet never fails it
        mirror = detail["mirrors"]["canadabuys"]
        if mirror["ready"] and all(feed["last_refresh"] == "succeeded" for feed in mirror["feeds"]):
            break
        assert time.monotonic() < deadline, detail["mirrors"]
        await asyncio.sleep(0.2)
    feed = mirror["feeds"][0]
    assert feed["stale"] is False
    assert feed["age_s"] >= 0
    assert feed["last_error"] is None
    assert {"name", "rows", "last_success", "last_attempt"} <= set(feed)
    assert "canadabuys" not in detail["upstreams"]  # a mirror has no breaker: its refreshes are its calls
