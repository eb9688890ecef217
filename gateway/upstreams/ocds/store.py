"""The incremental store of one OCDS mirror replica: one SQLite file in WAL mode.

    release(ocid, id, date, tag, publisher, data)       every release received, as received (quirks repaired)
    process(ocid, compiled, derived columns)            one compiled release per contracting process, and the
                                                        columns queries use: title, description, buyer, value,
                                                        currency, deadline, CPV codes, stage, published, suppliers
    award(key, ocid, award_id, day, amount, ...)        one row per award (a Contract)
    process_text                                        FTS5 on title, description and buyer
    process_latest(ocid, latest)                        the date of each process's latest release (retention)
    state(name, value)                                  the watermark and the refresh status

A window is written in one transaction: its releases, the processes they touch compiled again, the watermark (the end
of the window), and the retention rule applied: processes whose latest release is older than the cutoff are deleted
with their releases (at most `EXPIRE_BATCH` a window; the rest in the next). Readers (WAL) never wait for it and see
the window whole or not at all. The file is in incremental auto-vacuum mode: after a deletion the freed pages are
given back to the disk (`PRAGMA incremental_vacuum`), and the WAL is truncated back to `WAL_LIMIT_BYTES` after a
checkpoint. One process writes the file (an exclusive lock beside it); others read it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson

from gateway.upstreams.mirror.disk import MirrorDirectoryBusy
from gateway.upstreams.ocds import mapping
from gateway.upstreams.ocds.compiler import CompileError, Release, compile_releases, moment
from gateway.upstreams.ocds.publisher import Publisher

T = TypeVar("T")
_log = logging.getLogger(__name__)

FORMAT = "ocds-store/2"  # what the file holds; a file of another format is emptied (its watermark with it)
DATABASE_FILE = "ocds.sqlite"
LOCK_FILE = ".lock"
EXPIRE_BATCH = 2000  # processes deleted by the retention rule in one transaction, at most
VACUUM_PAGES = 16384  # free pages given back to the disk after a deletion, at most (64 MiB of 4 KiB pages)
WAL_LIMIT_BYTES = 64 * 1024**2  # the WAL is truncated back to this after a checkpoint
_LATEST_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # process_latest.latest: UTC, so that text order is time order

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS release (
    ocid TEXT NOT NULL, id TEXT NOT NULL, date TEXT NOT NULL, tag TEXT NOT NULL, publisher TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (ocid, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS process (
    id INTEGER PRIMARY KEY, ocid TEXT NOT NULL UNIQUE, compiled BLOB NOT NULL, stage TEXT, title TEXT NOT NULL,
    description TEXT NOT NULL, buyer TEXT NOT NULL, buyer_folded TEXT NOT NULL, amount REAL, currency TEXT,
    deadline TEXT, deadline_day TEXT, published_day TEXT, notice TEXT, cpv TEXT NOT NULL, suppliers TEXT NOT NULL,
    tender_sort TEXT, lead_sort TEXT
);
CREATE INDEX IF NOT EXISTS process_tender ON process (tender_sort, ocid) WHERE tender_sort IS NOT NULL;
CREATE INDEX IF NOT EXISTS process_lead ON process (lead_sort, ocid) WHERE lead_sort IS NOT NULL;
CREATE TABLE IF NOT EXISTS award (
    key TEXT PRIMARY KEY, ocid TEXT NOT NULL, award_id TEXT NOT NULL, contract_ids TEXT NOT NULL, day TEXT,
    amount REAL, supplier TEXT NOT NULL, sort TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS award_sort ON award (sort, key);
CREATE INDEX IF NOT EXISTS award_process ON award (ocid);
CREATE VIRTUAL TABLE IF NOT EXISTS process_text USING fts5(
    title, description, buyer, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS process_latest (ocid TEXT PRIMARY KEY, latest TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS process_latest_age ON process_latest (latest);
"""
_TABLES = ("state", "release", "process", "award", "process_text", "process_latest")
_INCREMENTAL = 2  # PRAGMA auto_vacuum


class StoreBusy(MirrorDirectoryBusy):
    """Another process writes the store."""


@dataclass(frozen=True)
class WindowWritten:
    releases: int
    processes: int
    failed: int  # processes whose releases could not be compiled (kept as before)
    expired: int = 0  # processes deleted by the retention rule


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    else:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


class ProcessStore:
    """Opened by its writer (`open(writer=True)`: the lock, the schema) or by readers of another process's file.
    Writes run on one thread of their own, reads on a pool of `query_threads`; neither on the event loop."""

    def __init__(self, directory: Path, publisher: Publisher, *, query_threads: int = 4) -> None:
        self.directory = directory
        self.path = directory / DATABASE_FILE
        self.publisher = publisher
        self.writer = False
        self._lock_file: IO[str] | None = None
        self._write_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{publisher.name}-write")
        self._read_pool = ThreadPoolExecutor(max_workers=query_threads, thread_name_prefix=f"{publisher.name}-query")
        self._slots = asyncio.Semaphore(query_threads)
        self._write_connection: sqlite3.Connection | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    # -- life -----------------------------------------------------------------------------------------------------

    async def open(self, *, writer: bool) -> None:
        """As the writer, take the lock (StoreBusy when another process holds it) and create or upgrade the file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not writer:
            return
        lock_file = (self.directory / LOCK_FILE).open("w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise StoreBusy(f"{self.directory} is written by another process") from None
        self._lock_file, self.writer = lock_file, True
        await self._write(self._create)

    def _create(self, connection: sqlite3.Connection) -> None:
        if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            # Takes effect on a new file at once; a file of an earlier version is rewritten once (VACUUM).
            connection.execute(f"PRAGMA auto_vacuum={_INCREMENTAL}")
            connection.execute("VACUUM")
        connection.executescript(_SCHEMA)
        row = connection.execute("SELECT value FROM state WHERE name = 'format'").fetchone()
        if row is not None and row[0] == FORMAT:
            return
        with _transaction(connection):
            for table in _TABLES:
                connection.execute(f"DELETE FROM {table}")
            connection.execute("INSERT INTO state (name, value) VALUES ('format', ?)", (FORMAT,))

    async def close(self) -> None:
        await asyncio.to_thread(self._write_pool.shutdown, wait=True, cancel_futures=True)
        await asyncio.to_thread(self._read_pool.shutdown, wait=True, cancel_futures=True)
        if self._write_connection is not None:
            self._write_connection.close()
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # -- writes ---------------------------------------------------------------------------------------------------

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._write_connection is None:
                self._write_connection = _connect(self.path, read_only=False)
            return work(self._write_connection)

        return await asyncio.get_running_loop().run_in_executor(self._write_pool, run)

    async def write_window(
        self,
        releases: Sequence[Release],
        *,
        watermark: datetime,
        status: str,
        expire_before: datetime | None = None,
    ) -> WindowWritten:
        """The releases of one window, the processes they touch compiled again, the watermark and the status, and
        the processes whose latest release is older than `expire_before` deleted (None: none): one transaction."""
        return await self._write(
            lambda connection: self._write_window(connection, releases, watermark, status, expire_before)
        )

    async def expire(self, before: datetime) -> int:
        """Delete the processes whose latest release is older than `before` (at most EXPIRE_BATCH), alone; the
        processes deleted."""
        return await self._write(lambda connection: self._expire_alone(connection, before))

    def disk_bytes(self) -> int:
        """What the store takes on disk: the file, its WAL and its shared-memory index."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                total += os.stat(f"{self.path}{suffix}").st_size
            except FileNotFoundError:
                continue
        return total

    def _expire_alone(self, connection: sqlite3.Connection, before: datetime) -> int:
        with _transaction(connection):
            expired = _expire(connection, before)
        if expired:
            _give_back(connection, truncate_wal=True)
        return expired

    def _write_window(
        self,
        connection: sqlite3.Connection,
        releases: Sequence[Release],
        watermark: datetime,
        status: str,
        expire_before: datetime | None,
    ) -> WindowWritten:
        touched: dict[str, None] = {}
        failed = expired = 0
        with _transaction(connection):
            for release in releases:
                ocid = str(release["ocid"])
                connection.execute(
                    "INSERT OR REPLACE INTO release (ocid, id, date, tag, publisher, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        ocid,
                        str(release["id"]),
                        str(release["date"]),
                        json.dumps(release["tag"]),
                        self.publisher.name,
                        orjson.dumps(release),
                    ),
                )
                touched[ocid] = None
            for ocid in touched:
                _note_latest(connection, ocid)
                if not self._compile(connection, ocid):
                    failed += 1
            if expire_before is not None:
                expired = _expire(connection, expire_before)
            _set_state(connection, "watermark", watermark.isoformat())
            _set_state(connection, "status", status)
        if expired:
            _give_back(connection, truncate_wal=False)
        return WindowWritten(len(releases), len(touched) - failed, failed, expired)

    def _compile(self, connection: sqlite3.Connection, ocid: str) -> bool:
        rows = connection.execute("SELECT id, date, tag, data FROM release WHERE ocid = ?", (ocid,)).fetchall()
        releases = [orjson.loads(row[3]) for row in rows]
        try:
            compiled = compile_releases(releases)
        except CompileError as failure:
            _log.warning("%s: process %s cannot be compiled: %s", self.publisher.name, ocid, failure)
            return False
        stamps = [mapping.ReleaseStamp(row[0], row[1], tuple(json.loads(row[2]))) for row in rows]
        row = mapping.process_row(compiled, self.publisher, stamps)
        compiled_json = orjson.dumps(compiled)
        found = connection.execute("SELECT id FROM process WHERE ocid = ?", (ocid,)).fetchone()
        values = (
            compiled_json,
            row.stage,
            row.title,
            row.description,
            row.buyer,
            mapping.fold(row.buyer),
            row.amount,
            row.currency,
            row.deadline,
            row.deadline_day,
            row.published_day,
            row.notice,
            row.cpv,
            row.suppliers,
            row.tender_sort,
            row.lead_sort,
        )
        columns = (
            "compiled, stage, title, description, buyer, buyer_folded, amount, currency, deadline, deadline_day, "
            "published_day, notice, cpv, suppliers, tender_sort, lead_sort"
        )
        if found is None:
            cursor = connection.execute(
                f"INSERT INTO process (ocid, {columns}) VALUES (?{', ?' * len(values)})",
                (ocid, *values),
            )
            process_id = cursor.lastrowid
        else:
            process_id = found[0]
            assignments = ", ".join(f"{name.strip()} = ?" for name in columns.split(","))
            connection.execute(f"UPDATE process SET {assignments} WHERE id = ?", (*values, process_id))
            connection.execute("DELETE FROM process_text WHERE rowid = ?", (process_id,))
        connection.execute(
            "INSERT INTO process_text (rowid, title, description, buyer) VALUES (?, ?, ?, ?)",
            (process_id, row.title, row.description, row.buyer),
        )
        connection.execute("DELETE FROM award WHERE ocid = ?", (ocid,))
        connection.executemany(
            "INSERT OR REPLACE INTO award (key, ocid, award_id, contract_ids, day, amount, supplier, sort) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    award.key,
                    ocid,
                    award.award_id,
                    award.contract_ids,
                    award.day,
                    award.amount,
                    award.supplier,
                    award.sort,
                )
                for award in row.awards
            ],
        )
        return True

    async def save_status(self, status: str) -> None:
        await self._write(lambda connection: _set_state(connection, "status", status))

    # -- reads ----------------------------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection | None:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if not self.path.exists():
                return None
            connection = _connect(self.path, read_only=True)
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    async def read(self, work: Callable[[sqlite3.Connection], T], *, timeout_s: float, empty: T) -> T:
        """`work` on a reader of the file (`empty` when there is no file yet), abandoned after `timeout_s`
        (TimeoutError; a query already running is interrupted)."""
        started: list[sqlite3.Connection] = []

        def run() -> T:
            connection = self._reader()
            if connection is None:
                return empty
            started.append(connection)
            return work(connection)

        async with self._slots:
            future = asyncio.get_running_loop().run_in_executor(self._read_pool, run)
            try:
                async with asyncio.timeout(timeout_s):
                    return await asyncio.shield(future)
            except TimeoutError:
                future.cancel()  # never starts when it has not yet
                for connection in started:
                    connection.interrupt()
                raise

    def state(self, connection: sqlite3.Connection, name: str) -> str | None:
        row = connection.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    async def read_state(self, name: str) -> str | None:
        """A state value (None when the store or the value does not exist yet); never waits for a writer."""
        try:
            return await self.read(lambda connection: self.state(connection, name), timeout_s=10.0, empty=None)
        except sqlite3.Error:  # a file another process has not finished creating
            return None


def _note_latest(connection: sqlite3.Connection, ocid: str) -> None:
    """Record the date of the process's latest release (read as moments: publishers mix offsets)."""
    moments = [moment(row[0]) for row in connection.execute("SELECT date FROM release WHERE ocid = ?", (ocid,))]
    latest = max((found for found in moments if found is not None), default=None)
    if latest is None:  # the package reader keeps no release without a date; never expire what cannot be dated
        return
    connection.execute(
        "INSERT OR REPLACE INTO process_latest (ocid, latest) VALUES (?, ?)",
        (ocid, latest.astimezone(UTC).strftime(_LATEST_FORMAT)),
    )


def _expire(connection: sqlite3.Connection, before: datetime) -> int:
    """Delete (in the transaction under way) at most EXPIRE_BATCH processes whose latest release is older than
    `before`: their releases, compiled release, awards and text; the processes deleted."""
    cutoff = before.astimezone(UTC).strftime(_LATEST_FORMAT)
    ocids = [
        row[0]
        for row in connection.execute(
            "SELECT ocid FROM process_latest WHERE latest < ? ORDER BY latest LIMIT ?", (cutoff, EXPIRE_BATCH)
        )
    ]
    for ocid in ocids:
        found = connection.execute("SELECT id FROM process WHERE ocid = ?", (ocid,)).fetchone()
        if found is not None:
            connection.execute("DELETE FROM process_text WHERE rowid = ?", (found[0],))
            connection.execute("DELETE FROM process WHERE id = ?", (found[0],))
        connection.execute("DELETE FROM award WHERE ocid = ?", (ocid,))
        connection.execute("DELETE FROM release WHERE ocid = ?", (ocid,))
        connection.execute("DELETE FROM process_latest WHERE ocid = ?", (ocid,))
    return len(ocids)


def _give_back(connection: sqlite3.Connection, *, truncate_wal: bool) -> None:
    """Return the pages a deletion freed to the disk (a bounded number); with `truncate_wal`, checkpoint the WAL and
    truncate it (the writer waits for readers still on old pages, readers never wait)."""
    # executescript steps the pragma to its end (execute would free one page: the pragma returns no rows).
    connection.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
    if truncate_wal:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _set_state(connection: sqlite3.Connection, name: str, value: str) -> None:
    connection.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on a connection in autocommit mode."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self._connection.execute("COMMIT" if kind is None else "ROLLBACK")


def stored_process(row: Sequence[Any]) -> mapping.StoredProcess:
    """A process from its stored (compiled, published_day, notice)."""
    compiled_json = bytes(row[0]).decode("utf-8")
    published = row[1]
    return mapping.StoredProcess(
        compiled=orjson.loads(compiled_json),
        compiled_json=compiled_json,
        published=date.fromisoformat(published) if isinstance(published, str) and published else None,
        notice=row[2] if isinstance(row[2], str) else None,
    )
