"""Upstream response cache: `get_or_fetch(key, fetch, ttl_s, stale_for_s)`; the only module that may use aiocache.

Keys are built from the upstream, the path and the sorted public parameters (credentials are added later by the
transport, so they can never reach a key). Values are the upstream's decoded JSON, stored serialised (an upstream
body as the bytes it was received in, `codec.Received`), so a caller that changes what it was given changes nothing
in the cache. An entry is fresh for `ttl_s`; after that it is fetched
again, and kept for `stale_for_s` more to answer (status STALE) when that fetch raises an UpstreamError.

What `fetch` raises is never stored. An answer it returns is stored unless `store_if` says no: such an answer is
handed (status MISS) to every caller waiting on that fetch, and is not a `fetch_errors` event.

aiocache and redis-py (which loads the OpenTelemetry metrics SDK whenever it is installed) are imported by
`RedisCache` only: a gateway without Redis never loads them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit

from prometheus_client import CollectorRegistry

from gateway import tracing
from gateway.cache.codec import (
    Entry,
    EntryId,
    Received,
    decode_envelope,
    decode_payload,
    encode_envelope,
    encode_payload,
)
from gateway.cache.flight import SingleFlight
from gateway.cache.stats import CacheEvent, CacheStats
from gateway.errors import UpstreamError
from gateway.redis import RedisOutage
from gateway.settings import Settings

Fetch = Callable[[], Awaitable[object]]
StoreIf = Callable[[object], bool]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

logger = logging.getLogger("gateway.cache.store")


class CacheStatus(Enum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"
    BYPASS = "BYPASS"


@dataclass(frozen=True)
class Cached:
    """`entry_id` is equal for two answers read from one stored entry and changes when the entry is written again,
    so a caller may memoise what it derives from `value`; None when `value` was not read from the store (a miss)."""

    value: object
    status: CacheStatus
    age_s: float = 0.0
    entry_id: EntryId | None = field(default=None, compare=False)


_STATUS_WEIGHT = {CacheStatus.BYPASS: 0, CacheStatus.HIT: 1, CacheStatus.MISS: 2, CacheStatus.STALE: 3}


@dataclass
class CacheReport:
    """What the cache answered during one request, per upstream: the least fresh answer and its age."""

    by_upstream: dict[str, Cached] = field(default_factory=dict)

    def record(self, key: str, cached: Cached) -> None:
        upstream = key.partition(":")[0]
        seen = self.by_upstream.get(upstream)
        if seen is None or (_STATUS_WEIGHT[cached.status], cached.age_s) > (_STATUS_WEIGHT[seen.status], seen.age_s):
            self.by_upstream[upstream] = Cached(None, cached.status, cached.age_s)

    @property
    def stale(self) -> bool:
        return any(cached.status is CacheStatus.STALE for cached in self.by_upstream.values())

    def as_extensions(self) -> dict[str, dict[str, object]]:
        """`extensions.cache`, by upstream in name order (a new dict: the caller may add to it)."""
        by_upstream = self.by_upstream
        if not by_upstream:
            return {}
        items = sorted(by_upstream.items()) if len(by_upstream) > 1 else by_upstream.items()
        return {
            upstream: {"status": cached.status.value, "ageSeconds": round(cached.age_s, 1)}
            for upstream, cached in items
        }


_current_report: ContextVar[CacheReport | None] = ContextVar("gateway_cache_report", default=None)


class _Reporting:
    """`reporting()`'s context: a plain class, not a generator (entered once per /graphql request)."""

    __slots__ = ("_token", "report")

    def __init__(self) -> None:
        self.report = CacheReport()

    def __enter__(self) -> CacheReport:
        self._token = _current_report.set(self.report)
        return self.report

    def __exit__(self, *exc_info: object) -> None:
        _current_report.reset(self._token)


def reporting() -> AbstractContextManager[CacheReport]:
    """Collect what the cache answers within this context (and the tasks it starts) into one report."""
    return _Reporting()


def current_report() -> CacheReport | None:
    return _current_report.get()


def _report(key: str, cached: Cached) -> Cached:
    report = _current_report.get()
    if report is not None:
        report.record(key, cached)
    return cached


def cache_key(upstream: str, path: str, params: Mapping[str, str]) -> str:
    return f"{upstream}:{path}?{urlencode(sorted(params.items()))}"


class ResponseCache(Protocol):
    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached: ...


class NoCache:
    """Always asks the upstream (for tests and for turning caching off)."""

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        del ttl_s, stale_for_s, store_if
        value = await fetch()
        return _report(key, Cached(value.value if isinstance(value, Received) else value, CacheStatus.BYPASS))


_EVENT_OF_STATUS: dict[CacheStatus, CacheEvent] = {
    CacheStatus.HIT: "hits",
    CacheStatus.MISS: "misses",
    CacheStatus.STALE: "stale",
    CacheStatus.BYPASS: "misses",
}


@dataclass(frozen=True)
class _Refresh:
    """One call's fetch and its storage terms."""

    fetch: Fetch
    ttl_s: int
    stale_for_s: int
    store_if: StoreIf | None

    @property
    def keep_for_s(self) -> int:
        return self.ttl_s + self.stale_for_s


class _StoreCache(ABC):
    """get_or_fetch over a store: fresh hit, else one fetch per key in this process, stale-if-error on failure."""

    def __init__(self, stats: CacheStats, clock: Clock) -> None:
        self.stats = stats
        self._clock = clock
        self._flights: SingleFlight[Cached] = SingleFlight()

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        if ttl_s <= 0 and stale_for_s <= 0:  # nothing is kept: no read, no flight of its own (callers share theirs)
            cached = await self._fetch_and_store(key, _Refresh(fetch, ttl_s, stale_for_s, store_if), None)
            self.stats.record("misses", key)
            return _report(key, cached)
        known = await self._read(key, ttl_s + stale_for_s)
        cached = self._fresh(known, ttl_s) or await self._flights.run(
            key, lambda: self._refresh(key, _Refresh(fetch, ttl_s, stale_for_s, store_if), known)
        )
        self.stats.record(_EVENT_OF_STATUS[cached.status], key)
        return _report(key, cached)

    @abstractmethod
    async def _read(self, key: str, keep_for_s: int) -> Entry | None: ...

    @abstractmethod
    async def _write(self, key: str, value: object, stored_at: float, keep_for_s: int) -> None:
        """Raises TypeError or ValueError when `value` is not JSON."""

    async def _refresh(self, key: str, refresh: _Refresh, known: Entry | None) -> Cached:
        return await self._fetch_and_store(key, refresh, known)

    def _fresh(self, entry: Entry | None, ttl_s: int) -> Cached | None:
        if entry is None:
            return None
        age_s = entry.age_s(self._clock())
        return Cached(entry.value, CacheStatus.HIT, age_s, entry.entry_id) if age_s < ttl_s else None

    async def _fetch_and_store(self, key: str, refresh: _Refresh, known: Entry | None) -> Cached:
        try:
            value = await refresh.fetch()
        except UpstreamError:
            self.stats.record("fetch_errors", key)
            if known is not None:
                age_s = known.age_s(self._clock())
                if age_s < refresh.keep_for_s:
                    return Cached(known.value, CacheStatus.STALE, age_s, known.entry_id)
            raise
        except Exception:
            self.stats.record("fetch_errors", key)
            raise
        received = value
        if isinstance(value, Received):  # stored as the bytes it was received in; callers get the decoded value
            value = value.value
        if refresh.keep_for_s > 0 and (refresh.store_if is None or refresh.store_if(value)):
            try:
                await self._write(key, received, self._clock(), refresh.keep_for_s)
            except (TypeError, ValueError) as error:
                logger.warning("not caching %s: the value is not JSON (%s)", key, error)
        return Cached(value, CacheStatus.MISS)


class MemoryCache(_StoreCache):
    """In-process cache in a dict, bounded by entries and by serialised bytes (LRU).

    An LRU index of key -> payload size beside the dict decides what stays: the index is the truth, the dict only
    holds `(stored_at, payload bytes)` tuples for indexed keys.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        clock: Clock = time.time,
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(CacheStats(registry or CollectorRegistry(), backend="memory"), clock)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._stored: dict[str, tuple[float, bytes]] = {}
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self._bytes = 0

    @property
    def entries(self) -> int:
        return len(self._sizes)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def close(self) -> None:
        self._stored.clear()
        self._sizes.clear()
        self._bytes = 0

    async def _refresh(self, key: str, refresh: _Refresh, known: Entry | None) -> Cached:
        latest = await self._read(key, refresh.keep_for_s)  # a flight for this key may have landed meanwhile
        return self._fresh(latest, refresh.ttl_s) or await self._fetch_and_store(key, refresh, latest or known)

    async def _read(self, key: str, keep_for_s: int) -> Entry | None:
        if key not in self._sizes:
            return None
        stored = self._stored.get(key)
        if stored is None or self._clock() - stored[0] >= keep_for_s:
            await self._forget(key)
            return None
        self._sizes.move_to_end(key)
        return Entry(stored[0], decode_payload(stored[1]), hash(stored[1]))  # bytes cache their hash

    async def _write(self, key: str, value: object, stored_at: float, keep_for_s: int) -> None:
        del keep_for_s  # entries past their window are dropped when read, or evicted as least recently used
        payload = encode_payload(value)
        if len(payload) > self.max_bytes:
            await self._forget(key)
            return
        self._stored[key] = (stored_at, payload)
        self._bytes += len(payload) - self._sizes.pop(key, 0)
        self._sizes[key] = len(payload)
        while len(self._sizes) > self.max_entries or self._bytes > self.max_bytes:
            victim, size = self._sizes.popitem(last=False)
            self._bytes -= size
            del self._stored[victim]
            self.stats.record("evictions", victim)

    async def _forget(self, key: str) -> None:
        self._bytes -= self._sizes.pop(key, 0)
        self._stored.pop(key, None)


class _RedisUnavailable(Exception):
    pass


_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisCache(_StoreCache):
    """Cache shared by replicas in Redis, through aiocache's RedisCache on a blocking pool of `pool_size`.

    Values are JSON envelopes `{"stored_at", "payload"}` kept `ttl_s + stale_for_s` in Redis; freshness is decided
    from `stored_at`. A miss takes a short lock (SET NX PX) so that one replica fetches while the others poll for
    its value, for at most `lock_wait_s`, before fetching themselves. Every Redis call is bounded by `timeout_s`;
    when Redis fails, calls go straight to `fetch` (one warning per outage) and Redis is probed again every
    `probe_every_s` until it answers.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "gateway:cache",
        timeout_s: float = 0.5,
        pool_size: int = 50,
        pool_wait_s: float = 5.0,
        lock_ttl_s: float = 5.0,
        lock_wait_s: float = 5.0,
        lock_poll_s: float = 0.05,
        probe_every_s: float = 1.0,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        registry: CollectorRegistry | None = None,
    ) -> None:
        from redis.exceptions import RedisError  # noqa: PLC0415  # see the module doc

        super().__init__(CacheStats(registry or CollectorRegistry(), backend="redis"), clock)
        self._errors = (RedisError, OSError, TimeoutError)
        self._backend: Any = _open_aiocache_redis(
            url, timeout_s=timeout_s, pool_size=pool_size, pool_wait_s=pool_wait_s
        )
        self._namespace = namespace
        self._timeout_s = timeout_s
        self._lock_ttl_ms = max(1, round(lock_ttl_s * 1000))
        self._lock_wait_s = lock_wait_s
        self._lock_poll_s = lock_poll_s
        self._monotonic = monotonic
        self._sleep = sleep
        self.outage = RedisOutage(
            logger,
            down_message="redis unavailable (%s: %s); the cache answers from the upstreams until it is back",
            back_message="redis available again after %.1f s",
            probe_every_s=probe_every_s,
            monotonic=monotonic,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, registry: CollectorRegistry | None = None) -> RedisCache:
        return cls(
            settings.redis_url,
            namespace=settings.cache_namespace,
            timeout_s=settings.redis_timeout_s,
            pool_size=settings.redis_pool_size,
            pool_wait_s=settings.redis_pool_wait_s,
            lock_ttl_s=settings.cache_lock_ttl_s,
            lock_wait_s=settings.cache_lock_wait_s,
            lock_poll_s=settings.cache_lock_poll_s,
            probe_every_s=settings.redis_probe_every_s,
            registry=registry,
        )

    async def close(self) -> None:
        await self._backend.client.aclose()  # aiocache's close() calls redis-py's deprecated close()

    def entry_key(self, key: str) -> str:
        return f"{self._namespace}:entry:{key}"

    def lock_key(self, key: str) -> str:
        return f"{self._namespace}:lock:{key}"

    async def _refresh(self, key: str, refresh: _Refresh, known: Entry | None) -> Cached:
        token = secrets.token_hex(16)
        holding = False
        give_up_at = self._monotonic() + self._lock_wait_s
        try:
            while True:
                holding = await self._try_lock(key, token)
                latest = await self._read(key, refresh.keep_for_s)
                known = latest or known
                fresh = self._fresh(latest, refresh.ttl_s)
                if fresh is not None:
                    return fresh
                if holding or self.outage.down or self._monotonic() >= give_up_at:
                    break
                await self._sleep(self._lock_poll_s)
            return await self._fetch_and_store(key, refresh, known)
        except _RedisUnavailable:
            return await self._fetch_and_store(key, refresh, known)
        finally:
            if holding:
                await self._release_lock(key, token)

    async def _read(self, key: str, keep_for_s: int) -> Entry | None:
        try:
            raw: bytes | None = await self._call(key, "get", self.entry_key(key))
        except _RedisUnavailable:
            return None
        entry = decode_envelope(raw) if raw is not None else None
        if entry is None or entry.age_s(self._clock()) >= keep_for_s:
            return None
        return entry

    async def _write(self, key: str, value: object, stored_at: float, keep_for_s: int) -> None:
        envelope = encode_envelope(value, stored_at)
        try:
            await self._call(key, "set", self.entry_key(key), envelope, ex=keep_for_s)
        except _RedisUnavailable:
            return

    async def _try_lock(self, key: str, token: str) -> bool:
        return bool(await self._call(key, "set", self.lock_key(key), token, nx=True, px=self._lock_ttl_ms))

    async def _release_lock(self, key: str, token: str) -> None:
        try:
            await self._call(key, "eval", _RELEASE_LOCK, 1, self.lock_key(key), token)
        except _RedisUnavailable:
            return  # the lock expires by itself

    async def _call(self, key: str, command: str, *args: object, **options: object) -> Any:
        if not self.outage.may_try():
            raise _RedisUnavailable
        try:
            with tracing.redis_span(command.upper(), logger.name):
                async with asyncio.timeout(self._timeout_s):
                    result = await self._backend.raw(command, *args, **options)
        except self._errors as error:
            self.stats.record("redis_errors", key)
            self.outage.failed(error)
            raise _RedisUnavailable from error
        self.outage.succeeded()
        return result


def _open_aiocache_redis(url: str, *, timeout_s: float, pool_size: int, pool_wait_s: float) -> Any:
    """aiocache's RedisCache on a BlockingConnectionPool: its default pool raises at ~1,000 concurrent calls."""
    import redis.asyncio  # noqa: PLC0415  # see the module doc
    from aiocache import RedisCache as AiocacheRedis  # noqa: PLC0415
    from aiocache.serializers import NullSerializer  # noqa: PLC0415

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("the Redis URL must start with redis:// or rediss://")
    pool_options: dict[str, object] = {"timeout": pool_wait_s, "socket_timeout": timeout_s}
    if parts.username:
        pool_options["username"] = unquote(parts.username)
    return AiocacheRedis(
        serializer=NullSerializer(encoding=None),  # bytes in, bytes out
        endpoint=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=int(parts.path.strip("/") or 0),
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme == "rediss",
        timeout=None,  # each call is bounded by asyncio.timeout instead of a wait_for task
        create_connection_timeout=timeout_s,
        pool_max_size=pool_size,
        connection_pool_class=redis.asyncio.BlockingConnectionPool,
        connection_pool_kwargs=pool_options,
    )


async def open_cache(
    settings: Settings, stack: AsyncExitStack, *, registry: CollectorRegistry | None = None
) -> MemoryCache | RedisCache:
    """Redis when `settings.redis_url` is set, else the bounded in-process cache; closed when `stack` closes."""
    cache: MemoryCache | RedisCache
    if settings.redis_url:
        cache = RedisCache.from_settings(settings, registry=registry)
    else:
        cache = MemoryCache(
            max_entries=settings.cache_max_entries, max_bytes=settings.cache_max_bytes, registry=registry
        )
    stack.push_async_callback(cache.close)
    return cache
