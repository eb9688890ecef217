"""Completion plans (gateway.edge.compiled.plan) answer as graphql-core's own completion: the same data, the same
errors at the same paths, whatever a value holds (a null where none may be, a leaf that does not coerce, a resolver
that raises, an Exception as a value, an object of another type, an awaitable). The gateway's whole corpus is held
equal by tests/unit/test_compiled_resolvers.py; here, that plans do take over, and every way they must give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.edge.compiled.plan import PlannedExecutionContext
from gateway.edge.compiled.resolvers import compile_schema
from gateway.upstreams.deadline import Deadline
from resolvers.context import RequestContext
from tests.schema.fakes import standard_upstreams
from tests.unit.test_compiled_resolvers import COMPILED, STRAWBERRY


@strawberry.interface
class Coded:
    code: str


@strawberry.type
class Part(Coded):
    pass


@dataclass
class Impostor:
    """Has what a Part has, but is none: strawberry's `is_type_of` (Part implements an interface) refuses it."""

    code: str


@strawberry.type
class Item:
    name: str
    size: int | None
    tags: list[str]
    parts: list[Part]
    raw: strawberry.Private[Any] = None

    @strawberry.field
    def upper(self) -> str:
        return self.name.upper()

    @strawberry.field
    def repeated(self, times: int = 2) -> str:
        return self.name * times

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom {self.name}")

    @strawberry.field
    def odd(self) -> int | None:
        value: int | None = self.raw  # whatever the item holds
        return value

    @strawberry.field
    async def later(self) -> str:
        return self.name


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [
            Item(name="a", size=1, tags=["x"], parts=[Part(code="p")], raw=3),
            Item(name=None, size=None, tags=[], parts=[], raw=None),  # type: ignore[arg-type]  # null, non-null field
            Item(name="c", size=2, tags=["y", None], parts=[Part(code=None)], raw="x"),  # type: ignore[list-item, arg-type]
            Item(name="d", size="big", tags=(), parts=[], raw=ValueError("as a value")),  # type: ignore[arg-type]
        ]

    @strawberry.field
    def healthy(self) -> list[Item]:
        return [Item(name=n, size=len(n), tags=[n], parts=[Part(code=n)]) for n in ("ab", "cd")]

    @strawberry.field
    def wrong(self) -> list[Part]:
        return [Part(code="ok"), Item(name="x", size=1, tags=[], parts=[])]  # type: ignore[list-item]

    @strawberry.field
    def impostors(self) -> list[Part]:
        return [Part(code="ok"), Impostor(code="no")]  # type: ignore[list-item]


@dataclass
class Counted:
    planned: int = 0


COUNTED = Counted()


class CountingContext(PlannedExecutionContext):
    def complete_list_value(self, *args: Any, **kwargs: Any) -> Any:
        result = super().complete_list_value(*args, **kwargs)
        COUNTED.planned += sum(plan is not None for _, plan in self._object_plans.values())
        return result


PLANNED = strawberry.Schema(query=Query, execution_context_class=CountingContext)
PLAIN = strawberry.Schema(query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext)
compile_schema(PLANNED)

DOCUMENTS = [
    "{ healthy { name size tags parts { code } upper repeated(times: 3) __typename } }",
    "{ items { name } }",
    "{ items { size } }",
    "{ items { tags } }",
    "{ items { parts { code } } }",
    "{ items { boom } }",
    "{ items { upper } }",
    "{ items { odd } }",
    "{ items { later } }",
    "{ wrong { code } }",
    "{ impostors { code } }",
    "query Q($t: Int!) { healthy { repeated(times: $t) } }",
    "query Q($skip: Boolean!) { healthy { name @skip(if: $skip) size @include(if: $skip) } }",
    "{ healthy { ... on Item { name } ...F } } fragment F on Item { tags size }",
]


def _answer(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    return result.data, sorted((error.message, error.path) for error in result.errors or [])


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_a_planned_completion_answers_as_graphql_cores(document: str) -> None:
    variables = {"t": 4, "skip": True}
    planned = await PLANNED.execute(document, variable_values=variables)
    plain = await PLAIN.execute(document, variable_values=variables)
    assert _answer(planned) == _answer(plain)


async def test_plans_take_over_where_every_field_is_planned() -> None:
    COUNTED.planned = 0
    result = await PLANNED.execute(DOCUMENTS[0])
    assert result.errors is None
    assert COUNTED.planned >= 2  # Item and Part


async def test_the_gateway_plans_the_connections_of_a_page() -> None:
    seen: list[str] = []

    class Recording(PlannedExecutionContext):
        def complete_object_value(self, return_type: GraphQLObjectType, *args: Any, **kwargs: Any) -> Any:
            result = super().complete_object_value(return_type, *args, **kwargs)
            seen.extend(key[0].name for key, (_, plan) in self._object_plans.items() if plan is not None)
            return result

    COMPILED.execution_context_class = Recording
    try:
        context = RequestContext(upstreams=standard_upstreams(), deadline=Deadline.after(30.0), request_id="plans")
        result = await COMPILED.execute(
            "{ leads(first: 3) { edges { cursor node { leadId title publishDate } } pageInfo { endCursor } } }",
            context_value=context,
        )
    finally:
        COMPILED.execution_context_class = PlannedExecutionContext
    assert result.errors is None
    assert {"LeadConnection", "LeadEdge", "Lead", "PageInfo"} <= set(seen)
    plain_context = RequestContext(upstreams=standard_upstreams(), deadline=Deadline.after(30.0), request_id="plain")
    plain = await STRAWBERRY.execute(
        "{ leads(first: 3) { edges { cursor node { leadId title publishDate } } pageInfo { endCursor } } }",
        context_value=plain_context,
    )
    assert result.data == plain.data
