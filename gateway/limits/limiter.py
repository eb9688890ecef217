"""Per-caller limits over the `limits` library: requests per minute with a burst, and a cost budget per hour.

Three windows per key, each counted atomically by the storage (Lua scripts on Redis, a lock in memory):
- "burst": moving window of `tier.burst` requests per `burst_window_s(tier)` seconds, the time a token bucket of that
  size takes to refill at the tier's rate (30/min burst 10 -> 10 per 20 s); skipped when burst >= the minute rate.
- "minute": moving window of `tier.requests_per_minute` per 60 s (exact: no boundary doubling).
- "cost": fixed window of `tier.cost_per_hour` points per hour from the first charge (GitHub-style: one `resetAt`,
  O(1) storage for large budgets); a refused charge is refunded, so it costs the caller nothing.
A request is admitted when the burst and then the minute window admit it (burst first: a burst slot taken by a
request the minute window refuses is given back within seconds).

Memory storage for one process; Redis (`async+redis://`, the coredis implementation on a bounded blocking pool) for
replicas: keys `<key_prefix>:LIMITER/<namespace>/<key id>/<policy>/...`, the prefix `<redis_namespace>:ratelimit`
(`gateway:ratelimit` by default). If Redis fails or times out the limiter FAILS OPEN: it admits, logs once per outage,
leaves Redis alone for `retry_storage_after_s` and then tries again, so it recovers by itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import coredis
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.errors import StorageError

from gateway.redis import RedisOutage, RedisUnreachable
from gateway.settings import Settings, Tier

log = logging.getLogger(__name__)

BURST, MINUTE, COST = "burst", "minute", "cost"
COST_UNIT_PARAMETER = 'pgw-qu="cost-points"'  # vendor parameter: the draft registers no unit for query cost
_STORAGE_ERRORS = (StorageError, coredis.exceptions.RedisError, OSError, TimeoutError)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit on one window (the window that refused, or the tightest one that admitted)."""

    allowed: bool
    policy: str
    limit: int
    remaining: int
    reset_after_s: int
    retry_after_s: int | None = None
    degraded: bool = False  # the storage was unreachable and the limiter failed open


@dataclass(frozen=True)
class WindowBudget:
    policy: str
    limit: int
    window_s: int
    remaining: int
    reset_after_s: int  # seconds until some of the quota comes back (the IETF `t`)
    reset_at: datetime


@dataclass(frozen=True)
class Budget:
    tier: str
    rate: WindowBudget
    cost: WindowBudget
    burst: WindowBudget | None = None
    degraded: bool = False

    def windows(self) -> tuple[WindowBudget, ...]:
        return (self.burst, self.rate, self.cost) if self.burst else (self.rate, self.cost)


def burst_window_s(tier: Tier) -> int:
    return max(1, math.ceil(tier.burst * 60 / tier.requests_per_minute))


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        *,
        namespace: str = "gw",
        timeout_s: float = 0.5,
        retry_storage_after_s: float = 1.0,
        redis_pool: coredis.ConnectionPool | None = None,
    ) -> None:
        self.storage = storage
        self._redis_pool = redis_pool
        self._moving = MovingWindowRateLimiter(storage)
        self._fixed = FixedWindowRateLimiter(storage)
        self._namespace = namespace
        self._timeout_s = timeout_s
        self._outage = RedisOutage(
            log,
            down_message="rate-limit storage unreachable, admitting requests until it is back: %s (%s)",
            back_message="rate-limit storage reachable again after %.1f s, limits enforced",
            probe_every_s=retry_storage_after_s,
        )

    @classmethod
    def in_memory(cls, *, namespace: str = "gw") -> RateLimiter:
        """One process only; call inside a running event loop (the storage starts its expiry task)."""
        return cls(MemoryStorage(), namespace=namespace)

    @classmethod
    def on_redis(
        cls,
        redis_url: str,
        *,
        namespace: str = "gw",
        key_prefix: str = "gateway:ratelimit",
        timeout_s: float = 0.5,
        pool_size: int = 50,
        retry_storage_after_s: float = 1.0,
    ) -> RateLimiter:
        pool = coredis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=pool_size,
            timeout=max(1, round(timeout_s * 4)),
            connect_timeout=timeout_s,
            stream_timeout=timeout_s,
        )
        storage = RedisStorage(
            "async+" + redis_url,
            key_prefix=key_prefix,  # limits writes "<key_prefix>:<key>"
            wrap_exceptions=True,
            implementation="coredis",
            connection_pool=pool,  # type: ignore[arg-type]  # forwarded to coredis.Redis
        )
        return cls(
            storage,
            namespace=namespace,
            timeout_s=timeout_s,
            retry_storage_after_s=retry_storage_after_s,
            redis_pool=pool,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        if settings.redis_url:
            return cls.on_redis(
                settings.redis_url,
                key_prefix=settings.redis_prefix("ratelimit"),
                timeout_s=settings.redis_timeout_s,
                pool_size=settings.redis_pool_size,
            )
        return cls.in_memory()

    async def aclose(self) -> None:
        if self._redis_pool is not None:
            self._redis_pool.disconnect()
        timer = getattr(self.storage, "timer", None)
        if isinstance(timer, asyncio.Task):
            timer.cancel()

    async def check_request(self, key_id: str, tier: Tier) -> Decision:
        """Counts one request against the burst and minute windows."""
        windows = [(self._burst_item(tier), BURST)] if tier.burst < tier.requests_per_minute else []
        windows.append((RateLimitItemPerMinute(tier.requests_per_minute), MINUTE))
        decision: Decision | None = None
        for item, policy in windows:
            decision = await self._guarded(self._hit_moving(item, key_id, policy), self._open(item, policy))
            if not decision.allowed:
                return decision
        assert decision is not None
        return decision

    async def charge_cost(self, key_id: str, tier: Tier, cost: int) -> Decision:
        """Charges `cost` points to the hourly budget; a refused charge is not kept."""
        item = RateLimitItemPerHour(tier.cost_per_hour)
        if cost <= 0:
            return await self._guarded(self._cost_stats(item, key_id, allowed=True), self._open(item, COST))
        return await self._guarded(self._charge(item, key_id, cost), self._open(item, COST))

    async def peek(self, key_id: str, tier: Tier) -> Budget:
        """The caller's budget without spending any of it (headers, the `rateLimit` field)."""
        rate_item = RateLimitItemPerMinute(tier.requests_per_minute)
        cost_item = RateLimitItemPerHour(tier.cost_per_hour)
        burst_item = self._burst_item(tier) if tier.burst < tier.requests_per_minute else None

        async def read() -> Budget:
            return Budget(
                tier=tier.name,
                rate=await self._window(self._moving, rate_item, key_id, MINUTE),
                cost=await self._window(self._fixed, cost_item, key_id, COST),
                burst=await self._window(self._moving, burst_item, key_id, BURST) if burst_item else None,
            )

        fallback = Budget(
            tier=tier.name,
            rate=_full_window(rate_item, MINUTE),
            cost=_full_window(cost_item, COST),
            burst=_full_window(burst_item, BURST) if burst_item else None,
            degraded=True,
        )
        return await self._guarded(read(), fallback)

    def _burst_item(self, tier: Tier) -> RateLimitItem:
        return RateLimitItemPerSecond(tier.burst, burst_window_s(tier))

    def _ids(self, key_id: str, policy: str) -> tuple[str, str, str]:
        return (self._namespace, key_id, policy)

    async def _hit_moving(self, item: RateLimitItem, key_id: str, policy: str) -> Decision:
        ids = self._ids(key_id, policy)
        allowed = await self._moving.hit(item, *ids)
        stats = await self._moving.get_window_stats(item, *ids)
        return _decision(allowed, policy, item, stats.remaining, stats.reset_time)

    async def _charge(self, item: RateLimitItem, key_id: str, cost: int) -> Decision:
        ids = self._ids(key_id, COST)
        allowed = await self._fixed.hit(item, *ids, cost=cost)
        if not allowed:  # the counter was incremented by the refused cost: give it back
            await self.storage.incr(item.key_for(*ids), item.get_expiry(), amount=-cost)
        return await self._cost_stats(item, key_id, allowed=allowed)

    async def _cost_stats(self, item: RateLimitItem, key_id: str, *, allowed: bool) -> Decision:
        stats = await self._fixed.get_window_stats(item, *self._ids(key_id, COST))
        return _decision(allowed, COST, item, stats.remaining, stats.reset_time)

    async def _window(
        self, strategy: MovingWindowRateLimiter | FixedWindowRateLimiter, item: RateLimitItem, key_id: str, policy: str
    ) -> WindowBudget:
        stats = await strategy.get_window_stats(item, *self._ids(key_id, policy))
        remaining = max(0, min(item.amount, stats.remaining))
        reset_after_s = _seconds_until(stats.reset_time) if remaining < item.amount else item.get_expiry()
        return WindowBudget(
            policy=policy,
            limit=item.amount,
            window_s=item.get_expiry(),
            remaining=remaining,
            reset_after_s=reset_after_s,
            reset_at=datetime.fromtimestamp(time.time() + reset_after_s, UTC).replace(microsecond=0),
        )

    def _open(self, item: RateLimitItem, policy: str) -> Decision:
        return Decision(True, policy, item.amount, item.amount, item.get_expiry(), degraded=True)

    async def _guarded(self, operation: Awaitable[_T], fallback: _T) -> _T:
        try:
            return await self._outage.call(operation, timeout_s=self._timeout_s, errors=_STORAGE_ERRORS)
        except RedisUnreachable:
            return fallback


def _full_window(item: RateLimitItem, policy: str) -> WindowBudget:
    window_s = item.get_expiry()
    reset_at = datetime.fromtimestamp(time.time() + window_s, UTC).replace(microsecond=0)
    return WindowBudget(policy, item.amount, window_s, item.amount, window_s, reset_at)


def _seconds_until(timestamp: float) -> int:
    return max(0, math.ceil(timestamp - time.time()))


def _decision(allowed: bool, policy: str, item: RateLimitItem, remaining: int, reset_time: float) -> Decision:
    remaining = max(0, min(item.amount, remaining))
    reset_after_s = _seconds_until(reset_time) if remaining < item.amount else item.get_expiry()
    return Decision(
        allowed=allowed,
        policy=policy,
        limit=item.amount,
        remaining=remaining,
        reset_after_s=reset_after_s,
        retry_after_s=None if allowed else max(1, reset_after_s),
    )


def ratelimit_headers(budget: Budget, refused: Decision | None = None) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` per draft-ietf-httpapi-ratelimit-headers-11 (Structured Field Lists of
    String items with `q`/`w` and `r`/`t` parameters), and `Retry-After` (delay-seconds) when `refused` is given."""
    policies, limits = [], []
    for window in budget.windows():
        unit = f";{COST_UNIT_PARAMETER}" if window.policy == COST else ""
        remaining = 0 if refused is not None and refused.policy == window.policy else window.remaining
        policies.append(f'"{window.policy}";q={window.limit};w={window.window_s}{unit}')
        limits.append(f'"{window.policy}";r={remaining};t={window.reset_after_s}')
    headers = {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(limits)}
    if refused is not None and not refused.allowed:
        headers["Retry-After"] = str(refused.retry_after_s or 1)
    return headers
