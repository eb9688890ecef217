"""Canada procurement adapter: every recorded JSON example, our own quirk payloads, parameters, local paging."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, MemoryCache, ResponseCache, StoreIf, cache_key
from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.models import (
    Agency,
    Contract,
    ContractQuery,
    ContractSource,
    DateRange,
    Language,
    LocalizedText,
    Money,
    Page,
    Supplier,
    Tender,
    TenderQuery,
    ValueRange,
)
from gateway.upstreams.canada import adapter as canada
from gateway.upstreams.canada.spec import SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import JsonGetter, UpstreamFetch
from gateway.upstreams.spec import RecordKind

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
EXAMPLES = {
    "FORMAT.contract.json": "contract",
    "FORMAT.tender.json": "tender",
    "README.contracts.json": "contract",
    "README.tenders.json": "tender",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def examples_dir(samples_dir: Path) -> Path:
    return samples_dir / "canada-procurement" / "procurement-data-api" / "examples"


def example_rows(examples_dir: Path, name: str) -> list[Any]:
    """The example as the API answers it: FORMAT.md shows one element of the array, README.md the whole array."""
    data = load_json(examples_dir / name)
    return data if isinstance(data, list) else [data]


def example_tenders(examples_dir: Path, name: str) -> tuple[Tender, ...]:
    return canada.parse_tender_page(example_rows(examples_dir, name)).items


def example_contracts(examples_dir: Path, name: str) -> tuple[Contract, ...]:
    return canada.parse_contract_page(example_rows(examples_dir, name)).items


# --- every recorded example -------------------------------------------------------------------------------------------


def test_the_known_json_examples_are_all_there(examples_dir: Path) -> None:
    assert {path.name for path in examples_dir.glob("*.json")} == set(EXAMPLES)


@pytest.mark.parametrize(("name", "kind"), sorted(EXAMPLES.items()))
def test_every_json_example_parses_completely(examples_dir: Path, name: str, kind: str) -> None:
    rows = example_rows(examples_dir, name)
    parse = canada.parse_tender_page if kind == "tender" else canada.parse_contract_page
    page: Page[Any] = parse(rows)
    assert len(page.items) == len(rows) == page.total
    for row, item in zip(rows, page.items, strict=True):
        assert item.gsins == tuple(row["gsins"])
        assert item.title == LocalizedText(row["title_en"], row["title_fr"])
        assert item.url.en == row["url_en"]
        if kind == "tender":
            assert item.reference == row["tender"]
            assert item.delivery_regions == tuple(row["regions_delivery"])
            assert item.opportunity_regions == tuple(row["regions_opportunity"])
        else:
            assert item.key == item.piid == row["contract"]
            assert item.value == Money(Decimal(row["value"]), "CAD")
            assert item.source is ContractSource.CANADA


def test_format_contract_example(examples_dir: Path) -> None:
    (contract,) = example_contracts(examples_dir, "FORMAT.contract.json")
    assert contract == Contract(
        source=ContractSource.CANADA,
        key="21K01-022267/001/PQ",
        piid="21K01-022267/001/PQ",
        title=LocalizedText("Office Furniture", "Meubles de bureau"),
        buyer=Agency(LocalizedText("Correctional Service of Canada", "Service correctionnel du Canada")),
        supplier=Supplier("KRUEGER INTERNATIONAL INC ACTING THROUGH OEI", city="GREEN BAY", region="Wisconsin"),
        value=Money(Decimal("25000000.00"), "CAD"),
        award_date=date(2013, 4, 29),
        expiry_date=date(2015, 10, 30),
        gsins=("N7110",),
        url=LocalizedText("https://buyandsell.gc.ca/procurement-data/contract-history/21K01-022267-001-PQ", None),
    )


def test_format_tender_example(examples_dir: Path) -> None:
    (tender,) = example_tenders(examples_dir, "FORMAT.tender.json")
    assert tender.reference == "PW-$$FE-176-68065"
    assert tender.solicitation_number == "EH900-160791/A"
    assert tender.closing_date == date(2015, 11, 16)
    assert tender.buyer == LocalizedText(
        "Public Works and Government Services Canada", "Travaux publics et Services gouvernementaux Canada"
    )
    assert tender.title.fr is not None
    assert tender.title.fr.startswith("Expert-Conseil en Environnement pour le projet d'intégrité")
    assert tender.url == LocalizedText(
        "https://buyandsell.gc.ca/procurement-data/tender-notice/PW-FE-176-68065",
        "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/appels-d-offres/PW-FE-176-68065",
    )
    assert tender.gsins == ("C219DA",)
    assert tender.delivery_regions == ("ON",)
    assert tender.opportunity_regions == ()


def test_readme_tenders_lack_buyer_and_closing_date(examples_dir: Path) -> None:
    tenders = example_tenders(examples_dir, "README.tenders.json")
    first = tenders[0]
    assert first.reference == "PW-$$ZL-102-25299"
    assert first.buyer == LocalizedText(None, None)
    assert first.solicitation_number is None
    assert first.closing_date is None
    assert first.gsins == ("V201A", "V201B")
    assert first.delivery_regions == ("NCR", "ON", "QC")
    assert tenders[2].opportunity_regions == ("CAN",)


def test_readme_contracts_values_in_cad(examples_dir: Path) -> None:
    contracts = example_contracts(examples_dir, "README.contracts.json")
    assert contracts[0].value == Money(Decimal("0.00"), "CAD")
    assert contracts[1].value == Money(Decimal("146370.00"), "CAD")
    assert contracts[1].supplier == Supplier("CROSS COUNTRY PARTS DISTRIBUTORS LTD", city="Calgary", region="Alberta")
    assert contracts[0].url == LocalizedText(
        "https://buyandsell.gc.ca/procurement-data/contract-history/W8486-122288-001-PR",
        "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/contrats-octroyes/W8486-122288-001-PR",
    )
    assert contracts[0].buyer == Agency(
        LocalizedText("Department of National Defence", "Ministère de la défense nationale")
    )


def test_a_single_object_is_not_the_api_envelope(examples_dir: Path) -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        canada.parse_contract_page(load_json(examples_dir / "FORMAT.contract.json"))
    assert raised.value.upstream == "canada"


# --- our own payloads ---------------------------------------------------------------------------------------------


def test_tender_quirks() -> None:
    page = canada.parse_tender_page(load_json(PAYLOADS / "canada_tenders_quirks.json"))
    assert page.total == 3
    csv_lists, french_only, bare = page.items
    assert csv_lists.gsins == ("S208A", "S208B")
    assert csv_lists.delivery_regions == ("ON", "QC")
    assert csv_lists.closing_date is None
    assert csv_lists.url == LocalizedText(
        "https://buyandsell.gc.ca/procurement-data/tender-notice/PW-XY-001-00001", None
    )
    assert french_only.title == LocalizedText(None, "Services de traduction")
    assert french_only.title.in_language(Language.EN) == "Services de traduction"
    assert french_only.buyer == LocalizedText(None, "Bureau de la traduction")
    assert french_only.solicitation_number is None
    assert french_only.gsins == ("R019BF",)
    assert french_only.closing_date is None
    assert bare == Tender(
        reference="PW-$$XY-003-00003",
        solicitation_number=None,
        title=LocalizedText(None, None),
        buyer=LocalizedText(None, None),
        url=LocalizedText(None, None),
        closing_date=date(2016, 2, 1),
    )


def test_contract_quirks() -> None:
    page = canada.parse_contract_page(load_json(PAYLOADS / "canada_contracts_quirks.json"))
    assert page.total == 3
    dollars, blank_value, numeric = page.items
    assert dollars.value == Money(Decimal("1250.50"), "CAD")
    assert dollars.gsins == ("N7110",)
    assert dollars.supplier == Supplier("ACME LTD")
    assert dollars.buyer is None
    assert dollars.url is None
    assert blank_value.value is None
    assert blank_value.award_date is None
    assert blank_value.title == LocalizedText("Cleaning Services", None)
    assert blank_value.buyer == Agency(LocalizedText(None, "Défense nationale"))
    assert blank_value.url is not None
    assert blank_value.url.en is None
    assert blank_value.supplier is None
    assert numeric.value == Money(Decimal("1999.99"), "CAD")
    assert numeric.supplier == Supplier(None, city="Halifax", region="Nova Scotia")


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"results": []}, "[]", 7, JSON_NULL_BODY],
    ids=["null", "object", "ita-like", "string", "number", "no-body"],
)
def test_wrong_envelopes_are_bad_responses_except_no_content(payload: object) -> None:
    if payload is JSON_NULL_BODY:
        assert canada.parse_tender_page(payload) == Page(items=(), total=0)
        assert canada.parse_contract_page(payload) == Page(items=(), total=0)
        return
    for parse in (canada.parse_tender_page, canada.parse_contract_page):
        with pytest.raises(UpstreamBadResponse) as raised:
            parse(payload)
        assert raised.value.code == "UPSTREAM_BAD_RESPONSE"


def test_an_empty_array_is_an_empty_page() -> None:
    assert canada.parse_tender_page([]) == Page(items=(), total=0)


# --- build_params ---------------------------------------------------------------------------------------------------


def test_tender_params_are_comma_joined_upper_cased_and_ignore_paging() -> None:
    query = TenderQuery(
        keywords=("aircraft", " "),
        gsins=("n76", "V2"),
        delivery_regions=("on", "qc", "ncr", "can"),
        opportunity_regions=("INT",),
        closing=DateRange(date(2015, 1, 1)),
    )
    expected = {"keywords": "AIRCRAFT", "gsins": "N76,V2", "delivery": "ON,QC,NCR,CAN", "opportunity": "INT"}
    assert canada.build_params(query, limit=10, offset=0) == expected
    assert canada.build_params(query, limit=50, offset=40) == expected
    assert canada.build_params(TenderQuery(), limit=10, offset=0) == {}


def test_contract_params_send_only_what_the_upstream_filters() -> None:
    query = ContractQuery(
        keywords=" baking ",
        gsins=("N7310",),
        supplier_name="acme",
        awarded=DateRange(date(2015, 1, 1)),
        value=ValueRange(Decimal(1)),
    )
    assert canada.build_params(query, limit=10, offset=0) == {"keywords": "BAKING", "gsins": "N7310"}
    assert canada.build_params(ContractQuery(keywords="  "), limit=10, offset=0) == {}


# --- local filters ----------------------------------------------------------------------------------------------------


def test_select_tenders_by_closing_range(examples_dir: Path) -> None:
    tenders = example_tenders(examples_dir, "FORMAT.tender.json") + example_tenders(examples_dir, "README.tenders.json")
    assert canada.select_tenders(tenders, TenderQuery()) == tenders
    in_range = canada.select_tenders(tenders, TenderQuery(closing=DateRange(date(2015, 11, 16), date(2015, 11, 16))))
    assert [tender.reference for tender in in_range] == ["PW-$$FE-176-68065"]
    assert canada.select_tenders(tenders, TenderQuery(closing=DateRange(end=date(2015, 11, 15)))) == ()


def test_select_contracts_locally(examples_dir: Path) -> None:
    contracts = example_contracts(examples_dir, "README.contracts.json")

    def numbers(query: ContractQuery) -> list[str]:
        return [contract.key for contract in canada.select_contracts(contracts, query)]

    assert numbers(ContractQuery()) == [contract.key for contract in contracts]
    assert numbers(ContractQuery(value=ValueRange(Decimal(100_000), Decimal(146_370)))) == [
        "W8486-151508/001/PR",
        "W8482-156567/001/PR",
    ]
    assert numbers(ContractQuery(awarded=DateRange(date(2015, 3, 3), date(2015, 3, 4)))) == [
        "W8486-122288/001/PR",
        "W8486-151118/004/PR",
    ]
    assert numbers(ContractQuery(supplier_name="protocan")) == ["W8486-151118/004/PR"]
    assert len(numbers(ContractQuery(agency_name="défense nationale"))) == len(contracts)
    assert numbers(ContractQuery(agency_name="Correctional")) == []
    assert numbers(ContractQuery(piid="w8486-151508/001/pr")) == ["W8486-151508/001/PR"]


def test_the_spec_names_the_contract_criteria_canada_cannot_answer() -> None:
    """The resolvers skip Canada for these (the client answers what it is asked)."""
    assert SPEC.unanswerable(RecordKind.CONTRACT, ContractQuery(keywords="x", gsins=("N",), supplier_name="y")) == ()
    assert SPEC.unanswerable(RecordKind.CONTRACT, ContractQuery(naics=("541512",), fiscal_year=2024)) == (
        "naics",
        "fiscal_year",
    )


# --- the client, over a transport that answers from canned payloads --------------------------------------------------


class CannedUpstream:
    """A transport that answers each path from canned payloads, never the network."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        return self.answers[path]


class RecordingCache:
    """A ResponseCache that asks the upstream every time and remembers the keys and TTLs it was given."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.ttls: list[int] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        self.keys.append(key)
        self.ttls.append(ttl_s)
        return Cached(await fetch(), CacheStatus.MISS)


def fetch_path(http: JsonGetter, cache: ResponseCache, *, tenders_ttl_s: int, contracts_ttl_s: int) -> UpstreamFetch:
    ttl_s = {RecordKind.TENDER: tenders_ttl_s, RecordKind.CONTRACT: contracts_ttl_s}
    return UpstreamFetch(SPEC, http, cache, ttl_s=ttl_s, stale_for_s=86_400)


@pytest.fixture
def answers(examples_dir: Path) -> dict[str, object]:
    return {
        canada.TENDERS_PATH: example_rows(examples_dir, "README.tenders.json"),
        canada.CONTRACTS_PATH: example_rows(examples_dir, "README.contracts.json"),
    }


def client_over(answers: dict[str, object]) -> tuple[canada.CanadaClient, RecordingCache]:
    cache = RecordingCache()
    fetch = fetch_path(CannedUpstream(answers), cache, tenders_ttl_s=900, contracts_ttl_s=3600)
    return canada.CanadaClient(SPEC, fetch), cache


async def test_tender_pages_are_sliced_from_one_cached_answer(answers: dict[str, object]) -> None:
    client, cache = client_over(answers)
    query = TenderQuery(gsins=("N76", "V2"))
    deadline = Deadline.after(5)
    first = await client.search_tenders(query, limit=2, offset=0, deadline=deadline)
    rest = await client.search_tenders(query, limit=10, offset=2, deadline=deadline)
    beyond = await client.search_tenders(query, limit=10, offset=99, deadline=deadline)
    assert [tender.reference for tender in first.items] == ["PW-$$ZL-102-25299", "PW-$KIN-650-6679"]
    assert (first.total, first.offset) == (5, 0)
    assert (len(rest.items), rest.total, rest.offset) == (3, 5, 2)
    assert beyond == Page(items=(), total=5, offset=99)
    assert set(cache.keys) == {cache_key("canada", canada.TENDERS_PATH, {"gsins": "N76,V2"})}
    assert cache.ttls == [900, 900, 900]


async def test_contracts_are_filtered_locally_before_slicing(answers: dict[str, object]) -> None:
    client, cache = client_over(answers)
    query = ContractQuery(keywords="baking", value=ValueRange(minimum=Decimal(1000)))
    page = await client.search_contracts(query, limit=1, offset=1, selection=frozenset(), deadline=Deadline.after(5))
    assert page.total == 4
    assert [contract.key for contract in page.items] == ["W8486-151118/004/PR"]
    assert cache.keys == [cache_key("canada", canada.CONTRACTS_PATH, {"keywords": "BAKING"})]
    assert cache.ttls == [3600]


async def test_tender_lookup_is_narrowed_by_its_gsin(answers: dict[str, object]) -> None:
    client, cache = client_over(answers)
    tender = await client.tender("PW-13-00538668", hint="N7610AA", deadline=Deadline.after(5))
    assert tender is not None
    assert tender.gsins == ("N7610AA", "N7610D")
    assert await client.tender("PW-NOT-THERE", hint=None, deadline=Deadline.after(5)) is None
    assert await client.tender("  ", hint=None, deadline=Deadline.after(5)) is None
    assert cache.keys == [
        cache_key("canada", canada.TENDERS_PATH, {"gsins": "N7610AA"}),
        cache_key("canada", canada.TENDERS_PATH, {}),
    ]


async def test_contract_lookup(answers: dict[str, object]) -> None:
    client, cache = client_over(answers)
    contract = await client.contract(
        "W8486-151508/001/PR", hint="N7310", selection=frozenset(), deadline=Deadline.after(5)
    )
    assert contract is not None
    assert contract.value == Money(Decimal("146370.00"), "CAD")
    assert (
        await client.contract("W0000-000000/001/ZZ", hint=None, selection=frozenset(), deadline=Deadline.after(5))
        is None
    )
    assert cache.keys == [
        cache_key("canada", canada.CONTRACTS_PATH, {"gsins": "N7310"}),
        cache_key("canada", canada.CONTRACTS_PATH, {}),
    ]


# --- parsed answers: a hit on the same cache entry reuses its parse ---------------------------------------------------


class ScriptedUpstream:
    """A transport whose calls answer `answers` in turn, and the clock of the real MemoryCache in front of it."""

    def __init__(self, *answers: object) -> None:
        self.now = 1_700_000_000.0
        self.answers = list(answers)
        self.fetches = 0

    def clock(self) -> float:
        return self.now

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        answer = self.answers[self.fetches]
        self.fetches += 1
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.mark.parametrize("kind", ["tenders", "contracts"])
async def test_hits_on_one_cache_entry_share_one_parse_until_the_entry_changes(
    answers: dict[str, object], kind: str
) -> None:
    rows = answers[canada.TENDERS_PATH if kind == "tenders" else canada.CONTRACTS_PATH]
    assert isinstance(rows, list)
    renamed = [{**row, "title_en": f"renamed {index}"} for index, row in enumerate(rows)]
    upstream = ScriptedUpstream(rows, renamed, UpstreamUnavailable("canada", "down"))
    ttl_s = 900
    cache = MemoryCache(max_entries=10, max_bytes=10_000_000, clock=upstream.clock)
    client = canada.CanadaClient(SPEC, fetch_path(upstream, cache, tenders_ttl_s=ttl_s, contracts_ttl_s=ttl_s))

    async def read() -> tuple[Tender | Contract, ...]:
        if kind == "tenders":
            return (await client.search_tenders(TenderQuery(), limit=100, offset=0, deadline=Deadline.after(5))).items
        contracts = await client.search_contracts(
            ContractQuery(), limit=100, offset=0, selection=frozenset(), deadline=Deadline.after(5)
        )
        return contracts.items

    def same_objects(left: Sequence[object], right: Sequence[object]) -> bool:
        return len(left) == len(right) and all(a is b for a, b in zip(left, right, strict=True))

    missed = await read()
    hit = await read()
    upstream.now += 1
    assert same_objects(await read(), hit)  # the second hit reuses the first hit's parse
    assert missed == hit
    assert not same_objects(missed, hit)  # a miss is parsed and not kept

    upstream.now += ttl_s  # the entry is refreshed: its new rows are parsed, once
    refreshed = await read()
    refreshed_hit = await read()
    assert [item.title.en for item in refreshed] == [f"renamed {index}" for index in range(len(rows))]
    assert refreshed_hit == refreshed
    assert not same_objects(refreshed_hit, hit)
    assert same_objects(await read(), refreshed_hit)

    upstream.now += ttl_s  # the upstream fails: the refreshed entry is served stale, with its own parse
    stale = await read()
    assert same_objects(stale, refreshed_hit)
    assert upstream.fetches == 3
