"""Lead, tender and contract queries as SQL on the store, read in a stable order with keyset positions.

Leads: newest first published (undated last); tenders: soonest closing (undated last); contracts: newest award
(undated last): the orders the gateway merges sources in. A keyset position is the (sort, key) of the last record
read (`gateway.upstreams.mirror.query.Position`), so paging across a refresh never repeats a record whose sort key
did not change. Records are mapped to domain types here, in the reading thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gateway.models import Contract, ContractQuery, DateRange, Lead, LeadQuery, Tender, TenderQuery, ValueRange
from gateway.upstreams.mirror.query import Position, fts_expression
from gateway.upstreams.ocds import mapping
from gateway.upstreams.ocds.publisher import Publisher
from gateway.upstreams.ocds.store import stored_process

T = TypeVar("T")

UK_COUNTRY_CODES = frozenset({"GB", "UK"})  # what a country filter names the United Kingdom by


@dataclass(frozen=True)
class Selection:
    """The conditions of one list query (`where`, with `params`); `nothing`: a criterion no record here meets."""

    where: tuple[str, ...] = ()
    params: tuple[object, ...] = ()
    nothing: bool = False


@dataclass(frozen=True)
class Listed(Generic[T]):
    items: tuple[T, ...]
    positions: tuple[Position, ...]
    total: int


@dataclass(frozen=True)
class RecordList(Generic[T]):
    """One kind of record as SQL: where its rows come from, its sort and key columns and direction, what is read."""

    kind: str  # lead, tender, contract
    source: str  # FROM (with the process as `p`)
    sort: str
    key: str
    descending: bool
    columns: str  # sort, key, then what `record` reads
    record: Callable[[Sequence[Any], Publisher], T | None]


def _lead(row: Sequence[Any], publisher: Publisher) -> Lead:
    del publisher
    return mapping.lead(stored_process(row[2:]))


def _tender(row: Sequence[Any], publisher: Publisher) -> Tender:
    del publisher
    return mapping.tender(stored_process(row[2:]))


def _contract(row: Sequence[Any], publisher: Publisher) -> Contract | None:
    return mapping.contract(stored_process(row[3:]), str(row[2]), publisher)


_PROCESS_COLUMNS = "p.compiled, p.published_day, p.notice"
LEADS = RecordList(
    "lead", "process p", "p.lead_sort", "p.ocid", True, f"p.lead_sort, p.ocid, {_PROCESS_COLUMNS}", _lead
)
TENDERS = RecordList(
    "tender", "process p", "p.tender_sort", "p.ocid", False, f"p.tender_sort, p.ocid, {_PROCESS_COLUMNS}", _tender
)
CONTRACTS = RecordList(
    "contract",
    "award a JOIN process p ON p.ocid = a.ocid",
    "a.sort",
    "a.key",
    True,
    f"a.sort, a.key, a.award_id, {_PROCESS_COLUMNS}",
    _contract,
)


def _words(conditions: list[str], params: list[object], keywords: Sequence[str]) -> None:
    expression = fts_expression(token for keyword in keywords for token in keyword.split(","))
    if expression is not None:
        conditions.append("p.id IN (SELECT rowid FROM process_text WHERE process_text MATCH ?)")
        params.append(expression)


def _days(conditions: list[str], params: list[object], column: str, bounds: DateRange | None) -> None:
    if bounds is None:
        return
    if bounds.start is not None:
        conditions.append(f"{column} >= ?")
        params.append(bounds.start.isoformat())
    if bounds.end is not None:
        conditions.append(f"{column} <= ?")
        params.append(bounds.end.isoformat())


def _amounts(conditions: list[str], params: list[object], column: str, bounds: ValueRange | None) -> None:
    if bounds is None:
        return
    if bounds.minimum is not None:
        conditions.append(f"{column} >= ?")
        params.append(float(bounds.minimum))
    if bounds.maximum is not None:
        conditions.append(f"{column} <= ?")
        params.append(float(bounds.maximum))


def _part_of(conditions: list[str], params: list[object], column: str, text: str | None) -> None:
    folded = mapping.fold(text)
    if folded:
        conditions.append(f"instr({column}, ?) > 0")
        params.append(folded)


def lead_selection(query: LeadQuery) -> Selection:
    """Keywords (every word of them, in the title, description or buyer), countries (the United Kingdom only),
    the day first published, the closing day."""
    if query.countries and UK_COUNTRY_CODES.isdisjoint(code.strip().upper() for code in query.countries):
        return Selection(nothing=True)
    conditions: list[str] = ["p.lead_sort IS NOT NULL"]
    params: list[object] = []
    _words(conditions, params, (query.keywords,) if query.keywords else ())
    _days(conditions, params, "p.published_day", query.published)
    _days(conditions, params, "p.deadline_day", query.ends)
    return Selection(tuple(conditions), tuple(params))


def tender_selection(query: TenderQuery) -> Selection:
    """Keywords (any of them), the closing day, a part of the buyer's name."""
    conditions: list[str] = ["p.tender_sort IS NOT NULL"]
    params: list[object] = []
    _words(conditions, params, query.keywords)
    _days(conditions, params, "p.deadline_day", query.closing)
    _part_of(conditions, params, "p.buyer_folded", query.buyer)
    return Selection(tuple(conditions), tuple(params))


def contract_selection(query: ContractQuery) -> Selection:
    """Keywords (of the process), the award or contract id (as `piid`), parts of the buyer's and a supplier's
    names, the award day and amount."""
    conditions: list[str] = []
    params: list[object] = []
    _words(conditions, params, (query.keywords,) if query.keywords else ())
    if query.piid and query.piid.strip():
        conditions.append("(a.award_id = ? OR instr(' ' || a.contract_ids || ' ', ?) > 0)")
        params += [query.piid.strip(), f" {query.piid.strip()} "]
    _part_of(conditions, params, "p.buyer_folded", query.agency_name)
    _part_of(conditions, params, "a.supplier", query.supplier_name)
    _days(conditions, params, "a.day", query.awarded)
    _amounts(conditions, params, "a.amount", query.value)
    return Selection(tuple(conditions), tuple(params))


def listed(
    connection: sqlite3.Connection,
    kind: RecordList[T],
    selection: Selection,
    publisher: Publisher,
    *,
    limit: int,
    offset: int = 0,
    after: Position | None = None,
) -> Listed[T]:
    """One page of `kind` (after `after` when given, else from `offset`), and the total of matches."""
    if selection.nothing:
        return Listed((), (), 0)
    where = " AND ".join(selection.where) or "1"
    total = connection.execute(
        f"SELECT count(*) FROM {kind.source} WHERE {where}",
        selection.params,
    ).fetchone()[0]
    order = "DESC" if kind.descending else "ASC"
    page_conditions, page_params = where, list(selection.params)
    if after is not None:
        page_conditions += f" AND ({kind.sort}, {kind.key}) {'<' if kind.descending else '>'} (?, ?)"
        page_params += [after.sort, after.key]
    rows = connection.execute(
        f"SELECT {kind.columns} FROM {kind.source} WHERE {page_conditions} "
        f"ORDER BY {kind.sort} {order}, {kind.key} {order} LIMIT ? OFFSET ?",
        [*page_params, max(limit, 0), 0 if after is not None else max(offset, 0)],
    ).fetchall()
    items: list[T] = []
    positions: list[Position] = []
    for row in rows:
        item = kind.record(row, publisher)
        if item is not None:
            items.append(item)
            positions.append(Position(str(row[0]), str(row[1])))
    return Listed(tuple(items), tuple(positions), int(total))


def one(connection: sqlite3.Connection, kind: RecordList[T], key: str, publisher: Publisher) -> T | None:
    """The record of `kind` whose key is `key` (an ocid; for a contract, `<ocid>/<award id>`)."""
    sort_present = f" AND {kind.sort} IS NOT NULL"
    row = connection.execute(
        f"SELECT {kind.columns} FROM {kind.source} WHERE {kind.key} = ?{sort_present}",
        (key,),
    ).fetchone()
    return None if row is None else kind.record(row, publisher)


def counts(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """Processes, releases and awards held."""
    processes = connection.execute("SELECT count(*) FROM process").fetchone()[0]
    releases = connection.execute("SELECT count(*) FROM release").fetchone()[0]
    awards = connection.execute("SELECT count(*) FROM award").fetchone()[0]
    return int(processes), int(releases), int(awards)
