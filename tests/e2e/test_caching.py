"""Caching seen from outside: upstream hits (sandbox counters), `extensions.cache`, HTTP validators, Redis outages."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gateway.upstreams.spec import RecordKind
from tests.e2e.conftest import GatewayFactory, graphql
from tests.redis_harness import private_redis
from tests.sandbox_harness import RunningSandbox

TENDER_REFERENCES = "{ tenders(first: 3) { edges { node { reference } } } }"
TENDER_COUNT = "{ tenders(first: 3) { totalCount } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
TENDERS_NEVER_FRESH = {("canada", RecordKind.TENDER): 0}


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(client, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_upstream_cache_hit_makes_no_upstream_call(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    first = await post(gateway, TENDER_REFERENCES)
    assert first["extensions"]["cache"]["canada"]["status"] == "MISS"
    second = await post(gateway, TENDER_COUNT)  # another document, the same upstream request
    assert second["data"]["tenders"]["totalCount"] > 0
    assert second["extensions"]["cache"]["canada"]["status"] == "HIT"
    assert await sandbox.hits("canada.tenders") == 1


async def test_identical_operation_is_answered_from_the_response_cache(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    first = await post(gateway, TENDER_REFERENCES)
    second = await post(gateway, TENDER_REFERENCES)
    assert second["data"] == first["data"]
    assert second["extensions"]["cache"]["response"]["status"] == "HIT"
    assert "canada" not in second["extensions"]["cache"]  # no upstream was consulted at all
    assert await sandbox.hits("canada.tenders") == 1


async def test_caller_specific_fields_are_never_response_cached(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    query = "{ sources { name lastSuccess } tenders(first: 1) { totalCount } }"
    await post(gateway, query)
    second = await post(gateway, query)
    assert "response" not in second["extensions"]["cache"]
    assert second["extensions"]["cache"]["canada"]["status"] == "HIT"


async def test_concurrent_identical_cold_queries_make_one_upstream_call(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await sandbox.set_fault("sam", latency_ms=200)
    query = "{ contracts(first: 5, filter: {sources: [SAM]}) { edges { node { piid } } } }"
    bodies = await asyncio.gather(*(post(gateway, query) for _ in range(100)))
    assert all("errors" not in body and body["data"]["contracts"]["edges"] for body in bodies)
    assert await sandbox.hits("sam.search") == 1


async def test_concurrent_different_documents_share_one_upstream_call(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    await sandbox.set_fault("ita", latency_ms=200)
    documents = [f"{{ leads(first: 5) {{ edges {{ node {{ title }} }} a{i}: totalCount }} }}" for i in range(50)]
    bodies = await asyncio.gather(*(post(gateway, document) for document in documents))
    assert all("errors" not in body for body in bodies)
    assert await sandbox.hits("ita.search") == 1


async def test_stale_answer_is_served_and_marked_while_the_upstream_is_down(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    gateway = await start_gateway(ttls=TENDERS_NEVER_FRESH, response_cache_ttl_s=0)
    fresh = await post(gateway, TENDER_REFERENCES)
    await sandbox.set_fault("canada", error_rate=1.0, error_status=503)
    stale = await post(gateway, TENDER_REFERENCES)
    assert "errors" not in stale
    assert stale["data"] == fresh["data"]
    assert stale["extensions"]["cache"]["canada"]["status"] == "STALE"
    assert await sandbox.hits("canada.tenders") == 3  # the fresh call, then a failed call and its retry


async def test_stale_answers_are_not_response_cached(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    gateway = await start_gateway(ttls=TENDERS_NEVER_FRESH)
    await post(gateway, "{ tenders(first: 2) { totalCount } }")
    await sandbox.set_fault("canada", error_rate=1.0, error_status=503)
    stale = await post(gateway, TENDER_REFERENCES)
    assert stale["extensions"]["cache"]["canada"]["status"] == "STALE"
    await sandbox.clear_fault("canada")
    again = await post(gateway, TENDER_REFERENCES)
    assert again["extensions"]["cache"]["canada"]["status"] == "MISS"


async def test_errors_and_malformed_bodies_are_not_cached(
    start_gateway: GatewayFactory, sandbox: RunningSandbox
) -> None:
    for plan in ({"error_rate": 1.0, "error_status": 500}, {"garbage_rate": 1.0}):
        gateway = await start_gateway()  # a cold cache each round
        await sandbox.reset()
        await sandbox.set_fault("canada", **plan)
        failed = await post(gateway, TENDER_REFERENCES)
        assert failed["data"]["tenders"] is None
        await sandbox.clear_fault("canada")
        hits_before = await sandbox.hits("canada.tenders")
        recovered = await post(gateway, TENDER_REFERENCES)
        assert recovered["data"]["tenders"]["edges"]
        assert recovered["extensions"]["cache"]["canada"]["status"] == "MISS"
        assert await sandbox.hits("canada.tenders") == hits_before + 1


async def test_get_queries_carry_validators_and_answer_304(gateway: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    headers = {"Accept": GRAPHQL_RESPONSE}
    first = await gateway.get("/graphql", params={"query": TENDER_COUNT}, headers=headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("private, max-age=")
    again = await gateway.get("/graphql", params={"query": TENDER_COUNT}, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    other = await gateway.get("/graphql", params={"query": TENDER_COUNT}, headers={**headers, "If-None-Match": '"x"'})
    assert other.status_code == 200
    assert await sandbox.hits("canada.tenders") == 1


async def test_post_and_failed_answers_are_not_stored_by_http_caches(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    posted = await graphql(gateway, TENDER_COUNT)
    assert posted.headers["Cache-Control"] == "no-store"
    await sandbox.set_fault("ita", error_rate=1.0)
    failed = await gateway.get(
        "/graphql", params={"query": "{ leads { totalCount } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert failed.status_code == 200
    assert failed.headers["Cache-Control"] == "no-store"
    assert "ETag" not in failed.headers


async def test_redis_stopped_mid_test_gives_no_5xx(start_gateway: GatewayFactory, sandbox: RunningSandbox) -> None:
    with private_redis() as redis_server:
        gateway = await start_gateway(redis_url=redis_server.url, response_cache_ttl_s=0)
        warm = await post(gateway, "{ tenders(first: 1) { totalCount } }")
        assert warm["extensions"]["cache"]["canada"]["status"] == "MISS"
        assert (await post(gateway, "{ tenders(first: 2) { totalCount } }"))["extensions"]["cache"]["canada"][
            "status"
        ] == "HIT"
        redis_server.stop()
        for first in range(3, 8):
            response = await graphql(gateway, f"{{ tenders(first: {first}) {{ totalCount }} }}")
            assert response.status_code == 200
            assert response.json()["data"]["tenders"]["totalCount"] > 0
        redis_server.start()
        await asyncio.sleep(1.2)  # the cache probes a recovered Redis at most once a second
        for _ in range(3):
            response = await graphql(gateway, "{ tenders(first: 9) { totalCount } }")
            assert response.status_code == 200
        assert (await post(gateway, "{ tenders(first: 9) { totalCount } }"))["extensions"]["cache"]["canada"][
            "status"
        ] == "HIT"
