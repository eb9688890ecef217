"""Redis availability as the cache sees it: one warning per outage, probes while down, recovery on first success."""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("gateway.cache")


class RedisOutage:
    """While Redis is down, one call per `probe_every_s` tries it; every other call goes without it."""

    def __init__(self, *, probe_every_s: float, monotonic: Callable[[], float]) -> None:
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
            logger.warning(
                "redis unavailable (%s: %s); the cache answers from the upstreams until it is back",
                type(error).__name__,
                error,
            )

    def succeeded(self) -> None:
        if self._down_since is not None:
            logger.warning("redis available again after %.1f s", self._monotonic() - self._down_since)
            self._down_since = None
