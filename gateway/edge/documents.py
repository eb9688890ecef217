"""GraphQL documents on their way to execution: read and validated off the event loop when they are long, validated
once per text, each validation error coded by the rule that found it, parsed once per request.

The loop: reading (counting tokens, parsing) and validating a long document holds the CPU for tens of milliseconds
(graphql-core's validation is most of the work of a miss). Done on the event loop, a burst of such documents delays
every reply the loop waits for, the limiter's Redis replies among them, past their timeouts. So documents of
`OFF_LOOP_CHARS` or more are read and validated on one worker thread (`off_loop`), one after another, first come
first served, while the loop keeps answering; short ones, and documents validated before, are answered inline.

Codes: a rule about the caller's values (`INPUT_RULES`: a literal of the wrong type, an unknown enum value, a
malformed date) reports BAD_USER_INPUT, any other rule GRAPHQL_VALIDATION_FAILED; never chosen from a message.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from typing import ParamSpec, TypeVar

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, ValuesOfCorrectTypeRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gateway.edge.cost import CostedRequestContext
from gateway.edge.graphql_errors import GRAPHQL_VALIDATION_FAILED
from gateway.edge.shedding import overloaded
from gateway.errors import BadUserInput

INPUT_RULES: frozenset[type[ASTValidationRule]] = frozenset({ValuesOfCorrectTypeRule})
# strawberry's own rules, which it adds to every validation (for its Maybe and @oneOf inputs)
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (MaybeNullValidationRule, OneOfInputValidationRule)
OFF_LOOP_CHARS = 2_000  # a few milliseconds of reading and validating (docs/keys-and-limits.md)
CACHE_SIZE = 1024
UNBOUNDED_S = 3600.0  # a wait with no deadline to keep (the schema executed directly)
Rules = tuple[type[ASTValidationRule], ...]
_P = ParamSpec("_P")
_T = TypeVar("_T")


def is_long(text: str) -> bool:
    return len(text) >= OFF_LOOP_CHARS


async def off_loop(work: Callable[_P, _T], within_s: float, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`work(*args, **kwargs)` on the document worker thread; ServerOverloaded when it has not run within
    `within_s` (the worker is busy with the documents that came before: the work is dropped if it has not begun)."""
    done = asyncio.get_running_loop().run_in_executor(_worker(), lambda: work(*args, **kwargs))
    try:
        return await asyncio.wait_for(done, max(0.0, within_s))
    except TimeoutError:
        raise overloaded(
            "the gateway is overloaded: its document checks did not come to this request in time"
        ) from None


@cache
def _worker() -> ThreadPoolExecutor:
    """One thread for the whole process: long documents are worked on one at a time, off the loop."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-documents")


class DocumentValidation:
    """Validation against one schema with coded rules, cached per (document text, rules): the last `cache_size`."""

    def __init__(self, schema: GraphQLSchema, cache_size: int = CACHE_SIZE) -> None:
        self.schema = schema
        self._cache_size = cache_size
        self._validated: OrderedDict[tuple[str, Rules], list[GraphQLError]] = OrderedDict()

    async def errors(
        self, document: DocumentNode, rules: Rules, *, within_s: float | None = None
    ) -> list[GraphQLError]:
        """The validation errors; ServerOverloaded when a long document was not validated `within_s`."""
        text = _source_of(document)
        coded = (*coded_rules(rules), *STRAWBERRY_RULES)
        if text is None:
            return validate(self.schema, document, coded)
        key = (text, rules)
        known = self._validated.get(key)
        if known is not None:
            self._validated.move_to_end(key)
            return known
        if is_long(text):
            errors = await off_loop(
                validate, UNBOUNDED_S if within_s is None else within_s, self.schema, document, coded
            )
        else:
            errors = validate(self.schema, document, coded)
        self._validated[key] = errors
        if len(self._validated) > self._cache_size:
            self._validated.popitem(last=False)
        return errors


class ParsedOnce(SchemaExtension):
    """Execution gets the document the endpoint parsed (with the token limit already checked) instead of parsing it
    again. Put it first: the query limits count tokens only of documents nobody parsed yet."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        parsed = context.context.document if isinstance(context.context, CostedRequestContext) else None
        if context.graphql_document is None and parsed is not None and _source_of(parsed) == context.query:
            context.graphql_document = parsed
        yield


class ValidatedOnce(SchemaExtension):
    """Validates with the schema's `validation` (a `DocumentValidation`; strawberry validates as usual for a schema
    without one). Put it after the query limits, whose checks of the document's shape come first."""

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        validation = getattr(context.schema, "validation", None)
        document = context.graphql_document
        if isinstance(validation, DocumentValidation) and document is not None and context.pre_execution_errors is None:
            request = context.context
            within_s = request.deadline.remaining_s() if isinstance(request, CostedRequestContext) else None
            context.pre_execution_errors = await validation.errors(
                document, context.validation_rules, within_s=within_s
            )
        yield


def _source_of(document: DocumentNode) -> str | None:
    return document.loc.source.body if document.loc is not None else None


_coded: dict[type[ASTValidationRule], type[ASTValidationRule]] = {}


@lru_cache(maxsize=16)
def coded_rules(rules: Rules) -> Rules:
    """One coded class per rule, made once: the same rules give the same tuple."""
    return tuple(_coded.get(rule) or _coded.setdefault(rule, _coded_rule(rule)) for rule in rules)


def _coded_rule(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    code = BadUserInput.code if rule in INPUT_RULES else GRAPHQL_VALIDATION_FAILED

    def report_error(self: ASTValidationRule, error: GraphQLError) -> None:
        if not (error.extensions or {}).get("code"):
            error = GraphQLError(
                error.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                error.original_error,
                {**(error.extensions or {}), "code": code},
            )
        rule.report_error(self, error)

    return type(rule.__name__, (rule,), {"report_error": report_error, "__doc__": rule.__doc__})
