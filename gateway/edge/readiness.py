"""GET /readyz: whether this process can serve, for load balancers and Kubernetes, with what it sees in JSON.

Ready (200) once the lifespan has opened everything, until the process starts draining (SIGTERM, see
`gateway.server`), and while the Redis that holds the API keys answers when the keys live there
(GATEWAY_KEYS_STORE=redis): without it no keyed request can be served. Not ready is 503 with the reasons. Everything
else is reported and never fails it, because partial data is the product and one Redis blip must not take every
replica out of a load balancer at once: the shared Redis (cache, limits, quotas: each falls back by itself), each
configured upstream's circuit breaker, the daily quota left per credential, each mirror's snapshot and feeds, and
this process's execution slots and queue.

A probe is cheap: Redis is pinged with a short timeout (`PING_TIMEOUT_S`, at most GATEWAY_REDIS_TIMEOUT_S) and what
Redis said (the pings and the quota counters) is kept for `PROBE_KEPT_S`, one probe at a time, so that a storm of
probes sends Redis one PING a second. No key is needed (the access middleware guards /graphql only), nothing is
counted against a limit, and the answer is never cached (`Cache-Control: no-store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.edge.json_response import JSONResponse
from gateway.edge.shedding import LoadShedder
from gateway.redis import redis_client, redis_errors
from gateway.settings import Settings
from gateway.upstreams.mirror.mirror import FeedStatus
from gateway.upstreams.mirror.opening import OpenedMirror
from gateway.upstreams.registry import Upstreams

log = logging.getLogger(__name__)

PING_TIMEOUT_S = 0.5
PROBE_KEPT_S = 1.0
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class RedisReading:
    """One Redis as the last probe found it; `required`: the process cannot serve without it (the key store)."""

    role: str
    required: bool
    reachable: bool
    latency_ms: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "configured": True,
            "role": self.role,
            "required": self.required,
            "reachable": self.reachable,
            "latency_ms": self.latency_ms,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class _Probed:
    """What Redis said at one moment: each Redis, and the quota left per credential (None: unknown)."""

    redis: dict[str, RedisReading]
    quotas: dict[str, int | None]


class _RedisProbe:
    """One Redis the process uses, pinged on a small pool of its own."""

    def __init__(self, name: str, url: str, role: str, *, required: bool, timeout_s: float) -> None:
        self.name = name
        self.role = role
        self.required = required
        self._timeout_s = timeout_s
        self._client = redis_client(url, timeout_s=timeout_s, pool_size=1)

    def close(self) -> None:
        self._client.connection_pool.disconnect()

    async def read(self) -> RedisReading:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._client.ping()
        except redis_errors() as error:
            return RedisReading(self.role, self.required, reachable=False, error=type(error).__name__)
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return RedisReading(self.role, self.required, reachable=True, latency_ms=latency_ms)


class Readiness:
    """The readiness of one process: opened in the lifespan (`open`), drained on SIGTERM (`start_draining`)."""

    def __init__(
        self, settings: Settings, shedder: LoadShedder, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._shedder = shedder
        self._monotonic = monotonic
        self.started = False
        self.draining = False
        self._upstreams: Upstreams | None = None
        self._probes: list[_RedisProbe] = []
        self._kept: _Probed | None = None
        self._kept_at = 0.0
        self._probing: asyncio.Task[_Probed] | None = None

    async def open(self, stack: AsyncExitStack, upstreams: Upstreams) -> None:
        """Ready from now on (the lifespan's last step); not ready again once `stack` starts closing."""
        settings = self._settings
        timeout_s = min(PING_TIMEOUT_S, settings.redis_timeout_s)
        keys_url = settings.keys_redis() if settings.keys_store == "redis" else ""
        if settings.redis_url:
            shared_role = "cache, limits, quotas, documents" + (", API keys" if keys_url == settings.redis_url else "")
            self._probes.append(
                _RedisProbe(
                    "redis",
                    settings.redis_url,
                    shared_role,
                    required=keys_url == settings.redis_url,
                    timeout_s=timeout_s,
                )
            )
        if keys_url and keys_url != settings.redis_url:
            self._probes.append(_RedisProbe("keys_redis", keys_url, "API keys", required=True, timeout_s=timeout_s))
        self._upstreams = upstreams
        stack.callback(self._close_probes)
        stack.push_async_callback(self._stop_probing)
        stack.callback(self._stopped)
        self.started = True

    def start_draining(self) -> None:
        """Not ready from now on: the process is about to stop (called from a signal handler: only sets a flag)."""
        self.draining = True

    def _stopped(self) -> None:
        self.started = False

    async def _stop_probing(self) -> None:
        probing = self._probing
        if probing is not None:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing

    def _close_probes(self) -> None:
        for probe in self._probes:
            probe.close()
        self._probes = []
        self._upstreams = None

    async def endpoint(self, request: Request) -> Response:
        del request
        probed = await self._probed() if self.started else _Probed({}, {})
        reasons = []
        if not self.started:
            reasons.append("starting or stopping: the lifespan has not opened everything")
        if self.draining:
            reasons.append("draining: the process received SIGTERM and stops accepting soon")
        reasons += [
            f"{name} is unreachable and holds the API keys (GATEWAY_KEYS_STORE=redis)"
            for name, reading in probed.redis.items()
            if reading.required and not reading.reachable
        ]
        body: dict[str, Any] = {
            "status": "not_ready" if reasons else "ready",
            "reasons": reasons,
            "draining": self.draining,
            "redis": {name: reading.to_json() for name, reading in probed.redis.items()} or {"configured": False},
            "upstreams": self._upstream_states(),
            "quotas": self._quota_states(probed.quotas),
            "mirrors": self._mirror_states(),
            "load": self._load(),
        }
        return JSONResponse(body, status_code=503 if reasons else 200, headers=NO_STORE)

    async def _probed(self) -> _Probed:
        """What Redis said within the last PROBE_KEPT_S, else a new probe (one at a time, shared by every caller)."""
        if self._kept is not None and self._monotonic() - self._kept_at < PROBE_KEPT_S:
            return self._kept
        if self._probing is None:
            self._probing = asyncio.create_task(self._probe(), name="readiness-probe")
        probing = self._probing
        # Shielded: a caller that goes away does not cancel the probe the others wait for.
        return await asyncio.shield(probing)

    async def _probe(self) -> _Probed:
        try:
            readings = await asyncio.gather(*(probe.read() for probe in self._probes))
            quotas = await self._quotas_left()
            probed = _Probed(
                {probe.name: reading for probe, reading in zip(self._probes, readings, strict=True)}, quotas
            )
            self._kept, self._kept_at = probed, self._monotonic()
            return probed
        finally:
            self._probing = None

    async def _quotas_left(self) -> dict[str, int | None]:
        guard = self._upstreams.quota_guard if self._upstreams is not None else None
        quotas = {name: quota for name, quota in self._settings.daily_quotas().items() if quota > 0}
        if guard is None or not quotas:
            return {}
        names = sorted(quotas)
        left = await asyncio.gather(*(guard.remaining(name) for name in names), return_exceptions=True)
        for name, found in zip(names, left, strict=True):
            if isinstance(found, BaseException):
                log.warning("readiness: the %s quota counter could not be read (%s)", name, type(found).__name__)
        return {name: found if isinstance(found, int) else None for name, found in zip(names, left, strict=True)}

    def _quota_states(self, left: dict[str, int | None]) -> dict[str, Any]:
        quotas = self._settings.daily_quotas()
        return {name: {"daily_quota": quotas.get(name, 0), "remaining": remaining} for name, remaining in left.items()}

    def _upstream_states(self) -> dict[str, Any]:
        states: dict[str, Any] = {}
        for upstream in self._upstreams.all() if self._upstreams is not None else ():
            if not upstream.configured or upstream.http is None:
                continue
            breaker = upstream.http.breaker
            states[upstream.name] = {
                "breaker": breaker.state.value,
                "paused_s": upstream.http.pause_remaining_s(),
                "last_success": _moment(breaker.last_success),
                "last_failure": _moment(breaker.last_failure),
            }
        return states

    def _mirror_states(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        states: dict[str, Any] = {}
        for upstream in self._upstreams.all() if self._upstreams is not None else ():
            if upstream.mirror is not None:
                states[upstream.name] = _mirror_state(upstream.mirror, now)
        return states

    def _load(self) -> dict[str, int]:
        shedder = self._shedder
        return {
            "executing": shedder.executing,
            "waiting": shedder.waiting,
            "max_concurrent_executions": shedder.limits.max_concurrent_executions,
            "max_queued_requests": shedder.limits.max_queued_requests,
            "shed_total": shedder.shed,
        }


def _mirror_state(mirror: OpenedMirror, now: datetime) -> dict[str, Any]:
    return {
        "ready": mirror.snapshot_path is not None,
        "feeds": [_feed_state(status, now) for status in mirror.statuses()],
    }


def _feed_state(status: FeedStatus, now: datetime) -> dict[str, Any]:
    age_s = status.age_s(now)
    if status.last_attempt is None:
        outcome = "never"
    elif status.last_error is not None:
        outcome = "failed"
    else:
        outcome = "succeeded"
    return {
        "name": status.name,
        "rows": status.rows,
        "age_s": None if age_s is None else round(age_s, 1),
        "stale": status.stale(now),
        "last_refresh": outcome,
        **status.to_json(),
    }


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
