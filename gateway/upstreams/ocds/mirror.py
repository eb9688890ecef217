"""An OCDS mirror: a publisher's releases pulled in update windows into the incremental store, and the queries
answered from it.

A refresh asks for every window from the persisted watermark to now (on the first one, `backfill` before now), one
window after the other; each complete window is written in one transaction with the new watermark, so a refresh
that fails (a page refused, the publisher throttling for too long) keeps every window before it, and the next
refresh resumes at the watermark. A refresh reads at most `windows_per_run` windows: a long backfill goes on in the
refreshes that follow at once, giving other replicas their turn in between (the scheduler's lock); its first request
waits for the pace other replicas recorded (`Pacer.rejoin`).

The store is bounded: each window write deletes the processes whose latest release is older than `retention`, and
no window is asked for while the store (file and WAL) holds more than `max_disk_bytes`, even after the retention
rule ran alone: the refresh fails saying so (in the feed's status: `sources`, `/readyz`), the store keeps serving.

The mirror has one feed, `releases`, as `sources` shows it: its last success is the last refresh that caught up with
now, its `last_modified` the watermark, its rows the processes held. One process refreshes the store (the writer);
others follow it, reading the same file (`follow()` reloads the status the writer saved).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import orjson

from gateway.errors import MirrorNotReady, UpstreamTimeout, UpstreamUnavailable
from gateway.upstreams.mirror.freshness import StaleFeed, report_stale
from gateway.upstreams.mirror.mirror import FeedOutcome, FeedStatus, RefreshReport
from gateway.upstreams.ocds import queries
from gateway.upstreams.ocds.compiler import moment
from gateway.upstreams.ocds.fetcher import FetchError, PackageFetcher
from gateway.upstreams.ocds.store import EXPIRE_BATCH, ProcessStore
from gateway.upstreams.ocds.windows import update_windows

T = TypeVar("T")
_log = logging.getLogger(__name__)

FEED = "releases"
OVERLAP = timedelta(minutes=10)  # each refresh asks again for the last minutes before the watermark
WINDOWS_PER_RUN = 24
STALE_AFTER_INTERVALS = 3  # answers say they are stale once the last success is older than this many intervals
KINDS = ("lead", "tender", "contract")


@dataclass(frozen=True)
class Refreshing:
    """When and how far a mirror pulls: every `interval_s`, in windows of `window`, the first time `backfill` back."""

    interval_s: int
    window: timedelta
    backfill: timedelta
    windows_per_run: int = WINDOWS_PER_RUN
    retention: timedelta | None = None  # processes whose latest release is older are deleted (None: kept forever)


class OcdsMirror:
    def __init__(
        self,
        name: str,
        store: ProcessStore,
        fetcher: PackageFetcher,
        refreshing: Refreshing,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        writer: bool = True,
        max_disk_bytes: int | None = None,
    ) -> None:
        """`max_disk_bytes`: the most the store may hold before the refresh stops writing windows (None: no bound)."""
        self.name = name
        self.store = store
        self.fetcher = fetcher
        self.refreshing = refreshing
        self.writer = writer
        self.max_disk_bytes = max_disk_bytes
        self._now = now
        self._refreshing = asyncio.Lock()
        self._watermark: datetime | None = None
        self._status = FeedStatus(
            FEED,
            f"{fetcher.publisher.name} releases, pulled in update windows of "
            f"{refreshing.window.total_seconds() / 3600:g} h and compiled per contracting process",
            refreshing.interval_s,
            refreshing.interval_s * STALE_AFTER_INTERVALS,
        )

    # -- life -----------------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the store (as its writer: StoreBusy when another process writes it) and read its status."""
        await self.store.open(writer=self.writer)
        await self._load()

    async def close(self) -> None:
        await self.store.close()

    async def follow(self) -> bool:
        """A follower's turn: the status the writer saved; True when the watermark moved."""
        if self.writer:
            return False
        before = self._watermark
        await self._load()
        return self._watermark != before

    async def _load(self) -> None:
        saved = await self.store.read_state("status")
        self._watermark = moment(await self.store.read_state("watermark"))
        if saved is not None:
            try:
                self._status = self._status.with_saved(orjson.loads(saved))
            except orjson.JSONDecodeError:
                _log.warning("%s: the saved status is unreadable", self.name)

    # -- status ---------------------------------------------------------------------------------------------------

    def statuses(self) -> tuple[FeedStatus, ...]:
        return (self._status,)

    def ready(self, kind: str) -> bool:
        """A window was written: queries are answered (from what the windows so far brought)."""
        del kind
        return self._watermark is not None

    def stale(self, kind: str) -> tuple[FeedStatus, ...]:
        del kind
        return (self._status,) if self._status.stale(self._now()) else ()

    @property
    def snapshot_path(self) -> Path | None:
        """The store, once a window was written to it (None before: nothing to answer from)."""
        return self.store.path if self._watermark is not None else None

    @property
    def watermark(self) -> datetime | None:
        return self._watermark

    # -- refresh --------------------------------------------------------------------------------------------------

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport:
        """Pull the windows from the watermark to now (at most `windows_per_run` of them). Never raises for the
        publisher's failures: the report and `statuses()` say what happened."""
        if not self.writer:
            raise RuntimeError(f"{self.name}: this process follows the store; its writer refreshes it")
        unknown = set(feeds or ()) - {FEED}
        if unknown:
            raise ValueError(f"{self.name} has no feed {', '.join(sorted(unknown))}")
        async with self._refreshing:
            started, attempted = time.monotonic(), self._now()
            windows = update_windows(
                self._watermark,
                attempted,
                length=self.refreshing.window,
                backfill=self.refreshing.backfill,
                overlap=min(OVERLAP, self.refreshing.window / 2),
            )
            taken = windows[: self.refreshing.windows_per_run]
            caught_up = len(taken) == len(windows)
            written = pages = expired = 0
            self.fetcher.pacer.rejoin()
            for start, end in taken:
                try:
                    full, freed = await self._over_disk_bound(attempted)
                except sqlite3.Error as failure:
                    _log.exception("%s: applying the retention rule failed", self.name)
                    full, freed = f"the store failed ({type(failure).__name__})", 0
                expired += freed
                if full is not None:
                    outcome = await self._fail(full, attempted)
                    return RefreshReport((outcome,), None, time.monotonic() - started)
                try:
                    pulled = await self.fetcher.window(start, end)
                except FetchError as failure:
                    outcome = await self._fail(f"window {start.isoformat()} to {end.isoformat()}: {failure}", attempted)
                    return RefreshReport((outcome,), None, time.monotonic() - started)
                pages += pulled.pages
                status = replace(self._status, last_attempt=attempted, last_modified=end.isoformat())
                try:
                    result = await self.store.write_window(
                        pulled.releases,
                        watermark=end,
                        status=orjson.dumps(status.to_json()).decode(),
                        expire_before=self._cutoff(attempted),
                    )
                    rows = await self._processes()
                except sqlite3.Error as failure:
                    _log.exception("%s: writing a window failed", self.name)
                    outcome = await self._fail(f"the store failed ({type(failure).__name__})", attempted)
                    return RefreshReport((outcome,), None, time.monotonic() - started)
                written += result.releases
                expired += result.expired
                self._watermark, self._status = end, replace(status, rows=rows)
                if pulled.dropped or result.failed:
                    _log.warning(
                        "%s: window to %s: %d releases dropped as unusable, %d processes not compiled",
                        self.name,
                        end.isoformat(),
                        pulled.dropped,
                        result.failed,
                    )
            if caught_up:
                self._status = replace(self._status, last_success=attempted, last_attempt=attempted, last_error=None)
            await self._save_status()
            seconds = time.monotonic() - started
            _log.info(
                "%s refresh: %d windows, %d pages, %d releases, %d processes past retention deleted in %.1f s%s",
                self.name,
                len(taken),
                pages,
                written,
                expired,
                seconds,
                "" if caught_up else f" ({len(windows) - len(taken)} windows to go)",
            )
            return RefreshReport((FeedOutcome(FEED, "updated" if written or expired else "unchanged"),), None, seconds)

    def _cutoff(self, now: datetime) -> datetime | None:
        retention = self.refreshing.retention
        return None if retention is None else now - retention

    async def _over_disk_bound(self, now: datetime) -> tuple[str | None, int]:
        """Why no window may be written (the store is over its bound, even after the retention rule ran alone; None
        when one may), and the processes the retention rule deleted meanwhile."""
        bound, expired = self.max_disk_bytes, 0
        if bound is None or self.store.disk_bytes() <= bound:
            return None, expired
        cutoff = self._cutoff(now)
        while cutoff is not None and (batch := await self.store.expire(cutoff)):
            expired += batch
            self._status = replace(self._status, rows=await self._processes())
            if batch < EXPIRE_BATCH or self.store.disk_bytes() <= bound:
                break
        size = self.store.disk_bytes()
        if size <= bound:
            return None, expired
        return (
            f"the store holds {size} bytes, more than GATEWAY_MIRROR_MAX_DISK_BYTES ({bound}): no window is written "
            f"until the retention rule (GATEWAY_{self.name.upper()}_RETENTION_DAYS) frees space or the bound is raised",
            expired,
        )

    async def _fail(self, message: str, attempted: datetime) -> FeedOutcome:
        _log.warning("%s: refresh failed: %s", self.name, message)
        self._status = replace(self._status, last_attempt=attempted, last_error=message, last_error_at=attempted)
        await self._save_status()
        return FeedOutcome(FEED, "failed", message)

    async def _save_status(self) -> None:
        try:
            await self.store.save_status(orjson.dumps(self._status.to_json()).decode())
        except sqlite3.Error as failure:  # followers then see the windows without the latest status
            _log.warning("%s: cannot save the status: %s", self.name, failure)

    async def _processes(self) -> int:
        return await self.store.read(lambda connection: queries.counts(connection)[0], timeout_s=60.0, empty=0)

    # -- queries --------------------------------------------------------------------------------------------------

    async def read(self, kind: str, work: Callable[[sqlite3.Connection], T], *, timeout_s: float, empty: T) -> T:
        """`work` on the store (MirrorNotReady before the first window; UpstreamTimeout after `timeout_s`)."""
        if not self.ready(kind):
            error = self._status.last_error
            raise MirrorNotReady(
                self.name,
                f"{self.name} has no releases yet"
                + (f" (last refresh failed: {error})" if error else " (first refresh under way)"),
                feeds=[FEED],
            )
        now = self._now()
        report_stale(
            self.name,
            (StaleFeed(s.name, s.window_s, s.age_s(now), s.last_success) for s in self.stale(kind)),
        )
        if timeout_s <= 0:
            raise UpstreamTimeout(self.name, f"{self.name} was not asked: the request deadline had passed")
        try:
            return await self.store.read(work, timeout_s=timeout_s, empty=empty)
        except TimeoutError:
            raise UpstreamTimeout(
                self.name, f"{self.name} did not answer within {timeout_s:.1f} s", timeoutSeconds=round(timeout_s, 3)
            ) from None
        except sqlite3.Error as failure:
            _log.exception("%s: a query failed", self.name)
            raise UpstreamUnavailable(self.name, f"{self.name}'s store failed ({type(failure).__name__})") from None
