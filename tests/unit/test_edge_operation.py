"""The operation a request selects, read before execution: the `operationName` rule and the root fields."""

from __future__ import annotations

import pytest

from gateway.edge.operation import UNREAD, OperationReader, SelectedOperation
from schema.limits import QueryLimits

SEVERAL = "the document has several operations: name one with `operationName`"
READER = OperationReader(QueryLimits(max_tokens=40, max_depth=2, max_aliases=1))


@pytest.mark.parametrize(
    ("document", "operation_name", "selected"),
    [
        ("{ a b }", None, SelectedOperation(None, frozenset({"a", "b"}), within_limits=True)),
        ("query A { a } query B { b c: b }", "B", SelectedOperation(None, frozenset({"b"}), within_limits=True)),
        ("query A { a } query B { b }", None, SelectedOperation(SEVERAL, None)),
        ("query A { a }", "C", SelectedOperation("the document has no operation named 'C'", None)),
        ("{ ...F } fragment F on Query { a }", None, SelectedOperation(None, None, within_limits=True)),
        ("query A { a } query A { b }", "A", SelectedOperation(None, None, within_limits=True)),  # validation's
        ("fragment F on Query { a }", None, SelectedOperation(None, None, within_limits=True)),
        ("{ a { b { c } } }", None, SelectedOperation(None, frozenset({"a"}))),  # over the depth limit
        ("{ x: a y: a }", None, SelectedOperation(None, frozenset({"a"}))),  # over the alias limit
        ("{ a", None, UNREAD),
        ("{ " + "a " * 40 + "}", None, UNREAD),  # over the token limit: the limits refuse it, nothing parsed here
    ],
)
def test_selection(document: str, operation_name: str | None, selected: SelectedOperation) -> None:
    assert READER.select(document, operation_name) == selected


def test_comments_do_not_count_against_the_limit() -> None:
    document = "query A { a } query B { b }" + "\n# a comment" * 100
    assert READER.select(document, None) == SelectedOperation(SEVERAL, None)


@pytest.mark.parametrize(
    ("document", "operation_name", "name"),
    [
        ("query A { a }", None, "A"),
        ("query A { a }", "A", "A"),
        ("{ a }", None, None),  # anonymous
        ("query A { a } query B { b }", "B", None),  # several: the request names it
        ("query A { a } query B { b }", None, None),  # refused
        ("{ a", None, None),  # unread
    ],
)
def test_the_name_of_the_documents_only_operation_is_read_with_it(
    document: str, operation_name: str | None, name: str | None
) -> None:
    assert READER.select(document, operation_name).name == name
