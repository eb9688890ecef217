"""`searchByKind` (deprecated; `search` is one connection over every kind): one list per kind.

Each kind is a field of `SearchResults` with its own resolver, so the executor resolves only the kinds a query
selects (through fragments and aliases, after `@skip`/`@include`), resolves the selected ones concurrently (sibling
fields are gathered), and an upstream failing nulls its own kind alone, with the error at that kind's path (or, when
another source of the kind answered, its records with the error). Each kind merges its sources as its list field does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import strawberry

from gateway.errors import BadUserInput
from gateway.models import ContractQuery, LeadQuery, TenderQuery
from resolvers.context import RequestContext
from resolvers.lists import contract_selection, merged_contracts, merged_leads, merged_tenders
from resolvers.pagination import page_size
from resolvers.selection import object_field_names
from resolvers.source_selection import check_contract_query
from schema.common import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.contracts import Contract
from schema.leads import Lead
from schema.search import SearchKind
from schema.tenders import Tender

Info: TypeAlias = strawberry.Info[RequestContext, None]
MAX_KEYWORDS_CHARS = 200
MAX_RESULTS_PER_KIND = MAX_PAGE_SIZE
NOT_ASKED = "; null when its kind is not among `kinds` or its upstream failed"


@strawberry.type(
    description="What `searchByKind` found, one list per kind. A kind is searched only when it is among `kinds` and "
    "its field is selected; its list is null when it was not asked for, or when its upstream failed (with an error "
    "naming the upstream)."
)
class SearchResults:
    keywords: strawberry.Private[str]
    first: strawberry.Private[int]
    kinds: strawberry.Private[frozenset[SearchKind]]

    @strawberry.field(
        description="Trade leads matching the keywords, by relevance (upstream `ita`, its `q`)" + NOT_ASKED + "."
    )
    async def leads(self, info: Info) -> list[Lead] | None:
        if SearchKind.LEAD not in self.kinds:
            return None
        context = info.context
        routed = await merged_leads(context, LeadQuery(keywords=self.keywords), positions={}, limit=self.first)
        merged = routed.merged
        context.report_all(merged.failures, info.path.as_list())
        return [Lead.from_model(taken.record, upstream=taken.source) for taken in merged.taken]

    @strawberry.field(
        description="Open Canadian tender notices whose English or French text holds the keywords, closing soonest "
        "first (upstream `canada`)" + NOT_ASKED + "."
    )
    async def tenders(self, info: Info) -> list[Tender] | None:
        if SearchKind.TENDER not in self.kinds:
            return None
        context = info.context
        query = TenderQuery(keywords=(self.keywords,))
        merged = await merged_tenders(context, query, positions={}, limit=self.first)
        context.report_all(merged.failures, info.path.as_list())
        return [Tender.from_model(taken.record, upstream=taken.source) for taken in merged.taken]

    @strawberry.field(
        description="Contract awards matching the keywords from SAM.gov (`q`) and Canadian contract history, asked "
        "concurrently and merged as in `contracts`; if one source fails, the other's results come back with an "
        "error naming it" + NOT_ASKED + "."
    )
    async def contracts(self, info: Info) -> list[Contract] | None:
        if SearchKind.CONTRACT not in self.kinds:
            return None
        context = info.context
        merged = await merged_contracts(
            context,
            ContractQuery(keywords=self.keywords),
            positions={},
            limit=self.first,
            selection=contract_selection(object_field_names(info.selected_fields)),
        )
        context.report_all(merged.failures, info.path.as_list())
        return [Contract.from_model(taken.record, upstream=taken.source) for taken in merged.taken]


def search_results(
    context: RequestContext,
    keywords: str,
    first: int | None,
    kinds: Iterable[SearchKind] | None,
    selected_fields: set[str],
) -> SearchResults:
    """Checks every argument before any upstream is asked (the contract sources' refusals of the keywords included,
    when contracts are asked for and selected)."""
    text = keywords.strip()
    if not text:
        raise BadUserInput("`keywords` must not be empty", argument="keywords")
    if len(text) > MAX_KEYWORDS_CHARS:
        raise BadUserInput(f"`keywords` must be at most {MAX_KEYWORDS_CHARS} characters", argument="keywords")
    limit = page_size(DEFAULT_PAGE_SIZE if first is None else first, MAX_RESULTS_PER_KIND)
    asked = frozenset(SearchKind) if kinds is None else frozenset(kinds)
    if not asked:
        raise BadUserInput("`kinds` must not be empty (omit it to search every kind)", argument="kinds")
    if SearchKind.CONTRACT in asked and "contracts" in selected_fields:
        try:
            check_contract_query(context.upstreams, ContractQuery(keywords=text), limit=limit)
        except BadUserInput as exc:
            raise BadUserInput(exc.message, argument="keywords") from None
    return SearchResults(keywords=text, first=limit, kinds=asked)
