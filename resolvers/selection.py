"""What a query selects, so that only the upstream work a field needs is done (e.g. SAM `includeSections`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

CONNECTION_NODE_PATHS = (("edges", "node"), ("nodes",))
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def field_names(selections: Iterable[Selection], path: Sequence[str] = ()) -> set[str]:
    """Names of the fields selected at `path` below `selections` (fragments and aliases resolved)."""
    if not path:
        return {field.name for field in _fields(selections)}
    names: set[str] = set()
    for field in _fields(selections):
        if field.name == path[0]:
            names |= field_names(field.selections, path[1:])
    return names


def node_field_names(selected: Sequence[Selection]) -> set[str]:
    """Fields selected on the nodes of a connection field (through `edges.node` and `nodes`)."""
    names: set[str] = set()
    for root in _fields(selected):
        for path in CONNECTION_NODE_PATHS:
            names |= field_names(root.selections, path)
    return names


def object_field_names(selected: Sequence[Selection]) -> set[str]:
    names: set[str] = set()
    for root in _fields(selected):
        names |= field_names(root.selections)
    return names


def snake_case(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()
