"""The lists of records (`leads`, `tenders`, `contracts` and `search`'s kinds): the sources to ask, their pages merged.

Every list asks the configured upstreams that serve its record kind and can answer its filters (`source_selection`),
concurrently, each from its own cursor position, and merges their pages by the kind's order (`merge`): a new upstream
serving a kind joins its lists without a change here. Leads are routed per ITA source code (`lead_routing`): ITA or
the code's live successors. A source whose client pages on its own keyset cursor (`KeysetLeadClient`,
`KeysetTenderClient`, `KeysetContractClient`) is read after its own positions, so that paging across a refresh of
the source never repeats a record; every other source is read by offset.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

from gateway.errors import BadUserInput
from gateway.models import Contract, ContractQuery, KeysetPage, Lead, LeadQuery, Page, Tender, TenderQuery
from gateway.upstreams.client import KeysetContractClient, KeysetLeadClient, KeysetTenderClient
from gateway.upstreams.spec import RecordKind
from resolvers.context import RequestContext
from resolvers.dedup import contract_twins
from resolvers.lead_routing import SkippedSource, route_leads
from resolvers.merge import (
    Merged,
    Position,
    SourcePage,
    merge_sources,
    newest_award_first,
    newest_publish_first,
    soonest_closing_first,
)
from resolvers.pagination import decode_cursor
from resolvers.selection import snake_case
from resolvers.source_selection import check_contract_query, declared_names, sources_to_ask
from schema.node import LEGACY_UPSTREAM_OF_TYPE

# The one upstream whose position an old `{"o": n}` cursor of a list held (contract cursors named their sources).
LEGACY_CURSOR_SOURCE = {
    RecordKind.LEAD: LEGACY_UPSTREAM_OF_TYPE["Lead"],
    RecordKind.TENDER: LEGACY_UPSTREAM_OF_TYPE["Tender"],
}

T = TypeVar("T")


def positions_after(context: RequestContext, kind: RecordKind, after: str | None) -> dict[str, Position]:
    """The positions an `after` cursor of a list of `kind` holds (BAD_USER_INPUT when it is not one)."""
    return decode_cursor(after, declared_names(context.upstreams, kind), LEGACY_CURSOR_SOURCE.get(kind))


LEAD_MERGE_FIELDS = frozenset({"publish_date"})  # what `newest_publish_first` reads


def contract_selection(field_names: Iterable[str]) -> frozenset[str]:
    """The domain field names (snake_case) of the GraphQL fields selected on contracts, for the clients."""
    return frozenset(snake_case(name) for name in field_names)


def paged(
    by_offset: Callable[[int], Awaitable[Page[T]]],
    after: Callable[[str | None], Awaitable[KeysetPage[T]]] | None = None,
) -> Callable[[Position], Awaitable[Page[T] | SourcePage[T]]]:
    """One source's search from a position: by its keyset cursor when it has one (`after`), else by offset.

    An offset (from a cursor issued before the source paged on its own positions) is still read by offset; a position
    of the source's own where it has none is BAD_USER_INPUT.
    """

    async def at(position: Position) -> Page[T] | SourcePage[T]:
        if isinstance(position, str):
            if after is None:
                raise BadUserInput("`after` is not a cursor of this list", argument="after")
            return _source_page(await after(position))
        if after is None or position > 0:
            return await by_offset(position)
        return _source_page(await after(None))

    return at


@functools.lru_cache(maxsize=256)
def pages_on_keyset(client_type: type, keyset_protocol: type) -> bool:
    """Whether clients of `client_type` implement `keyset_protocol` (a runtime-checkable Protocol of the keyset
    methods): asked once per client type, since `isinstance` against such a Protocol walks its attributes on every
    call (slow in Python 3.11). The registry checks clients by class, so the type answers for every instance."""
    return issubclass(client_type, keyset_protocol)


def _source_page(page: KeysetPage[T]) -> SourcePage[T]:
    return SourcePage(page.items, page.positions, page.total, page.after is not None)


@dataclass(frozen=True)
class RoutedLeads:
    """A page of merged leads, and the sources the query skipped (`lead_routing`)."""

    merged: Merged[Lead]
    skipped: tuple[SkippedSource, ...]


async def merged_leads(
    context: RequestContext,
    query: LeadQuery,
    *,
    positions: dict[str, Position],
    limit: int,
    fields: frozenset[str] | None = None,
) -> RoutedLeads:
    """BAD_USER_INPUT before any upstream is asked when `query` names a source code nothing serves here.

    `fields`: the Lead fields the caller reads (None: every field); the merge's own are added."""
    upstreams, deadline = context.upstreams, context.deadline
    route = route_leads(upstreams, query)
    read = None if fields is None else fields | LEAD_MERGE_FIELDS

    def search(name: str, sent: LeadQuery) -> Callable[[Position], Awaitable[Page[Lead] | SourcePage[Lead]]]:
        client = upstreams.leads(name)

        def by_offset(offset: int) -> Awaitable[Page[Lead]]:
            return client.search_leads(sent, limit=limit, offset=offset, deadline=deadline, fields=read)

        if pages_on_keyset(type(client), KeysetLeadClient):
            keyset = cast(KeysetLeadClient, client)
            return paged(by_offset, lambda after: keyset.leads_after(sent, limit=limit, after=after, deadline=deadline))
        return paged(by_offset)

    searches = {name: search(name, sent) for name, sent in route.queries.items()}
    merged = await merge_sources(searches, positions, limit, newest_publish_first)
    return RoutedLeads(merged, route.skipped)


async def merged_tenders(
    context: RequestContext, query: TenderQuery, *, positions: dict[str, Position], limit: int
) -> Merged[Tender]:
    upstreams, deadline = context.upstreams, context.deadline

    def search(name: str) -> Callable[[Position], Awaitable[Page[Tender] | SourcePage[Tender]]]:
        client = upstreams.tenders(name)

        def by_offset(offset: int) -> Awaitable[Page[Tender]]:
            return client.search_tenders(query, limit=limit, offset=offset, deadline=deadline)

        if pages_on_keyset(type(client), KeysetTenderClient):
            keyset = cast(KeysetTenderClient, client)
            return paged(
                by_offset, lambda after: keyset.tenders_after(query, limit=limit, after=after, deadline=deadline)
            )
        return paged(by_offset)

    searches = {
        upstream.name: search(upstream.name) for upstream in sources_to_ask(upstreams, RecordKind.TENDER, query)
    }
    return await merge_sources(searches, positions, limit, soonest_closing_first)


async def merged_contracts(
    context: RequestContext,
    query: ContractQuery,
    *,
    positions: dict[str, Position],
    limit: int,
    selection: frozenset[str],
) -> Merged[Contract]:
    """Every source to be asked checks the query first: BAD_USER_INPUT before any upstream is asked. A contract a
    preferred source's page holds too is passed over (`dedup.contract_twins`: SAM's record before its award notice)."""
    upstreams, deadline = context.upstreams, context.deadline
    check_contract_query(upstreams, query, limit=limit)

    def search(name: str) -> Callable[[Position], Awaitable[Page[Contract] | SourcePage[Contract]]]:
        client = upstreams.contracts(name)

        def by_offset(offset: int) -> Awaitable[Page[Contract]]:
            return client.search_contracts(query, limit=limit, offset=offset, selection=selection, deadline=deadline)

        if pages_on_keyset(type(client), KeysetContractClient):
            keyset = cast(KeysetContractClient, client)
            return paged(
                by_offset, lambda after: keyset.contracts_after(query, limit=limit, after=after, deadline=deadline)
            )
        return paged(by_offset)

    searches = {
        upstream.name: search(upstream.name) for upstream in sources_to_ask(upstreams, RecordKind.CONTRACT, query)
    }
    return await merge_sources(searches, positions, limit, newest_award_first, contract_twins)
