"""Error codes come from the kind of error and the phase that found it, never from its message; the caller's inputs are
checked before execution; identical errors are collapsed and their number capped."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import ArgumentNode, FieldNode, GraphQLError, GraphQLSyntaxError, NameNode, Source, VariableNode, parse
from graphql.error.graphql_error import GraphQLFormattedError

from gateway.edge.graphql_errors import MAX_ERRORS, Phase, collapsed, error_code, format_error, is_unexpected
from gateway.edge.inputs import input_errors
from gateway.edge.schema import build_schema
from gateway.errors import UpstreamTimeout
from gateway.settings import Settings

SCHEMA = build_schema(Settings(profile="dev")).graphql_schema
# graphql-core's own English, which the codes used to be chosen by: it must make no difference now
MISLEADING = "Expected value of type 'Int', found \"x\"; Int cannot represent it: got invalid value"
FIELD = FieldNode(name=NameNode(value="leads"))
VARIABLE = VariableNode(name=NameNode(value="n"))
RAISED = GraphQLError("raised by graphql-core")  # the original of graphql-core's own errors during execution


def at(node: FieldNode | VariableNode | ArgumentNode, message: str = "x", original: Exception = RAISED) -> GraphQLError:
    return GraphQLError(message, node, path=["leads"], original_error=original)


@pytest.mark.parametrize(
    ("error", "phase", "code"),
    [
        (GraphQLSyntaxError(Source("{"), 1, "Expected Name"), Phase.DOCUMENT, "GRAPHQL_PARSE_FAILED"),
        (GraphQLError(MISLEADING), Phase.DOCUMENT, "GRAPHQL_VALIDATION_FAILED"),
        (
            GraphQLError("Syntax Error: not really", extensions={"code": "BAD_USER_INPUT"}),
            Phase.DOCUMENT,
            "BAD_USER_INPUT",
        ),
        (GraphQLError("anything at all"), Phase.INPUTS, "BAD_USER_INPUT"),
        # during execution: at a value the caller gave, or at a field (a value the schema could not serve)
        (
            GraphQLError("whatever", VARIABLE, path=["leads"], original_error=GraphQLError("x")),
            Phase.EXECUTION,
            "BAD_USER_INPUT",
        ),
        (
            GraphQLError(MISLEADING, FIELD, path=["leads"], original_error=GraphQLError("x")),
            Phase.EXECUTION,
            "INTERNAL_SERVER_ERROR",
        ),
        (
            GraphQLError("x", FIELD, path=["leads"], original_error=UpstreamTimeout("sam", "slow")),
            Phase.EXECUTION,
            "UPSTREAM_TIMEOUT",
        ),
    ],
)
def test_the_code_is_the_kind_of_error_and_its_phase(error: GraphQLError, phase: Phase, code: str) -> None:
    assert error_code(error, phase) == code


def test_errors_that_are_not_the_callers_input_are_masked_as_unexpected() -> None:
    not_served = at(FIELD, "Int cannot represent 1.5")
    assert is_unexpected(not_served)
    assert format_error(not_served, Phase.EXECUTION) == {
        "message": "Internal server error",
        "path": ["leads"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    argument = ArgumentNode(name=NameNode(value="first"), value=VARIABLE)
    given = GraphQLError(
        "Argument 'first' has invalid value", argument, path=["leads"], original_error=GraphQLError("x")
    )
    assert not is_unexpected(given)
    assert not is_unexpected(GraphQLError("x", original_error=UpstreamTimeout("sam", "slow")))
    assert is_unexpected(GraphQLError("x", original_error=KeyError("bug")))


def formatted(message: str, code: str, path: list[str | int] | None = None, line: int = 1) -> GraphQLFormattedError:
    error: dict[str, Any] = {
        "message": message,
        "locations": [{"line": line, "column": 1}],
        "extensions": {"code": code},
    }
    if path is not None:
        error["path"] = path
    return error  # type: ignore[return-value]


def test_identical_errors_are_collapsed_wherever_they_are_and_capped() -> None:
    unknown = [formatted("Unknown directive '@a'.", "GRAPHQL_VALIDATION_FAILED", line=n) for n in range(10)]
    assert collapsed(unknown) == unknown[:1]
    per_field = [formatted("sam failed", "UPSTREAM_UNAVAILABLE", path=["a", n]) for n in range(3)]
    assert collapsed(per_field + per_field) == per_field  # one per place in the answer
    other_code = formatted("Unknown directive '@a'.", "BAD_USER_INPUT")
    assert collapsed([*unknown, other_code]) == [unknown[0], other_code]
    many = [formatted(f"Cannot query field 'f{n}'.", "GRAPHQL_VALIDATION_FAILED") for n in range(MAX_ERRORS + 5)]
    assert collapsed(many) == many[:MAX_ERRORS]


def problems(document: str, variables: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    errors = input_errors(SCHEMA, parse(document), variables, None, max_errors=MAX_ERRORS)
    return [(error.message, (error.extensions or {})["code"]) for error in errors]


@pytest.mark.parametrize(
    "document",
    [
        "{ leads(first: 1) { totalCount } tenders(first: 100) { totalCount } }",
        "query($n: Int) { leads(first: $n) { totalCount } }",  # null: the default
        "{ contracts { nodes { title(language: FR) } } }",
        "query($skip: Boolean!, $n: Int) { leads(first: $n) @skip(if: $skip) { totalCount } }",
    ],
)
def test_good_inputs_have_no_problems(document: str) -> None:
    assert problems(document, {"skip": True, "n": 500} if "skip" in document else {"n": None}) == []


def test_page_sizes_out_of_range_are_bad_user_input_from_literals_variables_and_fragments() -> None:
    out_of_range = ("`first` must be between 1 and 100", "BAD_USER_INPUT")
    assert problems("{ leads(first: 101) { totalCount } }") == [out_of_range]
    assert problems("query($n: Int) { tenders(first: $n) { totalCount } }", {"n": 0}) == [out_of_range]
    spread = "query($n: Int) { ...F } fragment F on Query { contracts(first: $n) { totalCount } }"
    assert problems(spread, {"n": -3}) == [out_of_range]
    included = "query($n: Int, $show: Boolean!) { leads(first: $n) @include(if: $show) { totalCount } }"
    assert problems(included, {"n": 101, "show": False}) == []  # not executed: not refused
    assert problems(included, {"n": 101, "show": True}) == [out_of_range]


def test_null_for_a_non_null_argument_and_bad_variables_are_bad_user_input() -> None:
    [(message, code)] = problems(
        "query($l: Language) { contracts(first: 1) { nodes { title(language: $l) } } }", {"l": None}
    )
    assert code == "BAD_USER_INPUT"
    assert "language" in message
    assert [code for _, code in problems("query($n: Int!) { leads(first: $n) { totalCount } }", {"n": "x"})] == [
        "BAD_USER_INPUT"
    ]
    assert [code for _, code in problems("query($n: Int!) { leads(first: $n) { totalCount } }", {})] == [
        "BAD_USER_INPUT"
    ]
    dates = problems(
        "query($d: Date) { contracts(filter: {awarded: {start: $d}}) { totalCount } }", {"d": "2024-13-45"}
    )
    assert [code for _, code in dates] == ["BAD_USER_INPUT"]
