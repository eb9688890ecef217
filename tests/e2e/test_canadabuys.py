"""CanadaBuys end to end: the gateway mirrors the sandbox's feeds (a 2,000-row publication) and answers `tenders`,
`contracts` and `sources` from its local index, over HTTP.

The mirror and the sandbox's legacy Canadian API answer the same reference numbers for GSIN prefix, region, closing
range and one-word keyword filters (within the legacy API's 100-row cap); a refresh under 200 concurrent queries
makes none fail or wait; a refresh that fails (truncated file, missing column, 403 without cookie) leaves the
previous snapshot serving and shows in `sources`.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import threading
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import UpstreamSettings
from gateway.upstreams.canadabuys.adapter import open_canadabuys_mirror
from gateway.upstreams.canadabuys.spec import SPEC as CANADABUYS
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.mirror.opening import MirrorSettings
from tests.e2e.conftest import GatewayFactory, graphql, sandbox_upstreams
from tests.sandbox_harness import RunningSandbox, running_sandbox

ROWS = 2000
REPLICA = "e2e"
CONTACT = "mailto:e2e@example.org"
READY_WITHIN_S = 90.0
TENDERS = """query($filter: TenderFilter, $after: String) {
  tenders(filter: $filter, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { reference closingDate }
  }
}"""
SOURCES = "{ sources { name reachable lastFailure feeds { name lastSuccess stale rows lastError } } }"


# -- the gateway in front of the sandbox's feeds ------------------------------------------------------------------


async def set_feed(sandbox: RunningSandbox, **knobs: Any) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/canadabuys"), json=knobs) as response:
        assert response.status == 200, await response.text()


async def start_mirroring(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, data_dir: Path, **overrides: Any
) -> httpx.AsyncClient:
    """A gateway asking the sandbox's legacy Canadian API (when named) and mirroring its CanadaBuys feeds."""
    upstreams = sandbox_upstreams(SPECS, sandbox.base_url, {})
    upstreams["canadabuys"] = UpstreamSettings(sandbox.base_url, dict(CANADABUYS.default_ttl_s))
    return await start_gateway(
        upstreams=upstreams,
        mirror_data_dir=str(data_dir),
        mirror_replica=REPLICA,
        mirror_contact=CONTACT,
        response_cache_ttl_s=0,
        **overrides,
    )


async def data_of(gateway: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = (await graphql(gateway, query, variables)).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def feeds(gateway: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    sources = (await data_of(gateway, SOURCES))["sources"]
    mirror = next(source for source in sources if source["name"] == "canadabuys")
    return {feed["name"]: feed for feed in mirror["feeds"]}


async def wait_for_feeds(gateway: httpx.AsyncClient, done: Any, what: str) -> dict[str, dict[str, Any]]:
    """The feeds once `done(feeds)` holds (polled), or a failure naming `what`."""
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        found = await feeds(gateway)
        if done(found):
            return found
        await asyncio.sleep(0.2)
    pytest.fail(f"{what} did not happen within {READY_WITHIN_S} s: {found}")


async def every_reference(gateway: httpx.AsyncClient, filter_: dict[str, Any]) -> tuple[dict[str, str], int]:
    """Every tender the filter gives (reference -> closing date), paging on with the cursors, and `totalCount`."""
    found: dict[str, str] = {}
    after: str | None = None
    while True:
        tenders = (await data_of(gateway, TENDERS, {"filter": filter_, "after": after}))["tenders"]
        for node in tenders["nodes"]:
            assert node["reference"] not in found, "a page repeated a tender"
            found[node["reference"]] = node["closingDate"]
        if not tenders["pageInfo"]["hasNextPage"]:
            return found, tenders["totalCount"]
        after = tenders["pageInfo"]["endCursor"]


def assert_same_within_the_cap(legacy: dict[str, str], mirrored: dict[str, str], feed: set[str]) -> None:
    """The legacy API answers at most 100 tenders, the soonest closing: compare what both can see. Its dataset is
    the sandbox's whole one, the feed its first 2,000 notices."""
    assert legacy, "a filter the legacy API matches nothing with proves nothing"
    if len(legacy) < 100:
        assert {reference for reference in legacy if reference in feed} == set(mirrored)
        return
    boundary = max(legacy.values())  # tenders closing that day may be past the cap
    assert {r for r, day in legacy.items() if day < boundary and r in feed} == {
        r for r, day in mirrored.items() if day < boundary
    }


async def test_the_mirror_answers_like_the_legacy_api_through_graphql(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await set_feed(sandbox, rows=ROWS)
    gateway = await start_mirroring(start_gateway, sandbox, tmp_path)

    early = (await graphql(gateway, "{ tenders(first: 1) { totalCount } }")).json()
    assert early["data"] == {"tenders": None}
    assert [error["extensions"]["code"] for error in early["errors"]] == ["MIRROR_NOT_READY"]
    assert early["errors"][0]["extensions"]["upstream"] == "canadabuys"

    ready = await wait_for_feeds(gateway, lambda f: all(feed["lastSuccess"] for feed in f.values()), "a refresh")
    assert ready["open_tenders"]["rows"] == ROWS
    assert not any(feed["stale"] or feed["lastError"] for feed in ready.values())

    await sandbox.reset()  # the hit counters (the feed keeps its knobs: it is no fault plan)
    everything, total = await every_reference(gateway, {})
    assert total == len(everything) == ROWS  # a real count: no 100-row cap
    assert await sandbox.hits("canada.tenders") == 0  # the retired API is asked only when named
    feed = set(everything)
    legacy_first, legacy_total = await every_reference(gateway, {"sources": ["CANADA"]})
    assert legacy_total == len(legacy_first) == 100  # its cap
    assert await sandbox.hits("canada.tenders") == 1

    filters: list[dict[str, Any]] = [
        {"gsins": ["N70"]},
        {"deliveryRegions": ["YT"]},
        {"opportunityRegions": ["NU"]},
        {"keywords": ["computers"]},
        {"keywords": ["Halifax"]},
        {"keywords": ["déneigement"]},
    ]
    soonest = sorted(legacy_first.values())
    assert soonest[49] < soonest[-1]
    filters.append({"closing": {"start": soonest[0], "end": soonest[49]}})  # every match inside the legacy cap
    counts = {}
    for filter_ in filters:
        legacy, _ = await every_reference(gateway, {**filter_, "sources": ["CANADA"]})
        mirrored, count = await every_reference(gateway, filter_)
        assert count == len(mirrored), filter_
        assert_same_within_the_cap(legacy, mirrored, feed)
        counts[json.dumps(filter_)] = (len(legacy), count)
    # naming both asks both (the same notices twice): what the default avoids
    both = '{ tenders(first: 1, filter: {gsins: ["N70"], sources: [CANADABUYS, CANADA]}) { totalCount } }'
    assert (await data_of(gateway, both))["tenders"]["totalCount"] == sum(counts[json.dumps({"gsins": ["N70"]})])


async def test_notices_their_closing_moment_and_the_links_between_tenders_and_awards(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, prepared: Path, tmp_path: Path
) -> None:
    gateway = await start_mirroring(start_gateway, sandbox, copy_of(prepared, tmp_path))
    contracts = (
        await data_of(
            gateway,
            """{ contracts(first: 100, filter: {sources: [CANADABUYS]}) { totalCount nodes {
                id source piid awardDate notice { solicitationNumber instrumentType(language: FR) }
                tender { id reference solicitationNumber closingDate closingAt
                  notice { amendment noticeType procurementCategories tradeAgreements contact { email } }
                  award { id } } } } }""",
        )
    )["contracts"]
    assert contracts["totalCount"] > 100
    nodes = contracts["nodes"]
    assert {node["source"] for node in nodes} == {"CANADABUYS"}
    awarded = [node for node in nodes if node["tender"]]
    assert awarded, "one award in four shares its solicitation number with a tender"
    for node in awarded:
        tender = node["tender"]
        assert tender["solicitationNumber"] == node["notice"]["solicitationNumber"]
        assert tender["award"] is not None  # and the tender links back to its latest award
        closing = datetime.fromisoformat(tender["closingAt"])
        assert closing.utcoffset() == timedelta(0)
        assert (closing - timedelta(hours=5)).date().isoformat() == tender["closingDate"]  # read at UTC-05:00
        assert tender["notice"]["amendment"] == 0
        assert tender["notice"]["procurementCategories"]
        assert "Canadian Free Trade Agreement (CFTA)" in tender["notice"]["tradeAgreements"]
    unlinked = [node for node in nodes if node["tender"] is None]
    assert unlinked
    found = await data_of(gateway, "query($id: ID!) { node(id: $id) { id } }", {"id": awarded[0]["tender"]["id"]})
    assert found["node"]["id"] == awarded[0]["tender"]["id"]
    sources = (await data_of(gateway, "{ sources { name licence attribution feeds { name } } }"))["sources"]
    mirror = next(source for source in sources if source["name"] == "canadabuys")
    assert mirror["attribution"] == "Contains information licensed under the Open Government Licence \u2013 Canada."
    assert [feed["name"] for feed in mirror["feeds"]] == ["new_tenders", "open_tenders", "awards", "contract_history"]
    filtered = (
        await data_of(
            gateway,
            """{ tenders(first: 5, filter: {procurementCategories: ["gd"], tradeAgreements: ["cfta"],
                 unspscs: ["4"], noticeTypes: ["Request for Proposal"]}) {
                 totalCount nodes { notice { procurementCategories unspscs noticeType } } } }""",
        )
    )["tenders"]
    assert filtered["totalCount"] > 0
    for node in filtered["nodes"]:
        assert "GD" in node["notice"]["procurementCategories"]
        assert any(code.startswith("4") for code in node["notice"]["unspscs"])
        assert node["notice"]["noticeType"] == "Request for Proposal"


# -- refreshes under load, and refreshes that fail -----------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror directory built once from a sandbox's 2,000-row feeds (in a thread with a loop of its own)."""
    folder = tmp_path_factory.mktemp("prepared-mirror")
    failure: list[BaseException] = []

    async def build() -> None:
        async with running_sandbox() as sandbox, AsyncExitStack() as stack:
            await set_feed(sandbox, rows=ROWS)
            settings = MirrorSettings(data_dir=folder, base_url=sandbox.base_url, contact=CONTACT, replica=REPLICA)
            mirror = await open_canadabuys_mirror(settings, stack)
            report = await mirror.refresh()
            assert not report.failed, report

    def run() -> None:
        try:
            asyncio.run(build())
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    builder = threading.Thread(target=run)
    builder.start()
    builder.join(120)
    if failure:
        raise failure[0]
    return folder


def copy_of(prepared: Path, tmp_path: Path, *, aged: tuple[str, ...] = ()) -> Path:
    """A copy of the prepared directory; the feeds `aged` look refreshed two days ago (stale, and due)."""
    target = tmp_path / "mirrors"
    shutil.copytree(prepared, target)
    status_file = target / f"canadabuys-{REPLICA}" / "status.json"
    statuses = json.loads(status_file.read_text())
    for feed in aged:
        statuses[feed]["last_success"] = statuses[feed]["last_attempt"] = TWO_DAYS_AGO.isoformat()
    status_file.write_text(json.dumps(statuses))
    return target


TWO_DAYS_AGO = datetime.now(UTC) - timedelta(days=2)
KEYWORD_GSIN_REGION = """{ tenders(first: 10, filter: {keywords: ["services"], gsins: ["N"], deliveryRegions: ["ON"]})
  { totalCount nodes { reference notice { amendment } } } }"""


async def test_a_refresh_during_200_concurrent_queries_makes_none_fail_or_wait(
    start_gateway: GatewayFactory, sandbox: RunningSandbox, prepared: Path, tmp_path: Path
) -> None:
    await set_feed(sandbox, rows=ROWS, revision=1, latency_ms=3000)  # a new publication, served slowly
    data_dir = copy_of(prepared, tmp_path, aged=("open_tenders",))
    # a process sized for the load: all 200 admitted (the default queue sheds load past 128 waiting requests)
    gateway = await start_mirroring(start_gateway, sandbox, data_dir, max_queued_requests=256)

    async def timed() -> tuple[float, dict[str, Any]]:
        started = time.monotonic()
        body = (await graphql(gateway, KEYWORD_GSIN_REGION)).json()
        return time.monotonic() - started, body

    first_page = (await data_of(gateway, TENDERS, {"filter": {}, "after": None}))["tenders"]
    answers = await asyncio.gather(*(timed() for _ in range(200)))
    during = await feeds(gateway)  # all 200 answered, and the refresh still under way: none waited for it
    assert datetime.fromisoformat(during["open_tenders"]["lastSuccess"]) < datetime.now(UTC) - timedelta(days=1)
    totals = set()
    for seconds, body in answers:
        assert "errors" not in body, body
        totals.add(body["data"]["tenders"]["totalCount"])
        # served from a snapshot older than its feed's window: the answer says so
        stale = body["extensions"]["mirrors"]["canadabuys"]
        assert stale["stale"] is True
        assert [feed["feed"] for feed in stale["feeds"]] == ["open_tenders"]
        assert seconds < 6.0, f"a query took {seconds:.1f} s: as long as the refresh's two slow requests alone"
    assert len(totals) == 1
    assert totals.pop() > 0

    refreshed = await wait_for_feeds(gateway, lambda f: not f["open_tenders"]["stale"], "the refresh")
    assert refreshed["open_tenders"]["lastError"] is None
    after = (await graphql(gateway, KEYWORD_GSIN_REGION)).json()
    assert "mirrors" not in after.get("extensions", {})
    everything = (await data_of(gateway, "{ tenders(first: 100) { nodes { notice { amendment } } } }"))["tenders"]
    assert any(node["notice"]["amendment"] == 1 for node in everything["nodes"])  # the new publication serves

    # paging on from a cursor issued before the refresh: no tender repeated, none skipped
    seen = {node["reference"] for node in first_page["nodes"]}
    after: str | None = first_page["pageInfo"]["endCursor"]
    while after is not None:
        tenders = (await data_of(gateway, TENDERS, {"filter": {}, "after": after}))["tenders"]
        page = {node["reference"] for node in tenders["nodes"]}
        assert not page & seen
        seen |= page
        after = tenders["pageInfo"]["endCursor"] if tenders["pageInfo"]["hasNextPage"] else None
    assert len(seen) == ROWS


@pytest.mark.parametrize(
    ("knobs", "settings", "failure"),
    [
        ({"truncate": True}, {}, "truncated or damaged|not readable CSV"),
        ({"missing_column": "tenderClosingDate-appelOffresDateCloture"}, {}, "lacks the column"),
        ({"cookie_required": True}, {"mirror_prime_cookies": False}, "HTTP 403"),
    ],
    ids=["truncated", "missing-column", "403-without-cookie"],
)
async def test_a_failed_refresh_keeps_the_previous_snapshot_serving_and_shows_in_sources(
    *,
    start_gateway: GatewayFactory,
    sandbox: RunningSandbox,
    prepared: Path,
    tmp_path: Path,
    knobs: dict[str, Any],
    settings: dict[str, Any],
    failure: str,
) -> None:
    await set_feed(sandbox, rows=ROWS, revision=1, **knobs)
    data_dir = copy_of(prepared, tmp_path, aged=("open_tenders",))
    gateway = await start_mirroring(start_gateway, sandbox, data_dir, **settings)
    failed = await wait_for_feeds(gateway, lambda f: f["open_tenders"]["lastError"], "the failed refresh")
    assert re.search(failure, failed["open_tenders"]["lastError"])
    assert failed["open_tenders"]["rows"] == ROWS  # the previous snapshot's
    assert failed["open_tenders"]["stale"] is True
    source = next(s for s in (await data_of(gateway, SOURCES))["sources"] if s["name"] == "canadabuys")
    assert source["reachable"] is False
    assert source["lastFailure"] is not None

    body = (await graphql(gateway, "{ tenders(first: 100) { totalCount nodes { notice { amendment } } } }")).json()
    assert "errors" not in body
    assert body["data"]["tenders"]["totalCount"] == ROWS
    assert {node["notice"]["amendment"] for node in body["data"]["tenders"]["nodes"]} == {0}  # the previous one
    assert body["extensions"]["mirrors"]["canadabuys"]["stale"] is True
    assert not list((data_dir / f"canadabuys-{REPLICA}" / "incoming").glob("**/*.csv"))
