"""When each feed of a mirror is refreshed: every `interval_s` after its last success, sooner after a failure.

The schedule is derived from the mirror's status, so a restarted process continues where the snapshot it serves
left off. Feeds due together are refreshed together (one snapshot build). A lock hook lets replicas take turns
(e.g. a Redis lock per feed): every replica still downloads and indexes the files itself.

A process that only follows a mirror's directory (another process refreshes it) checks it every `FOLLOW_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from gateway.upstreams.mirror.mirror import FeedStatus, RefreshReport

_log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 15 * 60
PAUSE_S = 1.0
FOLLOW_EVERY_S = 10.0


class RefreshLock(Protocol):
    """Held around the refresh of a feed; waits while another replica refreshes it."""

    def hold(self, feed: str) -> AbstractAsyncContextManager[None]: ...


class ScheduleClock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


@runtime_checkable
class Clocked(Protocol):
    """A mirror whose feeds are scheduled on a clock of its own (samopps: the gateway's clock, simulated in process
    tests): the scheduler reads its now and sleeps on it, unless given its own."""

    @property
    def clock(self) -> ScheduleClock: ...


class NoRefreshLock:
    @asynccontextmanager
    async def hold(self, feed: str) -> AsyncIterator[None]:
        del feed
        yield


class Refreshable(Protocol):
    def statuses(self) -> tuple[FeedStatus, ...]: ...

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RefreshScheduler:
    def __init__(
        self,
        mirror: Refreshable,
        *,
        lock: RefreshLock | None = None,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        retry_after_failure_s: int = RETRY_AFTER_FAILURE_S,
    ) -> None:
        """`now` and `sleep`: by default the mirror's clock (`Clocked`), else the real one."""
        self._mirror = mirror
        self._lock = lock or NoRefreshLock()
        clock = mirror.clock if isinstance(mirror, Clocked) else None
        self._now = now or (clock.now if clock is not None else _utc_now)
        self._sleep = sleep or (clock.sleep if clock is not None else asyncio.sleep)
        self._retry_after_failure_s = retry_after_failure_s

    def due_at(self, status: FeedStatus) -> datetime | None:
        """When the feed is next due; None: now (it never succeeded nor was tried)."""
        retry = timedelta(seconds=min(status.interval_s, self._retry_after_failure_s))
        if status.last_error_at is not None and (
            status.last_success is None or status.last_error_at > status.last_success
        ):
            return status.last_error_at + retry
        if status.last_success is not None:
            return status.last_success + timedelta(seconds=status.interval_s)
        return None

    def due(self) -> tuple[str, ...]:
        now = self._now()
        return tuple(
            status.name
            for status in self._mirror.statuses()
            if (moment := self.due_at(status)) is None or moment <= now
        )

    def seconds_until_due(self) -> float:
        now = self._now()
        moments = [self.due_at(status) for status in self._mirror.statuses()]
        if not moments:
            return float(self._retry_after_failure_s)
        return max(0.0, min((moment - now).total_seconds() if moment else 0.0 for moment in moments))

    async def run_once(self) -> RefreshReport | None:
        """Refresh the feeds due now (under their locks, taken in name order); None when none is due."""
        due = self.due()
        if not due:
            return None
        return await self.refresh(due)

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport:
        """Refresh `feeds` (every feed when None) now, under their locks, taken in name order."""
        names = tuple(status.name for status in self._mirror.statuses()) if feeds is None else tuple(feeds)
        async with AsyncExitStack() as held:
            for name in sorted(names):
                await held.enter_async_context(self._lock.hold(name))
            return await self._mirror.refresh(names)

    async def run(self) -> None:
        """Refresh on schedule until cancelled (never twice within `PAUSE_S`, whatever the statuses say)."""
        while True:
            await self._sleep(self.seconds_until_due())
            try:
                await self.run_once()
            except Exception:  # a bug must not stop the schedule: log it and try again later
                _log.exception("mirror refresh failed")
                await self._sleep(float(self._retry_after_failure_s))
            else:
                await self._sleep(PAUSE_S)


class Followable(Protocol):
    async def follow(self) -> bool: ...


async def follow(
    mirror: Followable,
    *,
    every_s: float = FOLLOW_EVERY_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Serve the newest snapshot the directory's writer built, checking every `every_s`, until cancelled."""
    while True:
        await sleep(every_s)
        try:
            await mirror.follow()
        except Exception:  # a bug must not stop following: log it and look again later
            _log.exception("following the mirror's directory failed")


def start_refreshing(scheduler: RefreshScheduler, stack: AsyncExitStack) -> asyncio.Task[None]:
    """Run `scheduler` in the background until `stack` closes (for processes that refresh in-process)."""
    return _in_background(scheduler.run(), "mirror-refresh", stack)


def start_following(
    mirror: Followable, stack: AsyncExitStack, *, every_s: float = FOLLOW_EVERY_S
) -> asyncio.Task[None]:
    """Follow `mirror`'s directory in the background until `stack` closes (for processes that do not refresh)."""
    return _in_background(follow(mirror, every_s=every_s), "mirror-follow", stack)


def _in_background(work: Coroutine[Any, Any, None], name: str, stack: AsyncExitStack) -> asyncio.Task[None]:
    task = asyncio.create_task(work, name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
    return task
