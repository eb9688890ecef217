"""One merge for every record kind: pages from several sources, each kept in its own order, into one list.

Each source is asked for a page from its own position (`positions`, keyed by upstream name); the merge then takes, one
at a time, the head that comes first by the kind's order (ties: the source named first), so paging on with the
positions after the last record taken never skips or repeats a record. A source failing leaves the others' records
and its error; all failing raise the first error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.errors import UpstreamError
from gateway.models import Contract, Lead, Page, Tender

T = TypeVar("T")
SortKey = tuple[int, int]
Order = Callable[[T], SortKey]  # the head with the smallest key is taken first


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
class Taken(Generic[T]):
    """One merged record, the upstream it came from, and the positions after it (its cursor)."""

    source: str
    record: T
    positions: Mapping[str, int]


@dataclass(frozen=True)
class Merged(Generic[T]):
    taken: tuple[Taken[T], ...]
    positions: Mapping[str, int]  # where this page started
    has_next: bool
    total: int | None  # the sum of the sources' totals; None when one does not say or one failed
    failures: tuple[UpstreamError, ...]  # sources that failed while others answered

    @property
    def has_previous(self) -> bool:
        return any(self.positions.values())


def merge(pages: Mapping[str, Page[T]], positions: Mapping[str, int], limit: int, order: Order[T]) -> list[Taken[T]]:
    """Up to `limit` records of `pages` (keyed by upstream, in tie-break order), each with its cursor positions."""
    queues = {source: list(page.items) for source, page in pages.items()}
    heads = dict.fromkeys(queues, 0)
    position = {**positions, **{source: positions.get(source, 0) for source in pages}}
    taken: list[Taken[T]] = []
    while len(taken) < limit:
        waiting = [source for source, queue in queues.items() if heads[source] < len(queue)]
        if not waiting:
            break
        source = min(waiting, key=lambda name: order(queues[name][heads[name]]))  # min keeps the first on ties
        record = queues[source][heads[source]]
        heads[source] += 1
        position[source] += 1
        taken.append(Taken(source, record, dict(position)))
    return taken


def _has_more(page: Page[T], position: int, started_at: int) -> bool:
    if page.total is not None:
        return page.total > position
    return position < started_at + len(page.items)  # records fetched and not yet taken


async def merge_sources(
    searches: Mapping[str, Callable[[int], Awaitable[Page[T]]]],
    positions: Mapping[str, int],
    limit: int,
    order: Order[T],
) -> Merged[T]:
    """Ask every source concurrently (each called with its offset), then merge their pages.

    An `UpstreamError` of one source is returned in `failures` when another answered; any other exception, or every
    source failing, is raised.
    """
    start = {**positions, **{source: positions.get(source, 0) for source in searches}}
    results = await asyncio.gather(
        *(search(start[source]) for source, search in searches.items()), return_exceptions=True
    )
    pages: dict[str, Page[T]] = {}
    failures: list[UpstreamError] = []
    for source, result in zip(searches, results, strict=True):
        if isinstance(result, UpstreamError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            pages[source] = result
    if failures and not pages:
        raise failures[0]
    taken = merge(pages, start, limit, order)
    end = taken[-1].positions if taken else start
    totals = [page.total for page in pages.values()]
    return Merged(
        taken=tuple(taken),
        positions=start,
        has_next=any(_has_more(page, end[source], start[source]) for source, page in pages.items()),
        total=None if failures or None in totals else sum(total for total in totals if total is not None),
        failures=tuple(failures),
    )
