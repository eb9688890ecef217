"""The lists of records (`leads`, `tenders`, `contracts` and `search`'s kinds): the sources to ask, their pages merged.

Every list asks the configured upstreams that serve its record kind and can answer its filters (`source_selection`),
concurrently, each from its own cursor position, and merges their pages by the kind's order (`merge`): a new upstream
serving a kind joins its lists without a change here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from gateway.models import Contract, ContractQuery, Lead, LeadQuery, Page, Tender, TenderQuery
from gateway.upstreams.spec import RecordKind
from resolvers.context import RequestContext
from resolvers.merge import Merged, merge_sources, newest_award_first, newest_publish_first, soonest_closing_first
from resolvers.pagination import decode_cursor
from resolvers.selection import snake_case
from resolvers.source_selection import check_contract_query, declared_names, sources_to_ask
from schema.node import LEGACY_UPSTREAM_OF_TYPE

# The one upstream whose position an old `{"o": n}` cursor of a list held (contract cursors named their sources).
LEGACY_CURSOR_SOURCE = {
    RecordKind.LEAD: LEGACY_UPSTREAM_OF_TYPE["Lead"],
    RecordKind.TENDER: LEGACY_UPSTREAM_OF_TYPE["Tender"],
}


def positions_after(context: RequestContext, kind: RecordKind, after: str | None) -> dict[str, int]:
    """The positions an `after` cursor of a list of `kind` holds (BAD_USER_INPUT when it is not one)."""
    return decode_cursor(after, declared_names(context.upstreams, kind), LEGACY_CURSOR_SOURCE.get(kind))


def contract_selection(field_names: Iterable[str]) -> frozenset[str]:
    """The domain field names (snake_case) of the GraphQL fields selected on contracts, for the clients."""
    return frozenset(snake_case(name) for name in field_names)


async def merged_leads(
    context: RequestContext, query: LeadQuery, *, positions: dict[str, int], limit: int
) -> Merged[Lead]:
    upstreams, deadline = context.upstreams, context.deadline

    def search(name: str) -> Callable[[int], Awaitable[Page[Lead]]]:
        client = upstreams.leads(name)
        return lambda offset: client.search_leads(query, limit=limit, offset=offset, deadline=deadline)

    searches = {upstream.name: search(upstream.name) for upstream in sources_to_ask(upstreams, RecordKind.LEAD, query)}
    return await merge_sources(searches, positions, limit, newest_publish_first)


async def merged_tenders(
    context: RequestContext, query: TenderQuery, *, positions: dict[str, int], limit: int
) -> Merged[Tender]:
    upstreams, deadline = context.upstreams, context.deadline

    def search(name: str) -> Callable[[int], Awaitable[Page[Tender]]]:
        client = upstreams.tenders(name)
        return lambda offset: client.search_tenders(query, limit=limit, offset=offset, deadline=deadline)

    searches = {
        upstream.name: search(upstream.name) for upstream in sources_to_ask(upstreams, RecordKind.TENDER, query)
    }
    return await merge_sources(searches, positions, limit, soonest_closing_first)


async def merged_contracts(
    context: RequestContext,
    query: ContractQuery,
    *,
    positions: dict[str, int],
    limit: int,
    selection: frozenset[str],
) -> Merged[Contract]:
    """Every source to be asked checks the query first: BAD_USER_INPUT before any upstream is asked."""
    upstreams, deadline = context.upstreams, context.deadline
    check_contract_query(upstreams, query, limit=limit)

    def search(name: str) -> Callable[[int], Awaitable[Page[Contract]]]:
        client = upstreams.contracts(name)
        return lambda offset: client.search_contracts(
            query, limit=limit, offset=offset, selection=selection, deadline=deadline
        )

    searches = {
        upstream.name: search(upstream.name) for upstream in sources_to_ask(upstreams, RecordKind.CONTRACT, query)
    }
    return await merge_sources(searches, positions, limit, newest_award_first)
