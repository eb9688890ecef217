"""Building a snapshot: the records of every feed's current files, streamed into a new SQLite file.

Records are first streamed into a staging file (the latest version of each identity wins), then copied into the
snapshot in list order: a record's id is its rank in (kind, sort, key) order, so a list page is a walk along ids
that stops after the page, and the full-text index holds only the records kept. Its `codes` column holds each code
as one token (`code_tokens`; codes found by prefix also as each of their prefixes), so that keywords and exact or
prefix code filters are answered by one full-text match. It keeps no positions (`detail='column'`): queries match
words and tokens, never phrases.
The staging file is deleted, the snapshot is marked WAL and closed. `build_snapshot` is a plain function of a
picklable plan: it may run in a thread or in another process.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.upstreams.mirror.feed import FeedParser, IndexRecord, code_tokens

FORMAT_VERSION = "4"
BATCH_ROWS = 500

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feed (name TEXT PRIMARY KEY, rows INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE TABLE kind (name TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL);
CREATE TABLE record (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    feed TEXT NOT NULL,
    sort TEXT NOT NULL,
    link TEXT,
    day TEXT,
    amount REAL
);
CREATE TABLE payload (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE code (record INTEGER NOT NULL, scheme TEXT NOT NULL, code TEXT NOT NULL);
CREATE VIRTUAL TABLE search USING fts5(
    title_en, title_fr, description_en, description_fr, buyer_en, buyer_fr, codes,
    content='', detail='column', tokenize='unicode61 remove_diacritics 2'
);
"""
_STAGING = """
CREATE TABLE staging.record (
    sid INTEGER PRIMARY KEY, kind TEXT, key TEXT, version INTEGER, feed TEXT, sort TEXT, link TEXT, day TEXT,
    amount REAL, payload BLOB
);
CREATE TABLE staging.code (sid INTEGER, scheme TEXT, code TEXT);
CREATE TABLE staging.text (
    sid INTEGER PRIMARY KEY, title_en TEXT, title_fr TEXT, description_en TEXT, description_fr TEXT, buyer_en TEXT,
    buyer_fr TEXT, codes TEXT
);
CREATE TABLE staging.replaced (sid INTEGER PRIMARY KEY);
CREATE TABLE staging.rank (sid INTEGER PRIMARY KEY, id INTEGER NOT NULL);
"""
# The kept records in list order, then everything keyed by their new ids; indexes once the rows are in.
_COPY = """
INSERT INTO staging.rank
    SELECT sid, row_number() OVER (ORDER BY kind, sort, key) FROM staging.record
    WHERE sid NOT IN (SELECT sid FROM staging.replaced);
INSERT INTO record
    SELECT k.id, r.kind, r.key, r.version, r.feed, r.sort, r.link, r.day, r.amount
    FROM staging.rank k JOIN staging.record r USING (sid) ORDER BY k.id;
INSERT INTO payload SELECT k.id, r.payload FROM staging.rank k JOIN staging.record r USING (sid) ORDER BY k.id;
INSERT INTO code SELECT k.id, c.scheme, c.code FROM staging.code c JOIN staging.rank k USING (sid);
INSERT INTO search (rowid, title_en, title_fr, description_en, description_fr, buyer_en, buyer_fr, codes)
    SELECT k.id, t.title_en, t.title_fr, t.description_en, t.description_fr, t.buyer_en, t.buyer_fr, t.codes
    FROM staging.text t JOIN staging.rank k USING (sid) ORDER BY k.id;
INSERT INTO kind SELECT kind, min(id), max(id) FROM record GROUP BY kind;
CREATE UNIQUE INDEX record_identity ON record(kind, key);
CREATE INDEX record_order ON record(kind, sort, key);
CREATE INDEX record_link ON record(kind, link);
CREATE INDEX record_day ON record(day);
CREATE INDEX record_amount ON record(amount);
CREATE INDEX code_lookup ON code(scheme, code, record);
CREATE INDEX code_of_record ON code(record, scheme, code);
INSERT INTO search (search) VALUES ('optimize')
"""


class DiskBoundExceeded(Exception):
    """The snapshot being built outgrew the disk the mirror may use."""


class BuildStopped(Exception):
    """The build was asked to stop (the mirror is closing)."""


@dataclass(frozen=True)
class FeedInput:
    """One feed's current files, read in order, and what the snapshot records about them (`detail`, JSON)."""

    feed: str
    files: tuple[Path, ...]
    detail: str = "{}"


@dataclass(frozen=True)
class BuildPlan:
    """Where to build, from which feeds (in priority order: of two records of one identity and version, the later
    feed's wins), with which parser, and the most bytes the file may reach (None: no bound)."""

    path: Path
    inputs: tuple[FeedInput, ...]
    parser: FeedParser
    max_bytes: int | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    should_stop: Callable[[], bool] | None = None  # asked at every batch; True stops the build (BuildStopped)


@dataclass(frozen=True)
class BuildResult:
    path: Path
    rows: Mapping[str, int]  # records read from each feed's files
    records: int  # records kept (the latest version of each identity)
    bytes: int
    seconds: float


class SnapshotWriter:
    """Streams records into a new snapshot file; keeps the highest version of each (kind, key)."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int | None = None,
        batch_rows: int = BATCH_ROWS,
        should_stop: Callable[[], bool] | None = None,
        prefix_schemes: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self._prefix_schemes = prefix_schemes
        self._should_stop = should_stop
        self.staging = path.with_name(path.name + ".staging")
        self._max_bytes = max_bytes
        self._batch_rows = batch_rows
        for stale in (path, self.staging):
            stale.unlink(missing_ok=True)
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("ATTACH DATABASE ? AS staging", (str(self.staging),))
        for schema in ("main", "staging"):  # the files serve no one before they are complete
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16000"):
                self._connection.execute(f"PRAGMA {schema}.{pragma}")
        self._connection.execute("PRAGMA temp_store = FILE")
        self._connection.executescript(_SCHEMA + _STAGING)
        self._connection.execute("BEGIN")
        self._identities: dict[tuple[str, str], tuple[int, int]] = {}
        self._next_sid = 1
        self._records: list[tuple[object, ...]] = []
        self._codes: list[tuple[int, str, str]] = []
        self._texts: list[tuple[object, ...]] = []
        self._replaced: list[tuple[int]] = []
        self.rows: dict[str, int] = {}

    def add(self, feed: str, record: IndexRecord) -> None:
        self.rows[feed] = self.rows.get(feed, 0) + (1 if record.counted else 0)
        identity = (record.kind, record.key)
        known = self._identities.get(identity)
        if known is not None:
            if record.version < known[1]:
                return
            self._replaced.append((known[0],))
        sid = self._next_sid
        self._next_sid += 1
        self._identities[identity] = (sid, record.version)
        fields = (record.kind, record.key, record.version, feed, record.sort, record.link, record.day, record.amount)
        self._records.append((sid, *fields, record.payload))
        self._codes += [(sid, scheme, code) for scheme, code in record.codes]
        self._texts.append((sid, *record.text.columns(), code_tokens(record.codes, self._prefix_schemes)))
        if len(self._records) >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        execute = self._connection.executemany
        execute("INSERT INTO staging.record VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._records)
        execute("INSERT INTO staging.code VALUES (?, ?, ?)", self._codes)
        execute("INSERT INTO staging.text VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._texts)
        execute("INSERT OR IGNORE INTO staging.replaced VALUES (?)", self._replaced)
        self._records, self._codes, self._texts, self._replaced = [], [], [], []
        self._check_size()
        if self._should_stop is not None and self._should_stop():
            raise BuildStopped(f"{self.path.name}: stopped")

    def _check_size(self) -> None:
        if self._max_bytes is None:
            return
        size = sum(path.stat().st_size for path in (self.path, self.staging) if path.exists())
        if size > self._max_bytes:
            raise DiskBoundExceeded(f"the snapshot grew past the {self._max_bytes} bytes the mirror may still use")

    def finish(self, details: Mapping[str, str], meta: Mapping[str, str]) -> int:
        """Complete the file (records in list order, indexes, statistics); the number of records kept."""
        self._flush()
        run = self._connection.execute
        for statement in filter(str.strip, _COPY.split(";")):
            run(statement)
            self._check_size()
        feeds = [(name, self.rows.get(name, 0), detail) for name, detail in details.items()]
        self._connection.executemany("INSERT INTO feed VALUES (?, ?, ?)", feeds)
        self._connection.executemany("INSERT INTO meta VALUES (?, ?)", [*meta.items(), ("format", FORMAT_VERSION)])
        kept: int = run("SELECT count(*) FROM record").fetchone()[0]
        run("COMMIT")
        run("DETACH DATABASE staging")
        self.staging.unlink(missing_ok=True)
        run("ANALYZE")
        run("PRAGMA journal_mode = WAL")  # whoever opens it to write later does not block its readers
        self._connection.close()
        return kept

    def abort(self) -> None:
        self._connection.close()
        for path in (self.path, self.staging):
            path.unlink(missing_ok=True)


def build_snapshot(plan: BuildPlan) -> BuildResult:
    """Build `plan.path` from the plan's feeds; on any failure (FeedFormatError, DiskBoundExceeded, OSError...) the
    partial file is removed and the exception propagates."""
    started = time.monotonic()
    writer = SnapshotWriter(
        plan.path,
        max_bytes=plan.max_bytes,
        should_stop=plan.should_stop,
        prefix_schemes=plan.parser.prefix_schemes,
    )
    try:
        for feed_input in plan.inputs:
            writer.rows.setdefault(feed_input.feed, 0)
            for path in feed_input.files:
                for record in plan.parser.records(feed_input.feed, path):
                    writer.add(feed_input.feed, record)
        kept = writer.finish({i.feed: i.detail for i in plan.inputs}, plan.meta)
    except BaseException:
        writer.abort()
        raise
    return BuildResult(plan.path, dict(writer.rows), kept, plan.path.stat().st_size, time.monotonic() - started)
