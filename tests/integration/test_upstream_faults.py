"""A real UpstreamHttp and aiohttp session against the sandbox's SAM search route, with its fault knobs turned; and
the whole fetch path (real HTTP, real cache) against an upstream that answers JSON of the wrong shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from gateway.cache.store import MemoryCache
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamCircuitOpen,
    UpstreamQuotaExceeded,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.models import TenderQuery
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.breaker import BreakerState
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from tests.fourth_upstream import FOURTH, TENDERS, FourthClient, running_fourth_feed
from tests.sandbox_harness import RunningSandbox

PATH = "contract-awards/v1/search"
ROUTE = "sam.search"
PARAMS = {"limit": "1", "includeSections": "contractId"}
SETTINGS = Settings(retry_backoff_min_s=0.01, retry_backoff_max_s=0.02, upstream_timeout_s=5.0)


@pytest.fixture
async def sam_http(sandbox: RunningSandbox) -> AsyncIterator[UpstreamHttp]:
    async with open_session(SETTINGS) as session:
        yield UpstreamHttp(
            "sam", sandbox.base_url, session, SETTINGS, credentials=Credentials(query={"api_key": "sam-sandbox-key"})
        )


async def search(http: UpstreamHttp, deadline_s: float = 5.0) -> object:
    return await http.get_json(PATH, PARAMS, Deadline.after(deadline_s))


async def test_a_healthy_search_is_one_hit(sandbox: RunningSandbox, sam_http: UpstreamHttp) -> None:
    body = await search(sam_http)
    assert isinstance(body, dict)
    assert body["limit"] == "1"
    assert len(body["awardSummary"]) == 1
    assert await sandbox.hits(ROUTE) == 1


async def test_a_large_page_arriving_in_many_pieces_is_read_whole(
    sandbox: RunningSandbox, sam_http: UpstreamHttp
) -> None:
    body = await sam_http.get_json(PATH, {"limit": "100"}, Deadline.after(10))
    assert isinstance(body, dict)
    assert len(body["awardSummary"]) == 100  # every section of 100 records: megabytes, not one socket read
    assert await sandbox.hits(ROUTE) == 1


async def test_a_503_is_retried_exactly_once(sandbox: RunningSandbox, sam_http: UpstreamHttp) -> None:
    await sandbox.set_fault("sam", error_rate=1.0, error_status=503)
    with pytest.raises(UpstreamUnavailable) as raised:
        await search(sam_http)
    assert raised.value.as_extensions() == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "sam", "status": 503}
    assert await sandbox.hits(ROUTE) == 2


@pytest.mark.parametrize("status", [400, 403])
async def test_a_4xx_is_never_retried(sandbox: RunningSandbox, sam_http: UpstreamHttp, status: int) -> None:
    await sandbox.set_fault("sam", error_rate=1.0, error_status=status)
    with pytest.raises(UpstreamRejected) as raised:
        await search(sam_http)
    assert raised.value.extensions["status"] == status
    assert await sandbox.hits(ROUTE) == 1


async def test_a_missing_api_key_is_a_403_rejection(sandbox: RunningSandbox) -> None:
    async with open_session(SETTINGS) as session:
        keyless = UpstreamHttp("sam", sandbox.base_url, session, SETTINGS)
        with pytest.raises(UpstreamRejected) as raised:
            await search(keyless)
    assert raised.value.extensions["status"] == 403
    assert await sandbox.hits(ROUTE) == 1


async def test_a_429_pauses_the_upstream(sandbox: RunningSandbox, sam_http: UpstreamHttp) -> None:
    await sandbox.set_fault("sam", throttle_rate=1.0, retry_after_s=3)
    with pytest.raises(UpstreamQuotaExceeded) as raised:
        await search(sam_http)
    assert raised.value.retry_after_s == 3
    await sandbox.clear_fault("sam")
    with pytest.raises(UpstreamQuotaExceeded) as paused:
        await search(sam_http)
    assert paused.value.retry_after_s in {2, 3}
    assert await sandbox.hits(ROUTE) == 1
    assert sam_http.breaker.state is BreakerState.CLOSED


async def test_a_hanging_upstream_times_out_within_the_deadline(
    sandbox: RunningSandbox, sam_http: UpstreamHttp
) -> None:
    await sandbox.set_fault("sam", hang=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeout) as raised:
        await search(sam_http, deadline_s=0.5)
    assert loop.time() - started < 1.5
    assert raised.value.code == "UPSTREAM_TIMEOUT"
    assert await sandbox.hits(ROUTE) == 1  # timeouts are not retried


@pytest.mark.parametrize("knob", ["garbage_rate", "truncate_rate"])
async def test_bodies_that_are_not_json_are_bad_responses(
    sandbox: RunningSandbox, sam_http: UpstreamHttp, knob: str
) -> None:
    await sandbox.set_fault("sam", **{knob: 1.0})
    with pytest.raises(UpstreamBadResponse) as raised:
        await search(sam_http)
    assert raised.value.code == "UPSTREAM_BAD_RESPONSE"
    assert await sandbox.hits(ROUTE) == 1


async def test_a_connection_reset_is_upstream_unavailable(sandbox: RunningSandbox, sam_http: UpstreamHttp) -> None:
    await sandbox.set_fault("sam", reset_rate=1.0)
    with pytest.raises(UpstreamUnavailable) as raised:
        await search(sam_http)
    assert raised.value.code == "UPSTREAM_UNAVAILABLE"
    # aiohttp itself re-sends an idempotent request once when the connection drops (ClientSession._retry_connection,
    # not configurable): each of the gateway's two attempts reaches the upstream twice.
    assert await sandbox.hits(ROUTE) == 4


async def test_the_breaker_opens_after_five_failures_and_then_asks_nobody(
    sandbox: RunningSandbox, sam_http: UpstreamHttp
) -> None:
    await sandbox.set_fault("sam", error_rate=1.0, error_status=503)
    for _ in range(3):  # 2 + 2 + 1 failed attempts: no retry once the fifth failure opened the breaker
        with pytest.raises(UpstreamUnavailable):
            await search(sam_http)
    assert await sandbox.hits(ROUTE) == 5
    assert sam_http.breaker.state is BreakerState.OPEN
    await sandbox.clear_fault("sam")
    with pytest.raises(UpstreamCircuitOpen) as raised:
        await search(sam_http)
    assert raised.value.as_extensions()["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert await sandbox.hits(ROUTE) == 5


@pytest.mark.parametrize("wrong", [{}, [], None, {"tenders": "F-1"}], ids=["object", "array", "null", "no-list"])
async def test_a_wrong_shaped_body_is_never_cached_and_the_recovered_upstream_answers(wrong: object) -> None:
    async with running_fourth_feed() as feed, open_session(SETTINGS) as session:
        feed.queued.append(wrong)  # the next answer is well-formed JSON of the wrong shape, then the data again
        http = UpstreamHttp("fourth", feed.base_url, session, SETTINGS)
        cache = MemoryCache(max_entries=10, max_bytes=1_000_000)
        settings = replace(SETTINGS, specs=(*SPECS, FOURTH))  # its TTLs: the spec's defaults
        client = FourthClient(FOURTH, UpstreamFetch.from_settings(FOURTH, http, cache, settings))

        async def search() -> int:
            page = await client.search_tenders(TenderQuery(), limit=10, offset=0, deadline=Deadline.after(5))
            return len(page.items)

        with pytest.raises(UpstreamBadResponse) as raised:
            await search()
        assert raised.value.as_extensions() == {"code": "UPSTREAM_BAD_RESPONSE", "upstream": "fourth"}
        assert cache.entries == 0
        assert await search() == len(TENDERS)
        assert await search() == len(TENDERS)  # now from the cache
        assert (len(feed.requests), cache.entries) == (2, 1)
