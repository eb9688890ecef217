"""create_app(settings) -> Starlette: the composition root; the lifespan opens and closes every resource."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gateway import tracing
from gateway.cache.store import open_cache
from gateway.edge import explorer, graphiql
from gateway.edge.access import AccessControl
from gateway.edge.access_log import AccessLog
from gateway.edge.compression import Compression
from gateway.edge.dispatch import RouteDispatch
from gateway.edge.endpoint import GraphQLEndpoint
from gateway.edge.metrics import GatewayMetrics, serve_on_port
from gateway.edge.persisted import open_persisted_documents
from gateway.edge.pipeline import Cors, EdgePipeline
from gateway.edge.readiness import NO_STORE, Readiness
from gateway.edge.request_size import RequestSizeLimits
from gateway.edge.response_cache import KeptAnswers
from gateway.edge.schema import build_schema
from gateway.edge.spans import RequestSpanMiddleware, trace_root_fields
from gateway.limits.quota import Clock, QuotaGuard
from gateway.settings import Settings
from gateway.upstreams.registry import Upstreams, open_upstreams

log = logging.getLogger("gateway")
CORS_PREFLIGHT_HEADERS = ("GraphQL-Require-Preflight", "Apollo-Require-Preflight", "X-Requested-With")
# What common browser clients send besides (Apollo Client's client awareness, W3C trace context, Sentry), so that
# their preflights pass; GATEWAY_CORS_ALLOWED_HEADERS adds more.
CORS_CLIENT_HEADERS = (
    "apollographql-client-name",
    "apollographql-client-version",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
)


class Runtime:
    """What the lifespan opens; read by request handlers."""

    def __init__(self) -> None:
        self._upstreams: Upstreams | None = None

    def upstreams(self) -> Upstreams:
        if self._upstreams is None:
            raise RuntimeError("the gateway has not started (lifespan not run)")
        return self._upstreams

    def open(self, upstreams: Upstreams) -> None:
        self._upstreams = upstreams

    def close(self) -> None:
        self._upstreams = None


def create_app(settings: Settings | None = None, *, quota_clock: Clock | None = None) -> Starlette:
    """`quota_clock` dates the upstream quota counters (UTC days); tests pass a fake one (default: the gateway's
    clock, `GATEWAY_CLOCK_*`)."""
    settings = settings or Settings.from_env()
    runtime = Runtime()
    access = AccessControl(settings)
    readiness = Readiness(settings, access.shedder)
    metrics = GatewayMetrics()  # a registry per app: apps in one process never share series
    metrics.watch(runtime.upstreams)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await access.open(stack)
            quota_guard = QuotaGuard.from_settings(settings, clock=quota_clock)
            stack.push_async_callback(quota_guard.aclose)
            cache = await open_cache(settings, stack, registry=metrics.registry)
            await documents.open(stack)
            stack.push_async_callback(responses.close)
            runtime.open(await open_upstreams(settings, stack, cache, quota_guard=quota_guard))
            stack.callback(runtime.close)
            if settings.metrics_enabled and settings.metrics_port:
                await serve_on_port(metrics, settings.host, settings.metrics_port, stack)
            await readiness.open(stack, runtime.upstreams())  # last: ready once everything is open
            # Start-up garbage is long-lived: keep the collector from walking it on every request.
            gc.collect()
            gc.freeze()
            log.info("gateway started (profile %s)", settings.profile)
            yield

    async def health(request: Request) -> Response:
        """Liveness: the process answers (readiness, with what it depends on, is /readyz)."""
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    documents = open_persisted_documents(settings)
    responses = KeptAnswers(
        max_entries=settings.response_cache_max_entries, max_bytes=settings.response_cache_max_bytes
    )
    schema = build_schema(settings)
    if tracing.active():  # a span per root field; off, the resolvers stay as they are
        trace_root_fields(schema)
    endpoint = GraphQLEndpoint(schema, settings, runtime.upstreams, documents, responses)
    # Every method reaches the endpoint, which answers 405 with a code (not Starlette's plain-text 405).
    graphql_route = Route("/graphql", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    routes: list[BaseRoute] = [
        graphql_route,  # first: the router would find it first (see RouteDispatch)
        Route("/healthz", health, methods=["GET"]),
        Route("/readyz", readiness.endpoint, methods=["GET"]),
    ]
    if settings.metrics_enabled and not settings.metrics_port:
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    if settings.dev:
        routes.append(Mount("/graphiql/static", app=graphiql.graphiql_static_app(), name="graphiql-static"))
    if settings.explorer_enabled:
        routes.append(Route("/", explorer.explorer_endpoint(graphiql=settings.dev), methods=["GET"]))
        routes.append(Mount(explorer.STATIC_PATH, app=explorer.explorer_static_app(), name="explorer-static"))
    # The request's id and record (when its answer has gone out, the metrics and the access line read it), CORS when
    # configured, the size limits, the caller (only /graphql needs a key) and compression: in this order, in one layer.
    observers = [metrics.observe] if settings.metrics_enabled else []
    if settings.access_log_enabled:
        observers.append(AccessLog().write)
    cors: Cors | None = None
    if settings.cors_origins() or settings.cors_allowed_origin_regex:
        extra_headers = [header.strip() for header in settings.cors_allowed_headers.split(",") if header.strip()]
        cors = partial(
            CORSMiddleware,
            allow_origins=settings.cors_origins(),
            allow_origin_regex=settings.cors_allowed_origin_regex or None,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Content-Type",
                "Authorization",
                "X-Api-Key",
                "X-Request-Id",
                *CORS_PREFLIGHT_HEADERS,
                *CORS_CLIENT_HEADERS,
                *extra_headers,
            ],
            expose_headers=["X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After"],
            max_age=600,
        )
    sizes = RequestSizeLimits(max_body_bytes=settings.max_body_bytes, max_header_bytes=settings.max_header_bytes)
    compression = Compression.from_settings(settings)
    middleware = [
        Middleware(EdgePipeline, sizes=sizes, access=access, compression=compression, observers=observers, cors=cors),
        # Then /graphql straight to its endpoint, past Starlette's exception middleware and router.
        Middleware(RouteDispatch, route=graphql_route),
    ]
    if tracing.active():  # outermost: the request's server span holds everything else
        middleware.insert(0, Middleware(RequestSpanMiddleware))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.readiness = readiness  # `python -m gateway` drains it on SIGTERM (gateway.server)
    app.state.metrics = metrics
    return app
