"""One page of `search`: every source still to ask is asked concurrently from its cursor position, and their pages are
merged into one order, duplicates shown once.

The merge takes, one at a time, the head that comes first (`search_order`), so every source keeps its own order and
paging on from any edge's cursor never skips or repeats a record. A source that fails keeps its position: its records
come on a later page, and `hasNextPage` stays true. A source with nothing more is not asked again.

Duplicates (`dedup`) are recognised among the records fetched for one page: of two records of the same opportunity,
the preferred one is shown, with every origin; the other is passed over, now or, through the cursor, on a later page.
Two records too far apart in the order to be fetched for one page are both shown (hence `totalCount` is an upper
bound). The generic `merge` of the lists does not fit: it has no way to pass over a record or carry origins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from gateway.errors import UpstreamError
from gateway.models import Facet, Page, SourceMetadata
from resolvers.dedup import Origin, Record, duplicate_keys, origin_of, preference
from resolvers.merge import Position, SourcePage
from resolvers.search_cursor import MAX_CARRIED, SearchCursor
from resolvers.search_order import OrderKey, order_key, relevance
from resolvers.search_plan import PlannedSource, SearchPlan

# (source, its position) -> one page: an offset page, or a page of a source that makes its own positions.
SourceSearch = Callable[[PlannedSource, Position], Awaitable[Page[Record] | SourcePage[Record]]]


@dataclass(frozen=True)
class Hit:
    """A record of one source: the position it was read at and the one after it, its rank there (0-based), and its
    relevance when the search has keywords."""

    source: PlannedSource
    record: Record
    at: Position
    after: Position
    rank: int
    relevance: float | None


@dataclass(frozen=True)
class Shown:
    """A record shown on the page: its origins (the preferred first) and the cursor after it."""

    hit: Hit
    origins: tuple[Origin, ...]
    cursor: SearchCursor


@dataclass(frozen=True)
class Answer:
    """What one source answered for this page."""

    page: SourcePage[Record]
    facets: tuple[Facet, ...] = ()
    freshness: tuple[SourceMetadata, ...] = ()


@dataclass(frozen=True)
class SearchPage:
    shown: tuple[Shown, ...]
    start: SearchCursor
    end: SearchCursor  # the state after the last record taken
    answered: Mapping[str, Answer]  # by source key
    failures: Mapping[str, UpstreamError]
    has_next: bool

    @property
    def asked(self) -> frozenset[str]:
        return frozenset(self.answered) | frozenset(self.failures)

    def total(self, key: str) -> int | None:
        """The number of matches of a source, from its answer or from the cursor when it has no more."""
        answer = self.answered.get(key)
        return answer.page.total if answer is not None else self.end.done.get(key)


def _answer(result: Page[Record] | SourcePage[Record], start: Position) -> Answer:
    if isinstance(result, Page):
        return Answer(SourcePage.of(result, start), result.facets, result.freshness)
    return Answer(result)


async def search_page(
    plan: SearchPlan, start: SearchCursor, limit: int, fetch: SourceSearch, *, ranked: bool
) -> SearchPage:
    """Up to `limit` records after `start`. An `UpstreamError` of a source is returned in `failures` when another
    answered; every source asked failing raises the first error, any other exception is raised."""
    asking = [source for source in plan.asked if source.key not in start.done]
    results = await asyncio.gather(
        *(fetch(source, start.position(source.key)) for source in asking), return_exceptions=True
    )
    answered: dict[str, Answer] = {}
    failures: dict[str, UpstreamError] = {}
    for source, result in zip(asking, results, strict=True):
        if isinstance(result, UpstreamError):
            failures[source.key] = result
        elif isinstance(result, BaseException):
            raise result
        else:
            answered[source.key] = _answer(result, start.position(source.key))
    if failures and not answered:
        raise next(iter(failures.values()))
    merger = _Merger(plan, start, answered, limit, ranked=ranked)
    shown = merger.take()
    end = merger.snapshot()
    return SearchPage(
        shown=tuple(shown),
        start=start,
        end=end,
        answered=answered,
        failures=failures,
        has_next=any(source.key not in end.done for source in plan.asked),
    )


class _Merger:
    def __init__(
        self, plan: SearchPlan, start: SearchCursor, answers: Mapping[str, Answer], limit: int, *, ranked: bool
    ) -> None:
        self._start = start
        self._pages = {key: answer.page for key, answer in answers.items()}
        self._limit = limit
        self._tie = {source.key: index for index, source in enumerate(plan.sources)}
        self._positions = dict(start.positions)
        self._ranks = {key: start.rank(key) for key in {*start.positions, *self._pages}}
        self._done = dict(start.done)
        self._skips = {key: set(found) for key, found in start.skips.items()}
        self._origins = {key: {at: list(seen) for at, seen in by.items()} for key, by in start.origins.items()}
        self._queues: dict[str, list[Hit]] = {}
        self._twins: dict[str, list[Hit]] = {}
        by_key = {source.key: source for source in plan.sources}
        for key, page in self._pages.items():
            at, first_rank = start.position(key), start.rank(key)
            queue: list[Hit] = []
            for index, (record, after) in enumerate(zip(page.items, page.after, strict=True)):
                rank = first_rank + index
                score = relevance(rank, page.total) if ranked else None
                queue.append(Hit(by_key[key], record, at, after, rank, score))
                at = after
            self._queues[key] = queue
            for hit in queue:
                for twin_key in duplicate_keys(hit.record):
                    self._twins.setdefault(twin_key, []).append(hit)
        self._heads = dict.fromkeys(self._queues, 0)
        self._index = {id(hit): index for queue in self._queues.values() for index, hit in enumerate(queue)}

    def _order(self, key: str) -> tuple[OrderKey, int]:
        hit = self._queues[key][self._heads[key]]
        return order_key(hit.record, hit.relevance), self._tie[key]

    def _pending(self, hit: Hit) -> bool:
        """Fetched for this page, not yet taken nor to be passed over."""
        key = hit.source.key
        return self._index[id(hit)] >= self._heads[key] and hit.at not in self._skips.get(key, set())

    def _carried(self) -> tuple[int, int]:
        return sum(map(len, self._skips.values())), sum(map(len, self._origins.values()))

    def take(self) -> list[Shown]:
        shown: list[Shown] = []
        while len(shown) < self._limit:
            waiting = [key for key, queue in self._queues.items() if self._heads[key] < len(queue)]
            if not waiting:
                break
            key = min(waiting, key=self._order)  # min keeps the source listed first on ties
            hit = self._queues[key][self._heads[key]]
            self._heads[key] += 1
            self._positions[key] = hit.after
            self._ranks[key] = hit.rank + 1
            if hit.at in self._skips.get(key, set()):
                self._skips[key].discard(hit.at)  # shown before, with its twin
                continue
            carried = self._origins.get(key, {}).pop(hit.at, [])
            twins = [twin for twin in self._twins_of(hit) if self._pending(twin)]
            preferred = min(twins, key=_preference, default=None)
            skips_carried, origins_carried = self._carried()
            if preferred is not None and _preference(preferred) < _preference(hit) and origins_carried < MAX_CARRIED:
                # The preferred twin comes later: it is shown then, with this record among its origins.
                held = self._origins.setdefault(preferred.source.key, {}).setdefault(preferred.at, [])
                held += [origin_of(hit.source.upstream, hit.record), *carried]
                continue
            origins = [origin_of(hit.source.upstream, hit.record), *carried]
            for twin in twins:
                if skips_carried >= MAX_CARRIED:
                    break
                self._skips.setdefault(twin.source.key, set()).add(twin.at)
                skips_carried += 1
                origins.append(origin_of(twin.source.upstream, twin.record))
                origins += self._origins.get(twin.source.key, {}).pop(twin.at, [])
            shown.append(Shown(hit, tuple(dict.fromkeys(origins)), self.snapshot()))
        return shown

    def _twins_of(self, hit: Hit) -> list[Hit]:
        """The records of other upstreams fetched for this page that publish the same (one upstream's own records
        are its own business: an award notice and a contract-history row of one contract are two records)."""
        found: list[Hit] = []
        for twin_key in duplicate_keys(hit.record):
            found += [
                twin
                for twin in self._twins.get(twin_key, ())
                if twin.source.upstream != hit.source.upstream and twin not in found
            ]
        return found

    def _is_done(self, key: str) -> bool:
        page = self._pages[key]
        return not page.items or (self._heads[key] == len(page.items) and not page.more)

    def _behind(self, key: str, at: Position) -> bool:
        """Whether the source has been read past `at` (an offset only; a source's own positions do not compare)."""
        position = self._positions.get(key)
        return isinstance(at, int) and isinstance(position, int) and at < position

    def snapshot(self) -> SearchCursor:
        """The cursor after what has been taken so far."""
        done = dict(self._done)
        for key, page in self._pages.items():
            if self._is_done(key):
                done[key] = page.total if page.total is not None else self._ranks.get(key, 0)
        return SearchCursor(
            fingerprint=self._start.fingerprint,
            positions=dict(self._positions),
            ranks={key: rank for key, rank in self._ranks.items() if isinstance(self._positions.get(key), str)},
            done=done,
            skips={
                key: kept
                for key, found in self._skips.items()
                if (kept := frozenset(at for at in found if not self._behind(key, at)))
            },
            origins={
                key: held
                for key, by in self._origins.items()
                if (held := {at: tuple(dict.fromkeys(seen)) for at, seen in by.items() if not self._behind(key, at)})
            },
        )


def _preference(hit: Hit) -> tuple[int, int]:
    return preference(hit.source.kind, hit.source.upstream)
