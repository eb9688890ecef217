"""CanadaBuys tender notices as ITA `CANADA` trade leads: ITA took its CANADA leads from the same federal notices.

A lead is read from the mapped tender notice (`mapping.tender`), English first (French when English is empty):

| Lead | CanadaBuys |
|---|---|
| id, reference_number | reference number (`PW-...`, `MX-...`) |
| source | `CANADA` |
| title, description | title, tender description |
| url | notice URL (the CanadaBuys notice page when the row gives none) |
| urls | attachments (documents) |
| country | CA, Canada |
| specific_location | regions of delivery, by name ("Alberta, British Columbia") |
| industries | GSIN and UNSPSC codes with their descriptions, as ITA gave them (`G009E: Medical/Dental Clinic`) |
| categories | `GSIN/<code>`, `UNSPSC/<code>` |
| publish_date, publish_date_amended | publication date, amendment date |
| start_date | expected contract start |
| end_date | closing date (the local date as published) |
| status, notice_type, procurement_method | tender status, notice type, procurement method |
| contract_number | solicitation number |
| procurement_organization | contracting entity |
| contact | contact name, e-mail and phone, comma-separated, as published (never logged) |

Null or empty, as CanadaBuys publishes none of them: trade and world regions and ITA industries (ITA's own taxonomy),
tags, project number, procurement office, agency, funding source, borrowing entity, classification code, values.
"""

from __future__ import annotations

from gateway.models import Contact, Country, Lead, LocalizedText, Tender
from gateway.vocabularies import CANADIAN_REGIONS

SOURCE = "CANADA"
COUNTRY = Country("CA", "Canada")


def _english(text: LocalizedText | None) -> str | None:
    return None if text is None else text.en or text.fr


def _location(tender: Tender) -> str | None:
    names = [CANADIAN_REGIONS.labels.get(code, code) for code in tender.delivery_regions]
    return ", ".join(names) or None


def lead_of(tender: Tender) -> Lead:
    """The `CANADA` lead of a CanadaBuys tender notice (see the module docstring)."""
    notice = tender.notice
    classifications = notice.classifications if notice else ()
    contact = notice.contact if notice else None
    described = (
        f"{found.code}: {label}" if (label := _english(found.description)) else found.code for found in classifications
    )
    return Lead(
        id=tender.reference,
        source=SOURCE,
        title=_english(tender.title),
        description=_english(notice.description) if notice else None,
        url=_english(tender.url),
        urls=notice.attachments if notice else (),
        country=COUNTRY,
        specific_location=_location(tender),
        industries=tuple(dict.fromkeys(described)),
        categories=tuple(dict.fromkeys(f"{found.scheme}/{found.code}" for found in classifications)),
        publish_date=notice.published if notice else None,
        publish_date_amended=notice.amended if notice else None,
        start_date=notice.start if notice else None,
        end_date=tender.closing_date,
        status=_english(notice.status) if notice else None,
        notice_type=_english(notice.notice_type) if notice else None,
        reference_number=tender.reference,
        contract_number=tender.solicitation_number,
        procurement_organization=_english(tender.buyer),
        procurement_method=_english(notice.procurement_method) if notice else None,
        contact=_contact(contact),
    )


def _contact(contact: Contact | None) -> str | None:
    if contact is None:
        return None
    return ", ".join(part for part in (contact.name, contact.email, contact.phone) if part) or None
