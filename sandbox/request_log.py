"""The sandbox's request log: every request to an imitated upstream, with the `X-Request-Id` it came with and the
status it was answered with (faults included), kept for the control API (`GET /_sandbox/request-log`, the latest
`KEPT_REQUESTS`) and written as one JSON line to the logger `sandbox.requests`. A test matches it with the gateway's
access line of the same request id. Query parameters are not logged (they may hold keys).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

KEPT_REQUESTS = 500
REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID_CHARS = 128

log = logging.getLogger("sandbox.requests")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestLog:
    def __init__(self, kept: int = KEPT_REQUESTS) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=kept)

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"event": "request", **entry}, separators=(",", ":")))

    def matching(self, request_id: str | None) -> list[dict[str, Any]]:
        return [entry for entry in self.entries if request_id is None or entry["request_id"] == request_id]

    def clear(self) -> None:
        self.entries.clear()


REQUEST_LOG = web.AppKey("request_log", RequestLog)


def _route_name(request: web.Request) -> str | None:
    route = request.match_info.route
    return route.name if route is not None and route.name else None


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: logs the status the client received, whatever the handlers and the faults did."""
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    started = time.perf_counter()
    status: int | None = None  # none: the client went away first
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as refused:
        status = refused.status
        raise
    except Exception:
        status = 500  # aiohttp's own answer
        raise
    finally:
        request.app[REQUEST_LOG].add(
            {
                "path": request.path,
                "route": _route_name(request),
                "request_id": request.headers.get(REQUEST_ID_HEADER, "")[:MAX_REQUEST_ID_CHARS] or None,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )
