"""The client of an OCDS mirror: leads, tenders and contracts of one publisher, answered from its store.

Opened by the registry as `Client(spec, mirror)`. Every criterion the spec declares is answered in SQL; a query
setting one it does not declare finds nothing (the gateway does not ask it such queries). Offset pages may repeat or
skip a record when a window is written between two pages; the keyset methods (`leads_after`, `tenders_after`,
`contracts_after`) never repeat a record whose sort key did not change.
"""

from __future__ import annotations

from typing import TypeVar

from gateway.errors import BadUserInput
from gateway.models import (
    Contract,
    ContractQuery,
    KeysetPage,
    Lead,
    LeadQuery,
    Page,
    SourceMetadata,
    Tender,
    TenderQuery,
)
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.mirror import FeedStatus
from gateway.upstreams.mirror.query import Position
from gateway.upstreams.ocds import queries
from gateway.upstreams.ocds.mapping import LEAD_SOURCE
from gateway.upstreams.ocds.mirror import OcdsMirror
from gateway.upstreams.spec import RecordKind, UpstreamSpec

T = TypeVar("T")
MAX_PAGE_SIZE = 100


class OcdsClient:
    def __init__(self, spec: UpstreamSpec, mirror: OcdsMirror) -> None:
        self.spec = spec
        self.mirror = mirror

    # -- leads

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        del fields  # every field is read (the records are local)
        selection = self._selection(RecordKind.LEAD, query)
        found = await self._list(queries.LEADS, selection, _size(limit), deadline, offset=offset)
        return Page(found.items, found.total, max(offset, 0))

    async def leads_after(
        self, query: LeadQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Lead]:
        return await self._after(queries.LEADS, self._selection(RecordKind.LEAD, query), limit, after, deadline)

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None:
        return await self._one(queries.LEADS, key, deadline)

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """The UK source: last updated at the watermark (what the publisher's data is current to), last imported at
        the last refresh that caught up."""
        del deadline
        status = self.mirror.statuses()[0]
        return (SourceMetadata(LEAD_SOURCE, self.mirror.watermark, status.last_success),)

    # -- tenders

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        selection = self._selection(RecordKind.TENDER, query)
        found = await self._list(queries.TENDERS, selection, _size(limit), deadline, offset=offset)
        return Page(found.items, found.total, max(offset, 0))

    async def tenders_after(
        self, query: TenderQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Tender]:
        selection = self._selection(RecordKind.TENDER, query)
        return await self._after(queries.TENDERS, selection, limit, after, deadline)

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        del hint
        return await self._one(queries.TENDERS, key, deadline)

    # -- contracts

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        """Nothing to refuse: every criterion this source answers is answered locally, at any page size."""
        del query, limit

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        del selection
        conditions = self._selection(RecordKind.CONTRACT, query)
        found = await self._list(queries.CONTRACTS, conditions, _size(limit), deadline, offset=offset)
        return Page(found.items, found.total, max(offset, 0))

    async def contracts_after(
        self, query: ContractQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Contract]:
        conditions = self._selection(RecordKind.CONTRACT, query)
        return await self._after(queries.CONTRACTS, conditions, limit, after, deadline)

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        del hint, selection
        return await self._one(queries.CONTRACTS, key, deadline)

    # -- status

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        return self.mirror.statuses()

    def stale_feeds(self, kind: RecordKind) -> tuple[FeedStatus, ...]:
        return self.mirror.stale(kind.value)

    # -- the store

    def _selection(self, kind: RecordKind, query: LeadQuery | TenderQuery | ContractQuery) -> queries.Selection:
        if self.spec.unanswerable(kind, query):
            return queries.Selection(nothing=True)
        if isinstance(query, LeadQuery):
            return queries.lead_selection(query)
        if isinstance(query, TenderQuery):
            return queries.tender_selection(query)
        return queries.contract_selection(query)

    async def _list(
        self,
        listed: queries.RecordList[T],
        selection: queries.Selection,
        limit: int,
        deadline: Deadline,
        *,
        offset: int = 0,
        after: Position | None = None,
    ) -> queries.Listed[T]:
        publisher = self.mirror.fetcher.publisher
        return await self.mirror.read(
            listed.kind,
            lambda connection: queries.listed(
                connection, listed, selection, publisher, limit=max(limit, 0), offset=offset, after=after
            ),
            timeout_s=deadline.remaining_s(),
            empty=queries.Listed((), (), 0),
        )

    async def _after(
        self,
        listed: queries.RecordList[T],
        selection: queries.Selection,
        limit: int,
        after: str | None,
        deadline: Deadline,
    ) -> KeysetPage[T]:
        position = None
        if after:
            position = Position.decode(after)
            if position is None:
                raise BadUserInput("The cursor was not made by this source", argumentName="after")
        size = _size(limit)
        found = await self._list(listed, selection, size + 1, deadline, after=position)
        items, positions = found.items[:size], found.positions[:size]
        following = positions[-1].encode() if size and len(found.items) > size else None
        return KeysetPage(items, found.total, following, positions=tuple(p.encode() for p in positions))

    async def _one(self, listed: queries.RecordList[T], key: str, deadline: Deadline) -> T | None:
        publisher = self.mirror.fetcher.publisher
        wanted = key.strip()
        return await self.mirror.read(
            listed.kind,
            lambda connection: queries.one(connection, listed, wanted, publisher),
            timeout_s=deadline.remaining_s(),
            empty=None,
        )


def _size(limit: int) -> int:
    return min(max(limit, 0), MAX_PAGE_SIZE)
