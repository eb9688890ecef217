"""The SAM Contract Awards adapter: every recorded sample, our own quirky payloads, parameters, the client's paging."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, StoreIf, cache_key
from gateway.errors import BadUserInput, UpstreamBadResponse, UpstreamRejected
from gateway.models import (
    ALL_SAM_SECTIONS,
    Agency,
    AwardFamily,
    CodeName,
    Contract,
    ContractQuery,
    ContractSource,
    Country,
    DateRange,
    FamilyCounts,
    LocalizedText,
    Money,
    Page,
    SamSections,
    Supplier,
    ValueRange,
)
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.sam import adapter as sam
from gateway.upstreams.sam.spec import SPEC
from gateway.upstreams.spec import RecordKind

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
SEARCH_EXAMPLES = (
    "contract-awards.md.example1.search.json",
    "contract-awards.md.example2.search.json",
    "contract-awards.md.example3.search-includeSections-contractId.json",
    "contract-awards.md.example4.search-includeSections-contractId-awardDetails-awardeeData.json",
    "contract-awards.md.example5.search-deletedStatus.json",
    "contract-awards.md.example6.extract-file.json",
    "sam-getList-Contracts-api.md@3508ebff.sample-response.DUMMY.json",
)
NOT_ENVELOPES = ("contract-awards.md.example6.extract-token.json", "contract-awards.md.http-response-codes.json")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def sample(samples_dir: Path) -> Callable[[str], object]:
    def load(name: str) -> object:
        return json.loads((samples_dir / "sam-contract-awards" / "examples" / name).read_text(encoding="utf-8"))

    return load


# -- recorded samples ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEARCH_EXAMPLES)
def test_every_recorded_item_is_parsed(sample: Callable[[str], object], name: str) -> None:
    payload = sample(name)
    assert isinstance(payload, dict)
    page = sam.parse_page(payload)
    assert len(page.items) == len(payload["awardSummary"]) > 0
    assert all(contract.source is ContractSource.SAM for contract in page.items)
    assert len({contract.key for contract in page.items}) == len(page.items)


def test_recorded_samples_folder_holds_no_unchecked_sam_example(samples_dir: Path) -> None:
    names = {path.name for path in (samples_dir / "sam-contract-awards" / "examples").glob("*.json")}
    assert names == set(SEARCH_EXAMPLES) | set(NOT_ENVELOPES)


def test_example1_full_record(sample: Callable[[str], object]) -> None:
    page = sam.parse_page(sample(SEARCH_EXAMPLES[0]))
    assert (page.total, page.offset) == (5_691_511, 1)
    assert page.items == (
        Contract(
            source=ContractSource.SAM,
            key="SPE3SU25F97V0|0|0|SPE30023DSA78",
            piid="SPE3SU25F97V0",
            title=LocalizedText("4567323815!SALAD MIX, CHL,"),
            modification_number="0",
            referenced_idv_piid="SPE30023DSA78",
            buyer=Agency(
                LocalizedText("DEPT OF DEFENSE"),
                code="9700",
                subtier=CodeName("97AS", "DEFENSE LOGISTICS AGENCY"),
                office=CodeName("SPE3SU", "DLA TROOP SUPPORT"),
            ),
            supplier=Supplier(
                name="VERMILION VALLEY PRODUCE, INC.",
                unique_entity_id="HKK3H54PK7C3",
                cage_code="0EPU7",
                city="DANVILLE",
                region="IL",
                country="USA",
            ),
            value=usd("202.39"),
            total_value=usd("202.39"),
            award_date=date(2025, 2, 20),
            expiry_date=date(2025, 2, 20),
            fiscal_year=2025,
            award_type=CodeName("C", "DELIVERY ORDER"),
            naics=CodeName("311812", "COMMERCIAL BAKERIES"),
            product_or_service=CodeName("8915", "FRUITS AND VEGETABLES"),
            # coreData has no typeOfSetAside: the delivery order carries its IDV's (awardDetails.idvTypeOfSetAside)
            set_aside=CodeName("NONE", "NO SET ASIDE USED."),
            place_of_performance=Country("USA", "UNITED STATES"),
            last_modified=datetime(2025, 6, 11, 7, 18, 2, tzinfo=UTC),
        ),
    )


def test_example2_modification_with_negative_obligation(sample: Callable[[str], object]) -> None:
    (contract,) = sam.parse_page(sample(SEARCH_EXAMPLES[1])).items
    assert contract.key == "15B61524P00000105|P00003|0|"
    assert contract.referenced_idv_piid is None
    assert contract.value == usd("-7183.74")
    assert contract.total_value == usd("45497.06")
    assert (contract.award_date, contract.expiry_date) == (date(2025, 4, 2), date(2025, 7, 31))
    # no legalBusinessName in this record: the awardee's name stands in
    assert contract.supplier == Supplier(
        "GE PRECISION HEALTHCARE LLC", "JJURYE5M19G1", "9CB48", "WAUKESHA", "WI", "USA"
    )
    assert contract.buyer is not None
    assert contract.buyer.office == CodeName("15B615", "FCC TUCSON")
    assert contract.set_aside == CodeName("NONE", "NO SET ASIDE USED.")
    assert contract.award_type == CodeName("B", "PURCHASE ORDER")
    assert contract.naics == CodeName("541512", "COMPUTER SYSTEMS DESIGN SERVICES")
    assert contract.title.en == "X-RAY EQUIPMENT MAINTENANCE\nADD ADDITIONAL FUNDS OF $19,156.64"


def test_example3_contract_ids_only(sample: Callable[[str], object]) -> None:
    page = sam.parse_page(sample(SEARCH_EXAMPLES[2]))
    assert (page.total, page.offset, len(page.items)) == (7111, 5, 5)
    first = page.items[0]
    assert first == Contract(ContractSource.SAM, "47340223MTEST|0||", "47340223MTEST", LocalizedText(None), "0")
    assert [c.modification_number for c in page.items[1:4]] == ["PM3346", "PA3143DELPROD", "1011"]


def test_example4_award_details_holding_only_awardee_data(sample: Callable[[str], object]) -> None:
    (contract,) = sam.parse_page(sample(SEARCH_EXAMPLES[3])).items
    assert contract.key == "N4008525F4907|0|0|N4008520D0023"
    assert contract.supplier == Supplier("REFCON SERVICES, INC.", "PJDANKJJMTY3", "32HR1", "CHESAPEAKE", "VA", "USA")
    assert (contract.value, contract.total_value, contract.award_date, contract.fiscal_year) == (None,) * 4
    assert (contract.buyer, contract.naics, contract.last_modified, contract.title.en) == (None,) * 4


def test_example5_page_index_becomes_a_record_offset(sample: Callable[[str], object]) -> None:
    page = sam.parse_page(sample(SEARCH_EXAMPLES[4]))
    assert (page.total, page.offset) == (162, 25 * 5)
    assert [c.key for c in page.items] == [
        "VA25715J1359|0|0|V797P3148M",
        "SPE7M520V0512|P00001|0|",
        "0001|0|0|SPE4A214D0004",
        "SPE4A414V5661|P00001|0|",
        "DJM17D24D0024|13|0|DJM15A32V0007",
    ]


def test_example6_extract_file_with_null_offset(sample: Callable[[str], object]) -> None:
    page = sam.parse_page(sample(SEARCH_EXAMPLES[5]))
    assert (page.total, page.offset) == (2706, 0)
    (contract,) = page.items
    assert contract.piid == "NNG15SD19B"
    assert contract.supplier == Supplier(
        "ALVAREZ & ASSOCIATES, LLC", "Y928UVG75CT6", None, "TYSONS CORNER", "VA", "USA"
    )
    assert contract.value == usd("0")
    assert contract.expiry_date is None  # an IDV: lastDateToOrder only, no completion date
    assert contract.award_type == CodeName("A", "GWAC")
    assert contract.set_aside == CodeName("SDVOSBC", "SERVICE DISABLED VETERAN OWNED SMALL BUSINESS SET-ASIDE")
    assert contract.place_of_performance is None
    assert contract.last_modified == datetime(2025, 1, 24, 15, 23, 20, tzinfo=UTC)


def test_dummy_draft_sample_with_plain_iso_dates(sample: Callable[[str], object]) -> None:
    page = sam.parse_page(sample(SEARCH_EXAMPLES[6]))
    assert (page.total, page.offset) == (1, 0)
    (contract,) = page.items
    assert contract.key == "NN1234567|01|0001|IDV123456"
    assert (contract.award_date, contract.expiry_date) == (date(2025, 8, 1), date(2026, 8, 14))
    assert contract.value == usd("50000")
    assert contract.total_value is None
    assert contract.supplier is None
    assert contract.buyer == Agency(
        LocalizedText("National Aeronautics and Space Administration"),
        code="NASA",
        subtier=CodeName("4200", "NASA Headquarters"),
        office=CodeName("HQ0001", "NASA Office 1"),
    )


def test_dummy_piid_aggregation(sample: Callable[[str], object]) -> None:
    assert sam.parse_award_family(sample(SEARCH_EXAMPLES[6]), "NN1234567") == AwardFamily(
        piid="NN1234567",
        count=3,
        total_dollars=usd("150000"),
        referencing_orders=FamilyCounts(2, 5, usd("120000")),
        bpa=FamilyCounts(1, 3, usd("80000")),
        bpa_calls=FamilyCounts(1, 2, usd("40000")),
    )


@pytest.mark.parametrize("name", NOT_ENVELOPES)
def test_other_recorded_bodies_are_not_search_envelopes(sample: Callable[[str], object], name: str) -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        sam.parse_page(sample(name))
    assert raised.value.upstream == "sam"


def test_search_examples_carry_no_award_family(sample: Callable[[str], object]) -> None:
    assert sam.parse_award_family(sample(SEARCH_EXAMPLES[0]), "SPE3SU25F97V0") is None


# -- our own payloads ------------------------------------------------------------------------------------------------


def test_malformed_items_do_not_sink_the_page() -> None:
    payload = json.loads((PAYLOADS / "sam_malformed_items.json").read_text(encoding="utf-8"))
    page = sam.parse_page(payload)
    assert (page.total, page.offset) == (None, 0)
    quirks, sparse = page.items
    assert quirks == Contract(
        source=ContractSource.SAM,
        key="QUIRKS0001||7|",
        piid="QUIRKS0001",
        title=LocalizedText(None),
        modification_number=None,
        supplier=Supplier("ACME WIDGETS", city="OTTAWA", region="ON", country="CAN"),
        award_date=date(2024, 2, 29),
        expiry_date=date(2026, 1, 31),  # currentCompletionDate is no date: the ultimate one stands in
        fiscal_year=2024,
        naics=CodeName("541512", "COMPUTER SYSTEMS DESIGN SERVICES"),
        set_aside=CodeName("SBA", None),
        place_of_performance=Country("CAN", None),
        last_modified=datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
    )
    assert sparse.value == usd("1250.5")
    assert (sparse.fiscal_year, sparse.award_date, sparse.supplier) == (None, None, None)


def test_no_content_is_an_empty_page() -> None:
    assert sam.parse_page(JSON_NULL_BODY) == Page((), 0, 0)
    assert sam.parse_page({"totalRecords": "0"}) == Page((), 0, 0)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "awardSummary",
        None,
        {"awardSummary": {"contractId": {}}, "totalRecords": "1"},
        {"totalRecords": "12"},
        {"message": "The search parameter, foo does not exist.", "detail": "..."},
    ],
)
def test_wrong_envelopes_are_bad_responses(payload: object) -> None:
    with pytest.raises(UpstreamBadResponse):
        sam.parse_page(payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (JSON_NULL_BODY, None),
        ({"awardSummary": [], "totalRecords": "0"}, None),
        ({"piidAggregation": {"awardFamilySummary": {"count": "null", "totalDollars": "10"}}}, None),
        ({"piidAggregation": "yes"}, None),
        (
            {"piidAggregation": {"awardFamilySummary": {"count": "4", "totalDollars": "-12.5"}}},
            AwardFamily("P1", 4, usd("-12.5")),
        ),
        (
            {
                "piidAggregation": {
                    "awardFamilySummary": {"count": "1", "totalDollars": "0"},
                    "referencingDosOrBpaCallsSummary": {"baseCount": "null", "totalCount": "9"},
                }
            },
            AwardFamily("P1", 1, usd("0"), referencing_orders=FamilyCounts(None, 9, None)),
        ),
    ],
)
def test_award_family_variants(payload: object, expected: AwardFamily | None) -> None:
    assert sam.parse_award_family(payload, "P1") == expected


def test_award_family_of_a_non_object_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse):
        sam.parse_award_family(["piidAggregation"], "P1")


# -- request parameters ----------------------------------------------------------------------------------------------


def params(query: ContractQuery, *, limit: int = 10, offset: int = 0) -> dict[str, str]:
    return sam.build_params(query, limit=limit, offset=offset, sections=SamSections())


def test_an_empty_query_sends_only_paging_and_sections() -> None:
    sections = SamSections(core_data=True, award_details=True)
    assert sam.build_params(ContractQuery(), limit=25, offset=50, sections=sections) == {
        "includeSections": "contractId,coreData,awardDetails",
        "limit": "25",
        "offset": "2",
    }


def test_every_filter_in_sam_syntax() -> None:
    query = ContractQuery(
        keywords=" salad mix ",
        piid="SPE3SU25F97V0",
        modification_number="0",
        referenced_idv_piid="SPE30023DSA78",
        naics=("513310", " ", "541512"),
        product_or_service=("8915",),
        gsins=("N7030",),  # Canadian only: not sent to SAM
        agency_code="9700",
        agency_name="DEFENSE",
        supplier_name="VERMILION",
        supplier_uei=("HKK3H54PK7C3", "JJURYE5M19G1"),
        awarded=DateRange(date(2025, 1, 1), date(2025, 8, 19)),
        value=ValueRange(Decimal("0.0"), Decimal("100000000.99")),
        fiscal_year=2025,
        award_or_idv="award",
        place_of_performance_state="VA",
    )
    assert params(query) == {
        "q": "salad mix",
        "piid": "SPE3SU25F97V0",
        "modificationNumber": "0",
        "referencedIdvPiid": "SPE30023DSA78",
        "naicsCode": "513310~541512",
        "productOrServiceCode": "8915",
        "contractingDepartmentCode": "9700",
        "contractingDepartmentName": "DEFENSE",
        "awardeeLegalBusinessName": "VERMILION",
        "awardeeUniqueEntityId": "HKK3H54PK7C3~JJURYE5M19G1",
        "dateSigned": "[01/01/2025,08/19/2025]",
        "dollarsObligated": "[0.0,100000000.99]",
        "fiscalYear": "2025",
        "awardOrIDV": "Award",
        "placeOfPerformStateCode": "VA",
        "includeSections": "contractId",
        "limit": "10",
        "offset": "0",
    }


@pytest.mark.parametrize(
    ("awarded", "expected"),
    [
        (DateRange(date(2025, 1, 1), None), "[01/01/2025,]"),
        (DateRange(None, date(2025, 5, 29)), "[,05/29/2025]"),
        (DateRange(date(2025, 2, 20), date(2025, 2, 20)), "02/20/2025"),
        (DateRange(date(999, 12, 31), date(2030, 1, 2)), "[12/31/0999,01/02/2030]"),
    ],
)
def test_date_ranges(awarded: DateRange, expected: str) -> None:
    assert params(ContractQuery(awarded=awarded))["dateSigned"] == expected


def test_empty_ranges_send_nothing() -> None:
    sent = params(ContractQuery(awarded=DateRange(), value=ValueRange()))
    assert "dateSigned" not in sent
    assert "dollarsObligated" not in sent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ValueRange(Decimal("5000.99"), Decimal("100000.99")), "[5000.99,100000.99]"),
        (ValueRange(Decimal("1E+3"), None), "[1000,999999999999999.99]"),
        (ValueRange(None, Decimal("-1000.99")), "[-999999999999999.99,-1000.99]"),
        (ValueRange(Decimal("7"), Decimal("7")), "[7,7]"),
    ],
)
def test_dollar_ranges_are_closed(value: ValueRange, expected: str) -> None:
    assert params(ContractQuery(value=value))["dollarsObligated"] == expected


@pytest.mark.parametrize(
    "query",
    [
        ContractQuery(awarded=DateRange(date(2025, 2, 1), date(2025, 1, 1))),
        ContractQuery(value=ValueRange(Decimal("10"), Decimal("9.99"))),
        ContractQuery(value=ValueRange(Decimal("NaN"), None)),
        ContractQuery(value=ValueRange(None, Decimal("Infinity"))),
        ContractQuery(naics=tuple(str(541000 + n) for n in range(101))),
        ContractQuery(supplier_uei=("HKK3H54PK7C3~JJURYE5M19G1",)),
        ContractQuery(piid="A~B"),
        ContractQuery(fiscal_year=25),
        ContractQuery(award_or_idv="contract"),
        ContractQuery(keywords="roofing includeSections=coreData"),
        ContractQuery(keywords="FORMAT = csv"),
        ContractQuery(keywords="emailid: yes"),
    ],
)
def test_values_sam_would_refuse(query: ContractQuery) -> None:
    with pytest.raises(BadUserInput):
        params(query)


def test_a_hundred_list_values_are_accepted() -> None:
    naics = tuple(str(541000 + n) for n in range(100))
    assert params(ContractQuery(naics=naics))["naicsCode"].count("~") == 99


@pytest.mark.parametrize("character", list("&|{}^\\"))
@pytest.mark.parametrize(
    ("field_name", "query_of"),
    [
        ("supplier_name", lambda text: ContractQuery(supplier_name=text)),
        ("keywords", lambda text: ContractQuery(keywords=text)),
        ("naics", lambda text: ContractQuery(naics=("541512", text))),
        ("agency_name", lambda text: ContractQuery(agency_name=text)),
    ],
)
def test_forbidden_characters_are_refused(
    character: str, field_name: str, query_of: Callable[[str], ContractQuery]
) -> None:
    with pytest.raises(BadUserInput) as raised:
        params(query_of(f"ALVAREZ {character} ASSOCIATES"))
    assert raised.value.extensions["field"] == field_name
    assert field_name in raised.value.message
    assert raised.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (SamSections(), "contractId"),
        (SamSections(core_data=True), "contractId,coreData"),
        (SamSections(awardee_data=True), "contractId,awardeeData"),
        (SamSections(core_data=True, awardee_data=True), "contractId,coreData,awardeeData"),
        # naming awardeeData would narrow awardDetails to it (example 4): both need the whole record
        (SamSections(award_details=True, awardee_data=True), None),
        (ALL_SAM_SECTIONS, None),
    ],
)
def test_include_sections(sections: SamSections, expected: str | None) -> None:
    assert sam.build_params(ContractQuery(), limit=1, offset=0, sections=sections).get("includeSections") == expected


@pytest.mark.parametrize(("limit", "offset", "page_index"), [(10, 0, "0"), (10, 30, "3"), (100, 400_000, "4000")])
def test_offset_is_sent_as_a_page_index(limit: int, offset: int, page_index: str) -> None:
    sent = params(ContractQuery(), limit=limit, offset=offset)
    assert (sent["limit"], sent["offset"]) == (str(limit), page_index)


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (101, 0), (10, -10), (100, 400_100)])
def test_paging_sam_would_refuse(limit: int, offset: int) -> None:
    with pytest.raises(BadUserInput):
        params(ContractQuery(), limit=limit, offset=offset)


def test_an_unaligned_offset_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="multiple of limit"):
        params(ContractQuery(), limit=10, offset=15)


@pytest.mark.parametrize(
    ("offset", "limit", "pages"),
    [
        (0, 10, [(10, 0)]),
        (40, 20, [(20, 40)]),
        (5, 10, [(15, 0)]),
        (1005, 10, [(15, 1005)]),
        (50, 100, [(100, 0), (100, 100)]),
        (1, 99, [(100, 0)]),
        (7, 99, [(99, 0), (99, 99)]),
    ],
)
def test_covering_pages(offset: int, limit: int, pages: list[tuple[int, int]]) -> None:
    assert sam.covering_pages(offset, limit) == tuple(sam.PageRequest(*page) for page in pages)


@given(offset=st.integers(0, 400_000), limit=st.integers(1, 100))
def test_covering_pages_cover_the_window_with_legal_pages(offset: int, limit: int) -> None:
    pages = sam.covering_pages(offset, limit)
    assert 1 <= len(pages) <= 2
    assert all(1 <= page.limit <= 100 and page.offset % page.limit == 0 for page in pages)
    assert pages[0].offset <= offset
    assert pages[-1].offset + pages[-1].limit >= offset + limit
    if len(pages) == 2:
        assert pages[1].offset == pages[0].offset + pages[0].limit


# -- sections per field ----------------------------------------------------------------------------------------------


def test_every_contract_field_has_its_sections() -> None:
    assert set(sam.SECTIONS_BY_FIELD) == {f.name for f in fields(Contract)}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], SamSections()),
        (["piid", "key", "modification_number", "referenced_idv_piid"], SamSections()),
        (["buyer", "naics", "award_type", "product_or_service", "place_of_performance"], SamSections(core_data=True)),
        (["value", "award_date", "title", "fiscal_year", "last_modified"], SamSections(award_details=True)),
        (["supplier"], SamSections(awardee_data=True)),
        (["set_aside"], SamSections(core_data=True, award_details=True)),
        (["value", "supplier"], SamSections(award_details=True, awardee_data=True)),
        (["buyer", "supplier", "awardFamily", "__typename"], SamSections(core_data=True, awardee_data=True)),
    ],
)
def test_sections_for(names: list[str], expected: SamSections) -> None:
    assert sam.sections_for(names) == expected


def test_contract_keys_round_trip() -> None:
    key = sam.SamContractKey("0001", "0", None, "SPE4A214D0004")
    assert key.encode() == "0001|0||SPE4A214D0004"
    assert sam.SamContractKey.decode(key.encode()) == key
    assert sam.SamContractKey.decode("0001") is None
    assert sam.SamContractKey.decode("|0||") is None


# -- the client, with a fake transport and a recording cache --------------------------------------------------------


def record(number: int) -> dict[str, object]:
    return {"contractId": {"piid": f"P{number:05d}", "modificationNumber": "0"}}


class FakeSam:
    """Answers searches from `records` by SAM's paging rules, or with what `answer` returns or raises."""

    def __init__(self, records: int = 250, answer: Callable[[dict[str, str]], object] | None = None) -> None:
        self.records = [record(n) for n in range(records)]
        self.answer = answer
        self.calls: list[dict[str, str]] = []

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        assert path == "contract-awards/v1/search"
        assert deadline.remaining_s() > 0
        self.calls.append(dict(params))
        if self.answer is not None:
            found = self.answer(dict(params))
            if isinstance(found, Exception):
                raise found
            return found
        limit, index = int(params["limit"]), int(params["offset"])
        items = self.records[index * limit : index * limit + limit]
        return {
            "awardSummary": items,
            "totalRecords": str(len(self.records)),
            "limit": str(limit),
            "offset": str(index),
        }


class RecordingCache:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.ttls: list[int] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        assert stale_for_s == 86_400
        self.keys.append(key)
        self.ttls.append(ttl_s)
        return Cached(await fetch(), CacheStatus.MISS)


def client_for(fake: FakeSam, cache: RecordingCache | None = None) -> sam.ContractAwardsClient:
    ttl_s = {RecordKind.CONTRACT: 3600, RecordKind.AWARD_FAMILY: 21_600}
    return sam.ContractAwardsClient(
        SPEC, UpstreamFetch(SPEC, fake, cache or RecordingCache(), ttl_s=ttl_s, stale_for_s=86_400)
    )


EVERY_FIELD = frozenset(f.name for f in fields(Contract))  # every section


def piids(page: Page[Contract]) -> list[str]:
    return [contract.piid for contract in page.items]


async def test_search_of_an_aligned_page_is_one_call_keyed_by_its_public_parameters() -> None:
    fake, cache = FakeSam(), RecordingCache()
    page = await client_for(fake, cache).search_contracts(
        ContractQuery(naics=("541512",)), limit=20, offset=40, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert piids(page) == [f"P{n:05d}" for n in range(40, 60)]
    assert (page.total, page.offset) == (250, 40)
    assert fake.calls == [
        {"naicsCode": "541512", "includeSections": "contractId", "limit": "20", "offset": "2"},
    ]
    assert cache.keys == [cache_key("sam", "contract-awards/v1/search", fake.calls[0])]
    assert cache.ttls == [3600]


async def test_search_of_an_unaligned_window_uses_one_larger_page() -> None:
    fake = FakeSam()
    page = await client_for(fake).search_contracts(
        ContractQuery(), limit=10, offset=5, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert piids(page) == [f"P{n:05d}" for n in range(5, 15)]
    assert [(c["limit"], c["offset"]) for c in fake.calls] == [("15", "0")]
    assert page.offset == 5


async def test_search_of_a_full_unaligned_window_fetches_two_pages() -> None:
    fake = FakeSam()
    page = await client_for(fake).search_contracts(
        ContractQuery(), limit=100, offset=50, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert piids(page) == [f"P{n:05d}" for n in range(50, 150)]
    assert sorted((c["limit"], c["offset"]) for c in fake.calls) == [("100", "0"), ("100", "1")]


async def test_search_past_the_end_is_short() -> None:
    fake = FakeSam(records=23)
    page = await client_for(fake).search_contracts(
        ContractQuery(), limit=10, offset=15, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert piids(page) == [f"P{n:05d}" for n in range(15, 23)]


async def test_a_malformed_item_does_not_shift_the_window() -> None:
    fake = FakeSam()
    fake.records[6] = {"contractId": "broken"}
    page = await client_for(fake).search_contracts(
        ContractQuery(), limit=10, offset=5, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert piids(page) == [f"P{n:05d}" for n in range(5, 15) if n != 6]


async def test_limit_zero_asks_only_for_the_total() -> None:
    fake = FakeSam()
    page = await client_for(fake).search_contracts(
        ContractQuery(), limit=0, offset=30, selection=EVERY_FIELD, deadline=Deadline.after(5)
    )
    assert page == Page((), 250, 30)
    assert fake.calls == [{"includeSections": "contractId", "limit": "1", "offset": "0"}]


@pytest.mark.parametrize(("limit", "offset"), [(101, 0), (-1, 0), (10, -1), (50, 399_960)])
async def test_search_refuses_paging_sam_cannot_serve(limit: int, offset: int) -> None:
    fake = FakeSam()
    with pytest.raises(BadUserInput):
        await client_for(fake).search_contracts(
            ContractQuery(), limit=limit, offset=offset, selection=frozenset(), deadline=Deadline.after(5)
        )
    assert fake.calls == []


async def test_forbidden_characters_never_reach_sam() -> None:
    fake = FakeSam()
    with pytest.raises(BadUserInput):
        await client_for(fake).search_contracts(
            ContractQuery(supplier_name="AT&T"), limit=10, offset=0, selection=frozenset(), deadline=Deadline.after(5)
        )
    assert fake.calls == []


@pytest.mark.parametrize(
    "nothing",
    [JSON_NULL_BODY, UpstreamRejected("sam", "refused", status=404)],
)
async def test_nothing_found_is_an_empty_page(nothing: object) -> None:
    fake = FakeSam(answer=lambda params: nothing)
    page = await client_for(fake).search_contracts(
        ContractQuery(piid="NOPE"), limit=10, offset=0, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert page == Page((), 0, 0)


async def test_other_rejections_propagate() -> None:
    fake = FakeSam(answer=lambda params: UpstreamRejected("sam", "refused", status=400))
    with pytest.raises(UpstreamRejected):
        await client_for(fake).search_contracts(
            ContractQuery(), limit=10, offset=0, selection=frozenset(), deadline=Deadline.after(5)
        )


def lookup_answer(*items: dict[str, object]) -> Callable[[dict[str, str]], object]:
    return lambda params: {"awardSummary": list(items), "totalRecords": str(len(items))}


def transaction(piid: str, modification: str, referenced: str | None = None) -> dict[str, object]:
    contract_id: dict[str, object] = {"piid": piid, "modificationNumber": modification, "transactionNumber": "0"}
    if referenced is not None:
        contract_id["referencedIDVPiid"] = referenced
    return {"contractId": contract_id}


async def test_contract_lookup_prefers_the_base_award() -> None:
    fake = FakeSam(answer=lookup_answer(transaction("P1", "P00002"), transaction("P1", "0"), transaction("P10", "0")))
    found = await client_for(fake).contract("P1|||", hint=None, selection=EVERY_FIELD, deadline=Deadline.after(5))
    assert found is not None
    assert found.key == "P1|0|0|"
    assert fake.calls == [
        {"piid": "P1", "limit": "10", "offset": "0"}  # every section: no includeSections
    ]


async def test_contract_by_key_matches_every_part() -> None:
    fake = FakeSam(answer=lookup_answer(transaction("0001", "0", "IDV-A"), transaction("0001", "0", "IDV-B")))
    found = await client_for(fake).contract(
        "0001|0|0|IDV-B", hint=None, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert found is not None
    assert found.referenced_idv_piid == "IDV-B"
    assert fake.calls[0]["referencedIdvPiid"] == "IDV-B"
    assert fake.calls[0]["modificationNumber"] == "0"
    missing = await client_for(fake).contract(
        "0001|0|9|IDV-B", hint=None, selection=frozenset(), deadline=Deadline.after(5)
    )
    assert missing is None


async def test_contract_by_a_foreign_key_is_bad_input() -> None:
    with pytest.raises(BadUserInput):
        await client_for(FakeSam()).contract("CANADA-123", hint=None, selection=frozenset(), deadline=Deadline.after(5))


FAMILY = {
    "awardSummary": [],
    "totalRecords": "3",
    "piidAggregation": {"awardFamilySummary": {"count": "3", "totalDollars": "150000"}},
}


async def test_award_family_is_one_small_call_with_its_own_ttl() -> None:
    fake, cache = FakeSam(answer=lambda params: FAMILY), RecordingCache()
    family = await client_for(fake, cache).award_family("NN1234567", deadline=Deadline.after(5))
    assert family == AwardFamily("NN1234567", 3, usd("150000"))
    assert fake.calls == [
        {"piid": "NN1234567", "includeSections": "contractId", "limit": "1", "offset": "0", "piidAggregation": "yes"}
    ]
    assert cache.ttls == [21_600]


def non_unique_piid(*referenced: str) -> Callable[[dict[str, str]], object]:
    def answer(params: dict[str, str]) -> object:
        if params.get("piidAggregation") == "yes":
            if "referencedIdvPiid" not in params:
                return UpstreamRejected("sam", "sam refused the request (HTTP 400)", status=400)
            return FAMILY
        return {"awardSummary": [transaction("0001", "0", r) for r in referenced], "totalRecords": "9"}

    return answer


async def test_award_family_of_a_non_unique_piid_with_one_referenced_idv_is_asked_again() -> None:
    fake = FakeSam(answer=non_unique_piid("SPE4A214D0004", "SPE4A214D0004"))
    family = await client_for(fake).award_family("0001", deadline=Deadline.after(5))
    assert family == AwardFamily("0001", 3, usd("150000"))
    assert [c.get("piidAggregation") for c in fake.calls] == ["yes", None, "yes"]
    assert fake.calls[1]["limit"] == "100"
    assert fake.calls[2]["referencedIdvPiid"] == "SPE4A214D0004"


async def test_award_family_of_an_ambiguous_piid_names_the_candidates() -> None:
    fake = FakeSam(answer=non_unique_piid("IDV-B", "IDV-A"))
    with pytest.raises(BadUserInput, match="IDV-A, IDV-B"):
        await client_for(fake).award_family("0001", deadline=Deadline.after(5))


async def test_award_family_rejection_stands_when_no_idv_is_referenced() -> None:
    fake = FakeSam(answer=non_unique_piid())
    with pytest.raises(UpstreamRejected):
        await client_for(fake).award_family("0001", deadline=Deadline.after(5))
    assert len(fake.calls) == 2


async def test_award_family_with_a_known_referenced_idv_is_one_call() -> None:
    fake = FakeSam(answer=non_unique_piid("X"))
    family = await client_for(fake).award_family("0001", referenced_idv_piid="IDV-A", deadline=Deadline.after(5))
    assert family is not None
    assert len(fake.calls) == 1


async def test_award_family_of_an_unknown_piid_is_none() -> None:
    fake = FakeSam(answer=lambda params: JSON_NULL_BODY)
    assert await client_for(fake).award_family("NOPE", deadline=Deadline.after(5)) is None


async def test_award_family_needs_a_piid() -> None:
    with pytest.raises(BadUserInput):
        await client_for(FakeSam()).award_family("  ", deadline=Deadline.after(5))


# -- reading only the selected fields --------------------------------------------------------------------------------

ADDRESS_FIELDS = frozenset({"source", "key", "piid", "title", "modification_number", "referenced_idv_piid"})
CONTRACT_SELECTIONS = [
    frozenset(),
    frozenset({"award_date"}),
    frozenset({"supplier", "value", "total_value"}),
    frozenset({"buyer", "naics", "set_aside", "place_of_performance", "expiry_date", "fiscal_year"}),
    frozenset(sam.SECTIONS_BY_FIELD),
]


@pytest.mark.parametrize("selected", CONTRACT_SELECTIONS, ids=lambda names: ",".join(sorted(names)) or "none")
@pytest.mark.parametrize("name", SEARCH_EXAMPLES)
def test_a_selection_reads_its_fields_as_the_whole_read_does_and_leaves_the_rest_default(
    sample: Callable[[str], object], name: str, selected: frozenset[str]
) -> None:
    payload = sample(name)
    whole = sam.parse_page(payload).items
    partial = sam.selected_search_parser(selected)(payload).page().items
    assert len(partial) == len(whole) > 0
    empty = Contract(source=ContractSource.SAM, key="", piid="", title=LocalizedText(None))
    read = selected | ADDRESS_FIELDS | {"award_date"}
    for full, narrow in zip(whole, partial, strict=True):
        for field in fields(Contract):
            expected = getattr(full, field.name) if field.name in read else getattr(empty, field.name)
            assert getattr(narrow, field.name) == expected, field.name
    assert sam.selected_search_parser(selected) is sam.selected_search_parser(frozenset(selected))
