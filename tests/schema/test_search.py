"""`search` executed against fake upstreams: one connection over every kind and source, one cursor, duplicates shown
once, facets, refusals before any call; and the deprecated `searchByKind`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from gateway.models import (
    CodeName,
    ContractSource,
    Country,
    Facet,
    FacetCount,
    Lead,
    LeadQuery,
    Page,
    SourceMetadata,
)
from gateway.upstreams.deadline import Deadline
from tests.schema.fakes import NOW, FakeClient, contract, execute, lead, standard_upstreams

PAGE = """query($k: String, $filter: SearchFilter, $first: Int, $after: String) {
  search(keywords: $k, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor upstream relevance origins { upstream id }
      node { __typename ... on Lead { leadId } ... on Tender { reference } ... on Contract { key: piid } } }
    facets { name values { value count pageLocal } }
    sources { upstream kind asked notAskedBecause totalCount errorCode }
  }
}"""


def name_of(edge: dict[str, Any]) -> str:
    node = edge["node"]
    return str(node.get("leadId") or node.get("reference") or node.get("key"))


async def page_through(upstreams: Any, first: int, **variables: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every result name, paging with `first` until the end; and every page's connection."""
    names: list[str] = []
    pages: list[dict[str, Any]] = []
    after = None
    for _ in range(200):
        outcome = await execute(upstreams, PAGE, {"first": first, "after": after, **variables})
        assert outcome.errors == [], outcome.errors
        found = outcome.data["search"]  # type: ignore[index]
        pages.append(found)
        names += [name_of(edge) for edge in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            return names, pages
        after = found["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


EVERY_RECORD = 25 + 12 + 6 + 8  # the standard fakes: leads, tenders, Canadian and SAM contracts


@pytest.mark.parametrize("first", [1, 7, 100])
async def test_paging_gives_every_record_of_every_source_once_newest_first(first: int) -> None:
    names, pages = await page_through(standard_upstreams(), first)
    assert len(names) == len(set(names)) == EVERY_RECORD
    # Each source keeps its own order; dated records newest first across sources, then the undated tenders.
    assert [n for n in names if n.startswith("L")] == [f"L{n}" for n in range(25)]
    assert [n for n in names if n.startswith("T")] == [f"T{n}" for n in range(12)]
    assert names[-12:] == [f"T{n}" for n in range(12)]
    assert names[:5] == ["L0", "L1", "P0", "L2", "C0"]  # 2025-05-30, -29, -29 (lead first on ties), -28, -28
    assert pages[0]["totalCount"] == EVERY_RECORD
    assert not pages[0]["pageInfo"]["hasPreviousPage"]
    assert all(page["pageInfo"]["hasPreviousPage"] for page in pages[1:])


async def test_each_page_asks_each_source_once_and_no_source_with_nothing_more() -> None:
    upstreams = standard_upstreams()
    _, pages = await page_through(upstreams, 10)
    asked = [[s["upstream"] + "." + s["kind"] for s in page["sources"] if s["asked"]] for page in pages]
    assert asked[0] == ["ita.LEAD", "canada.TENDER", "canada.CONTRACT", "sam.CONTRACT"]
    assert asked[-1] == ["canada.TENDER"]  # every other source had nothing more
    calls = upstreams.calls()
    assert calls["ita"]["search_leads"] == sum("ita.LEAD" in page for page in asked)
    assert calls["sam"]["search_contracts"] == sum("sam.CONTRACT" in page for page in asked)
    assert calls["canada"]["search_tenders"] == len(pages)
    said = {s["notAskedBecause"] for s in pages[-1]["sources"] if s["upstream"] == "sam"}
    assert said == {"it has no more results"}


async def test_keywords_merge_by_normalised_rank() -> None:
    names, pages = await page_through(standard_upstreams(), 100, k="software")
    assert len(names) == EVERY_RECORD
    edges = pages[0]["edges"]
    relevances = [edge["relevance"] for edge in edges]
    assert relevances == sorted(relevances, reverse=True)
    assert [edge["relevance"] for edge in edges[:4]] == [1.0, 1.0, 1.0, 1.0]
    assert [edge["upstream"] for edge in edges[:4]] == ["ita", "canada", "canada", "sam"]
    by_name = {name_of(edge): edge["relevance"] for edge in edges}
    assert by_name["L5"] == pytest.approx(1 - 5 / 25)
    assert by_name["T6"] == pytest.approx(1 - 6 / 12)


async def test_without_keywords_relevance_is_null_and_the_keywords_reach_every_source() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, PAGE, {"first": 3})
    assert {edge["relevance"] for edge in outcome.data["search"]["edges"]} == {None}  # type: ignore[index]
    await execute(upstreams, PAGE, {"first": 3, "k": "  bridge  "})
    assert upstreams.client("ita").requests[-1][1]["query"].keywords == "bridge"
    tenders = [r for r in upstreams.client("canada").requests if r[0] == "search_tenders"]
    assert tenders[-1][1]["query"].keywords == ("bridge",)
    assert upstreams.client("sam").requests[-1][1]["query"].keywords == "bridge"


async def test_a_failing_source_resumes_later_and_nothing_is_lost_or_repeated() -> None:
    upstreams = standard_upstreams()
    names: list[str] = []
    after = None
    failed_pages = 0
    for page_number in range(100):
        upstreams.client("sam").failing = 2 <= page_number < 5  # SAM fails on pages 3 to 5
        outcome = await execute(upstreams, PAGE, {"first": 4, "after": after})
        found = outcome.data["search"]  # type: ignore[index]
        names += [name_of(edge) for edge in found["edges"]]
        if upstreams.client("sam").failing:
            failed_pages += 1
            assert outcome.reported == [("UPSTREAM_UNAVAILABLE", "sam", ("search",))]
            assert found["totalCount"] is None
            [sam] = [s for s in found["sources"] if s["upstream"] == "sam"]
            assert sam["errorCode"] == "UPSTREAM_UNAVAILABLE"
            assert found["pageInfo"]["hasNextPage"]
        else:
            assert outcome.reported == []
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert failed_pages == 3
    assert len(names) == len(set(names)) == EVERY_RECORD
    assert [n for n in names if n.startswith("P")] == [f"P{n}|0||".split("|")[0] for n in range(8)]


async def test_every_source_failing_fails_the_field_with_the_first_error() -> None:
    upstreams = standard_upstreams()
    for name in ("ita", "canada", "sam"):
        upstreams.client(name).failing = True
    outcome = await execute(upstreams, PAGE, {"first": 4})
    assert outcome.data == {"search": None}
    assert outcome.codes == ["UPSTREAM_UNAVAILABLE"]


def canadian_lead(lead_id: str, published: date, reference: str) -> Lead:
    return lead(lead_id, published, source="CANADA", reference_number=reference, country=Country("CA", "Canada"))


async def test_a_lead_republishing_a_tender_is_shown_once_from_the_tender_with_both_origins() -> None:
    upstreams = standard_upstreams()
    # L3 republishes tender T2 (newer than T2 in the order: the lead comes first, the tender is preferred).
    upstreams.client("ita").leads[3] = canadian_lead("L3", date(2025, 5, 27), "t2")
    names, pages = await page_through(upstreams, 100)
    assert len(names) == EVERY_RECORD - 1
    assert "L3" not in names
    [shown] = [edge for edge in pages[0]["edges"] if name_of(edge) == "T2"]
    assert [origin["upstream"] for origin in shown["origins"]] == ["canada", "ita"]
    assert shown["upstream"] == "canada"
    assert pages[0]["totalCount"] == EVERY_RECORD  # an upper bound: the duplicate is counted twice


@pytest.mark.parametrize("first", [2, 3, 5, 10, 30])
async def test_duplicates_fetched_for_one_page_are_shown_once_even_when_shown_pages_apart(first: int) -> None:
    """L1 and L2 republish T0 and T1 (the first tenders of their source: fetched with the first page, shown pages
    later, after every dated record); L6 republishes T9, fetched with the first page only when it holds 10 or more."""
    upstreams = standard_upstreams()
    for index, reference in ((1, "T0"), (2, "T1"), (6, "T9")):
        upstreams.client("ita").leads[index] = canadian_lead(f"L{index}", date(2025, 5, 30 - index), reference)
    names, pages = await page_through(upstreams, first)
    assert len(names) == len(set(names))
    twice = first < 10  # T9 was not fetched when L6 came: both are shown (totalCount is an upper bound)
    expected = {f"L{n}" for n in range(25)} - {"L1", "L2"} - (set() if twice else {"L6"})
    expected |= {f"T{n}" for n in range(12)} | {f"C{n}" for n in range(6)} | {f"P{n}" for n in range(8)}
    assert set(names) == expected
    origins = {name_of(edge): [o["upstream"] for o in edge["origins"]] for page in pages for edge in page["edges"]}
    assert origins["T0"] == origins["T1"] == ["canada", "ita"]
    assert origins["T9"] == (["canada"] if twice else ["canada", "ita"])
    assert origins["T5"] == ["canada"]


async def test_origins_name_the_global_ids_the_nodes_have() -> None:
    upstreams = standard_upstreams()
    upstreams.client("ita").leads[0] = canadian_lead("L0", date(2025, 5, 30), "T0")
    query = """{ search(first: 100) { edges { origins { upstream id }
        node { ... on Node { id } ... on Tender { reference } } } } }"""
    outcome = await execute(upstreams, query)
    [edge] = [e for e in outcome.data["search"]["edges"] if e["node"].get("reference") == "T0"]  # type: ignore[index]
    assert edge["origins"][0]["id"] == edge["node"]["id"]
    lead_id = (await execute(upstreams, '{ lead(id: "L0") { id } }')).data["lead"]["id"]  # type: ignore[index]
    assert edge["origins"][1] == {"upstream": "ita", "id": lead_id}


@dataclass
class AggregatingClient(FakeClient):
    """ITA-like: its pages carry counts per country over every match, and its sources' freshness."""

    facets: tuple[Facet, ...] = field(default=())

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        del fields
        page = await super().search_leads(query, limit=limit, offset=offset, deadline=deadline)
        return Page(page.items, page.total, page.offset, self.facets, (SourceMetadata("FBO", NOW, NOW),))


async def test_facets_come_from_the_upstreams_counts_and_are_page_local_otherwise() -> None:
    ita = AggregatingClient(
        "ita",
        leads=[lead(f"L{n}", date(2025, 5, 30 - n), country=Country("GB", "UK")) for n in range(5)],
        facets=(Facet("country", (FacetCount("GB", 40), FacetCount("FR", 2))),),
    )
    upstreams = standard_upstreams(ita=ita)
    upstreams.client("sam").contracts[0] = contract(
        ContractSource.SAM,
        "P0|0||",
        date(2025, 5, 29),
        naics=CodeName("541511", "Custom Computer Programming Services"),
        place_of_performance=Country("CAN", "Canada"),
    )
    outcome = await execute(upstreams, PAGE, {"first": 10})
    facets = {
        facet["name"]: {v["value"]: (v["count"], v["pageLocal"]) for v in facet["values"]}
        for facet in outcome.data["search"]["facets"]  # type: ignore[index]
    }
    assert facets["SOURCE"] == {"ita": (5, False), "canada": (18, False), "sam": (8, False)}
    assert facets["KIND"] == {"LEAD": (5, False), "TENDER": (12, False), "CONTRACT": (14, False)}
    # GB and FR from ITA's counts; CA from the Canadian and SAM records shown on this page.
    assert facets["COUNTRY"]["GB"] == (40, False)
    assert facets["COUNTRY"]["FR"] == (2, False)
    assert facets["COUNTRY"]["CA"][1] is True
    assert facets["CLASSIFICATION"]["NAICS:541511"] == (1, True)
    assert facets["CLASSIFICATION"]["GSIN:N7610"][1] is True
    [ita_report] = [s for s in outcome.data["search"]["sources"] if s["upstream"] == "ita"]  # type: ignore[index]
    assert ita_report["totalCount"] == 5
    freshness = await execute(
        upstreams, "{ search(first: 1) { sources { upstream lastUpdated publishers { source } } } }"
    )
    reports = {s["upstream"]: s for s in freshness.data["search"]["sources"]}  # type: ignore[index]
    assert reports["ita"]["publishers"] == [{"source": "FBO"}]
    assert reports["ita"]["lastUpdated"] == NOW.isoformat()


@pytest.mark.parametrize(
    ("search_filter", "asked"),
    [
        ({"kinds": ["TENDER"]}, {"canada.TENDER"}),
        ({"sources": ["SAM"]}, {"sam.CONTRACT"}),
        ({"awarded": {"start": "2025-01-01"}}, {"canada.CONTRACT", "sam.CONTRACT"}),
        ({"value": {"min": "10"}}, {"canada.CONTRACT", "sam.CONTRACT"}),
        ({"regions": ["on"]}, {"canada.TENDER"}),
        ({"tradeRegions": ["nafta"]}, {"ita.LEAD"}),
        ({"closing": {"end": "2025-12-31"}}, {"ita.LEAD", "canada.TENDER"}),
        ({"countries": ["ca"]}, {"ita.LEAD", "canada.TENDER", "canada.CONTRACT"}),
        ({"countries": ["GB"]}, {"ita.LEAD"}),
        ({"classifications": [{"scheme": "GSIN", "code": "n76"}]}, {"canada.TENDER", "canada.CONTRACT"}),
        ({"classifications": [{"scheme": "NAICS", "code": "5415"}]}, {"sam.CONTRACT"}),
        ({"classifications": [{"scheme": "CPV", "code": "72"}]}, set()),
    ],
)
async def test_only_the_sources_that_can_answer_the_filter_are_asked(
    search_filter: dict[str, Any], asked: set[str]
) -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, PAGE, {"first": 5, "filter": search_filter})
    assert outcome.errors == []
    reports = outcome.data["search"]["sources"]  # type: ignore[index]
    assert {s["upstream"] + "." + s["kind"] for s in reports if s["asked"]} == asked
    assert all(s["notAskedBecause"] for s in reports if not s["asked"])
    called = {name for name, calls in upstreams.calls().items() if any(m.startswith("search") for m in calls)}
    assert called == {key.split(".")[0] for key in asked}


async def test_filter_values_reach_the_sources_in_their_canonical_spelling() -> None:
    upstreams = standard_upstreams()
    search_filter = {
        "countries": ["gb", "CA"],
        "tradeRegions": ["nafta"],
        "worldRegions": ["pacific rim"],
        "closing": {"start": "2025-06-01"},
    }
    await execute(upstreams, PAGE, {"first": 5, "filter": search_filter})
    query = upstreams.client("ita").requests[-1][1]["query"]
    assert query.countries == ("GB", "CA")
    assert query.trade_regions == ("NAFTA",)
    assert query.world_regions == ("Pacific Rim",)
    assert query.ends.start == date(2025, 6, 1)
    upstreams = standard_upstreams()
    await execute(upstreams, PAGE, {"filter": {"classifications": [{"scheme": "GSIN", "code": "n76"}]}})
    [(_, tenders)] = [r for r in upstreams.client("canada").requests if r[0] == "search_tenders"]
    assert tenders["query"].gsins == ("N76",)


@pytest.mark.parametrize(
    ("search_filter", "argument", "accepted"),
    [
        ({"countries": ["CA", "XX"]}, "filter.countries", "AD"),
        ({"regions": ["ZZ"]}, "filter.regions", "X-INT"),
        ({"tradeRegions": ["Atlantis"]}, "filter.tradeRegions", "NAFTA"),
        ({"worldRegions": ["Mars"]}, "filter.worldRegions", "Pacific Rim"),
        ({"sources": ["nowhere"]}, "filter.sources", "sam"),
    ],
)
async def test_unknown_places_and_sources_are_refused_naming_the_accepted_ones_before_any_call(
    search_filter: dict[str, Any], argument: str, accepted: str
) -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, PAGE, {"filter": search_filter})
    assert outcome.data == {"search": None}
    assert outcome.codes == ["BAD_USER_INPUT"]
    extensions = outcome.errors[0].original_error.extensions
    assert extensions["argument"] == argument
    assert accepted in extensions["accepted"]
    assert accepted in outcome.errors[0].message
    assert upstreams.total_calls() == 0


def forged(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"k": "x" * 201}, "keywords"),
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"k": "R&D"}, "keywords"),  # SAM refuses & in `q`: refused before ITA or Canada is asked
        ({"after": "not a cursor"}, "after"),
        ({"after": forged({"f": "0" * 12, "p": {}})}, "after"),
        ({"after": forged({"p": {"ita.lead": 3}})}, "after"),
        ({"filter": {"kinds": []}}, "filter.kinds"),
        ({"filter": {"closing": {"start": "2025-02-01", "end": "2025-01-01"}}}, "filter.closing"),
        ({"filter": {"classifications": [{"scheme": "NAICS", "code": "abc"}]}}, "filter.classifications[0].code"),
    ],
)
async def test_bad_arguments_are_refused_before_any_call(variables: dict[str, Any], argument: str) -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, PAGE, variables)
    assert outcome.data == {"search": None}
    assert outcome.codes == ["BAD_USER_INPUT"]
    assert outcome.errors[0].original_error.extensions["argument"] == argument
    assert upstreams.total_calls() == 0


async def test_a_cursor_of_another_search_is_refused() -> None:
    upstreams = standard_upstreams()
    first = await execute(upstreams, PAGE, {"first": 2, "k": "bridge"})
    cursor = first.data["search"]["pageInfo"]["endCursor"]  # type: ignore[index]
    other = await execute(upstreams, PAGE, {"first": 2, "k": "roads", "after": cursor})
    assert other.codes == ["BAD_USER_INPUT"]
    assert "another search" in other.errors[0].message
    same = await execute(upstreams, PAGE, {"first": 5, "k": "bridge", "after": cursor})
    assert same.errors == []


@pytest.mark.parametrize(
    ("selection", "searched"),
    [
        ("edges { node { ... on Contract { piid } } }", {"canada", "sam"}),
        ("nodes { ... on Lead { title } ... on Tender { reference } }", {"ita", "canada"}),
        ("edges { node { __typename ... on Lead { title } } }", {"ita", "canada", "sam"}),
        ("edges { node { ... on Node { id } } }", {"ita", "canada", "sam"}),
        ("totalCount", {"ita", "canada", "sam"}),
        ("__typename", set()),
    ],
)
async def test_only_the_kinds_the_selection_reads_are_searched(selection: str, searched: set[str]) -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, f"{{ search(first: 3) {{ {selection} }} }}")
    assert outcome.errors == []
    called = {name for name, calls in upstreams.calls().items() if any(m.startswith("search") for m in calls)}
    assert called == searched


async def test_contract_sources_are_asked_for_what_the_merge_reads_and_what_is_selected() -> None:
    upstreams = standard_upstreams()
    await execute(upstreams, "{ search { edges { node { ... on Contract { supplier { name } } } } } }")
    selection = upstreams.client("sam").requests[-1][1]["selection"]
    assert {"supplier", "award_date", "naics", "piid"} <= selection


async def test_tender_titles_in_either_language() -> None:
    query = "{ search(first: 100) { nodes { ... on Tender { en: title fr: title(language: FR) } } } }"
    outcome = await execute(standard_upstreams(), query)
    titles = [node for node in outcome.data["search"]["nodes"] if node]  # type: ignore[index]
    assert titles[0] == {"en": "tender T0", "fr": "appel T0"}


# -- the deprecated per-kind shape ------------------------------------------------------------------------------------

EVERY_KIND = (
    '{ searchByKind(keywords: " software ", first: 3) { leads { id } tenders { reference } contracts { source } } }'
)


async def test_search_by_kind_asks_each_selected_kind_with_the_keywords() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, EVERY_KIND)
    assert outcome.errors == []
    found = outcome.data["searchByKind"]  # type: ignore[index]
    assert len(found["leads"]) == len(found["tenders"]) == len(found["contracts"]) == 3
    [(_, leads)] = upstreams.client("ita").requests
    assert leads["query"].keywords == "software"


async def test_search_by_kind_searches_only_the_kinds_asked_and_selected() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(
        upstreams, '{ searchByKind(keywords: "x", kinds: [LEAD]) { leads { id } tenders { reference } } }'
    )
    assert outcome.data["searchByKind"]["tenders"] is None  # type: ignore[index]
    assert upstreams.total_calls() == 1


async def test_search_by_kind_with_one_contract_source_failing_keeps_the_other() -> None:
    upstreams = standard_upstreams()
    upstreams.client("sam").failing = True
    outcome = await execute(upstreams, '{ found: searchByKind(keywords: "x") { c: contracts { source } } }')
    assert {c["source"] for c in outcome.data["found"]["c"]} == {"CANADA"}  # type: ignore[index]
    assert outcome.reported == [("UPSTREAM_UNAVAILABLE", "sam", ("found", "c"))]
