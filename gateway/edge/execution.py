"""Executing an operation: the first time through strawberry's whole pipeline (the schema's extensions: parsing,
the query limits, validation, the checks before execution), then, for a document that pipeline has accepted,
straight to those checks and graphql-core's executor.

What strawberry's pipeline decides of a document depends on its text and the operation it names only: the token
count, the parse, the limits on its shape, validation (against one schema, with one set of rules) and the operation
type. Once it has let a (text, operation name) pass all of them, running its per-request machinery again (an
execution context, an instance of every extension, their hooks as context managers) would decide the same; what
varies per request still runs each time, in the same order and with the same errors: the caller's inputs
(`gateway.edge.inputs`), the cost decision (`gateway.edge.cost`), then execution, with the errors strawberry hands to
the schema's error processing handed to it. An accepted operation that selects nothing but `__typename` (a client's
or a load balancer's liveness query) is answered from its document, without graphql-core's executor: the root type's
name under each response key, as the executor answers it. Schemas with extensions other than the gateway's own always
take the whole pipeline.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode
from graphql import OperationType as OperationKind
from graphql.execution import ExecutionResult as CoreExecutionResult
from graphql.execution import execute
from strawberry.execution import optimized_is_awaitable
from strawberry.types.execution import ExecutionContext, ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from gateway.edge.cost import CostedRequestContext
from gateway.edge.documents import ParsedOnce, ValidatedOnce
from gateway.edge.graphql_errors import MAX_ERRORS
from gateway.edge.inputs import input_errors
from gateway.edge.schema import GatewaySchema, PreExecutionChecks
from schema.limits import QueryLimitsExtension

ACCEPTED_CACHE_SIZE = 1024
# Inputs checked and found good, per (text, operation name, what the variables were decoded from): the last so many,
# each source and text no longer than CHECKED_INPUTS_MAX_CHARS (at most a few megabytes in all).
CHECKED_INPUTS_CACHE_SIZE = 1024
CHECKED_INPUTS_MAX_CHARS = 4096
QUERY_ONLY = (OperationType.QUERY,)
_InputsKey = tuple[str, str | None, bytes | str]  # text, operation name, what the variables were decoded from
# The extensions whose decisions on a document depend on its text (and operation name) alone.
_KNOWN_EXTENSIONS = (ParsedOnce, QueryLimitsExtension, ValidatedOnce, PreExecutionChecks)


class Executor:
    """Executes queries on `schema`: the whole pipeline for a document not accepted yet, the direct path after."""

    def __init__(
        self,
        schema: GatewaySchema,
        cache_size: int = ACCEPTED_CACHE_SIZE,
        inputs_cache_size: int = CHECKED_INPUTS_CACHE_SIZE,
    ) -> None:
        self.schema = schema
        self.direct = _only_known_extensions(schema)
        self._cache_size = cache_size
        self._inputs_cache_size = inputs_cache_size
        # Accepted (text, operation name) -> the answer's data when the operation selects only `__typename`s.
        self._accepted: OrderedDict[tuple[str | None, str | None], dict[str, str] | None] = OrderedDict()
        self._good_inputs: OrderedDict[_InputsKey, None] = OrderedDict()

    async def execute(
        self,
        query: str | None,
        document: DocumentNode | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: CostedRequestContext,
        *,
        variables_source: bytes | str | None = None,
    ) -> ExecutionResult:
        """The result, as `schema.execute(query, ..., allowed_operation_types=(QUERY,))` gives it (and raises).

        `variables_source`: what `variables` were decoded from (equal sources, equal variables), if known: inputs
        found good once for a (text, operation name, source) are not checked again."""
        key = (query, operation_name)
        if (
            self.direct
            and document is not None
            and query is not None
            and key in self._accepted
            and document.loc is not None
            and document.loc.source.body == query
        ):
            self._accepted.move_to_end(key)
            inputs_key = None
            if (
                variables_source is not None
                and len(variables_source) <= CHECKED_INPUTS_MAX_CHARS
                and len(query) <= CHECKED_INPUTS_MAX_CHARS
            ):
                inputs_key = (query, operation_name, variables_source)
            return await self._execute_accepted(
                document, variables, operation_name, context, self._accepted[key], inputs_key=inputs_key
            )
        result = await self.schema.execute(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=QUERY_ONLY,
        )
        # Past parsing, the query limits, validation and the operation type (refused later, if at all):
        if self.direct and query is not None and not isinstance(result, PreExecutionError):
            query_type = self.schema.executable_schema().query_type
            self._accepted[key] = _typenames_only(document, operation_name, query_type.name if query_type else None)
            if len(self._accepted) > self._cache_size:
                self._accepted.popitem(last=False)
        return result

    async def _execute_accepted(
        self,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: CostedRequestContext,
        typenames: dict[str, str] | None = None,
        *,
        inputs_key: _InputsKey | None = None,
    ) -> ExecutionResult:
        """What `PreExecutionChecks` and strawberry's execution do for a document the pipeline has accepted; an
        operation that selects only `__typename` (`typenames`, its answer) is answered without the executor. The
        inputs under `inputs_key` are checked once: what the check decides depends on them and the document only."""
        schema = self.schema
        try:
            if inputs_key is None or not self._known_good(inputs_key):
                problems = input_errors(
                    schema.graphql_schema,
                    document,
                    variables,
                    operation_name,
                    max_errors=MAX_ERRORS,
                    hide_suggestions=schema.hide_suggestions,
                )
                if problems:  # an answer, not an incident: strawberry hands these to no error processing either
                    return ExecutionResult(data=None, errors=problems)
                if inputs_key is not None:
                    self._remember_good(inputs_key)
            cost = context.cost
            if cost is not None:
                refusal = await cost.decide(document, variables, operation_name)
                if refusal is not None:
                    raise refusal
            if typenames is not None:
                return ExecutionResult(data=dict(typenames), errors=None, extensions={})
            result: CoreExecutionResult = await await_maybe(
                execute(
                    schema.executable_schema(),
                    document,
                    root_value=None,
                    middleware=None,
                    variable_values=variables,
                    operation_name=operation_name if operation_name is not None else _first_name(document),
                    context_value=context,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # (a bool, as strawberry passes it)
                    executor_class=schema.execution_context_class,
                    operation_extensions=None,
                )
            )
        except Exception as exc:  # as strawberry answers what is raised before execution
            error = exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            self._process([error], document, variables, operation_name, context)
            return PreExecutionError(data=None, errors=[error])
        if result.errors:
            self._process(result.errors, document, variables, operation_name, context)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})

    def _known_good(self, inputs_key: _InputsKey) -> bool:
        if inputs_key not in self._good_inputs:
            return False
        self._good_inputs.move_to_end(inputs_key)
        return True

    def _remember_good(self, inputs_key: _InputsKey) -> None:
        self._good_inputs[inputs_key] = None
        if len(self._good_inputs) > self._inputs_cache_size:
            self._good_inputs.popitem(last=False)

    def _process(
        self,
        errors: list[GraphQLError],
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: CostedRequestContext,
    ) -> None:
        execution = ExecutionContext(
            query=document.loc.source.body if document.loc is not None else None,
            schema=self.schema,
            allowed_operations=QUERY_ONLY,
            context=context,
            variables=variables,
            provided_operation_name=operation_name,
            graphql_document=document,
        )
        self.schema.handle_errors(errors, execution)


def _typenames_only(
    document: DocumentNode | None, operation_name: str | None, query_type: str | None
) -> dict[str, str] | None:
    """The data of a query that selects nothing but `__typename` (aliased or not, no directive), else None."""
    if document is None or query_type is None:
        return None
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (operation_name is None or (definition.name is not None and definition.name.value == operation_name))
    ]
    if len(operations) != 1 or operations[0].directives or operations[0].operation is not OperationKind.QUERY:
        return None
    data: dict[str, str] = {}
    for selection in operations[0].selection_set.selections:
        if not (
            isinstance(selection, FieldNode)
            and selection.name.value == "__typename"
            and not selection.directives
            and not selection.arguments
        ):
            return None
        data[(selection.alias or selection.name).value] = query_type
    return data


def _first_name(document: DocumentNode) -> str | None:
    """The operation name strawberry executes with when the request names none: the first operation's."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return None if definition.name is None else definition.name.value
    return None


def _only_known_extensions(schema: GatewaySchema) -> bool:
    """Whether every extension of `schema` is one of the gateway's own (and it adds no directives)."""
    if schema.directives:
        return False
    for extension in schema.extensions:
        made = extension() if callable(extension) and not isinstance(extension, type) else extension
        kind = extension if isinstance(extension, type) else type(made)
        if kind not in _KNOWN_EXTENSIONS:
            return False
    return True
