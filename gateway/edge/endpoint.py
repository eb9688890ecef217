"""The /graphql endpoint: reads the request (protocol), finds its document (persisted documents), answers it from the
response cache or executes it (schema), and writes the answer with its cache and cost extensions.

The request's deadline is the caller's: made once, when the request arrived at the edge (the access middleware),
and never renewed, whether the request waits for an execution slot (`gateway.edge.shedding`), for another request's
execution of the same operation, or executes after it. It also bounds those waits: no answer is later than the
deadline and `DEADLINE_GRACE_S` (then 504 GATEWAY_TIMEOUT; normally every upstream call has ended by the deadline
and the answer is partial data).

GraphQL appears only in the edge and in app.py. Every error leaves with a stable `extensions.code`; unexpected
exceptions are masked as INTERNAL_SERVER_ERROR and logged with the request id, never sent as a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from graphql import DocumentNode, GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError

from gateway.cache import store as cache
from gateway.cache.store import CacheStatus, ResponseCache
from gateway.edge import documents, graphiql
from gateway.edge.cost import CostedRequestContext, Estimate, RequestCost
from gateway.edge.execution import Executor
from gateway.edge.graphql_errors import Phase, collapsed, format_error
from gateway.edge.json_response import JSONResponse
from gateway.edge.operation import OperationReader, SelectedOperation
from gateway.edge.persisted import MemoryDocumentStore, PersistedDocuments
from gateway.edge.protocol import (
    GRAPHQL_RESPONSE,
    JSON,
    NOT_ACCEPTABLE,
    GraphQLRequest,
    read_request,
    response_media_type,
    wants_graphiql,
)
from gateway.edge.refusals import Refusal, Refused
from gateway.edge.response_cache import KeptAnswer, KeptAnswers, WholeResponseCache
from gateway.edge.schema import GatewaySchema, query_limits
from gateway.edge.shedding import RETRY_AFTER_S, Place, ServerOverloaded, overloaded
from gateway.limits.limiter import Decision
from gateway.limits.metering import Metering
from gateway.request_record import current_record
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror import freshness
from gateway.upstreams.registry import Upstreams

log = logging.getLogger(__name__)
GRAPHIQL_OFF = Refusal(404, "NOT_FOUND", "GraphiQL is off in this profile")
GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT"
# How far past its deadline a request may still be answered: the upstream calls end by the deadline; what is left is
# merging and writing the answer.
DEADLINE_GRACE_S = 0.25
OUT_OF_TIME_S = 0.25  # a request with no more than this left does no useful upstream work
KEY_MEMO_SIZE = 1024  # response cache keys remembered (`GraphQLEndpoint._response_key`)
KEY_MEMO_MAX_CHARS = 4096  # of texts and variables' sources whose key is remembered


@dataclass(frozen=True)
class Executed:
    """The answer of one execution: the GraphQL response body, its HTTP status (400: refused before execution) and
    whether everyone may be served it (no errors, no stale data)."""

    body: dict[str, Any]
    status: int
    keepable: bool


@dataclass
class _Exchange:
    """One /graphql request on its way through the endpoint."""

    request: Request
    graphql: GraphQLRequest
    root_fields: frozenset[str] | None
    media_type: str
    deadline: Deadline  # made once, when the request arrived: never renewed for a re-run or a wait
    request_id: str
    metering: Metering | None
    cost: RequestCost
    place: Place | None = None  # its place in this process (load shedding), when the access middleware gave one
    within_limits: bool = False  # within the query limits: its execution needs a slot (else it is refused at once)
    document: DocumentNode | None = None  # parsed already (within the token limit)
    waited_on_another: bool = False  # waited for another request's execution of the operation, and runs it again
    outcome: Executed | Refusal | None = None  # set when this request executes its operation

    @property
    def needs_slot(self) -> bool:
        """An execution slot, unless it would be refused at once (outside the query limits), or it has (next to) no
        time left after waiting for another's execution: its document is validated already and its upstream calls
        end with its deadline, so it is answered at once rather than refused as overloaded."""
        out_of_time = self.waited_on_another and self.deadline.remaining_s() <= OUT_OF_TIME_S
        return self.within_limits and not out_of_time

    def time_left_s(self) -> float:
        """How long this request may still wait or execute: until its deadline, and the grace after it."""
        return max(0.0, self.deadline.remaining_s()) + DEADLINE_GRACE_S

    @property
    def over_get(self) -> bool:
        return self.request.method == "GET"

    @property
    def over_budget(self) -> Decision | None:
        """The charge the caller's hourly cost budget refused, if it did."""
        return None if self.metering is None else self.metering.refused


async def _shed(metering: Metering | None, place: Place | None, error: ServerOverloaded) -> Refusal:
    """A request refused after admission because the process is overloaded: its rate-limit unit (and any cost
    charge) given back."""
    if place is not None:
        place.mark_shed()
    if metering is not None:
        await metering.release()
    return Refusal.of(503, error, {"Retry-After": str(RETRY_AFTER_S)})


def _over_budget(body: dict[str, Any], exchange: _Exchange) -> Response:
    refused = exchange.over_budget
    retry_after = str((refused.retry_after_s if refused is not None else None) or 1)
    return JSONResponse(body, status_code=429, media_type=exchange.media_type, headers={"Retry-After": retry_after})


class GraphQLEndpoint:
    """POST (application/json) and GET (queries only) at /graphql; GraphiQL for browsers in the dev profile."""

    def __init__(
        self,
        schema: GatewaySchema,
        settings: Settings,
        upstreams: Callable[[], Upstreams],
        documents: PersistedDocuments | None = None,
        responses: ResponseCache | None = None,
        *,
        estimate: Estimate | None = None,
    ) -> None:
        """`responses` stores whole responses (in memory by default); `estimate` prices operations (the schema's
        estimate by default; tests count its calls)."""
        self._schema = schema
        self._settings = settings
        self._upstreams = upstreams
        self._documents = documents or PersistedDocuments("apq", MemoryDocumentStore(1000))
        self._operations = OperationReader(query_limits(settings))
        store = responses or KeptAnswers(
            max_entries=settings.response_cache_max_entries, max_bytes=settings.response_cache_max_bytes
        )
        self._responses = WholeResponseCache(store, settings.response_cache_ttl_s)
        self._estimate = estimate or schema.estimate_cost
        self._executor = Executor(schema)
        # (text, operation name, what the variables were decoded from) -> the response cache's key: the last so many
        self._response_keys: OrderedDict[tuple[str, str | None, bytes | str], str | None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as an ASGI app, for its route: what Starlette's wrapper of request handlers adds (handlers
        for the HTTPExceptions a handler raises) it does not need, since it raises none."""
        response = await self.handle(Request(scope, receive, send))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        state = request.scope.get("state", {})
        deadline = state.get("deadline")  # the caller's, from its arrival at the edge
        if not isinstance(deadline, Deadline):
            deadline = Deadline.after(self._settings.request_deadline_s)
        if wants_graphiql(request):
            if self._settings.dev:
                return graphiql.graphiql_response(request.url.path, demo_key=self._settings.graphiql_demo_key)
            return GRAPHIQL_OFF.response(GRAPHQL_RESPONSE)
        media_type = response_media_type(request.headers.get("accept", ""))
        if media_type is None:
            return NOT_ACCEPTABLE.response(JSON)
        try:
            graphql_request = await read_request(request)
            query = await self._documents.document(graphql_request.query, graphql_request.extensions)
        except Refused as refused:
            return refused.refusal.response(media_type)
        if query is not graphql_request.query:  # a persisted document's text
            graphql_request = replace(graphql_request, query=query)
        record = current_record()
        if record is not None:  # the operation's name for the access log; for metrics only when it is trusted
            record.operation = graphql_request.operation_name
            record.trusted = self._documents.trusted(query)
        metering = state.get("metering")
        metering = metering if isinstance(metering, Metering) else None
        place = state.get("place")
        place = place if isinstance(place, Place) else None
        if documents.is_long(query):  # reading it would hold the loop: on the document worker, in its turn
            try:
                operation = await self._read_off_loop(query, graphql_request.operation_name, deadline, place)
            except ServerOverloaded as exc:
                return (await _shed(metering, place, exc)).response(media_type)
        else:
            operation = self._operations.select(query, graphql_request.operation_name)
        if record is not None and record.operation is None:  # the document's only operation's (else none)
            record.operation = operation.name
        if operation.problem is not None:
            return Refusal(400, "GRAPHQL_VALIDATION_FAILED", operation.problem).response(media_type)
        exchange = _Exchange(
            request=request,
            graphql=graphql_request,
            root_fields=operation.root_fields,
            media_type=media_type,
            deadline=deadline,
            request_id=state.get("request_id", "-"),
            metering=metering,
            cost=RequestCost(self._estimate, self._settings.max_query_cost, metering),
            place=place,
            within_limits=operation.within_limits,
            document=operation.document,
        )
        return await self._answer(exchange)

    def _response_key(self, graphql_request: GraphQLRequest, root_fields: frozenset[str] | None) -> str | None:
        """The response cache's key, written once per text, operation name and variables' source (the root fields
        are the text's and the operation's): requests repeated byte for byte do not write and hash it again."""
        query, source = graphql_request.query, graphql_request.variables_source
        if query is None or source is None or len(query) > KEY_MEMO_MAX_CHARS or len(source) > KEY_MEMO_MAX_CHARS:
            return self._responses.key(graphql_request, root_fields)
        memo = (query, graphql_request.operation_name, source)
        keys = self._response_keys
        if memo in keys:
            keys.move_to_end(memo)
            return keys[memo]
        key = keys[memo] = self._responses.key(graphql_request, root_fields)
        if len(keys) > KEY_MEMO_SIZE:
            keys.popitem(last=False)
        return key

    async def _read_off_loop(
        self, query: str, operation_name: str | None, deadline: Deadline, place: Place | None
    ) -> SelectedOperation:
        """The document read on the document worker, waiting in this process's queue for its turn (ServerOverloaded
        when the queue is full, or the turn does not come before the deadline)."""
        if place is not None and not place.join_queue():
            raise overloaded("the gateway is overloaded: too many requests are waiting; retry shortly")
        try:
            return await documents.off_loop(self._operations.select, deadline.remaining_s(), query, operation_name)
        finally:
            if place is not None:
                place.leave_queue()

    async def _answer(self, exchange: _Exchange) -> Response:
        outcome: Executed | Refusal | None
        with cache.reporting() as report, freshness.reporting() as stale_mirrors:
            key = self._response_key(exchange.graphql, exchange.root_fields)
            served = None if key is None else self._responses.served_now(key)  # a kept answer: nothing to wait for
            if key is not None and served is None:  # its own execution, or another's: no longer than its deadline
                waiting = asyncio.timeout(exchange.time_left_s())
                try:
                    async with waiting:
                        served = await self._responses.serve(key, lambda: self._execute_kept(exchange))
                except TimeoutError:
                    if not waiting.expired():
                        raise
                    return self._deadline_passed().response(exchange.media_type)
            if served is not None:  # kept: this request's own execution or another's, written as it was kept
                if exchange.outcome is None:  # another request's execution answers this one: the same price
                    refusal = await exchange.cost.decide_estimated(served.answer.cost)
                    if refusal is not None:
                        return await self._refused_unexecuted(exchange, refusal)
                outcome = None
            elif exchange.outcome is not None:  # this request executed its operation, and may not keep it
                outcome = exchange.outcome
            else:  # not for everyone, or another's answer that was its own (its errors, its caller's refusal)
                exchange.waited_on_another = key is not None
                outcome = await self._execute(exchange)
        if isinstance(outcome, Refusal):
            return outcome.response(exchange.media_type)
        record = current_record()
        if record is not None:
            hit = served is not None and served.status is CacheStatus.HIT
            record.response_cache = "bypass" if key is None else "hit" if hit else "miss"
            record.errors(outcome.body.get("errors") if outcome is not None else None)  # kept answers have none
            record.cost_refused = exchange.over_budget is not None
        extensions: dict[str, Any] = {}
        cached = report.as_extensions()
        if served is not None and served.status is CacheStatus.HIT:
            cached["response"] = {"status": "HIT", "ageSeconds": round(served.age_s, 1)}
        if cached:
            extensions["cache"] = cached
        if stale_mirrors:  # answers from a mirror snapshot older than its feed's window say so
            extensions["mirrors"] = stale_mirrors.as_extensions()
        cost = await exchange.cost.extension()
        if cost is not None:
            extensions["cost"] = cost
        if outcome is None:
            assert served is not None
            if exchange.over_budget is None and not exchange.over_get:  # the common way: the kept JSON as it is
                written = Response(served.answer.write(extensions), media_type=exchange.media_type)
                return self._responses.http_caching(exchange.request, written, served, b"")
            body, status = served.answer.body(), 200
        else:
            body = outcome.body
            status = 400 if outcome.status == 400 and exchange.media_type == GRAPHQL_RESPONSE else 200
        answer = json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if exchange.over_get else b""
        full = {**body, "extensions": extensions} if extensions else dict(body)
        if exchange.over_budget is not None:  # the hourly cost budget cannot cover it
            return _over_budget(full, exchange)
        response = JSONResponse(full, status_code=status, media_type=exchange.media_type)
        return self._responses.http_caching(exchange.request, response, served, answer)

    async def _refused_unexecuted(self, exchange: _Exchange, refusal: GraphQLError) -> Response:
        """The refusal of a request that another's execution would have answered (its caller's tier or budget)."""
        body: dict[str, Any] = {"errors": [format_error(refusal, Phase.DOCUMENT)]}
        record = current_record()
        if record is not None:
            record.response_cache = "hit"
            record.errors(body["errors"])
            record.cost_refused = exchange.over_budget is not None
        cost = await exchange.cost.extension()
        if cost is not None:
            body["extensions"] = {"cost": cost}
        if exchange.over_budget is not None:
            return _over_budget(body, exchange)
        status = 400 if exchange.media_type == GRAPHQL_RESPONSE else 200
        return JSONResponse(body, status_code=status, media_type=exchange.media_type)

    async def _execute_kept(self, exchange: _Exchange) -> KeptAnswer | None:
        """Executes the operation for the response cache: the answer when everyone may be served it."""
        outcome = await self._execute(exchange)
        if isinstance(outcome, Executed) and outcome.keepable and exchange.cost.estimated is not None:
            try:
                return KeptAnswer.of(outcome.body, exchange.cost.estimated)
            except (TypeError, ValueError) as error:  # not JSON: answered, never kept
                log.warning("not keeping an answer: it is not JSON (%s)", error)

        return None

    async def _execute(self, exchange: _Exchange) -> Executed | Refusal:
        exchange.outcome = outcome = await self._run(exchange)
        return outcome

    async def _run(self, exchange: _Exchange) -> Executed | Refusal:
        place = exchange.place
        try:
            if place is not None and exchange.needs_slot and not await place.execution_slot(exchange.deadline):
                error = overloaded("the gateway is overloaded: no execution slot came free in time; retry shortly")
                return await _shed(exchange.metering, place, error)
            executing = asyncio.timeout(exchange.time_left_s())
            try:
                async with executing:
                    return await self._executed(exchange)
            except TimeoutError:
                if not executing.expired():
                    raise
                return self._deadline_passed()
        finally:
            if place is not None:
                place.leave()  # its slot goes to the next request now, before this answer is written

    def _deadline_passed(self) -> Refusal:
        deadline_s = self._settings.request_deadline_s
        return Refusal(504, GATEWAY_TIMEOUT, f"no answer within the request's deadline of {deadline_s:g} s")

    async def _executed(self, exchange: _Exchange) -> Executed | Refusal:
        context = CostedRequestContext(
            upstreams=self._upstreams(),
            deadline=exchange.deadline,
            request_id=exchange.request_id,
            metering=exchange.metering,
            cost=exchange.cost,
            document=exchange.document,
        )
        graphql_request = exchange.graphql
        try:
            result = await self._executor.execute(
                graphql_request.query,
                exchange.document,
                graphql_request.variables,
                graphql_request.operation_name,
                context,
                variables_source=graphql_request.variables_source,
            )
        except CannotGetOperationTypeError as exc:
            return Refusal(400, "GRAPHQL_VALIDATION_FAILED", exc.as_http_error_reason())
        except InvalidOperationTypeError as exc:
            return Refusal(
                405 if exchange.over_get else 400,
                "OPERATION_NOT_ALLOWED",
                f"{exc.operation_type.value} operations are not served here",
                {"Allow": "POST"} if exchange.over_get else {},
            )
        result_errors = result.errors or []
        for error in result_errors:
            if isinstance(error.original_error, ServerOverloaded):  # its document checks did not come in time
                return await _shed(exchange.metering, exchange.place, error.original_error)
        if isinstance(result, PreExecutionError):
            phase = Phase.DOCUMENT  # parsing, the query limits, validation, the cost decision
        elif result.data is None and result_errors and all(error.path is None for error in result_errors):
            phase = Phase.INPUTS  # the caller's variables and arguments, refused before anything resolved
        else:
            phase = Phase.EXECUTION
        hide_suggestions = not self._settings.field_suggestions_enabled
        errors: list[Any] = [format_error(error, phase, hide_suggestions) for error in result_errors]
        errors += [
            {
                "message": reported.error.message,
                "path": list(reported.path),
                "extensions": reported.error.as_extensions(),
            }
            for reported in context.reported
        ]
        errors = collapsed(errors)
        refused = phase is not Phase.EXECUTION
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = errors
        if not refused:
            body["data"] = result.data
        report, mirrors = cache.current_report(), freshness.current_report()
        stale = (report is not None and report.stale) or bool(mirrors)
        return Executed(body, 400 if refused else 200, keepable=not (refused or errors or stale))
