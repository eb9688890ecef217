"""The guard over the gateway's OWN upstream keys: calls per credential per UTC calendar day, exact across replicas.

Quotas are per credential (`CredentialSpec.name`), not per upstream: upstreams that share a key (SAM's APIs) share its
daily allowance, and an upstream called without a credential is not counted. Each call is one atomic Redis
`INCR <prefix><credential>:<YYYY-MM-DD>` (with `EXPIRE` 48 h, in the same MULTI; the prefix is
`<redis_namespace>:quota:`, so `gateway:quota:sam:2026-11-25` by default), or a dict entry for one process. A call that
pushes the counter over the quota is refused with UpstreamQuotaExceeded and `retry_after_s` = seconds until 00:00 UTC.

Shares: a credential's quota may reserve calls a day for named consumers of it (`shares`, from
`Settings.quota_shares()`: the samopps API pulls' share of the SAM key). A consumer with a share counts on a counter of
its own (`<prefix><credential>:<consumer>:<YYYY-MM-DD>`) against its share; every other upstream using the credential
counts on the credential's counter against the rest. The two allowances add up to the quota and each counter is
atomic, so neither consumer can take the other's calls and the key's quota is never exceeded, across replicas.
`pause(credential, seconds)` (an upstream answered 429 / quota spent) refuses calls with that key on every replica
until it ends (`<prefix><credential>:paused-until`). Errors name the upstream that was to be called (by default the
credential's name).

If Redis fails or times out the guard FAILS CLOSED: `acquire` raises UpstreamUnavailable (code UPSTREAM_UNAVAILABLE,
"quota counter unreachable"), because an uncounted call could spend the key's daily allowance; it leaves Redis alone
for `retry_storage_after_s`, then tries again, so it recovers by itself.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from gateway.clock import GatewayClock
from gateway.errors import UpstreamQuotaExceeded, UpstreamUnavailable
from gateway.redis import RedisOutage, RedisUnreachable, redis_client, redis_errors
from gateway.settings import Settings

if TYPE_CHECKING:
    import coredis

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
KEY_TTL_S = 48 * 60 * 60
_T = TypeVar("_T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_until_utc_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


class QuotaGuard:
    def __init__(
        self,
        daily_quotas: Mapping[str, int],
        *,
        redis: coredis.Redis[str] | None = None,
        prefix: str = "gateway:quota:",
        clock: Clock = utc_now,
        timeout_s: float = 0.5,
        retry_storage_after_s: float = 1.0,
        shares: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        """`daily_quotas` maps credential name -> calls per UTC day; 0 or absent means no quota. `shares` maps
        credential name -> consumer (upstream) name -> calls a day reserved for it (cut to what the quota holds)."""
        self._quotas = {name: quota for name, quota in daily_quotas.items() if quota > 0}
        self._shares: dict[str, dict[str, int]] = {}
        for credential, reserved in (shares or {}).items():
            left = self._quotas.get(credential, 0)
            for consumer, calls in reserved.items():
                kept = max(0, min(calls, left))
                self._shares.setdefault(credential, {})[consumer] = kept
                left -= kept
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._timeout_s = timeout_s
        self._outage = RedisOutage(
            log,
            down_message="upstream quota counter unreachable, refusing quota-guarded calls: %s (%s)",
            back_message="upstream quota counter reachable again after %.1f s",
            probe_every_s=retry_storage_after_s,
        )
        self._counts: dict[tuple[str, str], int] = {}
        self._paused_until: dict[str, datetime] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> QuotaGuard:
        """The guard of `settings` (its quotas and shares; Redis when set). `clock`: by default the gateway's clock
        (`GatewayClock`: the real one, or the simulated one of a process test)."""
        redis = None
        if settings.redis_url:
            redis = redis_client(
                settings.redis_url, timeout_s=settings.redis_timeout_s, pool_size=settings.redis_pool_size
            )
        return cls(
            settings.daily_quotas(),
            redis=redis,
            prefix=settings.redis_prefix("quota:"),
            clock=clock or GatewayClock.from_settings(settings).now,
            timeout_s=settings.redis_timeout_s,
            shares=settings.quota_shares(),
        )

    def __repr__(self) -> str:
        return f"QuotaGuard(quotas={self._quotas!r}, shares={self._shares!r}, shared={self._redis is not None})"

    async def aclose(self) -> None:
        if self._redis is not None:
            self._redis.connection_pool.disconnect()

    async def acquire(self, credential: str, *, upstream: str | None = None) -> None:
        """Spends one call of today's quota of `credential`, or raises UpstreamQuotaExceeded / UpstreamUnavailable."""
        quota = self._quotas.get(credential)
        if quota is None:
            return
        named = upstream or credential
        now = self._now()
        paused_for = await self._paused_for(credential, named, now)
        if paused_for:
            raise UpstreamQuotaExceeded(
                named, f"{named} asked the gateway to pause its calls; retry later", retry_after_s=paused_for
            )
        consumer, allowance = self._allowance(credential, upstream)
        count = await self._increment(credential, named, now, consumer)
        if count > allowance:
            share = "" if allowance == quota else f"{named}'s share ({allowance} calls) of "
            raise UpstreamQuotaExceeded(
                named,
                f"{share}the gateway's daily {credential} quota ({quota} calls) is spent until 00:00 UTC",
                retry_after_s=seconds_until_utc_midnight(now),
            )

    def _allowance(self, credential: str, upstream: str | None) -> tuple[str | None, int]:
        """The counter `upstream` counts on (a consumer with a share; None: the credential's own) and its calls a
        day (its share; else the quota less every share)."""
        reserved = self._shares.get(credential, {})
        if upstream is not None and upstream in reserved:
            return upstream, reserved[upstream]
        return None, self._quotas[credential] - sum(reserved.values())

    def allowance(self, credential: str, consumer: str | None = None) -> int | None:
        """Calls a day `consumer` may make with `credential` (its share, or what the shares leave); None: no quota."""
        if credential not in self._quotas:
            return None
        return self._allowance(credential, consumer)[1]

    @property
    def daily_quotas(self) -> Mapping[str, int]:
        """Calls per UTC day of each guarded credential (one without a quota is not guarded, nor listed)."""
        return MappingProxyType(self._quotas)

    async def remaining(self, credential: str, *, consumer: str | None = None) -> int | None:
        """Calls left today with `credential`: to `consumer` (an upstream: its share when it has one, else what the
        shares leave), or in all when None; None when it has no quota or the counter is unreachable."""
        if credential not in self._quotas:
            return None
        now = self._now()
        allowances: list[tuple[str | None, int]] = [self._allowance(credential, consumer)]
        if consumer is None:  # every allowance of the key: the rest, and each share
            allowances += self._shares.get(credential, {}).items()
        keys = [self._key(credential, now, counter) for counter, _ in allowances]
        if self._redis is None:
            counts = [self._counts.get((credential, key), 0) for key in keys]
        else:
            try:
                raw = await self._redis_call(credential, consumer or credential, self._redis.mget(tuple(keys)))
            except UpstreamUnavailable:
                return None
            counts = [int(value or 0) for value in raw]
        return sum(max(0, allowance - count) for (_, allowance), count in zip(allowances, counts, strict=True))

    async def pause(self, credential: str, seconds: float, *, upstream: str | None = None) -> None:
        """Refuses calls with `credential` for `seconds` (an upstream's 429 / Retry-After), on every replica."""
        until = self._now() + timedelta(seconds=max(1.0, seconds))
        if self._redis is None:
            self._paused_until[credential] = max(until, self._paused_until.get(credential, until))
            return
        await self._redis_call(
            credential,
            upstream or credential,
            self._redis.set(self._paused_key(credential), until.isoformat(), px=math.ceil(max(1.0, seconds) * 1000)),
        )

    def _now(self) -> datetime:
        now = self._clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    def _key(self, credential: str, now: datetime, consumer: str | None = None) -> str:
        if consumer is None:
            return f"{self._prefix}{credential}:{now.date().isoformat()}"
        return f"{self._prefix}{credential}:{consumer}:{now.date().isoformat()}"

    def _paused_key(self, credential: str) -> str:
        return f"{self._prefix}{credential}:paused-until"

    async def _increment(self, credential: str, upstream: str, now: datetime, consumer: str | None) -> int:
        key = self._key(credential, now, consumer)
        if self._redis is None:
            self._drop_past_days(now)
            count = self._counts[credential, key] = self._counts.get((credential, key), 0) + 1
            return count
        redis = self._redis

        async def incr_with_expiry() -> int:
            async with await redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, KEY_TTL_S)
                count, _ = await pipe.execute()
            return int(count)

        return await self._redis_call(credential, upstream, incr_with_expiry())

    async def _paused_for(self, credential: str, upstream: str, now: datetime) -> int:
        if self._redis is None:
            until = self._paused_until.get(credential)
        else:
            raw = await self._redis_call(credential, upstream, self._redis.get(self._paused_key(credential)))
            until = datetime.fromisoformat(raw) if raw else None
        if until is None or until <= now:
            return 0
        return max(1, math.ceil((until - now).total_seconds()))

    def _drop_past_days(self, now: datetime) -> None:
        today = now.date().isoformat()
        for stale in [entry for entry in self._counts if not entry[1].endswith(today)]:
            del self._counts[stale]

    async def _redis_call(self, credential: str, upstream: str, operation: Awaitable[_T]) -> _T:
        try:
            return await self._outage.call(operation, timeout_s=self._timeout_s, errors=redis_errors())
        except RedisUnreachable as unreachable:
            raise _counter_unreachable(credential, upstream) from unreachable.__cause__


def _counter_unreachable(credential: str, upstream: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        upstream,
        f"the gateway's {credential} quota counter is unreachable; {upstream} calls are paused until it is back",
    )
