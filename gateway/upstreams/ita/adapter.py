"""ITA Trade Leads v2 (api.trade.gov): search parameters, the search envelope, and the client.

Both envelopes the API has served are read: the v2-native one (`sources_used` entries with `import_rate`,
`aggregations` before `results`) and the later endpointme one (no `import_rate`, `aggregations` optional).

Money: ITA states no currency in its responses; its documentation and the sources' own systems give them:
UK `min/max_contract_value` are pounds (GBP, per the docs), STATE `project_size` is U.S. dollars (USD, per the docs),
AUSTRALIA `contract_value` comes from AusTender, which publishes Australian dollars (AUD; the docs only say "value").
A money field of a source whose currency is not known is dropped rather than given a guessed currency.

A result that has no `id` or no `source` is skipped (it could not be addressed or labelled); any other unreadable
field becomes None or empty, so one malformed lead never sinks a page.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import quote

from gateway.errors import UpstreamBadResponse
from gateway.models import (
    MAX_PAGE_SIZE,
    Country,
    DateRange,
    Facet,
    FacetCount,
    Lead,
    LeadQuery,
    Money,
    Page,
    SourceMetadata,
)
from gateway.upstreams import wire
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import NO_CONTENT, EmptyAnswer, UpstreamFetch
from gateway.upstreams.ita.spec import SPEC
from gateway.upstreams.spec import RecordKind, UpstreamSpec

NAME = SPEC.name
SEARCH_PATH = "v2/trade_leads/search"
LEAD_PATH = "v2/trade_leads/"
# ITA wants both bounds of a date range; an open bound is filled with a date outside any lead's life.
OPEN_RANGE_START = date(1900, 1, 1)
OPEN_RANGE_END = date(2999, 12, 31)

SOURCE_CURRENCIES: Mapping[str, str] = {"UK": "GBP", "AUSTRALIA": "AUD", "STATE": "USD"}
TAG_SEPARATOR = ";"
SELECTIONS_KEPT = 64  # readers (and page parsers) planned per field selection, least recently used dropped
# ITA's aggregations (v2 `aggregate_terms_by`) -> the facet names of `gateway.models.Facet`.
AGGREGATION_FACETS: Mapping[str, str] = {
    "countries": "country",
    "sources": "source",
    "trade_regions": "trade_region",
    "world_regions": "world_region",
}

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeadSearch:
    """A page of leads and the `sources_used` ITA answered with it (when each source was last updated)."""

    page: Page[Lead]
    sources: tuple[SourceMetadata, ...]


def build_params(query: LeadQuery, *, limit: int, offset: int) -> dict[str, str]:
    """ITA search parameters; `size` is clamped to 0..100 (0 asks for `total` and `sources_used` only, and ITA's
    special `size=-1`, "everything, unfiltered", is never sent). List values are comma-joined: ITA splits on
    commas, so a controlled term that contains one (e.g. "N8415: Clothing, Special Purpose") cannot be matched."""
    params = {"size": str(min(max(limit, 0), MAX_PAGE_SIZE)), "offset": str(max(offset, 0))}
    keywords = (query.keywords or "").strip()
    if keywords:
        params["q"] = keywords
    lists = {
        "sources": tuple(source.upper() for source in query.sources),
        "countries": tuple(country.upper() for country in query.countries),
        "industries": query.industries,
        "trade_regions": query.trade_regions,
        "world_regions": query.world_regions,
    }
    for name, values in lists.items():
        joined = ",".join(stripped for value in values if (stripped := value.strip()))
        if joined:
            params[name] = joined
    ranges = {"publish_date": query.published, "end_date": query.ends, "publish_date_amended": query.amended}
    for name, bounds in ranges.items():
        encoded = _date_range(bounds)
        if encoded is not None:
            params[name] = encoded
    return params


def _date_range(bounds: DateRange | None) -> str | None:
    if bounds is None or (bounds.start is None and bounds.end is None):
        return None
    start = bounds.start or OPEN_RANGE_START
    end = bounds.end or OPEN_RANGE_END
    return f"{start.isoformat()} TO {end.isoformat()}"


def parse_page(payload: object, fields: frozenset[str] | None = None) -> Page[Lead]:
    """The leads of a search envelope (`fields` of each: see `parse_lead`); raises UpstreamBadResponse unless it is
    an object with a `results` list."""
    envelope, results = _envelope(payload)
    leads = tuple(lead for item in results if (lead := parse_lead(item, fields=fields)) is not None)
    if len(leads) < len(results):
        _log.warning("ita: skipped %d of %d results without id or source", len(results) - len(leads), len(results))
    return Page(
        items=leads, total=wire.integer(envelope.get("total")), offset=wire.integer(envelope.get("offset")) or 0
    )


def parse_search(payload: object) -> LeadSearch:
    """A search envelope: its page of leads (with the envelope's aggregations as facets and its `sources_used` as
    freshness) and its `sources_used`."""
    sources = parse_sources_used(payload)
    page = replace(parse_page(payload), facets=parse_aggregations(payload), freshness=sources)
    return LeadSearch(page, sources)


@functools.lru_cache(maxsize=SELECTIONS_KEPT)
def selected_search_parser(fields: frozenset[str]) -> Callable[[object], LeadSearch]:
    """`parse_search` reading only `fields` of each lead and no aggregations (a `leads` page shows no facets): one
    parser per selection, so that the fetch path shares a flight and a parsed answer only between equal ones."""

    def parse(payload: object) -> LeadSearch:
        sources = parse_sources_used(payload)
        return LeadSearch(replace(parse_page(payload, fields), freshness=sources), sources)

    return parse


def parse_aggregations(payload: object) -> tuple[Facet, ...]:
    """The envelope's `aggregations` (counts over every match): `{countries: [{key, doc_count}], ...}`; unreadable
    buckets are skipped, an absent or malformed block is no facets."""
    block = _envelope(payload)[0].get("aggregations")
    if not isinstance(block, dict):
        return ()
    facets: list[Facet] = []
    for field_name, facet_name in AGGREGATION_FACETS.items():
        buckets = block.get(field_name)
        if not isinstance(buckets, list):
            continue
        counts = tuple(
            FacetCount(key, count)
            for bucket in buckets
            if isinstance(bucket, dict)
            and (key := wire.text(bucket, "key")) is not None
            and (count := wire.integer(bucket.get("doc_count"))) is not None
        )
        facets.append(Facet(facet_name, counts))
    return tuple(facets)


def parse_sources_used(payload: object) -> tuple[SourceMetadata, ...]:
    """The envelope's `sources_used`; unreadable entries are skipped, `''` timestamps become None."""
    entries = _envelope(payload)[0].get("sources_used")
    if not isinstance(entries, list):
        return ()
    return tuple(
        SourceMetadata(
            source=source,
            last_updated=wire.moment(entry, "source_last_updated"),
            last_imported=wire.moment(entry, "last_imported"),
        )
        for entry in entries
        if isinstance(entry, dict) and (source := wire.text(entry, "source")) is not None
    )


def _envelope(payload: object) -> tuple[dict[str, object], list[object]]:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(results, list):
        raise UpstreamBadResponse(NAME, "ita answered a search envelope without a results list")
    return payload, results


def parse_lead_object(payload: object, lead_id: str) -> Lead | None:
    """The body of `GET v2/trade_leads/{lead_id}`: one lead object (its id defaults to `lead_id`)."""
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, "ita answered a lead that is not an object")
    return parse_lead(payload, fallback_id=lead_id)


def parse_lead(item: object, *, fallback_id: str | None = None, fields: frozenset[str] | None = None) -> Lead | None:
    """One result object as a Lead, or None when it is not an object or has no id or source.

    `fields`: the Lead fields to read (`id`, `source` and `title` always are); the others keep their defaults.
    None reads every field."""
    if not isinstance(item, dict):
        return None
    lead_id = wire.text(item, "id") or fallback_id
    source = wire.text(item, "source")
    if lead_id is None or source is None:
        return None
    source = source.upper()
    currency = SOURCE_CURRENCIES.get(source)
    readers = LEAD_READERS.items() if fields is None else _readers_of(fields)
    return Lead(id=lead_id, source=source, **{name: read(item, currency) for name, read in readers})


def _country(item: Mapping[str, object], currency: str | None) -> Country | None:
    del currency
    code, name = wire.text(item, "country"), wire.text(item, "country_name")
    return Country(code, name) if code or name else None


_LeadReader = Callable[[Mapping[str, object], str | None], Any]
# What each Lead field (besides `id` and `source`) is read from, given the item and its source's currency.
LEAD_READERS: Mapping[str, _LeadReader] = {
    "title": lambda item, _: wire.text(item, "title"),
    "description": lambda item, _: wire.text(item, "description"),
    "url": lambda item, _: wire.text(item, "url"),
    "urls": lambda item, _: wire.strings(item, "urls"),
    "country": _country,
    "specific_location": lambda item, _: wire.text(item, "specific_location"),
    "trade_regions": lambda item, _: wire.strings(item, "trade_regions"),
    "world_regions": lambda item, _: wire.strings(item, "world_regions"),
    "industries": lambda item, _: wire.strings(item, "industry"),
    "ita_industries": lambda item, _: wire.strings(item, "ita_industries"),
    "categories": lambda item, _: wire.strings(item, "categories"),
    "tags": lambda item, _: wire.strings(item, "tags", separator=TAG_SEPARATOR),
    "publish_date": lambda item, _: wire.day(item, "publish_date"),
    "publish_date_amended": lambda item, _: wire.day(item, "publish_date_amended"),
    "start_date": lambda item, _: wire.day(item, "start_date"),
    "end_date": lambda item, _: wire.day(item, "end_date"),
    "status": lambda item, _: wire.text(item, "status"),
    "notice_type": lambda item, _: wire.text(item, "notice_type"),
    "reference_number": lambda item, _: wire.text(item, "reference_number"),
    "contract_number": lambda item, _: wire.text(item, "contract_number"),
    "project_number": lambda item, _: wire.text(item, "project_number"),
    "procurement_organization": lambda item, _: wire.text(item, "procurement_organization"),
    "procurement_office": lambda item, _: wire.text(item, "procurement_office"),
    "procurement_method": lambda item, _: wire.text(item, "procurement_method"),
    "agency": lambda item, _: wire.text(item, "agency"),
    "contact": lambda item, _: wire.text(item, "contact"),
    "funding_source": lambda item, _: wire.text(item, "funding_source"),
    "borrowing_entity": lambda item, _: wire.text(item, "borrowing_entity"),
    "classification_code": lambda item, _: wire.text(item, "classification_code"),
    "min_value": lambda item, currency: _money(item, "min_contract_value", currency),
    "max_value": lambda item, currency: _money(item, "max_contract_value", currency),
    "contract_value": lambda item, currency: _money(item, "contract_value", currency),
    "project_size": lambda item, currency: _money(item, "project_size", currency),
}


@functools.lru_cache(maxsize=SELECTIONS_KEPT)
def _readers_of(fields: frozenset[str]) -> tuple[tuple[str, _LeadReader], ...]:
    return tuple((name, read) for name, read in LEAD_READERS.items() if name in fields or name == "title")


def _money(item: Mapping[str, object], key: str, currency: str | None) -> Money | None:
    return None if currency is None else wire.money(item, key, currency=currency)


class TradeLeadsClient:
    """ITA trade leads (LeadClient) through the shared fetch path, which caches ITA's JSON, never parsed leads."""

    def __init__(self, spec: UpstreamSpec, fetch: UpstreamFetch) -> None:
        self.spec = spec
        self._fetch = fetch

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        """`fields`: the Lead fields the caller reads (None: every field, and the aggregations as facets)."""
        parse = parse_search if fields is None else selected_search_parser(fields)
        return (await self.search_with_sources(query, limit=limit, offset=offset, deadline=deadline, parse=parse)).page

    async def search_with_sources(
        self,
        query: LeadQuery,
        *,
        limit: int,
        offset: int,
        deadline: Deadline,
        parse: Callable[[object], LeadSearch] = parse_search,
    ) -> LeadSearch:
        """One upstream answer read twice: the page and its `sources_used` (same cache entry as `search_leads`)."""
        nothing = LeadSearch(Page(items=(), total=0, offset=max(offset, 0)), ())
        return await self._fetch.get(
            SEARCH_PATH,
            build_params(query, limit=limit, offset=offset),
            kind=RecordKind.LEAD,
            parse=parse,
            empty=EmptyAnswer(nothing),
            deadline=deadline,
        )

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """Every source's freshness, from a `size=0` search (ITA then answers `total` and `sources_used` only)."""
        return (await self.search_with_sources(LeadQuery(), limit=0, offset=0, deadline=deadline)).sources

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None:
        """`GET v2/trade_leads/{id}`; None when ITA answers 404 (or 204) or the id is blank."""
        lead_id = key.strip()
        if not lead_id:
            return None
        return await self._fetch.get(
            LEAD_PATH + quote(lead_id, safe=""),
            {},
            kind=RecordKind.LEAD,
            parse=lambda payload: parse_lead_object(payload, lead_id),
            empty=EmptyAnswer(None, frozenset({NO_CONTENT, 404})),
            deadline=deadline,
        )
