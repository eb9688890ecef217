"""Pure ASGI middleware, the innermost: /graphql straight to its route's endpoint, past Starlette's exception
middleware and router.

On /graphql those two do nothing but cost time on every request: the exception middleware handles the
HTTPExceptions an endpoint raises (the GraphQL endpoint raises none) and the router finds the route given here (the
first of its routes). Every other request (another path, a method the route refuses, a root path) goes through them
as before: its 404, 405, redirect or mount is Starlette's.
"""

from __future__ import annotations

from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send


class RouteDispatch:
    def __init__(self, app: ASGIApp, route: Route) -> None:
        self.app = app
        self._path = route.path
        self._methods = frozenset(route.methods or ())
        self._endpoint = route.endpoint
        self._handle = route.app  # what the route calls for a method it accepts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == self._path
            and scope["method"] in self._methods
            and not scope.get("root_path")
        ):
            scope["endpoint"], scope["path_params"] = self._endpoint, {}  # as the router's match would set them
            await self._handle(scope, receive, send)
            return
        await self.app(scope, receive, send)
