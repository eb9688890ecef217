"""The schema the gateway serves: the resolvers' root `Query`, the query limits, document validation (coded, cached,
long documents off the loop: `gateway.edge.documents`) and the checks before execution (the caller's inputs, then
the cost decision), assembled; and the checks of documents against it (trusted-documents manifests).

Strawberry keeps its graphql-core schema private, so the schema keeps one of its own, built from the same SDL with
the same scalar parsers, for what reads the type system (validation, the cost estimate, the inputs check).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import graphql
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    specified_scalar_types,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.scalar import ScalarDefinition

from gateway.edge.compiled.plan import PlannedExecutionContext
from gateway.edge.compiled.resolvers import compile_schema
from gateway.edge.cost import CostedRequestContext, RequestCost
from gateway.edge.documents import DocumentValidation, ParsedOnce, ValidatedOnce
from gateway.edge.graphql_errors import MAX_ERRORS, is_unexpected
from gateway.edge.inputs import input_errors
from gateway.limits.metering import Metering
from gateway.settings import Settings
from resolvers.costs import cost_table
from resolvers.query import Query
from schema.cost import CostTable, estimate_cost
from schema.limits import QueryLimits, limits_extension_factory

log = logging.getLogger(__name__)


class GatewaySchema(strawberry.Schema):
    def __init__(
        self,
        *,
        costs: CostTable,
        max_query_cost: int,
        extensions: list[Any],
        hide_suggestions: bool = False,
        compiled: bool = True,
    ) -> None:
        """`compiled`: field resolvers with planned argument conversion and completion plans
        (`gateway.edge.compiled`); False only to compare with strawberry's own."""
        super().__init__(
            query=Query,
            extensions=extensions,
            execution_context_class=PlannedExecutionContext if compiled else None,
        )
        if compiled:
            compile_schema(self)
        self.costs = costs
        self.max_query_cost = max_query_cost
        self.hide_suggestions = hide_suggestions
        self.graphql_schema: GraphQLSchema = graphql.build_schema(self.as_str())
        self._parse_scalars_as_served()
        self.validation = DocumentValidation(self.graphql_schema)

    def executable_query_type(self) -> GraphQLObjectType | None:
        """The root Query type strawberry executes (its resolvers are the ones a wrapper may replace)."""
        return self._schema.query_type

    def executable_schema(self) -> GraphQLSchema:
        """The graphql-core schema strawberry executes (with its resolvers; `graphql_schema` has none)."""
        return self._schema

    def handle_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext) -> None:
        """What strawberry does with the errors of an execution (suggestions removed when off, then logged)."""
        self._process_errors(errors, execution_context)

    def _parse_scalars_as_served(self) -> None:
        """The SDL keeps a custom scalar's name only: give it the parsers strawberry serves it with."""
        for name, named in self.graphql_schema.type_map.items():
            definition = self.get_type_by_name(name)
            if isinstance(named, GraphQLScalarType) and name not in specified_scalar_types:
                if isinstance(definition, ScalarDefinition) and definition.parse_value is not None:
                    named.parse_value = definition.parse_value  # type: ignore[method-assign, assignment]
                    named.coerce_input_value = definition.parse_value
                if isinstance(definition, ScalarDefinition) and definition.parse_literal is not None:
                    named.parse_literal = definition.parse_literal  # type: ignore[method-assign, assignment]

    def estimate_cost(
        self, document: DocumentNode, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
    ) -> int:
        return estimate_cost(self.graphql_schema, document, variables, operation_name, costs=self.costs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log only the unexpected: expected failures are answers, not incidents."""
        for error in errors:
            if is_unexpected(error):
                request_id = getattr(execution_context.context, "request_id", "-") if execution_context else "-"
                log.error("unexpected error in request %s", request_id, exc_info=error.original_error)


class PreExecutionChecks(SchemaExtension):
    """Before execution, after every other check: the caller's inputs (`gateway.edge.inputs`), then the request's
    cost decision (`RequestCost`, which the endpoint puts in the context). Inputs that do not do are answered without
    executing or charging anything. An execution without a cost decision (the schema executed directly) gets one
    here, unmetered unless its context carries a `Metering`."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.result is None:
            schema = execution.schema
            if not isinstance(schema, GatewaySchema):  # pragma: no cover - only ever given to GatewaySchema
                raise TypeError("PreExecutionChecks needs a GatewaySchema")
            problems = input_errors(
                schema.graphql_schema,
                document,
                execution.variables,
                execution.operation_name,
                max_errors=MAX_ERRORS,
                hide_suggestions=schema.hide_suggestions,
            )
            if problems:
                execution.result = ExecutionResult(data=None, errors=problems)
            else:
                refusal = await _request_cost(execution).decide(document, execution.variables, execution.operation_name)
                if refusal is not None:
                    raise refusal
        yield


def _request_cost(execution: ExecutionContext) -> RequestCost:
    context = execution.context
    if isinstance(context, CostedRequestContext) and context.cost is not None:
        return context.cost
    schema = execution.schema
    if not isinstance(schema, GatewaySchema):  # pragma: no cover - the extension is only ever given to GatewaySchema
        raise TypeError("PreExecutionChecks needs a GatewaySchema")
    metering = getattr(context, "metering", None)
    return RequestCost(
        schema.estimate_cost, schema.max_query_cost, metering if isinstance(metering, Metering) else None
    )


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_directives=settings.max_directives,
        max_root_fields=settings.max_root_fields,
        introspection=settings.introspection_enabled,
    )


def build_schema(settings: Settings | None = None) -> GatewaySchema:
    settings = settings or Settings()
    return GatewaySchema(
        costs=cost_table(settings.specs),
        max_query_cost=settings.max_query_cost,
        hide_suggestions=not settings.field_suggestions_enabled,
        extensions=[
            ParsedOnce,  # first: a document the endpoint parsed is not counted or parsed again
            # Its checks (tokens before parsing, shape before validation) must run before validation's work.
            limits_extension_factory(query_limits(settings)),
            ValidatedOnce,
            PreExecutionChecks,  # last: it decides only on operations every other check has let through
        ],
    )


def document_problems(schema: GatewaySchema, document: str) -> list[str]:
    """Parse and validation messages for one document (checked before it enters a trusted-documents manifest)."""
    try:
        parsed = graphql.parse(document)
    except GraphQLError as error:
        return [error.message]
    return [error.message for error in graphql.validate(schema.graphql_schema, parsed)]
