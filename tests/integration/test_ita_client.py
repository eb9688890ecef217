"""TradeLeadsClient over real aiohttp against the sandbox's ITA imitation on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import pytest

from gateway.cache.store import NoCache
from gateway.errors import UpstreamRejected
from gateway.models import DateRange, LeadQuery
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.ita.adapter import TradeLeadsClient
from gateway.upstreams.ita.spec import SPEC
from tests.sandbox_harness import RunningSandbox

SANDBOX_KEY = "ita-sandbox-key"
ALL_SOURCES = {"AUSTRALIA", "CANADA", "FBO", "STATE", "UK", "MCA", "USTDA"}


@asynccontextmanager
async def open_client(base_url: str, credentials: Credentials) -> AsyncIterator[TradeLeadsClient]:
    settings = Settings()
    async with open_session(settings) as session:
        http = UpstreamHttp("ita", base_url, session, settings, credentials=credentials)
        yield TradeLeadsClient(SPEC, UpstreamFetch.from_settings(SPEC, http, NoCache(), settings))


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[TradeLeadsClient]:
    async with open_client(sandbox.base_url, Credentials(query={"api_key": SANDBOX_KEY})) as opened:
        yield opened


@pytest.fixture
async def recorded_client(sample_sandbox: RunningSandbox) -> AsyncIterator[TradeLeadsClient]:
    async with open_client(sample_sandbox.base_url, Credentials(headers={"Api-Key": SANDBOX_KEY})) as opened:
        yield opened


def deadline() -> Deadline:
    return Deadline.after(10)


async def test_search_returns_parsed_leads_and_sources(client: TradeLeadsClient) -> None:
    found = await client.search_with_sources(LeadQuery(), limit=5, offset=0, deadline=deadline())
    assert len(found.page.items) == 5
    assert found.page.total is not None
    assert found.page.total >= 5
    assert all(lead.id and lead.source in ALL_SOURCES for lead in found.page.items)
    assert {source.source for source in found.sources} == ALL_SOURCES
    assert all(source.last_imported is not None for source in found.sources)


async def test_search_pages_filters_and_currencies(client: TradeLeadsClient) -> None:
    query = LeadQuery(sources=("uk",))
    first = await client.search_leads(query, limit=10, offset=0, deadline=deadline())
    second = await client.search_leads(query, limit=10, offset=10, deadline=deadline())
    assert second.offset == 10
    assert first.total == second.total
    assert not {lead.id for lead in first.items} & {lead.id for lead in second.items}
    leads = first.items + second.items
    assert {lead.source for lead in leads} == {"UK"}
    values = [money for lead in leads for money in (lead.min_value, lead.max_value) if money is not None]
    assert values
    assert {money.currency for money in values} == {"GBP"}


async def test_search_by_publish_date_range(client: TradeLeadsClient) -> None:
    recent = await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=deadline())
    published = recent.items[0].publish_date
    assert published is not None
    query = LeadQuery(published=DateRange(start=published))
    page = await client.search_leads(query, limit=50, offset=0, deadline=deadline())
    assert page.items
    assert all(lead.publish_date is not None and lead.publish_date >= published for lead in page.items)


async def test_sources_without_results(client: TradeLeadsClient) -> None:
    sources = await client.lead_sources(deadline=deadline())
    assert {source.source for source in sources} == ALL_SOURCES


async def test_lead_found_and_not_found(client: TradeLeadsClient) -> None:
    listed = (await client.search_leads(LeadQuery(sources=("STATE",)), limit=1, offset=0, deadline=deadline())).items[0]
    assert await client.lead(listed.id, deadline=deadline()) == listed
    assert await client.lead("no-such-lead", deadline=deadline()) is None


async def test_a_wrong_key_is_rejected(sandbox: RunningSandbox) -> None:
    async with open_client(sandbox.base_url, Credentials(query={"api_key": "not-a-key"})) as client:
        with pytest.raises(UpstreamRejected) as raised:
            await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=deadline())
        assert raised.value.extensions["status"] == 401


async def test_recorded_samples_through_the_header_key(recorded_client: TradeLeadsClient) -> None:
    page = await recorded_client.search_leads(
        LeadQuery(sources=("AUSTRALIA",)), limit=10, offset=0, deadline=deadline()
    )
    assert page.total == 3
    by_id = {lead.id: lead for lead in page.items}
    assert by_id["CN1121942"].industries == ("Fire fighting equipment",)
    assert by_id["CN1121942"].start_date == date(2011, 12, 18)
    canadian = await recorded_client.search_leads(
        LeadQuery(sources=("CANADA",)), limit=10, offset=0, deadline=deadline()
    )
    assert len(canadian.items) == 5
    assert all(lead.urls or lead.reference_number for lead in canadian.items)
