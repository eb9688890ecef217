"""The root Query: every field validates its arguments first, then asks only the upstreams it needs."""

from __future__ import annotations

import functools
from typing import Annotated, TypeAlias

import strawberry

from gateway import formats
from gateway.errors import BadUserInput, NotFound
from gateway.models import LeadQuery, TenderQuery
from gateway.upstreams.spec import RecordKind
from resolvers.context import RequestContext
from resolvers.lists import (
    contract_selection,
    merged_contracts,
    merged_leads,
    merged_tenders,
    positions_after,
)
from resolvers.node import decode_id, decode_lead_id, find_contract, find_lead, find_node, find_tender
from resolvers.pagination import page_size, to_connection
from resolvers.search import resolve_search
from resolvers.search_by_kind import MAX_KEYWORDS_CHARS, MAX_RESULTS_PER_KIND, SearchResults, search_results
from resolvers.selection import selected_node_fields, selected_object_fields, snake_case
from resolvers.sources import source_statuses
from schema.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Connection
from schema.contracts import AwardFamilySummary, Contract, ContractFilter
from schema.leads import Lead, LeadConnection, LeadFilter, SkippedSource
from schema.node import Node
from schema.rate_limit import RateLimitStatus
from schema.search import SearchConnection, SearchFilter, SearchKind
from schema.sources import SourceStatus
from schema.tenders import Tender, TenderFilter

Info: TypeAlias = strawberry.Info[RequestContext, None]
FIRST = f"How many results to return, 1 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} when omitted or null."
FILTER = "Filters; omitted filters do not restrict."
ID_ARG = "Global id (`id` of the object), as returned by this API."
AFTER = "Cursor after which to continue (a `pageInfo.endCursor` or an edge's `cursor` of the same list)."
SELECTIONS_REMEMBERED = 256  # distinct selections whose upstream fields are remembered


@functools.lru_cache(maxsize=SELECTIONS_REMEMBERED)
def lead_fields(selected: frozenset[str]) -> frozenset[str]:
    """The `models.Lead` fields read for the GraphQL fields `selected` on leads."""
    return Lead.model_fields(snake_case(name) for name in selected)


@functools.lru_cache(maxsize=SELECTIONS_REMEMBERED)
def contract_fields(selected: frozenset[str]) -> frozenset[str]:
    """The contract fields (snake_case) the clients are told are read, for the GraphQL fields `selected`."""
    return contract_selection(selected)


@strawberry.type(
    description="Public procurement data: trade leads (ITA and its live successors), Canadian, US and UK tenders and "
    "contract awards (CanadaBuys, SAM.gov, Contracts Finder, Find a Tender, and the retired Canadian API). Fields "
    "whose upstream fails are null, with an error naming the upstream. An upstream this gateway has not configured is "
    "never asked (`sources` shows which are)."
)
class Query:
    @strawberry.field(
        description="Trade leads by ITA source code, newest first. Each code is served by ITA (upstream `ita`, an "
        "ITA-compatible service) or by its live successors: CANADA by CanadaBuys (`canadabuys`, mirrored by the "
        "gateway), FBO by SAM.gov Contract Opportunities (`samopps`, mirrored), UK by Contracts Finder and Find a "
        "Tender (`contractsfinder`, `findatender`), as the setting GATEWAY_LEADS_<CODE>_FROM chooses (`auto`: the "
        "successors when one is configured, else ITA). ITA is asked for its codes only (its `sources`), every "
        "successor for its own, concurrently, and their leads merged in one order (the newer publish date first; "
        "ITA ranks by relevance when `keywords` are given, and keeps its own order in the merge), each lead once "
        "across pages. A source that cannot answer a filter given is not asked and is listed in `skippedSources`; "
        "a code in `filter.sources` that nothing serves here is BAD_USER_INPUT. If one source fails, the others' "
        "leads come back with an error naming it (`extensions.upstream`)."
    )
    async def leads(
        self,
        info: Info,
        filter: Annotated[LeadFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> LeadConnection | None:
        limit = page_size(DEFAULT_PAGE_SIZE if first is None else first, MAX_PAGE_SIZE)
        positions = positions_after(info.context, RecordKind.LEAD, after)
        query = filter.to_query() if filter else LeadQuery()
        fields = lead_fields(selected_node_fields(info))
        routed = await merged_leads(info.context, query, positions=positions, limit=limit, fields=fields)
        info.context.report_all(routed.merged.failures, info.path.as_list())
        page = to_connection(routed.merged, lambda upstream, lead: Lead.from_model(lead, upstream=upstream))
        return LeadConnection(
            edges=page.edges,
            page_info=page.page_info,
            total_count=page.total_count,
            skipped_sources=[
                SkippedSource.of(skip.source, skip.upstream, skip.reason.value, skip.criteria)
                for skip in routed.skipped
            ],
        )

    @strawberry.field(
        description="One trade lead by its global `id`, from the upstream the id names (`ita`, or a successor: "
        "`canadabuys`, `samopps`, `contractsfinder`, `findatender`), or by ITA's own lead id (upstream `ita`). The "
        "global id of another type is refused (BAD_USER_INPUT)."
    )
    async def lead(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Global id of a Lead, or ITA's own lead id (any string that is no global id)."
            ),
        ],
    ) -> Lead | None:
        return await find_lead(info.context, decode_lead_id(id))

    @strawberry.field(
        description="Tender notices, closing soonest first: Canadian from CanadaBuys' open data (upstream "
        "`canadabuys`, mirrored by the gateway: every filter answered in its local index, a real `totalCount`, cursors "
        "that never repeat a tender across its refreshes; MIRROR_NOT_READY before its first snapshot), US federal from "
        "SAM.gov Contract Opportunities (`samopps`, mirrored) and UK from Contracts Finder and Find a Tender "
        "(`contractsfinder`, `findatender`, mirrored, with their OCDS releases), each asked when it can answer the "
        "filter given; the retired Canadian API (upstream `canada`, at most 100 notices per filter) only when "
        "`filter.sources` names it or CanadaBuys is not configured. The sources are asked concurrently and merged "
        "(each keeps its own order, the sooner closing date of their heads comes next); if one fails, the others' "
        "results come back with an error naming it."
    )
    async def tenders(
        self,
        info: Info,
        filter: Annotated[TenderFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Tender] | None:
        limit = page_size(DEFAULT_PAGE_SIZE if first is None else first, MAX_PAGE_SIZE)
        positions = positions_after(info.context, RecordKind.TENDER, after)
        query = filter.to_query() if filter else TenderQuery()
        merged = await merged_tenders(info.context, query, positions=positions, limit=limit)
        info.context.report_all(merged.failures, info.path.as_list())
        return to_connection(merged, lambda upstream, tender: Tender.from_model(tender, upstream=upstream))

    @strawberry.field(
        description="One tender notice by its global `id`, from the upstream the id names (`canadabuys`, `canada`, "
        "`samopps`, `contractsfinder`, `findatender`)."
    )
    async def tender(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Tender | None:
        return await find_tender(info.context, decode_id(id, "Tender"))

    @strawberry.field(
        description="Contract awards from SAM.gov (US federal, upstream `sam`), CanadaBuys award notices and "
        "contract history (upstream `canadabuys`, mirrored by the gateway, latest award first), SAM.gov award notices "
        "(`samopps`, mirrored) and UK award releases (`contractsfinder`, `findatender`, mirrored, with their OCDS "
        "releases), each asked when it can answer the filter given, concurrently, and merged: each source keeps its "
        "own order and the newer award of the heads comes next. A SAM.gov award notice beside SAM's record of its "
        "award in the same answer is not shown (SAM's record is). The retired Canadian API (upstream `canada`, "
        "soonest expiry first) is asked only when `filter.sources` names it or CanadaBuys is not configured. If one "
        "source fails, the others' results come back with an error naming it."
    )
    async def contracts(
        self,
        info: Info,
        filter: Annotated[ContractFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Contract] | None:
        limit = page_size(DEFAULT_PAGE_SIZE if first is None else first, MAX_PAGE_SIZE)
        positions = positions_after(info.context, RecordKind.CONTRACT, after)
        query = filter.to_query() if filter else ContractFilter().to_query()
        merged = await merged_contracts(
            info.context,
            query,
            positions=positions,
            limit=limit,
            selection=contract_fields(selected_node_fields(info)),
        )
        info.context.report_all(merged.failures, info.path.as_list())
        return to_connection(merged, lambda upstream, contract: Contract.from_model(contract, upstream=upstream))

    @strawberry.field(
        description="One contract by its global `id`, from the upstream the id names (`sam`, `canadabuys`, `canada`, "
        "`samopps`, `contractsfinder`, `findatender`)."
    )
    async def contract(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Contract | None:
        selection = contract_fields(selected_object_fields(info))
        return await find_contract(info.context, decode_id(id, "Contract"), selection)

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
        wanted = formats.PIID.check(piid, argument="piid")
        if wanted is None:
            raise BadUserInput("`piid` must not be empty", argument="piid")
        idv = formats.PIID.check(referenced_idv_piid, argument="referencedIdvPiid")
        if info.context.award_family_source() is None:
            raise NotFound("no upstream serving award families is configured on this gateway")
        family = await info.context.load_award_family(wanted, idv)
        return None if family is None else AwardFamilySummary.from_model(family)

    @strawberry.field(
        description="One search over every kind of result and every source: trade leads, tenders and contract "
        "awards in one connection, newest first, or by relevance when `keywords` are given (each source ranks its "
        "own matches; ranks are normalised by the source's number of matches, see `SearchEdge.relevance`). Only the "
        "sources the filter and the selection need are asked, concurrently; a source that fails adds an error naming "
        "it and its results come on a later page (the cursor keeps its position). The same opportunity published by "
        "two sources is shown once (`SearchEdge.origins`). Facets and each source's status come beside the results."
    )
    async def search(
        self,
        info: Info,
        keywords: Annotated[
            str | None,
            strawberry.argument(
                description=f"Free text, up to {MAX_KEYWORDS_CHARS} characters (ITA `q`, Canada keywords, SAM `q`); "
                "omitted or blank: every record, newest first."
            ),
        ] = None,
        filter: Annotated[SearchFilter | None, strawberry.argument(description=FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = DEFAULT_PAGE_SIZE,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> SearchConnection | None:
        return await resolve_search(info, keywords, filter, first, after)

    @strawberry.field(
        description="One keyword search, one list per kind: trade leads (upstream `ita`), Canadian tenders "
        "(`canada`) and contract awards (`sam` and `canada`). Only the kinds asked for in `kinds` AND selected are "
        "searched, concurrently; a kind whose upstream fails is null with an error naming it.",
        deprecation_reason="Use `search`: one connection over every kind, with a cursor, facets and de-duplication. "
        "`searchByKind` is the shape `search` had in 0.1.0; it will be removed in the next release.",
    )
    def search_by_kind(
        self,
        info: Info,
        keywords: Annotated[
            str,
            strawberry.argument(
                description=f"Free text, 1 to {MAX_KEYWORDS_CHARS} characters (ITA `q`, Canada keywords, SAM `q`)."
            ),
        ],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many results to return per kind, 1 to {MAX_RESULTS_PER_KIND}; "
                f"{DEFAULT_PAGE_SIZE} when omitted or null."
            ),
        ] = DEFAULT_PAGE_SIZE,
        kinds: Annotated[
            list[SearchKind] | None,
            strawberry.argument(description="The kinds to search; omitted: every kind. Must not be empty."),
        ] = None,
    ) -> SearchResults | None:
        return search_results(info.context, keywords, first, kinds, set(selected_object_fields(info)))

    @strawberry.field(
        description="Every upstream this gateway knows, configured or not: what it is, the licence and attribution "
        "of its data, and its status as this gateway process sees it; asks no upstream unless `leadSources` is "
        "selected."
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

    @strawberry.field(
        description="Any Lead, Tender or Contract by its global `id`, from the upstream the id names. An id naming an "
        "upstream this gateway does not know is BAD_USER_INPUT; one naming an upstream it does not have configured "
        "is NOT_FOUND."
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=ID_ARG)]
    ) -> Node | None:
        selection = contract_fields(selected_object_fields(info))
        return await find_node(info.context, decode_id(id), selection)
