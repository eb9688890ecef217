"""Accepted documents executed directly (`gateway.edge.execution`) answer as strawberry's whole pipeline does."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from gateway.edge.cost import CostedRequestContext, RequestCost
from gateway.edge.execution import Executor
from gateway.edge.schema import GatewaySchema, build_schema
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline

SCHEMA = build_schema(Settings(profile="prod"))


class CountingSchema:
    """`SCHEMA.execute`, counted: how often the whole pipeline ran."""

    def __init__(self, schema: GatewaySchema, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = schema.execute

        async def counted(*args: Any, **kwargs: Any) -> ExecutionResult:
            self.calls += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(schema, "execute", counted)


def context(query: str, max_query_cost: int = 1_000) -> CostedRequestContext:
    return CostedRequestContext(
        upstreams=None,  # type: ignore[arg-type]  # these documents call no upstream
        deadline=Deadline.after(10),
        request_id="test",
        metering=None,
        cost=RequestCost(SCHEMA.estimate_cost, max_query_cost),
        document=parse(query),
    )


def outcome(result: ExecutionResult) -> tuple[str, Any, list[dict[str, Any]]]:
    return type(result).__name__, result.data, [dict(error.formatted) for error in result.errors or ()]


async def run(executor: Executor, query: str, variables: dict[str, Any] | None = None, **options: Any) -> Any:
    operation_name = options.pop("operation_name", None)
    request = context(query, **options)
    return outcome(await executor.execute(query, request.document, variables, operation_name, request))


@pytest.mark.parametrize(
    ("query", "variables", "operation_name"),
    [
        ("{ __typename }", None, None),
        ("query Named { __typename }", None, None),
        ("query A { __typename } query B { t: __typename }", None, "B"),
        ("query Page($n: Int!) { leads(first: $n) { totalCount } }", {"n": "ten"}, None),  # the caller's inputs
        ("query Page($n: Int!) { leads(first: $n) { totalCount } }", {"n": 500}, None),  # over the page size
    ],
)
async def test_an_accepted_document_answers_as_the_pipeline_did(
    query: str, variables: dict[str, Any] | None, operation_name: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = CountingSchema(SCHEMA, monkeypatch)
    executor = Executor(SCHEMA)
    assert executor.direct
    first = await run(executor, query, variables, operation_name=operation_name)
    second = await run(executor, query, variables, operation_name=operation_name)
    assert pipeline.calls == 1  # the second went the direct way
    assert second == first
    assert first[0] == "ExecutionResult"


async def test_the_cost_decision_refuses_on_the_direct_way_as_in_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "{ leads(first: 5) @skip(if: true) { totalCount } }"  # priced (1), though nothing resolves
    pipeline_refusal = await run(Executor(SCHEMA), query, max_query_cost=0)
    assert pipeline_refusal[0] == "PreExecutionError"
    assert pipeline_refusal[2][0]["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
    pipeline = CountingSchema(SCHEMA, monkeypatch)
    executor = Executor(SCHEMA)
    assert await run(executor, query) == ("ExecutionResult", {}, [])  # accepted
    assert await run(executor, query, max_query_cost=0) == pipeline_refusal  # refused the direct way
    assert pipeline.calls == 1


async def test_what_the_pipeline_refuses_always_goes_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = CountingSchema(SCHEMA, monkeypatch)
    executor = Executor(SCHEMA)
    for _ in range(2):
        refused = await run(executor, "{ nope }")
        assert refused[0] == "PreExecutionError"
        assert refused[2][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert pipeline.calls == 2


def test_a_schema_with_other_extensions_always_takes_the_pipeline() -> None:
    class Masking(SchemaExtension):  # an extension whose hooks might change any answer
        pass

    other = GatewaySchema(costs=SCHEMA.costs, max_query_cost=10, extensions=[*SCHEMA.extensions, Masking])
    assert not Executor(other).direct
