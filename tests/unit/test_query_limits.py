"""Token counting and the shape of operations (depth, aliases, directives, root fields), fragments expanded."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_introspection_query,
    parse,
)

from schema.limits import (
    MAX_ALIASES_LIMIT,
    MAX_COUNT,
    MAX_DEPTH_LIMIT,
    MAX_DIRECTIVES_LIMIT,
    MAX_ROOT_FIELDS_LIMIT,
    OperationShape,
    QueryLimits,
    _ShapeWalker,
    count_tokens,
    operation_shapes,
    shape_errors,
)


@pytest.mark.parametrize(
    ("query", "tokens"),
    [
        ("{ a }", 3),
        ("{ a(x: 1) }", 8),
        ('{ a(x: "a long string with spaces") }', 8),
        ("# a comment only\n{ a }", 3),
        ("{ a, b, c }", 5),
        ("{ a ... on T { b } }", 9),
    ],
)
def test_count_tokens(query: str, tokens: int) -> None:
    assert count_tokens(query, 1000) == tokens


def test_count_tokens_stops_early() -> None:
    assert count_tokens("{ " + "a " * 10_000 + "}", 50) == 50


def test_count_tokens_stops_at_a_lexing_error() -> None:
    assert count_tokens('{ a "unterminated', 100) == 2


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ("{ a }", OperationShape(depth=1, aliases=0, directives=0, root_fields=1)),
        ("{ a { b { c } } d }", OperationShape(depth=3, aliases=0, directives=0, root_fields=2)),
        ("{ x: a y: a { z: b } }", OperationShape(depth=2, aliases=3, directives=0, root_fields=2)),
        ("{ a @skip(if: true) b @include(if: true) @skip(if: false) }", OperationShape(1, 0, 3, 2)),
        ("query Q @dir { a }", OperationShape(1, 0, 1, 1)),
        ("{ ...F ...F } fragment F on Q { x: a { b } }", OperationShape(2, 2, 0, 1)),
        ("{ ... on Q { a } ... { b c: b } }", OperationShape(1, 1, 0, 3)),
        ("{ t { ofType { ofType { ofType { name } } } } }", OperationShape(2, 0, 0, 1)),
        ("{ ...A } fragment A on Q { a { ...A } }", OperationShape(1, 0, 0, 1)),
        ("{ ...Missing }", OperationShape(0, 0, 0, 0)),
    ],
)
def test_operation_shape(query: str, shape: OperationShape) -> None:
    assert operation_shapes(parse(query)) == [shape]


def test_every_operation_is_measured() -> None:
    shapes = operation_shapes(parse("query A { a } query B { a { b } c d }"))
    assert [shape.depth for shape in shapes] == [1, 2]
    assert [shape.root_fields for shape in shapes] == [1, 3]


def test_the_introspection_query_is_shallow() -> None:
    [shape] = operation_shapes(parse(get_introspection_query(descriptions=True)))
    assert shape.depth <= 6


def test_shape_errors_carry_codes_and_numbers() -> None:
    limits = QueryLimits(max_depth=2, max_root_fields=1)
    errors = shape_errors(parse("{ a { b { c } } d }"), limits)
    assert [(e.extensions or {}).get("code") for e in errors] == [MAX_DEPTH_LIMIT, MAX_ROOT_FIELDS_LIMIT]
    assert errors[0].extensions == {"code": MAX_DEPTH_LIMIT, "limit": 2, "actual": 3}


def test_nesting_beyond_the_stack_is_a_depth_refusal() -> None:
    chain = " ".join(f"fragment F{i} on Q {{ ...F{i + 1} }}" for i in range(5000))
    document = parse("{ ...F0 } " + chain + " fragment F5000 on Q { a }")
    errors = shape_errors(document, QueryLimits())
    assert [(e.extensions or {}).get("code") for e in errors] == [MAX_DEPTH_LIMIT]


def doubling(levels: int, leaf: str) -> str:
    """`{ ...D{levels} }` where each fragment spreads the previous one twice: 2^levels copies of `leaf`."""
    spreads = (f"fragment D{i} on Q {{ ...D{i - 1} ...D{i - 1} }}" for i in range(1, levels + 1))
    return " ".join((f"{{ ...D{levels} }} fragment D0 on Q {{ {leaf} }}", *spreads))


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("levels", "shape"),
    [
        (30, OperationShape(depth=2, aliases=2**30, directives=2**31, root_fields=2)),
        (60, OperationShape(depth=2, aliases=MAX_COUNT, directives=MAX_COUNT, root_fields=2)),
    ],
)
def test_fragments_spread_twice_per_level_are_measured_in_linear_time(levels: int, shape: OperationShape) -> None:
    document = parse(doubling(levels, "x: a @skip(if: false) { b @include(if: true) } c"))
    assert operation_shapes(document) == [shape]
    errors = shape_errors(document, QueryLimits())
    assert [(e.extensions or {}).get("code") for e in errors] == [MAX_ALIASES_LIMIT, MAX_DIRECTIVES_LIMIT]
    assert errors[0].extensions == {"code": MAX_ALIASES_LIMIT, "limit": 15, "actual": shape.aliases}


class _CountingWalker(_ShapeWalker):
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        super().__init__(fragments)
        self.visits = 0

    def _selection_set(self, selection_set: SelectionSetNode | None) -> tuple[int, int, int]:
        self.visits += 1
        return super()._selection_set(selection_set)

    def _response_keys(self, selection_set: SelectionSetNode, visited: set[str]) -> set[str]:
        self.visits += 1
        return super()._response_keys(selection_set, visited)


@pytest.mark.parametrize("levels", [20, 60])
def test_each_fragment_is_walked_once(levels: int) -> None:
    document = parse(doubling(levels, "a { b }"))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    walker = _CountingWalker(fragments)
    assert walker.operation(operation) == OperationShape(depth=2, aliases=0, directives=0, root_fields=1)
    # For the shape, once each: the operation's selection set, the fragments', `a`'s and `b`'s (none): levels + 4;
    # for the root fields, the operation's and the fragments' once more: levels + 2. 20 levels: 46, it was 2,097,176.
    assert walker.visits == 2 * levels + 6


def test_root_fields_count_each_response_key_once_through_fragments() -> None:
    document = parse("{ ...A ...B x: c } fragment A on Q { a ...B } fragment B on Q { b ...A x: d }")
    assert [shape.root_fields for shape in operation_shapes(document)] == [3]
