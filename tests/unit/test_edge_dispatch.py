"""RouteDispatch: /graphql straight to its endpoint; every request answers as it does through the router."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gateway.edge.dispatch import RouteDispatch

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Endpoint:
    """An ASGI endpoint that tells whether Starlette's router passed it the request."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        request = Request(scope, receive)
        body = await request.body()
        await JSONResponse({"method": request.method, "path": request.url.path, "body": body.decode()})(
            scope, receive, send
        )


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def build(dispatch: bool) -> tuple[Starlette, Endpoint]:
    endpoint = Endpoint()
    graphql = Route("/graphql", endpoint, methods=METHODS)
    routes: list[BaseRoute] = [graphql, Route("/healthz", health, methods=["GET"])]
    middleware = [Middleware(RouteDispatch, route=graphql)] if dispatch else []
    return Starlette(routes=routes, middleware=middleware), endpoint


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/graphql", {"content": b'{"query":"{ __typename }"}'}),
    ("GET", "/graphql", {"params": {"query": "{ __typename }"}}),
    ("HEAD", "/graphql", {}),
    ("OPTIONS", "/graphql", {}),
    ("TRACE", "/graphql", {}),  # a method the route refuses: Starlette's 405
    ("POST", "/graphql/", {}),  # the router's redirect
    ("GET", "/graphql/x", {}),
    ("GET", "/healthz", {}),
    ("POST", "/healthz", {}),
    ("GET", "/nowhere", {}),
]


async def answer(app: Starlette, method: str, path: str, options: dict[str, Any]) -> tuple[int, Any, bytes]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        response = await client.request(method, path, **options)
    return response.status_code, sorted(response.headers.multi_items()), response.content


@pytest.mark.parametrize(("method", "path", "options"), REQUESTS)
async def test_every_request_answers_as_through_the_router(method: str, path: str, options: dict[str, Any]) -> None:
    routed, _ = build(dispatch=False)
    dispatched, _ = build(dispatch=True)
    assert await answer(dispatched, method, path, options) == await answer(routed, method, path, options)


async def test_graphql_requests_skip_the_router_and_others_do_not() -> None:
    app, endpoint = build(dispatch=True)
    status, _, _ = await answer(app, "POST", "/graphql", {"content": b"{}"})
    assert status == 200
    (scope,) = endpoint.scopes
    assert "router" not in scope  # the router sets it on every request it routes
    assert "starlette.exception_handlers" not in scope  # and so does the exception middleware
    assert scope["endpoint"] is endpoint
    assert scope["path_params"] == {}

    routed, routed_endpoint = build(dispatch=False)
    await answer(routed, "POST", "/graphql", {"content": b"{}"})
    assert "router" in routed_endpoint.scopes[0]


async def test_a_request_under_a_root_path_goes_through_the_router() -> None:
    app, endpoint = build(dispatch=True)
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        response = await client.post("/api/graphql", content=b"{}")
    assert response.status_code == 200
    assert "router" in endpoint.scopes[0]
