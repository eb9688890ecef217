"""The counts `search` shows beside its results: ITA's own aggregations, read from every recorded sample, and the
facets of a page (counts over every match where a source gives them, page-local otherwise)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from gateway.models import Facet, FacetCount, LeadQuery, Page, TenderQuery
from gateway.upstreams.ita import adapter as ita
from gateway.upstreams.spec import RecordKind
from resolvers.facets import search_facets
from resolvers.merge import SourcePage
from resolvers.search_cursor import SearchCursor
from resolvers.search_merge import Answer, Hit, SearchPage, Shown
from resolvers.search_plan import PlannedSource, SearchCriteria, SearchPlan
from tests.schema.fakes import lead, tender


def test_every_recorded_aggregations_sample_becomes_facets(samples_dir: Path) -> None:
    support = samples_dir / "trade-leads" / "webservices" / "spec" / "support" / "trade_leads"
    files = sorted(support.glob("**/aggregations*.json"))
    assert len(files) >= 17
    for path in files:
        recorded: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
        facets = {facet.name: facet for facet in ita.parse_aggregations({"results": [], "aggregations": recorded})}
        assert set(facets) == {ita.AGGREGATION_FACETS[name] for name in recorded}, path
        for name, buckets in recorded.items():
            counts = facets[ita.AGGREGATION_FACETS[name]].counts
            assert counts == tuple(FacetCount(b["key"], b["doc_count"]) for b in buckets), path


def test_aggregations_are_optional_and_read_tolerantly() -> None:
    assert ita.parse_aggregations({"results": []}) == ()
    assert ita.parse_aggregations({"results": [], "aggregations": []}) == ()
    odd = {"countries": [{"key": "CA", "doc_count": "5"}, {"key": None, "doc_count": 1}, "x"], "sources": "all"}
    assert ita.parse_aggregations({"results": [], "aggregations": odd}) == (Facet("country", (FacetCount("CA", 5),)),)


def test_a_pages_facets_count_over_every_match_where_a_source_says_and_on_the_page_otherwise() -> None:
    leads = PlannedSource("ita.lead", "ita", RecordKind.LEAD, LeadQuery())
    tenders = PlannedSource("canada.tender", "canada", RecordKind.TENDER, TenderQuery())
    plan = SearchPlan(SearchCriteria(), (leads, tenders))
    shown_lead = lead("L1", date(2025, 6, 1), end_date=date(2025, 6, 12), industries=("541511: Programming",))
    shown_tender = tender("T1", date(2025, 8, 30), gsins=("n7030",))
    start = SearchCursor("f")
    answered = {
        "ita.lead": Answer(
            SourcePage.of(Page((shown_lead,), 120), 0),
            (Facet("country", (FacetCount("GB", 80), FacetCount("CA", 40))),),
        ),
        "canada.tender": Answer(SourcePage.of(Page((shown_tender,), None), 0)),
    }
    shown = (
        Shown(Hit(plan.sources[0], shown_lead, 0, 1, 0, None), (), start),
        Shown(Hit(plan.sources[1], shown_tender, 0, 1, 0, None), (), start),
    )
    page = SearchPage(shown, start, start, answered, {}, has_next=True)
    facets = {
        facet.name: {value.value: (value.count, value.page_local) for value in facet.values}
        for facet in search_facets(plan, page, today=date(2025, 6, 10), titles={})
    }
    assert facets["SOURCE"] == {"ita": (120, False), "canada": (1, True)}
    assert facets["KIND"] == {"LEAD": (120, False), "TENDER": (1, True)}
    assert facets["COUNTRY"] == {"GB": (80, False), "CA": (41, True)}
    assert facets["CLASSIFICATION"] == {"GSIN:N7030": (1, True), "NAICS:541511": (1, True)}
    assert facets["CLOSING"] == {"NEXT_7_DAYS": (1, True), "LATER": (1, True)}
