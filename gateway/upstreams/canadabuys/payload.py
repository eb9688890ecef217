"""The stored form of a mapped CanadaBuys notice: what the index hands back when a tender or a contract is read.

A row is mapped once, when the snapshot is built (entities unescaped, multi-value cells split, closing times read at
the configured offset); the record is kept as compact JSON and read back into the same domain objects without mapping
again. It is not compressed: reading a page of ten is then four times cheaper, for a snapshot about a third larger.
A change of the mapping or of this form changes `FORMAT`: snapshots of another format are rebuilt from the kept
files.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.models import (
    Agency,
    Classification,
    Contact,
    Contract,
    LocalizedText,
    Money,
    NoticeDetails,
    Supplier,
    Tender,
)
from gateway.upstreams.canadabuys.mapping import CONTRACT_SOURCE

FORMAT = "canadabuys-2"

Json = Any


def _text(value: LocalizedText | None) -> Json:
    return None if value is None else [value.en, value.fr]


def _localized(data: Json) -> LocalizedText | None:
    return None if data is None else LocalizedText(data[0], data[1])


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(data: Json) -> date | None:
    return None if data is None else date.fromisoformat(data)


def _money(value: Money | None) -> Json:
    return None if value is None else [str(value.amount), value.currency]


def _amount(data: Json) -> Money | None:
    return None if data is None else Money(Decimal(data[0]), data[1])


def _notice(notice: NoticeDetails | None) -> Json:
    if notice is None:
        return None
    contact = notice.contact
    return [
        notice.amendment,
        notice.solicitation_number,
        _day(notice.published),
        _day(notice.amended),
        _text(notice.status),
        _text(notice.notice_type),
        _text(notice.procurement_method),
        _text(notice.selection_criteria),
        _text(notice.limited_tendering_reason),
        list(notice.procurement_categories),
        [_text(agreement) for agreement in notice.trade_agreements],
        list(notice.unspscs),
        [[found.scheme, found.code, _text(found.description)] for found in notice.classifications],
        _text(notice.description),
        _text(notice.end_users),
        None if contact is None else [contact.name, contact.email, contact.phone],
        list(notice.attachments),
        _day(notice.start),
        _day(notice.end),
        _text(notice.instrument_type),
        _text(notice.amendment_type),
    ]


def _notice_of(data: Json) -> NoticeDetails | None:
    if data is None:
        return None
    (
        amendment,
        solicitation,
        published,
        amended,
        status,
        notice_type,
        method,
        criteria,
        limited,
        categories,
        agreements,
        unspscs,
        classifications,
        description,
        end_users,
        contact,
        attachments,
        start,
        end,
        instrument,
        amendment_type,
    ) = data
    return NoticeDetails(
        amendment=amendment,
        solicitation_number=solicitation,
        published=_date(published),
        amended=_date(amended),
        status=_localized(status),
        notice_type=_localized(notice_type),
        procurement_method=_localized(method),
        selection_criteria=_localized(criteria),
        limited_tendering_reason=_localized(limited),
        procurement_categories=tuple(categories),
        trade_agreements=tuple(LocalizedText(en, fr) for en, fr in agreements),
        unspscs=tuple(unspscs),
        classifications=tuple(Classification(s, c, _localized(d)) for s, c, d in classifications),
        description=_localized(description),
        end_users=_localized(end_users),
        contact=None if contact is None else Contact(*contact),
        attachments=tuple(attachments),
        start=_date(start),
        end=_date(end),
        instrument_type=_localized(instrument),
        amendment_type=_localized(amendment_type),
    )


def _pack(data: Json) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _unpack(payload: bytes) -> Json:
    return json.loads(payload)


def encode_tender(tender: Tender) -> bytes:
    return _pack(
        [
            tender.reference,
            tender.solicitation_number,
            _text(tender.title),
            _text(tender.buyer),
            _text(tender.url),
            list(tender.gsins),
            list(tender.delivery_regions),
            list(tender.opportunity_regions),
            _day(tender.closing_date),
            None if tender.closing_at is None else tender.closing_at.isoformat(),
            _notice(tender.notice),
        ]
    )


def decode_tender(payload: bytes) -> Tender:
    reference, solicitation, title, buyer, url, gsins, delivery, opportunity, closing, at, notice = _unpack(payload)
    return Tender(
        reference=reference,
        solicitation_number=solicitation,
        title=LocalizedText(*title),
        buyer=LocalizedText(*buyer),
        url=LocalizedText(*url),
        gsins=tuple(gsins),
        delivery_regions=tuple(delivery),
        opportunity_regions=tuple(opportunity),
        closing_date=_date(closing),
        closing_at=None if at is None else datetime.fromisoformat(at),
        notice=_notice_of(notice),
    )


def encode_contract(contract: Contract) -> bytes:
    supplier = contract.supplier
    return _pack(
        [
            contract.key,
            contract.piid,
            _text(contract.title),
            contract.modification_number,
            None if contract.buyer is None else _text(contract.buyer.name),
            None if supplier is None else [supplier.name, supplier.city, supplier.region, supplier.country],
            _money(contract.value),
            _money(contract.total_value),
            _day(contract.award_date),
            _day(contract.expiry_date),
            list(contract.gsins),
            _notice(contract.notice),
        ]
    )


def decode_contract(payload: bytes) -> Contract:
    key, piid, title, modification, buyer, supplier, value, total, awarded, expires, gsins, notice = _unpack(payload)
    return Contract(
        source=CONTRACT_SOURCE,
        key=key,
        piid=piid,
        title=LocalizedText(*title),
        modification_number=modification,
        buyer=None if buyer is None else Agency(LocalizedText(*buyer)),
        supplier=None
        if supplier is None
        else Supplier(supplier[0], city=supplier[1], region=supplier[2], country=supplier[3]),
        value=_amount(value),
        total_value=_amount(total),
        award_date=_date(awarded),
        expiry_date=_date(expires),
        gsins=tuple(gsins),
        notice=_notice_of(notice),
    )
