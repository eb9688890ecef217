"""Accepted documents executed directly (`gateway.edge.execution`) answer as strawberry's whole pipeline does."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from gateway.edge import execution
from gateway.edge.cost import CostedRequestContext, RequestCost
from gateway.edge.execution import Executor
from gateway.edge.inputs import input_errors
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


class CountingInputs:
    """`gateway.edge.execution.input_errors`, counted: how often the direct way checked the caller's inputs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return input_errors(*args, **kwargs)

        monkeypatch.setattr(execution, "input_errors", counted)


async def run_from(executor: Executor, query: str, variables: dict[str, Any], source: bytes | str | None) -> Any:
    request = context(query)
    result = await executor.execute(query, request.document, variables, None, request, variables_source=source)
    return outcome(result)


async def test_good_inputs_are_checked_once_per_text_and_variables_source(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "query Page($n: Int!) { leads(first: $n) @skip(if: true) { totalCount } }"
    executor = Executor(SCHEMA)
    await run_from(executor, query, {"n": 5}, b'{"n":5}')  # the pipeline accepts the document
    inputs = CountingInputs(monkeypatch)
    answers = [await run_from(executor, query, {"n": 5}, b'{"n":5}') for _ in range(3)]
    assert inputs.calls == 1  # checked on the first direct run only
    assert answers == [("ExecutionResult", {}, [])] * 3

    await run_from(executor, query, {"n": 5}, b'{"n": 5}')  # other bytes: checked again
    await run_from(executor, query, {"n": 5}, None)  # no source: checked every time
    await run_from(executor, query, {"n": 5}, None)
    assert inputs.calls == 4


async def test_inputs_that_do_not_do_are_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "query Page($n: Int!) { leads(first: $n) { totalCount } }"
    executor = Executor(SCHEMA)
    await run_from(executor, query, {"n": 5}, b'{"n":5}')
    inputs = CountingInputs(monkeypatch)
    refused = [await run_from(executor, query, {"n": 500}, b'{"n":500}') for _ in range(2)]
    assert inputs.calls == 2
    assert refused[0] == refused[1]
    assert refused[0][2][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_good_inputs_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    query = "query Page($n: Int!) { leads(first: $n) @skip(if: true) { totalCount } }"
    executor = Executor(SCHEMA, inputs_cache_size=2)
    await run_from(executor, query, {"n": 1}, b"1")
    inputs = CountingInputs(monkeypatch)
    for source in (b"1", b"2", b"3", b"1"):  # "1" forgotten when "3" came
        await run_from(executor, query, {"n": int(source)}, source)
    assert inputs.calls == 4
    too_long = b" " * (execution.CHECKED_INPUTS_MAX_CHARS + 1)
    await run_from(executor, query, {"n": 1}, too_long)
    await run_from(executor, query, {"n": 1}, too_long)  # never remembered
    assert inputs.calls == 6
