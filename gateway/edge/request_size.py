"""Pure ASGI middleware: refuse oversized requests before the app reads them.

Headers over `max_header_bytes` are answered 431; a body whose Content-Length is over `max_body_bytes` is answered 413
before a byte of it is read, and a body streamed without a Content-Length (or longer than it said) is cut off with a
413 as soon as it passes the limit. Refusals are sent as JSON and close the connection (the rest of the body is
never read).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.protocol import JSON
from gateway.edge.refusals import Refusal


class _BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, refusal: Refusal) -> None:
    await refusal.send(send, JSON, close_connection=True)


class RequestSizeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self._too_large = Refusal(413, "PAYLOAD_TOO_LARGE", f"the request body is over {max_body_bytes} bytes")
        self._headers_too_large = Refusal(
            431, "REQUEST_HEADER_FIELDS_TOO_LARGE", f"request headers are over {max_header_bytes} bytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await _refuse(send, self._headers_too_large)
            return
        declared = [value for name, value in scope["headers"] if name == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await _refuse(send, Refusal(400, "BAD_REQUEST", "Content-Length is not a number"))
                return
            if length > self.max_body_bytes:
                await _refuse(send, self._too_large)
                return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await _refuse(send, self._too_large)
