"""CanadaBuys as a mirror: its CSV rows as index records, queries as index queries, and the client over the index.

Rows are mapped once, when a snapshot is built, and kept in the index in their stored form (`payload`). Filters are
pushed into SQL: keywords (full-text, English and French titles, descriptions and buyers), GSIN and UNSPSC prefixes,
regions, closing and award date ranges, buyer and supplier (parts of names), notice types, procurement categories,
trade agreements, award amounts.

Tender notices are indexed twice: as tenders (closing soonest first) and as ITA `CANADA` leads (`leads.lead_of`,
newest publication first, the order `leads` merges in). A lead record's `day` is its publication date and its
`amount` its closing date as the number YYYYMMDD, so that `published` and `ends` are both ranges in SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin

import aiohttp

from gateway.errors import BadUserInput
from gateway.models import (
    Contract,
    ContractQuery,
    DateRange,
    KeysetPage,
    Lead,
    LeadQuery,
    LocalizedText,
    NoticeDetails,
    Page,
    SourceMetadata,
    Tender,
    TenderQuery,
)
from gateway.upstreams.canadabuys import mapping
from gateway.upstreams.canadabuys.feeds import (
    CONTRACT,
    DATA_PAGE_PATH,
    FEEDS,
    FILES_PATH,
    LEAD,
    ROWS_OF_FEED,
    TENDER,
)
from gateway.upstreams.canadabuys.leads import COUNTRY, SOURCE, lead_of
from gateway.upstreams.canadabuys.payload import FORMAT as PAYLOAD_FORMAT
from gateway.upstreams.canadabuys.payload import decode_contract, decode_tender, encode_contract, encode_tender
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.feed import FeedFormatError, IndexRecord, SearchText
from gateway.upstreams.mirror.mirror import FeedStatus, Mirror
from gateway.upstreams.mirror.opening import MirrorSettings, open_mirror
from gateway.upstreams.mirror.query import CodeFilter, IndexQuery, Match, Position, fts_expression
from gateway.upstreams.spec import RecordKind, UpstreamSpec

Item = TypeVar("Item")

NAME = "canadabuys"
MAX_PAGE_SIZE = 100
LEADS_FORMAT = "leads-1"  # tender notices are also indexed as leads (a snapshot without them is rebuilt)
LINKED_AWARDS_KEPT = 50  # awards of one solicitation read for `Tender.award`


# -- rows -> index records -------------------------------------------------------------------------------------------

PREFIX_SCHEMES = frozenset({"gsin", "unspsc"})  # matched by prefix (Match.PREFIX in the queries below)


def _localized(text: LocalizedText | None) -> tuple[str | None, ...]:
    return (text.en, text.fr) if text else ()


def _notice_codes(notice: NoticeDetails, gsins: tuple[str, ...], buyer: LocalizedText | None) -> list[tuple[str, str]]:
    """The codes every notice is filtered by (values folded as the query side folds them)."""
    agreements = [name for agreement in notice.trade_agreements for name in _localized(agreement) if name]
    found = [("gsin", code) for code in gsins]
    found += [("unspsc", code) for code in notice.unspscs]
    found += [("category", code) for code in notice.procurement_categories]
    found += [("notice_type", name) for name in _fold(_localized(notice.notice_type))]
    found += [("trade_agreement", name) for name in _fold([*agreements, *map(mapping.abbreviation, agreements)])]
    found += [("buyer", name) for name in _fold(_localized(buyer))]
    return found


def _region_codes(row: mapping.Row, stem: str, scheme: str, codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """A region is found by its legacy code and by any of its published names."""
    names = (*codes, *mapping.region_names(row, stem))
    return [(scheme, value) for value in dict.fromkeys(name.upper() for name in names)]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""  # no date: last in descending lists


UNDATED_LAST = "~"  # sorts after every date: tenders without a closing date come last, as the merge puts them


def tender_sort(tender: Tender) -> str:
    """Closing order: the local closing date as published, then the closing moment in UTC (a date alone comes
    first on its day); without a closing date, last."""
    if tender.closing_date is None:
        return UNDATED_LAST
    moment = tender.closing_at.strftime("|%Y-%m-%dT%H:%M:%SZ") if tender.closing_at else ""
    return tender.closing_date.isoformat() + moment


def contract_sort(contract: Contract) -> str:
    """Latest award first (the list is read descending); without an award date, the publication date."""
    return _iso(contract.award_date or (contract.notice.published if contract.notice else None))


def _link(solicitation: str | None) -> str | None:
    return solicitation.strip().upper() if solicitation and solicitation.strip() else None


def _tender_text(found: Tender) -> SearchText:
    description = found.notice.description if found.notice else None
    return SearchText(
        title_en=found.title.en or "",
        title_fr=found.title.fr or "",
        description_en=(description.en or "") if description else "",
        description_fr=(description.fr or "") if description else "",
        buyer_en=found.buyer.en or "",
        buyer_fr=found.buyer.fr or "",
    )


def _day_number(day: date | None) -> float | None:
    """A day as the number YYYYMMDD (what a lead record's `amount` holds: its closing date)."""
    return None if day is None else float(day.year * 10_000 + day.month * 100 + day.day)


def lead_record(found: Tender, payload: bytes) -> IndexRecord | None:
    """The tender notice as an ITA `CANADA` lead: newest publication first, its text as the tender's."""
    if found.notice is None:
        return None
    published = found.notice.published
    return IndexRecord(
        kind=LEAD,
        key=found.reference,
        version=found.notice.amendment or 0,
        sort=_iso(published),
        payload=payload,
        text=_tender_text(found),
        day=published.isoformat() if published else None,
        amount=_day_number(found.closing_date),
        counted=False,  # the row is counted once, by its tender record
    )


def tender_records(row: mapping.Row, *, offset: timedelta) -> tuple[IndexRecord, ...]:
    """A tender notice row as its tender record and its lead record (none without a reference number)."""
    found = mapping.tender(row, offset=offset)
    record = None if found is None else _tender_record(row, found)
    if found is None or record is None:
        return ()
    lead = lead_record(found, record.payload)
    return (record,) if lead is None else (record, lead)


def tender_record(row: mapping.Row, *, offset: timedelta) -> IndexRecord | None:
    found = mapping.tender(row, offset=offset)
    return None if found is None else _tender_record(row, found)


def _tender_record(row: mapping.Row, found: Tender) -> IndexRecord | None:
    if found.notice is None:
        return None
    codes = [
        *_notice_codes(found.notice, found.gsins, found.buyer),
        *_region_codes(row, mapping.DELIVERY, "region_delivery", found.delivery_regions),
        *_region_codes(row, mapping.OPPORTUNITY, "region_opportunity", found.opportunity_regions),
    ]
    return IndexRecord(
        kind=TENDER,
        key=found.reference,
        version=found.notice.amendment or 0,
        sort=tender_sort(found),
        payload=encode_tender(found),
        text=_tender_text(found),
        codes=tuple(codes),
        link=_link(found.solicitation_number),
        day=found.closing_date.isoformat() if found.closing_date else None,
    )


def contract_record(row: mapping.Row) -> IndexRecord | None:
    found = mapping.contract(row)
    if found is None or found.notice is None:
        return None
    description = found.notice.description
    buyer = found.buyer.name if found.buyer else None
    supplier_names = (mapping.text(row.get(f"{mapping.SUPPLIER}-{language}")) for language in ("eng", "fra"))
    codes = [
        *_notice_codes(found.notice, found.gsins, buyer),
        *_region_codes(row, mapping.DELIVERY, "region_delivery", mapping.regions(row, mapping.DELIVERY)),
        *(("supplier", name) for name in _fold(supplier_names)),
        ("contract_number", found.piid.casefold()),
    ]
    worth = found.total_value or found.value
    return IndexRecord(
        kind=CONTRACT,
        key=found.key,
        version=found.notice.amendment or 0,
        sort=contract_sort(found),
        payload=encode_contract(found),
        text=SearchText(
            title_en=found.title.en or "",
            title_fr=found.title.fr or "",
            description_en=(description.en or "") if description else "",
            description_fr=(description.fr or "") if description else "",
            buyer_en=(buyer.en or "") if buyer else "",
            buyer_fr=(buyer.fr or "") if buyer else "",
        ),
        codes=tuple(codes),
        link=_link(found.notice.solicitation_number),
        day=found.award_date.isoformat() if found.award_date else None,
        amount=float(worth.amount) if worth else None,
    )


@dataclass(frozen=True)
class CanadaBuysParser:
    """Reads the mirror's feeds (picklable: a snapshot may be built in another process). `format` names what its
    records hold: the payload's form, the closing-time offset they were read at, the codes indexed by prefix."""

    closing_offset: timedelta = mapping.EASTERN_STANDARD_TIME
    prefix_schemes: frozenset[str] = PREFIX_SCHEMES

    @property
    def format(self) -> str:
        prefixed = ",".join(sorted(self.prefix_schemes))
        offset = self.closing_offset.total_seconds()
        return f"{PAYLOAD_FORMAT};{LEADS_FORMAT};closing-offset={offset:g};prefixed={prefixed}"

    def records(self, feed: str, path: Path) -> Iterator[IndexRecord]:
        kind = ROWS_OF_FEED.get(feed)
        if kind == TENDER:
            for row in mapping.read_rows(path, feed, mapping.TENDER_COLUMNS):
                yield from tender_records(row, offset=self.closing_offset)
        elif kind == CONTRACT:
            for row in mapping.read_rows(path, feed, mapping.AWARD_COLUMNS):
                if (record := contract_record(row)) is not None:
                    yield record
        else:
            raise FeedFormatError(feed, "not a CanadaBuys feed")


# -- queries -> index queries ----------------------------------------------------------------------------------------


def _upper(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.strip().upper() for value in values if value and value.strip()))


def _fold(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.strip().casefold() for value in values if value and value.strip()))


def _filters(*candidates: tuple[str, tuple[str, ...], Match]) -> tuple[CodeFilter, ...]:
    return tuple(CodeFilter(scheme, found, match) for scheme, found, match in candidates if found)


def _days(bounds: DateRange | None) -> tuple[str | None, str | None] | None:
    if bounds is None or (bounds.start is None and bounds.end is None):
        return None
    return (
        bounds.start.isoformat() if bounds.start else None,
        bounds.end.isoformat() if bounds.end else None,
    )


def _keywords(keywords: Iterable[str]) -> str | None:
    return fts_expression(token for keyword in keywords for token in keyword.split(","))


def tender_query(query: TenderQuery) -> IndexQuery:
    """Tenders in closing order (soonest first; notices without a closing date last)."""
    return IndexQuery(
        kind=TENDER,
        words=_keywords(query.keywords),
        codes=_filters(
            ("gsin", _upper(query.gsins), Match.PREFIX),
            ("unspsc", _upper(query.unspscs), Match.PREFIX),
            ("region_delivery", _upper(query.delivery_regions), Match.EXACT),
            ("region_opportunity", _upper(query.opportunity_regions), Match.EXACT),
            ("buyer", _fold((query.buyer,)), Match.CONTAINS),
            ("notice_type", _fold(query.notice_types), Match.EXACT),
            ("category", _upper(query.procurement_categories), Match.EXACT),
            ("trade_agreement", _fold(query.trade_agreements), Match.EXACT),
        ),
        day=_days(query.closing),
    )


def contract_query(query: ContractQuery) -> IndexQuery:
    """Contracts latest award first."""
    low, high = (query.value.minimum, query.value.maximum) if query.value else (None, None)
    return IndexQuery(
        kind=CONTRACT,
        words=_keywords((query.keywords,) if query.keywords else ()),
        codes=_filters(
            ("contract_number", _fold((query.piid,)), Match.EXACT),
            ("gsin", _upper(query.gsins), Match.PREFIX),
            ("unspsc", _upper(query.unspscs), Match.PREFIX),
            ("buyer", _fold((query.agency_name,)), Match.CONTAINS),
            ("supplier", _fold((query.supplier_name,)), Match.CONTAINS),
            ("notice_type", _fold(query.notice_types), Match.EXACT),
            ("category", _upper(query.procurement_categories), Match.EXACT),
            ("trade_agreement", _fold(query.trade_agreements), Match.EXACT),
        ),
        day=_days(query.awarded),
        amount=None if low is None and high is None else (_number(low), _number(high)),
        descending=True,
    )


def lead_query(query: LeadQuery) -> IndexQuery:
    """Leads newest publication first; `ends` on the closing date (a lead record's `amount`, see the docstring)."""
    ends = query.ends
    closing = None if ends is None else (_day_number(ends.start), _day_number(ends.end))
    return IndexQuery(
        kind=LEAD,
        words=fts_expression((query.keywords,)) if query.keywords else None,
        day=_days(query.published),
        amount=None if closing == (None, None) else closing,
        descending=True,
    )


def answers_nothing(spec: UpstreamSpec, query: LeadQuery) -> bool:
    """Whether no CanadaBuys lead can match: one is CANADA, in Canada, and the query sets no other criterion."""
    if query.sources and SOURCE not in query.sources:
        return True
    if query.countries and COUNTRY.code not in query.countries:
        return True
    return bool(spec.unanswerable(RecordKind.LEAD, query))


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# -- the client ------------------------------------------------------------------------------------------------------


class CanadaBuysClient:
    """Tenders, contracts and ITA `CANADA` leads from the CanadaBuys mirror, opened as `CanadaBuysClient(spec, mirror)`.

    `total` is the real number of matches in the serving snapshot. Offset pages (the client protocol) may repeat or
    skip an item when a refresh swaps a snapshot in between two pages; `tenders_after` / `contracts_after` /
    `leads_after` page on a keyset cursor instead (`gateway.upstreams.client.KeysetTenderClient`), which never repeats
    an item whose closing, award or publication date did not change. Tenders and their awards are linked by
    solicitation number (`awards_of`, `tender_of`). Before the mirror holds a snapshot of a kind's feeds, every query
    of that kind raises MirrorNotReady.
    """

    def __init__(self, spec: UpstreamSpec, mirror: Mirror) -> None:
        self.spec = spec
        self.mirror = mirror

    # -- tenders

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        found = await self.mirror.search(
            tender_query(query), limit=_size(limit), offset=max(offset, 0), timeout_s=deadline.remaining_s()
        )
        return Page(_decoded(found.payloads, decode_tender), found.total, max(offset, 0))

    async def tenders_after(
        self, query: TenderQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Tender]:
        return await self._after(tender_query(query), limit, after, deadline, decode_tender)

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        del hint
        payload = await self.mirror.get(TENDER, key.strip(), timeout_s=deadline.remaining_s())
        return None if payload is None else decode_tender(payload)

    async def awards_of(self, tender: Tender, *, deadline: Deadline) -> tuple[Contract, ...]:
        """The award notices (and contract-history records) of the tender's solicitation, latest first."""
        link = _link(tender.solicitation_number)
        if link is None:
            return ()
        payloads = await self.mirror.linked(CONTRACT, link, limit=LINKED_AWARDS_KEPT, timeout_s=deadline.remaining_s())
        return _decoded(payloads, decode_contract)

    # -- leads (the tender notices, as ITA CANADA leads)

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        del fields  # every field is read (the records are local)
        if answers_nothing(self.spec, query):
            return Page(items=(), total=0, offset=max(offset, 0))
        found = await self.mirror.search(
            lead_query(query), limit=_size(limit), offset=max(offset, 0), timeout_s=deadline.remaining_s()
        )
        return Page(_decoded(found.payloads, _decode_lead), found.total, max(offset, 0))

    async def leads_after(
        self, query: LeadQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Lead]:
        if answers_nothing(self.spec, query):
            return KeysetPage(items=(), total=0, after=None)
        return await self._after(lead_query(query), limit, after, deadline, _decode_lead)

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None:
        payload = await self.mirror.get(LEAD, key.strip(), timeout_s=deadline.remaining_s())
        return None if payload is None else _decode_lead(payload)

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """CanadaBuys says when its files changed through the mirror's feeds (`sources.feeds`), not per lead source."""
        del deadline
        return ()

    # -- contracts

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        """Nothing to refuse: every criterion this source answers is answered locally, at any page size."""
        del query, limit

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        del selection
        if self.spec.unanswerable(RecordKind.CONTRACT, query):
            return Page(items=(), total=0, offset=max(offset, 0))
        found = await self.mirror.search(
            contract_query(query), limit=_size(limit), offset=max(offset, 0), timeout_s=deadline.remaining_s()
        )
        return Page(_decoded(found.payloads, decode_contract), found.total, max(offset, 0))

    async def contracts_after(
        self, query: ContractQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Contract]:
        if self.spec.unanswerable(RecordKind.CONTRACT, query):
            return KeysetPage(items=(), total=0, after=None)
        return await self._after(contract_query(query), limit, after, deadline, decode_contract)

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        del hint, selection
        payload = await self.mirror.get(CONTRACT, key.strip(), timeout_s=deadline.remaining_s())
        return None if payload is None else decode_contract(payload)

    async def tender_of(self, contract: Contract, *, deadline: Deadline) -> Tender | None:
        """The tender notice of the contract's solicitation, when the mirror holds it."""
        link = _link(contract.notice.solicitation_number if contract.notice else None)
        if link is None:
            return None
        payloads = await self.mirror.linked(TENDER, link, limit=1, timeout_s=deadline.remaining_s())
        return next(iter(_decoded(payloads, decode_tender)), None)

    # -- status

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        return self.mirror.statuses()

    def stale_feeds(self, kind: RecordKind) -> tuple[FeedStatus, ...]:
        """Feeds of `kind` whose data is older than their window: answers from them should say so."""
        return self.mirror.stale(kind.value)

    async def _after(
        self,
        query: IndexQuery,
        limit: int,
        after: str | None,
        deadline: Deadline,
        decode_one: Callable[[bytes], Item | None],
    ) -> KeysetPage[Item]:
        position = None
        if after:
            position = Position.decode(after)
            if position is None:
                raise BadUserInput("The cursor was not made by this source", argumentName="after")
        size = _size(limit)
        found = await self.mirror.search(query, limit=size + 1, after=position, timeout_s=deadline.remaining_s())
        kept = [
            (item, position.encode())
            for payload, position in zip(found.payloads[:size], found.positions, strict=False)
            if (item := decode_one(payload)) is not None
        ]
        following = found.positions[size - 1].encode() if size and len(found.payloads) > size else None
        return KeysetPage(
            tuple(item for item, _ in kept), found.total, following, positions=tuple(after for _, after in kept)
        )


def _decode_lead(payload: bytes) -> Lead:
    return lead_of(decode_tender(payload))


def _size(limit: int) -> int:
    return min(max(limit, 0), MAX_PAGE_SIZE)


def _decoded(payloads: Sequence[bytes], decode_one: Callable[[bytes], Item | None]) -> tuple[Item, ...]:
    return tuple(item for payload in payloads if (item := decode_one(payload)) is not None)


# -- opening ---------------------------------------------------------------------------------------------------------


async def open_canadabuys_mirror(
    settings: MirrorSettings,
    stack: AsyncExitStack,
    *,
    closing_offset: timedelta | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    today: Callable[[], date] | None = None,
    session: aiohttp.ClientSession | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Mirror:
    """The CanadaBuys mirror of this replica, open (serving its last snapshot, if any) and closed by `stack`
    (`gateway.upstreams.mirror.opening.MirrorOpener`).

    `settings.base_url` is the site (`GATEWAY_CANADABUYS_URL`); the files are under `opendata/pub/` on it. Closing
    times are read at `closing_offset`, by default `settings.local_time_offset` (UTC-05:00 unless set otherwise).
    """
    return await open_mirror(
        NAME,
        FEEDS,
        CanadaBuysParser(settings.local_time_offset if closing_offset is None else closing_offset),
        replace(settings, base_url=urljoin(settings.base_url, FILES_PATH)),
        stack,
        prime_path=DATA_PAGE_PATH if settings.prime_cookies else None,
        session=session,
        sleep=sleep,
        now=now,
        today=today,
    )
