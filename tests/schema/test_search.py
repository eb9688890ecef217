"""`search` executed against fake upstreams: each kind merges the sources serving it; refusals come first."""

from __future__ import annotations

import dataclasses
from datetime import date

from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind
from tests.schema.fakes import FakeClient, execute, standard_upstreams, tender

EVERY_KIND = '{ search(keywords: " software ", first: 3) { leads { id } tenders { reference } contracts { source } } }'


async def test_each_selected_kind_asks_its_sources_with_the_keywords() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, EVERY_KIND)
    assert outcome.errors == []
    found = outcome.data["search"]  # type: ignore[index]
    assert len(found["leads"]) == len(found["tenders"]) == len(found["contracts"]) == 3
    assert {c["source"] for c in found["contracts"]} == {"SAM", "CANADA"}
    [(_, leads)] = upstreams.client("ita").requests
    assert leads["query"].keywords == "software"
    assert leads["limit"] == 3
    assert {r[0] for r in upstreams.client("canada").requests} == {"search_tenders", "search_contracts"}


async def test_only_the_kinds_asked_and_selected_are_searched() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(
        upstreams, '{ search(keywords: "x", kinds: [LEAD]) { leads { id } tenders { reference } } }'
    )
    assert outcome.data["search"]["tenders"] is None  # type: ignore[index]
    assert upstreams.total_calls() == 1


async def test_a_fourth_tender_upstream_joins_search() -> None:
    fourth_spec = dataclasses.replace(
        CANADA,
        name="fourth",
        kinds=frozenset({RecordKind.TENDER}),
        criteria={RecordKind.TENDER: frozenset({"keywords"})},
        default_ttl_s={RecordKind.TENDER: 60},
    )
    fourth = FakeClient("fourth", tenders=[tender("F0", date(2025, 6, 15))])
    upstreams = standard_upstreams(specs=(*SPECS, fourth_spec), fourth=fourth)
    outcome = await execute(upstreams, '{ search(keywords: "bridge", first: 2) { tenders { reference } } }')
    assert outcome.data == {"search": {"tenders": [{"reference": "F0"}, {"reference": "T0"}]}}


async def test_one_contract_source_failing_keeps_the_other() -> None:
    upstreams = standard_upstreams()
    upstreams.client("sam").failing = True
    outcome = await execute(upstreams, '{ found: search(keywords: "x") { c: contracts { source } } }')
    assert {c["source"] for c in outcome.data["found"]["c"]} == {"CANADA"}  # type: ignore[index]
    assert outcome.reported == [("UPSTREAM_UNAVAILABLE", "sam", ("found", "c"))]


async def test_keywords_a_contract_source_refuses_are_refused_before_any_call() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, '{ search(keywords: "R&D") { leads { id } contracts { piid } } }')
    assert outcome.data == {"search": None}
    assert outcome.codes == ["BAD_USER_INPUT"]
    assert outcome.errors[0].original_error.extensions == {"argument": "keywords"}
    assert upstreams.total_calls() == 0
    outcome = await execute(upstreams, '{ search(keywords: "R&D") { tenders { reference } } }')
    assert outcome.errors == []
