"""A mirror: feeds downloaded into one directory, one serving snapshot, its status, and the queries run on it.

A refresh downloads the feeds asked for (conditionally), and when any changed builds a whole new snapshot from every
feed's current files, then swaps it in: queries already running finish on the old one, new queries read the new
one, and no query waits for the refresh. A feed whose download or file fails keeps its previous files (and the
serving snapshot keeps serving them); its status says why. Queries run on a bounded pool of threads, never on the
event loop; before a snapshot holds any feed of the kind asked for, they raise MirrorNotReady.

One process writes the mirror's directory (it refreshes); others may follow it (`writer=False`): they serve the
newest snapshot the writer built and the statuses it saved, checking for newer ones with `follow()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal, TypeVar

from gateway.errors import MirrorNotReady, UpstreamTimeout, UpstreamUnavailable
from gateway.upstreams.mirror import query as index
from gateway.upstreams.mirror.build import BuildPlan, BuildResult, BuildStopped, FeedInput, build_snapshot
from gateway.upstreams.mirror.disk import VALIDATORS_FILE, MirrorDirectory
from gateway.upstreams.mirror.download import DownloadError, FileFetcher, Validators
from gateway.upstreams.mirror.feed import FeedFormatError, FeedParser, FeedSpec
from gateway.upstreams.mirror.freshness import StaleFeed, report_stale
from gateway.upstreams.mirror.snapshot import Lease, Snapshot, SnapshotUnreadable

T = TypeVar("T")
_log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class FeedStatus:
    """One feed as `sources` shows it. `last_success` is when its files were last confirmed current (downloaded, or
    found unchanged); `rows` the records read from its files in the serving snapshot; `last_error` why its latest
    refresh failed (None once one succeeds)."""

    name: str
    description: str
    interval_s: int
    window_s: int
    last_success: datetime | None = None
    last_modified: str | None = None
    rows: int = 0
    last_attempt: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def age_s(self, now: datetime) -> float | None:
        return None if self.last_success is None else (now - self.last_success).total_seconds()

    def stale(self, now: datetime) -> bool:
        """Its data is older than the feed's window (or it never succeeded)."""
        age = self.age_s(now)
        return age is None or age > self.window_s

    def to_json(self) -> dict[str, object]:
        """What the writer saves of the status (the feed's declaration is not saved)."""
        moments = {
            "last_success": self.last_success,
            "last_attempt": self.last_attempt,
            "last_error_at": self.last_error_at,
        }
        return {
            **{name: None if moment is None else moment.isoformat() for name, moment in moments.items()},
            "last_modified": self.last_modified,
            "rows": self.rows,
            "last_error": self.last_error,
        }

    def with_saved(self, data: object) -> FeedStatus:
        """This status with what a writer saved (`to_json`); unreadable values are left as they are."""
        if not isinstance(data, dict):
            return self
        rows, modified, error = data.get("rows"), data.get("last_modified"), data.get("last_error")
        return replace(
            self,
            last_success=_moment(data.get("last_success")),
            last_attempt=_moment(data.get("last_attempt")),
            last_error_at=_moment(data.get("last_error_at")),
            rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else self.rows,
            last_modified=modified if isinstance(modified, str) else None,
            last_error=error if isinstance(error, str) else None,
        )


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


Outcome = Literal["updated", "unchanged", "failed"]


@dataclass(frozen=True)
class FeedOutcome:
    feed: str
    outcome: Outcome
    error: str | None = None


@dataclass(frozen=True)
class RefreshReport:
    outcomes: tuple[FeedOutcome, ...]
    built: BuildResult | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.outcome == "failed")


@dataclass
class _Staged:
    """A feed's files for the snapshot being built: new downloads (in `incoming`) and kept files."""

    names: tuple[str, ...]
    paths: tuple[Path, ...]
    downloaded: dict[str, Path] = field(default_factory=dict)
    validators: dict[str, Validators] = field(default_factory=dict)


class Mirror:
    def __init__(
        self,
        name: str,
        feeds: Sequence[FeedSpec],
        parser: FeedParser,
        directory: MirrorDirectory,
        downloader: FileFetcher,
        *,
        base_url: str,
        query_threads: int = 4,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        build_executor: Executor | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        today: Callable[[], date] | None = None,
        writer: bool = True,
    ) -> None:
        if len({feed.name for feed in feeds}) != len(feeds):
            raise ValueError(f"mirror {name}: feed names must be unique")
        self.name = name
        self.writer = writer
        self.feeds = tuple(feeds)
        self.directory = directory
        self._parser = parser
        self._downloader = downloader
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._max_file_bytes = max_file_bytes
        self._now = now
        self._today = today or (lambda: now().date())
        self._query_pool = ThreadPoolExecutor(max_workers=query_threads, thread_name_prefix=f"{name}-query")
        self._slots = asyncio.Semaphore(query_threads)
        self._own_build_executor = build_executor is None
        self._build_executor = build_executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-build")
        self._refreshing = asyncio.Lock()
        self._closing = threading.Event()
        self._snapshot: Snapshot | None = None
        self._refused: str | None = None  # the snapshot found unreadable last
        self._status = {
            feed.name: FeedStatus(feed.name, feed.description, feed.interval_s, feed.window_s) for feed in feeds
        }

    # -- life -----------------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the directory (as its writer: MirrorDirectoryBusy when another process writes it) and serve the
        newest snapshot in it, if there is one."""
        self.directory.open(writer=self.writer)
        await self._serve_latest()

    async def follow(self) -> bool:
        """A follower's turn: serve the writer's newest snapshot when it changed, and read the statuses it saved.
        True when another snapshot serves from now on."""
        if self.writer:
            return False
        return await self._serve_latest()

    async def _serve_latest(self) -> bool:
        path = self.directory.latest_snapshot()
        serving = self._snapshot
        swapped = False
        fresh = path is not None and path.name != self._refused and (serving is None or path.name != serving.path.name)
        if path is not None and fresh:
            try:
                snapshot = await asyncio.to_thread(Snapshot, path)
                written = snapshot.meta.get("parser")
                if written != self._parser.format:
                    snapshot.close()
                    raise SnapshotUnreadable(f"its records are {written!r}, this version reads {self._parser.format!r}")
            except SnapshotUnreadable as failure:
                _log.warning("%s: cannot serve the snapshot %s: %s", self.name, path.name, failure)
                self._refused = path.name  # said once; a follower looks again only at a newer one
                if self.writer:
                    path.unlink(missing_ok=True)
            else:
                self._snapshot, swapped = snapshot, True
                if serving is not None:
                    serving.retire()
        saved = self.directory.read_status()
        current = self._snapshot
        for name, known in self._status.items():
            # The writer's saved status is the record of its refreshes; the snapshot says what serves (its rows).
            status = known.with_saved(saved[name]) if name in saved else known
            entry = current.feeds.get(name) if current is not None else None
            if entry is None:  # nothing of it serves: due at once (the writer rebuilds from its kept files)
                status = replace(status, rows=0, last_success=None)
            else:
                confirmed, modified = _moment(entry.detail.get("confirmed_at")), entry.detail.get("last_modified")
                status = replace(
                    status,
                    rows=entry.rows,
                    last_success=status.last_success if name in saved else confirmed,
                    last_modified=status.last_modified or (modified if isinstance(modified, str) else None),
                )
            self._status[name] = status
        return swapped

    async def close(self) -> None:
        """Stop: a build under way stops at its next batch (in a thread of its own); running queries finish."""
        self._closing.set()
        await asyncio.to_thread(self._query_pool.shutdown, wait=True, cancel_futures=True)
        if self._own_build_executor:
            await asyncio.to_thread(self._build_executor.shutdown, wait=True, cancel_futures=True)
        if self._snapshot is not None:
            self._snapshot.close()
        self.directory.close()

    # -- status ---------------------------------------------------------------------------------------------------

    def statuses(self) -> tuple[FeedStatus, ...]:
        return tuple(self._status[feed.name] for feed in self.feeds)

    def feeds_of(self, kind: str) -> tuple[FeedSpec, ...]:
        return tuple(feed for feed in self.feeds if kind in feed.kinds)

    def ready(self, kind: str) -> bool:
        snapshot = self._snapshot
        return snapshot is not None and any(feed.name in snapshot.feeds for feed in self.feeds_of(kind))

    def stale(self, kind: str) -> tuple[FeedStatus, ...]:
        """The feeds of `kind` whose data in the serving snapshot is older than their window."""
        now = self._now()
        return tuple(self._status[feed.name] for feed in self.feeds_of(kind) if self._status[feed.name].stale(now))

    @property
    def snapshot_path(self) -> Path | None:
        return None if self._snapshot is None else self._snapshot.path

    # -- queries --------------------------------------------------------------------------------------------------

    async def search(
        self,
        query: index.IndexQuery,
        *,
        limit: int,
        offset: int = 0,
        after: index.Position | None = None,
        timeout_s: float,
    ) -> index.Found:
        def work(connection: sqlite3.Connection) -> index.Found:
            return index.search(connection, query, limit=limit, offset=offset, after=after)

        return await self._read(query.kind, work, timeout_s)

    async def get(self, kind: str, key: str, *, timeout_s: float) -> bytes | None:
        return await self._read(kind, lambda connection: index.by_key(connection, kind, key), timeout_s)

    async def linked(self, kind: str, link: str, *, limit: int, timeout_s: float) -> tuple[bytes, ...]:
        return await self._read(kind, lambda connection: index.by_link(connection, kind, link, limit=limit), timeout_s)

    async def _read(self, kind: str, work: Callable[[sqlite3.Connection], T], timeout_s: float) -> T:
        if not self.ready(kind):
            raise self._not_ready(kind)
        now = self._now()
        report_stale(
            self.name,
            (
                StaleFeed(status.name, status.window_s, status.age_s(now), status.last_success)
                for status in self.stale(kind)
            ),
        )
        if timeout_s <= 0:
            raise UpstreamTimeout(self.name, f"{self.name} was not asked: the request deadline had passed")
        lease: Lease | None = None
        try:
            async with asyncio.timeout(timeout_s):
                async with self._slots:
                    snapshot = self._snapshot  # the one serving now: a swap may have happened while waiting
                    assert snapshot is not None
                    lease = snapshot.lease()
                    return await asyncio.get_running_loop().run_in_executor(self._query_pool, lease.run, work)
        except TimeoutError:
            raise UpstreamTimeout(
                self.name, f"{self.name} did not answer within {timeout_s:.1f} s", timeoutSeconds=round(timeout_s, 3)
            ) from None
        except sqlite3.Error as failure:
            _log.exception("%s: a query failed", self.name)
            raise UpstreamUnavailable(self.name, f"{self.name}'s index failed ({type(failure).__name__})") from None
        finally:
            if lease is not None:
                lease.abandon()  # no-op once the query ran; else it never starts, or SQLite is interrupted

    def _not_ready(self, kind: str) -> MirrorNotReady:
        feeds = self.feeds_of(kind)
        errors = "; ".join(
            f"{feed.name}: {status.last_error}" for feed in feeds if (status := self._status[feed.name]).last_error
        )
        return MirrorNotReady(
            self.name,
            f"{self.name} has no snapshot of its {kind} feeds yet"
            + (f" (last refresh failed: {errors})" if errors else " (first refresh under way)"),
            feeds=[feed.name for feed in feeds],
        )

    # -- refresh --------------------------------------------------------------------------------------------------

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport:
        """Download the named feeds (all when None) and, when any changed or no snapshot serves yet, build and swap
        in a new snapshot. Never raises for a feed's failure: the report and `statuses()` say what happened."""
        if not self.writer:
            raise RuntimeError(f"{self.name}: this process follows the mirror's directory; its writer refreshes it")
        names = None if feeds is None else set(feeds)
        unknown = (names or set()) - set(self._status)
        if unknown:
            raise ValueError(f"{self.name} has no feed {', '.join(sorted(unknown))}")
        selected = [feed for feed in self.feeds if names is None or feed.name in names]
        async with self._refreshing:
            started = time.monotonic()
            today = self._today()
            outcomes: dict[str, FeedOutcome] = {}
            staged: dict[str, _Staged] = {}
            for feed in selected:
                attempted = self._now()
                try:
                    fetched = await self._download(feed, today)
                except (DownloadError, OSError) as failure:
                    self.directory.discard_incoming(feed.name)
                    outcomes[feed.name] = self._failed(feed.name, f"download failed: {failure}", attempted)
                    continue
                if fetched.downloaded or set(fetched.names) != {path.name for path in self._kept(feed.name)}:
                    staged[feed.name] = fetched
                else:
                    self.directory.save_validators(feed.name, fetched.validators)
                    self._status[feed.name] = replace(
                        self._status[feed.name], last_success=attempted, last_attempt=attempted, last_error=None
                    )
                    outcomes[feed.name] = FeedOutcome(feed.name, "unchanged")
            built = await self._rebuild(staged, outcomes)
            self._save_status()
            ordered = tuple(outcomes[feed.name] for feed in selected)
            report = RefreshReport(ordered, built, time.monotonic() - started)
            _log.info(
                "%s refresh: %s%s",
                self.name,
                ", ".join(f"{o.feed} {o.outcome}" + (f" ({o.error})" if o.error else "") for o in ordered),
                f"; snapshot of {built.records} records built in {built.seconds:.1f} s" if built else "",
            )
            return report

    def _save_status(self) -> None:
        try:
            self.directory.save_status({name: status.to_json() for name, status in self._status.items()})
        except OSError as failure:  # followers then see the snapshot without the latest failures
            _log.warning("%s: cannot save the feeds' statuses: %s", self.name, failure)

    def _kept(self, feed: str) -> tuple[Path, ...]:
        folder = self.directory.files(feed)
        if not folder.is_dir():
            return ()
        return tuple(sorted(path for path in folder.iterdir() if path.is_file() and path.name != VALIDATORS_FILE))

    async def _download(self, feed: FeedSpec, today: date) -> _Staged:
        names = feed.files(today)
        known = self.directory.read_validators(feed.name)
        kept = {path.name for path in self._kept(feed.name)}
        incoming = self.directory.incoming(feed.name)
        incoming.mkdir(parents=True, exist_ok=True)
        staged = _Staged(names, ())
        for name in names:
            budget = min(self._max_file_bytes, self.directory.remaining())
            fetched = await self._downloader.fetch(
                self._base_url + name,
                incoming / name,
                known=known.get(name) if name in kept else None,
                max_bytes=budget,
            )
            staged.validators[name] = fetched.validators
            if fetched.path is not None:
                staged.downloaded[name] = fetched.path
        staged.paths = tuple(staged.downloaded.get(name) or self.directory.files(feed.name) / name for name in names)
        return staged

    async def _rebuild(self, staged: dict[str, _Staged], outcomes: dict[str, FeedOutcome]) -> BuildResult | None:
        excluded: set[str] = set()
        while staged or (self._snapshot is None and self._buildable(excluded)):
            attempted = self._now()
            self.directory.prune(self.snapshot_path)  # followers had a whole refresh interval to move on
            plan = self._plan(staged, excluded, attempted)
            if not plan.inputs:
                return None
            try:
                result = await asyncio.get_running_loop().run_in_executor(self._build_executor, build_snapshot, plan)
            except FeedFormatError as failure:
                culprit = failure.feed
                if culprit in staged:
                    self.directory.discard_incoming(culprit)
                    del staged[culprit]
                else:
                    excluded.add(culprit)  # its kept files no longer parse (e.g. after an upgrade)
                outcomes[culprit] = self._failed(culprit, f"file rejected: {failure}", attempted)
                continue
            except BuildStopped:
                for name in staged:
                    outcomes[name] = self._failed(name, "the mirror closed during the refresh", attempted)
                return None
            except Exception as failure:  # disk bound, disk full, SQLite: nothing new can serve
                _log.exception("%s: building a snapshot failed", self.name)
                for name in staged:
                    self.directory.discard_incoming(name)
                    outcomes[name] = self._failed(name, f"snapshot build failed: {failure}", attempted)
                return None
            await self._swap(result, staged, attempted, outcomes)
            return result
        return None

    def _buildable(self, excluded: set[str]) -> bool:
        return any(self._kept(feed.name) for feed in self.feeds if feed.name not in excluded)

    def _plan(self, staged: dict[str, _Staged], excluded: set[str], attempted: datetime) -> BuildPlan:
        inputs = []
        for feed in self.feeds:
            if feed.name in excluded:
                continue
            confirmed: datetime | None
            if feed.name in staged:
                fetched = staged[feed.name]
                paths, validators, confirmed = fetched.paths, fetched.validators, attempted
            else:
                paths, validators = self._kept(feed.name), self.directory.read_validators(feed.name)
                confirmed = self._status[feed.name].last_success
                if not paths:
                    continue
            detail = {
                "confirmed_at": confirmed.isoformat() if confirmed else None,
                "last_modified": _newest(validators.values()),
                "files": {name: value.to_json() for name, value in validators.items()},
            }
            inputs.append(FeedInput(feed.name, paths, json.dumps(detail)))
        path = self.directory.new_snapshot()
        return BuildPlan(
            path,
            tuple(inputs),
            self._parser,
            max_bytes=self.directory.remaining(),
            meta={"mirror": self.name, "built_at": attempted.isoformat(), "parser": self._parser.format},
            # A build in another process cannot be told to stop (the plan must pickle); one in a thread can.
            should_stop=self._closing.is_set if isinstance(self._build_executor, ThreadPoolExecutor) else None,
        )

    async def _swap(
        self, result: BuildResult, staged: dict[str, _Staged], attempted: datetime, outcomes: dict[str, FeedOutcome]
    ) -> None:
        final = result.path.with_suffix(".sqlite")
        result.path.rename(final)
        snapshot = await asyncio.to_thread(Snapshot, final)
        for name, fetched in staged.items():
            self.directory.promote(name, fetched.downloaded, fetched.names)
            self.directory.save_validators(name, fetched.validators)
            self.directory.discard_incoming(name)
            self._status[name] = replace(
                self._status[name],
                last_success=attempted,
                last_attempt=attempted,
                last_error=None,
                last_modified=_newest(fetched.validators.values()),
            )
            outcomes[name] = FeedOutcome(name, "updated")
        for name, entry in snapshot.feeds.items():
            if name in self._status:
                self._status[name] = replace(self._status[name], rows=entry.rows)
        previous, self._snapshot = self._snapshot, snapshot
        if previous is not None:
            previous.retire()

    def _failed(self, feed: str, message: str, attempted: datetime) -> FeedOutcome:
        _log.warning("%s: feed %s: %s", self.name, feed, message)
        self._status[feed] = replace(
            self._status[feed], last_attempt=attempted, last_error=message, last_error_at=attempted
        )
        return FeedOutcome(feed, "failed", message)


def _newest(validators: Iterable[Validators]) -> str | None:
    """The latest Last-Modified among a feed's files (HTTP dates compare as moments, not as text)."""
    moments = []
    for value in validators:
        if value.last_modified:
            try:
                moments.append((parsedate_to_datetime(value.last_modified), value.last_modified))
            except (TypeError, ValueError):
                continue
    return max(moments)[1] if moments else None
