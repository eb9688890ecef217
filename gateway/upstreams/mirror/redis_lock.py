"""Replicas take turns refreshing a feed (a `RefreshLock` on the gateway's Redis): each replica still downloads and
indexes the files itself, but never at the same moment as another, so the source sees one download at a time.

The lock is `SET key token NX PX ttl`, renewed while held (a replica that dies frees it within `ttl_s`) and released
only by its holder (compare and delete). A replica waits while another holds it, at most `wait_s`; when Redis is
unreachable it refreshes without the lock: staggering is a courtesy to the source, never a reason not to refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from gateway.redis import RedisOutage, RedisUnreachable, redis_errors

if TYPE_CHECKING:
    import coredis

_log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisRefreshLock:
    def __init__(
        self,
        redis: coredis.Redis[str],
        prefix: str,
        *,
        ttl_s: float = 60.0,
        wait_s: float = 30 * 60.0,
        poll_s: float = 1.0,
        timeout_s: float = 0.5,
        probe_every_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`prefix` starts every key (`<prefix><feed>`); `timeout_s` bounds each Redis call."""
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = math.ceil(ttl_s * 1000)
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._outage = RedisOutage(
            _log,
            down_message="mirror refresh lock unreachable, refreshing without it: %s (%s)",
            back_message="mirror refresh lock reachable again after %.1f s",
            probe_every_s=probe_every_s,
        )

    def key(self, feed: str) -> str:
        return f"{self._prefix}{feed}"

    @asynccontextmanager
    async def hold(self, feed: str) -> AsyncIterator[None]:
        key, token = self.key(feed), secrets.token_hex(16)
        held = await self._acquire(key, token)
        renewing = asyncio.create_task(self._keep(key, token), name=f"refresh-lock-{feed}") if held else None
        try:
            yield
        finally:
            if renewing is not None:
                renewing.cancel()
                # Wait for it without taking its CancelledError as ours: a holder cancelled here (a scheduler being
                # stopped) must stay cancelled, or whoever stops it waits for ever.
                await asyncio.wait([renewing])
                with contextlib.suppress(RedisUnreachable):
                    await self._call(self._release.execute([key], [token]))

    async def _acquire(self, key: str, token: str) -> bool:
        """True once held; False when Redis is unreachable or another replica held it for longer than `wait_s`."""
        from coredis import PureToken  # noqa: PLC0415  # loaded with the client (gateway.redis)

        give_up_at = self._monotonic() + self._wait_s
        while True:
            try:
                if await self._call(self._redis.set(key, token, condition=PureToken.NX, px=self._ttl_ms)):
                    return True
            except RedisUnreachable:
                return False
            if self._monotonic() >= give_up_at:
                _log.warning("%s: held by another replica for %.0f s; refreshing anyway", key, self._wait_s)
                return False
            await asyncio.sleep(self._poll_s)

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            with contextlib.suppress(RedisUnreachable):
                await self._call(self._renew.execute([key], [token, self._ttl_ms]))

    async def _call(self, operation: Any) -> Any:
        return await self._outage.call(operation, timeout_s=self._timeout_s, errors=redis_errors())
