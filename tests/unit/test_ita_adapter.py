"""ITA Trade Leads adapter: every recorded sample, our own quirk payloads, parameters, and the client's composition."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, StoreIf, cache_key
from gateway.errors import UpstreamBadResponse, UpstreamRejected
from gateway.models import Country, DateRange, Lead, LeadQuery, Money, Page, SourceMetadata
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.ita import adapter as ita
from gateway.upstreams.ita.spec import SPEC
from gateway.upstreams.spec import RecordKind

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
SOURCE_FOLDERS = {
    "australia": "AUSTRALIA",
    "canada": "CANADA",
    "fbopen": "FBO",
    "mca": "MCA",
    "state": "STATE",
    "uk": "UK",
    "ustda": "USTDA",
}
# What the v2 controller permits besides api_key/callback/format (UPSTREAMS.md §1.3).
PERMITTED_PARAMS = {
    "offset",
    "size",
    "countries",
    "industries",
    "q",
    "sources",
    "publish_date",
    "end_date",
    "publish_date_amended",
    "trade_regions",
    "world_regions",
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def v2_envelope(results: list[Any], *, aggregations: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wrap a bare results list the way the v2-native controller renders a search."""
    envelope: dict[str, Any] = {
        "total": len(results),
        "offset": 0,
        "sources_used": [],
        "search_performed_at": "2016-07-20T17:01:02+00:00",
    }
    if aggregations is not None:
        envelope["aggregations"] = aggregations
    envelope["results"] = results
    return envelope


@pytest.fixture
def support_dir(samples_dir: Path) -> Path:
    return samples_dir / "trade-leads" / "webservices" / "spec" / "support" / "trade_leads"


def sample_leads(support_dir: Path, folder: str) -> list[Lead]:
    rows = load_json(support_dir / folder / "results.json")
    if folder == "canada":  # the fixture strips the auto-generated ES id that the real server always renders
        rows = [{"id": f"canada-{index}", **row} for index, row in enumerate(rows)]
    page = ita.parse_page(v2_envelope(rows))
    assert len(page.items) == len(rows)
    return list(page.items)


# --- every recorded sample --------------------------------------------------------------------------------------


def test_the_known_result_samples_are_all_there(support_dir: Path) -> None:
    on_disk = {path.parent.name for path in support_dir.glob("*/results.json")}
    assert on_disk == set(SOURCE_FOLDERS)


@pytest.mark.parametrize(("folder", "source"), sorted(SOURCE_FOLDERS.items()))
def test_every_recorded_result_parses(support_dir: Path, folder: str, source: str) -> None:
    rows = load_json(support_dir / folder / "results.json")
    leads = sample_leads(support_dir, folder)
    for row, lead in zip(rows, leads, strict=True):
        assert lead.source == source
        assert lead.title == (row.get("title") or None)
        assert isinstance(lead.publish_date, date)
        assert lead.country is not None
        assert lead.country.code == row["country"]
        assert lead.world_regions == tuple(row["world_regions"])
        assert all(isinstance(industry, str) and industry for industry in lead.industries)
        if "industry" in row:
            expected = row["industry"] if isinstance(row["industry"], list) else [row["industry"]]
            assert lead.industries == tuple(expected)


def test_uk_values_are_pounds(support_dir: Path) -> None:
    first, _, ranged, *_ = sample_leads(support_dir, "uk")
    assert first.id == "562894a0-2f91-47d0-9f3b-fe9971cc0bd2"
    assert first.min_value == Money(Decimal("35000.0"), "GBP")
    assert first.max_value is None
    assert first.url is None
    assert first.reference_number == "V4810/0008/6/0001"
    assert first.publish_date == date(2015, 7, 27)
    assert first.industries == ("Research and Development",)
    assert ranged.min_value == Money(Decimal("70000.0000"), "GBP")
    assert ranged.max_value == Money(Decimal("80000"), "GBP")


def test_australia_industry_string_becomes_a_one_tuple_and_value_is_aud(support_dir: Path) -> None:
    first, _, boots = sample_leads(support_dir, "australia")
    assert first.industries == ("Fire fighting equipment",)
    assert first.contract_value == Money(Decimal("11731.17"), "AUD")
    assert first.agency == "Defence Materiel Organisation"
    assert first.start_date == date(2011, 12, 18)
    assert first.end_date == date(2013, 1, 28)
    assert first.publish_date_amended is None
    assert first.min_value is None
    assert boots.publish_date_amended == date(2013, 1, 4)
    assert boots.contract_value == Money(Decimal("25022000.00"), "AUD")


def test_state_project_size_is_usd_and_tags_split_on_semicolons(support_dir: Path) -> None:
    first, second, *_ = sample_leads(support_dir, "state")
    assert first.project_size == Money(Decimal(13500000), "USD")
    assert first.tags == ("Health", "Construction")
    assert first.end_date is None
    assert second.tags == ("Primary Education, Secondary Education",)
    assert second.project_size == Money(Decimal(300000000), "USD")


def test_canada_leads_keep_their_url_lists(support_dir: Path) -> None:
    leads = sample_leads(support_dir, "canada")
    assert leads[0].urls == ("http://bit.ly/1L4aclr", "http://bit.ly/1Kyo80o")
    assert leads[0].industries == ("G009E: Medical/Dental Clinic Services",)
    assert leads[0].url is None
    assert leads[1].industries == ("N8305: Textile Fabrics", "N8415: Clothing, Special Purpose")
    assert leads[-1].urls == ()
    assert leads[0].country == Country("CA", "Canada")


def test_the_canada_fixture_as_recorded_has_no_ids_so_its_rows_are_skipped(support_dir: Path) -> None:
    rows = load_json(support_dir / "canada" / "results.json")
    page = ita.parse_page(v2_envelope(rows))
    assert page.items == ()
    assert page.total == len(rows)


def test_mca_categories_and_fbo_industry(support_dir: Path) -> None:
    mca = sample_leads(support_dir, "mca")[0]
    assert mca.categories[0] == "type/spn"
    assert "deadline/2015/Apr/30" in mca.categories
    assert mca.industries == ()
    fbo = sample_leads(support_dir, "fbopen")[0]
    assert fbo.industries == ("562991: Septic Tank and Related Services",)
    assert fbo.procurement_office == "Air Mobility Command"
    assert fbo.classification_code == "W"


def test_ustda_null_end_date(support_dir: Path) -> None:
    first, second = sample_leads(support_dir, "ustda")
    assert first.end_date == date(2016, 1, 7)
    assert second.end_date is None
    assert second.url == "http://1.usa.gov/1NV3exr"


def test_aggregation_samples_carry_no_results_and_are_no_envelope_alone(support_dir: Path) -> None:
    files = sorted(support_dir.glob("**/aggregations*.json"))
    assert len(files) >= 17
    for path in files:
        aggregations = load_json(path)
        assert "results" not in aggregations, path
        with pytest.raises(UpstreamBadResponse):
            ita.parse_page(aggregations)
        page = ita.parse_page(v2_envelope([], aggregations=aggregations))
        assert page == Page(items=(), total=0, offset=0)


def test_the_swagger_documented_bare_array_is_not_an_envelope(samples_dir: Path, support_dir: Path) -> None:
    assert (samples_dir / "trade-leads" / "developerportal" / "api" / "trade-leads.json").is_file()
    with pytest.raises(UpstreamBadResponse):
        ita.parse_page(load_json(support_dir / "uk" / "results.json"))


# --- our own payloads ---------------------------------------------------------------------------------------------


def test_endpointme_envelope() -> None:
    payload = load_json(PAYLOADS / "ita_endpointme_envelope.json")
    page = ita.parse_page(payload)
    assert page.total == 2
    assert page.offset == 10
    uk, australia = page.items
    assert uk.industries == ("Other Services",)
    assert uk.min_value == Money(Decimal("1000.50"), "GBP")
    assert uk.max_value == Money(Decimal("2000"), "GBP")
    assert uk.contact is None
    assert uk.description is None
    assert australia.industries == ("Footwear",)
    assert australia.contract_value == Money(Decimal("250000.00"), "AUD")
    assert ita.parse_sources_used(payload) == (
        SourceMetadata(
            "UK", datetime(2016, 12, 15, 14, 46, 25, tzinfo=UTC), datetime(2016, 12, 15, 14, 46, 25, tzinfo=UTC)
        ),
        SourceMetadata("AUSTRALIA", None, None),
    )


def test_native_envelope_with_import_rate_and_aggregations_first() -> None:
    payload = load_json(PAYLOADS / "ita_native_envelope.json")
    page = ita.parse_page(payload)
    assert page.total == 29
    (lead,) = page.items
    assert lead.tags == ("Water", "Sanitation and flood protection", "Health")
    assert lead.project_size == Money(Decimal(2500000), "USD")
    assert lead.ita_industries == ("Water",)
    assert lead.trade_regions == ()
    sources = ita.parse_sources_used(payload)
    assert [source.source for source in sources] == ["AUSTRALIA", "CANADA", "STATE"]
    assert sources[1] == SourceMetadata("CANADA", None, None)
    assert sources[2].last_imported == datetime(2016, 7, 20, 8, tzinfo=UTC)


def test_key_order_and_optional_keys_do_not_matter() -> None:
    payload = load_json(PAYLOADS / "ita_native_envelope.json")
    reordered = {key: payload[key] for key in reversed(list(payload))}
    minimal = {"results": payload["results"]}
    assert ita.parse_page(reordered) == ita.parse_page(payload)
    assert ita.parse_page(minimal) == Page(items=ita.parse_page(payload).items, total=None, offset=0)
    assert ita.parse_sources_used(minimal) == ()


def test_malformed_items_are_skipped_or_filled_with_none() -> None:
    payload = load_json(PAYLOADS / "ita_malformed_items.json")
    page = ita.parse_page(payload)
    assert page.total == 7
    bad_values, numeric_id = page.items
    assert bad_values == Lead(
        id="uk-bad-values",
        source="UK",
        title=None,
        urls=("http://example.org/single",),
        trade_regions=("Europe",),
        world_regions=("Europe",),
    )
    assert numeric_id.id == "12345"
    assert numeric_id.source == "STATE"
    assert numeric_id.project_size == Money(Decimal(1500000), "USD")
    assert numeric_id.tags == ("Energy",)
    assert numeric_id.industries == ("Energy",)
    assert numeric_id.publish_date == date(2016, 2, 29)
    assert numeric_id.country == Country("KE", None)
    assert ita.parse_sources_used(payload) == (SourceMetadata("UK", None, None),)


@pytest.mark.parametrize(
    "payload",
    [None, [], "results", 3, {}, {"total": 1}, {"results": {}}, {"results": None}, JSON_NULL_BODY],
    ids=["null", "array", "string", "number", "empty", "no-results", "results-object", "results-null", "no-body"],
)
def test_wrong_envelopes_are_bad_responses(payload: object) -> None:
    with pytest.raises(UpstreamBadResponse) as raised:
        ita.parse_page(payload)
    assert raised.value.upstream == "ita"
    assert raised.value.code == "UPSTREAM_BAD_RESPONSE"
    with pytest.raises(UpstreamBadResponse):
        ita.parse_sources_used(payload)


# --- build_params ---------------------------------------------------------------------------------------------------


def test_build_params_defaults() -> None:
    assert ita.build_params(LeadQuery(), limit=10, offset=0) == {"size": "10", "offset": "0"}


@pytest.mark.parametrize(
    ("limit", "offset", "size", "sent_offset"),
    [(100, 0, "100", "0"), (101, 5, "100", "5"), (0, 0, "0", "0"), (-3, -7, "0", "0")],
)
def test_build_params_clamps_size_and_offset(limit: int, offset: int, size: str, sent_offset: str) -> None:
    params = ita.build_params(LeadQuery(), limit=limit, offset=offset)
    assert params == {"size": size, "offset": sent_offset}


def test_build_params_joins_lists_and_drops_blanks() -> None:
    query = LeadQuery(
        keywords="  medical equipment ",
        sources=("uk", "Australia", " "),
        countries=("gb", "au"),
        industries=("G009E: Medical/Dental Clinic Services", ""),
        trade_regions=("European Union - 28",),
        world_regions=("Europe", "Pacific Rim"),
    )
    assert ita.build_params(query, limit=25, offset=50) == {
        "size": "25",
        "offset": "50",
        "q": "medical equipment",
        "sources": "UK,AUSTRALIA",
        "countries": "GB,AU",
        "industries": "G009E: Medical/Dental Clinic Services",
        "trade_regions": "European Union - 28",
        "world_regions": "Europe,Pacific Rim",
    }
    assert "q" not in ita.build_params(LeadQuery(keywords="   "), limit=1, offset=0)


def test_build_params_encodes_date_ranges_and_fills_open_bounds() -> None:
    query = LeadQuery(
        published=DateRange(date(2015, 1, 1), date(2015, 12, 31)),
        ends=DateRange(start=date(2016, 3, 1)),
        amended=DateRange(end=date(2014, 6, 30)),
    )
    params = ita.build_params(query, limit=10, offset=0)
    assert params["publish_date"] == "2015-01-01 TO 2015-12-31"
    assert params["end_date"] == "2016-03-01 TO 2999-12-31"
    assert params["publish_date_amended"] == "1900-01-01 TO 2014-06-30"
    assert "end_date" not in ita.build_params(LeadQuery(ends=DateRange()), limit=10, offset=0)


def test_build_params_sends_only_public_permitted_parameters() -> None:
    query = LeadQuery(
        keywords="x",
        sources=("UK",),
        countries=("GB",),
        industries=("a",),
        trade_regions=("b",),
        world_regions=("c",),
        published=DateRange(date(2015, 1, 1)),
        ends=DateRange(date(2015, 1, 1)),
        amended=DateRange(date(2015, 1, 1)),
    )
    params = ita.build_params(query, limit=10, offset=0)
    assert set(params) == PERMITTED_PARAMS
    assert "api_key" not in params


# --- the client, over a transport that answers from canned payloads -----------------------------------------------


class CannedUpstream:
    """A transport that answers each path from canned payloads (or raises them), never the network."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


class RecordingCache:
    """A ResponseCache that asks the upstream every time and remembers the keys and TTLs it was given."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.ttls: list[tuple[int, int]] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        self.keys.append(key)
        self.ttls.append((ttl_s, stale_for_s))
        return Cached(await fetch(), CacheStatus.MISS)


def client_over(answers: dict[str, object]) -> tuple[ita.TradeLeadsClient, RecordingCache]:
    cache = RecordingCache()
    fetch = UpstreamFetch(SPEC, CannedUpstream(answers), cache, ttl_s={RecordKind.LEAD: 900}, stale_for_s=86_400)
    return ita.TradeLeadsClient(SPEC, fetch), cache


async def test_search_reads_page_and_sources_from_one_cached_answer() -> None:
    payload = load_json(PAYLOADS / "ita_endpointme_envelope.json")
    client, cache = client_over({ita.SEARCH_PATH: payload})
    query = LeadQuery(sources=("UK",))
    deadline = Deadline.after(5)
    page = await client.search_leads(query, limit=2, offset=10, deadline=deadline)
    both = await client.search_with_sources(query, limit=2, offset=10, deadline=deadline)
    assert page == both.page == ita.parse_search(payload).page
    assert page.items == ita.parse_page(payload).items
    assert page.facets == ita.parse_aggregations(payload)
    assert both.sources == page.freshness == ita.parse_sources_used(payload)
    expected_key = cache_key("ita", ita.SEARCH_PATH, {"size": "2", "offset": "10", "sources": "UK"})
    assert cache.keys == [expected_key, expected_key]
    assert cache.ttls == [(900, 86_400), (900, 86_400)]


async def test_sources_asks_for_size_zero() -> None:
    payload = {**load_json(PAYLOADS / "ita_native_envelope.json"), "results": []}
    client, cache = client_over({ita.SEARCH_PATH: payload})
    sources = await client.lead_sources(deadline=Deadline.after(5))
    assert [source.source for source in sources] == ["AUSTRALIA", "CANADA", "STATE"]
    assert cache.keys == [cache_key("ita", ita.SEARCH_PATH, {"size": "0", "offset": "0"})]


async def test_a_no_content_answer_is_an_empty_page() -> None:
    client, _ = client_over({ita.SEARCH_PATH: JSON_NULL_BODY})
    page = await client.search_leads(LeadQuery(), limit=10, offset=20, deadline=Deadline.after(5))
    assert page == Page(items=(), total=0, offset=20)


async def test_lead_by_id(support_dir: Path) -> None:
    row = load_json(support_dir / "uk" / "results.json")[0]
    path = ita.LEAD_PATH + row["id"]
    client, cache = client_over({path: row})
    lead = await client.lead(row["id"], deadline=Deadline.after(5))
    assert lead is not None
    assert lead.id == row["id"]
    assert lead.min_value == Money(Decimal("35000.0"), "GBP")
    assert cache.keys == [cache_key("ita", path, {})]


async def test_lead_id_is_one_path_segment_and_a_missing_id_in_the_body_is_filled() -> None:
    path = ita.LEAD_PATH + "A%2FB%20C"
    client, _ = client_over({path: {"source": "UK", "title": "t"}})
    lead = await client.lead("A/B C", deadline=Deadline.after(5))
    assert lead == Lead(id="A/B C", source="UK", title="t")


async def test_lead_not_found_is_none() -> None:
    not_found = UpstreamRejected("ita", "ita refused the request (HTTP 404)", status=404)
    client, _ = client_over({ita.LEAD_PATH + "nope": not_found, ita.LEAD_PATH + "empty": JSON_NULL_BODY})
    assert await client.lead("nope", deadline=Deadline.after(5)) is None
    assert await client.lead("empty", deadline=Deadline.after(5)) is None
    assert await client.lead("   ", deadline=Deadline.after(5)) is None


async def test_lead_other_rejections_and_bad_bodies_propagate() -> None:
    unauthorized = UpstreamRejected("ita", "ita refused the request (HTTP 401)", status=401)
    client, _ = client_over({ita.LEAD_PATH + "x": unauthorized, ita.LEAD_PATH + "y": ["not", "a", "lead"]})
    with pytest.raises(UpstreamRejected):
        await client.lead("x", deadline=Deadline.after(5))
    with pytest.raises(UpstreamBadResponse):
        await client.lead("y", deadline=Deadline.after(5))


# --- reading only the selected fields ---------------------------------------------------------------------------

SELECTIONS = [
    frozenset(),
    frozenset({"publish_date"}),
    frozenset({"url", "urls", "country", "min_value", "max_value"}),
    frozenset({"industries", "tags", "project_size", "contract_value", "end_date"}),
    frozenset(ita.LEAD_READERS),
]


@pytest.mark.parametrize("fields", SELECTIONS, ids=lambda fields: ",".join(sorted(fields)) or "none")
@pytest.mark.parametrize("folder", sorted(SOURCE_FOLDERS))
def test_a_selection_reads_its_fields_as_the_whole_read_does_and_leaves_the_rest_default(
    support_dir: Path, folder: str, fields: frozenset[str]
) -> None:
    whole = sample_leads(support_dir, folder)
    rows = load_json(support_dir / folder / "results.json")
    if folder == "canada":
        rows = [{"id": f"canada-{index}", **row} for index, row in enumerate(rows)]
    selected = ita.selected_search_parser(fields)(v2_envelope(rows)).page
    assert selected.facets == ()
    assert len(selected.items) == len(whole)
    empty = Lead(id="", source="", title=None)
    read = fields | {"id", "source", "title"}
    for full, partial in zip(whole, selected.items, strict=True):
        for name in Lead.__dataclass_fields__:
            expected = getattr(full, name) if name in read else getattr(empty, name)
            assert getattr(partial, name) == expected, name
    assert ita.selected_search_parser(fields) is ita.selected_search_parser(frozenset(fields))  # one parser each


def test_every_lead_field_but_the_address_has_a_reader() -> None:
    assert set(ita.LEAD_READERS) == set(Lead.__dataclass_fields__) - {"id", "source"}


def test_the_whole_search_still_reads_the_aggregations_as_facets() -> None:
    payload = v2_envelope([], aggregations={"countries": [{"key": "CA", "doc_count": 3}]})
    assert ita.parse_search(payload).page.facets[0].counts[0].count == 3
    assert ita.selected_search_parser(frozenset({"title"}))(payload).page.facets == ()
