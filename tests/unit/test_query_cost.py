"""estimate_cost: upstream calls from the document, its variables and the cost table the specs give."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import strawberry
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    visit,
)

from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind
from resolvers.costs import cost_table
from resolvers.query import Query
from schema.cost import MAX_COST, CostTable, _CostWalker
from schema.cost import estimate_cost as estimate_with

COSTS = cost_table(SPECS)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return strawberry.Schema(query=Query)._schema


def estimate_cost(
    schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None = None, name: str | None = None
) -> int:
    return estimate_with(schema, document, variables, name, COSTS)


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ __typename sources { name } }", None, 0),
        ("{ __schema { types { name } } }", None, 0),
        ("{ leads { totalCount } }", None, 1),
        ("{ leads(first: 1) { totalCount } }", None, 1),
        ("{ leads(first: 11) { totalCount } }", None, 2),
        ("{ leads(first: 100) { totalCount } }", None, 10),
        ("{ leads(first: 5000) { totalCount } }", None, 10),  # out of range: the resolver refuses it
        ('{ lead(id: "x") { title } tender(id: "y") { title } }', None, 2),
        ("{ sources { leadSources { source } } }", None, 1),
        # `contracts` asks SAM and Canada: two calls per page.
        ("{ contracts(first: 20) { edges { node { awardFamily { count } } } } }", None, 2 * 2 + 20),
        ("{ contracts { nodes { awardFamily { count } } } }", None, 2 * 1 + 10),
        ("query($n: Int) { leads(first: $n) { totalCount } }", {"n": 30}, 3),
        ("query($n: Int = 50) { leads(first: $n) { totalCount } }", None, 5),
        ("query($n: Int = 50) { leads(first: $n) { totalCount } }", {"n": None}, 1),
        ("query($n: Int) { leads(first: $n) { totalCount } }", {"n": "many"}, 1),
        ("{ a: leads { totalCount } b: leads { totalCount } }", None, 2),
        ('{ node(id: "x") { ... on Contract { awardFamily { count } } } }', None, 2),
        (
            "{ ...C } fragment C on Query { contracts(first: 30) { nodes { ...F } } } "
            "fragment F on Contract { awardFamily { count } }",
            None,
            2 * 3 + 30,
        ),
    ],
)
def test_estimate(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None, cost: int) -> None:
    assert estimate_cost(schema, parse(query), variables) == cost


EVERY_KIND = "leads { title } tenders { reference } contracts { piid }"


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ('{ searchByKind(keywords: "x") { __typename } }', None, 0),
        ('{ searchByKind(keywords: "x") { leads { title } } }', None, 1),
        ('{ searchByKind(keywords: "x") { tenders { reference } } }', None, 1),
        ('{ searchByKind(keywords: "x") { contracts { piid } } }', None, 2),  # SAM and Canada
        (f'{{ searchByKind(keywords: "x") {{ {EVERY_KIND} }} }}', None, 4),
        (f'{{ searchByKind(keywords: "x", first: 30) {{ {EVERY_KIND} }} }}', None, 4 * 3),
        (f'{{ searchByKind(keywords: "x", first: 100) {{ {EVERY_KIND} }} }}', None, 4 * 10),
        (f'query($n: Int) {{ searchByKind(keywords: "x", first: $n) {{ {EVERY_KIND} }} }}', {"n": 11}, 4 * 2),
        # `kinds` is not read: the estimate is an upper bound, like for @skip/@include.
        ('{ searchByKind(keywords: "x", kinds: [LEAD]) { leads { title } contracts { piid } } }', None, 3),
        # A field under a kind's list costs once per result: up to `first` contracts, each with its award family.
        ('{ searchByKind(keywords: "x", first: 20) { contracts { awardFamily { count } } } }', None, 2 * 2 + 20),
        # Aliases are separate calls; the same response key twice is one.
        (
            '{ searchByKind(keywords: "x") { a: leads { title } b: leads { url } leads { title } leads { url } } }',
            None,
            3,
        ),
        (
            '{ searchByKind(keywords: "x") { ...K ... on SearchResults { tenders { reference } } } } '
            "fragment K on SearchResults { leads { title } ...C } fragment C on SearchResults { contracts { piid } }",
            None,
            4,
        ),
        (
            '{ a: searchByKind(keywords: "x") { leads { title } } b: searchByKind(keywords: "y") { leads { title } } }',
            None,
            2,
        ),
    ],
)
def test_search_costs_the_calls_of_the_kinds_selected(
    schema: GraphQLSchema, query: str, variables: dict[str, Any] | None, cost: int
) -> None:
    assert estimate_cost(schema, parse(query), variables) == cost


def test_search_fragment_cycles_end(schema: GraphQLSchema) -> None:
    document = parse('{ searchByKind(keywords: "x") { ...A } } fragment A on SearchResults { leads { title } ...A }')
    assert estimate_cost(schema, document) == 1


def test_the_named_operation_is_costed(schema: GraphQLSchema) -> None:
    document = parse("query A { leads(first: 100) { totalCount } } query B { tenders { totalCount } }")
    assert estimate_cost(schema, document, None, "A") == 10
    assert estimate_cost(schema, document, None, "B") == 1
    assert estimate_cost(schema, document, None, "C") == 0


def test_fragment_cycles_end(schema: GraphQLSchema) -> None:
    document = parse("{ ...A } fragment A on Query { leads { totalCount } ...A }")
    assert estimate_cost(schema, document) == 1


def doubling(levels: int, on: str, leaf: str) -> str:
    """Fragments D0..D{levels} on `on`, each spreading the previous one twice: D{levels} expands to 2^levels leaves."""
    spreads = (f"fragment D{i} on {on} {{ ...D{i - 1} ...D{i - 1} }}" for i in range(1, levels + 1))
    return " ".join((f"fragment D0 on {on} {{ {leaf} }}", *spreads))


def contracts_doubling(levels: int) -> str:
    return f"{{ contracts(first: 50) {{ nodes {{ ...D{levels} }} }} }} " + doubling(
        levels, "Contract", "awardFamily { count }"
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ ...D60 } " + doubling(60, "Query", "sources { name }"), 0),
        ("{ ...D60 } " + doubling(60, "Query", "leads(first: 11) { totalCount }"), MAX_COST),  # 2 * 2^60
        ("{ leads(first: 50) { edges { ...D60 } } } " + doubling(60, "LeadEdge", "node { title }"), 5),
        ("{ leads(first: 50) { nodes { ...D60 } } } " + doubling(60, "Lead", "title"), 5),
        (contracts_doubling(10), 2 * 5 + 50 * 2**10),
        (contracts_doubling(30), 2 * 5 + 50 * 2**30),
        (contracts_doubling(60), MAX_COST),
        ('{ searchByKind(keywords: "x") { ...D60 } } ' + doubling(60, "SearchResults", "leads { title }"), 1),
    ],
    ids=[
        "60-free",
        "60-root-pages",
        "60-lead-edges",
        "60-leads",
        "10-contracts",
        "30-contracts",
        "60-contracts",
        "60-search-kinds",
    ],
)
def test_fragments_spread_twice_per_level_are_costed_in_linear_time(
    schema: GraphQLSchema, query: str, cost: int
) -> None:
    assert estimate_cost(schema, parse(query)) == cost


class _CountingWalker(_CostWalker):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.visits = 0

    def selection_set(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        self.visits += 1
        return super().selection_set(selection_set, parent)


class _SelectionSetCounter(Visitor):
    count = 0

    def enter_selection_set(self, *_: object) -> None:
        self.count += 1


@pytest.mark.parametrize("levels", [20, 60])
def test_each_selection_set_is_visited_once(schema: GraphQLSchema, levels: int) -> None:
    document = parse(contracts_doubling(levels))
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _CountingWalker(schema, fragments, operation, {}, COSTS)
    assert schema.query_type is not None
    assert walker.selection_set(operation.selection_set, schema.query_type) == min(2 * 5 + 50 * 2**levels, MAX_COST)
    counter = _SelectionSetCounter()
    visit(document, counter)
    assert walker.visits == counter.count  # 20 levels: 26 (it was 3,145,728 before memoising fragments)


def test_a_fragment_is_costed_per_parent_type(schema: GraphQLSchema) -> None:
    # An unknown type condition (validation reports it) takes the parent's type: 1 under SourceStatus, 0 under Query.
    query = "{ sources { ...U } ...U } fragment U on Unknown { leadSources { source } }"
    assert estimate_cost(schema, parse(query)) == 1


def test_the_table_the_specs_give() -> None:
    assert (
        CostTable(
            calls={
                ("Query", "leads"): 1,
                ("Query", "tenders"): 1,
                ("Query", "contracts"): 2,  # SAM and Canada
                ("SourceStatus", "leadSources"): 1,
                ("Query", "lead"): 1,
                ("Query", "tender"): 1,
                ("Query", "contract"): 1,
                ("Query", "node"): 1,
                ("Query", "awardFamily"): 1,
                ("Contract", "awardFamily"): 1,
                ("Query", "search"): 4,  # every source of leads, tenders and contracts
            },
            calls_by_selected_field={("Query", "searchByKind"): {"leads": 1, "tenders": 1, "contracts": 2}},
        )
        == COSTS
    )


def test_the_table_follows_the_specs() -> None:
    sam = next(spec for spec in SPECS if spec.name == "sam")
    canada = next(spec for spec in SPECS if spec.name == "canada")
    dear_sam = dataclasses.replace(sam, call_cost=3)
    fourth = dataclasses.replace(
        canada,
        name="fourth",
        kinds=frozenset({RecordKind.TENDER}),
        criteria={RecordKind.TENDER: frozenset({"keywords"})},
        default_ttl_s={RecordKind.TENDER: 60},
    )
    table = cost_table([*SPECS, fourth])
    assert table.calls[("Query", "tenders")] == 2
    assert table.calls[("Query", "tender")] == 1  # an id names one source
    assert table.calls_by_selected_field[("Query", "searchByKind")]["tenders"] == 2
    dear = cost_table([spec if spec is not sam else dear_sam for spec in SPECS])
    assert dear.calls[("Query", "contracts")] == 1 + 3
    assert dear.calls[("Query", "awardFamily")] == 3
    assert dear.calls[("Query", "contract")] == 3  # the dearest source an id may name
    without_leads = cost_table([spec for spec in SPECS if spec.name != "ita"])
    assert ("Query", "leads") not in without_leads.calls
    assert "leads" not in without_leads.calls_by_selected_field[("Query", "searchByKind")]


def test_an_empty_table_costs_nothing(schema: GraphQLSchema) -> None:
    assert estimate_with(schema, parse("{ contracts(first: 100) { totalCount } }"), None, None, CostTable()) == 0
