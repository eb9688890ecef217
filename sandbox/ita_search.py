"""Search semantics of ITA Trade Leads v2: parameter parsing, filters, `q` matching and scoring, aggregations.

Imitates `V2::TradeLead::Query` over Elasticsearch with plain inverted indexes, fast enough for 120k leads.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from sandbox.ita_data import leads_for
from sandbox.ita_leads import SOURCES, Lead, LeadSet
from sandbox.ita_taxonomy import fold, places_in

PERMITTED_PARAMETERS = frozenset(
    {
        "api_key",
        "callback",
        "format",
        "offset",
        "size",
        "countries",
        "industries",
        "q",
        "sources",
        "publish_date",
        "end_date",
        "publish_date_amended",
        "trade_regions",
        "world_regions",
    }
)
DATE_FIELDS = ("publish_date", "end_date", "publish_date_amended")
SEARCHED_FIELDS = ("title", "description", "industry", "ita_industries", "tags", "procurement_organization")
DEFAULT_SIZE = 10
MAX_SIZE = 100
# Ruby's to_i has no upper bound; offsets beyond any dataset behave the same, so cap them.
MAX_OFFSET = 2**62
AGGREGATIONS = ("countries", "sources", "trade_regions", "world_regions")

_DATE_RANGE = re.compile(r"^(\d{4}(?:-\d{2}-\d{2})?) TO (\d{4}(?:-\d{2}-\d{2})?)$")
_RUBY_INTEGER = re.compile(r"^\s*([+-]?\d+(?:_\d+)*)")
_TOKEN = re.compile(r"[a-z0-9]+")


class SearchError(Exception):
    """A request upstream refuses with 400; `body` is its exact JSON error body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.body = body


@dataclass(frozen=True)
class DateRange:
    low: str
    high: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, str) and self.low <= day <= self.high


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[str, ...] = ()
    text_matches_nothing: bool = False  # a q of mere punctuation: Elasticsearch's match finds nothing
    q_countries: frozenset[str] | None = None
    q_world_regions: frozenset[str] | None = None
    countries: frozenset[str] | None = None
    industries: frozenset[str] | None = None
    sources: tuple[str, ...] = SOURCES
    trade_regions: frozenset[str] | None = None
    world_regions: frozenset[str] | None = None
    date_ranges: tuple[tuple[str, DateRange], ...] = ()
    size: int = DEFAULT_SIZE
    offset: int = 0


def ruby_to_i(text: str) -> int:
    """Ruby's String#to_i: leading integer or 0 ('12abc' -> 12, 'abc' -> 0)."""
    match = _RUBY_INTEGER.match(text)
    if match is None:
        return 0
    digits = match.group(1).replace("_", "")
    if len(digits.lstrip("+-")) > 18:
        return -MAX_OFFSET if digits.startswith("-") else MAX_OFFSET
    return int(digits)


def unknown_parameters(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(name for name in names if name not in PERMITTED_PARAMETERS))


def parse_date_range(text: str) -> DateRange:
    """`YYYY-mm-dd TO YYYY-mm-dd`, either bound may be a bare year; raises SearchError otherwise."""
    match = _DATE_RANGE.match(text)
    if match is None:
        raise SearchError({"error": "Invalid Date Range Format"})
    low, high = match.groups()
    try:
        for bound in (low, high):
            if len(bound) == 10:
                date.fromisoformat(bound)
            elif int(bound) == 0:
                raise ValueError(bound)
    except ValueError as exc:
        raise SearchError({"error": "Invalid Date Range Format"}) from exc
    return DateRange(low if len(low) == 10 else f"{low}-01-01", high if len(high) == 10 else f"{high}-12-31")


def _split(text: str) -> frozenset[str]:
    return frozenset(text.split(","))


def parse_search(params: Mapping[str, str]) -> SearchQuery:
    """Parameters (names already checked) to a query; empty values are dropped as upstream does."""
    given = {name: value for name, value in params.items() if value != ""}
    date_ranges = tuple((name, parse_date_range(given[name])) for name in DATE_FIELDS if name in given)
    offset = ruby_to_i(given.get("offset", "0"))
    if offset < 0:
        raise SearchError({"errors": ["Offset must be greater than or equal to 0"]})
    size = min(ruby_to_i(given["size"]), MAX_SIZE) if "size" in given else DEFAULT_SIZE
    terms: tuple[str, ...] = ()
    q_countries = q_regions = None
    if "q" in given:
        remaining, named_countries, named_regions = places_in(fold(given["q"]))
        terms = tuple(dict.fromkeys(_TOKEN.findall(remaining)))
        q_countries = frozenset(named_countries) or None
        q_regions = frozenset(named_regions) or None
    sources = SOURCES
    if "sources" in given:
        wanted = set(given["sources"].upper().split(","))
        sources = tuple(source for source in SOURCES if source in wanted) or SOURCES
    return SearchQuery(
        terms=terms,
        text_matches_nothing="q" in given and not terms and not q_countries and not q_regions,
        q_countries=q_countries,
        q_world_regions=q_regions,
        countries=frozenset(code.strip() for code in given["countries"].upper().split(","))
        if "countries" in given
        else None,
        industries=frozenset(term.strip().lower() for term in given["industries"].split(","))
        if "industries" in given
        else None,
        sources=sources,
        trade_regions=_split(given["trade_regions"]) if "trade_regions" in given else None,
        world_regions=_split(given["world_regions"]) if "world_regions" in given else None,
        date_ranges=date_ranges,
        size=max(size, 0),
        offset=offset,
    )


@dataclass(frozen=True)
class SearchResult:
    total: int
    leads: list[Lead]
    aggregations: dict[str, list[dict[str, Any]]]


def _as_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (str(value),)


class LeadIndex:
    """The dataset in upstream's default order (publish_date desc, country asc) with inverted indexes."""

    def __init__(self, lead_set: LeadSet) -> None:
        self.metadata = lead_set.metadata
        self.leads: list[Lead] = sorted(lead_set.leads, key=_default_order_key)
        self.position_of_id = {lead.id: position for position, lead in enumerate(self.leads)}
        self._by_source: dict[str, list[int]] = {}
        self._by_country: dict[str, list[int]] = {}
        self._by_industry: dict[str, list[int]] = {}
        self._by_trade_region: dict[str, list[int]] = {}
        self._by_world_region: dict[str, list[int]] = {}
        self._postings: dict[str, tuple[array[int], array[int]]] = {}
        self._dates: dict[str, tuple[list[str], list[int]]] = {}
        self.country_of: list[str | None] = []
        self.source_of: list[str] = []
        self.regions_of: list[int] = []
        self._region_pairs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self._build()
        self._everything = self._aggregate(range(len(self.leads)))

    def _build(self) -> None:
        region_ids: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        dated: dict[str, list[tuple[str, int]]] = {name: [] for name in DATE_FIELDS}
        for position, lead in enumerate(self.leads):
            country = lead.get("country")
            country_code = country if isinstance(country, str) else None
            self.country_of.append(country_code)
            self.source_of.append(lead.source)
            self._by_source.setdefault(lead.source, []).append(position)
            if country_code:
                self._by_country.setdefault(country_code, []).append(position)
            trade, world = _as_list(lead.get("trade_regions")), _as_list(lead.get("world_regions"))
            self.regions_of.append(region_ids.setdefault((trade, world), len(region_ids)))
            for region in trade:
                self._by_trade_region.setdefault(region, []).append(position)
            for region in world:
                self._by_world_region.setdefault(region, []).append(position)
            for term in {*_as_list(lead.get("industry")), *_as_list(lead.get("ita_industries"))}:
                self._by_industry.setdefault(term.lower(), []).append(position)
            for name in DATE_FIELDS:
                day = lead.get(name)
                if isinstance(day, str):
                    dated[name].append((day, position))
            self._index_text(position, lead)
        self._region_pairs = list(region_ids)
        for name, pairs in dated.items():
            pairs.sort()
            self._dates[name] = ([day for day, _ in pairs], [position for _, position in pairs])

    def _index_text(self, position: int, lead: Lead) -> None:
        words: list[str] = []
        for name in SEARCHED_FIELDS:
            for text in _as_list(lead.get(name)):
                words.extend(_TOKEN.findall(fold(text)))
        for word, frequency in Counter(words).items():
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = (array("i"), array("H"))
            postings[0].append(position)
            postings[1].append(min(frequency, 65_535))

    def lead(self, lead_id: str) -> Lead | None:
        position = self.position_of_id.get(lead_id)
        return None if position is None else self.leads[position]

    def search(self, query: SearchQuery) -> SearchResult:
        filters = self._filters(query)
        scores: dict[int, int] | None = None
        if query.terms:
            scores = self.scores(query.terms)
            filters.append(scores.keys())
        if query.text_matches_nothing:
            filters.append(())
        hits = _intersect(filters)
        total = len(hits) if hits is not None else len(self.leads)
        page: Sequence[int]
        wanted = query.offset + query.size
        if hits is None:
            page = range(query.offset, min(wanted, total))
            aggregations = self._everything
        else:
            if scores is not None:
                score_of = scores
                top = heapq.nsmallest(wanted, hits, key=lambda position: (-score_of[position], position))
            else:
                top = heapq.nsmallest(wanted, hits)
            page = top[query.offset :]
            aggregations = self._aggregate(hits)
        return SearchResult(total, [self.leads[position] for position in page], aggregations)

    def _filters(self, query: SearchQuery) -> list[Collection[int]]:
        filters: list[Collection[int]] = []
        if query.sources != SOURCES:
            filters.append(_union(self._by_source, query.sources))
        for wanted, index in (
            (query.countries, self._by_country),
            (query.q_countries, self._by_country),
            (query.industries, self._by_industry),
            (query.trade_regions, self._by_trade_region),
            (query.world_regions, self._by_world_region),
            (query.q_world_regions, self._by_world_region),
        ):
            if wanted is not None:
                filters.append(_union(index, wanted))
        for name, wanted_range in query.date_ranges:
            days, positions = self._dates[name]
            filters.append(positions[bisect_left(days, wanted_range.low) : bisect_right(days, wanted_range.high)])
        return filters

    def scores(self, terms: Sequence[str]) -> dict[int, int]:
        """Leads holding every term (AND over the searched fields), scored by summed term frequency."""
        postings = [self._postings.get(term) for term in terms]
        if any(found is None for found in postings):
            return {}
        ordered = sorted((found for found in postings if found is not None), key=lambda found: len(found[0]))
        scores = dict(zip(ordered[0][0], ordered[0][1], strict=True))
        for positions, frequencies in ordered[1:]:
            if not scores:
                break
            frequency_of = dict(zip(positions, frequencies, strict=True))
            scores = {pos: score + frequency_of[pos] for pos, score in scores.items() if pos in frequency_of}
        return scores

    def _aggregate(self, hits: Sequence[int] | set[int] | range) -> dict[str, list[dict[str, Any]]]:
        if not hits:
            return {}
        picked = list(hits)
        countries = Counter(_pick(self.country_of, picked))
        countries.pop(None, None)
        region_counts = Counter(_pick(self.regions_of, picked))
        trade: Counter[str] = Counter()
        world: Counter[str] = Counter()
        for region_id, count in region_counts.items():
            trade_regions, world_regions = self._region_pairs[region_id]
            for region in trade_regions:
                trade[region] += count
            for region in world_regions:
                world[region] += count
        counters: dict[str, Counter[Any]] = {
            "countries": countries,
            "sources": Counter(_pick(self.source_of, picked)),
            "trade_regions": trade,
            "world_regions": world,
        }
        return {name: _buckets(counters[name]) for name in AGGREGATIONS}


def _pick(values: list[Any], positions: list[int]) -> tuple[Any, ...]:
    if len(positions) == 1:
        return (values[positions[0]],)
    return itemgetter(*positions)(values)  # type: ignore[no-any-return]


def _buckets(counter: Counter[Any]) -> list[dict[str, Any]]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [{"key": key, "doc_count": count} for key, count in ordered]


def _union(index: Mapping[str, list[int]], keys: Iterable[str]) -> list[int] | set[int]:
    found = [index[key] for key in keys if key in index]
    if len(found) == 1:
        return found[0]
    return set().union(*found)


def _intersect(filters: list[Collection[int]]) -> set[int] | None:
    """None when nothing filters (every lead is a hit)."""
    if not filters:
        return None
    sized = sorted(filters, key=len)
    result = set(sized[0])
    for other in sized[1:]:
        if not result:
            break
        result.intersection_update(other)
    return result


def _default_order_key(lead: Lead) -> tuple[Any, ...]:
    published = lead.get("publish_date")
    ordinal = date.fromisoformat(published).toordinal() if isinstance(published, str) else 0
    country = lead.get("country")
    return (-ordinal, country if isinstance(country, str) else "\uffff", SOURCES.index(lead.source), lead.id)


@lru_cache(maxsize=8)
def index_for(seed: int, scale: int, today: date, samples_dir: Path | None) -> LeadIndex:
    return LeadIndex(leads_for(seed, scale, today, samples_dir))
