"""The schema the gateway serves: the resolvers' root `Query`, the query limits, the parse and validation caches and
the cost decision, assembled; and the checks of documents against it (trusted-documents manifests).

Strawberry keeps its graphql-core schema private, so the schema keeps one of its own, built from the same SDL, for
what reads the type system (the cost estimate, document checks).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import graphql
import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.types.execution import ExecutionContext

from gateway.edge.cost import CostedRequestContext, RequestCost
from gateway.edge.graphql_errors import is_unexpected
from gateway.limits.metering import Metering
from gateway.settings import Settings
from resolvers.costs import cost_table
from resolvers.query import Query
from schema.cost import CostTable, estimate_cost
from schema.limits import QueryLimits, limits_extension_factory

log = logging.getLogger(__name__)

DOCUMENT_CACHE_SIZE = 1024


class GatewaySchema(strawberry.Schema):
    def __init__(self, *, costs: CostTable, max_query_cost: int, extensions: list[Any]) -> None:
        super().__init__(query=Query, extensions=extensions)
        self.costs = costs
        self.max_query_cost = max_query_cost
        self.graphql_schema: GraphQLSchema = graphql.build_schema(self.as_str())

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


class CostExtension(SchemaExtension):
    """Before execution, after every other check: the request's cost decision (`RequestCost`), which the endpoint puts
    in the context. An execution without one (the schema executed directly) gets one here, unmetered unless its
    context carries a `Metering`."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None:
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
        raise TypeError("CostExtension needs a GatewaySchema")
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
        extensions=[
            # First: its checks (tokens before parsing, shape before validation) must run before the caches' work.
            limits_extension_factory(query_limits(settings)),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            CostExtension,  # last: it decides only on operations every other check has let through
        ],
    )


def document_problems(schema: GatewaySchema, document: str) -> list[str]:
    """Parse and validation messages for one document (checked before it enters a trusted-documents manifest)."""
    try:
        parsed = graphql.parse(document)
    except GraphQLError as error:
        return [error.message]
    return [error.message for error in graphql.validate(schema.graphql_schema, parsed)]
