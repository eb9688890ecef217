"""Pure ASGI middleware: refuse oversized requests before the app reads them.

Headers over `max_header_bytes` are answered 431; a body whose Content-Length is over `max_body_bytes` is answered 413
before a byte of it is read, and a body streamed without a Content-Length (or longer than it said) is cut off with a
413 as soon as it passes the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


async def send_refusal(send: Send, status: int, code: str, message: str) -> None:
    """A GraphQL-shaped error answer, for refusals made before the GraphQL endpoint runs."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestSizeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await send_refusal(
                send, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE", f"request headers are over {self.max_header_bytes} bytes"
            )
            return
        declared = [value for name, value in scope["headers"] if name == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await send_refusal(send, 400, "BAD_REQUEST", "Content-Length is not a number")
                return
            if length > self.max_body_bytes:
                await send_refusal(
                    send, 413, "PAYLOAD_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes"
                )
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
            await send_refusal(send, 413, "PAYLOAD_TOO_LARGE", f"the request body is over {self.max_body_bytes} bytes")
