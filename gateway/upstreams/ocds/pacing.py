"""A publisher's pace: one request at a time, at least `interval_s` between the starts of two requests, and a wait
after the publisher says "too many requests" (its `Retry-After` when it gives one, else `throttled_wait_s`).

Find a Tender allows about 12 requests in 2 minutes (one every 10 s) and answers 429 or 503 with `Retry-After`;
Contracts Finder answers 403 ("too many requests") and wants 5 minutes of quiet. Both are settings, so tests scale
them down; the clock and the sleep are injected, so one test with a fake clock proves the pace.

Replicas take turns pulling (the refresh lock), and keep one pace between them through a `SharedPace` (with Redis:
`shared_pace.RedisSharedPace`): each request and each hold-off records the earliest moment the next request may start
(wall-clock seconds), and the first request after `rejoin()` (a refresh begins, its lock just taken) waits for it, so
a replica taking over never asks sooner than the interval after another's last request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol


@dataclass(frozen=True)
class Pacing:
    """How a publisher is paced.

    `interval_s`: the least time between the starts of two requests. `throttled_wait_s`: the wait after a "too many
    requests" answer without a usable `Retry-After`. `max_wait_s`: the longest wait honoured (a longer `Retry-After`
    ends the refresh; the next one resumes where it stopped). `max_throttled`: "too many requests" answers in a row
    to one URL before the refresh ends.
    """

    interval_s: float
    throttled_wait_s: float
    max_wait_s: float = 30 * 60.0
    max_throttled: int = 5

    def __post_init__(self) -> None:
        if min(self.interval_s, self.throttled_wait_s) < 0 or self.max_wait_s <= 0 or self.max_throttled < 1:
            raise ValueError("pacing: waits must be >= 0, max_wait_s > 0 and max_throttled >= 1")


def retry_after_s(headers: Mapping[str, str], now: datetime) -> float | None:
    """`Retry-After` in seconds (a number of seconds or an HTTP date, read against `now`); None when absent or
    unreadable."""
    value = headers.get("Retry-After")
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class SharedPace(Protocol):
    """Where replicas keep the earliest moment (wall-clock epoch seconds) the next request to a publisher may start."""

    async def not_before(self) -> float | None:
        """The moment recorded (None: none, or the record is out of reach)."""
        ...

    async def postpone(self, until: float) -> None:
        """No request starts before `until` (a later moment already recorded stands)."""
        ...


class Pacer:
    """Gives requests their turn: `async with pacer.turn(): ...` waits for the interval since the previous request
    started (and any hold-off), then holds every other request back until the block ends. With `shared`, the first
    turn (and the first after `rejoin()`) also waits for the moment other replicas recorded, at most `max_wait_s`."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedPace | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.pacing = pacing
        self.shared = shared
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._one_at_a_time = asyncio.Lock()
        self._next_start = float("-inf")
        self._rejoining = shared is not None

    def rejoin(self) -> None:
        """Before the next request, wait for the moment other replicas recorded (a refresh begins under the lock)."""
        self._rejoining = self.shared is not None

    async def hold_off(self, seconds: float) -> None:
        """No request starts before `seconds` from now (after a "too many requests" answer, or a failure), on any
        replica sharing the pace."""
        seconds = max(0.0, seconds)
        self._next_start = max(self._next_start, self._clock() + seconds)
        if self.shared is not None:
            await self.shared.postpone(self._wall() + seconds)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._one_at_a_time:
            if self._rejoining and self.shared is not None:
                self._rejoining = False
                recorded = await self.shared.not_before()
                if recorded is not None:  # a clock far ahead on another replica holds this one back at most max_wait_s
                    wait = min(recorded - self._wall(), self.pacing.max_wait_s)
                    self._next_start = max(self._next_start, self._clock() + wait)
            while (wait := self._next_start - self._clock()) > 0:
                await self._sleep(wait)
            self._next_start = self._clock() + self.pacing.interval_s
            if self.shared is not None:
                await self.shared.postpone(self._wall() + self.pacing.interval_s)
            yield
