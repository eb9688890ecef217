"""Compressed GraphQL answers through the whole gateway: the response cache's hits append their own extensions to
a head compressed once, HTTP caching still validates, and refusals keep their shape."""

from __future__ import annotations

import gzip
import json

import brotli
import httpx
import pytest

from tests.e2e.conftest import GatewayFactory

FAN_OUT = (
    "query FanOut { leads(first: 10) { edges { node { leadId title } } }"
    " tenders(first: 10) { edges { node { reference title } } } }"
)
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def _raw(client: httpx.AsyncClient, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would decode it)."""
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, raw


def _decoded(coding: str | None, raw: bytes) -> dict[str, object]:
    body = brotli.decompress(raw) if coding == "br" else gzip.decompress(raw) if coding == "gzip" else raw
    decoded: dict[str, object] = json.loads(body)
    return decoded


@pytest.mark.parametrize("coding", ["gzip", "br"])
async def test_response_cache_hits_are_compressed_from_a_head_compressed_once(
    start_gateway: GatewayFactory, coding: str
) -> None:
    gateway = await start_gateway()
    answers = []
    for _ in range(3):
        request = gateway.build_request(
            "POST",
            "/graphql",
            json={"query": FAN_OUT},
            headers={"Accept": GRAPHQL_RESPONSE, "Accept-Encoding": coding},
        )
        response, raw = await _raw(gateway, request)
        assert response.status_code == 200
        assert response.headers["content-encoding"] == coding
        assert response.headers["vary"] == "Accept-Encoding"
        answers.append((raw, _decoded(coding, raw)))
    (_, miss), (hit_raw, hit), (_, again) = answers
    assert miss["extensions"]["cache"]["response"]["status"] == "MISS"  # type: ignore[index]
    assert hit["extensions"]["cache"]["response"]["status"] == "HIT"  # type: ignore[index]
    assert hit["data"] == miss["data"] == again["data"]
    # A hit's own extensions travel uncompressed after the compressed head: readable in the raw bytes.
    assert b'"extensions":{"cache":{"response":{"status":"HIT"' in hit_raw
    identity = await gateway.post(
        "/graphql", json={"query": FAN_OUT}, headers={"Accept": GRAPHQL_RESPONSE, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in identity.headers
    assert identity.json()["data"] == hit["data"]


async def test_a_compressed_get_answer_has_a_weak_etag_that_revalidates(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway()
    headers = {"Accept": GRAPHQL_RESPONSE, "Accept-Encoding": "gzip"}
    first = await gateway.get("/graphql", params={"query": FAN_OUT}, headers=headers)
    hit = await gateway.get("/graphql", params={"query": FAN_OUT}, headers=headers)
    assert hit.headers["content-encoding"] == "gzip"
    assert hit.headers["etag"].startswith('W/"')
    assert hit.headers["vary"] == "Accept, Authorization, X-API-Key, Accept-Encoding"
    assert hit.json()["data"] == first.json()["data"]
    revalidated = await gateway.get(
        "/graphql", params={"query": FAN_OUT}, headers={**headers, "If-None-Match": hit.headers["etag"]}
    )
    assert revalidated.status_code == 304
    assert revalidated.content == b""


async def test_small_answers_and_refusals_go_uncompressed(start_gateway: GatewayFactory) -> None:
    gateway = await start_gateway()
    headers = {"Accept": GRAPHQL_RESPONSE, "Accept-Encoding": "gzip, br"}
    small = await gateway.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert small.status_code == 200
    assert "content-encoding" not in small.headers
    too_large = await gateway.post(
        "/graphql",
        content=b'{"query": "' + b" " * 200_000 + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert "content-encoding" not in too_large.headers
    assert too_large.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    ready = await gateway.get("/readyz", headers=headers)
    assert ready.status_code == 200
    assert ready.headers["cache-control"] == "no-store"
