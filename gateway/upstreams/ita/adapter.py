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

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import ResponseCache, cache_key
from gateway.errors import UpstreamBadResponse, UpstreamRejected
from gateway.models import Country, DateRange, Lead, LeadQuery, Money, Page, SourceMetadata
from gateway.upstreams import wire
from gateway.upstreams._http import UpstreamHttp
from gateway.upstreams.deadline import Deadline

NAME = "ita"
SEARCH_PATH = "v2/trade_leads/search"
LEAD_PATH = "v2/trade_leads/"
MAX_PAGE_SIZE = 100
# ITA wants both bounds of a date range; an open bound is filled with a date outside any lead's life.
OPEN_RANGE_START = date(1900, 1, 1)
OPEN_RANGE_END = date(2999, 12, 31)

SOURCE_CURRENCIES: Mapping[str, str] = {"UK": "GBP", "AUSTRALIA": "AUD", "STATE": "USD"}
TAG_SEPARATOR = ";"

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


def parse_page(payload: object) -> Page[Lead]:
    """The leads of a search envelope; raises UpstreamBadResponse unless it is an object with a `results` list."""
    envelope, results = _envelope(payload)
    leads = tuple(lead for item in results if (lead := parse_lead(item)) is not None)
    if len(leads) < len(results):
        _log.warning("ita: skipped %d of %d results without id or source", len(results) - len(leads), len(results))
    return Page(
        items=leads, total=wire.integer(envelope.get("total")), offset=wire.integer(envelope.get("offset")) or 0
    )


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


def parse_lead(item: object, *, fallback_id: str | None = None) -> Lead | None:
    """One result object as a Lead, or None when it is not an object or has no id or source."""
    if not isinstance(item, dict):
        return None
    lead_id = wire.text(item, "id") or fallback_id
    source = wire.text(item, "source")
    if lead_id is None or source is None:
        return None
    source = source.upper()
    currency = SOURCE_CURRENCIES.get(source)
    country_code, country_name = wire.text(item, "country"), wire.text(item, "country_name")
    return Lead(
        id=lead_id,
        source=source,
        title=wire.text(item, "title"),
        description=wire.text(item, "description"),
        url=wire.text(item, "url"),
        urls=wire.strings(item, "urls"),
        country=Country(country_code, country_name) if country_code or country_name else None,
        specific_location=wire.text(item, "specific_location"),
        trade_regions=wire.strings(item, "trade_regions"),
        world_regions=wire.strings(item, "world_regions"),
        industries=wire.strings(item, "industry"),
        ita_industries=wire.strings(item, "ita_industries"),
        categories=wire.strings(item, "categories"),
        tags=wire.strings(item, "tags", separator=TAG_SEPARATOR),
        publish_date=wire.day(item, "publish_date"),
        publish_date_amended=wire.day(item, "publish_date_amended"),
        start_date=wire.day(item, "start_date"),
        end_date=wire.day(item, "end_date"),
        status=wire.text(item, "status"),
        notice_type=wire.text(item, "notice_type"),
        reference_number=wire.text(item, "reference_number"),
        contract_number=wire.text(item, "contract_number"),
        project_number=wire.text(item, "project_number"),
        procurement_organization=wire.text(item, "procurement_organization"),
        procurement_office=wire.text(item, "procurement_office"),
        procurement_method=wire.text(item, "procurement_method"),
        agency=wire.text(item, "agency"),
        contact=wire.text(item, "contact"),
        funding_source=wire.text(item, "funding_source"),
        borrowing_entity=wire.text(item, "borrowing_entity"),
        classification_code=wire.text(item, "classification_code"),
        min_value=_money(item, "min_contract_value", currency),
        max_value=_money(item, "max_contract_value", currency),
        contract_value=_money(item, "contract_value", currency),
        project_size=_money(item, "project_size", currency),
    )


def _money(item: Mapping[str, object], key: str, currency: str | None) -> Money | None:
    return None if currency is None else wire.money(item, key, currency)


class TradeLeadsClient:
    """Searches ITA trade leads through the response cache (which stores the upstream JSON, never parsed leads)."""

    def __init__(self, http: UpstreamHttp, cache: ResponseCache, *, ttl_s: int, stale_for_s: int) -> None:
        self._http = http
        self._cache = cache
        self._ttl_s = ttl_s
        self._stale_for_s = stale_for_s

    async def search(self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Lead]:
        return (await self.search_with_sources(query, limit=limit, offset=offset, deadline=deadline)).page

    async def search_with_sources(self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline) -> LeadSearch:
        """One upstream answer read twice: the page and its `sources_used` (same cache entry as `search`)."""
        payload = await self._get(SEARCH_PATH, build_params(query, limit=limit, offset=offset), deadline)
        if payload is JSON_NULL_BODY:
            return LeadSearch(Page(items=(), total=0, offset=max(offset, 0)), ())
        return LeadSearch(parse_page(payload), parse_sources_used(payload))

    async def sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """Every source's freshness, from a `size=0` search (ITA then answers `total` and `sources_used` only)."""
        return (await self.search_with_sources(LeadQuery(), limit=0, offset=0, deadline=deadline)).sources

    async def lead(self, lead_id: str, *, deadline: Deadline) -> Lead | None:
        """`GET v2/trade_leads/{id}`; None when ITA answers 404 or the id is blank."""
        lead_id = lead_id.strip()
        if not lead_id:
            return None
        try:
            payload = await self._get(LEAD_PATH + quote(lead_id, safe=""), {}, deadline)
        except UpstreamRejected as rejected:
            if rejected.extensions.get("status") == 404:
                return None
            raise
        if payload is JSON_NULL_BODY:
            return None
        if not isinstance(payload, dict):
            raise UpstreamBadResponse(NAME, "ita answered a lead that is not an object")
        return parse_lead(payload, fallback_id=lead_id)

    async def _get(self, path: str, params: dict[str, str], deadline: Deadline) -> object:
        cached = await self._cache.get_or_fetch(
            cache_key(NAME, path, params),
            lambda: self._http.get_json(path, params, deadline),
            ttl_s=self._ttl_s,
            stale_for_s=self._stale_for_s,
        )
        return cached.value
