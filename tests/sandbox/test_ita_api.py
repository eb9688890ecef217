"""ITA Trade Leads v2 imitation against the upstream's own recorded fixtures and documented behaviour, over HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_harness import RunningSandbox

KEY = "ita-sandbox-key"
SEARCH = "v2/trade_leads/search"
SOURCE_ORDER = ["AUSTRALIA", "CANADA", "FBO", "STATE", "UK", "MCA", "USTDA"]
FIXTURE_FOLDERS = {
    "AUSTRALIA": "australia",
    "CANADA": "canada",
    "FBO": "fbopen",
    "STATE": "state",
    "UK": "uk",
    "MCA": "mca",
    "USTDA": "ustda",
}
FIXTURES = "trade-leads/webservices/spec/support/trade_leads"


async def get(sandbox: RunningSandbox, path: str, **params: str) -> tuple[int, Any]:
    query = {"api_key": KEY, **params}
    async with sandbox.session.get(sandbox.url(path), params=query) as response:
        return response.status, await response.json()


async def search(sandbox: RunningSandbox, **params: str) -> dict[str, Any]:
    status, body = await get(sandbox, SEARCH, **params)
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def recorded(samples_dir: Path, source: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(
        (samples_dir / FIXTURES / FIXTURE_FOLDERS[source] / "results.json").read_text(encoding="utf-8")
    )
    return records


def without_id(lead: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in lead.items() if name != "id"}


# --- envelope -----------------------------------------------------------------------------------------------------


async def test_envelope_keys_come_in_upstream_order(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox)
    assert list(body) == ["total", "offset", "sources_used", "search_performed_at", "aggregations", "results"]
    assert body["total"] == 29
    assert body["offset"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body["search_performed_at"])


async def test_sources_used_has_one_entry_per_source_in_model_order(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox)
    assert [entry["source"] for entry in body["sources_used"]] == SOURCE_ORDER
    for entry in body["sources_used"]:
        assert list(entry) == ["source", "source_last_updated", "last_imported", "import_rate"]
        assert all(isinstance(value, str) for value in entry.values())
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", entry["last_imported"])


async def test_sources_filter_is_case_insensitive_and_restricts_sources_used(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, sources="ustda,Australia,nowhere", size="100")
    assert [entry["source"] for entry in body["sources_used"]] == ["AUSTRALIA", "USTDA"]
    assert body["total"] == 5
    assert {lead["source"] for lead in body["results"]} == {"AUSTRALIA", "USTDA"}


async def test_sources_none_known_searches_everything(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, sources="nowhere")
    assert body["total"] == 29
    assert [entry["source"] for entry in body["sources_used"]] == SOURCE_ORDER


async def test_no_hits_omits_aggregations(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, q="zzzzunfindable")
    assert list(body) == ["total", "offset", "sources_used", "search_performed_at", "results"]
    assert body["total"] == 0
    assert body["results"] == []


# --- records ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCE_ORDER)
async def test_served_records_equal_the_recorded_results(
    sample_sandbox: RunningSandbox, samples_dir: Path, source: str
) -> None:
    body = await search(sample_sandbox, sources=source, size="100")
    expected = recorded(samples_dir, source)
    assert body["total"] == len(expected)
    served = sorted(body["results"], key=lambda lead: json.dumps(without_id(lead), sort_keys=True))
    expected.sort(key=lambda lead: json.dumps(without_id(lead), sort_keys=True))
    for lead, record in zip(served, expected, strict=True):
        assert list(lead) == ["id", *(name for name in record if name != "id")]
        assert without_id(lead) == without_id(record)
        assert lead["id"] == record.get("id", lead["id"])
        assert isinstance(lead["id"], str)
        assert lead["id"]


async def test_canada_records_get_stable_distinct_ids(sample_sandbox: RunningSandbox) -> None:
    first = await search(sample_sandbox, sources="canada")
    again = await search(sample_sandbox, sources="canada")
    ids = [lead["id"] for lead in first["results"]]
    assert len(set(ids)) == 5
    assert ids == [lead["id"] for lead in again["results"]]


def _types_by_field(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    types: dict[str, set[str]] = {}
    for record in records:
        for name, value in record.items():
            if value is not None:
                types.setdefault(name, set()).add(type(value).__name__)
    return types


@pytest.mark.parametrize("source", SOURCE_ORDER)
async def test_generated_records_have_the_recorded_fields_order_and_types(
    sandbox: RunningSandbox, samples_dir: Path, source: str
) -> None:
    expected = recorded(samples_dir, source)
    field_order = ["id", *(name for name in expected[0] if name != "id")]
    recorded_types = _types_by_field(expected)
    body = await search(sandbox, sources=source, size="100")
    assert body["total"] > 100
    assert len(body["results"]) == 100
    for lead in body["results"]:
        assert list(lead) == field_order
        assert lead["source"] == source
        assert isinstance(lead["id"], str)
        for name, value in lead.items():
            if value is not None and name in recorded_types:
                assert type(value).__name__ in recorded_types[name], (name, value)
        assert isinstance(lead["trade_regions"], list)
        assert lead["world_regions"]


async def test_generated_dataset_spreads_over_every_source(sandbox: RunningSandbox) -> None:
    body = await search(sandbox)
    assert body["total"] == 3000
    assert {bucket["key"] for bucket in body["aggregations"]["sources"]} == set(SOURCE_ORDER)
    assert sum(bucket["doc_count"] for bucket in body["aggregations"]["sources"]) == 3000


# --- aggregations -------------------------------------------------------------------------------------------------

RECORDED_AGGREGATIONS = [
    ({}, "all_sources/aggregations.json"),
    ({"q": "equipment"}, "all_sources/aggregations_with_query_equipment.json"),
    (
        {"industries": "Health Care and Social Assistance,G009E: Medical/Dental Clinic Services"},
        "all_sources/aggregations_with_query_health_care_medical.json",
    ),
    ({"sources": "australia"}, "australia/aggregations.json"),
    ({"sources": "AUSTRALIA", "q": "equipment"}, "australia/aggregations_with_query_equipment.json"),
    (
        {"sources": "AUSTRALIA", "publish_date_amended": "2013-01-04 TO 2013-01-04"},
        "australia/aggregations_with_published_date_amended_2013-01-04.json",
    ),
    ({"sources": "CANADA"}, "canada/aggregations.json"),
    ({"sources": "CANADA", "q": "Montée"}, "canada/aggregations_with_query_montee.json"),
    (
        {"sources": "CANADA", "publish_date": "2014-03-20 TO 2014-03-20"},
        "canada/aggregations_with_published_date_2014-03-20.json",
    ),
    ({"sources": "FBO"}, "fbopen/aggregations.json"),
    ({"sources": "MCA"}, "mca/aggregations.json"),
    ({"sources": "STATE"}, "state/aggregations.json"),
    ({"sources": "STATE", "countries": "qa"}, "state/aggregations_with_countries_qa.json"),
    ({"sources": "STATE", "end_date": "2014-03-06 TO 2014-03-06"}, "state/aggregations_with_end_date_2014-03-06.json"),
    ({"q": "sanitation"}, "state/aggregations_with_query_sanitation.json"),
    ({"sources": "UK"}, "uk/aggregations.json"),
]


@pytest.mark.parametrize(("params", "fixture"), RECORDED_AGGREGATIONS, ids=[f for _, f in RECORDED_AGGREGATIONS])
async def test_aggregations_equal_the_recorded_ones(
    sample_sandbox: RunningSandbox, samples_dir: Path, params: dict[str, str], fixture: str
) -> None:
    body = await search(sample_sandbox, **params)
    expected = json.loads((samples_dir / FIXTURES / fixture).read_text(encoding="utf-8"))
    assert list(body["aggregations"]) == ["countries", "sources", "trade_regions", "world_regions"]
    assert body["aggregations"] == expected


async def test_aggregation_buckets_sort_by_count_then_key(sandbox: RunningSandbox) -> None:
    body = await search(sandbox, q="equipment")
    for buckets in body["aggregations"].values():
        assert buckets
        assert all(list(bucket) == ["key", "doc_count"] for bucket in buckets)
        assert buckets == sorted(buckets, key=lambda bucket: (-bucket["doc_count"], bucket["key"]))
    assert sum(bucket["doc_count"] for bucket in body["aggregations"]["sources"]) == body["total"]


# --- paging and order ---------------------------------------------------------------------------------------------


async def test_size_defaults_to_ten_and_is_clamped_to_a_hundred(sandbox: RunningSandbox) -> None:
    assert len((await search(sandbox))["results"]) == 10
    assert len((await search(sandbox, size="37"))["results"]) == 37
    assert len((await search(sandbox, size="500"))["results"]) == 100


async def test_non_numeric_size_gives_no_results_but_a_total(sandbox: RunningSandbox) -> None:
    body = await search(sandbox, size="lots")
    assert body["results"] == []
    assert body["total"] == 3000


async def test_offset_pages_through_the_same_ordering(sandbox: RunningSandbox) -> None:
    whole = await search(sandbox, sources="uk", size="15")
    page = await search(sandbox, sources="uk", size="5", offset="10")
    assert page["offset"] == 10
    assert page["total"] == whole["total"]
    assert page["results"] == whole["results"][10:15]


async def test_offset_past_the_end_is_empty(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, offset="29")
    assert body["total"] == 29
    assert body["results"] == []


async def test_default_order_is_publish_date_desc_then_country(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, size="100")
    keys = [(lead["publish_date"], lead["country"]) for lead in body["results"]]
    assert keys == sorted(keys, key=lambda key: (-int(key[0].replace("-", "")), key[1]))
    assert [lead["country"] for lead in body["results"][:2]] == ["CR", "RW"]


async def test_generated_leads_are_fresh_and_mostly_open(sandbox: RunningSandbox) -> None:
    body = await search(sandbox, size="100")
    published = sorted({lead["publish_date"] for lead in body["results"]}, reverse=True)
    assert published == [lead["publish_date"] for lead in body["results"]][:1] + published[1:]
    open_now = await search(sandbox, end_date="2000-01-01 TO 2999-12-31")
    today = body["results"][0]["publish_date"]
    still_open = await search(sandbox, end_date=f"{today} TO 2999-12-31")
    assert still_open["total"] > 0.7 * open_now["total"]


# --- q ------------------------------------------------------------------------------------------------------------


async def test_q_folds_accents_and_case(sample_sandbox: RunningSandbox) -> None:
    plain = await search(sample_sandbox, q="montee")
    accented = await search(sample_sandbox, q="MONTÉE")
    assert plain["total"] == accented["total"] == 1
    assert plain["results"] == accented["results"]
    assert plain["results"][0]["source"] == "CANADA"


async def test_q_requires_every_term(sample_sandbox: RunningSandbox) -> None:
    assert (await search(sample_sandbox, q="equipment"))["total"] == 9
    both = await search(sample_sandbox, q="fire equipment")
    assert both["total"] == 2
    assert {lead["id"] for lead in both["results"]} == {"CN1121942", "CN1122002"}
    assert (await search(sample_sandbox, q="equipment zebra"))["total"] == 0


async def test_q_searches_industry_tags_and_organization(sample_sandbox: RunningSandbox) -> None:
    assert [lead["id"] for lead in (await search(sample_sandbox, q="septic"))["results"]] == ["FA4620-14-Q-A011"]
    assert (await search(sample_sandbox, q="Primary Education"))["results"][0]["id"] == "DATATABLE.538"
    assert (await search(sample_sandbox, q="Norfolk Constabulary"))["total"] == 1


async def test_a_country_named_in_q_filters_by_country(sample_sandbox: RunningSandbox) -> None:
    everything = await search(sample_sandbox, q="australia")
    assert everything["total"] == 3
    assert {lead["country"] for lead in everything["results"]} == {"AU"}
    narrowed = await search(sample_sandbox, q="Australia equipment")
    assert narrowed["total"] == 2
    assert (await search(sample_sandbox, q="kenya equipment"))["total"] == 0


async def test_a_world_region_named_in_q_filters_by_region(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, q="Africa", size="100")
    assert body["total"] == 5
    assert all("Africa" in lead["world_regions"] for lead in body["results"])


async def test_q_ranks_by_relevance_deterministically(sandbox: RunningSandbox) -> None:
    first = await search(sandbox, q="medical equipment", size="50")
    again = await search(sandbox, q="medical equipment", size="50")
    assert first["total"] > 50
    assert [lead["id"] for lead in first["results"]] == [lead["id"] for lead in again["results"]]
    for lead in first["results"]:
        text = json.dumps([lead.get(name) for name in ("title", "description", "industry", "ita_industries")])
        assert "medical" in text.lower()
        assert "equipment" in text.lower()


# --- filters ------------------------------------------------------------------------------------------------------


async def test_industries_match_whole_controlled_terms_any_of(sample_sandbox: RunningSandbox) -> None:
    one = await search(sample_sandbox, industries="G009E: Medical/Dental Clinic Services")
    assert one["total"] == 1
    assert one["results"][0]["industry"] == ["G009E: Medical/Dental Clinic Services"]
    assert (await search(sample_sandbox, industries="Medical"))["total"] == 0
    either = await search(sample_sandbox, industries="Fire fighting equipment,Footwear")
    assert either["total"] == 3


async def test_countries_are_upper_cased_and_any_of(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, countries="qa,ke")
    assert body["total"] == 2
    assert {lead["country"] for lead in body["results"]} == {"QA", "KE"}


async def test_regions_match_exactly_and_case_sensitively(sample_sandbox: RunningSandbox) -> None:
    assert (await search(sample_sandbox, trade_regions="CAFTA-DR"))["results"][0]["country"] == "CR"
    assert (await search(sample_sandbox, trade_regions="cafta-dr"))["total"] == 0
    assert (await search(sample_sandbox, world_regions="Europe"))["total"] == 9
    assert (await search(sample_sandbox, world_regions="Oceania,Central America"))["total"] == 4


async def test_date_ranges_are_inclusive_and_accept_bare_years(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    published_2014 = [
        record
        for source in SOURCE_ORDER
        for record in recorded(samples_dir, source)
        if (record.get("publish_date") or "").startswith("2014")
    ]
    assert (await search(sample_sandbox, publish_date="2014 TO 2014"))["total"] == len(published_2014) == 7
    assert (await search(sample_sandbox, publish_date="2014-01-17 TO 2014-07-10"))["total"] == 5
    assert (await search(sample_sandbox, end_date="2016 TO 2016"))["total"] == 1
    assert (await search(sample_sandbox, publish_date_amended="2014-04-03 TO 2014-04-04"))["total"] == 2


async def test_empty_parameters_are_dropped(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, q="", countries="", sources="", size="", offset="", publish_date="")
    assert body["total"] == 29
    assert len(body["results"]) == 10


async def test_versionless_path_and_json_suffix_answer_the_same(sample_sandbox: RunningSandbox) -> None:
    versioned = await search(sample_sandbox, q="equipment")
    for path in ("trade_leads/search", "v2/trade_leads/search.json"):
        status, body = await get(sample_sandbox, path, q="equipment")
        assert status == 200
        assert body["results"] == versioned["results"]


# --- get by id ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["v2/trade_leads/{}", "trade_leads/{}"])
async def test_get_by_id_returns_the_bare_lead(sample_sandbox: RunningSandbox, path: str) -> None:
    listed = (await search(sample_sandbox, size="100"))["results"]
    for lead in listed:
        status, body = await get(sample_sandbox, path.format(lead["id"]))
        assert status == 200
        assert body == lead
        assert list(body) == list(lead)


async def test_unknown_id_is_404(sample_sandbox: RunningSandbox) -> None:
    assert await get(sample_sandbox, "v2/trade_leads/no-such-lead") == (404, {"error": "Not Found"})


# --- errors -------------------------------------------------------------------------------------------------------

UNAUTHORIZED = {"error": "Unauthorized - Please get a new key at https://api.trade.gov"}


@pytest.mark.parametrize("path", [SEARCH, "trade_leads/search", "v2/trade_leads/CN1121942"])
async def test_missing_key_is_401(sample_sandbox: RunningSandbox, path: str) -> None:
    async with sample_sandbox.session.get(sample_sandbox.url(path)) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


async def test_unknown_key_is_401(sample_sandbox: RunningSandbox) -> None:
    async with sample_sandbox.session.get(sample_sandbox.url(SEARCH), params={"api_key": "stolen"}) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


async def test_key_in_the_api_key_header_is_accepted(sample_sandbox: RunningSandbox) -> None:
    async with sample_sandbox.session.get(sample_sandbox.url(SEARCH), headers={"Api-Key": KEY}) as response:
        assert response.status == 200
        assert (await response.json())["total"] == 29
    async with sample_sandbox.session.get(sample_sandbox.url(SEARCH), headers={"Api-Key": "stolen"}) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


async def test_unknown_parameters_are_400_listing_them(sample_sandbox: RunningSandbox) -> None:
    status, body = await get(sample_sandbox, SEARCH, foo="1", keyword="water", q="water")
    assert (status, body) == (400, {"error": {"unknown_parameters": ["foo", "keyword"]}})


async def test_callback_and_format_are_permitted(sample_sandbox: RunningSandbox) -> None:
    body = await search(sample_sandbox, callback="cb", format="json")
    assert body["total"] == 29


async def test_negative_offset_is_400(sample_sandbox: RunningSandbox) -> None:
    status, body = await get(sample_sandbox, SEARCH, offset="-1")
    assert (status, body) == (400, {"errors": ["Offset must be greater than or equal to 0"]})


@pytest.mark.parametrize(
    "value",
    [
        "2014-01-01",
        "2014-01-01 to 2014-02-01",
        "2014-13-01 TO 2014-12-31",
        "2014-02-30 TO 2014-03-01",
        "14 TO 15",
        "2014-1-1 TO 2014-2-1",
        "yesterday TO today",
    ],
)
@pytest.mark.parametrize("name", ["publish_date", "end_date", "publish_date_amended"])
async def test_bad_date_ranges_are_400(sample_sandbox: RunningSandbox, name: str, value: str) -> None:
    status, body = await get(sample_sandbox, SEARCH, **{name: value})
    assert (status, body) == (400, {"error": "Invalid Date Range Format"})


@pytest.mark.parametrize(
    ("params", "served"),
    [
        ({"size": "9" * 5000}, 29),
        ({"offset": "9" * 5000}, 0),
        ({"q": "\x00\ufffd" * 50}, 0),
        ({"countries": ",,,"}, 0),
        ({"industries": "%%%"}, 0),
        ({"q": "!!!"}, 0),
        ({"publish_date": "2014-12-31 TO 2014-01-01"}, 0),
        ({"size": "-5"}, 0),
    ],
)
async def test_odd_input_never_breaks_the_server(
    sample_sandbox: RunningSandbox, params: dict[str, str], served: int
) -> None:
    body = await search(sample_sandbox, **params)
    assert len(body["results"]) == served
