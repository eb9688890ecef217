"""A finished snapshot opened for reading. Worker threads borrow its connections one query at a time; once a newer
snapshot replaces it (`retire`), it closes its connections when its last reader is done, so a refresh never waits
for readers and readers never wait for a refresh. Its file stays until the writer prunes it (`MirrorDirectory.prune`):
other processes following the directory may still read it."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gateway.upstreams.mirror.build import FORMAT_VERSION

T = TypeVar("T")
CONNECTION_CACHE_KIB = 8192


class SnapshotUnreadable(Exception):
    """A snapshot file that cannot be opened or was made by another format version."""


@dataclass(frozen=True)
class FeedEntry:
    """What a snapshot holds of one feed: the records read from its files, and the mirror's detail (JSON object)."""

    rows: int
    detail: Mapping[str, object]


class LeaseAbandoned(Exception):
    """The query was given up (its deadline passed) before a worker thread started it."""


class Snapshot:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._users = 0
        self._retired = False
        self._closed = False
        connection = self._connect()
        try:
            meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
            if meta.get("format") != FORMAT_VERSION:
                raise SnapshotUnreadable(f"{path} has format {meta.get('format')!r}, not {FORMAT_VERSION}")
            feeds = connection.execute("SELECT name, rows, detail FROM feed").fetchall()
            self.feeds: Mapping[str, FeedEntry] = {
                name: FeedEntry(rows, json.loads(detail)) for name, rows, detail in feeds
            }
            self.meta: Mapping[str, str] = meta
        except (sqlite3.Error, ValueError) as failure:
            connection.close()
            raise SnapshotUnreadable(f"{path} cannot be read: {failure}") from None
        except BaseException:
            connection.close()
            raise
        self._idle.append(connection)

    def _connect(self) -> sqlite3.Connection:
        # immutable: the file never changes once built, so readers take no locks at all.
        uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        try:
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as failure:
            raise SnapshotUnreadable(f"{self.path} cannot be opened: {failure}") from None
        connection.execute(f"PRAGMA cache_size = -{CONNECTION_CACHE_KIB}")
        return connection

    @property
    def readers(self) -> int:
        return self._users

    def lease(self) -> Lease:
        """A claim on the snapshot for one query (taken on the event loop, run on a worker thread)."""
        with self._lock:
            if self._closed:
                raise SnapshotUnreadable(f"{self.path} is closed")
            self._users += 1
        return Lease(self)

    def retire(self) -> None:
        """A newer snapshot serves from now on: close this one once no query uses it."""
        with self._lock:
            self._retired = True
            self._close_if_done()

    def close(self) -> None:
        """Close the idle connections now (the mirror is stopping); the file stays for the next start."""
        with self._lock:
            self._closed = True
            for connection in self._idle:
                connection.close()
            self._idle.clear()

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, connection: sqlite3.Connection | None) -> None:
        with self._lock:
            self._users -= 1
            if connection is not None:
                if self._retired or self._closed:
                    connection.close()
                else:
                    self._idle.append(connection)
            self._close_if_done()

    def _close_if_done(self) -> None:
        if not self._retired or self._users > 0:
            return
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        self._closed = True


class Lease:
    """One query's use of a snapshot. `run` executes on a worker thread; `abandon` (event loop) gives the claim up
    when the query was cancelled: before the thread started, nothing runs; while it runs, SQLite is interrupted."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self._state = "waiting"
        self._connection: sqlite3.Connection | None = None

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._state != "waiting":
                raise LeaseAbandoned
            self._state = "running"
        connection: sqlite3.Connection | None = None
        try:
            connection = self._snapshot._borrow()
            with self._lock:
                self._connection = connection
            return work(connection)
        finally:
            with self._lock:
                self._state = "done"
                self._connection = None
            self._snapshot._give_back(connection)

    def abandon(self) -> None:
        with self._lock:
            state = self._state
            if state == "waiting":
                self._state = "abandoned"
            elif state == "running" and self._connection is not None:
                self._connection.interrupt()
        if state == "waiting":
            self._snapshot._give_back(None)
