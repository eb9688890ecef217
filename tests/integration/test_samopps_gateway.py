"""The gateway with the SAM opportunities mirror in front of the sandbox, over GraphQL: FBO leads paged once each from
the extract, award notices as contracts without their twin beside SAM's Contract Awards record, and `sources`
showing the two shares of the SAM key (the pulls' and the user queries')."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import CredentialSettings, Settings, UpstreamSettings, default_upstreams
from gateway.upstreams.catalog import SPECS
from sandbox.samopps_board import BOARD
from tests.sandbox_harness import SANDBOX_API_KEYS, RunningSandbox

SERVED_TYPES = {"Solicitation", "Combined Synopsis/Solicitation", "Presolicitation", "Sources Sought", "Special Notice"}
LEADS = """query($after: String) {
  leads(first: 100, after: $after, filter: {sources: [FBO]}) {
    totalCount pageInfo { hasNextPage endCursor } nodes { leadId source noticeType }
  }
}"""
CONTRACTS = """query($piid: String!) {
  contracts(first: 20, filter: {sources: [SAM, SAMOPPS], piid: $piid}) { nodes { source piid modificationNumber } }
}"""
SOURCES = "{ sources { name quotaRemaining reachable feeds { name rows lastSuccess lastError } } }"


@pytest.fixture
async def gateway(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    unconfigured = {name: UpstreamSettings("", upstream.ttl_s) for name, upstream in default_upstreams(SPECS).items()}
    settings = Settings(
        profile="dev",
        upstreams=unconfigured
        | {name: UpstreamSettings(sandbox.base_url, unconfigured[name].ttl_s) for name in ("sam", "samopps")},
        credentials={"sam": CredentialSettings(api_key=SANDBOX_API_KEYS["sam"], daily_quota=1000)},
        anonymous_tier_enabled=True,
        tiers='{"anonymous": {"requests_per_minute": 100000, "burst": 1000, "cost_per_hour": 1000000}}',
        mirror_data_dir=str(tmp_path),
        mirror_replica="test",
        mirror_contact="mailto:tests@example.org",
        response_cache_ttl_s=0,
    )
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=30) as client:
            yield client


async def data_of(client: httpx.AsyncClient, query: str, **variables: Any) -> Any:
    body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def samopps_status(client: httpx.AsyncClient) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sources = {source["name"]: source for source in (await data_of(client, SOURCES))["sources"]}
        feeds = {feed["name"]: feed for feed in sources["samopps"]["feeds"]}
        if feeds["extract"]["rows"] and feeds["api"]["lastSuccess"] and sources["samopps"]["reachable"]:
            return sources
        await asyncio.sleep(0.1)
    raise AssertionError(f"the mirror did not refresh: {sources['samopps']}")


async def test_fbo_leads_awards_and_both_shares_of_the_key(sandbox: RunningSandbox, gateway: httpx.AsyncClient) -> None:
    sources = await samopps_status(gateway)
    pulls = await sandbox.hits("samopps.search")
    assert pulls >= 1  # the day's postings were pulled once the extract was read
    assert sources["samopps"]["quotaRemaining"] == 500 - pulls  # the pulls' share: half of 1,000
    assert sources["sam"]["quotaRemaining"] == 500  # the user queries' share, untouched

    dataset = sandbox.app[BOARD].dataset()
    expected = {notice.notice_id for notice in dataset.notices if notice.notice_type in SERVED_TYPES}
    seen: list[str] = []
    after = None
    while True:
        leads = (await data_of(gateway, LEADS, after=after))["leads"]
        assert leads["totalCount"] == len(expected)
        seen += [node["leadId"] for node in leads["nodes"]]
        assert {node["source"] for node in leads["nodes"]} == {"FBO"}
        if not leads["pageInfo"]["hasNextPage"]:
            break
        after = leads["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen))  # each once
    assert set(seen) == expected

    joined = dataset.joined_piids[0]  # an award notice of a base award SAM's Contract Awards also publishes
    nodes = (await data_of(gateway, CONTRACTS, piid=joined))["contracts"]["nodes"]
    assert {node["piid"] for node in nodes} == {joined}
    assert {node["source"] for node in nodes} == {"SAM"}  # the award notice is not counted twice
    alone = next(
        notice.award.number for notice in dataset.notices if notice.award is not None and not notice.award.joined
    )
    nodes = (await data_of(gateway, CONTRACTS, piid=alone))["contracts"]["nodes"]
    assert [node["source"] for node in nodes] == ["SAMOPPS"]  # SAM has no record of it: the notice stands
    after_queries = {source["name"]: source for source in (await data_of(gateway, SOURCES))["sources"]}
    assert after_queries["sam"]["quotaRemaining"] == 500 - await sandbox.hits("sam.search")
    assert after_queries["samopps"]["quotaRemaining"] == 500 - await sandbox.hits("samopps.search")
