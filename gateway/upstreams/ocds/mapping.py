"""The OCDS normaliser: a compiled release (one contracting process) -> the gateway's Lead, Tender and Contracts,
and the columns the store queries it by.

A process whose releases include a planning or tender stage is a Tender and a Lead (source "UK"); each of its
awards is a Contract (with the value, supplier and dates of the award, the value and period of its contract when
one was signed). Tender and Contract carry `ocid` and `ocds` (the compiled release, compact JSON). What OCDS does not
publish stays None: ITA's taxonomy (industries, trade and world regions), GSINs and other Canadian or US codes,
CanadaBuys' notice details. Dates are the publisher's local dates as written (`2022-10-03T23:59:59+01:00` closes on
3 October); `closing_at` is the moment in UTC. Contact names, e-mails and phones are kept as published and never
logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from gateway.models import Agency, Contract, Country, Lead, LocalizedText, Money, Supplier, Tender
from gateway.upstreams import wire
from gateway.upstreams.ocds.publisher import Publisher

LEAD_SOURCE = "UK"  # the ITA lead source code the UK publishers succeed
UNITED_KINGDOM = Country("GB", "United Kingdom")
# Tags of releases that announce a procurement (a planned or open one): their process is a Tender and a Lead.
TENDER_STAGES = frozenset(
    {"planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate", "tenderCancellation"}
)
CPV = "CPV"
NOTICE_DOCUMENTS = ("tenderNotice", "contractNotice", "plannedProcurementNotice", "biddingDocuments")
UNDATED_LAST_ASCENDING = "~"  # sorts after every ISO date
UNDATED_LAST_DESCENDING = ""  # sorts before every ISO date: last in a descending list

Compiled = Mapping[str, Any]


# -- readers of a compiled release -----------------------------------------------------------------------------------


def _objects(value: object, *path: str) -> Iterator[Mapping[str, Any]]:
    found = wire.at(value, *path) if path else value
    if isinstance(found, list):
        yield from (item for item in found if isinstance(item, dict))


def _money(value: object, *path: str) -> Money | None:
    found = wire.at(value, *path)
    number = wire.amount(found, "amount", strict=True)
    currency = wire.text(found, "currency")
    return Money(number, currency.upper()) if number is not None and currency else None


def _party(compiled: Compiled, reference: object) -> Mapping[str, Any] | None:
    party_id = wire.text(reference, "id")
    if party_id is None:
        return None
    return next((party for party in _objects(compiled, "parties") if wire.text(party, "id") == party_id), None)


def _parties_in_role(compiled: Compiled, role: str) -> Iterator[Mapping[str, Any]]:
    for party in _objects(compiled, "parties"):
        if role in wire.strings(party, "roles"):
            yield party


def buyer(compiled: Compiled) -> tuple[str | None, str | None]:
    """The buyer's name and id: `buyer`, else the party in the role of buyer (or procuring entity)."""
    name, identifier = wire.text(compiled, "buyer", "name"), wire.text(compiled, "buyer", "id")
    if name is None:
        party = next(_parties_in_role(compiled, "buyer"), None) or next(
            _parties_in_role(compiled, "procuringEntity"), None
        )
        if party is not None:
            name, identifier = wire.text(party, "name"), identifier or wire.text(party, "id")
    return name, identifier


def _classifications(compiled: Compiled) -> Iterator[Mapping[str, Any]]:
    main = wire.at(compiled, "tender", "classification")
    if isinstance(main, dict):
        yield main
    for item in _objects(compiled, "tender", "items"):
        if isinstance(found := item.get("classification"), dict):
            yield found
        yield from _objects(item, "additionalClassifications")


def cpv_codes(compiled: Compiled) -> tuple[str, ...]:
    """Every CPV code of the tender and its items, main one first, as published (`45233162-2`; `45233130.0` read
    as `45233130`)."""
    codes: dict[str, None] = {}
    for found in _classifications(compiled):
        scheme, code = wire.text(found, "scheme"), wire.text(found, "id")
        if code is not None and (scheme or "").upper() == CPV:
            codes[code.removesuffix(".0")] = None
    return tuple(codes)


def _documents(compiled: Compiled | None, types: Iterable[str], *path: str) -> Iterator[str]:
    wanted = tuple(types)
    found = [
        (wanted.index(kind), url)
        for document in _objects(compiled, *path, "documents")
        if (kind := wire.text(document, "documentType")) in wanted and (url := wire.text(document, "url"))
    ]
    yield from (url for _, url in sorted(found, key=lambda pair: pair[0]))


def tender_stage(stages: Iterable[str]) -> bool:
    """A process with a planning or tender release announces a procurement (a Tender, a Lead)."""
    return not TENDER_STAGES.isdisjoint(stages)


def contact(compiled: Compiled) -> str | None:
    """The buyer's contact point as published: name, e-mail, telephone (never logged)."""
    party = _party(compiled, compiled.get("buyer")) or next(_parties_in_role(compiled, "buyer"), None)
    point = wire.at(party, "contactPoint")
    parts = [wire.text(point, key) for key in ("name", "email", "telephone")]
    return ", ".join(part for part in parts if part) or None


def _location(compiled: Compiled) -> str | None:
    places: dict[str, None] = {}
    for item in _objects(compiled, "tender", "items"):
        for address in _objects(item, "deliveryAddresses"):
            place = ", ".join(part for key in ("locality", "region", "postalCode") if (part := wire.text(address, key)))
            if place:
                places[place] = None
        for location in _objects(item, "deliveryLocations"):
            if described := wire.text(location, "description"):
                places[described] = None
    return "; ".join(places) or None


def _awards_total(compiled: Compiled) -> Money | None:
    values = [found for award in _objects(compiled, "awards") if (found := _money(award, "value"))]
    currencies = {value.currency for value in values}
    if not values or len(currencies) != 1:
        return None
    return Money(sum((value.amount for value in values), Decimal(0)), currencies.pop())


# -- the records ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredProcess:
    """A process as the store gives it back: its compiled release (parsed, and as the compact JSON kept), the day it
    was first published and its notice page (both derived from its releases when it was stored)."""

    compiled: Compiled
    compiled_json: str
    published: date | None = None
    notice: str | None = None

    @property
    def ocid(self) -> str:
        return str(self.compiled.get("ocid"))


def notice_url(compiled: Compiled, publisher: Publisher, release_ids: Iterable[str] = ()) -> str | None:
    """The tender notice: a `tenderNotice` (or like) document of the tender, else the publisher's page of a release
    (the latest first)."""
    found = next(_documents(compiled, NOTICE_DOCUMENTS, "tender"), None)
    if found is not None:
        return found
    return next((page for release_id in release_ids if (page := publisher.notice_page(release_id))), None)


def tender(process: StoredProcess) -> Tender:
    compiled = process.compiled
    closing = wire.moment(compiled, "tender", "tenderPeriod", "endDate")
    name, _ = buyer(compiled)
    return Tender(
        reference=process.ocid,
        solicitation_number=wire.text(compiled, "tender", "id"),
        title=LocalizedText(wire.text(compiled, "tender", "title") or wire.text(compiled, "planning", "rationale")),
        buyer=LocalizedText(name),
        url=LocalizedText(process.notice),
        closing_date=closing.date() if closing else None,
        closing_at=closing.astimezone(UTC) if closing else None,
        ocid=process.ocid,
        ocds=process.compiled_json,
    )


def lead(process: StoredProcess) -> Lead:
    compiled = process.compiled
    codes = cpv_codes(compiled)
    name, _ = buyer(compiled)
    updated = wire.day(compiled, "date")
    return Lead(
        id=process.ocid,
        source=LEAD_SOURCE,
        title=wire.text(compiled, "tender", "title"),
        description=wire.text(compiled, "tender", "description"),
        url=process.notice,
        urls=tuple(dict.fromkeys(_documents(compiled, NOTICE_DOCUMENTS, "tender"))),
        country=UNITED_KINGDOM,
        specific_location=_location(compiled),
        categories=tuple(f"{CPV}/{code}" for code in codes),
        publish_date=process.published,
        publish_date_amended=updated if updated != process.published else None,
        start_date=wire.day(compiled, "tender", "tenderPeriod", "startDate"),
        end_date=wire.day(compiled, "tender", "tenderPeriod", "endDate"),
        status=wire.text(compiled, "tender", "status"),
        notice_type=wire.text(compiled, "tender", "procurementMethodDetails"),
        reference_number=wire.text(compiled, "tender", "id"),
        procurement_organization=name,
        procurement_method=wire.text(compiled, "tender", "procurementMethod"),
        contact=contact(compiled),
        classification_code=codes[0] if codes else None,
        min_value=_money(compiled, "tender", "minValue"),
        max_value=_money(compiled, "tender", "value"),
        contract_value=_awards_total(compiled),
    )


def award_ids(compiled: Compiled) -> tuple[str, ...]:
    return tuple(found for award in _objects(compiled, "awards") if (found := wire.text(award, "id")))


def contract_key(ocid: str, award_id: str) -> str:
    return f"{ocid}/{award_id}"


def _award(compiled: Compiled, award_id: str) -> Mapping[str, Any] | None:
    return next((award for award in _objects(compiled, "awards") if wire.text(award, "id") == award_id), None)


def _signed(compiled: Compiled, award_id: str) -> Mapping[str, Any] | None:
    return next((found for found in _objects(compiled, "contracts") if wire.text(found, "awardID") == award_id), None)


def _supplier(compiled: Compiled, award: Mapping[str, Any]) -> Supplier | None:
    reference = next(_objects(award, "suppliers"), None)
    if reference is None:
        return None
    party = _party(compiled, reference)
    address = wire.at(party, "address")
    return Supplier(
        name=wire.text(reference, "name") or wire.text(party, "name"),
        city=wire.text(address, "locality"),
        region=wire.text(address, "region"),
        country=wire.text(address, "countryName"),
    )


def award_day(award: Mapping[str, Any]) -> date | None:
    return wire.day(award, "date") or wire.day(award, "datePublished")


def contract(process: StoredProcess, award_id: str, publisher: Publisher) -> Contract | None:
    """The award `award_id` of the process as a Contract (None when the process has no such award)."""
    compiled = process.compiled
    award = _award(compiled, award_id)
    if award is None:
        return None
    ocid = process.ocid
    signed = _signed(compiled, award_id)
    name, identifier = buyer(compiled)
    title = wire.text(award, "title") or wire.text(signed, "title") or wire.text(compiled, "tender", "title")
    url = (
        next(_documents(award, ("awardNotice", "contractNotice")), None)
        or next(_documents(signed, ("contractNotice", "contractSigned")), None)
        or process.notice
    )
    return Contract(
        source=publisher.contract_source,
        key=contract_key(ocid, award_id),
        piid=award_id,
        title=LocalizedText(title),
        buyer=Agency(LocalizedText(name), code=identifier) if name else None,
        supplier=_supplier(compiled, award),
        value=_money(award, "value"),
        total_value=_money(signed, "value"),
        award_date=award_day(award),
        expiry_date=wire.day(award, "contractPeriod", "endDate") or wire.day(signed, "period", "endDate"),
        url=LocalizedText(url) if url else None,
        last_modified=wire.moment(compiled, "date"),
        ocid=ocid,
        ocds=process.compiled_json,
    )


# -- what the store queries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardRow:
    key: str
    award_id: str
    contract_ids: str  # the ids of its signed contracts, space-separated (found as PIIDs too)
    day: str | None
    amount: float | None
    supplier: str  # every supplier's name, folded, one a line
    sort: str  # award day, newest first when read descending; undated last


@dataclass(frozen=True)
class ProcessRow:
    """The columns the store keeps of one process beside its compiled release."""

    ocid: str
    stage: str | None  # the tag of its latest release
    title: str
    description: str
    buyer: str
    amount: float | None
    currency: str | None
    deadline: str | None  # the closing moment in UTC
    deadline_day: str | None  # the closing day as published
    published_day: str | None
    notice: str | None
    cpv: str
    suppliers: str
    tender_sort: str | None  # None: no tender stage (no Tender, no Lead)
    lead_sort: str | None
    awards: tuple[AwardRow, ...]


@dataclass(frozen=True)
class ReleaseStamp:
    """What the store knows of each release of a process without reading it: its id, date and tags."""

    release_id: str
    date: str
    tags: tuple[str, ...]


def fold(text: str | None) -> str:
    return " ".join(text.split()).casefold() if text else ""


def first_published(compiled: Compiled, releases: Iterable[ReleaseStamp]) -> datetime | None:
    """When the procurement was first announced: the tender's `datePublished` (an extension the UK publishers use),
    else the earliest planning or tender release, else the earliest release (the offset as published)."""
    published = wire.moment(compiled, "tender", "datePublished")
    if published is not None:
        return published
    stamps = list(releases)
    announcing = [stamp for stamp in stamps if tender_stage(stamp.tags)] or stamps
    moments = [found for stamp in announcing if (found := wire.moment(stamp.date))]
    return min(moments, key=lambda moment: moment.astimezone(UTC), default=None)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _award_rows(compiled: Compiled, ocid: str) -> Iterator[AwardRow]:
    for award in _objects(compiled, "awards"):
        award_id = wire.text(award, "id")
        if award_id is None:
            continue
        day = award_day(award)
        worth = _money(award, "value")
        signed = (
            found
            for contract in _objects(compiled, "contracts")
            if wire.text(contract, "awardID") == award_id and (found := wire.text(contract, "id"))
        )
        suppliers = (fold(wire.text(found, "name")) for found in _objects(award, "suppliers"))
        yield AwardRow(
            key=contract_key(ocid, award_id),
            award_id=award_id,
            contract_ids=" ".join(signed),
            day=day.isoformat() if day else None,
            amount=float(worth.amount) if worth else None,
            supplier="\n".join(name for name in suppliers if name),
            sort=day.isoformat() if day else UNDATED_LAST_DESCENDING,
        )


def process_row(compiled: Compiled, publisher: Publisher, releases: Iterable[ReleaseStamp]) -> ProcessRow:
    """The columns of the process `compiled` was compiled from `releases`."""
    stamps = sorted(releases, key=lambda stamp: wire.moment(stamp.date) or datetime.min.replace(tzinfo=UTC))
    ocid = str(compiled.get("ocid"))
    value = _money(compiled, "tender", "value")
    deadline = wire.moment(compiled, "tender", "tenderPeriod", "endDate")
    deadline_day = deadline.date().isoformat() if deadline else None
    closing = _utc(deadline) if deadline else None
    published = first_published(compiled, stamps)
    published_day = published.date().isoformat() if published else None
    announces = tender_stage(tag for stamp in stamps for tag in stamp.tags)
    suppliers = {
        name: None
        for award in _objects(compiled, "awards")
        for found in _objects(award, "suppliers")
        if (name := wire.text(found, "name"))
    }
    name, _ = buyer(compiled)
    return ProcessRow(
        ocid=ocid,
        stage=stamps[-1].tags[-1] if stamps and stamps[-1].tags else None,
        title=wire.text(compiled, "tender", "title") or "",
        description=wire.text(compiled, "tender", "description") or "",
        buyer=name or "",
        amount=float(value.amount) if value else None,
        currency=value.currency if value else None,
        deadline=closing,
        deadline_day=deadline_day,
        published_day=published_day,
        notice=notice_url(compiled, publisher, reversed([stamp.release_id for stamp in stamps])),
        cpv=" ".join(cpv_codes(compiled)),
        suppliers="\n".join(suppliers),
        tender_sort=(f"{deadline_day}|{closing}" if deadline_day else UNDATED_LAST_ASCENDING) if announces else None,
        lead_sort=(f"{published_day}|{_utc(published)}" if published else UNDATED_LAST_DESCENDING)
        if announces
        else None,
        awards=tuple(_award_rows(compiled, ocid)),
    )
