"""What the resolvers remember of deciding whom to ask: the criteria a query sets (`criteria_set`), what a spec cannot
answer, the sources a list asks and the lead routes. Remembered answers are the answers worked out afresh, whatever
registries and queries came before (the specs are told apart by identity, not by name)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from decimal import Decimal

import pytest

from gateway.errors import BadUserInput
from gateway.models import ContractQuery, ContractSource, DateRange, LeadQuery, TenderQuery, ValueRange
from gateway.settings import LeadsFrom
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import Query, RecordKind, UpstreamSpec, criteria_set
from resolvers import lead_routing, source_selection
from resolvers.lead_routing import LeadRoute, route_leads
from resolvers.source_selection import ServingMemo, declared_names, sources_to_ask
from tests.schema.fakes import FakeClient, FakeUpstreams, standard_upstreams

SOME_VALUES: dict[str, tuple[object, ...]] = {  # by the start of a field's type
    "tuple": ((), ("541511",), ("UK", "CANADA"), ("CANADA", "CANADA")),
    "DateRange": (DateRange(start=date(2025, 1, 1)),),
    "ValueRange": (ValueRange(minimum=Decimal(1)),),
    "int": (2024,),
    "str": ("", "x"),
}


def _walked_unanswerable(spec: UpstreamSpec, kind: RecordKind, query: Query) -> tuple[str, ...]:
    """What `unanswerable` was: a walk over the query's fields."""
    answerable = spec.criteria.get(kind, frozenset())

    def is_set(value: object, default: object) -> bool:
        if value in (None, "", ()):
            return False
        return value != default or default is dataclasses.MISSING

    return tuple(
        field.name
        for field in dataclasses.fields(query)
        if field.name not in answerable and is_set(getattr(query, field.name), field.default)
    )


def _queries(query_type: type[LeadQuery | TenderQuery | ContractQuery]) -> list[Query]:
    """The query with no criterion, each field set alone to a few values, and each pair of fields set."""
    values: dict[str, tuple[object, ...]] = {}
    for field in dataclasses.fields(query_type):
        given = next(found for start, found in SOME_VALUES.items() if str(field.type).startswith(start))
        if field.name == "sources" and query_type is ContractQuery:
            given = ((), (ContractSource.SAM,), (ContractSource.CANADA, ContractSource.SAM))
        values[field.name] = given
    queries: list[Query] = [query_type()]
    queries += [query_type(**{name: value}) for name, given in values.items() for value in given]
    queries += [
        query_type(**{first: values[first][-1], second: values[second][-1]})
        for first, second in itertools.combinations(values, 2)
    ]
    return queries


QUERIES = {
    RecordKind.LEAD: _queries(LeadQuery),
    RecordKind.TENDER: _queries(TenderQuery),
    RecordKind.CONTRACT: _queries(ContractQuery),
}


def test_the_criteria_a_spec_cannot_answer_are_those_of_the_walk_over_the_query() -> None:
    checked = 0
    for spec in SPECS:
        for kind, queries in QUERIES.items():
            for query in queries:
                assert spec.unanswerable(kind, query) == _walked_unanswerable(spec, kind, query), (spec.name, query)
                checked += 1
    assert checked > 1000
    assert criteria_set(ContractQuery(keywords="", naics=("1",), fiscal_year=2024)) == ("naics", "fiscal_year")


def _registries() -> list[FakeUpstreams]:
    every = {spec.name: FakeClient(spec.name) for spec in SPECS}
    narrowed = tuple(
        dataclasses.replace(spec, criteria={kind: frozenset() for kind in spec.criteria})
        if spec.serves(RecordKind.LEAD)
        else spec
        for spec in SPECS
    )  # the same names, other specs: nothing but the unfiltered lists is answerable
    choices: list[dict[str, LeadsFrom]] = [{}, {"CANADA": "ita"}, {"UK": "successor", "FBO": "ita"}]
    return [
        standard_upstreams(),
        standard_upstreams(unconfigured=["ita"]),
        *(FakeUpstreams(SPECS, every, leads_from=choice) for choice in choices),
        FakeUpstreams(narrowed, every),
        FakeUpstreams(SPECS, {name: client for name, client in every.items() if name not in {"canadabuys", "sam"}}),
    ]


def _forget() -> None:
    for memo in (source_selection._asked, source_selection._declared, lead_routing._plans):
        memo.clear()


def _route(upstreams: FakeUpstreams, query: LeadQuery) -> LeadRoute | str:
    try:
        return route_leads(upstreams, query)
    except BadUserInput as refused:
        return f"{refused.message} {refused.extensions}"


def _asked(upstreams: FakeUpstreams, kind: RecordKind, query: Query) -> tuple[str, ...]:
    return tuple(upstream.name for upstream in sources_to_ask(upstreams, kind, query))  # type: ignore[arg-type]


def test_remembered_sources_and_routes_are_those_worked_out_afresh() -> None:
    registries = _registries()
    remembered: list[object] = []
    for upstreams in registries:  # every registry after the others: a key telling them apart wrongly shows here
        for kind, queries in QUERIES.items():
            remembered.append(declared_names(upstreams, kind))  # type: ignore[arg-type]
            for query in queries:
                remembered.append(_asked(upstreams, kind, query))
                if isinstance(query, LeadQuery):
                    remembered.append(_route(upstreams, query))
    afresh: list[object] = []
    for upstreams in registries:
        for kind, queries in QUERIES.items():
            _forget()
            afresh.append(declared_names(upstreams, kind))  # type: ignore[arg-type]
            for query in queries:
                _forget()
                afresh.append(_asked(upstreams, kind, query))
                if isinstance(query, LeadQuery):
                    _forget()
                    afresh.append(_route(upstreams, query))
    assert remembered == afresh
    assert len({repr(answer) for answer in afresh}) > 50  # the registries and queries do get different answers


def test_a_route_sends_each_upstream_the_query_with_its_codes() -> None:
    every = FakeUpstreams(SPECS, {spec.name: FakeClient(spec.name) for spec in SPECS})
    query = LeadQuery(keywords="x", sources=("UK", "FBO"))
    for _ in range(2):  # worked out, then remembered: the queries are the request's own
        assert route_leads(every, query).queries == {
            "samopps": dataclasses.replace(query, sources=("FBO",)),
            "contractsfinder": dataclasses.replace(query, sources=("UK",)),
            "findatender": dataclasses.replace(query, sources=("UK",)),
        }
    other = LeadQuery(keywords="y", sources=("UK", "FBO"))
    assert route_leads(every, other).queries["samopps"] == LeadQuery(keywords="y", sources=("FBO",))
    ita_only = standard_upstreams()
    assert route_leads(ita_only, LeadQuery(keywords="z")).queries == {"ita": LeadQuery(keywords="z")}


def test_a_memo_is_bounded_holds_its_specs_and_does_not_remember_a_refusal() -> None:
    memo: ServingMemo[int] = ServingMemo(size=2)
    upstreams = standard_upstreams().all()
    calls: list[int] = []
    for shape in (1, 2, 1, 3, 1):
        assert memo.get(upstreams, shape, lambda shape=shape: calls.append(shape) or shape * 10) == shape * 10
    assert calls == [1, 2, 3]  # 2 was forgotten when 3 came (1 was used since), 1 was never
    for key, remembered in memo._remembered.items():
        assert key[0] == tuple(map(id, remembered.specs))

    def refuse() -> int:
        calls.append(0)
        raise BadUserInput("no")

    for _ in range(2):
        with pytest.raises(BadUserInput):
            memo.get(upstreams, 4, refuse)
    assert calls == [1, 2, 3, 0, 0]
