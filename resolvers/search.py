"""`search`: one connection over trade leads, tenders and contracts from every source, in one order, one cursor.

Every argument is checked first (keywords, page size, filter values against their formats and vocabularies, the
contract sources' refusals, the cursor): BAD_USER_INPUT before any upstream is asked. Then only the sources the
filter and the selection need are asked, concurrently, each from its cursor position (`search_plan`,
`search_merge`); a source that fails adds an error naming it and keeps its position for a later page.

The selection narrows the kinds: when the results' fields are selected only through fragments on some of `Lead`,
`Tender` and `Contract` (no `__typename`, no fragment on `Node` or `SearchResult`), only those kinds are searched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Iterable, Sequence
from typing import TypeAlias, cast

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from gateway import formats, models, vocabularies
from gateway.cache.store import CacheStatus, current_report
from gateway.errors import BadUserInput, UpstreamError, UpstreamQuotaExceeded
from gateway.models import ContractQuery, LeadQuery, Page, TenderQuery
from gateway.upstreams.client import KeysetContractClient, KeysetLeadClient, KeysetTenderClient
from gateway.upstreams.spec import RecordKind
from resolvers.context import RequestContext
from resolvers.dedup import Record
from resolvers.facets import FacetCounts, search_facets
from resolvers.lists import contract_selection, paged, pages_on_keyset
from resolvers.merge import Position, SourcePage
from resolvers.pagination import page_size
from resolvers.search_cursor import decode_search_cursor
from resolvers.search_merge import SearchPage, Shown, search_page
from resolvers.search_plan import (
    SEARCH_KINDS,
    PlannedSource,
    SearchCriteria,
    SearchPlan,
    check_classifications,
    check_keywords,
    check_upstreams,
    check_vocabulary,
    declared_keys,
    plan_search,
)
from schema.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageInfo
from schema.contracts import Contract
from schema.leads import Lead, LeadSourceMetadata
from schema.search import (
    SearchConnection,
    SearchEdge,
    SearchFacet,
    SearchFacetName,
    SearchFacetValue,
    SearchFilter,
    SearchKind,
    SearchOrigin,
    SearchResult,
    SearchSourceReport,
)
from schema.tenders import Tender

Info: TypeAlias = strawberry.Info[RequestContext, None]

KIND_OF_SEARCH_KIND = {
    SearchKind.LEAD: RecordKind.LEAD,
    SearchKind.TENDER: RecordKind.TENDER,
    SearchKind.CONTRACT: RecordKind.CONTRACT,
}
SEARCH_KIND_OF_KIND = {kind: search_kind for search_kind, kind in KIND_OF_SEARCH_KIND.items()}
KIND_OF_TYPE = {"Lead": RecordKind.LEAD, "Tender": RecordKind.TENDER, "Contract": RecordKind.CONTRACT}
RESULT_PATHS = (("edges", "node"), ("nodes",))
# What the merge, the duplicates and the facets read of a contract, whatever the query selects (SAM sections).
CONTRACT_FIELDS_READ = frozenset(
    {"award_date", "piid", "modification_number", "referenced_idv_piid", "naics", "product_or_service"}
    | {"place_of_performance", "gsins"}
)


def search_criteria(
    context: RequestContext, keywords: str | None, search_filter: SearchFilter | None, kinds: frozenset[RecordKind]
) -> SearchCriteria:
    """The checked arguments; BAD_USER_INPUT naming the first bad one."""
    given = search_filter or SearchFilter()
    if given.kinds is not None and not given.kinds:
        raise BadUserInput("`filter.kinds` must not be empty (omit it to search every kind)", argument="filter.kinds")
    wanted = frozenset(KIND_OF_SEARCH_KIND[kind] for kind in given.kinds) if given.kinds else frozenset(SEARCH_KINDS)
    return SearchCriteria(
        keywords=check_keywords(keywords),
        kinds=wanted & kinds,
        upstreams=check_upstreams(context.upstreams, given.sources),
        countries=check_vocabulary(given.countries, vocabularies.COUNTRIES, argument="filter.countries"),
        regions=check_vocabulary(given.regions, vocabularies.CANADIAN_REGIONS, argument="filter.regions"),
        trade_regions=check_vocabulary(
            given.trade_regions, vocabularies.ITA_TRADE_REGIONS, argument="filter.tradeRegions"
        ),
        world_regions=check_vocabulary(
            given.world_regions, vocabularies.ITA_WORLD_REGIONS, argument="filter.worldRegions"
        ),
        classifications=check_classifications(
            [(given_code.scheme.name, given_code.code) for given_code in given.classifications or ()]
        ),
        closing=formats.check_date_range(
            given.closing.to_model() if given.closing else None, argument="filter.closing"
        ),
        awarded=formats.check_date_range(
            given.awarded.to_model() if given.awarded else None, argument="filter.awarded"
        ),
        value=formats.check_value_range(given.value.to_model() if given.value else None, argument="filter.value"),
    )


def _result_selections(selected: Sequence[Selection]) -> list[Selection]:
    """The selections made on the results (`edges.node`, `nodes`) of the root `search` field."""
    found: list[Selection] = []

    def walk(selections: Iterable[Selection], path: tuple[str, ...]) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if not path:
                    continue
                if selection.name == path[0]:
                    if len(path) == 1:
                        found.extend(selection.selections)
                    else:
                        walk(selection.selections, path[1:])
            elif isinstance(selection, FragmentSpread | InlineFragment):
                walk(selection.selections, path)

    for root in selected:
        if isinstance(root, SelectedField):
            for path in RESULT_PATHS:
                walk(root.selections, path)
    return found


def selected_kinds(selected: Sequence[Selection]) -> frozenset[RecordKind]:
    """The kinds whose results the query reads (every kind when it reads none, or reads them all alike)."""
    on_results = _result_selections(selected)
    if not on_results:
        return frozenset(SEARCH_KINDS)
    kinds: set[RecordKind] = set()
    for selection in on_results:
        condition = selection.type_condition if isinstance(selection, FragmentSpread | InlineFragment) else None
        kind = KIND_OF_TYPE.get(condition or "")
        if kind is None:
            return frozenset(SEARCH_KINDS)  # __typename, or a fragment on Node or SearchResult
        kinds.add(kind)
    return frozenset(kinds)


def contract_fields_selected(selected: Sequence[Selection]) -> frozenset[str]:
    names: set[str] = set()

    def collect(selections: Iterable[Selection], on_contract: bool) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if on_contract:
                    names.add(selection.name)
            else:
                condition = selection.type_condition
                collect(selection.selections, on_contract or condition in {"Contract", "Node"})

    collect(_result_selections(selected), False)
    return contract_selection(names) | CONTRACT_FIELDS_READ


def _needs_records(selected: Sequence[Selection]) -> bool:
    names = {
        selection.name
        for root in selected
        if isinstance(root, SelectedField)
        for selection in _flatten(root.selections)
    }
    return bool(names - {"__typename"})


def _flatten(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _flatten(selection.selections)


async def resolve_search(
    info: Info, keywords: str | None, search_filter: SearchFilter | None, first: int | None, after: str | None
) -> SearchConnection:
    context = info.context
    limit = page_size(DEFAULT_PAGE_SIZE if first is None else first, MAX_PAGE_SIZE)
    criteria = search_criteria(context, keywords, search_filter, selected_kinds(info.selected_fields))
    plan = plan_search(context.upstreams, criteria)
    for source in plan.asked:
        if source.kind is RecordKind.CONTRACT:
            try:
                context.upstreams.contracts(source.upstream).check_contract_query(
                    cast(ContractQuery, source.query), limit=limit
                )
            except BadUserInput as exc:
                raise BadUserInput(exc.message, argument=exc.extensions.get("argument", "keywords")) from None
    start = decode_search_cursor(after, criteria.fingerprint(), declared_keys(context.upstreams))
    if not _needs_records(info.selected_fields):
        return _connection(plan, SearchPage((), start, start, {}, {}, False), [])
    selection = contract_fields_selected(info.selected_fields)
    deadline = context.deadline

    def fetch(source: PlannedSource, position: Position) -> Awaitable[Page[Record] | SourcePage[Record]]:
        name, query = source.upstream, source.query
        if isinstance(query, LeadQuery):
            leads = context.upstreams.leads(name)
            keyset_leads = cast(KeysetLeadClient, leads) if pages_on_keyset(type(leads), KeysetLeadClient) else None
            return cast(
                Awaitable[Page[Record] | SourcePage[Record]],
                paged(
                    lambda offset: leads.search_leads(query, limit=limit, offset=offset, deadline=deadline),
                    None
                    if keyset_leads is None
                    else lambda after: keyset_leads.leads_after(query, limit=limit, after=after, deadline=deadline),
                )(position),
            )
        if isinstance(query, TenderQuery):
            tenders = context.upstreams.tenders(name)
            keyset = cast(KeysetTenderClient, tenders) if pages_on_keyset(type(tenders), KeysetTenderClient) else None
            return cast(
                Awaitable[Page[Record] | SourcePage[Record]],
                paged(
                    lambda offset: tenders.search_tenders(query, limit=limit, offset=offset, deadline=deadline),
                    None
                    if keyset is None
                    else lambda after: keyset.tenders_after(query, limit=limit, after=after, deadline=deadline),
                )(position),
            )
        contract_query = cast(ContractQuery, query)
        contracts = context.upstreams.contracts(name)
        keyset_contracts = (
            cast(KeysetContractClient, contracts) if pages_on_keyset(type(contracts), KeysetContractClient) else None
        )
        return cast(
            Awaitable[Page[Record] | SourcePage[Record]],
            paged(
                lambda offset: contracts.search_contracts(
                    contract_query, limit=limit, offset=offset, selection=selection, deadline=deadline
                ),
                None
                if keyset_contracts is None
                else lambda after: keyset_contracts.contracts_after(
                    contract_query, limit=limit, after=after, deadline=deadline
                ),
            )(position),
        )

    page = await search_page(plan, start, limit, fetch, ranked=criteria.keywords is not None)
    context.report_all(page.failures.values(), info.path.as_list())
    titles = {upstream.name: upstream.spec.title for upstream in context.upstreams.all()}
    facets = search_facets(plan, page, today=dt.datetime.now(dt.UTC).date(), titles=titles)
    return _connection(plan, page, facets)


def _node(shown: Shown) -> SearchResult:
    record, upstream = shown.hit.record, shown.hit.source.upstream
    if isinstance(record, models.Lead):
        return Lead.from_model(record, upstream=upstream)
    if isinstance(record, models.Tender):
        return Tender.from_model(record, upstream=upstream)
    return Contract.from_model(record, upstream=upstream)


def _connection(plan: SearchPlan, page: SearchPage, facets: list[FacetCounts]) -> SearchConnection:
    edges = [
        SearchEdge(
            cursor=shown.cursor.encode(),
            node=_node(shown),
            upstream=shown.hit.source.upstream,
            origins=[SearchOrigin(upstream=o.upstream, id=strawberry.ID(o.id)) for o in shown.origins],
            relevance=None if shown.hit.relevance is None else round(shown.hit.relevance, 6),
        )
        for shown in page.shown
    ]
    end_cursor = edges[-1].cursor if edges else (page.end.encode() if page.has_next and page.asked else None)
    return SearchConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.start.started,
            start=edges[0].cursor if edges else None,
            end=end_cursor,
        ),
        total_count=_total(plan, page),
        facets=[
            SearchFacet(
                name=SearchFacetName(counts.name),
                values=[
                    SearchFacetValue(value=v.value, label=v.label, count=v.count, page_local=v.page_local)
                    for v in counts.values
                ],
            )
            for counts in facets
        ],
        sources=[_report(source, page) for source in plan.sources],
    )


def _total(plan: SearchPlan, page: SearchPage) -> int | None:
    if page.failures:
        return None
    totals = [page.total(source.key) for source in plan.asked]
    return None if None in totals else sum(total for total in totals if total is not None)


def _report(source: PlannedSource, page: SearchPage) -> SearchSourceReport:
    answer = page.answered.get(source.key)
    failure = page.failures.get(source.key)
    asked = answer is not None or failure is not None
    reason = source.reason
    if reason is None and not asked:
        reason = "it has no more results" if source.key in page.start.done else "not needed by the selection"
    report = current_report()
    cached = report.by_upstream.get(source.upstream) if report is not None and asked else None
    freshness = answer.freshness if answer is not None else ()
    updated = [meta.last_updated for meta in freshness if meta.last_updated is not None]
    return SearchSourceReport(
        upstream=source.upstream,
        kind=SEARCH_KIND_OF_KIND[source.kind],
        asked=asked,
        not_asked_because=reason,
        total_count=None if failure is not None else page.total(source.key),
        error_code=failure.code if failure is not None else None,
        error_message=failure.message if failure is not None else None,
        retry_after_seconds=_retry_after(failure),
        served_stale=cached is not None and cached.status is CacheStatus.STALE,
        cache_age_seconds=round(cached.age_s, 1)
        if cached is not None and cached.status is not CacheStatus.MISS
        else None,
        last_updated=max(updated) if updated else None,
        publishers=[LeadSourceMetadata.from_model(meta) for meta in freshness],
    )


def _retry_after(failure: UpstreamError | None) -> int | None:
    if isinstance(failure, UpstreamQuotaExceeded):
        return failure.retry_after_s
    value = failure.extensions.get("retryAfter") if failure is not None else None
    return value if isinstance(value, int) else None
