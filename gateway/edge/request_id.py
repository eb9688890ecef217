"""Pure ASGI middleware, outermost: every request gets an id (the caller's X-Request-Id when well-formed), echoed
back, and a `RequestRecord` (`gateway.request_record`), current while it is served, that the edge and the upstream
calls fill in. When the answer has gone out, the record is handed to the observers (the access log, the metrics):
one record, read by both. Probes (`/healthz`, `/readyz`, `/metrics`) are not observed.
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


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, observers: Iterable[Observer] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), b"")
        request_id = given.decode("ascii") if _WELL_FORMED.match(given) else _uuid4_hex()
        # A copy per request (ASGI servers should copy the lifespan state; not every one does), so that what the
        # edge records about this request (its id, its caller, its meter) never leaks into another's.
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        path = scope.get("path", "")
        record = RequestRecord(request_id, scope.get("method", ""), path)
        encoded_id = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, encoded_id)]
            await send(message)

        with recording(record):
            try:
                await self.app(scope, receive, send_with_id)
            except BaseException:
                if record.status == 0:  # answered by the server's own error page
                    record.status = 500
                    record.refused(INTERNAL_SERVER_ERROR)
                raise
            finally:
                if self.observers and path not in UNOBSERVED_PATHS:
                    record.finish()
                    for observe in self.observers:
                        try:
                            observe(record)
                        except Exception:  # an observer's fault never fails a request
                            log.exception("observing request %s failed", request_id)
