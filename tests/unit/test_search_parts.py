"""The parts of `search`: its cursor, the relevance normalisation and order, duplicate keys, facets' buckets, and
the vocabularies its filter values are checked against."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest

from gateway import vocabularies
from gateway.errors import BadUserInput
from gateway.models import Contract, ContractSource, Lead, LocalizedText, NoticeDetails, Page, Tender
from gateway.upstreams.spec import RecordKind
from resolvers.dedup import Origin, contract_twins, duplicate_keys, origin_of, preference
from resolvers.facets import _closing_bucket
from resolvers.merge import SourcePage
from resolvers.search_cursor import MAX_CARRIED, SearchCursor, decode_search_cursor
from resolvers.search_order import order_key, relevance
from resolvers.search_plan import SearchCriteria
from schema.contracts import Contract as ContractType
from schema.leads import Lead as LeadType
from schema.tenders import Tender as TenderType

SOURCES = ("ita.lead", "canada.tender", "canada.contract", "sam.contract", "canadabuys.tender")


def encoded(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_every_part() -> None:
    cursor = SearchCursor(
        "f" * 12,
        positions={"ita.lead": 12, "canadabuys.tender": "k:2025-01-01:abc"},
        ranks={"canadabuys.tender": 7},
        done={"sam.contract": 40, "canada.tender": None},
        skips={"canada.tender": frozenset({3, 9})},
        origins={"canada.tender": {14: (Origin("ita", "djI6WyJMZWFkIl0"),)}},
    )
    decoded = decode_search_cursor(cursor.encode(), "f" * 12, SOURCES)
    assert decoded == cursor
    assert decoded.rank("ita.lead") == 12
    assert decoded.rank("canadabuys.tender") == 7
    assert decoded.started


def test_a_fresh_cursor_starts_every_source_at_zero() -> None:
    cursor = decode_search_cursor(None, "f" * 12, SOURCES)
    assert cursor.position("ita.lead") == 0
    assert not cursor.started
    assert decode_search_cursor(cursor.encode(), "f" * 12, SOURCES) == cursor


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("%%%", "not a cursor"),
        (encoded([1, 2]), "not a cursor"),
        (encoded({"p": {"ita.lead": 1}}), "not a cursor"),
        (encoded({"f": "0" * 12, "p": {}}), "another search"),
        (encoded({"f": "f" * 12, "p": {"nowhere.lead": 1}}), "not a cursor"),
        (encoded({"f": "f" * 12, "p": {"ita.lead": -1}}), "not a cursor"),
        (encoded({"f": "f" * 12, "p": {"ita.lead": True}}), "not a cursor"),
        (encoded({"f": "f" * 12, "p": {"ita.lead": 400_001}}), "not a cursor"),
        (encoded({"f": "f" * 12, "p": {"ita.lead": "x" * 513}}), "not a cursor"),
        (encoded({"f": "f" * 12, "x": 1}), "not a cursor"),
        (encoded({"f": "f" * 12, "s": {"ita.lead": list(range(MAX_CARRIED + 1))}}), "not a cursor"),
        (encoded({"f": "f" * 12, "o": {"ita.lead": [[1, [["ita"]]]]}}), "not a cursor"),
        (encoded({"f": "f" * 12, "o": {"ita.lead": [[1, [["ita", ""]]]]}}), "not a cursor"),
    ],
)
def test_anything_else_is_refused_as_after(cursor: str, message: str) -> None:
    with pytest.raises(BadUserInput, match=message) as refused:
        decode_search_cursor(cursor, "f" * 12, SOURCES)
    assert refused.value.extensions == {"argument": "after"}


def test_the_fingerprint_names_the_search_not_the_page_size() -> None:
    one = SearchCriteria(keywords="software", countries=("CA",))
    assert one.fingerprint() == SearchCriteria(keywords="software", countries=("CA",)).fingerprint()
    assert one.fingerprint() != SearchCriteria(keywords="software").fingerprint()
    assert one.fingerprint() != SearchCriteria(keywords="hardware", countries=("CA",)).fingerprint()


def test_relevance_is_the_rank_normalised_by_the_sources_matches() -> None:
    assert relevance(0, 100) == 1.0
    assert relevance(50, 100) == 0.5
    assert relevance(0, 4) > relevance(1, 4) > relevance(3, 4) > 0
    assert relevance(3, None) == 1 / 4  # a source that does not count: the reciprocal rank
    assert relevance(5, 3) == 1 / 6  # a rank beyond its count (the upstream's count changed): never negative


def lead(published: date | None, **fields: object) -> Lead:
    return Lead(id="L", source=str(fields.pop("source", "FBO")), title="t", publish_date=published, **fields)  # type: ignore[arg-type]


def tender(reference: str = "T", solicitation: str | None = None, published: date | None = None) -> Tender:
    notice = NoticeDetails(published=published) if published else None
    text = LocalizedText("x")
    return Tender(reference, solicitation, text, text, text, notice=notice, gsins=("N7030",))


def contract(source: ContractSource, piid: str, modification: str | None = "0", **fields: object) -> Contract:
    return Contract(source, f"{piid}|{modification}||", piid, LocalizedText("x"), modification, **fields)  # type: ignore[arg-type]


def test_newest_first_by_the_day_each_kind_was_published_undated_last() -> None:
    newer, older = lead(date(2025, 6, 2)), lead(date(2025, 6, 1))
    awarded = contract(ContractSource.SAM, "P1", award_date=date(2025, 6, 3))
    noticed = tender(published=date(2025, 5, 1))
    keys = [order_key(record, None) for record in (awarded, newer, older, noticed, tender(), lead(None))]
    assert keys == sorted(keys)
    assert order_key(tender(), None) == order_key(lead(None), None)
    assert order_key(older, 0.9) < order_key(newer, 0.2)  # with keywords, relevance alone


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        (tender("PW-24-1 ", "W2037-381062/A"), ("ca-notice:PW-24-1", "ca-notice:W2037-381062/A")),
        (lead(None, source="CANADA", reference_number="pw-24-1", contract_number=None), ("ca-notice:PW-24-1",)),
        (lead(None, source="UK", reference_number="PW-24-1"), ()),
        (lead(None, source="FBO", notice_type="Award Notice", contract_number="W91 2DY"), ("us-award:W912DY",)),
        (lead(None, source="FBO", notice_type="PRESOL", contract_number="W912DY"), ()),
        (contract(ContractSource.SAM, "w912dy"), ("us-award:W912DY",)),
        (contract(ContractSource.SAM, "W912DY", "P00001"), ()),
        (contract(ContractSource.SAM, "W912DY", referenced_idv_piid="GS00"), ()),
        (contract(ContractSource.CANADA, "21K01-022267/001/PQ"), ("ca-contract:21K01-022267/001/PQ",)),
    ],
)
def test_duplicate_keys(record: Lead | Tender | Contract, keys: tuple[str, ...]) -> None:
    assert duplicate_keys(record) == keys


def test_the_primary_publisher_is_preferred() -> None:
    assert preference(RecordKind.TENDER, "canadabuys") < preference(RecordKind.TENDER, "canada")
    assert preference(RecordKind.TENDER, "canada") < preference(RecordKind.LEAD, "ita")
    assert preference(RecordKind.CONTRACT, "sam") < preference(RecordKind.LEAD, "ita")
    assert preference(RecordKind.CONTRACT, "sam") < preference(RecordKind.CONTRACT, "fourth")


def test_origins_name_the_ids_the_schema_gives() -> None:
    assert origin_of("ita", lead(None)).id == LeadType.from_model(lead(None), upstream="ita").id()
    assert origin_of("canada", tender()).id == TenderType.from_model(tender(), upstream="canada").id()
    record = contract(ContractSource.SAM, "P1", gsins=("N7030",))
    assert origin_of("sam", record).id == ContractType.from_model(record, upstream="sam").id()


@pytest.mark.parametrize(
    ("closes", "bucket"),
    [
        (None, "UNKNOWN"),
        (date(2025, 6, 9), "CLOSED"),
        (date(2025, 6, 10), "NEXT_7_DAYS"),
        (date(2025, 6, 16), "NEXT_7_DAYS"),
        (date(2025, 6, 17), "NEXT_30_DAYS"),
        (date(2025, 7, 9), "NEXT_30_DAYS"),
        (date(2025, 7, 10), "LATER"),
    ],
)
def test_closing_buckets_count_days_from_today(closes: date | None, bucket: str) -> None:
    assert _closing_bucket(lead(None, end_date=closes), date(2025, 6, 10)) == bucket


def test_vocabularies_give_the_canonical_spelling_and_name_the_accepted_values() -> None:
    assert vocabularies.COUNTRIES.check(["ca", " gb ", "CA"], argument="filter.countries") == ("CA", "GB")
    assert vocabularies.ITA_TRADE_REGIONS.check(["nafta"], argument="x") == ("NAFTA",)
    assert vocabularies.ITA_WORLD_REGIONS.check(["PACIFIC RIM"], argument="x") == ("Pacific Rim",)
    assert vocabularies.CANADIAN_REGIONS.check(["x-int", "ncr"], argument="x") == ("X-INT", "NCR")
    with pytest.raises(BadUserInput) as refused:
        vocabularies.CANADIAN_REGIONS.check(["ON", "Ontario"], argument="filter.regions")
    assert refused.value.extensions["argument"] == "filter.regions"
    assert len(refused.value.extensions["accepted"]) == 20
    assert "'Ontario'" in refused.value.message
    assert "X-INT" in refused.value.message
    assert len(vocabularies.COUNTRIES.labels) == 249
    assert vocabularies.country_code("usa") == "US"
    assert vocabularies.country_code("GBR") == "GB"
    assert vocabularies.country_code("ZZ") is None


def test_the_ita_regions_cover_every_region_of_the_recorded_leads(samples_dir: Path) -> None:
    results = samples_dir / "trade-leads" / "webservices" / "spec" / "support" / "trade_leads"
    leads = [lead for path in sorted(results.glob("*/results.json")) for lead in json.loads(path.read_text())]
    trade = {region for lead in leads for region in lead.get("trade_regions") or ()}
    world = {region for lead in leads for region in lead.get("world_regions") or ()}
    countries = {lead["country"] for lead in leads if lead.get("country")}
    assert trade
    assert world
    assert trade <= set(vocabularies.ITA_TRADE_REGIONS.labels)
    assert world <= set(vocabularies.ITA_WORLD_REGIONS.labels)
    assert countries <= set(vocabularies.COUNTRIES.labels)


def test_contract_twins_pass_over_the_less_preferred_record_of_a_key() -> None:
    sam = SourcePage.of(Page((contract(ContractSource.SAM, "W912DY"), contract(ContractSource.SAM, "P2")), 2), 0)
    notices = SourcePage.of(
        Page((contract(ContractSource.SAMOPPS, "P9"), contract(ContractSource.SAMOPPS, "w912 dy", None)), 2), 0
    )
    retired = SourcePage.of(Page((contract(ContractSource.CANADA, "C1"),), 1), 0)
    successor = SourcePage.of(Page((contract(ContractSource.CANADABUYS, "c1"),), 1), 0)
    assert contract_twins({"samopps": notices, "sam": sam}) == {"samopps": frozenset({1}), "sam": frozenset()}
    assert contract_twins({"canada": retired, "canadabuys": successor}) == {
        "canada": frozenset({0}),
        "canadabuys": frozenset(),
    }


def test_one_page_has_no_contract_twins_even_of_its_own_records() -> None:
    same = (contract(ContractSource.SAM, "W912DY"), contract(ContractSource.SAM, "W912DY"))
    assert contract_twins({"sam": SourcePage.of(Page(same, 2), 0)}) == {"sam": frozenset()}
    assert contract_twins({}) == {}
