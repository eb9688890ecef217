"""The operation a request selects, read before the query limits run: whether `operationName` picks exactly one
operation of the document (the one place that rule is enforced: strawberry would run the first), the root fields it
selects (to key the response cache), and whether the document is within the query limits (only then is it worth an
execution slot: the limits refuse the others at once, under any load).

Only documents within the token limit are parsed here (counted as the limits count them, once per text), so every
document the limits let through is read and none that they refuse is parsed; small documents are kept parsed. The
parsed document is handed to execution, which does not parse it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, parse

from schema.limits import QueryLimits, shape_errors, token_count

DOCUMENT_CACHE_SIZE = 1024
CACHED_DOCUMENT_MAX_CHARS = 8_000


@dataclass(frozen=True)
class SelectedOperation:
    problem: str | None  # why `operationName` does not pick exactly one operation, if it does not
    root_fields: frozenset[str] | None  # None when they cannot be told (no document, fragments at the root)
    within_limits: bool = False  # parsed, and within every query limit (tokens, depth, aliases, ...)
    document: DocumentNode | None = field(default=None, compare=False, repr=False)  # parsed, for execution
    # The name of the document's operation when it has exactly one (named), read once with the document.
    name: str | None = field(default=None, compare=False)


UNREAD = SelectedOperation(problem=None, root_fields=None)  # unparsed or over the token limit: execution says why


class OperationReader:
    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.max_tokens = limits.max_tokens
        # What a small document selects is the same every time: read once (tokens, parse, shape walk) per text.
        self._selected = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(self._select)

    def select(self, text: str, operation_name: str | None) -> SelectedOperation:
        if len(text) <= CACHED_DOCUMENT_MAX_CHARS:
            return self._selected(text, operation_name)
        return self._select(text, operation_name)

    def _select(self, text: str, operation_name: str | None) -> SelectedOperation:
        document = self.document(text)
        if document is None:
            return UNREAD
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            op
            for op in operations
            if operation_name is None or (op.name is not None and op.name.value == operation_name)
        ]
        if operation_name is None and len(operations) > 1:
            return SelectedOperation("the document has several operations: name one with `operationName`", None)
        if operation_name is not None and not chosen:
            return SelectedOperation(f"the document has no operation named {operation_name!r}", None)
        within_limits = not shape_errors(document, self.limits)
        root_fields = _root_fields(chosen[0]) if len(chosen) == 1 else None
        only = operations[0] if len(operations) == 1 else None
        name = only.name.value if only is not None and only.name is not None else None
        return SelectedOperation(None, root_fields, within_limits, document, name)

    def document(self, text: str) -> DocumentNode | None:
        """The parsed document; None when it does not parse or is over the token limit."""
        if token_count(text, self.max_tokens + 1) > self.max_tokens:
            return None
        return _cached_parse(text) if len(text) <= CACHED_DOCUMENT_MAX_CHARS else _parse(text)


def _root_fields(operation: OperationDefinitionNode) -> frozenset[str] | None:
    names = set()
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None
        names.add(selection.name.value)
    return frozenset(names)


def _parse(text: str) -> DocumentNode | None:
    try:
        return parse(text)  # with locations: execution reports errors with them
    except (GraphQLError, RecursionError):
        return None


_cached_parse = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(_parse)
