"""CanadaBuys tender notices as ITA `CANADA` leads: every real sample row mapped with asserted values, and the client
answering leads from a mirror built from the sample file (newest first, filters, keyset paging, lookups)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from gateway.errors import MirrorNotReady
from gateway.models import Country, DateRange, Lead, LeadQuery
from gateway.upstreams.canadabuys import adapter, mapping
from gateway.upstreams.canadabuys.feeds import FEEDS, OPEN_TENDERS_FILE
from gateway.upstreams.canadabuys.leads import lead_of
from gateway.upstreams.canadabuys.spec import SPEC
from gateway.upstreams.client import KeysetLeadClient, LeadClient
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.disk import MirrorDirectory
from gateway.upstreams.mirror.download import Fetched, Validators
from gateway.upstreams.mirror.mirror import Mirror
from gateway.upstreams.spec import RecordKind

SAMPLE = Path("canadabuys") / "openTenderNotice_sample_12rows.csv"
TODAY = date(2026, 8, 1)


def sample_leads(samples_dir: Path) -> dict[str, Lead]:
    rows = mapping.read_rows(samples_dir / SAMPLE, "open_tenders", mapping.TENDER_COLUMNS)
    leads = [lead_of(tender) for row in rows if (tender := mapping.tender(row)) is not None]
    return {lead.id: lead for lead in leads}


def test_every_sample_row_is_a_canada_lead_in_canada(samples_dir: Path) -> None:
    leads = sample_leads(samples_dir)
    assert len(leads) == 12
    for lead in leads.values():
        assert (lead.source, lead.country, lead.reference_number) == ("CANADA", Country("CA", "Canada"), lead.id)
        assert lead.title
        assert lead.description
        assert lead.url
        assert lead.publish_date
        assert lead.end_date
        assert lead.status == "Open"
        # ITA's own taxonomy and fields CanadaBuys does not publish stay empty.
        assert (lead.trade_regions, lead.world_regions, lead.ita_industries, lead.tags) == ((), (), (), ())
        assert (lead.project_number, lead.procurement_office, lead.agency, lead.funding_source) == (None,) * 4
        assert (lead.min_value, lead.max_value, lead.contract_value, lead.classification_code) == (None,) * 4


def test_a_notice_on_merx_with_its_contact_as_published(samples_dir: Path) -> None:
    lead = sample_leads(samples_dir)["MX-443841357513"]
    assert lead.title == "Open Construction Source List for CFB Halifax"
    assert lead.url == "https://www.merx.com/public/solicitations/3776296409/abstract?language=EN"
    assert (lead.publish_date, lead.end_date) == (date(2026, 1, 23), date(2029, 3, 31))
    assert lead.contract_number == "AR26SLHX_86026"
    assert lead.procurement_organization == "Defence Construction Canada - Atlantic Region"
    assert lead.procurement_method == "Competitive - Open bidding"
    assert lead.contact == "Andre Champagne, andre.champagne@dcc-cdc.gc.ca, 873-354-7245"
    assert lead.description is not None
    assert lead.description.startswith("Defence Construction Canada (DCC) is")
    assert (lead.notice_type, lead.industries, lead.categories, lead.urls, lead.specific_location) == (
        None,
        (),
        (),
        (),
        None,
    )


def test_gsins_become_industries_and_categories_as_ita_named_them(samples_dir: Path) -> None:
    lead = sample_leads(samples_dir)["PW-23-01027079"]
    assert lead.industries == (
        "F010B: Forestry Services, Not Elsewhere Specified",
        "F059A: Other Natural Resource and Conservation Services",
    )
    assert lead.categories == ("GSIN/F010B", "GSIN/F059A")
    assert lead.specific_location == "Alberta, British Columbia"
    assert lead.notice_type == "Request for Supply Arrangement"
    assert lead.contract_number == "5P420-20-0315/B"
    assert lead.procurement_organization == "Parks Canada"
    assert lead.url == "https://canadabuys.canada.ca/en/tender-opportunities/tender-notice/PW-23-01027079"
    assert lead.urls == (
        "https://canadabuys.canada.ca/documents/pub/att/2023/02/22/f1d0127504079d26770ed99da21d5f2e/"
        "rfsa_5p420-20-0315-b.pdf",
    )
    assert (lead.publish_date, lead.end_date) == (date(2023, 2, 22), date(2100, 3, 31))


def test_unspscs_and_the_expected_start(samples_dir: Path) -> None:
    lead = sample_leads(samples_dir)["cb-902-90074001"]
    assert lead.industries == (
        "20102000: Exploration and development systems",
        "25175000: Electric vehicle charging systems",
    )
    assert lead.categories == ("UNSPSC/20102000", "UNSPSC/25175000")
    assert (lead.start_date, lead.end_date, lead.publish_date) == (
        date(2027, 4, 1),
        date(2026, 8, 6),
        date(2026, 7, 23),
    )
    assert lead.notice_type == "Advance Contract Award Notice"
    assert lead.contact == "Raymond Thai, raymond.thai@NRCan-RNCan.gc.ca"
    assert lead.specific_location == "World"
    cadets = sample_leads(samples_dir)["cb-81-38683349"]
    assert cadets.specific_location == "Canada, Regina, Saskatchewan"  # a city is kept as published


def test_the_spec_serves_canada_leads_and_declares_what_it_answers() -> None:
    assert RecordKind.LEAD in SPEC.kinds
    assert SPEC.lead_codes == {"CANADA"}
    assert SPEC.unanswerable(RecordKind.LEAD, LeadQuery(keywords="x", countries=("CA",), sources=("CANADA",))) == ()
    assert SPEC.unanswerable(RecordKind.LEAD, LeadQuery(industries=("Aerospace",), trade_regions=("NAFTA",))) == (
        "industries",
        "trade_regions",
    )
    assert SPEC.unanswerable(RecordKind.LEAD, LeadQuery(amended=DateRange(start=date(2026, 1, 1)))) == ("amended",)


def test_a_lead_record_sorts_by_publication_and_ranges_on_closing() -> None:
    query = adapter.lead_query(
        LeadQuery(
            keywords="boom lift",
            published=DateRange(date(2026, 7, 1), None),
            ends=DateRange(date(2026, 8, 1), date(2026, 8, 31)),
        )
    )
    assert (query.kind, query.descending, query.words) == ("lead", True, '("boom" "lift")')
    assert (query.day, query.amount) == (("2026-07-01", None), (20260801.0, 20260831.0))


# -- the client over a mirror of the sample file ---------------------------------------------------------------------


class SampleFiles:
    """The sample file as the open tender notices (the only feed refreshed here)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def fetch(self, url: str, destination: Path, *, known: Validators | None, max_bytes: int) -> Fetched:
        assert url.endswith(OPEN_TENDERS_FILE)
        await asyncio.to_thread(destination.write_bytes, self.body)
        return Fetched(
            Validators(content_length=len(self.body), sha256=hashlib.sha256(self.body).hexdigest()), destination
        )


@pytest.fixture
async def sample_mirror(samples_dir: Path, tmp_path: Path) -> AsyncIterator[Mirror]:
    mirror = Mirror(
        "canadabuys",
        FEEDS,
        adapter.CanadaBuysParser(),
        MirrorDirectory(tmp_path, max_bytes=10**9),
        SampleFiles((samples_dir / SAMPLE).read_bytes()),
        base_url="https://canadabuys.test/opendata/pub/",
        query_threads=1,
        today=lambda: TODAY,
    )
    await mirror.open()
    try:
        yield mirror
    finally:
        await mirror.close()


def deadline() -> Deadline:
    return Deadline.after(10)


async def test_leads_before_the_first_snapshot_are_mirror_not_ready(sample_mirror: Mirror) -> None:
    client = adapter.CanadaBuysClient(SPEC, sample_mirror)
    with pytest.raises(MirrorNotReady):
        await client.search_leads(LeadQuery(), limit=5, offset=0, deadline=deadline())


async def test_leads_newest_first_filtered_and_paged_once_each(sample_mirror: Mirror) -> None:
    report = await sample_mirror.refresh(["open_tenders"])
    assert [(outcome.feed, outcome.outcome) for outcome in report.outcomes] == [("open_tenders", "updated")]
    assert {status.name: status.rows for status in sample_mirror.statuses()}["open_tenders"] == 12  # rows, once each
    client = adapter.CanadaBuysClient(SPEC, sample_mirror)
    assert isinstance(client, LeadClient)
    assert isinstance(client, KeysetLeadClient)

    page = await client.search_leads(LeadQuery(), limit=4, offset=0, deadline=deadline())
    assert page.total == 12
    assert [lead.id for lead in page.items] == [
        "SSC-26-00034415:T",  # 2026-07-31
        "cb-156-17992488",  # 2026-07-30
        "cb-858-67519617",  # 2026-07-29, keys descending on ties
        "cb-81-38683349",
    ]
    seen: list[Lead] = []
    after: str | None = None
    while True:
        keyset = await client.leads_after(LeadQuery(), limit=5, after=after, deadline=deadline())
        assert keyset.total == 12
        assert len(keyset.positions) == len(keyset.items)
        seen += keyset.items
        if keyset.after is None:
            break
        after = keyset.after
    assert len({lead.id for lead in seen}) == len(seen) == 12
    days = [lead.publish_date for lead in seen]
    assert days == sorted(days, key=lambda day: day or date.min, reverse=True)

    async def ids(query: LeadQuery) -> list[str]:
        found = await client.search_leads(query, limit=20, offset=0, deadline=deadline())
        return [lead.id for lead in found.items]

    assert await ids(LeadQuery(keywords="boom")) == ["cb-156-17992488"]
    assert await ids(LeadQuery(published=DateRange(date(2020, 1, 1), date(2021, 12, 31)))) == [
        "PW-21-00968074",
        "PW-_NCS-030-11940",
    ]
    assert await ids(LeadQuery(ends=DateRange(date(2026, 8, 1), date(2026, 8, 10)))) == [
        "cb-902-90074001",  # closes 2026-08-06
        "cb-463-80992612",  # closes 2026-08-05
    ]
    assert len(await ids(LeadQuery(countries=("CA", "US"), sources=("CANADA", "UK")))) == 12
    assert await ids(LeadQuery(countries=("US",))) == []
    assert await ids(LeadQuery(sources=("FBO",))) == []
    assert await ids(LeadQuery(industries=("Aerospace",))) == []  # unanswerable: never a non-match

    found = await client.lead(" cb-156-17992488 ", deadline=deadline())
    assert found is not None
    assert found.title == "Articulating Boom"
    assert found.end_date == date(2026, 8, 14)
    assert await client.lead("no-such-reference", deadline=deadline()) is None
    assert await client.lead_sources(deadline=deadline()) == ()
