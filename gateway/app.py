"""create_app(settings) -> Starlette: the composition root; the lifespan opens and closes every resource."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gateway.cache.store import MemoryCache, open_cache
from gateway.edge import explorer, graphiql
from gateway.edge.access import AccessControl, AccessMiddleware
from gateway.edge.endpoint import GraphQLEndpoint
from gateway.edge.persisted import open_persisted_documents
from gateway.edge.request_id import RequestIdMiddleware
from gateway.edge.request_size import RequestSizeMiddleware
from gateway.edge.schema import build_schema
from gateway.limits.quota import Clock, QuotaGuard, utc_now
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


def create_app(settings: Settings | None = None, *, quota_clock: Clock = utc_now) -> Starlette:
    """`quota_clock` dates the upstream quota counters (UTC days); tests pass a fake one."""
    settings = settings or Settings.from_env()
    runtime = Runtime()
    access = AccessControl(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await access.open(stack)
            quota_guard = QuotaGuard.from_settings(settings, clock=quota_clock)
            stack.push_async_callback(quota_guard.aclose)
            cache = await open_cache(settings, stack)
            await documents.open(stack)
            stack.push_async_callback(responses.close)
            runtime.open(await open_upstreams(settings, stack, cache, quota_guard=quota_guard))
            stack.callback(runtime.close)
            # Start-up garbage is long-lived: keep the collector from walking it on every request.
            gc.collect()
            gc.freeze()
            log.info("gateway started (profile %s)", settings.profile)
            yield

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    documents = open_persisted_documents(settings)
    responses = MemoryCache(
        max_entries=settings.response_cache_max_entries, max_bytes=settings.response_cache_max_bytes
    )
    endpoint = GraphQLEndpoint(build_schema(settings), settings, runtime.upstreams, documents, responses)
    routes: list[BaseRoute] = [
        # Every method reaches the endpoint, which answers 405 with a code (not Starlette's plain-text 405).
        Route("/graphql", endpoint.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    if settings.dev:
        routes.append(Mount("/graphiql/static", app=graphiql.graphiql_static_app(), name="graphiql-static"))
    if settings.explorer_enabled:
        routes.append(Route("/", explorer.explorer_endpoint(graphiql=settings.dev), methods=["GET"]))
        routes.append(Mount(explorer.STATIC_PATH, app=explorer.explorer_static_app(), name="explorer-static"))
    middleware = [Middleware(RequestIdMiddleware)]
    if settings.cors_origins() or settings.cors_allowed_origin_regex:
        extra_headers = [header.strip() for header in settings.cors_allowed_headers.split(",") if header.strip()]
        middleware.append(
            Middleware(
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
        )
    middleware.append(
        Middleware(
            RequestSizeMiddleware, max_body_bytes=settings.max_body_bytes, max_header_bytes=settings.max_header_bytes
        )
    )
    # Innermost: oversized requests are refused before a key is looked up; only /graphql needs a key.
    middleware.append(Middleware(AccessMiddleware, control=access))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
