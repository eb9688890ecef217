"""The one place that knows how the gateway talks to Redis: the client factory (a bounded, blocking pool) and Redis
availability as one of its users sees it (one warning per outage, a probe now and then while it is down, recovery on
the first success). Shared by the cache, the rate limiter, the quota guard, the key store
and the persisted documents.

coredis (and the hundreds of modules it imports) is loaded by `redis_client`, not by importing this module: a gateway
with no Redis URL never loads it. Its users name its types under TYPE_CHECKING and catch `redis_errors()`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from gateway import tracing

if TYPE_CHECKING:
    import coredis

_T = TypeVar("_T")


class RedisUnreachable(Exception):
    """The call was not made (Redis is down and this is not a probe) or failed."""


class RedisOutage:
    """While Redis is down, one call per `probe_every_s` tries it; every other call goes without it.

    `down_message` is logged (with the error's type and text) when an outage starts, `back_message` (with the outage's
    length in seconds) when it ends: each user says what the outage means for its callers.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        down_message: str,
        back_message: str,
        probe_every_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._down_message = down_message
        self._back_message = back_message
        self._probe_every_s = probe_every_s
        self._monotonic = monotonic
        self._down_since: float | None = None
        self._next_probe_at = 0.0
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def may_try(self) -> bool:
        if self._down_since is None:
            return True
        now = self._monotonic()
        if now < self._next_probe_at:
            return False
        self._next_probe_at = now + self._probe_every_s
        return True

    def failed(self, error: BaseException) -> None:
        now = self._monotonic()
        self._next_probe_at = now + self._probe_every_s
        if self._down_since is None:
            self._down_since = now
            self.outages += 1
            self._logger.warning(self._down_message, type(error).__name__, error)

    def succeeded(self) -> None:
        if self._down_since is not None:
            self._logger.warning(self._back_message, self._monotonic() - self._down_since)
            self._down_since = None

    async def call(self, operation: Awaitable[_T], *, timeout_s: float, errors: tuple[type[BaseException], ...]) -> _T:
        """Await `operation` within `timeout_s`; RedisUnreachable when skipped (an outage) or failed with `errors`."""
        if not self.may_try():
            close: Callable[[], object] | None = getattr(operation, "close", None)
            if close is not None:
                close()  # a coroutine never awaited would warn
            raise RedisUnreachable
        try:
            with tracing.redis_span(operation, self._logger.name):
                async with asyncio.timeout(timeout_s):
                    result = await operation
        except errors as error:
            self.failed(error)
            raise RedisUnreachable from error
        self.succeeded()
        return result


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a failed Redis call raises: coredis's errors, OSError, TimeoutError. For `except redis_errors():`, which is
    evaluated only when something was raised (coredis is loaded by then whenever a client exists)."""
    from coredis.exceptions import RedisError  # noqa: PLC0415  # loaded with the first client (see the module doc)

    return (RedisError, OSError, TimeoutError)


def redis_client(url: str, *, timeout_s: float, pool_size: int) -> coredis.Redis[str]:
    """A coredis client on a bounded, blocking pool: a burst of callers waits for a connection instead of failing."""
    import coredis  # noqa: PLC0415  # loaded with the first client (see the module doc)

    pool = coredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=pool_size,
        timeout=max(1, round(timeout_s * 4)),
        connect_timeout=timeout_s,
        stream_timeout=timeout_s,
    )
    return coredis.Redis(connection_pool=pool, decode_responses=True)
