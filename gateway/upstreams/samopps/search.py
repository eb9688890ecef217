"""Queries on the opportunities index: each criterion a spec declares becomes SQL, lists are read in the order the
gateway merges them in (leads newest posting first, tenders soonest closing first, contracts newest award first;
undated last) on keyset cursors, and the total is a real count of the matches.

Keywords are an FTS5 match (title, description, organisation path; words quoted, so no user text is read as FTS
syntax); parts of names (buyer, agency, supplier) are matched case-insensitively inside the folded name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gateway.models import ContractQuery, ContractSource, DateRange, LeadQuery, TenderQuery
from gateway.upstreams.mirror.query import Position, fts_expression
from gateway.upstreams.samopps.index import fold, identifier
from gateway.upstreams.samopps.notice import AWARD, OPEN
from gateway.upstreams.samopps.records import LEAD_SOURCE

NAME = "samopps"


@dataclass(frozen=True)
class Listing:
    """The notices of `group` that are listed and match every condition, in `order` (a column) on `notice_id`."""

    group: str
    order: str
    descending: bool
    conditions: tuple[str, ...] = ()
    params: tuple[object, ...] = ()
    words: str | None = None  # an FTS5 expression (`fts_expression`)


@dataclass(frozen=True)
class Found:
    """One page: each notice's stored payload and description, the position after each, the total of matches."""

    rows: tuple[tuple[bytes, str | None], ...]
    positions: tuple[Position, ...]
    total: int


@dataclass
class _Builder:
    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, condition: str, *params: object) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if values:
            self.add(f"{column} IN ({', '.join('?' for _ in values)})", *values)

    def days(self, column: str, bounds: DateRange | None) -> None:
        if bounds is None:
            return
        if bounds.start is not None:
            self.add(f"{column} >= ?", bounds.start.isoformat())
        if bounds.end is not None:
            self.add(f"{column} <= ?", bounds.end.isoformat())

    def part_of(self, column: str, text: str | None) -> None:
        needle = fold(text)
        if needle:
            self.add(f"instr({column}, ?) > 0", needle)

    def listing(self, group: str, order: str, *, descending: bool, words: str | None) -> Listing:
        return Listing(group, order, descending, tuple(self.conditions), tuple(self.params), words)


def _upper(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.strip().upper() for value in values if value and value.strip()))


def _words(keywords: Iterable[str]) -> str | None:
    return fts_expression(part for keyword in keywords for part in keyword.split(","))


def lead_listing(query: LeadQuery) -> Listing | None:
    """Open notices as FBO leads, newest posting first; None when the query asks other lead sources only."""
    if query.sources and LEAD_SOURCE not in {source.strip().upper() for source in query.sources}:
        return None
    where = _Builder()
    where.any_of("country", _upper(query.countries))
    where.days("posted_day", query.published)
    where.days("end_day", query.ends)
    return where.listing(
        OPEN, "posted_sort", descending=True, words=_words((query.keywords,) if query.keywords else ())
    )


def tender_listing(query: TenderQuery) -> Listing | None:
    """Open notices as tenders, soonest closing first; None when the query names other sources only."""
    if query.sources and NAME not in {source.strip().casefold() for source in query.sources}:
        return None
    where = _Builder()
    where.days("closing_day", query.closing)
    where.part_of("org", query.buyer)
    where.any_of("notice_type", tuple(dict.fromkeys(found for kind in query.notice_types if (found := fold(kind)))))
    return where.listing(OPEN, "closing_sort", descending=False, words=_words(query.keywords))


def contract_listing(query: ContractQuery) -> Listing | None:
    """Award notices as contracts, newest award first; None when the query names other sources only."""
    if query.sources and ContractSource.SAMOPPS not in query.sources:
        return None
    where = _Builder()
    piid = identifier(query.piid)
    if piid is not None:
        where.add("award_key = ?", piid)
    where.any_of("naics", _upper(query.naics))
    where.any_of("psc", _upper(query.product_or_service))
    where.part_of("org", query.agency_name)
    where.part_of("supplier", query.supplier_name)
    where.any_of("uei", _upper(query.supplier_uei))
    where.days("award_day", query.awarded)
    if query.value is not None:
        if query.value.minimum is not None:
            where.add("amount >= ?", float(query.value.minimum))
        if query.value.maximum is not None:
            where.add("amount <= ?", float(query.value.maximum))
    if query.place_of_performance_state:
        where.add("pop_state = ?", query.place_of_performance_state.strip().upper())
    words = _words((query.keywords,) if query.keywords else ())
    return where.listing(AWARD, "award_sort", descending=True, words=words)


def _where(listing: Listing) -> tuple[str, list[object]]:
    clauses = ["grp = ?", "served = 1", *listing.conditions]
    params: list[object] = [listing.group, *listing.params]
    if listing.words is not None:
        clauses.append("id IN (SELECT rowid FROM notice_text WHERE notice_text MATCH ?)")
        params.append(listing.words)
    return " AND ".join(clauses), params


def page(
    connection: sqlite3.Connection, listing: Listing, *, limit: int, after: Position | None = None, offset: int = 0
) -> Found:
    """Up to `limit` matches after `after` (else from `offset`), and the total of matches."""
    where, params = _where(listing)
    total = int(connection.execute(f"SELECT count(*) FROM notice WHERE {where}", params).fetchone()[0])
    order = "DESC" if listing.descending else "ASC"
    if after is not None:
        where += f" AND ({listing.order}, notice_id) {'<' if listing.descending else '>'} (?, ?)"
        params += [after.sort, after.key]
        offset = 0
    rows = connection.execute(
        f"SELECT {listing.order}, notice_id, data, description FROM notice WHERE {where} "
        f"ORDER BY {listing.order} {order}, notice_id {order} LIMIT ? OFFSET ?",
        [*params, max(limit, 0), max(offset, 0)],
    ).fetchall()
    return Found(tuple((bytes(row[2]), row[3]) for row in rows), tuple(Position(row[0], row[1]) for row in rows), total)


def by_id(connection: sqlite3.Connection, notice_id: str, group: str) -> tuple[bytes, str | None] | None:
    """One notice of `group` by its id, listed or not (the last version the index holds)."""
    row = connection.execute(
        "SELECT data, description FROM notice WHERE notice_id = ? AND grp = ?", (notice_id.strip().lower(), group)
    ).fetchone()
    return None if row is None else (bytes(row[0]), row[1])


def linked(connection: sqlite3.Connection, solicitation: str, group: str, *, limit: int) -> Found:
    """Listed notices of `group` of one solicitation number (as `identifier` folds it), latest posting first."""
    rows = connection.execute(
        "SELECT posted_sort, notice_id, data, description FROM notice WHERE sol_key = ? AND grp = ? AND served = 1 "
        "ORDER BY posted_sort DESC, notice_id DESC LIMIT ?",
        (solicitation, group, limit),
    ).fetchall()
    return Found(
        tuple((bytes(row[2]), row[3]) for row in rows), tuple(Position(row[0], row[1]) for row in rows), len(rows)
    )
