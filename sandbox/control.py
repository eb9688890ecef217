"""The control API under /_sandbox: fault plans, counters, the clock. Tests drive the sandbox through it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from json import JSONDecodeError

from aiohttp import web

from sandbox.clock import SandboxClock
from sandbox.faults import FAULT_BOARD, UPSTREAMS, FaultPlan, FaultPlanError
from sandbox.request_log import REQUEST_LOG

CLOCK = web.AppKey("clock", SandboxClock)
# What `POST /_sandbox/reset` also resets, registered by the upstream modules (e.g. SAM's daily quotas).
RESET_HOOKS = web.AppKey("reset_hooks", list[Callable[[], None]])


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _upstream(request: web.Request) -> str:
    upstream = request.match_info["upstream"]
    if upstream not in UPSTREAMS:
        raise web.HTTPNotFound(text=f'{{"error": "unknown upstream {upstream!r}"}}', content_type="application/json")
    return upstream


async def _read_json(request: web.Request) -> object:
    try:
        return await request.json()
    except (JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text='{"error": "body is not JSON"}', content_type="application/json") from exc


async def get_faults(request: web.Request) -> web.Response:
    board = request.app[FAULT_BOARD]
    return web.json_response({name: board.plan_for(name).to_json() for name in UPSTREAMS})


async def put_fault(request: web.Request) -> web.Response:
    upstream = _upstream(request)
    try:
        plan = FaultPlan.from_json(await _read_json(request))
    except FaultPlanError as exc:
        return _error(400, str(exc))
    request.app[FAULT_BOARD].plans[upstream] = plan
    return web.json_response(plan.to_json())


async def delete_fault(request: web.Request) -> web.Response:
    request.app[FAULT_BOARD].plans.pop(_upstream(request), None)
    return web.json_response(FaultPlan().to_json())


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULT_BOARD].stats())


async def get_requests(request: web.Request) -> web.Response:
    """The latest upstream requests (route and query parameters, keys removed), oldest first."""
    return web.json_response(list(request.app[FAULT_BOARD].recent))


async def get_request_log(request: web.Request) -> web.Response:
    """The latest upstream requests with the X-Request-Id each came with and its status, oldest first; only those of
    one id with `?request_id=`."""
    return web.json_response(request.app[REQUEST_LOG].matching(request.query.get("request_id")))


async def reset_stats(request: web.Request) -> web.Response:
    request.app[FAULT_BOARD].reset_stats()
    request.app[REQUEST_LOG].clear()
    return web.json_response(request.app[FAULT_BOARD].stats())


async def reset(request: web.Request) -> web.Response:
    """Clear every fault plan, counter, clock override and upstream quota."""
    request.app[FAULT_BOARD].reset()
    request.app[REQUEST_LOG].clear()
    request.app[CLOCK].set(None)
    for hook in request.app[RESET_HOOKS]:
        hook()
    return web.json_response({"reset": True})


async def put_clock(request: web.Request) -> web.Response:
    data = await _read_json(request)
    now = data.get("now") if isinstance(data, dict) else None
    if now is None:
        request.app[CLOCK].set(None)
    else:
        try:
            request.app[CLOCK].set(datetime.fromisoformat(str(now)))
        except ValueError:
            return _error(400, "now must be an ISO 8601 date-time")
    return web.json_response({"now": request.app[CLOCK].now().isoformat()})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/faults", get_faults)
    app.router.add_put("/_sandbox/faults/{upstream}", put_fault)
    app.router.add_delete("/_sandbox/faults/{upstream}", delete_fault)
    app.router.add_get("/_sandbox/stats", get_stats)
    app.router.add_delete("/_sandbox/stats", reset_stats)
    app.router.add_get("/_sandbox/requests", get_requests)
    app.router.add_get("/_sandbox/request-log", get_request_log)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_put("/_sandbox/clock", put_clock)
