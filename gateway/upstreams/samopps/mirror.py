"""The SAM opportunities mirror of one replica: its directory (`<mirror_data_dir>/samopps-<replica>/`), its index, and
its two feeds, refreshed on the gateway's schedule (`RefreshScheduler`, under the replicas' Redis lock per feed):

- `extract`: the daily public extract, asked for with a conditional GET (ETag, Last-Modified), streamed to disk under
  the mirror's size bounds, checked, and applied to the index as a diff (`IndexWriter.apply_extract`); the file is
  deleted once applied (the index holds what it said). A failed download or a refused file changes nothing.
- `api` (only while API pulls run, `Settings.samopps_pull_calls`): pulls of the day's postings within the pulls'
  share of the key's quota, shared with the other replicas through Redis (`pulls`), upserted into the index.

Queries run on a bounded pool of threads with read-only connections, never on the event loop; WAL lets them read
while a refresh writes, and they see a refresh's changes at once when it commits. Before the index holds an extract
or a pull, queries raise MirrorNotReady. A process that does not refresh (`writer=False`) reads the index the
refreshing process writes, and its saved statuses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Generic, TypeVar

from gateway.clock import GatewayClock
from gateway.errors import MirrorNotReady, UpstreamTimeout, UpstreamUnavailable
from gateway.limits.quota import QuotaGuard
from gateway.redis import RedisUnreachable
from gateway.upstreams.mirror.disk import MirrorDirectory
from gateway.upstreams.mirror.download import DownloadError, FileFetcher
from gateway.upstreams.mirror.freshness import StaleFeed, report_stale
from gateway.upstreams.mirror.mirror import FeedOutcome, FeedStatus, RefreshReport
from gateway.upstreams.samopps.api import parse_search
from gateway.upstreams.samopps.extract import ExtractRejected, read_extract
from gateway.upstreams.samopps.index import ExtractResult, IndexUnreadable, IndexWriter
from gateway.upstreams.samopps.notice import Notice
from gateway.upstreams.samopps.pulls import PulledPages, PullOutcome, PullTransport, calls_allowed, posting_window, pull

T = TypeVar("T")
_log = logging.getLogger(__name__)

NAME = "samopps"
EXTRACT = "extract"
API = "api"
INDEX_FILE = "opportunities.sqlite"
EXTRACT_FILE = "ContractOpportunitiesFullCSV.csv"
HOUR_S = 3600
EXTRACT_WINDOW_S = 36 * HOUR_S  # the extract is published daily: older than this, answers say they are stale
DUE_SLACK = 0.95  # a replica pulls when the last pull (any replica's) is this share of an interval old


@dataclass(frozen=True)
class PullPlan:
    """API pulls: the credential (and consumer name) they spend, their calls a day (None: the key has no quota),
    how often and how long a page may take."""

    credential: str
    calls_per_day: int | None
    interval_s: int
    timeout_s: float
    consumer: str = NAME


class OpportunitiesMirror:
    def __init__(
        self,
        directory: MirrorDirectory,
        *,
        extract_url: str,
        downloader: FileFetcher,
        clock: GatewayClock,
        extract_interval_s: int,
        max_file_bytes: int,
        query_threads: int = 4,
        writer: bool = True,
        plan: PullPlan | None = None,
        transport: PullTransport | None = None,
        quota: QuotaGuard | None = None,
        pages: PulledPages | None = None,
    ) -> None:
        self.name = NAME
        self.directory = directory
        self.writer = writer
        self.clock = clock
        self._extract_url = extract_url
        self._downloader = downloader
        self._max_file_bytes = max_file_bytes
        self._plan = plan
        self._transport = transport
        self._quota = quota
        self._pages = pages
        self._read_pool = ThreadPoolExecutor(max_workers=query_threads, thread_name_prefix=f"{NAME}-query")
        self._write_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{NAME}-write")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._index: IndexWriter | None = None
        self._refreshing = asyncio.Lock()
        self._closed = False
        self.last_extract: ExtractResult | None = None  # what the last extract applied changed
        self.last_pull: PullOutcome | None = None  # what the last pull of this replica got
        feeds = [
            FeedStatus(EXTRACT, "The daily public extract of current notices", extract_interval_s, EXTRACT_WINDOW_S)
        ]
        if self._plan is not None:
            description = "API pulls of the day's postings, within their share of the SAM key's daily quota"
            feeds.append(FeedStatus(API, description, self._plan.interval_s, 3 * self._plan.interval_s))
        self._status = {status.name: status for status in feeds}

    @property
    def index_path(self) -> Path:
        return self.directory.root / INDEX_FILE

    @property
    def snapshot_path(self) -> Path | None:
        """The index file (what `python -m gateway mirror status` shows), once it exists."""
        return self.index_path if self.index_path.exists() else None

    @property
    def pulls_enabled(self) -> bool:
        return self._plan is not None

    # -- life -----------------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the directory (as its writer: MirrorDirectoryBusy when another process writes it) and the index; an
        index of another format is set aside and rebuilt from the next extract."""
        self.directory.open(writer=self.writer)
        if self.writer:
            self._index = await self._write(self._open_index)
        self._read_status()
        if self._index is not None and not self._status[EXTRACT].rows:  # the statuses were lost: the index says
            rows = await self._write(lambda: self._writer().meta("extract_rows"))
            if rows and rows.isdigit():
                self._status[EXTRACT] = replace(self._status[EXTRACT], rows=int(rows))

    def _open_index(self) -> IndexWriter:
        try:
            return IndexWriter(self.index_path)
        except IndexUnreadable as unreadable:
            _log.warning("%s: %s; starting a new index", NAME, unreadable)
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.index_path) + suffix).unlink(missing_ok=True)
            return IndexWriter(self.index_path)

    async def follow(self) -> bool:
        """A process that does not refresh: read the statuses the writer saved (its index changes are read live)."""
        if self.writer:
            return False
        self._read_status()
        return False

    async def close(self) -> None:
        self._closed = True
        index = self._index
        if index is not None:
            index.interrupt()
        await asyncio.to_thread(self._write_pool.shutdown, wait=True, cancel_futures=True)
        if index is not None:
            index.close()
        await asyncio.to_thread(self._read_pool.shutdown, wait=True, cancel_futures=True)
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self.directory.close()

    # -- status ---------------------------------------------------------------------------------------------------

    def statuses(self) -> tuple[FeedStatus, ...]:
        return tuple(self._status.values())

    def stale(self, kind: str) -> tuple[FeedStatus, ...]:
        """The feeds older than their window (every kind is read from both feeds)."""
        del kind
        now = self.clock.now()
        return tuple(status for status in self._status.values() if status.stale(now))

    def ready(self) -> bool:
        return any(status.rows > 0 or status.last_success is not None for status in self._status.values())

    def _read_status(self) -> None:
        saved = self.directory.read_status()
        for name, status in self._status.items():
            if name in saved:
                self._status[name] = status.with_saved(saved[name])

    def _save_status(self) -> None:
        try:
            self.directory.save_status({name: status.to_json() for name, status in self._status.items()})
        except OSError as failure:
            _log.warning("%s: cannot save the feeds' statuses: %s", NAME, failure)

    def _failed(self, feed: str, message: str, attempted: datetime) -> FeedOutcome:
        _log.warning("%s: feed %s: %s", NAME, feed, message)
        self._status[feed] = replace(
            self._status[feed], last_attempt=attempted, last_error=message, last_error_at=attempted
        )
        return FeedOutcome(feed, "failed", message)

    def _succeeded(
        self, feed: str, attempted: datetime, *, rows: int | None = None, last_modified: str | None = None
    ) -> None:
        status = self._status[feed]
        self._status[feed] = replace(
            status,
            last_success=attempted,
            last_attempt=attempted,
            last_error=None,
            rows=status.rows if rows is None else rows,
            last_modified=last_modified or status.last_modified,
        )

    # -- refresh --------------------------------------------------------------------------------------------------

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport:
        """Refresh the named feeds (all when None): the extract first, then the pulls. Never raises for a feed's
        failure: the report and `statuses()` say what happened."""
        if not self.writer:
            raise RuntimeError(f"{NAME}: this process follows the mirror's directory; its writer refreshes it")
        names = set(self._status) if feeds is None else set(feeds)
        unknown = names - set(self._status)
        if unknown:
            raise ValueError(f"{NAME} has no feed {', '.join(sorted(unknown))}")
        async with self._refreshing:
            started = time.monotonic()
            outcomes = []
            if EXTRACT in names:
                outcomes.append(await self._refresh_extract())
            if API in names:
                outcomes.append(await self._refresh_api())
            self._save_status()
            return RefreshReport(tuple(outcomes), None, time.monotonic() - started)

    async def _refresh_extract(self) -> FeedOutcome:
        attempted = self.clock.now()
        current = self._status[EXTRACT]
        known = self.directory.read_validators(EXTRACT).get(EXTRACT_FILE) if current.rows else None
        incoming = self.directory.incoming(EXTRACT)
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            budget = min(self._max_file_bytes, self.directory.remaining())
            fetched = await self._downloader.fetch(
                self._extract_url, incoming / EXTRACT_FILE, known=known, max_bytes=budget
            )
        except (DownloadError, OSError) as failure:
            self.directory.discard_incoming(EXTRACT)
            return self._failed(EXTRACT, f"download failed: {failure}", attempted)
        if fetched.path is None:
            self.directory.save_validators(EXTRACT, {EXTRACT_FILE: fetched.validators})
            self._succeeded(EXTRACT, attempted)
            return FeedOutcome(EXTRACT, "unchanged")
        published = http_date(fetched.validators.last_modified) or attempted
        path = fetched.path
        try:
            result = await self._write(lambda: self._apply_extract(path, published))
        except ExtractRejected as rejected:
            return self._failed(EXTRACT, f"file rejected: {rejected}", attempted)
        except (sqlite3.Error, OSError) as failure:
            _log.exception("%s: applying the extract failed", NAME)
            return self._failed(EXTRACT, f"index update failed: {type(failure).__name__}: {failure}", attempted)
        finally:
            self.directory.discard_incoming(EXTRACT)
        self.directory.save_validators(EXTRACT, {EXTRACT_FILE: fetched.validators})
        self.last_extract = result
        self._succeeded(EXTRACT, attempted, rows=result.rows, last_modified=fetched.validators.last_modified)
        _log.info(
            "%s: extract of %d notices applied: %d new or changed, %d no longer listed, %d dropped",
            NAME,
            result.rows,
            result.changed,
            result.unlisted,
            result.dropped,
        )
        return FeedOutcome(EXTRACT, "updated")

    def _apply_extract(self, path: Path, published: datetime) -> ExtractResult:
        index = self._writer()
        previous = index.meta("extract_rows")
        rows = read_extract(path, previous_rows=int(previous) if previous and previous.isdigit() else None)
        return index.apply_extract(rows, published_at=published)

    async def _refresh_api(self) -> FeedOutcome:
        plan = self._plan
        assert plan is not None  # the feed exists only with a plan
        attempted = self.clock.now()
        pages = self._pages
        outcome: PullOutcome | None = None
        shared = True
        try:
            if pages is None:
                last = _moment(await self._write(lambda: self._writer().meta("pulled_at")))
                if last is None or (attempted - last).total_seconds() >= DUE_SLACK * plan.interval_s:
                    outcome = await self._pull(plan, attempted)
                bodies = outcome.bodies if outcome else []
                meta = {"pulled_at": attempted.isoformat()} if outcome else {}
            else:
                last = await pages.last_pull()
                if last is None or (attempted - last).total_seconds() >= DUE_SLACK * plan.interval_s:
                    outcome = await self._pull(plan, attempted)
                    for body in outcome.bodies:
                        await pages.publish(body)
                    await pages.mark_pulled(attempted)
                seen = await self._write(lambda: self._writer().meta("pages_seen"))
                last_number, bodies = await pages.after(int(seen) if seen and seen.isdigit() else 0)
                meta = {"pages_seen": str(last_number)}
        except RedisUnreachable:  # what this replica pulled is still indexed here
            shared, bodies, meta = False, outcome.bodies if outcome else [], {}
        if not bodies and not meta and shared:
            self._succeeded(API, attempted)
            return FeedOutcome(API, "unchanged")
        try:
            upserted, pulled_rows = await self._write(lambda: self._apply_pages(bodies, attempted, meta))
        except (sqlite3.Error, OSError) as failure:
            _log.exception("%s: applying pulled pages failed", NAME)
            return self._failed(API, f"index update failed: {type(failure).__name__}: {failure}", attempted)
        if outcome is not None:
            self.last_pull = outcome
            _log.info(
                "%s: pulled %d notices in %d calls%s",
                NAME,
                sum(len(page.notices) for page in outcome.pages),
                outcome.calls,
                " (the quota ended the pull)" if outcome.quota_ended else "",
            )
        error = None if outcome is None or outcome.error is None else f"pull failed: {outcome.error}"
        if not shared:
            error = "Redis is unreachable: pulled pages cannot be shared with the other replicas, nor read"
        if error is not None:
            self._status[API] = replace(self._status[API], rows=pulled_rows)
            return self._failed(API, error, attempted)
        self._succeeded(API, attempted, rows=pulled_rows)
        return FeedOutcome(API, "updated" if upserted else "unchanged")

    async def _pull(self, plan: PullPlan, now: datetime) -> PullOutcome:
        """One pull within the budget `calls_allowed` gives (an empty outcome when it gives none)."""
        assert self._transport is not None
        used = 0
        share = plan.calls_per_day
        if self._quota is not None and share is not None:
            share = self._quota.allowance(plan.credential, plan.consumer)
            remaining = await self._quota.remaining(plan.credential, consumer=plan.consumer)
            if remaining is None:
                return PullOutcome(error="the quota counter is unreachable")
            used = (share or 0) - remaining
        budget = calls_allowed(now, share=share, used=used, interval_s=plan.interval_s)
        if budget <= 0:
            return PullOutcome(quota_ended=True)
        window = posting_window(now, plan.interval_s)
        return await pull(self._transport, window, budget=budget, timeout_s=plan.timeout_s)

    def _apply_pages(self, bodies: list[bytes], seen_at: datetime, meta: dict[str, str]) -> tuple[int, int]:
        """Parse the pages and upsert their notices (in the writer's thread); (upserted, notices from pulls)."""
        found: dict[str, Notice] = {}
        for body in bodies:
            try:
                page = parse_search(json.loads(body))
            except (ValueError, UnicodeDecodeError, UpstreamUnavailable):
                continue
            found.update((notice.notice_id, notice) for notice in page.notices)
        index = self._writer()
        upserted = index.apply_notices(found.values(), seen_at=seen_at, meta=meta)
        return upserted, index.count_origin("api")

    def _writer(self) -> IndexWriter:
        if self._index is None:
            raise RuntimeError(f"{NAME}: the index is not open for writing")
        return self._index

    async def _write(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._write_pool, work)

    # -- queries --------------------------------------------------------------------------------------------------

    async def read(self, work: Callable[[sqlite3.Connection], T], *, timeout_s: float) -> T:
        """`work` on a read-only connection, on a query thread; MirrorNotReady before any data, UpstreamTimeout past
        `timeout_s` (the query is interrupted)."""
        if not self.ready():
            raise self._not_ready()
        now = self.clock.now()
        report_stale(
            NAME,
            (
                StaleFeed(status.name, status.window_s, status.age_s(now), status.last_success)
                for status in self.stale("")
            ),
        )
        if timeout_s <= 0:
            raise UpstreamTimeout(NAME, f"{NAME} was not asked: the request deadline had passed")
        job = _ReadJob(self, work)
        future = asyncio.get_running_loop().run_in_executor(self._read_pool, job.run)
        try:
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise UpstreamTimeout(
                NAME, f"{NAME} did not answer within {timeout_s:.1f} s", timeoutSeconds=round(timeout_s, 3)
            ) from None
        except sqlite3.Error as failure:
            _log.exception("%s: a query failed", NAME)
            raise UpstreamUnavailable(NAME, f"{NAME}'s index failed ({type(failure).__name__})") from None
        finally:
            job.abandon()

    def _connection(self) -> sqlite3.Connection:
        """This query thread's read-only connection to the index."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            uri = f"{self.index_path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA query_only = ON")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _not_ready(self) -> MirrorNotReady:
        errors = "; ".join(f"{s.name}: {s.last_error}" for s in self._status.values() if s.last_error)
        return MirrorNotReady(
            NAME,
            f"{NAME} has no notices yet"
            + (f" (last refresh failed: {errors})" if errors else " (first refresh under way)"),
            feeds=list(self._status),
        )


class _ReadJob(Generic[T]):
    """One query on a query thread; `abandon` (event loop) stops it: before it started, it never runs; while it
    runs, SQLite is interrupted."""

    def __init__(self, mirror: OpportunitiesMirror, work: Callable[[sqlite3.Connection], T]) -> None:
        self._mirror = mirror
        self._work = work
        self._lock = threading.Lock()
        self._state = "waiting"
        self._connection: sqlite3.Connection | None = None

    def run(self) -> T:
        with self._lock:
            if self._state != "waiting":
                raise sqlite3.OperationalError("abandoned")
            self._state = "running"
            self._connection = connection = self._mirror._connection()
        try:
            return self._work(connection)
        finally:
            with self._lock:
                self._state = "done"
                self._connection = None

    def abandon(self) -> None:
        with self._lock:
            if self._state == "waiting":
                self._state = "abandoned"
            elif self._state == "running" and self._connection is not None:
                self._connection.interrupt()


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (Last-Modified) as a moment; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
