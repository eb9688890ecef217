"""The names a field selects, remembered per field of a document (`resolvers.selection`), are what walking
strawberry's `info.selected_fields` gives: for every root field of every document of docs/examples/ and of the e2e
corpus, parsed twice (the second parse hits no entry of the first), with `@skip`/`@include` not evaluated."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
)

from gateway.edge.schema import query_limits
from gateway.settings import Settings
from resolvers import selection
from resolvers.selection import (
    SELECTION_MEMO_SIZE,
    node_field_names,
    object_field_names,
    selected_node_fields,
    selected_object_fields,
)
from schema.limits import shape_errors
from tests import document_corpus

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
LIMITS = query_limits(Settings())
MAX_EXPANDED_FIELDS = 10_000


def _documents() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.graphql"))]
    return texts + [request["query"] for request in document_corpus.recorded()]


def _parsed(text: str) -> DocumentNode | None:
    """The document, when the gateway would execute it: the corpus holds the malformed documents and the fragment
    bombs the e2e suite sends, refused before execution (by their shape or their cost)."""
    try:
        document = parse(text)
    except (GraphQLSyntaxError, RecursionError):
        return None
    if shape_errors(document, LIMITS) or _expanded_fields(document) > MAX_EXPANDED_FIELDS:
        return None
    return document


def _expanded_fields(document: DocumentNode) -> int:
    """The fields the document selects with every fragment spread expanded (counted once per fragment)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    counted: dict[str, int] = {}

    def count(selections: Iterable[SelectionNode], visiting: frozenset[str]) -> int:
        total = 0
        for node in selections:
            if isinstance(node, FieldNode):
                total += 1 + count(node.selection_set.selections if node.selection_set else (), visiting)
            elif isinstance(node, InlineFragmentNode):
                total += count(node.selection_set.selections, visiting)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in visiting or name not in fragments:
                    return MAX_EXPANDED_FIELDS + 1  # a cycle or an unknown fragment: invalid, never executed
                if name not in counted:
                    counted[name] = count(fragments[name].selection_set.selections, visiting | {name})
                total += counted[name]
        return total

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return sum(count(operation.selection_set.selections, frozenset()) for operation in operations)


def _root_fields(document: DocumentNode) -> Iterator[tuple[list[FieldNode], dict[str, FragmentDefinitionNode]]]:
    """The field nodes of each root field of each operation, grouped by response key as execution groups them
    (directives not evaluated), with the document's fragments."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def collect(selections: Iterable[SelectionNode], grouped: dict[str, list[FieldNode]], seen: set[str]) -> None:
        for node in selections:
            if isinstance(node, FieldNode):
                grouped.setdefault((node.alias or node.name).value, []).append(node)
            elif isinstance(node, InlineFragmentNode):
                collect(node.selection_set.selections, grouped, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments.keys() - seen:
                seen.add(node.name.value)
                collect(fragments[node.name.value].selection_set.selections, grouped, seen)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            grouped: dict[str, list[FieldNode]] = {}
            collect(definition.selection_set.selections, grouped, set())
            yield from ((nodes, fragments) for nodes in grouped.values())


def _info(nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]) -> strawberry.Info[Any, Any]:
    raw = SimpleNamespace(field_nodes=nodes, fragments=fragments, variable_values={})
    return strawberry.Info(_raw_info=raw, _field=None)  # type: ignore[arg-type]


def _fields_of_corpus() -> list[tuple[list[FieldNode], dict[str, FragmentDefinitionNode]]]:
    fields = []
    for text in _documents():
        for _ in range(2):  # two parses of one text: the same names from distinct syntax trees
            document = _parsed(text)
            if document is not None:
                fields.extend(_root_fields(document))
    return fields


def _walked(info: strawberry.Info[Any, Any]) -> tuple[set[str], set[str]] | None:
    try:
        return node_field_names(info.selected_fields), object_field_names(info.selected_fields)
    except (KeyError, RecursionError):  # a fragment the document lacks, or spreads that cycle: invalid documents
        return None


def test_the_remembered_names_are_those_of_the_walk_over_every_document() -> None:
    checked = 0
    for nodes, fragments in _fields_of_corpus():
        info = _info(nodes, fragments)
        walked = _walked(info)
        if walked is None:
            continue
        for _ in range(2):  # computed, then remembered
            assert (selected_node_fields(_info(nodes, fragments)), selected_object_fields(info)) == walked
        checked += 1
    assert checked >= 100


def test_a_field_is_converted_once_while_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    document = parse(
        "query { a: leads { edges { node { id ...F } } } b: leads { nodes { title } } } fragment F on Lead { url }"
    )
    (a, fragments), (b, _) = list(_root_fields(document))
    converted: list[object] = []
    convert = selection.convert_selections
    monkeypatch.setattr(
        selection, "convert_selections", lambda raw, nodes: converted.append(nodes) or convert(raw, nodes)
    )
    assert selected_node_fields(_info(a, fragments)) == {"id", "url"}
    assert selected_node_fields(_info(a, fragments)) == {"id", "url"}
    assert selected_object_fields(_info(a, fragments)) == {"edges"}
    assert selected_node_fields(_info(b, fragments)) == {"title"}
    assert converted == [a, b]


def test_skip_and_include_are_not_evaluated() -> None:
    document = parse("query($no: Boolean!) { leads { edges { node { id @skip(if: true) title @include(if: $no) } } } }")
    [(nodes, fragments)] = _root_fields(document)
    assert selected_node_fields(_info(nodes, fragments)) == {"id", "title"}


def test_the_memo_is_bounded_and_holds_the_nodes_it_is_keyed_by() -> None:
    selection._remembered.clear()
    for number in range(SELECTION_MEMO_SIZE + 10):
        [(nodes, fragments)] = _root_fields(parse(f"{{ leads {{ nodes {{ f{number} }} }} }}"))
        assert selected_node_fields(_info(nodes, fragments)) == {f"f{number}"}
    assert len(selection._remembered) == SELECTION_MEMO_SIZE
    for key, remembered in selection._remembered.items():
        assert key == tuple(map(id, remembered.nodes))
