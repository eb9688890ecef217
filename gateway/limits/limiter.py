"""Per-caller limits: requests per minute with a burst, and a cost budget per hour; exact across replicas while Redis
answers, held by every replica's share of them while it does not.

Three windows per key:
- "burst": moving window of `tier.burst` requests per `burst_window_s(tier)` seconds, the time a token bucket of that
  size takes to refill at the tier's rate (30/min burst 10 -> 10 per 20 s); skipped when burst >= the minute rate.
- "minute": moving window of `tier.requests_per_minute` per 60 s (exact: no boundary doubling).
- "cost": fixed window of `tier.cost_per_hour` points per hour from the first charge (GitHub-style: one `resetAt`,
  O(1) storage for large budgets); a refused charge costs the caller nothing.
A request is admitted when the burst and then the minute window admit it.

Where the windows are counted:
- One process without Redis: `LocalWindows`, exact, in this process's memory.
- Replicas: `RedisWindows`, atomic Lua scripts of the `limits` library on Redis (coredis on a bounded blocking pool),
  keys `<key_prefix>:LIMITER/<namespace>/<key id>/<policy>/...` with the prefix `<redis_namespace>:ratelimit`. This
  replica's `LocalWindows` record every request it sends Redis (from before the answer: a request in flight counts)
  and what Redis last said of each window for all replicas together.
- Redis failing or timing out: the limiter never admits blindly. Each replica counts every window locally and admits
  its SHARE of the limit, `max(1, limit // replicas)`, less what it admitted through Redis in the window, and less
  what it can tell the other replicas had taken when Redis last answered (`_LocalWindow`): a window Redis said was
  full stays full. It logs once per outage and lets one call per `retry_storage_after_s` probe Redis; the first
  success switches back, and a caller's next call adds what this replica admitted alone to Redis first (`carry`).
  `replicas` is the count last seen through the heartbeats (`<key_prefix>:REPLICAS/<namespace>`, a sorted set of
  replica ids scored by their expiry in Redis time, refreshed every `heartbeat_s`, an entry expiring after 3 missed
  beats), or `fallback_replicas` when this process never saw one. Budgets read during an outage (the RateLimit
  headers) come from the local counts, with the share as the limit.
A request shed after it was admitted gives its units back (`refund_request`, `refund_cost`) to whichever side counted
them, as long as its window has not let them go already.
coredis and `limits` are loaded by `RedisWindows` only: a gateway without Redis never imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.redis import RedisOutage, RedisUnreachable, redis_errors
from gateway.settings import Settings, Tier

if TYPE_CHECKING:
    import coredis
    from limits import RateLimitItem
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

log = logging.getLogger(__name__)

BURST, MINUTE, COST = "burst", "minute", "cost"
MINUTE_S, HOUR_S = 60, 3600
COST_UNIT_PARAMETER = 'pgw-qu="cost-points"'  # vendor parameter: the draft registers no unit for query cost
# With Redis configured the gateway runs as replicas (the embedded default is one process without Redis), two in the
# shipped compose file: a replica that never reached Redis assumes two rather than one, so its share errs low.
DEFAULT_FALLBACK_REPLICAS = 2
DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_PROBE_EVERY_S = 1.0
HEARTBEATS_TO_EXPIRE = 3
DEFAULT_MAX_LOCAL_KEYS = 100_000
_T = TypeVar("_T")
Clock = Callable[[], float]


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit on one window (the window that refused, or the last one that admitted)."""

    allowed: bool
    policy: str
    limit: int
    remaining: int
    reset_after_s: int
    retry_after_s: int | None = None
    degraded: bool = False  # Redis was unreachable: decided by this replica's share of the limit
    decided_at: float = 0.0  # epoch seconds, to tell whether a refund's units are still in their window


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
    degraded: bool = False  # Redis was unreachable: this replica's share and its own counters

    def windows(self) -> tuple[WindowBudget, ...]:
        return (self.burst, self.rate, self.cost) if self.burst else (self.rate, self.cost)


@dataclass(frozen=True)
class Window:
    policy: str
    limit: int
    window_s: int


def burst_window_s(tier: Tier) -> int:
    return max(1, math.ceil(tier.burst * 60 / tier.requests_per_minute))


@lru_cache(maxsize=256)  # a few tiers, asked on every request
def request_windows(tier: Tier) -> tuple[Window, ...]:
    minute = Window(MINUTE, tier.requests_per_minute, MINUTE_S)
    if tier.burst < tier.requests_per_minute:
        return (Window(BURST, tier.burst, burst_window_s(tier)), minute)
    return (minute,)


@lru_cache(maxsize=256)
def cost_window(tier: Tier) -> Window:
    return Window(COST, tier.cost_per_hour, HOUR_S)


def local_share(limit: int, replicas: int) -> int:
    """One replica's part of `limit` while the replicas cannot count together (at least 1: never locked out)."""
    return max(1, limit // max(1, replicas))


class _Observed(Protocol):
    """A window as Redis counted it for every replica (a decision or a budget read there)."""

    @property
    def policy(self) -> str: ...

    @property
    def limit(self) -> int: ...

    @property
    def remaining(self) -> int: ...

    @property
    def reset_after_s(self) -> int: ...


class _LocalWindow:
    """This replica's count of one window, and what Redis last said of the window for all replicas together.

    While Redis is away a replica may fill its share, less what it can tell the other replicas had already taken:
    `min(share, own_seen + (limit - total_seen) // replicas)` until the units Redis counted have surely left the
    window, the share alone after that. With every replica doing so, a full window stays full and an uneven one is
    not overfilled.
    """

    __slots__ = ("own_seen", "seen_until", "total_seen", "window_s")

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self.total_seen = self.own_seen = 0
        self.seen_until = 0.0

    def observe(self, total: int, own: int, now: float, valid_s: float) -> None:
        self.total_seen, self.own_seen, self.seen_until = total, own, now + valid_s

    def allowance(self, limit: int, replicas: int, now: float) -> int:
        share = local_share(limit, replicas)
        if now >= self.seen_until:
            return share
        return max(0, min(share, self.own_seen + (limit - self.total_seen) // max(1, replicas)))


class _MovingWindow(_LocalWindow):
    """Admission times, oldest first (bounded by what Redis admitted, the limit, plus requests in flight)."""

    __slots__ = ("entries",)

    def __init__(self, window_s: int) -> None:
        super().__init__(window_s)
        self.entries: deque[float] = deque()

    def count(self, now: float) -> int:
        horizon = now - self.window_s
        while self.entries and self.entries[0] <= horizon:
            self.entries.popleft()
        return len(self.entries)

    def seconds_until_room(self, now: float, allowance: int) -> int:
        """Seconds until fewer than `allowance` entries are left (until the oldest leaves, when fewer already are),
        or until what Redis said of the window no longer binds, whichever comes first."""
        count = self.count(now)
        if count == 0:
            wait: float | None = self.window_s
        elif allowance > 0:
            wait = self.entries[max(0, count - allowance)] + self.window_s - now
        else:
            wait = None
        if self.seen_until > now:
            wait = self.seen_until - now if wait is None else min(wait, self.seen_until - now)
        return self.window_s if wait is None else max(0, math.ceil(wait))


class _FixedWindow(_LocalWindow):
    __slots__ = ("spent", "started_at")

    def __init__(self, window_s: int) -> None:
        super().__init__(window_s)
        self.started_at: float | None = None
        self.spent = 0

    def current(self, now: float) -> bool:
        if self.started_at is not None and now >= self.started_at + self.window_s:
            self.started_at, self.spent = None, 0
        return self.started_at is not None

    def seconds_left(self, now: float) -> int:
        if not self.current(now) or self.started_at is None:
            return self.window_s
        return max(0, math.ceil(self.started_at + self.window_s - now))


_WindowKey = tuple[str, str, int, int]


class LocalWindows:
    """The three windows of every caller in this process's memory, exact, on an injected clock.

    Each method takes `replicas`: a window admits `local_share(limit, replicas)` (the whole limit for one process),
    less what the other replicas had taken when Redis last answered (see `_LocalWindow`). The least recently used
    callers are forgotten beyond `max_keys`.
    """

    def __init__(self, *, clock: Clock = time.time, max_keys: int = DEFAULT_MAX_LOCAL_KEYS) -> None:
        self.clock = clock
        self._max_windows = max_keys * 3
        self._moving: OrderedDict[_WindowKey, _MovingWindow] = OrderedDict()
        self._fixed: OrderedDict[_WindowKey, _FixedWindow] = OrderedDict()

    def __len__(self) -> int:
        return len(self._moving) + len(self._fixed)

    def check_request(self, key_id: str, tier: Tier, *, replicas: int = 1, degraded: bool = False) -> Decision:
        """Admits one request when every request window has room for it, and counts it in all of them."""
        now = self.clock()
        windows = [(spec, self._moving_window(key_id, spec)) for spec in request_windows(tier)]
        for spec, window in windows:
            allowance = window.allowance(spec.limit, replicas, now)
            if window.count(now) >= allowance:
                retry_after_s = max(1, window.seconds_until_room(now, allowance))
                share = local_share(spec.limit, replicas)
                return Decision(False, spec.policy, share, 0, retry_after_s, retry_after_s, degraded, now)
        for _, window in windows:
            window.entries.append(now)
        spec, window = windows[-1]
        allowance = window.allowance(spec.limit, replicas, now)
        remaining = max(0, allowance - window.count(now))
        reset_after_s = window.seconds_until_room(now, allowance)
        return Decision(
            True, spec.policy, local_share(spec.limit, replicas), remaining, reset_after_s, None, degraded, now
        )

    def record_request(self, key_id: str, tier: Tier) -> float:
        """Counts a request the shared windows admit (or are deciding on); the time to `cancel_request` it by."""
        now = self.clock()
        for spec in request_windows(tier):
            self._moving_window(key_id, spec).entries.append(now)
        return now

    def cancel_request(self, key_id: str, tier: Tier, recorded_at: float) -> None:
        for spec in request_windows(tier):
            window = self._moving.get(_key(key_id, spec))
            if window is not None and recorded_at in window.entries:
                window.entries.remove(recorded_at)  # equal times are interchangeable

    def refund_request(self, key_id: str, tier: Tier, decided_at: float) -> None:
        now = self.clock()
        for spec in request_windows(tier):
            window = self._moving.get(_key(key_id, spec))
            if window is not None and now < decided_at + spec.window_s and window.count(now):
                window.entries.pop()

    def charge_cost(self, key_id: str, tier: Tier, cost: int, *, replicas: int = 1, degraded: bool = False) -> Decision:
        """Charges `cost` points when the hour's allowance covers them; a refused charge is not kept."""
        now = self.clock()
        spec = cost_window(tier)
        window = self._fixed_window(key_id, spec)
        allowance = window.allowance(spec.limit, replicas, now)
        spent = window.spent if window.current(now) else 0
        allowed = cost <= 0 or spent + cost <= allowance
        if allowed and cost > 0:
            if window.started_at is None:
                window.started_at = now
            window.spent += cost
        reset_after_s = window.seconds_left(now)
        if window.seen_until > now and allowance < local_share(spec.limit, replicas):
            reset_after_s = min(reset_after_s, max(0, math.ceil(window.seen_until - now)))
        return Decision(
            allowed,
            COST,
            local_share(spec.limit, replicas),
            max(0, allowance - window.spent),
            reset_after_s,
            None if allowed else max(1, reset_after_s),
            degraded,
            now,
        )

    def record_cost(self, key_id: str, tier: Tier, cost: int) -> float:
        """Counts a charge the shared windows admit (or are deciding on); the time to `refund_cost` it by."""
        now = self.clock()
        if cost > 0:
            window = self._fixed_window(key_id, cost_window(tier))
            if not window.current(now):
                window.started_at = now
            window.spent += cost
        return now

    def refund_cost(self, key_id: str, tier: Tier, cost: int, decided_at: float) -> None:
        window = self._fixed.get(_key(key_id, cost_window(tier)))
        if window is None or not window.current(self.clock()) or window.started_at is None:
            return
        if window.started_at <= decided_at:  # the charge fell in this window, not in one that has ended since
            window.spent = max(0, window.spent - max(0, cost))

    def observe(self, key_id: str, tier: Tier, observed: Iterable[_Observed]) -> None:
        """Remembers what Redis said of this caller's windows for all replicas (a decision, a budget)."""
        now = self.clock()
        for seen in observed:
            if seen.policy == COST:
                spec = cost_window(tier)
                fixed = self._fixed_window(key_id, spec)
                if seen.limit == spec.limit:
                    own = fixed.spent if fixed.current(now) else 0
                    fixed.observe(seen.limit - seen.remaining, own, now, seen.reset_after_s)
                continue
            for spec in request_windows(tier):
                if spec.policy == seen.policy and spec.limit == seen.limit:
                    moving = self._moving_window(key_id, spec)
                    moving.observe(seen.limit - seen.remaining, moving.count(now), now, spec.window_s)

    def budget(self, key_id: str, tier: Tier, *, replicas: int = 1, degraded: bool = False) -> Budget:
        """The caller's budget without spending any of it (and without remembering a caller never seen)."""
        now = self.clock()
        burst: WindowBudget | None = None
        rate: WindowBudget | None = None
        for spec in request_windows(tier):
            share = local_share(spec.limit, replicas)
            window = self._moving.get(_key(key_id, spec))
            remaining, reset_after_s = share, spec.window_s
            if window is not None:
                # What Redis said of the window no longer binds (always, without Redis): the allowance is the share.
                allowance = share if now >= window.seen_until else window.allowance(spec.limit, replicas, now)
                remaining, reset_after_s = allowance - window.count(now), window.seconds_until_room(now, allowance)
            if spec.policy == BURST:
                burst = _window_budget(spec, share, remaining, reset_after_s, now)
            else:
                rate = _window_budget(spec, share, remaining, reset_after_s, now)
        assert rate is not None  # every tier has a minute window
        spec = cost_window(tier)
        share = local_share(spec.limit, replicas)
        fixed = self._fixed.get(_key(key_id, spec))
        remaining, reset_after_s = share, spec.window_s
        if fixed is not None:
            spent = fixed.spent if fixed.current(now) else 0
            remaining, reset_after_s = fixed.allowance(spec.limit, replicas, now) - spent, fixed.seconds_left(now)
        return Budget(tier.name, rate, _window_budget(spec, share, remaining, reset_after_s, now), burst, degraded)

    def _moving_window(self, key_id: str, spec: Window) -> _MovingWindow:
        key = _key(key_id, spec)
        window = self._moving.get(key)
        if window is None:
            window = self._moving[key] = _MovingWindow(spec.window_s)
            if len(self._moving) > self._max_windows:
                self._moving.popitem(last=False)
        else:
            self._moving.move_to_end(key)
        return window

    def _fixed_window(self, key_id: str, spec: Window) -> _FixedWindow:
        key = _key(key_id, spec)
        window = self._fixed.get(key)
        if window is None:
            window = self._fixed[key] = _FixedWindow(spec.window_s)
            if len(self._fixed) > self._max_windows:
                self._fixed.popitem(last=False)
        else:
            self._fixed.move_to_end(key)
        return window


def _key(key_id: str, spec: Window) -> _WindowKey:
    return (key_id, spec.policy, spec.limit, spec.window_s)


def _window_budget(spec: Window, limit: int, remaining: int, reset_after_s: int, now: float) -> WindowBudget:
    remaining = max(0, min(limit, remaining))
    return WindowBudget(spec.policy, limit, spec.window_s, remaining, reset_after_s, _utc_second(now + reset_after_s))


def _utc_second(timestamp: float) -> datetime:
    """`datetime.fromtimestamp(timestamp, UTC).replace(microsecond=0)`, made once per second rather than per budget."""
    second = math.floor(timestamp)
    if timestamp - second >= 0.999999:  # fromtimestamp rounds to microseconds: this may round up to the next second
        return datetime.fromtimestamp(timestamp, UTC).replace(microsecond=0)
    return _utc_datetime(second)


@lru_cache(maxsize=64)  # a few windows' reset seconds, moving on once a second
def _utc_datetime(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


class SharedWindows(Protocol):
    """The windows every replica counts together, and the replicas' heartbeats (Redis; a fake in tests)."""

    async def check_request(self, key_id: str, tier: Tier) -> tuple[Decision, ...]:
        """The decision of every request window it checked, in order: the last one is the request's."""
        ...

    async def charge_cost(self, key_id: str, tier: Tier, cost: int) -> Decision: ...

    async def budget(self, key_id: str, tier: Tier) -> Budget: ...

    async def refund_request(self, key_id: str, tier: Tier, decided_at: float) -> None: ...

    async def refund_cost(self, key_id: str, tier: Tier, cost: int, decided_at: float) -> None: ...

    async def carry(self, key_id: str, tier: Tier, admitted_at: Sequence[float], cost: int) -> None:
        """Adds the requests (admission times) and cost points a replica admitted alone while Redis was away."""
        ...

    async def beat(self) -> int:
        """Refreshes this replica's heartbeat; the number of replicas whose heartbeat is live."""
        ...

    async def leave(self) -> None:
        """Removes this replica's heartbeat."""
        ...

    def close(self) -> None: ...


# KEYS: moving-window lists (newest entry first, as the `limits` scripts keep them); ARGV[i]: the oldest admission
# time still inside KEYS[i]'s window. Takes back the newest entry of each list that has one inside its window.
_REFUND_MOVING = """
local refunded = 0
for i, key in ipairs(KEYS) do
  local newest = redis.call('lindex', key, 0)
  if newest and tonumber(newest) >= tonumber(ARGV[i]) then
    redis.call('lpop', key)
    refunded = refunded + 1
  end
end
return refunded
"""
# KEYS[1]: a fixed-window counter, which expires with its window; ARGV[1]: points to give back (never below zero);
# ARGV[2]: the longest life (ms) the counter of the charge's window can have left: a longer-lived one is a later window.
_REFUND_FIXED = """
local ttl_ms = redis.call('pttl', KEYS[1])
if ttl_ms <= 0 or ttl_ms > tonumber(ARGV[2]) then
  return 0
end
local spent = tonumber(redis.call('get', KEYS[1]) or '0')
local refund = math.min(spent, tonumber(ARGV[1]))
if refund > 0 then
  redis.call('decrby', KEYS[1], refund)
end
return refund
"""
# KEYS: the moving-window lists, then the cost counter; ARGV[1]: now; ARGV[2]: cost points; then per list: units,
# limit, window_s. The units a replica admitted alone go in at `now` (they may count a little longer than they would).
_CARRY = """
for i = 1, #KEYS - 1 do
  for _ = 1, tonumber(ARGV[3 * i]) do
    redis.call('lpush', KEYS[i], ARGV[1])
  end
  redis.call('ltrim', KEYS[i], 0, tonumber(ARGV[3 * i + 1]) - 1)
  redis.call('expire', KEYS[i], tonumber(ARGV[3 * i + 2]))
end
local cost = tonumber(ARGV[2])
if cost > 0 and redis.call('incrby', KEYS[#KEYS], cost) == cost then
  redis.call('expire', KEYS[#KEYS], 3600)
end
return 1
"""
# KEYS[1]: sorted set of replica id -> expiry (Redis time, so replicas' clocks do not matter); ARGV: id, ttl seconds.
_HEARTBEAT = """
local clock = redis.call('time')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local ttl = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
redis.call('zadd', KEYS[1], now + ttl, ARGV[1])
redis.call('expire', KEYS[1], math.ceil(ttl))
return redis.call('zcard', KEYS[1])
"""


class RedisWindows:
    """The windows in Redis, shared by every replica, and this replica's heartbeat beside them."""

    def __init__(
        self,
        storage: RedisStorage,
        redis: coredis.Redis[bytes],
        *,
        key_prefix: str,
        namespace: str = "gw",
        heartbeat_ttl_s: float = DEFAULT_HEARTBEAT_S * HEARTBEATS_TO_EXPIRE,
        pool: coredis.ConnectionPool | None = None,
    ) -> None:
        from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter  # noqa: PLC0415

        self._storage = storage
        self._moving = MovingWindowRateLimiter(storage)
        self._fixed = FixedWindowRateLimiter(storage)
        self._key_prefix = key_prefix
        self._namespace = namespace
        self._heartbeat_ttl_s = heartbeat_ttl_s
        self._pool = pool
        self._redis = redis
        self._refund_moving = redis.register_script(_REFUND_MOVING)
        self._refund_fixed = redis.register_script(_REFUND_FIXED)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._carry = redis.register_script(_CARRY)
        self.replica_id = uuid.uuid4().hex
        self.heartbeat_key = f"{key_prefix}:REPLICAS/{namespace}"

    @classmethod
    def from_url(
        cls,
        redis_url: str,
        *,
        key_prefix: str,
        namespace: str = "gw",
        timeout_s: float = 0.5,
        pool_size: int = 50,
        heartbeat_ttl_s: float = DEFAULT_HEARTBEAT_S * HEARTBEATS_TO_EXPIRE,
    ) -> RedisWindows:
        import coredis  # noqa: PLC0415  # see the module doc
        from limits.aio.storage import RedisStorage  # noqa: PLC0415

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
        redis: coredis.Redis[bytes] = coredis.Redis(connection_pool=pool)
        return cls(
            storage, redis, key_prefix=key_prefix, namespace=namespace, heartbeat_ttl_s=heartbeat_ttl_s, pool=pool
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.disconnect()

    async def check_request(self, key_id: str, tier: Tier) -> tuple[Decision, ...]:
        decided_at = time.time()
        decisions: list[Decision] = []
        for spec in request_windows(tier):
            item = _item(spec)
            ids = self._ids(key_id, spec.policy)
            allowed = await self._moving.hit(item, *ids)
            stats = await self._moving.get_window_stats(item, *ids)
            decisions.append(
                _decision(allowed, spec.policy, item, stats.remaining, stats.reset_time, decided_at=decided_at)
            )
            if not allowed:
                break
        return tuple(decisions)

    async def charge_cost(self, key_id: str, tier: Tier, cost: int) -> Decision:
        decided_at = time.time()
        item = _item(cost_window(tier))
        ids = self._ids(key_id, COST)
        allowed = True
        if cost > 0:
            allowed = await self._fixed.hit(item, *ids, cost=cost)
            if not allowed:  # the counter was incremented by the refused cost: give it back
                await self._storage.incr(item.key_for(*ids), item.get_expiry(), amount=-cost)
        stats = await self._fixed.get_window_stats(item, *ids)
        return _decision(allowed, COST, item, stats.remaining, stats.reset_time, decided_at=decided_at)

    async def budget(self, key_id: str, tier: Tier) -> Budget:
        windows = request_windows(tier)
        moving = {spec.policy: await self._window(self._moving, spec, key_id) for spec in windows}
        return Budget(
            tier=tier.name,
            rate=moving[MINUTE],
            cost=await self._window(self._fixed, cost_window(tier), key_id),
            burst=moving.get(BURST),
        )

    async def refund_request(self, key_id: str, tier: Tier, decided_at: float) -> None:
        now = time.time()
        keys: list[str] = []
        horizons: list[float] = []
        for spec in request_windows(tier):
            if now < decided_at + spec.window_s:
                keys.append(self._redis_key(spec, key_id))
                horizons.append(now - spec.window_s)
        if keys:
            await self._refund_moving.execute(tuple(keys), tuple(horizons))

    async def refund_cost(self, key_id: str, tier: Tier, cost: int, decided_at: float) -> None:
        if cost <= 0:
            return
        spec = cost_window(tier)
        # The counter starts at its window's first charge (at or after `decided_at` for the charge that opened it).
        longest_life_ms = math.ceil((decided_at + spec.window_s - time.time()) * 1000) + 1000
        await self._refund_fixed.execute([self._redis_key(spec, key_id)], [cost, longest_life_ms])

    async def carry(self, key_id: str, tier: Tier, admitted_at: Sequence[float], cost: int) -> None:
        now = time.time()
        keys: list[str] = []
        args: list[float] = [now, max(0, cost)]
        for spec in request_windows(tier):
            units = sum(1 for at in admitted_at if at > now - spec.window_s)
            if units:
                keys.append(self._redis_key(spec, key_id))
                args += [units, spec.limit, spec.window_s]
        if keys or cost > 0:
            keys.append(self._redis_key(cost_window(tier), key_id))
            await self._carry.execute(tuple(keys), tuple(args))

    async def beat(self) -> int:
        live = await self._heartbeat.execute([self.heartbeat_key], [self.replica_id, self._heartbeat_ttl_s])
        return int(live)  # type: ignore[arg-type]  # the script returns an integer reply

    async def leave(self) -> None:
        await self._redis.zrem(self.heartbeat_key, [self.replica_id])

    def _ids(self, key_id: str, policy: str) -> tuple[str, str, str]:
        return (self._namespace, key_id, policy)

    def _redis_key(self, spec: Window, key_id: str) -> str:
        return f"{self._key_prefix}:{_item(spec).key_for(*self._ids(key_id, spec.policy))}"

    async def _window(
        self, strategy: MovingWindowRateLimiter | FixedWindowRateLimiter, spec: Window, key_id: str
    ) -> WindowBudget:
        item = _item(spec)
        stats = await strategy.get_window_stats(item, *self._ids(key_id, spec.policy))
        remaining = max(0, min(item.amount, stats.remaining))
        reset_after_s = _seconds_until(stats.reset_time) if remaining < item.amount else item.get_expiry()
        return _window_budget(spec, item.amount, remaining, reset_after_s, time.time())


def _item(spec: Window) -> RateLimitItem:
    from limits import RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond  # noqa: PLC0415

    if spec.policy == MINUTE:
        return RateLimitItemPerMinute(spec.limit)
    if spec.policy == COST:
        return RateLimitItemPerHour(spec.limit)
    return RateLimitItemPerSecond(spec.limit, spec.window_s)


def _seconds_until(timestamp: float) -> int:
    return max(0, math.ceil(timestamp - time.time()))


def _decision(
    allowed: bool, policy: str, item: RateLimitItem, remaining: int, reset_time: float, *, decided_at: float
) -> Decision:
    remaining = max(0, min(item.amount, remaining))
    reset_after_s = _seconds_until(reset_time) if remaining < item.amount else item.get_expiry()
    return Decision(
        allowed=allowed,
        policy=policy,
        limit=item.amount,
        remaining=remaining,
        reset_after_s=reset_after_s,
        retry_after_s=None if allowed else max(1, reset_after_s),
        decided_at=decided_at,
    )


@dataclass
class _Carried:
    """What this replica admitted alone for one caller while Redis was unreachable, for Redis when it is back: the
    admission times of the last minute, the cost points of the last hour."""

    admitted_at: deque[float] = field(default_factory=deque)
    cost: int = 0
    cost_since: float = 0.0

    def add_request(self, at: float) -> None:
        self.admitted_at.append(at)
        while self.admitted_at[0] <= at - MINUTE_S:
            self.admitted_at.popleft()

    def remove_request(self, at: float) -> None:
        if at in self.admitted_at:
            self.admitted_at.remove(at)

    def add_cost(self, cost: int, at: float) -> None:
        if at >= self.cost_since + HOUR_S:
            self.cost, self.cost_since = 0, at
        self.cost += cost

    def pending(self, now: float) -> tuple[list[float], int]:
        """The admission times still in the minute window, and the cost points still in the hour."""
        admitted_at = [at for at in self.admitted_at if at > now - MINUTE_S]
        return admitted_at, self.cost if now < self.cost_since + HOUR_S else 0

    def merge(self, other: _Carried) -> None:
        self.admitted_at = deque(sorted([*other.admitted_at, *self.admitted_at]))
        if other.cost:
            self.cost += other.cost
            self.cost_since = min(self.cost_since, other.cost_since) if self.cost_since else other.cost_since


class RateLimiter:
    """The per-caller limiter of one process: shared windows when given (Redis), else local ones (see the module)."""

    def __init__(
        self,
        shared: SharedWindows | None = None,
        *,
        timeout_s: float = 0.5,
        retry_storage_after_s: float = DEFAULT_PROBE_EVERY_S,
        fallback_replicas: int = DEFAULT_FALLBACK_REPLICAS,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        max_local_keys: int = DEFAULT_MAX_LOCAL_KEYS,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        if fallback_replicas < 1 or heartbeat_s <= 0:
            raise ValueError("fallback_replicas must be at least 1 and heartbeat_s positive")
        self._shared = shared
        self.local = LocalWindows(clock=clock, max_keys=max_local_keys)
        self._timeout_s = timeout_s
        self._fallback_replicas = fallback_replicas
        self._heartbeat_s = heartbeat_s
        self._heartbeat: asyncio.Task[None] | None = None
        self._closed = False
        self._carry: OrderedDict[tuple[str, Tier], _Carried] = OrderedDict()
        self._max_carried = max_local_keys
        self.replicas_seen: int | None = None  # live heartbeats at the last successful count
        self._outage = RedisOutage(
            log,
            down_message="rate-limit storage unreachable, each replica enforces its share of every limit until it "
            "is back: %s (%s)",
            back_message="rate-limit storage reachable again after %.1f s, shared limits enforced",
            probe_every_s=retry_storage_after_s,
            monotonic=monotonic,
        )

    @classmethod
    def in_memory(cls, *, clock: Clock = time.time) -> RateLimiter:
        """One process only: exact local windows, nothing shared."""
        return cls(clock=clock)

    @classmethod
    def on_redis(
        cls,
        redis_url: str,
        *,
        namespace: str = "gw",
        key_prefix: str = "gateway:ratelimit",
        timeout_s: float = 0.5,
        pool_size: int = 50,
        retry_storage_after_s: float = DEFAULT_PROBE_EVERY_S,
        fallback_replicas: int = DEFAULT_FALLBACK_REPLICAS,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    ) -> RateLimiter:
        shared = RedisWindows.from_url(
            redis_url,
            key_prefix=key_prefix,
            namespace=namespace,
            timeout_s=timeout_s,
            pool_size=pool_size,
            heartbeat_ttl_s=heartbeat_s * HEARTBEATS_TO_EXPIRE,
        )
        return cls(
            shared,
            timeout_s=timeout_s,
            retry_storage_after_s=retry_storage_after_s,
            fallback_replicas=fallback_replicas,
            heartbeat_s=heartbeat_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        # Until the settings model has them, the limiter's own settings fall back to these defaults.
        fallback_replicas = int(getattr(settings, "limiter_fallback_replicas", DEFAULT_FALLBACK_REPLICAS))
        heartbeat_s = float(getattr(settings, "limiter_heartbeat_s", DEFAULT_HEARTBEAT_S))
        probe_every_s = float(getattr(settings, "limiter_probe_every_s", DEFAULT_PROBE_EVERY_S))
        if settings.redis_url:
            return cls.on_redis(
                settings.redis_url,
                key_prefix=settings.redis_prefix("ratelimit"),
                timeout_s=settings.redis_timeout_s,
                pool_size=settings.redis_pool_size,
                retry_storage_after_s=probe_every_s,
                fallback_replicas=fallback_replicas,
                heartbeat_s=heartbeat_s,
            )
        return cls.in_memory()

    @property
    def shared(self) -> bool:
        """The windows are counted in shared storage (Redis), not only in this process."""
        return self._shared is not None

    @property
    def degraded(self) -> bool:
        """Redis is unreachable: limits are this replica's share, counted locally."""
        return self._outage.down

    def replicas(self) -> int:
        """The replica count the local share divides by."""
        return self.replicas_seen or self._fallback_replicas

    async def start(self) -> None:
        """Counts the replicas before the first caller, then every `heartbeat_s` (else the first call starts it)."""
        if self._shared is not None and self._heartbeat is None and not self._closed:
            self._heartbeat = asyncio.create_task(self._beat_forever(self._heartbeat_s), name="limiter-heartbeat")
            await self.refresh_replicas()

    async def refresh_replicas(self) -> int | None:
        """One heartbeat: this replica's entry refreshed and the live ones counted; the count last seen."""
        if self._shared is not None:
            with contextlib.suppress(RedisUnreachable):
                self.replicas_seen = max(1, await self._shared_call(self._shared.beat()))
        return self.replicas_seen

    async def aclose(self) -> None:
        self._closed = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        if self._shared is not None:
            with contextlib.suppress(RedisUnreachable):  # else its heartbeat expires by itself
                await self._shared_call(self._shared.leave())
            self._shared.close()

    async def check_request(self, key_id: str, tier: Tier) -> Decision:
        """Counts one request against the burst and minute windows."""
        if self._shared is None:
            return self.local.check_request(key_id, tier)
        self._start_lazily()
        # Recorded here while Redis decides, so that decisions made alone meanwhile (an outage) count it.
        recorded_at = self.local.record_request(key_id, tier)
        try:
            await self._carry_over(key_id, tier)
            decisions = await self._shared_call(self._shared.check_request(key_id, tier))
        except RedisUnreachable:
            self.local.cancel_request(key_id, tier, recorded_at)
            decision = self.local.check_request(key_id, tier, replicas=self.replicas(), degraded=True)
            if decision.allowed:
                self._carried(key_id, tier).add_request(decision.decided_at)
            return decision
        except BaseException:
            self.local.cancel_request(key_id, tier, recorded_at)
            raise
        decision = decisions[-1]
        if not decision.allowed:
            self.local.cancel_request(key_id, tier, recorded_at)
        self.local.observe(key_id, tier, decisions)
        return decision

    async def charge_cost(self, key_id: str, tier: Tier, cost: int) -> Decision:
        """Charges `cost` points to the hourly budget; a refused charge is not kept."""
        if self._shared is None:
            return self.local.charge_cost(key_id, tier, cost)
        self._start_lazily()
        recorded_at = self.local.record_cost(key_id, tier, cost)
        try:
            await self._carry_over(key_id, tier)
            decision = await self._shared_call(self._shared.charge_cost(key_id, tier, cost))
        except RedisUnreachable:
            self.local.refund_cost(key_id, tier, cost, recorded_at)
            decision = self.local.charge_cost(key_id, tier, cost, replicas=self.replicas(), degraded=True)
            if decision.allowed and cost > 0:
                self._carried(key_id, tier).add_cost(cost, decision.decided_at)
            return decision
        except BaseException:
            self.local.refund_cost(key_id, tier, cost, recorded_at)
            raise
        if not decision.allowed:
            self.local.refund_cost(key_id, tier, cost, recorded_at)
        self.local.observe(key_id, tier, (decision,))
        return decision

    async def peek(self, key_id: str, tier: Tier) -> Budget:
        """The caller's budget without spending any of it (headers, the `rateLimit` field), also during an outage."""
        if self._shared is None:
            return self.local.budget(key_id, tier)
        self._start_lazily()
        try:
            await self._carry_over(key_id, tier)
            budget = await self._shared_call(self._shared.budget(key_id, tier))
        except RedisUnreachable:
            return self.local.budget(key_id, tier, replicas=self.replicas(), degraded=True)
        self.local.observe(key_id, tier, budget.windows())
        return budget

    async def refund_request(self, key_id: str, tier: Tier, admitted: Decision) -> None:
        """Gives back the request unit `admitted` took (a request shed after admission); best effort."""
        if not admitted.allowed:
            return
        self.local.refund_request(key_id, tier, admitted.decided_at)  # the local count or its record of the shared
        if self._shared is None:
            return
        if admitted.degraded:
            carried = self._carry.get((key_id, tier))
            if carried is not None:
                carried.remove_request(admitted.decided_at)
            return
        with contextlib.suppress(RedisUnreachable):  # else the unit stays spent until its window lets it go
            await self._shared_call(self._shared.refund_request(key_id, tier, admitted.decided_at))

    async def refund_cost(self, key_id: str, tier: Tier, cost: int, charged: Decision) -> None:
        """Gives back `cost` points of an admitted charge; best effort."""
        if not charged.allowed or cost <= 0:
            return
        self.local.refund_cost(key_id, tier, cost, charged.decided_at)
        if self._shared is None:
            return
        if charged.degraded:
            carried = self._carry.get((key_id, tier))
            if carried is not None:
                carried.cost = max(0, carried.cost - cost)
            return
        with contextlib.suppress(RedisUnreachable):
            await self._shared_call(self._shared.refund_cost(key_id, tier, cost, charged.decided_at))

    def _carried(self, key_id: str, tier: Tier) -> _Carried:
        carried = self._carry.get((key_id, tier))
        if carried is None:
            carried = self._carry[key_id, tier] = _Carried()
            if len(self._carry) > self._max_carried:
                self._carry.popitem(last=False)
        return carried

    async def _carry_over(self, key_id: str, tier: Tier) -> None:
        """Before Redis decides for a caller again: adds what this replica admitted alone (RedisUnreachable else)."""
        assert self._shared is not None
        carried = self._carry.pop((key_id, tier), None)
        if carried is None:
            return
        admitted_at, cost = carried.pending(self.local.clock())
        if not admitted_at and cost <= 0:
            return
        try:
            await self._shared_call(self._shared.carry(key_id, tier, admitted_at, cost))
        except BaseException:
            self._carried(key_id, tier).merge(carried)
            raise

    def _start_lazily(self) -> None:
        if self._heartbeat is None and not self._closed:
            self._heartbeat = asyncio.create_task(self._beat_forever(0.0), name="limiter-heartbeat")

    async def _beat_forever(self, first_after_s: float) -> None:
        await asyncio.sleep(first_after_s)
        while True:
            try:
                await self.refresh_replicas()
            except Exception:  # a bug must not stop the heartbeats
                log.exception("rate-limit replica heartbeat failed")
            await asyncio.sleep(self._heartbeat_s)

    async def _shared_call(self, operation: Awaitable[_T]) -> _T:
        return await self._outage.call(operation, timeout_s=self._timeout_s, errors=_storage_errors())


@cache
def _storage_errors() -> tuple[type[BaseException], ...]:
    from limits.errors import StorageError  # noqa: PLC0415  # loaded by RedisWindows (see the module doc)

    return (StorageError, *redis_errors())


def ratelimit_headers(budget: Budget, refused: Decision | None = None) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` per draft-ietf-httpapi-ratelimit-headers-11 (Structured Field Lists of
    String items with `q`/`w` and `r`/`t` parameters), and `Retry-After` (delay-seconds) when `refused` is given."""
    windows = budget.windows()
    headers = {"RateLimit-Policy": _policy_header(_policies(windows)), "RateLimit": _limits_header(windows, refused)}
    if refused is not None and not refused.allowed:
        headers["Retry-After"] = str(refused.retry_after_s or 1)
    return headers


def ratelimit_header_fields(budget: Budget, refused: Decision | None = None) -> list[tuple[bytes, bytes]]:
    """`RateLimit-Policy` and `RateLimit` of `ratelimit_headers` (never `Retry-After`) as raw HTTP header fields,
    lowercase names and latin-1 values, for the answer to every known caller."""
    windows = budget.windows()
    return [
        (b"ratelimit-policy", _encoded_policy_header(_policies(windows))),
        (b"ratelimit", _limits_header(windows, refused).encode("latin-1")),
    ]


def _policies(windows: tuple[WindowBudget, ...]) -> tuple[tuple[str, int, int], ...]:
    return tuple([(window.policy, window.limit, window.window_s) for window in windows])


def _limits_header(windows: tuple[WindowBudget, ...], refused: Decision | None) -> str:
    refused_policy = None if refused is None else refused.policy
    return ", ".join(
        [
            f'"{window.policy}";r={0 if window.policy == refused_policy else window.remaining};t={window.reset_after_s}'
            for window in windows
        ]
    )


@lru_cache(maxsize=256)  # the same few policies on every answer
def _policy_header(windows: tuple[tuple[str, int, int], ...]) -> str:
    return ", ".join(
        f'"{policy}";q={limit};w={window_s}' + (f";{COST_UNIT_PARAMETER}" if policy == COST else "")
        for policy, limit, window_s in windows
    )


@lru_cache(maxsize=256)
def _encoded_policy_header(windows: tuple[tuple[str, int, int], ...]) -> bytes:
    return _policy_header(windows).encode("latin-1")
