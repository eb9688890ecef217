"""Leads live again, end to end: the gateway mirrors the sandbox's imitations of ITA's live successors (CanadaBuys for
CANADA, SAM.gov Contract Opportunities for FBO, Contracts Finder and Find a Tender for UK), and
`leads(filter: {sources: [CANADA, FBO, UK]})` pages through several hundred of their leads in one merged order, each
exactly once, without asking ITA; with one successor failing (its imitation refusing every request: its mirror never
gets a snapshot), the others still answer and the error names the failing one."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import UpstreamSettings
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory, graphql, sandbox_upstreams
from tests.sandbox_harness import RunningSandbox

SUCCESSORS = ("canadabuys", "samopps", "contractsfinder", "findatender")
CANADABUYS_ROWS = 300
READY_WITHIN_S = 60.0
LEADS = """query($after: String) {
  leads(filter: {sources: [CANADA, FBO, UK]}, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id leadId source publishDate } }
    skippedSources { source upstream reason }
  }
}"""
SOURCES = "{ sources { name feeds { name lastSuccess lastError } } }"


async def set_knobs(sandbox: RunningSandbox, upstream: str, **knobs: Any) -> None:
    async with sandbox.session.put(sandbox.url(f"_sandbox/{upstream}"), json=knobs) as response:
        assert response.status == 200, await response.text()


async def start_with_successors(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, data_dir: Path
) -> httpx.AsyncClient:
    """A gateway mirroring every successor's imitation (ITA configured too: it must not be asked for their codes)."""
    await set_knobs(sandbox, "canadabuys", rows=CANADABUYS_ROWS)
    await set_knobs(sandbox, "findatender", requests_per_window=10_000)  # the publisher's pace is another test's
    upstreams = sandbox_upstreams(SPECS, sandbox.base_url, {})
    for name in SUCCESSORS:
        upstreams[name] = UpstreamSettings(sandbox.base_url, dict(upstreams[name].ttl_s))
    month_s = 30 * 24 * 3600
    return await start_gateway(
        upstreams=upstreams,
        mirror_data_dir=str(data_dir),
        mirror_replica="e2e",
        mirror_contact="mailto:e2e@example.org",
        response_cache_ttl_s=0,
        contractsfinder_request_interval_s=0.0,
        contractsfinder_window_s=month_s,
        contractsfinder_backfill_days=130,  # the imitations publish 120 days of history
        findatender_request_interval_s=0.0,
        findatender_window_s=month_s,
        findatender_backfill_days=130,
    )


async def ready(gateway: httpx.AsyncClient, names: tuple[str, ...]) -> None:
    """Until every feed of the named mirrors has had a successful refresh."""
    deadline = time.monotonic() + READY_WITHIN_S
    while True:
        body = (await graphql(gateway, SOURCES)).json()
        mirrors = {source["name"]: source["feeds"] or [] for source in body["data"]["sources"]}
        if all(mirrors[name] and all(feed["lastSuccess"] for feed in mirrors[name]) for name in names):
            return
        assert time.monotonic() < deadline, {name: mirrors[name] for name in names}
        await asyncio.sleep(0.2)


async def test_three_successors_page_through_in_one_order_each_lead_once(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    gateway = await start_with_successors(start_gateway, sandbox, tmp_path)
    await ready(gateway, SUCCESSORS)
    ita_before = sum(n for route, n in (await sandbox.stats())["hits"].items() if route.startswith("ita."))

    seen: list[dict[str, Any]] = []
    totals: set[int] = set()
    after = None
    for _ in range(100):
        body = (await graphql(gateway, LEADS, {"after": after})).json()
        assert "errors" not in body, body["errors"]
        page = body["data"]["leads"]
        assert page["skippedSources"] == []
        totals.add(page["totalCount"])
        seen += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(totals) == 1  # the mirrors did not change while paging
    assert len(seen) == totals.pop()
    assert len(seen) >= 500  # several hundred, from the three successors
    assert len({node["id"] for node in seen}) == len(seen)  # each lead exactly once
    by_source = {source: sum(1 for node in seen if node["source"] == source) for source in ("CANADA", "FBO", "UK")}
    assert all(count >= 50 for count in by_source.values()), by_source
    assert {node["source"] for node in seen} == {"CANADA", "FBO", "UK"}
    days = [date.fromisoformat(node["publishDate"]) for node in seen if node["publishDate"]]
    assert days == sorted(days, reverse=True)  # one merged order: the newer publish date first
    assert all(node["publishDate"] for node in seen[: len(days)])  # undated leads, if any, come last
    ita_after = sum(n for route, n in (await sandbox.stats())["hits"].items() if route.startswith("ita."))
    assert ita_after == ita_before  # ITA serves none of the three codes while their successors are configured


async def test_one_successor_failing_leaves_the_others_and_names_it(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    fault = {"error_rate": 1.0, "error_status": 503}  # Find a Tender refuses every request: no snapshot, ever
    async with sandbox.session.put(sandbox.url("_sandbox/faults/findatender"), json=fault) as response:
        assert response.status == 200, await response.text()
    gateway = await start_with_successors(start_gateway, sandbox, tmp_path)
    await ready(gateway, ("canadabuys", "samopps", "contractsfinder"))

    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        body = (await graphql(gateway, LEADS, {"after": after})).json()
        page = body["data"]["leads"]
        assert page["totalCount"] is None  # one source did not answer: the total is unknown
        assert [(e["extensions"]["code"], e["extensions"]["upstream"], e["path"]) for e in body["errors"]] == [
            ("MIRROR_NOT_READY", "findatender", ["leads"])
        ]
        seen += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) >= 300
    assert len({node["id"] for node in seen}) == len(seen)
    assert {node["source"] for node in seen} == {"CANADA", "FBO", "UK"}  # UK from Contracts Finder still
