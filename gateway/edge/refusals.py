"""Every coded HTTP refusal of the edge, written one way: `{"errors": [{"message", "extensions": {"code", ...}}]}`.

The endpoint answers refusals as Starlette responses; the middlewares in front of it (access, request size) send them
over raw ASGI. Both write the same bytes for the same refusal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.types import Send

from gateway.errors import GatewayError
from gateway.request_record import current_record


@dataclass(frozen=True)
class Refusal:
    """A request the edge does not serve: its HTTP status, stable code, message, headers and extra extensions."""

    status: int
    code: str
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, error: GatewayError, headers: Mapping[str, str] | None = None) -> Refusal:
        return cls(status, error.code, error.message, headers or {}, error.extensions)

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code, **self.extensions}}]}

    def encoded(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def response(self, media_type: str) -> Response:
        _record(self.code)
        return Response(self.encoded(), status_code=self.status, media_type=media_type, headers=dict(self.headers))

    async def send(
        self, send: Send, media_type: str, *, close_connection: bool = False, more_to_come: bool = False
    ) -> None:
        """Sends the refusal as the whole ASGI response (for middlewares that answer before the app runs).

        `more_to_come`: the answer is complete (its Content-Length is its length) but the ASGI response stays open
        until the caller sends the last, empty, body message (meanwhile it may still read the request)."""
        _record(self.code)
        encoded = self.encoded()
        headers = [
            (b"content-type", media_type.encode("latin-1")),
            (b"content-length", str(len(encoded)).encode("latin-1")),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()),
        ]
        if close_connection:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": encoded, "more_body": more_to_come})


def _record(code: str) -> None:
    """The request's record (access log, metrics) keeps the code it was refused with."""
    record = current_record()
    if record is not None:
        record.refused(code)


class Refused(Exception):
    """Raised where a request is found unservable; the handler answers `refusal`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal

    @property
    def status(self) -> int:
        return self.refusal.status

    @property
    def code(self) -> str:
        return self.refusal.code

    @property
    def message(self) -> str:
        return self.refusal.message
