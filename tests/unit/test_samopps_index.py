"""The SAM opportunities index: extracts applied as diffs of changed rows, notices that vanish, modifications that
supersede their base notice, API pages upserted, and the queries of each record kind on keyset cursors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.models import ContractQuery, ContractSource, DateRange, LeadQuery, TenderQuery, ValueRange
from gateway.upstreams.mirror.query import Position
from gateway.upstreams.samopps import search
from gateway.upstreams.samopps.extract import ExtractRejected, ExtractRow, read_extract
from gateway.upstreams.samopps.index import DROP_AFTER_MISSING, IndexWriter
from gateway.upstreams.samopps.notice import Award, decode

EXTRACT = Path(__file__).resolve().parents[1] / "payloads" / "samopps" / "extract_cp1252.csv"
PUBLISHED = datetime(2026, 9, 5, 4, 0, tzinfo=UTC)
JANITORIAL = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
FREEZERS = "b1b2c3d4e5f60718293a4b5c6d7e8f91"
AWARD = "c1b2c3d4e5f60718293a4b5c6d7e8f92"
SATELLITE = "d1b2c3d4e5f60718293a4b5c6d7e8f93"
RUNWAY = "f1b2c3d4e5f60718293a4b5c6d7e8f95"
RUNWAY_AMENDED = "09b2c3d4e5f60718293a4b5c6d7e8f96"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexWriter]:
    writer = IndexWriter(tmp_path / "opportunities.sqlite")
    yield writer
    writer.close()


@pytest.fixture
def reader(index: IndexWriter) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"{index.path.resolve().as_uri()}?mode=ro", uri=True)
    yield connection
    connection.close()


def rows() -> list[ExtractRow]:
    return list(read_extract(EXTRACT))


def ids(found: search.Found) -> list[str]:
    return [position.key for position in found.positions]


def listed(reader: sqlite3.Connection, listing: search.Listing | None) -> list[str]:
    assert listing is not None
    return ids(search.page(reader, listing, limit=100))


def test_an_extract_fills_the_index_and_each_kind_lists_its_notices(
    index: IndexWriter, reader: sqlite3.Connection
) -> None:
    result = index.apply_extract(rows(), published_at=PUBLISHED)
    assert (result.rows, result.changed, result.unlisted, result.dropped) == (7, 7, 0, 0)
    # Leads: newest posting first; the presolicitation is superseded by its amendment; the justification is no lead.
    assert listed(reader, search.lead_listing(LeadQuery())) == [RUNWAY_AMENDED, SATELLITE, FREEZERS, JANITORIAL]
    # Tenders: soonest closing first, without a deadline last.
    assert listed(reader, search.tender_listing(TenderQuery())) == [FREEZERS, RUNWAY_AMENDED, JANITORIAL, SATELLITE]
    assert listed(reader, search.contract_listing(ContractQuery())) == [AWARD]
    superseded = search.by_id(reader, RUNWAY, "open")  # still answers by its id
    assert superseded is not None
    assert decode(superseded[0]) is not None


def test_filters_of_each_kind(index: IndexWriter, reader: sqlite3.Connection) -> None:
    index.apply_extract(rows(), published_at=PUBLISHED)
    lead = search.lead_listing
    assert listed(reader, lead(LeadQuery(keywords="contractor\u2019s yard"))) == [JANITORIAL]
    assert listed(reader, lead(LeadQuery(keywords="freezers, satellite"))) == [SATELLITE, FREEZERS]
    assert listed(reader, lead(LeadQuery(countries=("DE",)))) == [SATELLITE]
    assert listed(reader, lead(LeadQuery(published=DateRange(date(2026, 9, 2), date(2026, 9, 3))))) == [
        SATELLITE,
        FREEZERS,
    ]
    assert listed(reader, lead(LeadQuery(ends=DateRange(end=date(2026, 9, 30))))) == [RUNWAY_AMENDED, FREEZERS]
    assert lead(LeadQuery(sources=("UK",))) is None
    assert listed(reader, lead(LeadQuery(sources=("fbo", "UK")))) != []
    tender = search.tender_listing
    assert listed(reader, tender(TenderQuery(buyer="national institutes"))) == [FREEZERS]
    assert listed(reader, tender(TenderQuery(keywords=("army",)))) == [JANITORIAL]  # the organisation path
    assert listed(reader, tender(TenderQuery(notice_types=("sources sought", "Presolicitation")))) == [
        RUNWAY_AMENDED,
        SATELLITE,
    ]
    assert listed(reader, tender(TenderQuery(closing=DateRange(date(2026, 9, 21))))) == [RUNWAY_AMENDED, JANITORIAL]
    assert tender(TenderQuery(sources=("canadabuys",))) is None
    contract = search.contract_listing
    for query in (
        ContractQuery(piid=" 47pf0018c0066 "),
        ContractQuery(supplier_name="beyer"),
        ContractQuery(agency_name="public buildings"),
        ContractQuery(naics=("236220",), product_or_service=("z",)),
        ContractQuery(value=ValueRange(Decimal(800_000), Decimal(900_000))),
        ContractQuery(awarded=DateRange(date(2026, 8, 28), date(2026, 8, 28))),
        ContractQuery(place_of_performance_state="wi"),
        ContractQuery(sources=(ContractSource.SAM, ContractSource.SAMOPPS)),
    ):
        assert listed(reader, contract(query)) == [AWARD], query
    assert listed(reader, contract(ContractQuery(supplier_uei=("025114695AST",)))) == []
    assert listed(reader, contract(ContractQuery(value=ValueRange(maximum=Decimal(1000))))) == []
    assert contract(ContractQuery(sources=(ContractSource.SAM,))) is None


def test_keyset_pages_walk_every_notice_once(index: IndexWriter, reader: sqlite3.Connection) -> None:
    index.apply_extract(rows(), published_at=PUBLISHED)
    listing = search.tender_listing(TenderQuery())
    assert listing is not None
    seen: list[str] = []
    after: Position | None = None
    while True:
        found = search.page(reader, listing, limit=1, after=after)
        assert found.total == 4
        if not found.positions:
            break
        seen += ids(found)
        after = found.positions[-1]
    assert seen == [FREEZERS, RUNWAY_AMENDED, JANITORIAL, SATELLITE]
    assert ids(search.page(reader, listing, limit=2, offset=2)) == [JANITORIAL, SATELLITE]


def test_a_later_extract_upserts_only_changed_rows_and_unlists_then_drops_vanished_ones(
    index: IndexWriter, reader: sqlite3.Connection, tmp_path: Path
) -> None:
    first = rows()
    index.apply_extract(first, published_at=PUBLISHED)
    retitled = replace(first[1].notice, title="Laboratory freezers, ultra-low")
    second = [first[0], ExtractRow.of(retitled, b"another hash0000"), *first[3:]]  # the award notice vanished
    result = index.apply_extract(second, published_at=PUBLISHED + timedelta(days=1))
    assert (result.rows, result.changed, result.unlisted, result.dropped) == (6, 1, 1, 0)
    assert listed(reader, search.tender_listing(TenderQuery(keywords=("ultra-low",)))) == [FREEZERS]
    assert listed(reader, search.contract_listing(ContractQuery())) == []  # not listed any more...
    assert search.by_id(reader, AWARD, "award") is not None  # ...but still known by its id
    for day in range(2, DROP_AFTER_MISSING + 1):
        result = index.apply_extract(second, published_at=PUBLISHED + timedelta(days=day))
        assert result.changed == 0
    assert result.dropped == 1
    assert search.by_id(reader, AWARD, "award") is None
    back = index.apply_extract(first, published_at=PUBLISHED + timedelta(days=9))
    assert back.changed == 2  # the award notice again, and the freezers as the extract has them
    assert listed(reader, search.contract_listing(ContractQuery())) == [AWARD]


def test_a_refused_extract_changes_nothing(index: IndexWriter, reader: sqlite3.Connection) -> None:
    index.apply_extract(rows(), published_at=PUBLISHED)

    def broken() -> Iterator[ExtractRow]:
        yield rows()[0]
        raise ExtractRejected("row 3 has 12 fields, not 47")

    with pytest.raises(ExtractRejected):
        index.apply_extract(broken(), published_at=PUBLISHED + timedelta(days=1))
    assert len(listed(reader, search.lead_listing(LeadQuery()))) == 4
    assert index.meta("extract_rows") == "7"


def test_pulled_notices_are_upserted_keep_the_extracts_description_and_survive_an_older_extract(
    index: IndexWriter, reader: sqlite3.Connection
) -> None:
    first = rows()
    index.apply_extract(first, published_at=PUBLISHED)
    pulled_at = PUBLISHED + timedelta(hours=6)
    janitorial = replace(first[0].notice, title="Janitorial services (amended)", description=None)
    fresh = replace(first[2].notice, notice_id="0" * 31 + "1", award=Award(number="W912DR26C0042", uei="ABCDEF123456"))
    assert index.apply_notices([janitorial, fresh], seen_at=pulled_at, meta={"pulled_at": "x"}) == 2
    assert index.meta("pulled_at") == "x"
    found = search.by_id(reader, JANITORIAL, "open")
    assert found is not None
    notice = decode(found[0])
    assert notice is not None
    assert notice.title == "Janitorial services (amended)"
    assert found[1] == "The Contractor\u2019s yard must be kept clean.\nSecond line, with a comma."
    assert listed(reader, search.contract_listing(ContractQuery(supplier_uei=("abcdef123456",)))) == [fresh.notice_id]
    assert index.count_origin("api") == 2
    # An extract published before the pull does not carry the new award: it stays listed.
    index.apply_extract(first, published_at=PUBLISHED + timedelta(hours=12))
    assert fresh.notice_id in listed(reader, search.contract_listing(ContractQuery()))
    assert index.count_origin("api") == 1  # the janitorial notice is the extract's again
