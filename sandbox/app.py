"""create_app(settings): the sandbox's aiohttp application with every imitated upstream, faults and control API."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from sandbox import canada, canadabuys, contractsfinder, control, findatender, ita, sam, samopps
from sandbox.clock import SandboxClock
from sandbox.faults import FAULT_BOARD, FaultBoard, fault_middleware
from sandbox.request_log import REQUEST_LOG, RequestLog, request_log_middleware
from sandbox.settings import SandboxSettings

SETTINGS = web.AppKey("settings", SandboxSettings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def no_traceback_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Whatever goes wrong inside a handler, answer with a plain 500 body, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # the sandbox imitates servers that answer 500 on internal errors
        return web.Response(
            status=500, text=json.dumps({"error": "Internal Server Error"}), content_type="application/json"
        )


def create_app(settings: SandboxSettings | None = None) -> web.Application:
    settings = settings or SandboxSettings()
    app = web.Application(middlewares=[request_log_middleware, no_traceback_middleware, fault_middleware])
    app[SETTINGS] = settings
    app[FAULT_BOARD] = FaultBoard(settings.seed)
    app[REQUEST_LOG] = RequestLog()
    app[control.CLOCK] = SandboxClock()
    app[control.RESET_HOOKS] = []
    control.add_routes(app)
    ita.add_routes(app, settings)
    canada.add_routes(app, settings)
    canadabuys.add_routes(app, settings)
    sam.add_routes(app, settings, app[control.CLOCK])
    samopps.add_routes(app, settings)  # after sam: both spend SAM's per-key daily quota
    contractsfinder.add_routes(app, settings)
    findatender.add_routes(app, settings)
    return app
