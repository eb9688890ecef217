"""Bad bodies never stick: an upstream answering well-formed JSON of the wrong shape (`{}`, `[]`, `null`, or an array
nested 100,000 deep) gets UPSTREAM_BAD_RESPONSE, nothing of it is cached, in memory or in the real Redis, and the first
request after the upstream recovers gets data. The whole gateway over HTTP, the sandbox's `wrong_shape` knob upstream.

Needs the shared Redis at 127.0.0.1:6379 (TEST_REDIS_URL overrides it) and fails when it is absent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory, gateway_settings, graphql
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import RunningSandbox

# The upstreams with a query API (a mirror's background refresh would add calls no query made).
API_SPECS = tuple(spec for spec in SPECS if spec.name in {"ita", "canada", "sam"})


@dataclass(frozen=True)
class Asked:
    """A query that asks one upstream, on one route of the sandbox, and the field its records come back in."""

    upstream: str
    route: str
    query: str
    field: str


ASKED = {
    "ita": Asked("ita", "ita.search", "{ leads(first: 3) { totalCount nodes { leadId } } }", "leads"),
    "canada": Asked("canada", "canada.tenders", "{ tenders(first: 3) { totalCount nodes { reference } } }", "tenders"),
    "sam": Asked(
        "sam",
        "sam.search",
        "{ contracts(first: 3, filter: {sources: [SAM]}) { totalCount nodes { piid } } }",
        "contracts",
    ),
}
# `[]` is the right shape for the Canadian API: nothing matched.
CASES = [
    (upstream, body)
    for upstream in ASKED
    for body in ("{}", "[]", "null", "deep")
    if (upstream, body) != ("canada", "[]")
]


@pytest.fixture
async def start_gateway(sandbox: RunningSandbox) -> AsyncIterator[GatewayFactory]:
    """Gateways over the sandbox's query APIs (each with its own lifespan); each call may override settings."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> httpx.AsyncClient:
            app = create_app(gateway_settings(sandbox, specs=API_SPECS, **overrides))
            manager = await stack.enter_async_context(LifespanManager(app))
            transport = httpx.ASGITransport(app=manager.app)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=30)
            )

        yield start


@pytest.fixture
async def redis_namespace() -> AsyncIterator[str]:
    url = require_redis()
    namespace = unique_namespace("wrong-shape")
    yield namespace
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def cache_entries(namespace: str) -> int:
    client = redis.asyncio.Redis.from_url(require_redis())
    try:
        return len([key async for key in client.scan_iter(match=f"{namespace}:cache:entry:*")])
    finally:
        await client.aclose()


async def answer(gateway: httpx.AsyncClient, asked: Asked) -> dict[str, Any]:
    response = await graphql(gateway, asked.query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def prove_not_cached(gateway: httpx.AsyncClient, sandbox: RunningSandbox, upstream: str, body: str) -> None:
    asked = ASKED[upstream]
    await sandbox.set_fault(upstream, wrong_shape_rate=1.0, wrong_shape_body=body)
    bad = await answer(gateway, asked)
    assert bad["data"] == {asked.field: None}
    assert [error["extensions"] for error in bad["errors"]] == [{"code": "UPSTREAM_BAD_RESPONSE", "upstream": upstream}]
    assert await sandbox.hits(asked.route) == 1  # a bad body is not retried

    await sandbox.clear_fault(upstream)
    recovered = await answer(gateway, asked)
    assert "errors" not in recovered, recovered["errors"]
    assert recovered["data"][asked.field]["nodes"]  # data, from the upstream: the bad body was not kept
    assert await sandbox.hits(asked.route) == 2
    again = await answer(gateway, asked)
    assert again["data"] == recovered["data"]
    assert await sandbox.hits(asked.route) == 2  # the good body was kept


@pytest.mark.parametrize(("upstream", "body"), CASES)
async def test_memory_cache_keeps_no_wrong_shaped_body(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, upstream: str, body: str
) -> None:
    gateway = await start_gateway()
    await prove_not_cached(gateway, sandbox, upstream, body)


@pytest.mark.parametrize(("upstream", "body"), CASES)
async def test_redis_cache_keeps_no_wrong_shaped_body(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, redis_namespace: str, upstream: str, body: str
) -> None:
    gateway = await start_gateway(redis_url=require_redis(), redis_namespace=redis_namespace)
    asked = ASKED[upstream]
    await sandbox.set_fault(upstream, wrong_shape_rate=1.0, wrong_shape_body=body)
    bad = await answer(gateway, asked)
    assert bad["errors"][0]["extensions"]["code"] == "UPSTREAM_BAD_RESPONSE"
    assert await cache_entries(redis_namespace) == 0  # nothing was written for a day, or at all
    await sandbox.reset()

    await prove_not_cached(gateway, sandbox, upstream, body)
    assert await cache_entries(redis_namespace) == 1


async def test_a_second_replica_on_the_same_redis_gets_data_after_the_upstream_recovers(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, redis_namespace: str
) -> None:
    first = await start_gateway(redis_url=require_redis(), redis_namespace=redis_namespace)
    second = await start_gateway(redis_url=require_redis(), redis_namespace=redis_namespace)
    asked = ASKED["sam"]
    await sandbox.set_fault("sam", wrong_shape_rate=1.0, wrong_shape_body="{}")
    assert (await answer(first, asked))["errors"][0]["extensions"]["code"] == "UPSTREAM_BAD_RESPONSE"
    await sandbox.clear_fault("sam")
    recovered = await answer(second, asked)
    assert "errors" not in recovered
    assert recovered["data"]["contracts"]["nodes"]
    assert await sandbox.hits(asked.route) == 2
