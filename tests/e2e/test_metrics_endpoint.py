"""/metrics and the access line of the whole app in process: where the metrics are served, what they count, and that
they and the access line tell the same story of each request."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.edge.access_log import ACCESS_LOGGER
from gateway.logs import EVENT_FIELDS
from tests.e2e.conftest import GatewayFactory, graphql
from tests.e2e.processes import free_port
from tests.sandbox_harness import RunningSandbox

SOURCES = "query Sources { sources { name } }"


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, EVENT_FIELDS) for r in caplog.records if r.name == ACCESS_LOGGER]


async def test_metrics_need_no_key_are_never_kept_and_count_only_graphql_requests(
    start_gateway: GatewayFactory,
) -> None:
    gateway = await start_gateway(anonymous_tier_enabled=False)
    assert (await graphql(gateway, SOURCES)).status_code == 401
    for _ in range(3):
        scraped = await gateway.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["Cache-Control"] == "no-store"
        assert scraped.headers["Content-Type"].startswith("text/plain")
    assert (await gateway.get("/healthz")).status_code == 200
    requests = samples(scraped.text, "gateway_requests_total")
    assert sum(requests.values()) == 1  # the refused GraphQL request; probes and scrapes are not counted
    assert requests[frozenset({("operation", "other"), ("status", "401"), ("code", "UNAUTHENTICATED")})] == 1
    openmetrics = await gateway.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


async def test_metrics_can_be_turned_off_or_served_on_a_port_of_their_own(start_gateway: GatewayFactory) -> None:
    off = await start_gateway(metrics_enabled=False)
    assert (await off.get("/metrics")).status_code == 404
    port = free_port()
    moved = await start_gateway(metrics_port=port, host="127.0.0.1")
    assert (await graphql(moved, SOURCES)).status_code == 200
    assert (await moved.get("/metrics")).status_code == 404
    async with httpx.AsyncClient() as client:
        scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["Cache-Control"] == "no-store"
    assert (
        samples(scraped.text, "gateway_requests_total")[
            frozenset({("operation", "other"), ("status", "200"), ("code", "none")})
        ]
        == 1
    )


async def test_only_the_manifests_operations_are_labelled_by_name(
    start_gateway: GatewayFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({hashlib.sha256(SOURCES.encode()).hexdigest(): SOURCES}), encoding="utf-8")
    gateway = await start_gateway(persisted_documents_manifest=str(manifest))
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    by_hash = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(SOURCES.encode()).hexdigest()}}
    assert (await gateway.post("/graphql", json={"extensions": by_hash})).status_code == 200
    assert (await graphql(gateway, SOURCES)).status_code == 200
    assert (await graphql(gateway, "query Mine { sources { name } }")).status_code == 200
    requests = samples((await gateway.get("/metrics")).text, "gateway_requests_total")
    assert requests[frozenset({("operation", "Sources"), ("status", "200"), ("code", "none")})] == 2
    assert requests[frozenset({("operation", "other"), ("status", "200"), ("code", "none")})] == 1
    assert [line["operation"] for line in access_lines(caplog)] == ["Sources", "Sources", "Mine"]


async def test_the_access_line_and_the_metrics_tell_the_same_story_of_a_failing_upstream(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    await sandbox.set_fault("sam", error_rate=1.0, error_status=503)
    query = "query Awards($kw: String) { contracts(first: 1, filter: {sources: [SAM], keywords: $kw}) { totalCount } }"
    answer = await gateway.post(
        "/graphql",
        json={"query": query, "variables": {"kw": "never-logged-variable"}},
        headers={"X-Request-Id": "failing-1", "Authorization": "Bearer pgw_0123456789ab_" + "x" * 43},
    )
    assert answer.status_code == 401  # a key that is unknown: refused before anything is asked
    answer = await gateway.post(
        "/graphql",
        json={"query": query, "variables": {"kw": "never-logged-variable"}},
        headers={"X-Request-Id": "failing-2"},
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    refused, failed = access_lines(caplog)
    assert (refused["request_id"], refused["status"], refused["error_codes"]) == ("failing-1", 401, ["UNAUTHENTICATED"])
    assert failed["request_id"] == "failing-2"
    assert failed["upstreams"] == ["sam:5xx", "sam:5xx"]  # the call and its one retry
    assert failed["upstream_calls"] == 2
    assert failed["error_codes"] == ["UPSTREAM_UNAVAILABLE"]
    assert failed["tier"] == "anonymous"
    assert failed["key_id"] is None
    upstream_saw = await sandbox.request_log("failing-2")
    assert [(entry["route"], entry["status"]) for entry in upstream_saw] == [("sam.search", 503), ("sam.search", 503)]
    text = (await gateway.get("/metrics")).text
    assert samples(text, "gateway_upstream_calls_total")[frozenset({("upstream", "sam"), ("outcome", "5xx")})] == 2
    assert (
        samples(text, "gateway_requests_total")[
            frozenset({("operation", "other"), ("status", "200"), ("code", "UPSTREAM_UNAVAILABLE")})
        ]
        == 1
    )
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    assert "never-logged-variable" not in logged
    assert "x" * 43 not in logged


async def test_cache_answers_are_recorded_per_upstream_and_a_whole_response_hit_asks_nobody(
    start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await start_gateway()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    first = "{ tenders(first: 2) { totalCount } }"
    for query in (first, first, "{ tenders(first: 2) { totalCount pageInfo { hasNextPage } } }"):
        assert (await graphql(gateway, query)).status_code == 200
    lines = access_lines(caplog)
    assert [(line["response_cache"], line["upstreams"], line["upstream_calls"]) for line in lines] == [
        ("miss", ["canada:ok"], 1),
        ("hit", [], 0),  # the whole answer kept: no upstream asked, not even the cache
        ("miss", ["canada:cache_hit"], 0),  # another answer from the same upstream page, kept by the upstream cache
    ]
    calls = samples((await gateway.get("/metrics")).text, "gateway_upstream_calls_total")
    assert calls == {
        frozenset({("upstream", "canada"), ("outcome", "ok")}): 1,
        frozenset({("upstream", "canada"), ("outcome", "cache_hit")}): 1,
    }
