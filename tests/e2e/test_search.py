"""The cross-source `search` over the sandbox: several hundred results paged through in pages of 7 and of 100, each
exactly once and in order, with one source failing midway; call budgets per page from the sandbox's hit counters;
refusals before any call; and the deprecated `searchByKind`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import default_upstreams
from gateway.upstreams.catalog import SPECS
from tests.e2e.conftest import GatewayFactory, graphql
from tests.sandbox_harness import RunningSandbox

KEYWORDS = "software"  # several hundred matches in every source of the default sandbox (ITA, Canada, SAM, CanadaBuys)
UPSTREAM_ROUTES = ("ita.search", "canada.tenders", "canada.contracts", "sam.search")
# Calls one page may make: one per source asked, SAM two (it pages by index: an unaligned window spans two pages).
# The Canadian API answers every page of one search from its one cached answer. The CanadaBuys mirror answers from
# its local index, and the retired Canadian API is not asked while that successor is configured.
PAGE_BUDGET = {"ita.search": 1, "canada.tenders": 1, "canada.contracts": 1, "sam.search": 2}
MIRRORED_PAGE_BUDGET = {**PAGE_BUDGET, "canada.tenders": 0, "canada.contracts": 0}
SOURCES = {("ita", "LEAD"), ("canada", "TENDER"), ("canada", "CONTRACT"), ("sam", "CONTRACT")}
MIRRORED_SOURCES = {("ita", "LEAD"), ("canadabuys", "TENDER"), ("canadabuys", "CONTRACT"), ("sam", "CONTRACT")}
PAGE = """query($k: String, $first: Int, $after: String) {
  search(keywords: $k, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { upstream relevance node { __typename ... on Node { id } } }
    sources { upstream kind asked totalCount errorCode }
  }
}"""


@dataclass(frozen=True)
class Result:
    upstream: str
    kind: str
    id: str
    relevance: float


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await graphql(client, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def mirror_ready(gateway: httpx.AsyncClient) -> None:
    """Wait for the CanadaBuys mirror's first snapshot (until then it answers MIRROR_NOT_READY)."""
    query = '{ search(first: 1, filter: {sources: ["canadabuys"]}) { sources { errorCode } } }'
    for _ in range(300):
        if "errors" not in await post(gateway, query):
            return
        await asyncio.sleep(0.1)
    pytest.fail("the CanadaBuys mirror did not become ready")


@pytest.fixture
async def search_gateway(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    """ITA, the Canadian API and SAM at the sandbox. A breaker that never opens: the failing-source test must see its
    source answer again right after the fault."""
    return await start_gateway(breaker_failure_threshold=1_000)


@pytest.fixture
async def paging_gateway(
    request: pytest.FixtureRequest, start_gateway: GatewayFactory, sandbox: RunningSandbox, tmp_path: Path
) -> httpx.AsyncClient:
    """With `request.param` true, every upstream at the sandbox, the CanadaBuys mirror too (it then serves the
    Canadian tenders and contracts); else the gateway of `search_gateway`."""
    if not request.param:
        return await start_gateway()
    paged = {"ita", "canada", "sam", "canadabuys"}  # the other mirrors are tests/e2e/test_successor_leads.py's
    upstreams = default_upstreams(SPECS, sandbox.base_url)
    upstreams |= {name: default_upstreams(SPECS)[name] for name in upstreams if name not in paged}
    gateway = await start_gateway(upstreams=upstreams, mirror_data_dir=str(tmp_path / "mirrors"))
    await mirror_ready(gateway)
    return gateway


@pytest.fixture
async def clean_gateway(start_gateway: GatewayFactory) -> httpx.AsyncClient:
    return await start_gateway()


async def reset_hits(sandbox: RunningSandbox) -> None:
    async with sandbox.session.delete(sandbox.url("_sandbox/stats")) as response:
        assert response.status == 200


def results(page: dict[str, Any]) -> Iterator[Result]:
    kinds = {"Lead": "LEAD", "Tender": "TENDER", "Contract": "CONTRACT"}
    for edge in page["edges"]:
        yield Result(edge["upstream"], kinds[edge["node"]["__typename"]], edge["node"]["id"], edge["relevance"])


async def page_through(
    gateway: httpx.AsyncClient, sandbox: RunningSandbox, first: int, *, failing: range = range(0), upstream: str = ""
) -> tuple[list[Result], list[dict[str, Any]], list[dict[str, int]]]:
    """Every result of KEYWORDS in pages of `first`; `upstream` fails on the pages numbered in `failing` (0-based).
    Returns the results, every page, and the upstream calls each page made."""
    found: list[Result] = []
    pages: list[dict[str, Any]] = []
    calls: list[dict[str, int]] = []
    after = None
    for number in range(1000):
        if number in failing:
            await sandbox.set_fault(upstream, error_rate=1.0)
        elif number == failing.stop and failing:
            await sandbox.clear_fault(upstream)
        await reset_hits(sandbox)
        body = await post(gateway, PAGE, {"k": KEYWORDS, "first": first, "after": after})
        hits: dict[str, int] = (await sandbox.stats())["hits"]
        calls.append({route: hits.get(route, 0) for route in UPSTREAM_ROUTES})
        assert body["data"]["search"] is not None, body
        page = body["data"]["search"]
        page["errors"] = body.get("errors", [])
        pages.append(page)
        found += results(page)
        if not page["pageInfo"]["hasNextPage"]:
            return found, pages, calls
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


def per_source(found: list[Result]) -> dict[tuple[str, str], list[str]]:
    order: dict[tuple[str, str], list[str]] = {}
    for result in found:
        order.setdefault((result.upstream, result.kind), []).append(result.id)
    return order


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("first", "paging_gateway"),
    [(7, False), (100, False), (100, True)],
    ids=["7", "100", "100-mirror"],
    indirect=["paging_gateway"],
)
async def test_paging_gives_every_result_of_every_source_once_in_order(
    paging_gateway: httpx.AsyncClient, sandbox: RunningSandbox, first: int
) -> None:
    gateway = paging_gateway
    statuses = (await post(gateway, "{ sources { name configured } }"))["data"]["sources"]
    mirrored = {"name": "canadabuys", "configured": True} in statuses
    found, pages, calls = await page_through(gateway, sandbox, first)
    total = pages[0]["totalCount"]
    assert 300 <= total <= 1500
    assert len(found) == len({result.id for result in found}) == total
    assert [len(page["edges"]) for page in pages[:-1]] == [first] * (len(pages) - 1)
    # One order across sources: relevance (the normalised rank in each source) never rises from page to page.
    relevances = [result.relevance for result in found]
    assert relevances == sorted(relevances, reverse=True)
    sources = {(r.upstream, r.kind) for r in found}
    assert sources == (MIRRORED_SOURCES if mirrored else SOURCES)
    # Each source in its own order: as it pages alone.
    for upstream, kind in sources:
        assert per_source(found)[(upstream, kind)] == await page_through_source(gateway, upstream, kind)
    # Call budgets per page, from the sandbox's hit counters.
    budget = MIRRORED_PAGE_BUDGET if mirrored else PAGE_BUDGET
    assert all(page_calls[route] <= budget[route] for page_calls in calls for route in UPSTREAM_ROUTES), calls
    assert calls[0]["ita.search"] == 1
    assert calls[0]["sam.search"] >= 1
    not_asked = [n for n, page in enumerate(pages) if not _asked(page, "ita")]
    assert all(calls[n]["ita.search"] == 0 for n in not_asked)  # a source with nothing more is not asked again


def _asked(page: dict[str, Any], upstream: str) -> bool:
    return any(source["asked"] for source in page["sources"] if source["upstream"] == upstream)


async def page_through_source(gateway: httpx.AsyncClient, upstream: str, kind: str) -> list[str]:
    query = """query($k: String, $filter: SearchFilter, $after: String) {
      search(keywords: $k, filter: $filter, first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { ... on Node { id } } } } }"""
    ids: list[str] = []
    after = None
    for _ in range(100):
        variables = {"k": KEYWORDS, "after": after, "filter": {"sources": [upstream], "kinds": [kind]}}
        page = (await post(gateway, query, variables))["data"]["search"]
        ids += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("first", "failing"), [(7, range(3, 9)), (100, range(1, 2))])
async def test_a_source_failing_midway_loses_and_repeats_nothing(
    search_gateway: httpx.AsyncClient,
    clean_gateway: httpx.AsyncClient,
    sandbox: RunningSandbox,
    first: int,
    failing: range,
) -> None:
    found, pages, _ = await page_through(search_gateway, sandbox, first, failing=failing, upstream="sam")
    for number, page in enumerate(pages):
        if number in failing:
            [error] = page["errors"]
            assert error["path"] == ["search"]
            assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
            assert error["extensions"]["upstream"] == "sam"
            [sam] = [source for source in page["sources"] if source["upstream"] == "sam"]
            assert sam["errorCode"] == "UPSTREAM_UNAVAILABLE"
            assert page["totalCount"] is None
            assert page["pageInfo"]["hasNextPage"]
            assert all(result.upstream != "sam" for result in results(page))
        else:
            assert page["errors"] == []
    # The same results as a run where nothing failed (another gateway: its own cache), each once, each source in order.
    expected, _, _ = await page_through(clean_gateway, sandbox, 100)
    assert Counter(result.id for result in found) == Counter(result.id for result in expected)
    assert len(found) == len(set(found))
    assert per_source(found) == per_source(expected)


async def test_facets_and_freshness_come_beside_the_results(search_gateway: httpx.AsyncClient) -> None:
    query = """{ search(keywords: "software", first: 10) {
      facets { name values { value count pageLocal } }
      sources { upstream kind asked lastUpdated publishers { source lastUpdated } } } }"""
    found = (await post(search_gateway, query))["data"]["search"]
    facets = {facet["name"]: facet["values"] for facet in found["facets"]}
    assert {value["value"] for value in facets["SOURCE"]} == {"ita", "sam", "canada"}
    assert not any(value["pageLocal"] for value in facets["SOURCE"])
    countries = {value["value"]: value for value in facets["COUNTRY"]}
    ita_countries = [value for value in countries.values() if not value["pageLocal"]]
    assert ita_countries, "ITA's aggregations give counts over every match"
    assert all(value["pageLocal"] for value in facets["CLASSIFICATION"])
    [ita] = [source for source in found["sources"] if source["upstream"] == "ita"]
    assert ita["publishers"]
    assert ita["lastUpdated"] == max(p["lastUpdated"] for p in ita["publishers"] if p["lastUpdated"])


@pytest.mark.parametrize(
    ("search_filter", "argument"),
    [
        ({"countries": ["ZZ"]}, "filter.countries"),
        ({"regions": ["Atlantis"]}, "filter.regions"),
        ({"tradeRegions": ["Hanseatic League"]}, "filter.tradeRegions"),
        ({"worldRegions": ["Middle Earth"]}, "filter.worldRegions"),
    ],
)
async def test_unknown_places_are_refused_before_any_call(
    search_gateway: httpx.AsyncClient, sandbox: RunningSandbox, search_filter: dict[str, Any], argument: str
) -> None:
    await reset_hits(sandbox)
    body = await post(
        search_gateway, "query($f: SearchFilter) { search(filter: $f) { totalCount } }", {"f": search_filter}
    )
    assert body["data"]["search"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert error["extensions"]["accepted"]
    assert (await sandbox.stats())["hits"] == {}


@pytest.mark.parametrize(
    ("lead_filter", "argument"),
    [
        ('{countries: ["ZZ"]}', "filter.countries[0]"),
        ('{tradeRegions: ["Hanseatic League"]}', "filter.tradeRegions"),
        ('{worldRegions: ["Middle Earth"]}', "filter.worldRegions"),
    ],
)
async def test_the_leads_filter_checks_the_same_vocabularies(
    search_gateway: httpx.AsyncClient, sandbox: RunningSandbox, lead_filter: str, argument: str
) -> None:
    await reset_hits(sandbox)
    body = await post(search_gateway, f"{{ leads(filter: {lead_filter}) {{ totalCount }} }}")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert (await sandbox.stats())["hits"] == {}


async def test_ita_regions_reach_ita_in_its_spelling(
    search_gateway: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    body = await post(
        search_gateway, '{ leads(filter: {tradeRegions: ["nafta"], worldRegions: ["pacific rim"]}) { totalCount } }'
    )
    assert body["data"]["leads"]["totalCount"] > 0
    [sent] = await sandbox.requests("ita.search")
    assert (sent["trade_regions"], sent["world_regions"]) == ("NAFTA", "Pacific Rim")


# -- the deprecated per-kind shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{ searchByKind(keywords: "software") { leads { title } } }', {"ita.search": 1}),
        ('{ searchByKind(keywords: "software") { contracts { piid } } }', {"sam.search": 1, "canada.contracts": 1}),
        ('{ searchByKind(keywords: "software") { __typename } }', {}),
        (
            '{ searchByKind(keywords: "software", kinds: [LEAD]) { leads { title } contracts { piid } } }',
            {"ita.search": 1},
        ),
    ],
    ids=["leads", "contracts", "typename", "kinds"],
)
async def test_search_by_kind_calls_only_the_kinds_asked_and_selected(
    search_gateway: httpx.AsyncClient, sandbox: RunningSandbox, query: str, expected: dict[str, int]
) -> None:
    await reset_hits(sandbox)
    body = await post(search_gateway, query)
    assert "errors" not in body, body["errors"]
    hits = (await sandbox.stats())["hits"]
    assert {route: hits.get(route, 0) for route in UPSTREAM_ROUTES} == {
        route: expected.get(route, 0) for route in UPSTREAM_ROUTES
    }
