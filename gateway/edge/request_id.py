"""Pure ASGI middleware: every request gets an id (the caller's X-Request-Id when well-formed), echoed back."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), b"")
        request_id = given.decode("ascii") if _WELL_FORMED.match(given) else uuid.uuid4().hex
        # A copy per request (ASGI servers should copy the lifespan state; not every one does), so that what the
        # edge records about this request (its id, its caller, its meter) never leaks into another's.
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id.encode("ascii"))]
            await send(message)

        await self.app(scope, receive, send_with_id)
