"""The whole gateway over HTTP (httpx against the ASGI app, lifespan run) with the sandbox on port 0 upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import Settings
from tests.sandbox_harness import RunningSandbox

GatewayFactory = Callable[..., Awaitable[httpx.AsyncClient]]
GENEROUS_ANONYMOUS_TIER = json.dumps(
    {
        "anonymous": {
            "requests_per_minute": 1_000_000,
            "burst": 1_000_000,
            "cost_per_hour": 10_000_000,
            "max_query_cost": 1_000_000,
        }
    }
)


def gateway_settings(sandbox: RunningSandbox, **overrides: Any) -> Settings:
    base = Settings(
        profile="dev",
        ita_url=sandbox.base_url,
        canada_url=sandbox.base_url,
        sam_url=sandbox.base_url,
        ita_api_key="ita-sandbox-key",
        sam_api_key="sam-sandbox-key",
        retry_backoff_min_s=0.01,
        retry_backoff_max_s=0.02,
        # Keyless calls are served on an anonymous tier generous enough never to throttle a test by accident;
        # tests of keys and limits override both.
        anonymous_tier_enabled=True,
        tiers=GENEROUS_ANONYMOUS_TIER,
    )
    return replace(base, **overrides)


@pytest.fixture
async def start_gateway(sandbox: RunningSandbox) -> AsyncIterator[GatewayFactory]:
    """Start gateways (each with its own lifespan) against the sandbox; each call may override settings."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> httpx.AsyncClient:
            app = create_app(gateway_settings(sandbox, **overrides))
            manager = await stack.enter_async_context(LifespanManager(app))
            transport = httpx.ASGITransport(app=manager.app)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=30)
            )

        yield start


@pytest.fixture
async def gateway(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    return await start_gateway()


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Content-Type": "application/json", "Accept": "application/graphql-response+json", **headers},
    )
