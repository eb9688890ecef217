"""The GraphQL schema and its HTTP endpoint (GraphQL over HTTP): parse the request, execute, shape every error.

GraphQL appears only here and in app.py. Every error leaves with a stable `extensions.code`; unexpected exceptions
are masked as INTERNAL_SERVER_ERROR and logged with the request id, never sent as a traceback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast

import strawberry
from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, parse, validate
from graphql.error.graphql_error import GraphQLFormattedError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import ExecutionContext, PreExecutionError
from strawberry.types.graphql import OperationType

from gateway.cache import store as cache
from gateway.cache.store import Cached, CacheStatus, MemoryCache, ResponseCache
from gateway.edge import csrf, graphiql
from gateway.edge.persisted import MemoryDocumentStore, PersistedDocumentRefused, PersistedDocuments
from gateway.errors import BadUserInput, GatewayError, RateLimited
from gateway.limits.limiter import Budget
from gateway.limits.metering import Metering
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.registry import Upstreams
from resolvers.context import RequestContext
from resolvers.query import Query
from schema.cost import estimate_cost
from schema.limits import COST_ESTIMATED_TOO_EXPENSIVE, QueryLimits, limit_error, limits_extension_factory

log = logging.getLogger("gateway.edge.endpoint")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
DOCUMENT_CACHE_SIZE = 1024
MAX_JSON_NESTING = 64

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_BAD_VALUE_MESSAGES = (
    "cannot represent",
    "Expected value of type",
    "got invalid value",
    "does not exist in",
    "Expected type",
)


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log only the unexpected: expected failures are answers, not incidents."""
        for error in errors:
            if is_unexpected(error):
                request_id = getattr(execution_context.context, "request_id", "-") if execution_context else "-"
                log.error("unexpected error in request %s", request_id, exc_info=error.original_error)


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_directives=settings.max_directives,
        max_root_fields=settings.max_root_fields,
        max_cost=settings.max_query_cost,
        introspection=settings.introspection_enabled,
    )


def build_schema(settings: Settings | None = None) -> GatewaySchema:
    return GatewaySchema(
        query=Query,
        extensions=[
            # First: its checks (tokens before parsing, shape before validation) must run before the caches' work.
            limits_extension_factory(query_limits(settings or Settings())),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            CostBudgetExtension,  # last: it charges only operations every other check has let through
        ],
    )


async def meter_cost(metering: Metering, cost: int) -> GraphQLError | None:
    """Charge one operation's estimated cost to its caller; the refusal, if any.

    Over the tier's single-query maximum: COST_ESTIMATED_TOO_EXPENSIVE, nothing charged. Else the cost is charged to
    the hourly budget; a charge the budget cannot cover is refused with RATE_LIMITED (HTTP 429).
    """
    tier = metering.caller.tier
    if cost > tier.max_query_cost:
        metering.requested_cost = cost
        return limit_error(
            COST_ESTIMATED_TOO_EXPENSIVE,
            f"The query's estimated cost {cost} is over the limit of {tier.max_query_cost} per query "
            f"of tier {tier.name}.",
            cost=cost,
            limit=tier.max_query_cost,
        )
    decision = await metering.charge(cost)
    if decision.allowed:
        return None
    return GraphQLError(
        f"The query's cost {cost} is over the {decision.remaining} cost points left this hour "
        f"(tier {tier.name}: {decision.limit} per hour).",
        extensions={"code": RateLimited.code, "retryAfter": decision.retry_after_s, "cost": cost},
    )


class CostBudgetExtension(SchemaExtension):
    """Before execution, after every other check: the operation's cost charged to the caller (`meter_cost`).

    Requests without a `Metering` in their context (not behind the access middleware) are not metered.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        metering = getattr(execution.context, "metering", None)
        if isinstance(metering, Metering) and execution.graphql_document is not None:
            cost = estimate_cost(
                execution.schema._schema, execution.graphql_document, execution.variables, execution.operation_name
            )
            refusal = await meter_cost(metering, cost)
            if refusal is not None:
                raise refusal
        yield


def cost_extension(metering: Metering, budget: Budget) -> dict[str, Any]:
    """`extensions.cost`: the cost estimated for this request (0 when nothing was executed) and the budget left."""
    return {
        "requested": metering.requested_cost or 0,
        "budget": {
            "limit": budget.cost.limit,
            "remaining": budget.cost.remaining,
            "resetAt": budget.cost.reset_at.isoformat(),  # as the `rateLimit.resetAt` field serialises it
        },
    }


def document_problems(schema: GatewaySchema, document: str) -> list[str]:
    """Parse and validation messages for one document (checked before it enters a trusted-documents manifest)."""
    try:
        parsed = parse(document)
    except GraphQLError as error:
        return [error.message]
    return [error.message for error in validate(schema._schema, parsed)]


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GatewayError | GraphQLError)


def error_code(error: GraphQLError, pre_execution: bool) -> str:
    if pre_execution:
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        if any(fragment in error.message for fragment in _BAD_VALUE_MESSAGES):
            return BadUserInput.code
        return "GRAPHQL_VALIDATION_FAILED"
    if error.path is None and any(fragment in error.message for fragment in _BAD_VALUE_MESSAGES):
        return BadUserInput.code
    return "INTERNAL_SERVER_ERROR"


def format_error(error: GraphQLError, pre_execution: bool, hide_suggestions: bool = False) -> GraphQLFormattedError:
    formatted: dict[str, Any] = {}
    original = error.original_error
    if isinstance(original, GatewayError):
        formatted["message"] = original.message
        extensions = original.as_extensions()
    elif is_unexpected(error):
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    else:
        formatted["message"] = _SUGGESTION.sub("", error.message) if hide_suggestions else error.message
        given_code = (error.extensions or {}).get("code")
        extensions = {**(error.extensions or {}), "code": given_code or error_code(error, pre_execution)}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        formatted["path"] = list(error.path)
    formatted["extensions"] = extensions
    return formatted  # type: ignore[return-value]


def request_error(
    status: int, code: str, message: str, media_type: str = GRAPHQL_RESPONSE, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, media_type=media_type, headers=dict(headers or {}))


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None  # None only with `extensions.persistedQuery`
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None = None


class RequestRejected(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class Outcome(Exception):
    """A finished answer, and whether it may enter the response cache (not with errors or stale data).

    Raised through the response cache to hand an answer that must not be kept to every waiting request. `body` is
    the GraphQL response body, or a ready HTTP response for request errors met during execution.
    """

    def __init__(
        self, body: dict[str, Any] | Response, status: int, *, cacheable: bool = False, origin: object = None
    ) -> None:
        super().__init__("answer not cacheable")
        self.body = body
        self.status = status
        self.cacheable = cacheable
        self.origin = origin  # the request that produced it


EXECUTED_HERE = "executed_operation"  # scope-state flag: this request ran its operation (and was metered there)

# Root fields whose answer depends on the caller or on the moment: never served from the response cache.
CALLER_SPECIFIC_ROOT_FIELDS = frozenset({"rateLimit", "sources", "__schema", "__type", "__typename"})


# The endpoint parses a document before the query limits run (to key the response cache and meter cached
# answers): bound that parse by tokens, and keep only small documents in memory.
PRE_PARSE_MAX_TOKENS = 5_000
CACHED_DOCUMENT_MAX_CHARS = 8_000


def _document(text: str) -> DocumentNode | None:
    """The parsed document; None when it does not parse or is too big to parse here (execution reports that)."""
    return _cached_document(text) if len(text) <= CACHED_DOCUMENT_MAX_CHARS else _parse_bounded(text)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _cached_document(text: str) -> DocumentNode | None:
    return _parse_bounded(text)


def _parse_bounded(text: str) -> DocumentNode | None:
    try:
        return parse(text, no_location=True, max_tokens=PRE_PARSE_MAX_TOKENS)
    except GraphQLError:
        return None


def _operations(document: str) -> tuple[OperationDefinitionNode, ...] | None:
    parsed = _document(document)
    if parsed is None:
        return None
    return tuple(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))


def operation_problem(document: str, operation_name: str | None) -> str | None:
    """Why `operation_name` does not pick exactly one operation of the document, if it does not."""
    operations = _operations(document)
    if operations is None:
        return None
    if operation_name is None:
        return "the document has several operations: name one with `operationName`" if len(operations) > 1 else None
    if not any(op.name is not None and op.name.value == operation_name for op in operations):
        return f"the document has no operation named {operation_name!r}"
    return None


def root_field_names(document: str, operation_name: str | None) -> frozenset[str] | None:
    """Names of the root fields the operation selects; None when it cannot be told (parse error, fragments)."""
    operations = _operations(document)
    if operations is None:
        return None
    chosen = [
        op for op in operations if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return None
    names = set()
    for selection in chosen[0].selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None
        names.add(selection.name.value)
    return frozenset(names)


def _nesting_depth(value: object, limit: int) -> int:
    depth, frontier = 0, [value]
    while frontier:
        depth += 1
        if depth > limit:
            return depth
        frontier = [
            child
            for item in frontier
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        frontier = [child for child in frontier if isinstance(child, dict | list)]
    return depth


def parse_params(params: Mapping[str, Any]) -> GraphQLRequest:
    """Check the shape of a GraphQL-over-HTTP request's parameters (already decoded from JSON or the URL)."""
    query = params.get("query")
    extensions = params.get("extensions")
    persisted = isinstance(extensions, dict) and "persistedQuery" in extensions
    if not (isinstance(query, str) and query.strip()) and not (persisted and query is None):
        raise RequestRejected(400, "BAD_REQUEST", "`query` must be a non-empty string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected(400, "BAD_REQUEST", "`variables` must be an object or null")
    if variables is not None and _nesting_depth(variables, MAX_JSON_NESTING) > MAX_JSON_NESTING:
        raise RequestRejected(400, "BAD_REQUEST", f"`variables` nest deeper than {MAX_JSON_NESTING} levels")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRejected(400, "BAD_REQUEST", "`operationName` must be a string or null")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRejected(400, "BAD_REQUEST", "`extensions` must be an object or null")
    return GraphQLRequest(
        query=query, variables=variables, operation_name=operation_name or None, extensions=extensions
    )


def decode_json(raw: bytes | str, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise RequestRejected(400, "BAD_REQUEST", f"{what} is not valid JSON") from None


def response_media_type(accept: str) -> str | None:
    """GraphQL-over-HTTP negotiation: the newer media type when the client names it, else JSON (no Accept, */*)."""
    if not accept.strip():
        return JSON
    types = {
        part.split(";")[0].strip().lower()
        for part in accept.split(",")
        if not re.search(r";\s*q=0(\.0*)?\s*(;|$)", part)
    }
    if GRAPHQL_RESPONSE in types:
        return GRAPHQL_RESPONSE
    if JSON in types or "*/*" in types or "application/*" in types:
        return JSON
    return None


class GraphQLEndpoint:
    """POST (application/json) and GET (queries only) at /graphql; GraphiQL for browsers in the dev profile."""

    def __init__(
        self,
        schema: GatewaySchema,
        settings: Settings,
        upstreams: Callable[[], Upstreams],
        documents: PersistedDocuments | None = None,
        responses: ResponseCache | None = None,
    ) -> None:
        self._schema = schema
        self._settings = settings
        self._upstreams = upstreams
        self._documents = documents or PersistedDocuments("apq", MemoryDocumentStore(1000))
        self._responses = responses or MemoryCache(
            max_entries=settings.response_cache_max_entries, max_bytes=settings.response_cache_max_bytes
        )

    async def handle(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "text/html" in accept and "query" not in request.query_params:
            if self._settings.dev:
                return graphiql.graphiql_response(request.url.path)
            return request_error(404, "NOT_FOUND", "GraphiQL is off in this profile")
        media_type = response_media_type(accept)
        if media_type is None:
            return request_error(406, "NOT_ACCEPTABLE", f"answers are {GRAPHQL_RESPONSE} or {JSON}", JSON)
        try:
            graphql_request = await self._read(request)
            query = await self._documents.document(graphql_request.query, graphql_request.extensions)
        except RequestRejected as rejected:
            return request_error(rejected.status, rejected.code, rejected.message, media_type, rejected.headers)
        except PersistedDocumentRefused as refused:
            return request_error(refused.status, refused.code, refused.message, media_type)
        graphql_request = replace(graphql_request, query=query)
        return await self._execute(request, graphql_request, media_type)

    async def _read(self, request: Request) -> GraphQLRequest:
        if request.method == "GET":
            if not csrf.is_preflighted(request.headers):
                raise RequestRejected(
                    400,
                    "CSRF_PREVENTED",
                    "GET requests need a header that a browser cannot send "
                    "cross-site without a preflight: e.g. `Accept: application/graphql-response+json`"
                    " or `GraphQL-Require-Preflight: 1`",
                )
            params: dict[str, Any] = dict(request.query_params)
            if "variables" in params:
                params["variables"] = decode_json(params["variables"], "`variables`")
            if "extensions" in params:
                params["extensions"] = decode_json(params["extensions"], "`extensions`")
            return parse_params(params)
        if request.method != "POST":
            raise RequestRejected(405, "METHOD_NOT_ALLOWED", "use GET or POST", {"Allow": "GET, POST"})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestRejected(415, "UNSUPPORTED_MEDIA_TYPE", f"send the request as {JSON}")
        body = await request.body()
        data = decode_json(body, "the request body")
        if isinstance(data, list):
            raise RequestRejected(
                400,
                "BATCHING_NOT_SUPPORTED",
                "batched requests (a JSON array) are not supported: send one operation per request",
            )
        if not isinstance(data, dict):
            raise RequestRejected(400, "BAD_REQUEST", "the request body must be a JSON object")
        return parse_params(data)

    async def _execute(self, request: Request, graphql_request: GraphQLRequest, media_type: str) -> Response:
        request_id: str = request.scope.get("state", {}).get("request_id", "-")
        with cache.reporting() as report:
            key = self._response_key(graphql_request)
            response_cached: Cached | None = None
            if key is None:
                outcome = await self._run(request, graphql_request, request_id, media_type)
            else:
                try:
                    response_cached = await self._responses.get_or_fetch(
                        key,
                        lambda: self._cacheable_body(request, graphql_request, request_id, media_type),
                        ttl_s=self._settings.response_cache_ttl_s,
                        stale_for_s=0,
                    )
                    executed_here = request.scope.get("state", {}).get(EXECUTED_HERE, False)
                    origin = request if executed_here else None
                    outcome = Outcome(cast(dict[str, Any], response_cached.value), 200, origin=origin)
                except Outcome as finished:
                    # An answer that may not be kept is that request's own (its caller's cost, its errors):
                    # a request that only waited on it runs its operation itself.
                    shared = finished.origin is not request
                    outcome = await self._run(request, graphql_request, request_id, media_type) if shared else finished
        if isinstance(outcome.body, Response):
            return outcome.body
        if response_cached is not None and outcome.origin is not request:
            refused = await self._meter_unexecuted(request, graphql_request, media_type)
            if refused is not None:
                return refused
        body = dict(outcome.body)
        answer = json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if request.method == "GET" else b""
        extensions = dict(report.as_extensions())
        if response_cached is not None and response_cached.status is CacheStatus.HIT:
            extensions["response"] = {"status": "HIT", "ageSeconds": round(response_cached.age_s, 1)}
        if extensions:
            body["extensions"] = {"cache": extensions}
        status = 400 if outcome.status == 400 and media_type == GRAPHQL_RESPONSE else 200
        metering: Metering | None = request.scope.get("state", {}).get("metering")
        if metering is not None:
            body.setdefault("extensions", {})["cost"] = cost_extension(metering, await metering.current_budget())
        if metering is not None and metering.refused is not None:  # the hourly cost budget cannot cover it
            retry_after = str(metering.refused.retry_after_s or 1)
            return JSONResponse(body, status_code=429, media_type=media_type, headers={"Retry-After": retry_after})
        response = JSONResponse(body, status_code=status, media_type=media_type)
        return self._http_caching(request, response, response_cached, answer)

    async def _meter_unexecuted(
        self, request: Request, graphql_request: GraphQLRequest, media_type: str
    ) -> Response | None:
        """Charge a request answered by another's execution (the response cache) as if it had run: same price."""
        metering = request.scope.get("state", {}).get("metering")
        if not isinstance(metering, Metering):
            return None
        document = _document(graphql_request.query or "")
        if document is None:
            return None
        cost = estimate_cost(self._schema._schema, document, graphql_request.variables, graphql_request.operation_name)
        refusal = await meter_cost(metering, cost)
        if refusal is None:
            return None
        body = {
            "errors": [format_error(refusal, True, hide_suggestions=False)],
            "extensions": {"cost": cost_extension(metering, await metering.current_budget())},
        }
        if metering.refused is not None:
            retry_after = str(metering.refused.retry_after_s or 1)
            return JSONResponse(body, status_code=429, media_type=media_type, headers={"Retry-After": retry_after})
        status = 400 if media_type == GRAPHQL_RESPONSE else 200
        return JSONResponse(body, status_code=status, media_type=media_type)

    def _response_key(self, graphql_request: GraphQLRequest) -> str | None:
        """The whole-response cache key, or None when the answer is not the same for everyone at any moment."""
        if self._settings.response_cache_ttl_s <= 0:
            return None
        roots = root_field_names(graphql_request.query or "", graphql_request.operation_name)
        if roots is None or roots & CALLER_SPECIFIC_ROOT_FIELDS:
            return None
        material = json.dumps(
            [graphql_request.query, graphql_request.variables, graphql_request.operation_name],
            sort_keys=True,
            separators=(",", ":"),
        )
        return "response:" + hashlib.sha256(material.encode()).hexdigest()

    def _http_caching(self, request: Request, response: Response, cached: Cached | None, answer: bytes) -> Response:
        """ETag and Cache-Control on successful GET queries (the only cacheable ones in HTTP); 304 on a match.

        The ETag covers the answer (data and errors), not `extensions`, which say how this request was served.
        """
        cacheable = request.method == "GET" and response.status_code == 200 and cached is not None
        if not cacheable or cached is None:
            response.headers["Cache-Control"] = "no-store"
            return response
        etag = '"' + hashlib.sha256(answer).hexdigest()[:32] + '"'
        max_age = max(0, int(self._settings.response_cache_ttl_s - cached.age_s))
        headers = {
            "ETag": etag,
            "Cache-Control": f"private, max-age={max_age}",
            "Vary": "Accept, Authorization, X-API-Key",
        }
        if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    async def _cacheable_body(
        self, request: Request, graphql_request: GraphQLRequest, request_id: str, media_type: str
    ) -> object:
        """The body to keep in the response cache; raises the Outcome when it must not be kept."""
        outcome = await self._run(request, graphql_request, request_id, media_type)
        if not outcome.cacheable:
            raise outcome
        return outcome.body

    async def _run(
        self, request: Request, graphql_request: GraphQLRequest, request_id: str, media_type: str
    ) -> Outcome:
        """Execute the operation and say whether its answer may be kept for everyone."""
        request.scope.setdefault("state", {})[EXECUTED_HERE] = True
        problem = operation_problem(graphql_request.query or "", graphql_request.operation_name)
        if problem is not None:
            return Outcome(request_error(400, "GRAPHQL_VALIDATION_FAILED", problem, media_type), 400, origin=request)
        context = RequestContext(
            upstreams=self._upstreams(),
            deadline=Deadline.after(self._settings.request_deadline_s),
            request_id=request_id,
            metering=request.scope.get("state", {}).get("metering"),
        )
        try:
            result: ExecutionResult = await self._schema.execute(
                graphql_request.query,
                variable_values=graphql_request.variables,
                context_value=context,
                operation_name=graphql_request.operation_name,
                allowed_operation_types=(OperationType.QUERY,),
            )
        except CannotGetOperationTypeError as exc:
            reason = exc.as_http_error_reason()
            return Outcome(request_error(400, "GRAPHQL_VALIDATION_FAILED", reason, media_type), 400, origin=request)
        except InvalidOperationTypeError as exc:
            status = 405 if request.method == "GET" else 400
            headers = {"Allow": "POST"} if request.method == "GET" else None
            kind = exc.operation_type.value
            return Outcome(
                request_error(
                    status, "OPERATION_NOT_ALLOWED", f"{kind} operations are not served here", media_type, headers
                ),
                status,
                origin=request,
            )
        result_errors = result.errors or []
        pre_execution = isinstance(result, PreExecutionError) or (
            result.data is None and bool(result_errors) and all(e.path is None for e in result_errors)
        )
        body: dict[str, Any] = {}
        hide_suggestions = not self._settings.field_suggestions_enabled
        errors: list[Any] = [format_error(error, pre_execution, hide_suggestions) for error in result_errors]
        errors += [
            {
                "message": reported.error.message,
                "path": list(reported.path),
                "extensions": reported.error.as_extensions(),
            }
            for reported in context.reported
        ]
        if errors:
            body["errors"] = errors
        if not pre_execution:
            body["data"] = result.data
        report = cache.current_report()
        stale = report is not None and report.stale
        return Outcome(
            body, 400 if pre_execution else 200, cacheable=not (pre_execution or errors or stale), origin=request
        )
