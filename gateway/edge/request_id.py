"""The first step at the edge (of `gateway.edge.pipeline`; `RequestIdMiddleware` alone): every request gets an id
(the caller's X-Request-Id when well-formed), echoed back, and a `RequestRecord` (`gateway.request_record`), current
while it is served, that the edge and the upstream calls fill in. When the answer has gone out, the record is handed to
the observers (the access log, the metrics): one record, read by both. Probes (`/healthz`, `/readyz`, `/metrics`) are
not observed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.request_record import RequestRecord, recording

log = logging.getLogger(__name__)
HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
UNOBSERVED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

Observer = Callable[[RequestRecord], None]


def _uuid4_hex() -> str:
    """`uuid.uuid4().hex`, without making a UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


def begin_request(scope: Scope) -> tuple[RequestRecord, bytes]:
    """The request's record, and its id as the header value; the id is in `scope["state"]` from now on."""
    given = next((value for name, value in scope["headers"] if name == HEADER), b"")
    request_id = given.decode("ascii") if _WELL_FORMED.match(given) else _uuid4_hex()
    # A copy per request (ASGI servers should copy the lifespan state; not every one does), so that what the
    # edge records about this request (its id, its caller, its meter) never leaks into another's.
    scope["state"] = {**scope.get("state", {}), "request_id": request_id}
    return RequestRecord(request_id, scope.get("method", ""), scope.get("path", "")), request_id.encode("ascii")


def stamp(message: Message, record: RequestRecord, encoded_id: bytes) -> None:
    """On the answer's start, as it goes out: its status recorded and the request id echoed (the last header)."""
    if message["type"] == "http.response.start":
        record.status = message["status"]
        message.setdefault("headers", [])
        message["headers"] = [*message["headers"], (HEADER, encoded_id)]


def failed(record: RequestRecord) -> None:
    """The request raised: when no answer went out, the server's own error page answers it (a 500)."""
    if record.status == 0:
        record.status = 500
        record.refused(INTERNAL_SERVER_ERROR)


def observe(record: RequestRecord, observers: tuple[Observer, ...]) -> None:
    """The answered request handed to each observer, unless it is a probe; an observer's fault fails nothing."""
    if observers and record.path not in UNOBSERVED_PATHS:
        record.finish()
        for observer in observers:
            try:
                observer(record)
            except Exception:
                log.exception("observing request %s failed", record.request_id)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, observers: Iterable[Observer] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record, encoded_id = begin_request(scope)

        async def send_with_id(message: Message) -> None:
            stamp(message, record, encoded_id)
            await send(message)

        with recording(record):
            try:
                await self.app(scope, receive, send_with_id)
            except BaseException:
                failed(record)
                raise
            finally:
                observe(record, self.observers)
