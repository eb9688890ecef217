"""What a query selects, so that only the upstream work a field needs is done (e.g. SAM `includeSections`).

The names a field selects depend only on its document: `selected_node_fields` and `selected_object_fields` compute
them once per field of a document (strawberry's `info.selected_fields` converts the field's syntax tree on every
call) and remember the last `SELECTION_MEMO_SIZE`. A document parsed once is executed again as the same syntax tree, so
the field's syntax nodes (and the document's fragment definitions) identify it; the memo keeps those nodes alive, so
their ids are never reused while remembered. As before, `@skip` and `@include` are not evaluated.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection, convert_selections

CONNECTION_NODE_PATHS = (("edges", "node"), ("nodes",))
SELECTION_MEMO_SIZE = 1024  # fields of documents: as many as the edge keeps parsed documents, give or take
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


@dataclass(frozen=True)
class _Remembered:
    """A field's names, and the syntax nodes whose ids are its key (held, so that no other node takes their ids)."""

    nodes: tuple[object, ...]
    node_fields: frozenset[str]
    object_fields: frozenset[str]


_remembered: OrderedDict[tuple[int, ...], _Remembered] = OrderedDict()


def _selection_of(info: strawberry.Info[Any, Any]) -> _Remembered:
    raw = info._raw_info
    nodes = (*raw.field_nodes, *raw.fragments.values())
    key = tuple(map(id, nodes))
    found = _remembered.get(key)
    if found is not None:
        _remembered.move_to_end(key)
        return found
    selected = convert_selections(raw, raw.field_nodes)
    found = _Remembered(nodes, frozenset(node_field_names(selected)), frozenset(object_field_names(selected)))
    _remembered[key] = found
    if len(_remembered) > SELECTION_MEMO_SIZE:
        _remembered.popitem(last=False)
    return found


def selected_node_fields(info: strawberry.Info[Any, Any]) -> frozenset[str]:
    """`node_field_names(info.selected_fields)`, computed once per field of a document."""
    return _selection_of(info).node_fields


def selected_object_fields(info: strawberry.Info[Any, Any]) -> frozenset[str]:
    """`object_field_names(info.selected_fields)`, computed once per field of a document."""
    return _selection_of(info).object_fields


def snake_case(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()
