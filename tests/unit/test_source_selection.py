"""Which sources a query asks: configured, serving the kind, able to answer every criterion set (from the specs),
listed in `sources` when the query names any, and else not a retired one whose configured successor serves the kind."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from gateway.errors import BadUserInput
from gateway.models import ContractQuery, ContractSource, DateRange, LeadQuery, TenderQuery, ValueRange
from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from resolvers.source_selection import check_contract_query, declared_names, sources_to_ask
from tests.schema.fakes import FakeClient, FakeUpstreams, standard_upstreams

# A test-only fourth upstream serving tenders that can filter by keywords alone.
FOURTH = dataclasses.replace(
    CANADA,
    name="fourth",
    kinds=frozenset({RecordKind.TENDER}),
    criteria={RecordKind.TENDER: frozenset({"keywords"})},
    default_ttl_s={RecordKind.TENDER: 60},
)


def names(upstreams: FakeUpstreams, kind: RecordKind, query: LeadQuery | TenderQuery | ContractQuery) -> list[str]:
    return [upstream.name for upstream in sources_to_ask(upstreams, kind, query)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "asked"),
    [
        (ContractQuery(), ["sam", "canada"]),
        (ContractQuery(keywords="software"), ["sam", "canada"]),
        # behaviour fixes: GSINs are Canadian only (SAM used to answer unfiltered awards), and Canada answers a PIID
        # with its contract number (it used to be skipped)
        (ContractQuery(gsins=("N7610",)), ["canada"]),
        (ContractQuery(piid="47QSWA18D008F"), ["sam", "canada"]),
        (ContractQuery(naics=("541511",)), ["sam"]),
        (ContractQuery(agency_code="9700"), ["sam"]),
        (ContractQuery(fiscal_year=2024), ["sam"]),
        (ContractQuery(place_of_performance_state="VA"), ["sam"]),
        (ContractQuery(supplier_name="acme", awarded=DateRange(start=date(2024, 1, 1))), ["sam", "canada"]),
        (ContractQuery(value=ValueRange(minimum=1)), ["sam", "canada"]),
        (ContractQuery(naics=("541511",), gsins=("N7610",)), []),
    ],
)
def test_contract_sources_follow_what_each_spec_can_answer(query: ContractQuery, asked: list[str]) -> None:
    assert names(standard_upstreams(), RecordKind.CONTRACT, query) == asked


def test_contract_sources_are_those_listed_in_the_order_listed() -> None:
    upstreams = standard_upstreams()
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery(sources=(ContractSource.CANADA,))) == ["canada"]
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery(sources=(ContractSource.SAM,))) == ["sam"]
    both = ContractQuery(sources=(ContractSource.CANADA, ContractSource.SAM))
    assert names(upstreams, RecordKind.CONTRACT, both) == ["canada", "sam"]
    listed_but_unanswerable = ContractQuery(sources=(ContractSource.CANADA,), naics=("541511",))
    assert names(upstreams, RecordKind.CONTRACT, listed_but_unanswerable) == []


def test_an_upstream_that_is_not_configured_is_never_asked() -> None:
    upstreams = standard_upstreams(unconfigured=("canada",))
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery()) == ["sam"]
    assert names(upstreams, RecordKind.TENDER, TenderQuery()) == []
    # declared: cursors stay valid
    assert declared_names(upstreams, RecordKind.TENDER) == (
        "canada",
        "canadabuys",
        "samopps",
        "contractsfinder",
        "findatender",
    )


def test_lead_and_tender_filters() -> None:
    upstreams = standard_upstreams()
    every_lead_filter = LeadQuery(
        keywords="water",
        sources=("FBO",),
        countries=("CA",),
        industries=("Energy",),
        trade_regions=("NAFTA",),
        world_regions=("Pacific Rim",),
        published=DateRange(start=date(2024, 1, 1)),
        ends=DateRange(end=date(2026, 1, 1)),
        amended=DateRange(start=date(2024, 1, 1)),
    )
    assert names(upstreams, RecordKind.LEAD, every_lead_filter) == ["ita"]
    closing = TenderQuery(closing=DateRange(start=date(2025, 1, 1)))
    assert names(upstreams, RecordKind.TENDER, closing) == ["canada"]


def test_a_fourth_upstream_joins_its_kind_where_it_can_answer() -> None:
    specs: tuple[UpstreamSpec, ...] = (*SPECS, FOURTH)
    upstreams = standard_upstreams(specs=specs, fourth=FakeClient("fourth"))
    assert names(upstreams, RecordKind.TENDER, TenderQuery(keywords=("bridge",))) == ["canada", "fourth"]
    assert names(upstreams, RecordKind.TENDER, TenderQuery(gsins=("N76",))) == ["canada"]
    assert names(upstreams, RecordKind.LEAD, LeadQuery()) == ["ita"]
    assert declared_names(upstreams, RecordKind.TENDER) == (
        "canada",
        "canadabuys",
        "samopps",
        "contractsfinder",
        "findatender",
        "fourth",
    )


def test_every_contract_source_to_be_asked_checks_the_query_first() -> None:
    upstreams = standard_upstreams()
    check_contract_query(upstreams, ContractQuery(keywords="R&D", sources=(ContractSource.CANADA,)), limit=10)  # type: ignore[arg-type]
    assert upstreams.client("sam").calls["check_contract_query"] == 0
    with pytest.raises(BadUserInput):
        check_contract_query(upstreams, ContractQuery(keywords="R&D"), limit=10)  # type: ignore[arg-type]
    assert upstreams.total_calls() == 0


def with_canadabuys(**extra: FakeClient) -> FakeUpstreams:
    return standard_upstreams(canadabuys=FakeClient("canadabuys"), **extra)


def test_a_configured_successor_replaces_the_retired_source_unless_it_is_named() -> None:
    upstreams = with_canadabuys()
    assert names(upstreams, RecordKind.TENDER, TenderQuery()) == ["canadabuys"]
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery()) == ["sam", "canadabuys"]
    assert names(upstreams, RecordKind.TENDER, TenderQuery(sources=("canada",))) == ["canada"]
    both = TenderQuery(sources=("canadabuys", "canada"), keywords=("bridge",))
    assert names(upstreams, RecordKind.TENDER, both) == ["canadabuys", "canada"]  # in the order named
    named = ContractQuery(sources=(ContractSource.CANADA, ContractSource.SAM))
    assert names(upstreams, RecordKind.CONTRACT, named) == ["canada", "sam"]
    # a filter only the successor answers: the retired source is not asked even when named
    unspscs = TenderQuery(sources=("canada", "canadabuys"), unspscs=("4323",))
    assert names(upstreams, RecordKind.TENDER, unspscs) == ["canadabuys"]
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery(gsins=("N76",))) == ["canadabuys"]


def test_without_its_successor_the_retired_source_is_asked_as_before() -> None:
    upstreams = standard_upstreams()  # canadabuys declared, not configured
    assert names(upstreams, RecordKind.TENDER, TenderQuery()) == ["canada"]
    assert names(upstreams, RecordKind.CONTRACT, ContractQuery()) == ["sam", "canada"]  # SAM first on ties
    assert names(upstreams, RecordKind.TENDER, TenderQuery(sources=("canadabuys",))) == []


def test_a_retired_source_without_a_successor_is_asked_by_default() -> None:
    unrelated = dataclasses.replace(FOURTH, name="fifth", succeeds=frozenset({"nothing"}))
    upstreams = standard_upstreams(specs=(*SPECS, unrelated), fifth=FakeClient("fifth"))
    assert names(upstreams, RecordKind.TENDER, TenderQuery(keywords=("bridge",))) == ["canada", "fifth"]
