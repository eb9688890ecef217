"""Query limits checked before validation: tokens, depth, aliases, directives, root fields.

Each refusal is a GraphQLError with its own `extensions.code`. The checks run in a strawberry extension, in order:
tokens before parsing (a lexer pass, cached per document text), the shape of the document before graphql-core's
validation (which recurses and is the costliest step). The estimated cost is decided once per request by the edge
(it needs the variables and the caller's tier); its refusal code is defined here with the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
)
from graphql.language import Lexer
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

MAX_TOKENS_LIMIT = "MAX_TOKENS_LIMIT"
MAX_DEPTH_LIMIT = "MAX_DEPTH_LIMIT"
MAX_ALIASES_LIMIT = "MAX_ALIASES_LIMIT"
MAX_DIRECTIVES_LIMIT = "MAX_DIRECTIVES_LIMIT"
MAX_ROOT_FIELDS_LIMIT = "MAX_ROOT_FIELDS_LIMIT"
COST_ESTIMATED_TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"

# `ofType` chains are linear (no breadth) and GraphiQL's introspection query nests them ~8 deep: not counted as depth.
_DEPTH_FREE_FIELDS = frozenset({"ofType"})
_TOKEN_CACHE_SIZE = 1024
# Alias and directive counts (fragments expanded) saturate here, far above any limit: fragments that spread the next
# one twice, 60 levels deep, count `MAX_COUNT` instead of 2^60.
MAX_COUNT = 2**53 - 1


@dataclass(frozen=True)
class QueryLimits:
    max_tokens: int = 2000
    max_depth: int = 10
    max_aliases: int = 15
    max_directives: int = 50
    max_root_fields: int = 10
    introspection: bool = True


def limit_error(code: str, message: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


def count_tokens(query: str, stop_after: int) -> int:
    """Lexical tokens of `query` (comments excluded), counting no further than `stop_after`.

    A lexing error stops the count: the parser reports it with its location.
    """
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count < stop_after and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLError:
        pass
    return count


# Repeated documents are counted once; the cache keeps only short texts so that it stays small (1024 x 10 KB).
_count_tokens_cached = lru_cache(maxsize=_TOKEN_CACHE_SIZE)(count_tokens)
_CACHED_QUERY_CHARS = 10_000


def token_count(query: str, stop_after: int) -> int:
    """`count_tokens`, remembered for short documents (the edge and the limits count the same text once)."""
    counter = _count_tokens_cached if len(query) <= _CACHED_QUERY_CHARS else count_tokens
    return counter(query, stop_after)


@dataclass(frozen=True)
class OperationShape:
    depth: int
    aliases: int
    directives: int
    root_fields: int


class _ShapeWalker:
    """Measures operations with their fragments expanded; each fragment is measured once (memoised), so the work is
    linear in the document however often its fragments are spread."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._measured: dict[str, tuple[int, int, int]] = {}
        self._in_progress: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> OperationShape:
        depth, aliases, directives = self._selection_set(operation.selection_set)
        directives += len(operation.directives or ())
        directives += sum(len(variable.directives or ()) for variable in operation.variable_definitions or ())
        directives = min(directives, MAX_COUNT)
        return OperationShape(depth, aliases, directives, len(self._response_keys(operation.selection_set, set())))

    def _selection_set(self, selection_set: SelectionSetNode | None) -> tuple[int, int, int]:
        depth = aliases = directives = 0
        for selection in selection_set.selections if selection_set else ():
            directives += len(selection.directives or ())
            if isinstance(selection, FieldNode):
                child_depth, child_aliases, child_directives = self._selection_set(selection.selection_set)
                if selection.name.value not in _DEPTH_FREE_FIELDS:
                    child_depth += 1
                aliases += child_aliases + (selection.alias is not None)
            elif isinstance(selection, InlineFragmentNode):
                child_depth, child_aliases, child_directives = self._selection_set(selection.selection_set)
                aliases += child_aliases
            elif isinstance(selection, FragmentSpreadNode):
                child_depth, child_aliases, child_directives = self._fragment(selection.name.value)
                aliases += child_aliases
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, child_depth)
            aliases = min(aliases, MAX_COUNT)
            directives = min(directives + child_directives, MAX_COUNT)
        return depth, aliases, directives

    def _fragment(self, name: str) -> tuple[int, int, int]:
        if name in self._measured:
            return self._measured[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._in_progress:  # unknown or cyclic: validation reports it
            return 0, 0, 0
        self._in_progress.add(name)
        depth, aliases, directives = self._selection_set(fragment.selection_set)
        self._in_progress.discard(name)
        measured = depth, aliases, min(directives + len(fragment.directives or ()), MAX_COUNT)
        self._measured[name] = measured
        return measured

    def _response_keys(self, selection_set: SelectionSetNode, visited: set[str]) -> set[str]:
        """The response keys of a selection set; a fragment already `visited` (on any path) adds nothing new."""
        keys: set[str] = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                keys.add((selection.alias or selection.name).value)
            elif isinstance(selection, InlineFragmentNode):
                keys |= self._response_keys(selection.selection_set, visited)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in visited:
                    visited.add(fragment.name.value)
                    keys |= self._response_keys(fragment.selection_set, visited)
        return keys


def operation_shapes(document: DocumentNode) -> list[OperationShape]:
    """The shape of every operation in the document; RecursionError when it nests beyond Python's stack."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _ShapeWalker(fragments)
    return [walker.operation(d) for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def shape_errors(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    try:
        shapes = operation_shapes(document)
    except RecursionError:
        return [
            limit_error(
                MAX_DEPTH_LIMIT,
                f"The query is nested deeper than the limit of {limits.max_depth}.",
                limit=limits.max_depth,
            )
        ]
    measured = (
        (MAX_DEPTH_LIMIT, "depth", max((s.depth for s in shapes), default=0), limits.max_depth),
        (MAX_ALIASES_LIMIT, "aliases", max((s.aliases for s in shapes), default=0), limits.max_aliases),
        (MAX_DIRECTIVES_LIMIT, "directives", max((s.directives for s in shapes), default=0), limits.max_directives),
        (MAX_ROOT_FIELDS_LIMIT, "root fields", max((s.root_fields for s in shapes), default=0), limits.max_root_fields),
    )
    return [
        limit_error(code, f"The query has {what} {value}, over the limit of {limit}.", limit=limit, actual=value)
        for code, what, value, limit in measured
        if value > limit
    ]


class QueryLimitsExtension(SchemaExtension):
    """Put it before ParserCache and ValidationCache: its checks must run before theirs."""

    def __init__(self, limits: QueryLimits, validation_rules: tuple[type[ASTValidationRule], ...] = ()) -> None:
        self.limits = limits
        self.validation_rules = validation_rules

    def on_operation(self) -> Iterator[None]:
        if self.validation_rules:
            context = self.execution_context
            context.validation_rules = (*context.validation_rules, *self.validation_rules)
        yield

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        limit = self.limits.max_tokens
        if query and self.execution_context.graphql_document is None and token_count(query, limit + 1) > limit:
            raise limit_error(MAX_TOKENS_LIMIT, f"The query has more than {limit} tokens.", limit=limit)
        yield

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None:
            errors = shape_errors(document, self.limits)
            if errors:
                raise errors[0]
        yield


def limits_extension_factory(limits: QueryLimits) -> Callable[[], QueryLimitsExtension]:
    """A factory for `strawberry.Schema(extensions=[...])`: a fresh extension per request, one rule tuple for all.

    The rule tuple is created once so that ValidationCache (keyed by it) keeps hitting.
    """
    rules: tuple[type[ASTValidationRule], ...] = () if limits.introspection else (NoSchemaIntrospectionCustomRule,)

    def factory() -> QueryLimitsExtension:
        return QueryLimitsExtension(limits, rules)

    return factory
