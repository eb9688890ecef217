"""Every field that calls an upstream has a cost: each one, executed against fake upstreams that count their calls,
costs at least as many calls as it made (the cost table derived from the specs, as the edge estimates it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
import strawberry
from graphql import parse
from strawberry.types.base import StrawberryObjectDefinition

from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from resolvers.costs import cost_table
from resolvers.query import Query
from schema.cost import estimate_cost
from schema.node import to_global_id
from tests.schema.fakes import FakeClient, FakeUpstreams, execute, standard_upstreams, tender

SCHEMA = strawberry.Schema(query=Query)
FieldKey = tuple[str, str]

# One operation per field whose resolver may call an upstream (every async resolver of the schema).
CALLING_FIELDS: dict[FieldKey, str] = {
    ("Query", "leads"): "{ leads(first: 10) { totalCount } }",
    ("Query", "lead"): '{ lead(id: "L1") { title } }',
    ("Query", "tenders"): "{ tenders { totalCount } }",
    ("Query", "tender"): f'{{ tender(id: "{to_global_id("Tender", "canada", "T1")}") {{ reference }} }}',
    ("Query", "contracts"): "{ contracts { totalCount } }",
    ("Query", "contract"): f'{{ contract(id: "{to_global_id("Contract", "sam", "P1|0||")}") {{ piid }} }}',
    ("Query", "awardFamily"): '{ awardFamily(piid: "P1") { count } }',
    ("Query", "node"): f'{{ node(id: "{to_global_id("Contract", "canada", "C1")}") {{ id }} }}',
    ("Contract", "awardFamily"): "{ contracts(first: 20) { nodes { awardFamily { count } } } }",
    ("Query", "search"): "{ search(first: 20) { nodes { ... on Contract { awardFamily { count } } } } }",
    ("SearchResults", "leads"): '{ searchByKind(keywords: "x") { leads { id } } }',
    ("SearchResults", "tenders"): '{ searchByKind(keywords: "x") { tenders { reference } } }',
    (
        "SearchResults",
        "contracts",
    ): '{ searchByKind(keywords: "x", first: 20) { contracts { awardFamily { count } } } }',
    ("SourceStatus", "leadSources"): "{ sources { leadSources { source } } }",
}
# Async resolvers that call no upstream.
CALLING_NO_UPSTREAM: dict[FieldKey, str] = {
    ("SourceStatus", "quotaRemaining"): "reads the gateway's own quota counter (memory or Redis)",
    ("Tender", "award"): "reads the tender's mirror, the gateway's local index (no upstream call)",
    ("Contract", "tender"): "reads the contract's mirror, the gateway's local index (no upstream call)",
}

FOURTH = dataclasses.replace(
    CANADA,
    name="fourth",
    kinds=frozenset({RecordKind.TENDER}),
    criteria={RecordKind.TENDER: frozenset({"keywords"})},
    default_ttl_s={RecordKind.TENDER: 60},
)


def async_fields() -> set[FieldKey]:
    found = set()
    for name, concrete in SCHEMA.schema_converter.type_map.items():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition):
            found |= {
                (name, SCHEMA.config.name_converter.get_graphql_name(field))
                for field in definition.fields
                if field.is_async
            }
    return found


def test_every_field_that_may_call_an_upstream_is_exercised_here() -> None:
    assert async_fields() == set(CALLING_FIELDS) | set(CALLING_NO_UPSTREAM)


def world(name: str) -> tuple[Sequence[UpstreamSpec], FakeUpstreams]:
    if name == "catalog":
        return SPECS, standard_upstreams()
    fourth = FakeClient("fourth", tenders=[tender("F1")])
    return (*SPECS, FOURTH), standard_upstreams(specs=(*SPECS, FOURTH), fourth=fourth)


@pytest.mark.parametrize("field", sorted(CALLING_FIELDS), ids=".".join)
@pytest.mark.parametrize("world_name", ["catalog", "fourth-upstream"])
async def test_a_field_costs_at_least_the_calls_it_makes(field: FieldKey, world_name: str) -> None:
    specs, upstreams = world(world_name)
    query = CALLING_FIELDS[field]
    outcome = await execute(upstreams, query)
    assert outcome.errors == []
    calls = upstreams.total_calls()
    assert calls >= 1, "the operation must exercise an upstream call"
    cost = estimate_cost(SCHEMA._schema, parse(query), None, None, cost_table(specs))
    assert cost >= calls, f"{field}: {calls} upstream calls, estimated {cost}"


async def test_the_fourth_upstream_raises_the_cost_of_tenders() -> None:
    upstreams = standard_upstreams(specs=(*SPECS, FOURTH), fourth=FakeClient("fourth"))
    query = CALLING_FIELDS[("Query", "tenders")]
    await execute(upstreams, query)
    assert upstreams.total_calls() == 2
    assert estimate_cost(SCHEMA._schema, parse(query), None, None, cost_table((*SPECS, FOURTH))) == 2
