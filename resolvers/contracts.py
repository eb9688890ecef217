"""`contracts`: SAM and Canada asked concurrently, merged into one cursor-stable connection."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Sequence

from gateway.errors import GatewayError, UpstreamError
from gateway.models import Contract, ContractQuery, ContractSource, Page, SamSections
from gateway.upstreams.sam import adapter as sam
from resolvers.context import RequestContext
from resolvers.pagination import encode_cursor
from resolvers.selection import snake_case
from schema import contracts as schema
from schema.common import Connection, Edge, PageInfo

CURSOR_KEYS = ("sam", "canada")
SAM_ONLY_FILTERS = (
    "piid",
    "naics",
    "product_or_service",
    "agency_code",
    "supplier_uei",
    "fiscal_year",
    "award_or_idv",
    "modification_number",
    "referenced_idv_piid",
    "place_of_performance_state",
)


def sources_to_ask(query: ContractQuery) -> tuple[ContractSource, ...]:
    """Canada is skipped when a filter only SAM understands is given (it could only return non-matches)."""
    sam_only = any(getattr(query, name) for name in SAM_ONLY_FILTERS)
    return tuple(s for s in query.sources if s is ContractSource.SAM or not sam_only)


def check_for_sam(query: ContractQuery, limit: int) -> None:
    """Refuse, before any upstream is asked, a query SAM would refuse (BAD_USER_INPUT): no partial work first."""
    if ContractSource.SAM in sources_to_ask(query):
        sam.build_params(query, limit=limit, offset=0, sections=SamSections())


def sam_sections(selected_fields: set[str]) -> SamSections:
    return sam.sections_for(snake_case(name) for name in selected_fields)


def merge(
    pages: dict[ContractSource, Page[Contract]], positions: dict[str, int], limit: int
) -> list[tuple[Contract, dict[str, int]]]:
    """Take up to `limit` contracts, each with its cursor: of the two sources' next records, the newer award.

    Each source's own order is kept (neither upstream sorts by award date), so paging with the cursors never
    skips or repeats a record.
    """
    queues = {source: list(page.items) for source, page in pages.items()}
    taken: list[tuple[Contract, dict[str, int]]] = []
    position = dict(positions)
    while len(taken) < limit and any(queues.values()):
        heads = [(source, queue[0]) for source, queue in queues.items() if queue]
        source, _ = max(heads, key=lambda head: (head[1].award_date is not None, head[1].award_date or dt.date.min))
        contract = queues[source].pop(0)
        position[cursor_key(source)] += 1
        taken.append((contract, dict(position)))
    return taken


def cursor_key(source: ContractSource) -> str:
    return source.value.lower()


def _has_more(page: Page[Contract], position: int, fetched_from: int) -> bool:
    if page.total is not None:
        return page.total > position
    return position < fetched_from + len(page.items)


async def contracts_connection(
    context: RequestContext,
    query: ContractQuery,
    *,
    positions: dict[str, int],
    limit: int,
    selected_fields: set[str],
    path: Sequence[str | int],
) -> Connection[schema.Contract]:
    check_for_sam(query, limit)
    sources = sources_to_ask(query)
    calls: dict[ContractSource, Awaitable[Page[Contract]]] = {}
    if ContractSource.SAM in sources:
        calls[ContractSource.SAM] = context.upstreams.sam.search(
            query,
            limit=limit,
            offset=positions["sam"],
            sections=sam_sections(selected_fields),
            deadline=context.deadline,
        )
    if ContractSource.CANADA in sources:
        calls[ContractSource.CANADA] = context.upstreams.canada.contracts(
            query, limit=limit, offset=positions["canada"], deadline=context.deadline
        )
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    pages: dict[ContractSource, Page[Contract]] = {}
    failures: list[GatewayError] = []
    for source, result in zip(calls, results, strict=True):
        if isinstance(result, UpstreamError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            pages[source] = result
    if failures and not pages:
        raise failures[0]
    for failure in failures:
        context.report(failure, path)
    taken = merge(pages, positions, limit)
    edges = [Edge(cursor=encode_cursor(cursor), node=schema.Contract.from_model(c)) for c, cursor in taken]
    end = taken[-1][1] if taken else positions
    has_next = any(
        _has_more(page, end[cursor_key(source)], positions[cursor_key(source)]) for source, page in pages.items()
    )
    totals = [page.total for page in pages.values()]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=any(positions.values()),
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=None if failures or None in totals else sum(t for t in totals if t is not None),
    )
