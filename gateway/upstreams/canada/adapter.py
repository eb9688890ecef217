"""Canadian procurement data API (buyandsell.gc.ca `tenders.json` / `contracts.json`) and its client.

The upstream has no paging, no totals and no by-id endpoint: it answers a bare JSON array of at most 100 rows,
ordered by closing (tenders) or expiry (contracts) date. The client therefore fetches one answer per set of upstream
filters (the cache holds that whole answer), filters locally what the upstream cannot, and slices offset/limit itself.

Values are Canadian dollars (CAD): the data is PWGSC contract history, which states amounts in CAD.
A row without its identifier (`tender` / `contract`) is skipped; any other unreadable field becomes None or empty.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Generic, TypeVar

from gateway.cache.codec import JSON_NULL_BODY, EntryId
from gateway.cache.store import Cached, ResponseCache, cache_key
from gateway.errors import UpstreamBadResponse
from gateway.models import (
    Agency,
    Contract,
    ContractQuery,
    ContractSource,
    DateRange,
    LocalizedText,
    Page,
    Supplier,
    Tender,
    TenderQuery,
)
from gateway.upstreams import wire
from gateway.upstreams._http import UpstreamHttp
from gateway.upstreams.deadline import Deadline

NAME = "canada"
TENDERS_PATH = "tenders.json"
CONTRACTS_PATH = "contracts.json"
UPSTREAM_ROW_CAP = 100
MAX_PAGE_SIZE = 100
CURRENCY = "CAD"
LIST_SEPARATOR = ","  # CSV-style lists ("N76,V2"), tolerated where JSON should carry an array
PARSED_ANSWERS_KEPT = 32  # per kind: cache entries whose parsed page (~130-200 KiB at 100 rows) is kept in process

Item = TypeVar("Item")
_log = logging.getLogger(__name__)


def build_params(query: TenderQuery | ContractQuery, *, limit: int, offset: int) -> dict[str, str]:
    """The upstream's own filters (comma-joined tokens, upper-cased as the upstream does).

    `limit` and `offset` are not sent: the upstream cannot page, so every page of one query shares one upstream
    answer (and one cache entry) and is sliced locally.
    """
    del limit, offset
    if isinstance(query, TenderQuery):
        lists = {
            "keywords": query.keywords,
            "gsins": query.gsins,
            "delivery": query.delivery_regions,
            "opportunity": query.opportunity_regions,
        }
    else:
        lists = {"keywords": (query.keywords or "",), "gsins": query.gsins}
    params: dict[str, str] = {}
    for name, tokens in lists.items():
        joined = LIST_SEPARATOR.join(stripped.upper() for token in tokens if (stripped := token.strip()))
        if joined:
            params[name] = joined
    return params


def parse_tender_page(payload: object) -> Page[Tender]:
    """All tenders of one upstream answer (total = rows read, at most the upstream's 100)."""
    return _parse_rows(payload, parse_tender, "tender")


def parse_contract_page(payload: object) -> Page[Contract]:
    """All contracts of one upstream answer (total = rows read, at most the upstream's 100)."""
    return _parse_rows(payload, parse_contract, "contract")


def _parse_rows(payload: object, parse_row: Callable[[object], Item | None], kind: str) -> Page[Item]:
    if payload is JSON_NULL_BODY:
        return Page(items=(), total=0)
    if not isinstance(payload, list):
        raise UpstreamBadResponse(NAME, f"canada answered {kind}s that are not a JSON array")
    items = tuple(item for row in payload if (item := parse_row(row)) is not None)
    if len(items) < len(payload):
        _log.warning(
            "canada: skipped %d of %d %s rows without an identifier", len(payload) - len(items), len(payload), kind
        )
    return Page(items=items, total=len(items))


def parse_tender(row: object) -> Tender | None:
    if not isinstance(row, dict):
        return None
    reference = wire.text(row, "tender")
    if reference is None:
        return None
    return Tender(
        reference=reference,
        solicitation_number=wire.text(row, "solicitation_number"),
        title=_localized(row, "title"),
        buyer=_localized(row, "buyer"),
        url=_localized(row, "url"),
        gsins=wire.strings(row, "gsins", separator=LIST_SEPARATOR),
        delivery_regions=wire.strings(row, "regions_delivery", separator=LIST_SEPARATOR),
        opportunity_regions=wire.strings(row, "regions_opportunity", separator=LIST_SEPARATOR),
        closing_date=wire.day(row, "date_closing"),
    )


def parse_contract(row: object) -> Contract | None:
    """A contract-history row; its `title_*` is the GSIN description and `buyer_*` the end-user entity."""
    if not isinstance(row, dict):
        return None
    number = wire.text(row, "contract")
    if number is None:
        return None
    buyer = _localized(row, "buyer")
    url = _localized(row, "url")
    supplier = Supplier(
        name=wire.text(row, "supplier"), city=wire.text(row, "supplier_city"), region=wire.text(row, "supplier_region")
    )
    return Contract(
        source=ContractSource.CANADA,
        key=number,
        piid=number,
        title=_localized(row, "title"),
        buyer=Agency(buyer) if buyer.en or buyer.fr else None,
        supplier=supplier if supplier.name or supplier.city or supplier.region else None,
        value=wire.money(row, "value", CURRENCY),
        award_date=wire.day(row, "date_awarded"),
        expiry_date=wire.day(row, "date_expires"),
        gsins=wire.strings(row, "gsins", separator=LIST_SEPARATOR),
        url=url if url.en or url.fr else None,
    )


def _localized(row: dict[str, object], stem: str) -> LocalizedText:
    return LocalizedText(en=wire.text(row, f"{stem}_en"), fr=wire.text(row, f"{stem}_fr"))


def select_tenders(tenders: Sequence[Tender], query: TenderQuery) -> tuple[Tender, ...]:
    """The local filter: closing date within `query.closing` (a tender without a closing date is left out)."""
    return tuple(tender for tender in tenders if _within(tender.closing_date, query.closing))


def select_contracts(contracts: Sequence[Contract], query: ContractQuery) -> tuple[Contract, ...]:
    """The local filters: award date and value ranges (rows without one are left out), supplier name and buyer
    name substrings (case-insensitive, buyer in either language), contract number (`piid`, exact)."""
    supplier_part = (query.supplier_name or "").strip().casefold()
    agency_part = (query.agency_name or "").strip().casefold()
    piid = (query.piid or "").strip().casefold()

    def matches(contract: Contract) -> bool:
        if not _within(contract.award_date, query.awarded):
            return False
        if query.value is not None:
            amount = contract.value.amount if contract.value else None
            low, high = query.value.minimum, query.value.maximum
            if amount is None or (low is not None and amount < low) or (high is not None and amount > high):
                return False
        if supplier_part and supplier_part not in ((contract.supplier and contract.supplier.name) or "").casefold():
            return False
        if agency_part:
            names = contract.buyer.name if contract.buyer else LocalizedText(None)
            if not any(agency_part in (name or "").casefold() for name in (names.en, names.fr)):
                return False
        return not piid or contract.piid.casefold() == piid

    return tuple(contract for contract in contracts if matches(contract))


def _within(day: date | None, bounds: DateRange | None) -> bool:
    if bounds is None or (bounds.start is None and bounds.end is None):
        return True
    if day is None:
        return False
    return (bounds.start is None or bounds.start <= day) and (bounds.end is None or day <= bounds.end)


def sam_only_criteria(query: ContractQuery) -> tuple[str, ...]:
    """Criteria that Canadian contract-history rows do not carry, so that no Canadian contract can match them."""
    present = {
        "modification_number": query.modification_number,
        "referenced_idv_piid": query.referenced_idv_piid,
        "naics": query.naics,
        "product_or_service": query.product_or_service,
        "agency_code": query.agency_code,
        "supplier_uei": query.supplier_uei,
        "fiscal_year": query.fiscal_year,
        "award_or_idv": query.award_or_idv,
        "place_of_performance_state": query.place_of_performance_state,
    }
    return tuple(name for name, value in present.items() if value not in (None, "", ()))


def _slice(items: tuple[Item, ...], *, limit: int, offset: int) -> Page[Item]:
    start = max(offset, 0)
    size = min(max(limit, 0), MAX_PAGE_SIZE)
    return Page(items=items[start : start + size], total=len(items), offset=start)


class ParsedAnswers(Generic[Item]):
    """The parsed page of the last entry read for each of the `max_entries` most recently used cache keys.

    Parsing a 100-row answer costs milliseconds, so a cache hit on the entry parsed last time reuses that parse
    (models are frozen, so sharing them is safe). The cache's `entry_id` changes whenever an entry is written again,
    so a refreshed entry is parsed anew; an answer without one (a miss, no cache) is parsed and not kept.
    """

    def __init__(self, parse: Callable[[object], Page[Item]], *, max_entries: int) -> None:
        self._parse = parse
        self.max_entries = max_entries
        self._pages: OrderedDict[str, tuple[EntryId, Page[Item]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pages)

    def page(self, key: str, cached: Cached) -> Page[Item]:
        if cached.entry_id is None:
            return self._parse(cached.value)
        kept = self._pages.get(key)
        if kept is not None and kept[0] == cached.entry_id:
            self._pages.move_to_end(key)
            return kept[1]
        page = self._parse(cached.value)
        self._pages[key] = (cached.entry_id, page)
        self._pages.move_to_end(key)
        while len(self._pages) > self.max_entries:
            self._pages.popitem(last=False)
        return page


class CanadaClient:
    """Tenders and contracts through the response cache, which holds each upstream answer whole.

    `total` of a page is the number of rows left after local filtering, so it is capped by the upstream's 100 rows:
    it is the number of reachable rows, not the number of matching records in Canada's data.
    """

    def __init__(
        self,
        http: UpstreamHttp,
        cache: ResponseCache,
        *,
        ttl_s: int,
        stale_for_s: int,
        contracts_ttl_s: int | None = None,
        parsed_answers_kept: int = PARSED_ANSWERS_KEPT,
    ) -> None:
        self._http = http
        self._cache = cache
        self._tender_pages = ParsedAnswers(parse_tender_page, max_entries=parsed_answers_kept)
        self._contract_pages = ParsedAnswers(parse_contract_page, max_entries=parsed_answers_kept)
        self._tenders_ttl_s = ttl_s
        self._contracts_ttl_s = ttl_s if contracts_ttl_s is None else contracts_ttl_s
        self._stale_for_s = stale_for_s

    async def tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        """Upstream filters: keywords, GSIN prefixes, delivery and opportunity regions; local: the closing range."""
        everything = await self._all_tenders(query, deadline)
        return _slice(select_tenders(everything.items, query), limit=limit, offset=offset)

    async def contracts(self, query: ContractQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Contract]:
        """Upstream filters: keywords and GSIN prefixes; local: see `select_contracts`.

        A query that excludes the CANADA source or carries a SAM-only criterion (`sam_only_criteria`) matches no
        Canadian contract: the answer is an empty page and the upstream is not asked.
        """
        if ContractSource.CANADA not in query.sources or sam_only_criteria(query):
            return Page(items=(), total=0, offset=max(offset, 0))
        everything = await self._all_contracts(query, deadline)
        return _slice(select_contracts(everything.items, query), limit=limit, offset=offset)

    async def tender(self, reference: str, *, gsin: str | None, deadline: Deadline) -> Tender | None:
        """Found only among the (at most 100) rows the upstream answers for `gsin`, or unfiltered without one:
        the upstream has no by-id endpoint, so a tender outside those rows reads as None."""
        reference = reference.strip()
        if not reference:
            return None
        everything = await self._all_tenders(TenderQuery(gsins=(gsin,) if gsin else ()), deadline)
        return next((tender for tender in everything.items if tender.reference == reference), None)

    async def contract(self, number: str, *, gsin: str | None, deadline: Deadline) -> Contract | None:
        """Found only among the (at most 100) rows the upstream answers for `gsin`, or unfiltered without one:
        the upstream has no by-id endpoint, so a contract outside those rows reads as None."""
        number = number.strip()
        if not number:
            return None
        everything = await self._all_contracts(ContractQuery(gsins=(gsin,) if gsin else ()), deadline)
        return next((contract for contract in everything.items if contract.key == number), None)

    async def _all_tenders(self, query: TenderQuery, deadline: Deadline) -> Page[Tender]:
        params = build_params(query, limit=0, offset=0)
        return await self._get(TENDERS_PATH, params, self._tenders_ttl_s, self._tender_pages, deadline)

    async def _all_contracts(self, query: ContractQuery, deadline: Deadline) -> Page[Contract]:
        params = build_params(query, limit=0, offset=0)
        return await self._get(CONTRACTS_PATH, params, self._contracts_ttl_s, self._contract_pages, deadline)

    async def _get(
        self, path: str, params: dict[str, str], ttl_s: int, pages: ParsedAnswers[Item], deadline: Deadline
    ) -> Page[Item]:
        key = cache_key(NAME, path, params)
        cached = await self._cache.get_or_fetch(
            key, lambda: self._http.get_json(path, params, deadline), ttl_s=ttl_s, stale_for_s=self._stale_for_s
        )
        return pages.page(key, cached)
