"""Fault knobs per upstream, hit counters per route, and in-flight maxima, applied by one middleware.

Every upstream route is registered with a name `<upstream>.<route>` (e.g. `sam.search`); the middleware reads the
upstream from that prefix. Routes without such a name (the control API) are neither counted nor faulted.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from aiohttp import web

from sandbox.imitations import IMITATED_UPSTREAMS

UPSTREAMS = IMITATED_UPSTREAMS  # fault knobs and counters exist for each imitated upstream
RECENT_REQUESTS = 500
SECRET_PARAMS = frozenset({"api_key"})
ALL = "all"
MAX_HANG_S = 120.0
_HANG_POLL_S = 0.05
GARBAGE_BODY = b"<html><body><h1>502 Bad Gateway</h1>\x00\xff\xfe not json"
DEEP_NESTING = 100_000  # the depth of the "deep" wrong shape: arrays nested far past any decoder's recursion limit
# Well-formed JSON that no upstream documents as an answer (`wrong_shape_body`); "deep" is an array nested
# DEEP_NESTING deep. For the Canadian API `[]` is the right shape (nothing matched).
WRONG_SHAPE_BODIES = {
    "{}": b"{}",
    "[]": b"[]",
    "null": b"null",
    "deep": b"[" * DEEP_NESTING + b"]" * DEEP_NESTING,
}


class FaultPlanError(ValueError):
    """A fault plan sent to the control API is malformed."""


@dataclass(frozen=True)
class FaultPlan:
    """What an upstream does wrong. Rates are probabilities in [0, 1]; 1 means every request."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    throttle_rate: float = 0.0
    retry_after_s: int = 30
    hang: bool = False
    truncate_rate: float = 0.0
    garbage_rate: float = 0.0
    reset_rate: float = 0.0
    wrong_shape_rate: float = 0.0  # answer 200 with `wrong_shape_body` instead of the real answer
    wrong_shape_body: str = "{}"  # a key of WRONG_SHAPE_BODIES

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        if not isinstance(data, dict):
            raise FaultPlanError("a fault plan is a JSON object")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise FaultPlanError(f"unknown fault knobs: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(cls, name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise FaultPlanError(f"{name} must be a boolean")
            elif isinstance(default, str):
                if not isinstance(value, str) or value not in WRONG_SHAPE_BODIES:
                    raise FaultPlanError(f"{name} must be one of {', '.join(WRONG_SHAPE_BODIES)}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultPlanError(f"{name} must be a number")
            elif name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise FaultPlanError(f"{name} must be between 0 and 1")
            elif value < 0:
                raise FaultPlanError(f"{name} must not be negative")
            values[name] = int(value) if isinstance(default, int) and not isinstance(default, bool) else value
        plan = cls(**values)
        if not 400 <= plan.error_status <= 599:
            raise FaultPlanError("error_status must be an HTTP error status (400-599)")
        return plan

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBoard:
    """Fault plans and counters, shared by the middleware and the control API."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._seed = seed
        self.plans: dict[str, FaultPlan] = {}
        self.hits: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_REQUESTS)

    def plan_for(self, upstream: str) -> FaultPlan:
        return self.plans.get(upstream, FaultPlan())

    def roll(self, rate: float) -> bool:
        return rate >= 1.0 or (rate > 0.0 and self._random.random() < rate)

    def jitter(self, plan: FaultPlan) -> float:
        return (plan.latency_ms + self._random.uniform(0.0, plan.jitter_ms)) / 1000.0

    def enter(self, upstream: str, route: str, query: Mapping[str, str] | None = None) -> None:
        self.hits[route] += 1
        public = {k: v for k, v in (query or {}).items() if k.lower() not in SECRET_PARAMS}
        self.recent.append({"route": route, "query": public})
        for scope in (upstream, ALL):
            self.in_flight[scope] += 1
            self.max_in_flight[scope] = max(self.max_in_flight[scope], self.in_flight[scope])

    def leave(self, upstream: str) -> None:
        for scope in (upstream, ALL):
            self.in_flight[scope] -= 1

    def reset_stats(self) -> None:
        self.hits.clear()
        self.recent.clear()
        self.max_in_flight.clear()
        self.max_in_flight.update({k: v for k, v in self.in_flight.items() if v})

    def reset(self) -> None:
        self.plans.clear()
        self.reset_stats()
        self._random = random.Random(self._seed)

    def stats(self) -> Mapping[str, Any]:
        return {
            "hits": dict(sorted(self.hits.items())),
            "in_flight": {k: v for k, v in sorted(self.in_flight.items()) if v},
            "max_in_flight": dict(sorted(self.max_in_flight.items())),
        }


FAULT_BOARD = web.AppKey("fault_board", FaultBoard)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def upstream_of(request: web.Request) -> tuple[str, str] | None:
    name = request.match_info.route.name
    if not name:
        return None
    upstream, _, _ = name.partition(".")
    return (upstream, name) if upstream in UPSTREAMS else None


async def _hang(request: web.Request) -> web.StreamResponse:
    """Accept the request and never answer; end when the client gives up (or after MAX_HANG_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_HANG_S
    while loop.time() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            break
        await asyncio.sleep(_HANG_POLL_S)
    raise _abort(request)


def _abort(request: web.Request) -> web.HTTPException:
    if request.transport is not None:
        request.transport.abort()
    # The connection is gone; this response is never written.
    return web.HTTPServiceUnavailable()


def _throttled(upstream: str, retry_after_s: int) -> web.Response:
    body: dict[str, Any] = (
        {"code": "900804", "message": "Message throttled out", "description": "You have exceeded your quota."}
        if upstream == "sam"
        else {"error": "Too Many Requests"}
    )
    return web.json_response(body, status=429, headers={"Retry-After": str(retry_after_s)})


async def _answer_badly(
    board: FaultBoard, plan: FaultPlan, upstream: str, handler: Handler, request: web.Request
) -> web.StreamResponse:
    if plan.hang:
        return await _hang(request)
    if board.roll(plan.reset_rate):
        raise _abort(request)
    if board.roll(plan.throttle_rate):
        return _throttled(upstream, plan.retry_after_s)
    if board.roll(plan.error_rate):
        return web.json_response({"error": "sandbox fault"}, status=plan.error_status)
    response = await handler(request)
    if board.roll(plan.wrong_shape_rate):
        return web.Response(body=WRONG_SHAPE_BODIES[plan.wrong_shape_body], status=200, content_type="application/json")
    if isinstance(response, web.Response) and response.body is not None:
        if board.roll(plan.garbage_rate):
            return web.Response(body=GARBAGE_BODY, status=200, content_type=response.content_type)
        if board.roll(plan.truncate_rate):
            body = response.body if isinstance(response.body, bytes) else json.dumps(None).encode()
            return web.Response(body=body[: len(body) // 2], status=response.status, content_type=response.content_type)
    return response


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    found = upstream_of(request)
    if found is None:
        return await handler(request)
    upstream, route = found
    board = request.app[FAULT_BOARD]
    board.enter(upstream, route, dict(request.query))
    try:
        plan = board.plan_for(upstream)
        delay = board.jitter(plan)
        if delay > 0:
            await asyncio.sleep(delay)
        return await _answer_badly(board, plan, upstream, handler, request)
    finally:
        board.leave(upstream)
