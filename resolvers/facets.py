"""Facets of one `search` page: counts per source, kind, country, classification and closing-date bucket.

Counts over every match come from the sources themselves: their numbers of matches (sources and kinds) and their own
aggregations (ITA's counts per country, `Page.facets`). Where a source gives none, its part is counted over the
records shown on this page and the value is marked page-local. Classifications and closing dates are always
page-local: no source aggregates them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gateway import vocabularies
from gateway.models import Contract, ContractSource, Lead, Tender
from gateway.upstreams.spec import RecordKind
from resolvers.dedup import Record
from resolvers.search_merge import SearchPage
from resolvers.search_plan import COUNTRY_OF_UPSTREAM, SearchPlan

COUNTRY_FACET = "country"  # the name of an upstream's per-country aggregation (`gateway.models.Facet`)
KIND_LABELS = {RecordKind.LEAD: "Trade leads", RecordKind.TENDER: "Tenders", RecordKind.CONTRACT: "Contracts"}
# Closing-date buckets, in days from today (UTC): CLOSED before today, NEXT_7_DAYS today to +6, NEXT_30_DAYS +7
# to +29, LATER from +30; UNKNOWN without a closing date.
CLOSING_BUCKETS = ("CLOSED", "NEXT_7_DAYS", "NEXT_30_DAYS", "LATER", "UNKNOWN")
_CODED_TERM = re.compile(r"^\s*([A-Za-z0-9]+)\s*:\s*(.*)$")  # "621111: Offices of Physicians", "N7610: Books"
_CPV_CATEGORY = re.compile(r"^CPV/([0-9]{2,8})")


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    page_local: bool
    label: str | None = None


@dataclass(frozen=True)
class FacetCounts:
    name: str  # SOURCE, KIND, COUNTRY, CLASSIFICATION, CLOSING
    values: tuple[FacetValue, ...]


class _Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.local: set[str] = set()
        self.labels: dict[str, str] = {}

    def add(self, value: str, count: int = 1, *, page_local: bool, label: str | None = None) -> None:
        self.counts[value] += count
        if page_local:
            self.local.add(value)
        if label and value not in self.labels:
            self.labels[value] = label

    def values(self, order: Iterable[str] | None = None) -> tuple[FacetValue, ...]:
        keys = [key for key in order if key in self.counts] if order is not None else self._by_count()
        return tuple(FacetValue(key, self.counts[key], key in self.local, self.labels.get(key)) for key in keys)

    def _by_count(self) -> list[str]:
        return sorted(self.counts, key=lambda key: (-self.counts[key], key))


def search_facets(plan: SearchPlan, page: SearchPage, *, today: dt.date, titles: dict[str, str]) -> list[FacetCounts]:
    """`titles`: upstream name -> its title (the label of a SOURCE value)."""
    sources, kinds, countries = _Tally(), _Tally(), _Tally()
    shown_by_source: Counter[str] = Counter(shown.hit.source.key for shown in page.shown)
    for source in plan.asked:
        answer = page.answered.get(source.key)
        if answer is None and source.key not in page.end.done:
            continue  # failed: nothing known of it on this page
        total = page.total(source.key)
        count, local = (shown_by_source[source.key], True) if total is None else (total, False)
        sources.add(source.upstream, count, page_local=local, label=titles.get(source.upstream))
        kinds.add(source.kind.name, count, page_local=local, label=KIND_LABELS[source.kind])
        aggregated = next((facet for facet in answer.facets if facet.name == COUNTRY_FACET), None) if answer else None
        if aggregated is not None:
            for bucket in aggregated.counts:
                code = vocabularies.country_code(bucket.value) or bucket.value
                countries.add(code, bucket.count, page_local=False, label=vocabularies.COUNTRIES.labels.get(code))
            continue
        for shown in page.shown:
            if shown.hit.source.key == source.key:
                for code in _countries(source.upstream, shown.hit.record):
                    countries.add(code, page_local=True, label=vocabularies.COUNTRIES.labels.get(code))
    classifications, closing = _Tally(), _Tally()
    for shown in page.shown:
        record = shown.hit.record
        for scheme, code, label in dict.fromkeys(_classifications(record)):
            classifications.add(f"{scheme}:{code}", page_local=True, label=label)
        if not isinstance(record, Contract):
            closing.add(_closing_bucket(record, today), page_local=True)
    return [
        FacetCounts("SOURCE", sources.values()),
        FacetCounts("KIND", kinds.values()),
        FacetCounts("COUNTRY", countries.values()),
        FacetCounts("CLASSIFICATION", classifications.values()),
        FacetCounts("CLOSING", closing.values(CLOSING_BUCKETS)),
    ]


def _countries(upstream: str, record: Record) -> tuple[str, ...]:
    if isinstance(record, Lead):
        code = vocabularies.country_code(record.country.code if record.country else None)
        return (code,) if code else ()
    if isinstance(record, Contract) and record.source is ContractSource.SAM:
        place = record.place_of_performance
        code = vocabularies.country_code(place.code if place else None)
        return (code,) if code else ()
    country = COUNTRY_OF_UPSTREAM.get(upstream)
    return (country,) if country else ()


def _classifications(record: Record) -> Iterator[tuple[str, str, str | None]]:
    if isinstance(record, Tender):
        for gsin in record.gsins:
            yield "GSIN", gsin.upper(), None
        if record.notice is not None:
            for unspsc in record.notice.unspscs:
                yield "UNSPSC", unspsc, None
        return
    if isinstance(record, Contract):
        if record.naics is not None and record.naics.code:
            yield "NAICS", record.naics.code, record.naics.name
        if record.product_or_service is not None and record.product_or_service.code:
            yield "PSC", record.product_or_service.code.upper(), record.product_or_service.name
        for gsin in record.gsins:
            yield "GSIN", gsin.upper(), None
        if record.notice is not None:
            for unspsc in record.notice.unspscs:
                yield "UNSPSC", unspsc, None
        return
    scheme = {"CANADA": "GSIN", "FBO": "NAICS"}.get(record.source)
    for term in record.industries if scheme else ():
        matched = _CODED_TERM.match(term)
        if matched:
            yield scheme, matched.group(1).upper(), matched.group(2) or None  # type: ignore[misc]
    if record.source == "FBO" and record.classification_code:
        yield "PSC", record.classification_code.upper(), None
    for category in record.categories:
        cpv = _CPV_CATEGORY.match(category)
        if cpv:
            yield "CPV", cpv.group(1), None


def _closing_bucket(record: Lead | Tender, today: dt.date) -> str:
    closes = record.end_date if isinstance(record, Lead) else record.closing_date
    if closes is None:
        return "UNKNOWN"
    days = (closes - today).days
    if days < 0:
        return "CLOSED"
    if days < 7:
        return "NEXT_7_DAYS"
    if days < 30:
        return "NEXT_30_DAYS"
    return "LATER"
