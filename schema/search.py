"""The vocabulary of the cross-source `search`: one connection over leads, tenders and contracts, its facets and the
report of each source it asked."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from schema.common import DateRangeInput, PageInfo, ValueRangeInput
from schema.contracts import Contract
from schema.leads import Lead, LeadSourceMetadata
from schema.tenders import Tender


@strawberry.enum(description="A kind of result that `search` looks for, each from its own upstream(s).")
class SearchKind(Enum):
    LEAD = strawberry.enum_value(
        "LEAD",
        description="Trade leads by ITA source code: from ITA (upstream `ita`) or its live successors, as `leads` "
        "routes them (a successor's leads are its tender notices: searched as tenders when tenders are searched).",
    )
    TENDER = strawberry.enum_value(
        "TENDER",
        description="Tender notices (upstreams `canadabuys`, or the retired `canada`; `samopps`, `contractsfinder`, "
        "`findatender`).",
    )
    CONTRACT = strawberry.enum_value(
        "CONTRACT",
        description="Contract awards (upstreams `sam`, `canadabuys` or `canada`, `samopps`, `contractsfinder`, "
        "`findatender`, asked concurrently).",
    )


@strawberry.enum(description="A commodity or industry classification scheme.")
class ClassificationScheme(Enum):
    NAICS = strawberry.enum_value("NAICS", description="North American Industry Classification System (SAM).")
    PSC = strawberry.enum_value("PSC", description="US federal Product and Service Codes (SAM).")
    GSIN = strawberry.enum_value("GSIN", description="Goods and Services Identification Numbers (Canada).")
    UNSPSC = strawberry.enum_value("UNSPSC", description="UN Standard Products and Services Code (CanadaBuys).")
    CPV = strawberry.enum_value(
        "CPV", description="EU Common Procurement Vocabulary (counted from ITA's MCA leads; no source filters on it)."
    )


@strawberry.input(description="A classification code (a prefix: `N76` matches N7610) in one scheme.")
class ClassificationInput:
    scheme: ClassificationScheme = strawberry.field(description="The scheme of `code`.")
    code: str = strawberry.field(description="The code or a prefix of it, e.g. 541511 (NAICS), N7610 (GSIN).")


@strawberry.input(
    description="Filters of `search`: AND across filters, OR within a list. A source is asked only when it can "
    "answer every filter given (a source that cannot could only return non-matches): `countries`, `tradeRegions`, "
    "`worldRegions` and `closing` ask leads (and `closing` tenders); `regions` asks tenders; `awarded` and `value` "
    "ask contracts; each classification scheme asks the sources that carry it. Unknown countries and regions are "
    "refused (BAD_USER_INPUT naming the accepted values) before any upstream is asked. `sources` reports, per source, "
    "why one was not asked."
)
class SearchFilter:
    kinds: list[SearchKind] | None = strawberry.field(default=None, description="Kinds to search (default: all).")
    sources: list[str] | None = strawberry.field(
        default=None,
        description="Upstream names to ask (e.g. ita, canadabuys, sam, samopps, contractsfinder; default: every "
        "configured one).",
    )
    countries: list[str] | None = strawberry.field(
        default=None,
        description="ISO 3166-1 alpha-2 codes, any of them: a lead's country; Canadian tenders and contracts are in "
        "CA, UK ones (Contracts Finder, Find a Tender) in GB; SAM's tenders and contracts cannot be filtered by "
        "country (not asked).",
    )
    regions: list[str] | None = strawberry.field(
        default=None,
        description="Canadian delivery region codes of tenders, any of them: AB BC MB NB NL NS NT NU ON PE QC SK YT, "
        "NCR, CAN, ABL, USA, MEX, INT, X-INT.",
    )
    trade_regions: list[str] | None = strawberry.field(
        default=None, description="ITA trade regions of a lead's country, any of them (e.g. NAFTA)."
    )
    world_regions: list[str] | None = strawberry.field(
        default=None, description="ITA world regions of a lead's country, any of them (e.g. Pacific Rim)."
    )
    classifications: list[ClassificationInput] | None = strawberry.field(
        default=None, description="Classification codes, any of them; a source is asked for the schemes it carries."
    )
    closing: DateRangeInput | None = strawberry.field(
        default=None, description="Closing date of tenders, end date of leads."
    )
    awarded: DateRangeInput | None = strawberry.field(default=None, description="Award date of contracts.")
    value: ValueRangeInput | None = strawberry.field(default=None, description="Value of contracts.")


SearchResult = Annotated[
    Lead | Tender | Contract,
    strawberry.union("SearchResult", description="One result of `search`: a trade lead, a tender or a contract."),
]


@strawberry.type(description="One source that published a result of `search`.")
class SearchOrigin:
    upstream: str = strawberry.field(description="The upstream's name (as `sources` and errors name it).")
    id: strawberry.ID = strawberry.field(description="The global id of the record in that upstream.")


@strawberry.type(description="One result of `search` and its cursor.")
class SearchEdge:
    cursor: str = strawberry.field(description="Opaque position; pass it as `after` to continue after it.")
    node: SearchResult = strawberry.field(description="The result, from its preferred source.")
    upstream: str = strawberry.field(description="The upstream `node` comes from.")
    origins: list[SearchOrigin] = strawberry.field(
        description="Every source seen publishing this result, the preferred one first: an opportunity published "
        "twice (an ITA CANADA lead and the Canadian tender of the same reference or solicitation number; an award "
        "notice and its contract record) is shown once, from the preferred source."
    )
    relevance: float | None = strawberry.field(
        description="With `keywords`: the normalised rank of the result in its source, 1 - rank / total (the "
        "source's best is 1.0, its median about 0.5), the order the results are merged in; null without keywords."
    )


@strawberry.enum(description="What a facet counts.")
class SearchFacetName(Enum):
    SOURCE = "SOURCE"
    KIND = "KIND"
    COUNTRY = "COUNTRY"
    CLASSIFICATION = "CLASSIFICATION"
    CLOSING = "CLOSING"


@strawberry.type(description="How many results hold one value of a facet.")
class SearchFacetValue:
    value: str = strawberry.field(
        description="The value: an upstream name (SOURCE), LEAD/TENDER/CONTRACT (KIND), an ISO 3166-1 alpha-2 code "
        "(COUNTRY), `SCHEME:code` (CLASSIFICATION, e.g. GSIN:N7610) or a bucket (CLOSING: CLOSED, NEXT_7_DAYS, "
        "NEXT_30_DAYS, LATER, UNKNOWN; days from today, UTC)."
    )
    label: str | None = strawberry.field(description="A readable name of the value, when known.")
    count: int = strawberry.field(description="How many results hold it.")
    page_local: bool = strawberry.field(
        description="True when part of `count` is counted on this page only (a source that gives no counts over all "
        "its matches); false when every source counted all its matches."
    )


@strawberry.type(description="Counts of one facet of the results.")
class SearchFacet:
    name: SearchFacetName = strawberry.field(description="What is counted.")
    values: list[SearchFacetValue] = strawberry.field(description="The values, most frequent first.")


@strawberry.type(description="What one source answered to `search` on this page.")
class SearchSourceReport:
    upstream: str = strawberry.field(description="The upstream's name.")
    kind: SearchKind = strawberry.field(description="The kind of result asked of it.")
    asked: bool = strawberry.field(description="Whether it was asked for this page.")
    not_asked_because: str | None = strawberry.field(
        description="Why it was not asked: it cannot answer a filter, it was not selected, or it has no more results."
    )
    total_count: int | None = strawberry.field(description="Its number of matches, as it counts them.")
    error_code: str | None = strawberry.field(
        description="The error code when it failed (its results resume on a later page); null otherwise."
    )
    error_message: str | None = strawberry.field(description="What went wrong, when it failed.")
    retry_after_seconds: int | None = strawberry.field(description="When it asked the gateway to wait, how long.")
    served_stale: bool = strawberry.field(
        description="True when its answer came from the gateway's cache past its lifetime because the upstream "
        "failed (stale-if-error)."
    )
    cache_age_seconds: float | None = strawberry.field(description="Age of the cached answer it was served from.")
    last_updated: dt.datetime | None = strawberry.field(
        description="When the data behind it last changed, as the upstream says (ITA: the latest `sources_used`)."
    )
    publishers: list[LeadSourceMetadata] = strawberry.field(
        description="Freshness of each publisher behind it, when the upstream says (ITA's `sources_used`)."
    )


@strawberry.type(
    description="One page of `search`: results of every kind merged into one order (newest first; by relevance "
    "with keywords), one cursor holding each source's position."
)
class SearchConnection:
    edges: list[SearchEdge] = strawberry.field(description="The results of this page, in order.")
    page_info: PageInfo = strawberry.field(
        description="Where this page sits; `hasNextPage` stays true while a failed source may still have results."
    )
    total_count: int | None = strawberry.field(
        description="The sum of the sources' numbers of matches: an upper bound, since a result published by two "
        "sources counts twice; null when a source failed or does not say."
    )
    facets: list[SearchFacet] = strawberry.field(
        description="Counts per source, kind, country, classification and closing-date bucket."
    )
    sources: list[SearchSourceReport] = strawberry.field(
        description="Per source: asked or why not, its count, its error, its freshness."
    )

    @strawberry.field(description="The results of this page without cursors.")
    def nodes(self) -> list[SearchResult]:
        return [edge.node for edge in self.edges]
