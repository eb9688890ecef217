"""One merge for every record kind: pages from several sources, each kept in its own order, into one list.

Each source is asked for a page from its own position (`positions`, keyed by upstream name); the merge then takes, one
at a time, the head that comes first by the kind's order (ties: the source named first), so paging on with the
positions after the last record taken never skips or repeats a record. A source failing leaves the others' records
and its error; all failing raise the first error.

Records may be passed over (`Twins`: another source fetched for the same page publishes them too, and is preferred):
the merge moves past them as if taking them, without showing them, so the positions after the next record shown are
past them too (and after the last record shown, the ones passed over that would come next).

A position is an offset into the source's list (an int: the source answers a `Page`), or an opaque position the
source made itself (a string, e.g. a keyset cursor that survives a refresh of the source: it answers a `SourcePage`
with the position after each record). 0 is the start of any source.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.errors import UpstreamError
from gateway.models import Contract, Lead, Page, Tender

T = TypeVar("T")
SortKey = tuple[int, int]
Order = Callable[[T], SortKey]  # the head with the smallest key is taken first
Position = int | str  # an offset into a source's list, or a position the source made (see the module docstring)
START: Position = 0
# Given every source's page (keyed by upstream), the indexes of the records to pass over in each.
Twins = Callable[[Mapping[str, "SourcePage[T]"]], Mapping[str, frozenset[int]]]
_NOTHING_PASSED_OVER: frozenset[int] = frozenset()


def _dated(day: dt.date | None, *, newest_first: bool) -> SortKey:
    if day is None:
        return (1, 0)  # undated records come after every dated one
    return (0, -day.toordinal() if newest_first else day.toordinal())


def newest_award_first(contract: Contract) -> SortKey:
    return _dated(contract.award_date, newest_first=True)


def soonest_closing_first(tender: Tender) -> SortKey:
    return _dated(tender.closing_date, newest_first=False)


def newest_publish_first(lead: Lead) -> SortKey:
    return _dated(lead.publish_date, newest_first=True)


@dataclass(frozen=True)
class SourcePage(Generic[T]):
    """A page of a source that makes its own positions: its records, the position after each, its total (None when
    it does not say) and whether records follow its last one."""

    items: tuple[T, ...]
    after: tuple[Position, ...]
    total: int | None
    more: bool

    @classmethod
    def of(cls, page: Page[T] | SourcePage[T], start: Position) -> SourcePage[T]:
        """`page` as it is, or an offset page read from `start` (the position after each record is its offset + 1)."""
        if isinstance(page, SourcePage):
            return page
        offset = start if isinstance(start, int) else 0
        after = tuple(range(offset + 1, offset + len(page.items) + 1))
        return cls(page.items, after, page.total, page.total is not None and page.total > offset + len(page.items))


@dataclass(frozen=True)
class Taken(Generic[T]):
    """One merged record, the upstream it came from, and the positions after it (its cursor)."""

    source: str
    record: T
    positions: Mapping[str, Position]


@dataclass(frozen=True)
class Merged(Generic[T]):
    taken: tuple[Taken[T], ...]
    positions: Mapping[str, Position]  # where this page started
    has_next: bool
    total: int | None  # the sum of the sources' totals; None when one does not say or one failed
    failures: tuple[UpstreamError, ...]  # sources that failed while others answered

    @property
    def has_previous(self) -> bool:
        return any(self.positions.values())


def merge(
    pages: Mapping[str, Page[T] | SourcePage[T]],
    positions: Mapping[str, Position],
    limit: int,
    order: Order[T],
    passed_over: Mapping[str, frozenset[int]] | None = None,
) -> list[Taken[T]]:
    """Up to `limit` records of `pages` (keyed by upstream, in tie-break order), each with its cursor positions;
    `passed_over`: per source, the indexes of records of its page not to show (see the module docstring)."""
    return _merge(pages, positions, limit, order, passed_over or {})[0]


def _merge(
    pages: Mapping[str, Page[T] | SourcePage[T]],
    positions: Mapping[str, Position],
    limit: int,
    order: Order[T],
    passed_over: Mapping[str, frozenset[int]],
) -> tuple[list[Taken[T]], dict[str, int]]:
    """The records taken, and how many records of each page the merge moved past (taken or passed over)."""
    start = {**positions, **{source: positions.get(source, START) for source in pages}}
    read = [
        (source, SourcePage.of(page, start[source]), passed_over.get(source, _NOTHING_PASSED_OVER))
        for source, page in pages.items()
    ]
    heads = dict.fromkeys(pages, 0)
    position = dict(start)
    taken: list[Taken[T]] = []
    # The waiting heads by (order, rank of the source): the least comes next, ties to the source named first; each
    # record's order is computed once, when it becomes its source's head.
    waiting = [(order(page.items[0]), rank) for rank, (_, page, _) in enumerate(read) if page.items]
    heapq.heapify(waiting)
    while waiting:
        rank = waiting[0][1]
        source, page, hidden_indexes = read[rank]
        head = heads[source]
        hidden = head in hidden_indexes
        if len(taken) == limit and not hidden:
            break
        position[source] = page.after[head]
        heads[source] = head + 1
        if head + 1 < len(page.items):
            heapq.heapreplace(waiting, (order(page.items[head + 1]), rank))
        else:
            heapq.heappop(waiting)
        if not hidden:
            taken.append(Taken(source, page.items[head], dict(position)))
        elif taken:  # passed over right after the last record shown: behind its cursor too
            last = taken[-1]
            taken[-1] = Taken(last.source, last.record, dict(position))
    return taken, heads


async def merge_sources(
    searches: Mapping[str, Callable[[Position], Awaitable[Page[T] | SourcePage[T]]]],
    positions: Mapping[str, Position],
    limit: int,
    order: Order[T],
    twins: Twins[T] | None = None,
) -> Merged[T]:
    """Ask every source concurrently (each called with its position), then merge their pages, passing over the
    records `twins` names (then `total` counts them: an upper bound).

    An `UpstreamError` of one source is returned in `failures` when another answered; any other exception, or every
    source failing, is raised.
    """
    start = {**positions, **{source: positions.get(source, START) for source in searches}}
    results = await asyncio.gather(
        *(search(start[source]) for source, search in searches.items()), return_exceptions=True
    )
    pages: dict[str, SourcePage[T]] = {}
    failures: list[UpstreamError] = []
    for source, result in zip(searches, results, strict=True):
        if isinstance(result, UpstreamError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            pages[source] = SourcePage.of(result, start[source])
    if failures and not pages:
        raise failures[0]
    taken, moved = _merge(pages, start, limit, order, twins(pages) if twins is not None else {})
    totals = [page.total for page in pages.values()]
    return Merged(
        taken=tuple(taken),
        positions=start,
        has_next=any(moved[source] < len(page.items) or page.more for source, page in pages.items()),
        total=None if failures or None in totals else sum(total for total in totals if total is not None),
        failures=tuple(failures),
    )
