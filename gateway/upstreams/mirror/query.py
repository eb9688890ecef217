"""Queries on a snapshot: every filter becomes SQL (full-text match, code filters, date and amount ranges), lists
are read in (sort, key) order with keyset cursors, and the total is a real count of the matches.

Keywords and the exact or prefix code filters become one full-text match (the codes are tokens of the index's `codes`
column), which FTS5 answers by intersecting its lists in C: a query with no other condition is counted and paged by
the full-text index alone. Other conditions (codes matched by substring, date and amount ranges) are tested per
record along the most selective one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from gateway.upstreams.mirror.feed import code_token, prefix_token

_WORD = re.compile(r"[^\W_]+")  # what the index's tokenizer reads as one word (letters and digits)
_PREFIX_END = chr(0x10FFFF)  # sorts after every character a code can hold
# Testing one record against a full-text condition costs about as much as reading ten of the ids it admits.
FULL_TEXT_TEST_COST = 10


class Match(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    CONTAINS = "contains"


@dataclass(frozen=True)
class CodeFilter:
    """Records holding, in `scheme`, a code that matches any of `values` (values are compared as given: the adapter
    folds them the way it folded the codes it indexed). `Match.PREFIX` needs `scheme` among the parser's
    `prefix_schemes` (the codes indexed with their prefixes)."""

    scheme: str
    values: tuple[str, ...]
    match: Match = Match.EXACT


@dataclass(frozen=True)
class IndexQuery:
    """Records of `kind` matching every condition set: `words` (an FTS5 expression, see `fts_expression`), every
    code filter, `day` within [first, last] and `amount` within [minimum, maximum] (open ends are None)."""

    kind: str
    words: str | None = None
    codes: tuple[CodeFilter, ...] = ()
    day: tuple[str | None, str | None] | None = None
    amount: tuple[float | None, float | None] | None = None
    descending: bool = False


@dataclass(frozen=True)
class Position:
    """Where a keyset page ends: the (sort, key) of its last record."""

    sort: str
    key: str

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.key], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position | None:
        """The position a cursor names, or None for a cursor this module did not make."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort, key = json.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            return None
        if not isinstance(sort, str) or not isinstance(key, str):
            return None
        return cls(sort, key)


@dataclass(frozen=True)
class Found:
    """Payloads of one page in order, the position of each, and the total of matches (-1 when not counted)."""

    payloads: tuple[bytes, ...]
    positions: tuple[Position, ...]
    total: int


def fts_expression(keywords: Iterable[str]) -> str | None:
    """An FTS5 expression: the words of one keyword must all appear (in any indexed column, either language), any
    keyword may match. Words are quoted, so no user text is read as FTS syntax; None when no keyword has a word."""
    alternatives = []
    for keyword in keywords:
        words = _WORD.findall(unicodedata.normalize("NFC", keyword))
        if words:
            alternatives.append("(" + " ".join('"' + word.replace('"', '""') + '"' for word in words) + ")")
    return " OR ".join(alternatives) if alternatives else None


@dataclass(frozen=True)
class _Condition:
    """One condition of a query, as the ids it admits (`ids`, column `id`) and as a test of record `r` (`test`)."""

    ids: str
    test: str
    params: tuple[object, ...]
    full_text: bool = False


TEXT_COLUMNS = "{title_en title_fr description_en description_fr buyer_en buyer_fr}"


def _by_token(code_filter: CodeFilter) -> bool:
    return code_filter.match is not Match.CONTAINS and bool(code_filter.values)


def full_text_match(query: IndexQuery) -> str | None:
    """The keywords (in the text columns) and every exact or prefix code filter (in `codes`), as one FTS5 match."""
    parts = [f"{TEXT_COLUMNS} : ({query.words})"] if query.words is not None else []
    for code_filter in filter(_by_token, query.codes):
        token = prefix_token if code_filter.match is Match.PREFIX else code_token
        tokens = (f'"{token(code_filter.scheme, value)}"' for value in code_filter.values)
        parts.append(f"codes : ({' OR '.join(tokens)})")
    return " AND ".join(parts) or None


def _conditions(query: IndexQuery) -> list[_Condition]:
    found: list[_Condition] = []
    match = full_text_match(query)
    if match is not None:
        found.append(
            _Condition(
                "SELECT rowid AS id FROM search WHERE search MATCH ?",
                "EXISTS (SELECT 1 FROM search WHERE search MATCH ? AND rowid = r.id)",
                (match,),
                full_text=True,
            )
        )
    for code_filter in query.codes:
        if _by_token(code_filter):
            continue
        clauses: list[str] = []
        values: list[object] = [code_filter.scheme]
        for value in code_filter.values:
            if code_filter.match is Match.EXACT:
                clauses.append("code = ?")
                values.append(value)
            elif code_filter.match is Match.PREFIX:
                clauses.append("(code >= ? AND code < ?)")
                values += [value, value + _PREFIX_END]
            else:
                clauses.append("instr(code, ?) > 0")
                values.append(value)
        holds = f"scheme = ? AND ({' OR '.join(clauses) or '0'})"
        found.append(
            _Condition(
                f"SELECT record AS id FROM code WHERE {holds}",
                f"EXISTS (SELECT 1 FROM code WHERE record = r.id AND {holds})",
                tuple(values),
            )
        )
    for column, bounds in (("day", query.day), ("amount", query.amount)):
        if bounds is None or bounds == (None, None):
            continue
        low, high = bounds
        ranges = [f"{column} >= ?"] * (low is not None) + [f"{column} <= ?"] * (high is not None)
        found.append(
            _Condition(
                f"SELECT id FROM record WHERE {' AND '.join(ranges)}",
                " AND ".join(f"r.{limit}" for limit in ranges),
                tuple(bound for bound in (low, high) if bound is not None),
            )
        )
    return found


def _plan(connection: sqlite3.Connection, conditions: list[_Condition]) -> tuple[str, list[object]]:
    """The WHERE clause (after the id range) that walks the fewest candidates: the ids of the most selective
    condition are read once, in id order (so a page stops after its last record), and each is tested against the
    others. A full-text condition that admits many more ids than the walk visits is tested per record; one that
    admits few is read once."""
    if not conditions:
        return "", []
    sizes = [connection.execute(f"SELECT count(*) FROM ({c.ids})", c.params).fetchone()[0] for c in conditions]
    walked = min(range(len(conditions)), key=sizes.__getitem__)
    clause = f" AND r.id IN ({conditions[walked].ids})"
    params: list[object] = list(conditions[walked].params)
    for position, condition in enumerate(conditions):
        if position == walked:
            continue
        read_once = condition.full_text and sizes[walked] * FULL_TEXT_TEST_COST > sizes[position]
        clause += f" AND r.id IN ({condition.ids})" if read_once else f" AND {condition.test}"
        params += condition.params
    return clause, params


def _ids_of(connection: sqlite3.Connection, kind: str) -> tuple[int, int] | None:
    """The ids of a kind's records: ids follow (kind, sort, key) order, so each kind has one range."""
    row = connection.execute("SELECT first, last FROM kind WHERE name = ?", (kind,)).fetchone()
    return None if row is None else (row[0], row[1])


def _boundary(connection: sqlite3.Connection, query: IndexQuery, after: Position) -> int | None:
    """The first id past `after` in the list's direction (None: nothing is past it)."""
    sign, order = ("<", "DESC") if query.descending else (">", "ASC")
    row = connection.execute(
        f"SELECT id FROM record WHERE kind = ? AND (sort, key) {sign} (?, ?) ORDER BY sort {order}, key {order} "
        "LIMIT 1",
        (query.kind, after.sort, after.key),
    ).fetchone()
    return None if row is None else int(row[0])


def search(
    connection: sqlite3.Connection,
    query: IndexQuery,
    *,
    limit: int,
    offset: int = 0,
    after: Position | None = None,
) -> Found:
    """One page of matches (after `after` when given, else from `offset`) and the total of matches.

    The matches are found once (materialised), counted, and the page is read from them in one statement.
    """
    span = _ids_of(connection, query.kind)
    if span is None:
        return Found((), (), 0)
    low, high = span
    if after is not None:
        boundary = _boundary(connection, query, after)
        if boundary is None:
            low, high = 1, 0  # nothing is past the cursor; the total is still counted
        elif query.descending:
            high = min(high, boundary)
        else:
            low = max(low, boundary)
    order = "DESC" if query.descending else "ASC"
    page = [max(limit, 0), 0 if after is not None else max(offset, 0)]
    conditions = _conditions(query)
    if len(conditions) == 1 and conditions[0].full_text:  # the full-text index alone counts and pages
        match = conditions[0].params
        total = connection.execute(
            "SELECT count(*) FROM search WHERE search MATCH ? AND rowid BETWEEN ? AND ?", [*match, *span]
        ).fetchone()[0]
        rows = connection.execute(
            "WITH found AS MATERIALIZED (SELECT rowid AS id FROM search WHERE search MATCH ? AND rowid BETWEEN ? AND ? "
            f"ORDER BY rowid {order} LIMIT ? OFFSET ?) "
            f"SELECT r.sort, r.key, p.data FROM found f JOIN record r ON r.id = f.id JOIN payload p ON p.id = f.id "
            f"ORDER BY f.id {order}",
            [*match, low, high, *page],
        ).fetchall()
    elif not conditions:
        total = connection.execute("SELECT count(*) FROM record WHERE id BETWEEN ? AND ?", span).fetchone()[0]
        rows = connection.execute(
            "SELECT r.sort, r.key, p.data FROM record r JOIN payload p ON p.id = r.id "
            f"WHERE r.id BETWEEN ? AND ? ORDER BY r.id {order} LIMIT ? OFFSET ?",
            [low, high, *page],
        ).fetchall()
    else:
        matching, params = _plan(connection, conditions)
        rows = connection.execute(
            f"WITH matched AS MATERIALIZED (SELECT r.id AS id FROM record r WHERE r.id BETWEEN ? AND ?{matching}) "
            "SELECT NULL, NULL, NULL, (SELECT count(*) FROM matched) "
            "UNION ALL SELECT * FROM (SELECT r.sort, r.key, p.data, NULL FROM matched m "
            "JOIN record r ON r.id = m.id JOIN payload p ON p.id = m.id "
            f"WHERE m.id BETWEEN ? AND ? ORDER BY m.id {order} LIMIT ? OFFSET ?)",
            [*span, *params, low, high, *page],
        ).fetchall()
        total, rows = rows[0][3], rows[1:]
    return Found(tuple(bytes(row[2]) for row in rows), tuple(Position(row[0], row[1]) for row in rows), total)


def by_key(connection: sqlite3.Connection, kind: str, key: str) -> bytes | None:
    row = connection.execute(
        "SELECT p.data FROM record r JOIN payload p ON p.id = r.id WHERE r.kind = ? AND r.key = ?", (kind, key)
    ).fetchone()
    return None if row is None else bytes(row[0])


def by_link(connection: sqlite3.Connection, kind: str, link: str, *, limit: int) -> tuple[bytes, ...]:
    """Records of `kind` joined by `link`, latest first (descending sort)."""
    rows = connection.execute(
        "SELECT p.data FROM record r JOIN payload p ON p.id = r.id WHERE r.kind = ? AND r.link = ? "
        "ORDER BY r.id DESC LIMIT ?",
        (kind, link, limit),
    ).fetchall()
    return tuple(bytes(row[0]) for row in rows)


def links(connection: sqlite3.Connection, kind: str, values: Sequence[str]) -> frozenset[str]:
    """Which of `values` link at least one record of `kind`."""
    if not values:
        return frozenset()
    marks = ",".join("?" for _ in values)
    rows = connection.execute(
        f"SELECT DISTINCT link FROM record WHERE kind = ? AND link IN ({marks})", (kind, *values)
    ).fetchall()
    return frozenset(row[0] for row in rows)
