"""The root Query: every field validates its arguments first, then asks only the upstreams it needs."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry

from gateway.errors import BadUserInput, NotFound
from gateway.models import ContractSource, LeadQuery, TenderQuery
from resolvers import contracts as contract_resolvers
from resolvers.context import RequestContext
from resolvers.pagination import DEFAULT_PAGE_SIZE, decode_cursor, offset_connection, page_size
from resolvers.search import MAX_KEYWORDS_CHARS, MAX_RESULTS_PER_KIND, SearchResults, search_results
from resolvers.selection import node_field_names, object_field_names
from resolvers.sources import source_statuses
from schema.common import Connection
from schema.contracts import AwardFamilySummary, Contract, ContractFilter
from schema.leads import Lead, LeadFilter
from schema.node import InvalidGlobalId, Node, from_global_id
from schema.rate_limit import RateLimitStatus
from schema.search import SearchKind
from schema.sources import SourceStatus
from schema.tenders import Tender, TenderFilter

Info: TypeAlias = strawberry.Info[RequestContext, None]
MAX_PAGE_SIZE = 100
FIRST = f"How many results to return, 1 to {MAX_PAGE_SIZE}."
FILTER = "Filters; omitted filters do not restrict."
ID_ARG = "Global id (`id` of the object), as returned by this API."
AFTER = "Cursor after which to continue (a `pageInfo.endCursor` or an edge's `cursor` of the same list)."


def _decode_node_id(global_id: str, expected: str | None = None) -> tuple[str, tuple[str, ...]]:
    try:
        type_name, parts = from_global_id(global_id)
    except InvalidGlobalId as exc:
        raise BadUserInput(str(exc), argument="id") from None
    if expected is not None and type_name != expected:
        raise BadUserInput(f"`id` is the id of a {type_name}, not of a {expected}", argument="id")
    return type_name, parts


async def _lead(info: Info, parts: tuple[str, ...]) -> Lead | None:
    lead = await info.context.upstreams.leads.lead(parts[0], deadline=info.context.deadline)
    return None if lead is None else Lead.from_model(lead)


async def _tender(info: Info, parts: tuple[str, ...]) -> Tender | None:
    reference, gsin = parts[0], (parts[1] if len(parts) > 1 else "")
    tender = await info.context.upstreams.canada.tender(reference, gsin=gsin or None, deadline=info.context.deadline)
    return None if tender is None else Tender.from_model(tender)


async def _contract(info: Info, parts: tuple[str, ...]) -> Contract | None:
    if len(parts) < 2 or parts[0] not in {source.value for source in ContractSource}:
        raise BadUserInput("`id` is not the id of a contract", argument="id")
    source, key, hint = ContractSource(parts[0]), parts[1], (parts[2] if len(parts) > 2 else "")
    context = info.context
    if source is ContractSource.CANADA:
        found = await context.upstreams.canada.contract(key, gsin=hint or None, deadline=context.deadline)
    else:
        sections = contract_resolvers.sam_sections(object_field_names(info.selected_fields))
        found = await context.upstreams.sam.contract_by_key(key, sections=sections, deadline=context.deadline)
    return None if found is None else Contract.from_model(found)


@strawberry.type(
    description="Public procurement data from ITA trade leads, Canadian tenders and contracts, and SAM.gov "
    "contract awards. Fields whose upstream fails are null, with an error naming the upstream."
)
class Query:
    @strawberry.field(
        description="Trade leads from the ITA Trade Leads API (upstream `ita`), newest first, or by "
        "relevance when `keywords` are given."
    )
    async def leads(
        self,
        info: Info,
        filter: Annotated[LeadFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Lead] | None:
        limit = page_size(first, MAX_PAGE_SIZE)
        offset = decode_cursor(after, ("o",))["o"]
        query = filter.to_query() if filter else LeadQuery()
        page = await info.context.upstreams.leads.search(
            query, limit=limit, offset=offset, deadline=info.context.deadline
        )
        return offset_connection(page, offset, Lead.from_model)

    @strawberry.field(description="One trade lead by its global `id` or ITA's own lead id (upstream `ita`).")
    async def lead(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id of a Lead, or ITA's own lead id.")],
    ) -> Lead | None:
        try:
            _, parts = _decode_node_id(id, "Lead")
        except BadUserInput:
            parts = (str(id),)
        return await _lead(info, parts)

    @strawberry.field(
        description="Open Canadian tender notices (upstream `canada`), closing soonest first. The "
        "upstream answers at most 100 notices per filter, so `totalCount` is at most 100."
    )
    async def tenders(
        self,
        info: Info,
        filter: Annotated[TenderFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Tender] | None:
        limit = page_size(first, MAX_PAGE_SIZE)
        offset = decode_cursor(after, ("o",))["o"]
        query = filter.to_query() if filter else TenderQuery()
        page = await info.context.upstreams.canada.tenders(
            query, limit=limit, offset=offset, deadline=info.context.deadline
        )
        return offset_connection(page, offset, Tender.from_model)

    @strawberry.field(description="One tender notice by its global `id` (upstream `canada`).")
    async def tender(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Tender | None:
        _, parts = _decode_node_id(id, "Tender")
        return await _tender(info, parts)

    @strawberry.field(
        description="Contract awards from SAM.gov (US federal, upstream `sam`) and Canadian contract "
        "history (upstream `canada`), asked concurrently and merged: each source keeps its "
        "own order (SAM's; Canada's soonest expiry first) and the newer award of the two "
        "heads comes next. If one source fails, the other's results come back with an "
        "error naming it."
    )
    async def contracts(
        self,
        info: Info,
        filter: Annotated[ContractFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Contract] | None:
        limit = page_size(first, MAX_PAGE_SIZE)
        positions = decode_cursor(after, contract_resolvers.CURSOR_KEYS)
        query = filter.to_query() if filter else ContractFilter().to_query()
        return await contract_resolvers.contracts_connection(
            info.context,
            query,
            positions=positions,
            limit=limit,
            selected_fields=node_field_names(info.selected_fields),
            path=info.path.as_list(),
        )

    @strawberry.field(description="One contract by its global `id` (upstream `sam` or `canada`).")
    async def contract(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Contract | None:
        _, parts = _decode_node_id(id, "Contract")
        return await _contract(info, parts)

    @strawberry.field(
        description="SAM's award-family summary for a PIID (upstream `sam`, `piidAggregation`). Order "
        "PIIDs are unique only under their IDV: give `referencedIdvPiid` for those."
    )
    async def award_family(
        self,
        info: Info,
        piid: Annotated[str, strawberry.argument(description="The PIID, e.g. 47QSWA18D008F.")],
        referenced_idv_piid: Annotated[
            str | None,
            strawberry.argument(
                description="PIID of the IDV the order was placed under, when the PIID alone is not unique."
            ),
        ] = None,
    ) -> AwardFamilySummary | None:
        if not piid.strip():
            raise BadUserInput("`piid` must not be empty", argument="piid")
        idv = referenced_idv_piid.strip() if referenced_idv_piid and referenced_idv_piid.strip() else None
        family = await info.context.load_award_family(piid.strip(), idv)
        return None if family is None else AwardFamilySummary.from_model(family)

    @strawberry.field(
        description="One keyword search over every kind of result: trade leads (upstream `ita`), Canadian "
        "tenders (`canada`) and contract awards (`sam` and `canada`). Only the kinds asked for in `kinds` AND "
        "selected are searched, concurrently; a kind whose upstream fails is null with an error naming it."
    )
    def search(
        self,
        info: Info,
        keywords: Annotated[
            str,
            strawberry.argument(
                description=f"Free text, 1 to {MAX_KEYWORDS_CHARS} characters (ITA `q`, Canada keywords, SAM `q`)."
            ),
        ],
        first: Annotated[
            int,
            strawberry.argument(description=f"How many results to return per kind, 1 to {MAX_RESULTS_PER_KIND}."),
        ] = DEFAULT_PAGE_SIZE,
        kinds: Annotated[
            list[SearchKind] | None,
            strawberry.argument(description="The kinds to search; omitted: every kind. Must not be empty."),
        ] = None,
    ) -> SearchResults | None:
        return search_results(keywords, first, kinds, object_field_names(info.selected_fields))

    @strawberry.field(
        description="Each upstream's status as this gateway process sees it; asks no upstream unless "
        "`leadSources` is selected."
    )
    def sources(self, info: Info) -> list[SourceStatus]:
        return source_statuses(info.context.upstreams)

    @strawberry.field(
        description="The calling key's tier and hourly cost budget after this query (GitHub-style); asks no "
        "upstream and costs nothing. Null when the request is not metered."
    )
    def rate_limit(self, info: Info) -> RateLimitStatus | None:
        metering = info.context.metering
        if metering is None or metering.budget is None:
            return None
        budget = metering.budget
        return RateLimitStatus(
            tier=budget.tier,
            limit=budget.cost.limit,
            cost=metering.requested_cost or 0,
            remaining=budget.cost.remaining,
            reset_at=budget.cost.reset_at,
            requests_per_minute=budget.rate.limit,
        )

    @strawberry.field(description="Any Lead, Tender or Contract by its global `id`.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Node | None:
        type_name, parts = _decode_node_id(id)
        if type_name == "Lead":
            return await _lead(info, parts)
        if type_name == "Tender":
            return await _tender(info, parts)
        if type_name == "Contract":
            return await _contract(info, parts)
        raise NotFound(f"no object of type {type_name!r}")
