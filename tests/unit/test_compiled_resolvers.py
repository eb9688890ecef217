"""The compiled field resolvers (gateway.edge.compiled) answer as strawberry's own: every document of docs/examples/
and every document the e2e suite sent (tests/document_corpus.py records them) executed through both, against the
same fake upstreams, gives the same data, the same errors and the same upstream requests (the domain queries the
converted arguments became)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from gateway.edge.compiled.resolvers import ArgumentPlan, Planner, compile_schema
from gateway.edge.documents import ParsedOnce, ValidatedOnce
from gateway.edge.schema import GatewaySchema, PreExecutionChecks, query_limits
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline
from resolvers.context import RequestContext
from resolvers.costs import cost_table
from schema.limits import limits_extension_factory
from tests import document_corpus
from tests.schema.fakes import FakeUpstreams, standard_upstreams

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "docs" / "examples"


def _schema(*, compiled: bool) -> GatewaySchema:
    """The schema `build_schema` assembles (its query limits and checks before execution), compiled or not."""
    settings = Settings()
    return GatewaySchema(
        costs=cost_table(settings.specs),
        max_query_cost=settings.max_query_cost,
        extensions=[ParsedOnce, limits_extension_factory(query_limits(settings)), ValidatedOnce, PreExecutionChecks],
        compiled=compiled,
    )


COMPILED = _schema(compiled=True)
STRAWBERRY = _schema(compiled=False)


@dataclass(frozen=True)
class Answer:
    data: Any
    errors: list[tuple[str, Any, Any, str]]
    requests: dict[str, list[str]]
    raised: str | None = None


def _requests(upstreams: FakeUpstreams) -> dict[str, list[str]]:
    requests: dict[str, list[str]] = {}
    for upstream in upstreams.all():
        client = upstream.client
        if client is not None:
            requests[upstream.spec.name] = [repr(request) for request in client.requests]
    return requests


async def _answer(schema: GatewaySchema, request: dict[str, Any]) -> Answer:
    upstreams = standard_upstreams()
    context = RequestContext(upstreams=upstreams, deadline=Deadline.after(30.0), request_id="compiled")
    try:
        result = await schema.execute(
            request["query"],
            variable_values=request.get("variables"),
            context_value=context,
            operation_name=request.get("operationName"),
        )
    except Exception as raised:  # e.g. an unknown operation name: both must raise alike
        return Answer(None, [], _requests(upstreams), f"{type(raised).__name__}: {raised}")
    errors = [
        (error.message, error.path, error.locations, type(error.original_error).__name__)
        for error in result.errors or []
    ]
    reported = [(r.error.code, None, list(r.path), r.error.message) for r in context.reported]
    return Answer(result.data, errors + reported, _requests(upstreams))


def _examples() -> list[dict[str, Any]]:
    return [
        {"query": path.read_text(encoding="utf-8"), "variables": None, "operationName": None}
        for path in sorted(EXAMPLES.glob("*.graphql"))
    ]


def _corpus() -> list[dict[str, Any]]:
    return _examples() + list(document_corpus.recorded())


def test_the_gateway_schema_is_compiled_and_the_comparison_schema_is_not() -> None:
    def resolvers(schema: GatewaySchema) -> dict[str, Any]:
        return {
            f"{named.name}.{name}": field.resolve
            for named in schema._schema.type_map.values()
            if isinstance(named, GraphQLObjectType)
            for name, field in named.fields.items()
        }

    def compiled_names(schema: GatewaySchema) -> set[str]:
        return {
            name
            for name, resolve in resolvers(schema).items()
            if getattr(resolve, "__module__", "") == "gateway.edge.compiled.resolvers"
        }

    assert resolvers(COMPILED).keys() == resolvers(STRAWBERRY).keys()
    assert compiled_names(STRAWBERRY) == set()
    compiled = compiled_names(COMPILED)
    assert {"Query.leads", "Query.tenders", "Query.contracts", "Tender.title"} <= compiled
    assert compile_schema(_schema(compiled=False)) == len(compiled)


def test_the_corpus_holds_every_example() -> None:
    assert len(_examples()) >= 5
    assert len(_corpus()) >= len(_examples())


@pytest.mark.parametrize("request_number", range(len(_corpus())))
async def test_compiled_resolvers_answer_as_strawberrys_own(request_number: int) -> None:
    request = _corpus()[request_number]
    compiled = await _answer(COMPILED, request)
    plain = await _answer(STRAWBERRY, request)
    assert compiled == plain, json.dumps(request)[:500]


def _fields_with_arguments(schema: GatewaySchema) -> list[StrawberryField]:
    fields = []
    for named in schema._schema.type_map.values():
        if isinstance(named, GraphQLObjectType):
            for graphql_field in named.fields.values():
                field = graphql_field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
                if isinstance(field, StrawberryField) and field.base_resolver is not None and field.arguments:
                    fields.append(field)
    return fields


def test_every_argument_of_the_schema_is_planned_as_strawberry_converts_it() -> None:
    """Each argument with a full input value (every input field given, lists of two) converts alike both ways."""
    converter = COMPILED.schema_converter
    planner = Planner(converter)
    fields = _fields_with_arguments(COMPILED)
    assert len(fields) >= 5
    for field in fields:
        plan = ArgumentPlan(field, planner)
        assert plan.planned, field.python_name
        for raw in ({}, {name: None for name, _, _, _ in plan.steps}):
            expected = convert_arguments(raw, field.arguments, converter.scalar_registry, converter.config)
            assert plan.kwargs(raw, None) == expected, field.python_name
