"""The whole gateway over HTTP (httpx against the ASGI app, lifespan run) with the sandbox on port 0 upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import CredentialSettings, Settings, UpstreamSettings, default_credentials, default_upstreams
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from tests import document_corpus
from tests.sandbox_harness import SANDBOX_API_KEYS, RunningSandbox

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


def gateway_settings(
    sandbox: RunningSandbox,
    *,
    specs: tuple[UpstreamSpec, ...] = SPECS,
    quotas: Mapping[str, int] | None = None,
    ttls: Mapping[tuple[str, RecordKind], int] | None = None,
    **overrides: Any,
) -> Settings:
    """A dev-profile gateway with every upstream of `specs` at the sandbox, called with the sandbox's keys.

    `quotas` sets daily quotas by credential name (`{"sam": 2}`), `ttls` cache TTLs by upstream and record kind
    (`{("canada", RecordKind.TENDER): 0}`); `overrides` replace any other field by name.
    """
    base = Settings(
        profile="dev",
        specs=specs,
        upstreams=sandbox_upstreams(specs, sandbox.base_url, ttls or {}),
        credentials=sandbox_credentials(specs, quotas or {}),
        retry_backoff_min_s=0.01,
        retry_backoff_max_s=0.02,
        # Keyless calls are served on an anonymous tier generous enough never to throttle a test by accident;
        # tests of keys and limits override both.
        anonymous_tier_enabled=True,
        tiers=GENEROUS_ANONYMOUS_TIER,
    )
    return replace(base, **overrides)


def sandbox_upstreams(
    specs: tuple[UpstreamSpec, ...], url: str, ttls: Mapping[tuple[str, RecordKind], int]
) -> dict[str, UpstreamSettings]:
    """Every upstream at `url` with its default TTLs, but for `ttls`; mirrors (`spec.mirror`) are left unconfigured
    (they would download and index files, and replace the retired sources they succeed): tests/e2e/test_canadabuys.py
    configures them itself."""
    upstreams = default_upstreams(specs, url)
    upstreams |= {spec.name: UpstreamSettings("", dict(spec.default_ttl_s)) for spec in specs if spec.mirror}
    for (name, kind), ttl_s in ttls.items():
        upstream = upstreams[name]
        assert kind in upstream.ttl_s, f"upstream {name} serves no {kind.value} records"
        upstreams[name] = replace(upstream, ttl_s={**upstream.ttl_s, kind: ttl_s})
    return upstreams


def sandbox_credentials(specs: tuple[UpstreamSpec, ...], quotas: Mapping[str, int]) -> dict[str, CredentialSettings]:
    """Every credential with the sandbox's key and its default daily quota, but for `quotas`."""
    credentials = {
        name: replace(credential, api_key=SANDBOX_API_KEYS.get(name, ""))
        for name, credential in default_credentials(specs).items()
    }
    for name, quota in quotas.items():
        credentials[name] = replace(credentials[name], daily_quota=quota)
    return credentials


async def record_document(request: httpx.Request) -> None:
    """Every GraphQL request the suite sends, into the corpus the compiled resolvers are held equal on."""
    try:
        content = request.content
    except httpx.RequestNotRead:  # a streamed body (the size-limit tests): not a document to replay
        return
    document_corpus.record(request.method, request.url.params, content)


@pytest.fixture
async def start_gateway(sandbox: RunningSandbox) -> AsyncIterator[GatewayFactory]:
    """Start gateways (each with its own lifespan) against the sandbox; each call may override settings."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> httpx.AsyncClient:
            app = create_app(gateway_settings(sandbox, **overrides))
            manager = await stack.enter_async_context(LifespanManager(app))
            transport = httpx.ASGITransport(app=manager.app)
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=transport,
                    base_url="http://gateway.test",
                    timeout=30,
                    event_hooks={"request": [record_document]},
                )
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
