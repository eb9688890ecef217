"""Canadian procurement data API (buyandsell.gc.ca `tenders.json` / `contracts.json`) and its client.

The upstream has no paging, no totals and no by-id endpoint: it answers a bare JSON array of at most 100 rows,
ordered by closing (tenders) or expiry (contracts) date. The client therefore fetches one answer per set of upstream
filters (the cache holds that whole answer), filters locally what the upstream cannot, and slices offset/limit itself.

Values are Canadian dollars (CAD): the data is PWGSC contract history, which states amounts in CAD.
A row without its identifier (`tender` / `contract`) is skipped; any other unreadable field becomes None or empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from gateway.cache.codec import JSON_NULL_BODY
from gateway.errors import UpstreamBadResponse
from gateway.models import (
    MAX_PAGE_SIZE,
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
from gateway.upstreams.canada.spec import SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import EmptyAnswer, UpstreamFetch
from gateway.upstreams.spec import RecordKind, UpstreamSpec

NAME = SPEC.name
TENDERS_PATH = "tenders.json"
CONTRACTS_PATH = "contracts.json"
UPSTREAM_ROW_CAP = 100
CURRENCY = "CAD"
LIST_SEPARATOR = ","  # CSV-style lists ("N76,V2"), tolerated where JSON should carry an array

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
        value=wire.money(row, "value", currency=CURRENCY),
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


def _slice(items: tuple[Item, ...], *, limit: int, offset: int) -> Page[Item]:
    start = max(offset, 0)
    size = min(max(limit, 0), MAX_PAGE_SIZE)
    return Page(items=items[start : start + size], total=len(items), offset=start)


class CanadaClient:
    """Tenders (TenderClient) and contracts (ContractClient) through the shared fetch path, which caches each
    upstream answer whole (and reuses its parse on a hit).

    `total` of a page is the number of rows left after local filtering, so it is capped by the upstream's 100 rows:
    it is the number of reachable rows, not the number of matching records in Canada's data.
    """

    def __init__(self, spec: UpstreamSpec, fetch: UpstreamFetch) -> None:
        self.spec = spec
        self._fetch = fetch

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        """Upstream filters: keywords, GSIN prefixes, delivery and opportunity regions; local: the closing range."""
        everything = await self._all_tenders(query, deadline)
        return _slice(select_tenders(everything.items, query), limit=limit, offset=offset)

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        """Found only among the (at most 100) rows the upstream answers for the GSIN `hint`, or unfiltered without
        one: the upstream has no by-id endpoint, so a tender outside those rows reads as None."""
        reference = key.strip()
        if not reference:
            return None
        everything = await self._all_tenders(TenderQuery(gsins=(hint,) if hint else ()), deadline)
        return next((tender for tender in everything.items if tender.reference == reference), None)

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        """Nothing to refuse: every filter is sent as given or applied locally."""
        del query, limit

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        """Upstream filters: keywords and GSIN prefixes; local: see `select_contracts`. Every row is whole, so
        `selection` changes nothing."""
        del selection
        everything = await self._all_contracts(query, deadline)
        return _slice(select_contracts(everything.items, query), limit=limit, offset=offset)

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        """Found only among the (at most 100) rows the upstream answers for the GSIN `hint`, or unfiltered without
        one: the upstream has no by-id endpoint, so a contract outside those rows reads as None."""
        del selection
        number = key.strip()
        if not number:
            return None
        everything = await self._all_contracts(ContractQuery(gsins=(hint,) if hint else ()), deadline)
        return next((contract for contract in everything.items if contract.key == number), None)

    async def _all_tenders(self, query: TenderQuery, deadline: Deadline) -> Page[Tender]:
        params = build_params(query, limit=0, offset=0)
        return await self._fetch.get(
            TENDERS_PATH,
            params,
            kind=RecordKind.TENDER,
            parse=parse_tender_page,
            empty=EmptyAnswer(Page(items=(), total=0)),  # HTTP 204: an empty array
            deadline=deadline,
        )

    async def _all_contracts(self, query: ContractQuery, deadline: Deadline) -> Page[Contract]:
        params = build_params(query, limit=0, offset=0)
        return await self._fetch.get(
            CONTRACTS_PATH,
            params,
            kind=RecordKind.CONTRACT,
            parse=parse_contract_page,
            empty=EmptyAnswer(Page(items=(), total=0)),
            deadline=deadline,
        )
