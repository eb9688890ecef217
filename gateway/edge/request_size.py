"""Refuse oversized requests before the app reads them (a step of `gateway.edge.pipeline`; `RequestSizeMiddleware`
alone).

Headers over `max_header_bytes` are answered 431; a body whose Content-Length is over `max_body_bytes` is answered 413
before a byte of it is read, and a body streamed without a Content-Length is cut off with a 413 as soon as it passes
the limit (with one Content-Length within the limit nothing is counted: the server reads no more than it says).
Refusals are sent as JSON and close the connection cleanly: the answer goes out at once, then what the client still
sends of its body is read and dropped (at most `MAX_DRAINED_BYTES`, for at most `DRAIN_TIMEOUT_S`) before the
connection closes, so that a client that sends its whole body before reading gets the 413 rather than a connection
reset. A client that asked `Expect: 100-continue` sends no body after the refusal: nothing is drained.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.protocol import JSON
from gateway.edge.refusals import Refusal

MAX_DRAINED_BYTES = 64 * 1024 * 1024
DRAIN_TIMEOUT_S = 10.0


class BodyTooLarge(Exception):
    """A body streamed without one Content-Length passed the limit (raised by `RequestSizeLimits.counting`)."""


COUNT_THE_BODY: Final = "count the body"  # `RequestSizeLimits.check`: within the limits so far, its body counted


class RequestSizeLimits:
    """The limits, and the refusals of the requests over them."""

    def __init__(self, max_body_bytes: int, max_header_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.too_large = Refusal(413, "PAYLOAD_TOO_LARGE", f"the request body is over {max_body_bytes} bytes")
        self._headers_too_large = Refusal(
            431, "REQUEST_HEADER_FIELDS_TOO_LARGE", f"request headers are over {max_header_bytes} bytes"
        )

    def check(self, scope: Scope) -> Refusal | str | None:
        """The refusal of a request over the limits; COUNT_THE_BODY when its body must be counted as it is read
        (`counting`); None when nothing is left to check."""
        header_bytes = 0
        declared = []
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name == b"content-length":
                declared.append(value)
        if header_bytes > self.max_header_bytes:
            return self._headers_too_large
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                return Refusal(400, "BAD_REQUEST", "Content-Length is not a number")
            if length > self.max_body_bytes:
                return self.too_large
            if len(declared) == 1:  # the server reads no more than the one length declared: nothing to count
                return None
        return COUNT_THE_BODY

    def counting(self, receive: Receive) -> Receive:
        """`receive`, raising BodyTooLarge once the body read passes the limit."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        return counting_receive


class RequestSizeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.limits = RequestSizeLimits(max_body_bytes, max_header_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verdict = self.limits.check(scope)
        if isinstance(verdict, Refusal):
            await refuse(scope, receive, send, verdict)
        elif verdict is None:
            await self.app(scope, receive, send)
        else:
            await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, self.limits.counting(receive), tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await refuse(scope, receive, send, self.limits.too_large)


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    """The refusal, whole, at once; the rest of the request body read and dropped; then the end of the answer (and
    of the connection)."""
    await refusal.send(send, JSON, close_connection=True, more_to_come=True)
    if not _expects_continue(scope):
        await _drain(receive)
    await send({"type": "http.response.body", "body": b""})


async def _drain(receive: Receive) -> None:
    drained = 0
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            while drained <= MAX_DRAINED_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client is gone
                drained += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return


def _expects_continue(scope: Scope) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"])
