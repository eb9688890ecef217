"""CanadaClient over real aiohttp against the sandbox's Canadian procurement imitation on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from gateway.cache.store import NoCache
from gateway.models import ContractQuery, ContractSource, TenderQuery, ValueRange
from gateway.settings import Settings
from gateway.upstreams._http import UpstreamHttp, open_session
from gateway.upstreams.canada.adapter import UPSTREAM_ROW_CAP, CanadaClient
from gateway.upstreams.canada.spec import SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from tests.sandbox_harness import RunningSandbox


@asynccontextmanager
async def open_client(base_url: str) -> AsyncIterator[CanadaClient]:
    settings = Settings()
    async with open_session(settings) as session:
        http = UpstreamHttp("canada", base_url, session, settings)
        yield CanadaClient(SPEC, UpstreamFetch.from_settings(SPEC, http, NoCache(), settings))


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[CanadaClient]:
    async with open_client(sandbox.base_url) as opened:
        yield opened


@pytest.fixture
async def recorded_client(sample_sandbox: RunningSandbox) -> AsyncIterator[CanadaClient]:
    async with open_client(sample_sandbox.base_url) as opened:
        yield opened


def deadline() -> Deadline:
    return Deadline.after(10)


async def test_tenders_are_parsed_and_sliced_locally(client: CanadaClient) -> None:
    everything = await client.search_tenders(TenderQuery(), limit=100, offset=0, deadline=deadline())
    assert everything.total == len(everything.items) == UPSTREAM_ROW_CAP
    assert all(tender.reference and tender.title.en and tender.url.en for tender in everything.items)
    page = await client.search_tenders(TenderQuery(), limit=5, offset=10, deadline=deadline())
    assert page.items == everything.items[10:15]
    assert (page.total, page.offset) == (UPSTREAM_ROW_CAP, 10)


async def test_tenders_narrowed_by_gsins(client: CanadaClient) -> None:
    sample = (await client.search_tenders(TenderQuery(), limit=1, offset=0, deadline=deadline())).items[0]
    prefix = sample.gsins[0][:3]
    page = await client.search_tenders(TenderQuery(gsins=(prefix.lower(),)), limit=100, offset=0, deadline=deadline())
    assert sample.reference in {tender.reference for tender in page.items}
    assert all(any(gsin.startswith(prefix) for gsin in tender.gsins) for tender in page.items)


async def test_tender_lookup_by_reference_with_its_gsin(client: CanadaClient) -> None:
    listed = (await client.search_tenders(TenderQuery(), limit=1, offset=3, deadline=deadline())).items[0]
    assert await client.tender(listed.reference, hint=listed.gsins[0], deadline=deadline()) == listed
    assert await client.tender("PW-$$NO-000-00000", hint=listed.gsins[0], deadline=deadline()) is None


async def test_contracts_in_cad_filtered_locally(client: CanadaClient) -> None:
    everything = await client.search_contracts(
        ContractQuery(), limit=100, offset=0, selection=frozenset(), deadline=deadline()
    )
    assert everything.items
    assert all(c.source is ContractSource.CANADA and c.key == c.piid for c in everything.items)
    assert {c.value.currency for c in everything.items if c.value is not None} == {"CAD"}
    floor = Decimal(100_000)
    costly = await client.search_contracts(
        ContractQuery(value=ValueRange(minimum=floor)), limit=100, offset=0, selection=frozenset(), deadline=deadline()
    )
    expected = [c for c in everything.items if c.value is not None and c.value.amount >= floor]
    assert list(costly.items) == expected
    assert costly.total == len(expected)


async def test_contract_lookup_by_number_with_its_gsin(client: CanadaClient) -> None:
    page = await client.search_contracts(ContractQuery(), limit=1, offset=2, selection=frozenset(), deadline=deadline())
    listed = page.items[0]
    found = await client.contract(listed.piid, hint=listed.gsins[0], selection=frozenset(), deadline=deadline())
    assert found == listed


async def test_recorded_readme_answer(recorded_client: CanadaClient) -> None:
    query = TenderQuery(gsins=("N76", "V2"), delivery_regions=("ON", "QC", "NCR", "CAN"))
    page = await recorded_client.search_tenders(query, limit=10, offset=0, deadline=deadline())
    assert "PW-$$ZL-102-25299" in {tender.reference for tender in page.items}
