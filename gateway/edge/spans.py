"""The edge's spans (`gateway.tracing`, only when tracing is on): one server span per HTTP request, continuing the
caller's trace (W3C `traceparent`), and one span per root field resolved (not per scalar field), under which the
upstream calls (`gateway.upstreams._http`) and Redis calls (`gateway.redis`, the cache) open theirs.

The probes (/healthz, /readyz, /metrics) are not traced: a load balancer's checks would drown the requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLResolveInfo
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import tracing
from gateway.edge.schema import GatewaySchema

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
ROUTES = {"/graphql": "/graphql", "/graphql/": "/graphql", "/": "/"}


class RequestSpanMiddleware:
    """Pure ASGI middleware, the outermost: the request's server span, named `<METHOD> <route>`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS or not tracing.active():
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        method = scope["method"]
        route = ROUTES.get(scope["path"])
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if route is not None:
            attributes["http.route"] = route
        client = scope.get("client")
        if client:
            attributes["client.address"] = client[0]
        if "user-agent" in headers:
            attributes["user_agent.original"] = headers["user-agent"][:256]
        status = 0

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        name = f"{method} {route}" if route is not None else method
        with tracing.server_span(name, headers, attributes=attributes) as span:
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                if span is not None:
                    _finish(span, scope, status)


def _finish(span: Any, scope: Scope, status: int) -> None:
    if status:
        span.set_attribute("http.response.status_code", status)
    request_id = scope.get("state", {}).get("request_id")
    if isinstance(request_id, str):
        span.set_attribute("gateway.request_id", request_id)
    if status >= 500:
        tracing.mark_failed(span, str(status))


Resolve = Callable[..., Any]


def trace_root_fields(schema: GatewaySchema) -> int:
    """Wraps the resolver of every root field of `schema`'s Query in a span; how many it wrapped. Called once, when
    the app is built with tracing on (off, the resolvers stay as they are)."""
    query = schema.executable_query_type()
    if query is None:
        return 0
    wrapped = 0
    for name, field in query.fields.items():
        if field.resolve is not None and not name.startswith("__"):
            field.resolve = _traced(field.resolve, query.name)
            wrapped += 1
    return wrapped


def _traced(resolve: Resolve, parent_type: str) -> Resolve:
    async def traced(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        operation = info.operation
        attributes: dict[str, str] = {
            "graphql.field.name": info.field_name,
            "graphql.field.path": ".".join(str(key) for key in info.path.as_list()),
            "graphql.operation.type": operation.operation.value,
        }
        if operation.name is not None:
            attributes["graphql.operation.name"] = operation.name.value
        with tracing.span(f"{parent_type}.{info.field_name}", attributes=attributes):
            result = resolve(source, info, **arguments)
            if isinstance(result, Awaitable):
                return await result
            return result

    return traced
