"""What one `search` asks: its checked criteria, and per source (an upstream and a record kind) the query it is sent,
or why it is not asked.

A source is asked only when it can answer every filter given (its spec's `criteria`; a source that cannot could
only return non-matches). Filters of one kind only (`awarded` of contracts, `regions` of tenders, ...) leave the other
kinds out; each classification scheme is sent to the sources that carry it, and a source carrying none of the schemes
given is not asked. Every value is checked (formats, vocabularies) before any upstream is asked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from gateway import formats, vocabularies
from gateway.errors import BadUserInput
from gateway.models import ContractQuery, DateRange, LeadQuery, TenderQuery, ValueRange
from gateway.upstreams.spec import Query, RecordKind
from resolvers.context import UpstreamRegistry
from resolvers.lead_routing import LeadRoute, route_leads
from resolvers.source_selection import asked_by_default

SEARCH_KINDS = (RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT)
MAX_KEYWORDS_CHARS = 200
MAX_LIST_VALUES = 100
# Upstreams whose every record is in one country (their records carry none): asked under `countries` only when that
# country is among them. Any other tender or contract source cannot answer `countries`.
COUNTRY_OF_UPSTREAM: Mapping[str, str] = {
    "canada": "CA",
    "canadabuys": "CA",
    "contractsfinder": "GB",
    "findatender": "GB",
}

# Classification scheme -> per kind, the query field that filters on it.
SCHEME_FIELDS: Mapping[str, Mapping[RecordKind, str]] = {
    "NAICS": {RecordKind.CONTRACT: "naics"},
    "PSC": {RecordKind.CONTRACT: "product_or_service"},
    "GSIN": {RecordKind.TENDER: "gsins", RecordKind.CONTRACT: "gsins"},
    "UNSPSC": {RecordKind.TENDER: "unspscs", RecordKind.CONTRACT: "unspscs"},
    "CPV": {},
}
SCHEME_FORMATS: Mapping[str, formats.Format] = {
    "NAICS": formats.NAICS,
    "PSC": formats.PSC,
    "GSIN": formats.GSIN_PREFIX,
    "UNSPSC": formats.UNSPSC_PREFIX,
    "CPV": formats.Format.of("CPV code", "a CPV code or its first digits: 2 to 8 digits, e.g. 72", r"[0-9]{2,8}"),
}


def source_key(upstream: str, kind: RecordKind) -> str:
    """How a cursor names a source: `canada.tender`."""
    return f"{upstream}.{kind.value}"


@dataclass(frozen=True)
class SearchCriteria:
    """The checked arguments of one search (values canonical: codes upper-cased, vocabularies' spellings)."""

    keywords: str | None = None
    kinds: frozenset[RecordKind] = frozenset(SEARCH_KINDS)
    upstreams: frozenset[str] | None = None  # None: every configured one
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    trade_regions: tuple[str, ...] = ()
    world_regions: tuple[str, ...] = ()
    classifications: tuple[tuple[str, str], ...] = ()  # (scheme, code)
    closing: DateRange | None = None
    awarded: DateRange | None = None
    value: ValueRange | None = None

    def fingerprint(self) -> str:
        """Names the search a cursor belongs to (the page size is free to change)."""
        described = {
            "keywords": self.keywords,
            "kinds": sorted(kind.value for kind in self.kinds),
            "upstreams": sorted(self.upstreams) if self.upstreams is not None else None,
            "countries": self.countries,
            "regions": self.regions,
            "trade": self.trade_regions,
            "world": self.world_regions,
            "classifications": self.classifications,
            "closing": _span(self.closing),
            "awarded": _span(self.awarded),
            "value": None if self.value is None else [str(self.value.minimum), str(self.value.maximum)],
        }
        raw = json.dumps(described, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def codes(self, scheme: str) -> tuple[str, ...]:
        return tuple(code for given, code in self.classifications if given == scheme)


def _span(span: DateRange | None) -> list[str | None] | None:
    if span is None:
        return None
    return [day.isoformat() if day else None for day in (span.start, span.end)]


def check_keywords(keywords: str | None) -> str | None:
    if keywords is None:
        return None
    text = keywords.strip()
    if not text:
        return None
    if len(text) > MAX_KEYWORDS_CHARS:
        raise BadUserInput(f"`keywords` must be at most {MAX_KEYWORDS_CHARS} characters", argument="keywords")
    return text


def check_list(values: Sequence[str] | None, *, argument: str) -> tuple[str, ...]:
    given = tuple(value for value in values or () if value.strip())
    if len(given) > MAX_LIST_VALUES:
        raise BadUserInput(f"`{argument}` holds at most {MAX_LIST_VALUES} values", argument=argument)
    return given


def check_upstreams(upstreams: UpstreamRegistry, names: Sequence[str] | None) -> frozenset[str] | None:
    """The upstream names of `filter.sources`; BAD_USER_INPUT naming the accepted ones for an unknown name."""
    if names is None:
        return None
    searchable = [u.name for u in upstreams.all() if any(u.spec.serves(kind) for kind in SEARCH_KINDS)]
    given = [name.strip().lower() for name in check_list(names, argument="filter.sources")]
    unknown = [name for name in given if name not in searchable]
    if unknown:
        raise BadUserInput(
            f"`filter.sources`: unknown upstream(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(searchable)}",
            argument="filter.sources",
            accepted=searchable,
        )
    if not given:
        raise BadUserInput(
            "`filter.sources` must not be empty (omit it to ask every source)", argument="filter.sources"
        )
    return frozenset(given)


def check_classifications(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if len(pairs) > MAX_LIST_VALUES:
        argument = "filter.classifications"
        raise BadUserInput(f"`{argument}` holds at most {MAX_LIST_VALUES} values", argument=argument)
    checked: list[tuple[str, str]] = []
    for position, (scheme, code) in enumerate(pairs):
        text = SCHEME_FORMATS[scheme].check(code, argument=f"filter.classifications[{position}].code")
        if text is not None:
            checked.append((scheme, text.upper()))
    return tuple(dict.fromkeys(checked))


def check_vocabulary(
    values: Sequence[str] | None, vocabulary: vocabularies.Vocabulary, *, argument: str
) -> tuple[str, ...]:
    """Every value in `vocabulary`'s spelling (BAD_USER_INPUT naming the accepted values otherwise)."""
    return vocabulary.check(check_list(values, argument=argument), argument=argument)


@dataclass(frozen=True)
class PlannedSource:
    """One source of a search: asked with `query`, or not asked (`query` None) for `reason`."""

    key: str
    upstream: str
    kind: RecordKind
    query: Query | None
    reason: str | None = None

    @property
    def asked(self) -> bool:
        return self.query is not None


@dataclass(frozen=True)
class SearchPlan:
    criteria: SearchCriteria
    sources: tuple[PlannedSource, ...] = field(default_factory=tuple)

    @property
    def asked(self) -> tuple[PlannedSource, ...]:
        return tuple(source for source in self.sources if source.asked)


def kind_queries(criteria: SearchCriteria) -> dict[RecordKind, tuple[Query | None, str | None]]:
    """Per kind, the query every source of it would be sent (classifications added per source), or why the kind
    cannot answer the criteria at all."""
    keywords = criteria.keywords
    only: dict[str, RecordKind] = {}
    if criteria.regions:
        only["regions"] = RecordKind.TENDER
    if criteria.trade_regions or criteria.world_regions:
        only["tradeRegions/worldRegions"] = RecordKind.LEAD
    if criteria.awarded is not None:
        only["awarded"] = RecordKind.CONTRACT
    if criteria.value is not None:
        only["value"] = RecordKind.CONTRACT
    found: dict[RecordKind, tuple[Query | None, str | None]] = {}
    for kind in SEARCH_KINDS:
        if kind not in criteria.kinds:
            found[kind] = (None, "its kind is not among `filter.kinds`")
            continue
        excluding = [name for name, wanted in only.items() if wanted is not kind]
        if criteria.closing is not None and kind is RecordKind.CONTRACT:
            excluding.append("closing")
        if excluding:
            found[kind] = (None, f"its kind cannot answer `filter.{excluding[0]}`")
            continue
        query: Query
        if kind is RecordKind.LEAD:
            query = LeadQuery(
                keywords=keywords,
                countries=criteria.countries,
                trade_regions=criteria.trade_regions,
                world_regions=criteria.world_regions,
                ends=criteria.closing,
            )
        elif kind is RecordKind.TENDER:
            query = TenderQuery(
                keywords=(keywords,) if keywords else (), delivery_regions=criteria.regions, closing=criteria.closing
            )
        else:
            query = ContractQuery(keywords=keywords, awarded=criteria.awarded, value=criteria.value)
        found[kind] = (query, None)
    return found


def _with_classifications(query: Query, kind: RecordKind, criteria: SearchCriteria, answers: frozenset[str]) -> Query:
    """`query` with the codes of every scheme the source carries (`answers`: its criteria for `kind`)."""
    codes: dict[str, tuple[str, ...]] = {}
    for scheme, fields_of_kind in SCHEME_FIELDS.items():
        field_name = fields_of_kind.get(kind)
        if field_name is not None and field_name in answers:
            codes[field_name] = codes.get(field_name, ()) + criteria.codes(scheme)
    return replace(query, **{name: values for name, values in codes.items() if values})  # type: ignore[arg-type]


def plan_search(upstreams: UpstreamRegistry, criteria: SearchCriteria) -> SearchPlan:
    """Every declared source of the searched kinds, in kind then catalog order (the order of ties in the merge).

    Leads are routed per ITA source code (`lead_routing`): ITA is asked for the codes it serves (its `sources`), a
    successor for its own. A successor's leads are its tender notices: when its tenders are asked, its leads are not.
    """
    per_kind = kind_queries(criteria)
    sources: list[PlannedSource] = []
    for kind in SEARCH_KINDS:
        base, kind_reason = per_kind[kind]
        by_default = {upstream.name for upstream in asked_by_default(upstreams, kind)}
        route = route_leads(upstreams, base) if isinstance(base, LeadQuery) else None
        for upstream in upstreams.all():
            if not upstream.spec.serves(kind):
                continue
            key = source_key(upstream.name, kind)
            reason = kind_reason or _reason_not_to_ask(upstream.name, upstream.configured, kind, criteria)
            if reason is None and criteria.upstreams is None and upstream.name not in by_default:
                reason = "a successor serving the same records is asked instead (name it in `filter.sources`)"
            query: Query | None = None
            if reason is None and base is not None:
                answers = upstream.spec.criteria.get(kind, frozenset())
                query = _with_classifications(base, kind, criteria, answers) if criteria.classifications else base
                if criteria.classifications and query == base:
                    reason = "it carries none of the classification schemes of `filter.classifications`"
                    query = None
                elif unanswerable := upstream.spec.unanswerable(kind, query):
                    reason = f"it cannot answer `{unanswerable[0]}`"
                    query = None
                elif route is not None:
                    query, reason = _routed(route, upstream.name, query)
            sources.append(PlannedSource(key, upstream.name, kind, query, reason))
    return SearchPlan(criteria, _leads_shown_as_tenders(sources))


def _routed(route: LeadRoute, upstream: str, query: Query) -> tuple[Query | None, str | None]:
    """The lead query `upstream` is sent (its source codes), or why the routing does not ask it."""
    routed = route.queries.get(upstream)
    if routed is None:
        return None, "the lead sources it serves are served by another upstream here (GATEWAY_LEADS_<CODE>_FROM)"
    return (replace(query, sources=routed.sources) if isinstance(query, LeadQuery) else query), None


def _leads_shown_as_tenders(sources: list[PlannedSource]) -> tuple[PlannedSource, ...]:
    """The plan without the leads of a successor whose tenders are asked: they are the same notices."""
    tenders_asked = {source.upstream for source in sources if source.kind is RecordKind.TENDER and source.asked}
    return tuple(
        replace(source, query=None, reason="its leads are its tender notices, searched as tenders")
        if source.kind is RecordKind.LEAD and source.asked and source.upstream in tenders_asked
        else source
        for source in sources
    )


def _reason_not_to_ask(name: str, configured: bool, kind: RecordKind, criteria: SearchCriteria) -> str | None:
    if not configured:
        return "it is not configured on this gateway"
    if criteria.upstreams is not None and name not in criteria.upstreams:
        return "it is not among `filter.sources`"
    if criteria.countries and kind is not RecordKind.LEAD:
        country = COUNTRY_OF_UPSTREAM.get(name)
        if country is None:
            return "it cannot answer `filter.countries`"
        if country not in criteria.countries:
            return f"its records are all in {country}, which is not among `filter.countries`"
    return None


def declared_keys(upstreams: UpstreamRegistry) -> frozenset[str]:
    """Every source a search cursor may name."""
    return frozenset(
        source_key(upstream.name, kind)
        for upstream in upstreams.all()
        for kind in SEARCH_KINDS
        if upstream.spec.serves(kind)
    )
