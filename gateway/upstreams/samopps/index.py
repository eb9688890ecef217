"""The opportunities index: one SQLite file per replica (WAL: readers never wait for a write, nor a write for them),
updated in place by diffs, with an FTS5 index over titles, descriptions and organisation paths.

Writes (one writer, on one thread):
- `apply_extract`: a whole extract, streamed. Rows whose hash is the one stored are left alone; changed and new rows
  are upserted; everything happens in one transaction, committed only once the file passed every check, so a refused
  or broken file changes nothing. A notice missing from an extract is no longer listed (lists leave it out; its id
  still answers) unless a pull confirmed it within `PULL_GRACE` of the extract's publication; absent from
  `DROP_AFTER_MISSING` extracts in a row (it vanished, and two later extracts confirmed it), it is deleted.
- `apply_notices`: the notices of an API page, upserted (the description the extract gave is kept: the API has
  none), listed again.

After each write, the notices of one solicitation and base type of which a later modification, amendment or
cancellation was published with a notice id of its own are superseded by it (only the latest is listed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.upstreams.samopps import notice as notices
from gateway.upstreams.samopps.extract import ExtractRow
from gateway.upstreams.samopps.notice import Notice
from gateway.upstreams.samopps.records import award_number, end_date, place_country

FORMAT_VERSION = "samopps-index-1"
BATCH_ROWS = 500
DROP_AFTER_MISSING = 3  # extracts in a row without a notice before it is deleted
PULL_GRACE = timedelta(days=1)  # a notice a pull confirmed this long before an extract is not marked missing by it
UNDATED_LAST = "~"  # sorts after every date (ascending lists)
WAL_LIMIT_BYTES = 64 * 1024 * 1024

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notice (
    id INTEGER PRIMARY KEY,
    notice_id TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL,
    served INTEGER NOT NULL DEFAULT 1,
    listed INTEGER NOT NULL DEFAULT 1,
    superseded INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0,
    origin TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    row_hash BLOB,
    change INTEGER NOT NULL,
    sol_key TEXT,
    award_key TEXT,
    notice_type TEXT,
    posted_sort TEXT NOT NULL,
    closing_sort TEXT NOT NULL,
    award_sort TEXT NOT NULL,
    posted_day TEXT,
    closing_day TEXT,
    end_day TEXT,
    award_day TEXT,
    amount REAL,
    naics TEXT,
    psc TEXT,
    country TEXT,
    pop_state TEXT,
    supplier TEXT,
    uei TEXT,
    org TEXT,
    title TEXT,
    description TEXT,
    org_path TEXT,
    data BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS notice_text USING fts5(
    title, description, org_path, content='notice', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS notice_added AFTER INSERT ON notice BEGIN
    INSERT INTO notice_text (rowid, title, description, org_path)
        VALUES (new.id, new.title, new.description, new.org_path);
END;
CREATE TRIGGER IF NOT EXISTS notice_removed AFTER DELETE ON notice BEGIN
    INSERT INTO notice_text (notice_text, rowid, title, description, org_path)
        VALUES ('delete', old.id, old.title, old.description, old.org_path);
END;
CREATE TRIGGER IF NOT EXISTS notice_rewritten AFTER UPDATE OF title, description, org_path ON notice BEGIN
    INSERT INTO notice_text (notice_text, rowid, title, description, org_path)
        VALUES ('delete', old.id, old.title, old.description, old.org_path);
    INSERT INTO notice_text (rowid, title, description, org_path)
        VALUES (new.id, new.title, new.description, new.org_path);
END;
CREATE INDEX IF NOT EXISTS notice_by_posting ON notice (grp, served, posted_sort, notice_id);
CREATE INDEX IF NOT EXISTS notice_by_closing ON notice (grp, served, closing_sort, notice_id);
CREATE INDEX IF NOT EXISTS notice_by_award ON notice (grp, served, award_sort, notice_id);
CREATE INDEX IF NOT EXISTS notice_by_solicitation ON notice (sol_key);
CREATE INDEX IF NOT EXISTS notice_by_award_number ON notice (award_key);
CREATE INDEX IF NOT EXISTS notice_by_naics ON notice (naics);
CREATE INDEX IF NOT EXISTS notice_by_psc ON notice (psc);
CREATE INDEX IF NOT EXISTS notice_by_country ON notice (country);
CREATE INDEX IF NOT EXISTS notice_by_uei ON notice (uei);
CREATE INDEX IF NOT EXISTS notice_by_closing_day ON notice (closing_day);
INSERT OR IGNORE INTO meta VALUES ('format', '{FORMAT_VERSION}');
"""

_COLUMNS = (
    "notice_id, grp, origin, seen_at, row_hash, change, sol_key, award_key, notice_type, posted_sort, closing_sort, "
    "award_sort, posted_day, closing_day, end_day, award_day, amount, naics, psc, country, pop_state, supplier, uei, "
    "org, title, description, org_path, data"
)
_UPSERT = f"""
INSERT INTO notice ({_COLUMNS}) VALUES ({", ".join("?" for _ in _COLUMNS.split(","))})
ON CONFLICT (notice_id) DO UPDATE SET
    grp = excluded.grp, origin = excluded.origin, seen_at = excluded.seen_at, row_hash = excluded.row_hash,
    change = excluded.change, sol_key = excluded.sol_key, award_key = excluded.award_key,
    notice_type = excluded.notice_type, posted_sort = excluded.posted_sort, closing_sort = excluded.closing_sort,
    award_sort = excluded.award_sort, posted_day = excluded.posted_day, closing_day = excluded.closing_day,
    end_day = excluded.end_day, award_day = excluded.award_day, amount = excluded.amount, naics = excluded.naics,
    psc = excluded.psc, country = excluded.country, pop_state = excluded.pop_state, supplier = excluded.supplier,
    uei = excluded.uei, org = excluded.org, title = excluded.title,
    description = coalesce(excluded.description, notice.description), org_path = excluded.org_path,
    data = excluded.data, listed = 1, missing = 0
"""
# Of the notices of one solicitation and type of which a change was published under a notice id of its own, only
# the latest (by posting date, then id) is listed.
_SUPERSEDE = """
UPDATE notice SET superseded = EXISTS (
    SELECT 1 FROM notice AS newer
    WHERE newer.sol_key = notice.sol_key AND newer.notice_type IS notice.notice_type AND newer.change = 1
      AND newer.listed = 1 AND (newer.posted_sort, newer.notice_id) > (notice.posted_sort, notice.notice_id)
)
WHERE sol_key IN (SELECT sol_key FROM notice WHERE change = 1 AND sol_key IS NOT NULL) OR superseded = 1
"""
_SERVED = "UPDATE notice SET served = (listed AND NOT superseded) WHERE served != (listed AND NOT superseded)"


class IndexUnreadable(Exception):
    """The index file cannot be opened, or was written by another format version."""


def fold(text: str | None) -> str | None:
    folded = " ".join(text.split()).casefold() if text else ""
    return folded or None


def identifier(text: str | None) -> str | None:
    """A solicitation or award number as it is compared: upper-case, without spaces."""
    found = "".join(text.split()).upper() if text else ""
    return found or None


def closing_sort(found: Notice) -> str:
    """Soonest closing first: the deadline's date where it was published, then its moment in UTC; none: last."""
    deadline = found.response_deadline
    if deadline is None:
        return UNDATED_LAST
    return deadline.date().isoformat() + deadline.astimezone(UTC).strftime("|%Y-%m-%dT%H:%M:%SZ")


def _values(found: Notice, *, origin: str, seen_at: str, row_hash: bytes | None) -> tuple[object, ...]:
    award = found.award
    without_text = notices.encode(replace(found, description=None))
    deadline = found.response_deadline
    pop = found.place_of_performance
    ends = end_date(found)
    group = found.group
    return (
        found.notice_id,
        group,
        origin,
        seen_at,
        row_hash,
        int(found.is_change),
        identifier(found.solicitation_number),
        identifier(award_number(found)) if group == notices.AWARD else None,
        fold(found.effective_type),
        found.posted.isoformat() if found.posted else "",
        closing_sort(found),
        award.day.isoformat() if award and award.day else "",
        found.posted.isoformat() if found.posted else None,
        deadline.date().isoformat() if deadline else None,
        ends.isoformat() if ends else None,
        award.day.isoformat() if award and award.day else None,
        float(award.amount) if award and award.amount is not None else None,
        found.naics.upper() if found.naics else None,
        found.psc.upper() if found.psc else None,
        place_country(found),
        pop.state.upper() if pop and pop.state else None,
        fold(award.awardee) if award else None,
        award.uei.upper() if award and award.uei else None,
        fold(found.org_path),
        found.title,
        found.description,
        found.org_path,
        without_text,
    )


@dataclass(frozen=True)
class ExtractResult:
    rows: int  # notices in the file
    changed: int  # upserted (new or changed)
    unlisted: int  # marked missing (not listed any more)
    dropped: int  # deleted after DROP_AFTER_MISSING extracts without them


def connect(path: Path) -> sqlite3.Connection:
    """The writer's connection: WAL, the schema created when missing; IndexUnreadable for another format."""
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")  # the WAL shrinks back after a big diff
        connection.executescript(_SCHEMA)
        written = connection.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
    except sqlite3.Error as failure:
        raise IndexUnreadable(f"{path} cannot be opened: {failure}") from None
    if written is None or written[0] != FORMAT_VERSION:
        connection.close()
        raise IndexUnreadable(f"{path} has format {written[0] if written else None!r}, not {FORMAT_VERSION}")
    return connection


class IndexWriter:
    """The one writer of an index file (use it from one thread at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection = connect(path)

    def close(self) -> None:
        self._connection.close()

    def meta(self, name: str) -> str | None:
        row = self._connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def interrupt(self) -> None:
        """Abort the write under way (another thread may call it: the mirror is closing); it rolls back."""
        self._connection.interrupt()

    def count(self) -> int:
        return int(self._connection.execute("SELECT count(*) FROM notice").fetchone()[0])

    def count_origin(self, origin: str) -> int:
        """Listed notices whose current version came from `origin` (extract or api)."""
        query = "SELECT count(*) FROM notice WHERE origin = ? AND served = 1"
        return int(self._connection.execute(query, (origin,)).fetchone()[0])

    def apply_extract(self, rows: Iterable[ExtractRow], *, published_at: datetime) -> ExtractResult:
        """One whole extract (see the module docstring); on any exception nothing is changed."""
        run = self._connection.execute
        known = dict(run("SELECT notice_id, row_hash FROM notice WHERE row_hash IS NOT NULL").fetchall())
        seen_at = published_at.astimezone(UTC).isoformat()
        run("BEGIN IMMEDIATE")
        try:
            run("CREATE TEMP TABLE IF NOT EXISTS seen (notice_id TEXT PRIMARY KEY)")
            run("DELETE FROM temp.seen")
            total = changed = 0
            for batch in _batches(rows, BATCH_ROWS):
                total += len(batch)
                run_many = self._connection.executemany
                run_many("INSERT OR IGNORE INTO temp.seen VALUES (?)", [(row.notice_id,) for row in batch])
                fresh = [row for row in batch if known.get(row.notice_id) != row.row_hash]
                changed += len(fresh)
                run_many(
                    _UPSERT,
                    [_values(row.notice, origin="extract", seen_at=seen_at, row_hash=row.row_hash) for row in fresh],
                )
            run(
                "UPDATE notice SET listed = 1, missing = 0 WHERE (listed = 0 OR missing > 0) "
                "AND notice_id IN (SELECT notice_id FROM temp.seen)"
            )
            cutoff = (published_at - PULL_GRACE).astimezone(UTC).isoformat()
            unlisted = run(
                "UPDATE notice SET listed = 0, missing = missing + 1 "
                "WHERE notice_id NOT IN (SELECT notice_id FROM temp.seen) AND NOT (origin = 'api' AND seen_at >= ?)",
                (cutoff,),
            ).rowcount
            dropped = run("DELETE FROM notice WHERE missing >= ?", (DROP_AFTER_MISSING,)).rowcount
            self._settle()
            self.set_meta("extract_rows", str(total))
            self.set_meta("extract_published_at", seen_at)
            run("COMMIT")
        except BaseException:
            run("ROLLBACK")
            raise
        finally:
            run("DROP TABLE IF EXISTS temp.seen")
        self._checkpoint()
        return ExtractResult(total, changed, max(0, unlisted - dropped), dropped)

    def apply_notices(self, found: Iterable[Notice], *, seen_at: datetime, meta: dict[str, str] | None = None) -> int:
        """Upsert the notices of API pages (and set `meta` in the same transaction); the number upserted."""
        when = seen_at.astimezone(UTC).isoformat()
        values = [_values(notice, origin="api", seen_at=when, row_hash=None) for notice in found]
        run = self._connection.execute
        run("BEGIN IMMEDIATE")
        try:
            self._connection.executemany(_UPSERT, values)
            for name, value in (meta or {}).items():
                self.set_meta(name, value)
            self._settle()
            run("COMMIT")
        except BaseException:
            run("ROLLBACK")
            raise
        return len(values)

    def _settle(self) -> None:
        self._connection.execute(_SUPERSEDE)
        self._connection.execute(_SERVED)

    def _checkpoint(self) -> None:
        try:
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._connection.execute("PRAGMA optimize")
        except sqlite3.Error:  # a reader holds the WAL: it is checkpointed later
            return


def _batches(rows: Iterable[ExtractRow], size: int) -> Iterator[list[ExtractRow]]:
    batch: list[ExtractRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
