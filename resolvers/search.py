"""`search`: one keyword search over trade leads, tenders and contracts.

Each kind is a field of `SearchResults` with its own resolver, so the executor resolves only the kinds a query
selects (through fragments and aliases, after `@skip`/`@include`), resolves the selected ones concurrently (sibling
fields are gathered), and an upstream failing nulls its own kind alone, with the error at that kind's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import strawberry

from gateway.errors import BadUserInput
from gateway.models import ContractQuery, LeadQuery, TenderQuery
from resolvers import contracts as contract_resolvers
from resolvers.context import RequestContext
from resolvers.pagination import page_size
from resolvers.selection import object_field_names
from schema.contracts import Contract
from schema.leads import Lead
from schema.search import SearchKind
from schema.tenders import Tender

Info: TypeAlias = strawberry.Info[RequestContext, None]
MAX_KEYWORDS_CHARS = 200
MAX_RESULTS_PER_KIND = 100
NOT_ASKED = "; null when its kind is not among `kinds` or its upstream failed"


@strawberry.type(
    description="What `search` found, one list per kind. A kind is searched only when it is among `kinds` and its "
    "field is selected; its list is null when it was not asked for, or when its upstream failed (with an error "
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
        page = await context.upstreams.leads.search(
            LeadQuery(keywords=self.keywords), limit=self.first, offset=0, deadline=context.deadline
        )
        return [Lead.from_model(lead) for lead in page.items]

    @strawberry.field(
        description="Open Canadian tender notices whose English or French text holds the keywords, closing soonest "
        "first (upstream `canada`)" + NOT_ASKED + "."
    )
    async def tenders(self, info: Info) -> list[Tender] | None:
        if SearchKind.TENDER not in self.kinds:
            return None
        context = info.context
        page = await context.upstreams.canada.tenders(
            TenderQuery(keywords=(self.keywords,)), limit=self.first, offset=0, deadline=context.deadline
        )
        return [Tender.from_model(tender) for tender in page.items]

    @strawberry.field(
        description="Contract awards matching the keywords from SAM.gov (`q`) and Canadian contract history, asked "
        "concurrently and merged as in `contracts`; if one source fails, the other's results come back with an "
        "error naming it" + NOT_ASKED + "."
    )
    async def contracts(self, info: Info) -> list[Contract] | None:
        if SearchKind.CONTRACT not in self.kinds:
            return None
        connection = await contract_resolvers.contracts_connection(
            info.context,
            ContractQuery(keywords=self.keywords),
            positions=dict.fromkeys(contract_resolvers.CURSOR_KEYS, 0),
            limit=self.first,
            selected_fields=object_field_names(info.selected_fields),
            path=info.path.as_list(),
        )
        return [edge.node for edge in connection.edges]


def search_results(
    keywords: str, first: int, kinds: Iterable[SearchKind] | None, selected_fields: set[str]
) -> SearchResults:
    """Checks every argument before any upstream is asked (SAM's refusals of keywords included, when contracts
    are asked for and selected)."""
    text = keywords.strip()
    if not text:
        raise BadUserInput("`keywords` must not be empty", argument="keywords")
    if len(text) > MAX_KEYWORDS_CHARS:
        raise BadUserInput(f"`keywords` must be at most {MAX_KEYWORDS_CHARS} characters", argument="keywords")
    limit = page_size(first, MAX_RESULTS_PER_KIND)
    asked = frozenset(SearchKind) if kinds is None else frozenset(kinds)
    if not asked:
        raise BadUserInput("`kinds` must not be empty (omit it to search every kind)", argument="kinds")
    if SearchKind.CONTRACT in asked and "contracts" in selected_fields:
        try:
            contract_resolvers.check_for_sam(ContractQuery(keywords=text), limit)
        except BadUserInput as exc:
            raise BadUserInput(exc.message, argument="keywords") from None
    return SearchResults(keywords=text, first=limit, kinds=asked)
