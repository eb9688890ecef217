"""Automatic persisted queries across replicas: two gateways sharing the real Redis serve each other's hashes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from gateway.limits.keys import redis_client
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory
from tests.redis_harness import require_redis, unique_namespace

QUERY = "query Sources { sources { name reachable } }"
BY_HASH = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(QUERY.encode()).hexdigest()}}
HEADERS = {"Accept": "application/graphql-response+json"}


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    url = require_redis()
    name = unique_namespace("apq-e2e")
    yield name
    client = redis_client(url, timeout_s=5, pool_size=2)
    doomed = [key async for key in client.scan_iter(match=f"{name}:*")]
    if doomed:
        await client.delete(doomed)
    client.connection_pool.disconnect()


async def test_a_query_registered_through_one_replica_runs_by_hash_on_another(
    start_gateway: GatewayFactory, namespace: str
) -> None:
    shared = {"redis_url": require_redis(), "persisted_documents_redis_namespace": namespace}
    first, second = await start_gateway(**shared), await start_gateway(**shared)

    unknown = await second.post("/graphql", json={"extensions": BY_HASH}, headers=HEADERS)
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = await first.post("/graphql", json={"query": QUERY, "extensions": BY_HASH}, headers=HEADERS)
    assert registered.status_code == 200
    assert "errors" not in registered.json()

    served = await second.post("/graphql", json={"extensions": BY_HASH}, headers=HEADERS)
    assert served.status_code == 200
    # The same data; the budget's reset time may differ by the second the two requests straddle.
    assert served.json()["data"] == registered.json()["data"]
    assert served.json()["extensions"]["cost"]["requested"] == registered.json()["extensions"]["cost"]["requested"]
    assert [source["name"] for source in served.json()["data"]["sources"]] == [spec.name for spec in SPECS]
