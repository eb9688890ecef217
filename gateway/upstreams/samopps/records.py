"""A notice as the gateway's records: an open notice as a `Lead` (source FBO) and a `Tender`, an award notice as a
`Contract` (source SAMOPPS). Contact names, e-mails and phones are served as published (never logged)."""

from __future__ import annotations

from datetime import UTC, date

from gateway.models import (
    Agency,
    Classification,
    CodeName,
    Contact,
    Contract,
    ContractSource,
    Country,
    Lead,
    LocalizedText,
    Money,
    NoticeDetails,
    Supplier,
    Tender,
)
from gateway.upstreams.samopps.notice import Notice, Place, PointOfContact
from gateway.vocabularies import COUNTRIES, country_code

LEAD_SOURCE = "FBO"  # the ITA code of FedBizOpps, whose successor SAM.gov is
CURRENCY = "USD"


def status_of(notice: Notice) -> str | None:
    """Active or Inactive (archived), as the notice's `active` flag says."""
    if notice.active is None:
        return None
    return "Active" if notice.active else "Inactive"


def end_date(notice: Notice) -> date | None:
    """When responses close (the deadline's date where it was published), else when the notice is archived."""
    if notice.response_deadline is not None:
        return notice.response_deadline.date()
    return notice.archive_date


def _location(place: Place | None) -> str | None:
    if place is None:
        return None
    state_zip = " ".join(part for part in (place.state, place.zip) if part)
    return ", ".join(part for part in (place.street, place.city, state_zip) if part) or None


def _country(place: Place | None) -> Country | None:
    if place is None or not place.country:
        return None
    code = country_code(place.country)
    return Country(code, COUNTRIES.labels.get(code)) if code else Country(None, place.country)


def place_country(notice: Notice) -> str | None:
    """The place of performance's ISO alpha-2 country code (what lead queries filter on)."""
    place = notice.place_of_performance
    return country_code(place.country) if place and place.country else None


def _contact_text(contact: PointOfContact) -> str:
    return ", ".join(part for part in (contact.name, contact.email, contact.phone) if part)


def _primary(notice: Notice) -> PointOfContact | None:
    return next((contact for contact in notice.contacts if contact.kind == "primary"), None) or next(
        iter(notice.contacts), None
    )


def _links(notice: Notice) -> tuple[str, ...]:
    return tuple(dict.fromkeys(link for link in (notice.additional_info_link, *notice.resource_links) if link))


def lead_of(notice: Notice) -> Lead:
    contacts = "; ".join(text for contact in notice.contacts if (text := _contact_text(contact)))
    return Lead(
        id=notice.notice_id,
        source=LEAD_SOURCE,
        title=notice.title,
        description=notice.description,
        url=notice.link,
        urls=_links(notice),
        country=_country(notice.place_of_performance),
        specific_location=_location(notice.place_of_performance),
        industries=(notice.naics,) if notice.naics else (),
        publish_date=notice.posted,
        end_date=end_date(notice),
        status=status_of(notice),
        notice_type=notice.effective_type,
        reference_number=notice.solicitation_number,
        procurement_organization=notice.department,
        procurement_office=notice.office,
        agency=notice.subtier,
        contact=contacts or None,
        classification_code=notice.psc,
    )


def _details(notice: Notice) -> NoticeDetails:
    primary = _primary(notice)
    classifications = tuple(
        Classification(scheme, code) for scheme, code in (("NAICS", notice.naics), ("PSC", notice.psc)) if code
    )
    status = status_of(notice)
    return NoticeDetails(
        solicitation_number=notice.solicitation_number,
        published=notice.posted,
        status=LocalizedText(status) if status else None,
        notice_type=LocalizedText(notice.effective_type) if notice.effective_type else None,
        classifications=classifications,
        description=LocalizedText(notice.description) if notice.description else None,
        contact=Contact(primary.name, primary.email, primary.phone) if primary else None,
        attachments=_links(notice),
    )


def tender_of(notice: Notice) -> Tender:
    deadline = notice.response_deadline
    return Tender(
        reference=notice.notice_id,
        solicitation_number=notice.solicitation_number,
        title=LocalizedText(notice.title),
        buyer=LocalizedText(notice.org_path),
        url=LocalizedText(notice.link),
        closing_date=deadline.date() if deadline else None,
        closing_at=deadline.astimezone(UTC) if deadline else None,
        notice=_details(notice),
    )


def award_number(notice: Notice) -> str | None:
    """The PIID an award notice names (its award number; without one, its solicitation number)."""
    number = notice.award.number if notice.award else None
    return number or notice.solicitation_number


def _code_name(code: str | None, name: str | None) -> CodeName | None:
    return CodeName(code, name) if code or name else None


def _buyer(notice: Notice) -> Agency | None:
    codes: list[str | None] = [code.strip() or None for code in (notice.org_codes or "").split(".")]
    department, subtier, office = [*codes, None, None, None][:3]
    if not (notice.department or notice.org_path or department):
        return None
    return Agency(
        LocalizedText(notice.department or notice.org_path),
        code=department,
        subtier=_code_name(subtier, notice.subtier),
        office=_code_name(office, notice.office),
    )


def _supplier(notice: Notice) -> Supplier | None:
    award = notice.award
    if award is None or not (award.awardee or award.uei):
        return None
    place = award.awardee_place
    return Supplier(
        name=award.awardee,
        unique_entity_id=award.uei,
        cage_code=award.cage_code,
        city=place.city if place else None,
        region=place.state if place else None,
        country=place.country if place else None,
    )


def contract_of(notice: Notice) -> Contract | None:
    """An award notice as a contract; None without an award or solicitation number to name it by."""
    piid = award_number(notice)
    if piid is None:
        return None
    award = notice.award
    place = notice.place_of_performance
    return Contract(
        source=ContractSource.SAMOPPS,
        key=notice.notice_id,
        piid=piid,
        title=LocalizedText(notice.title),
        buyer=_buyer(notice),
        supplier=_supplier(notice),
        value=Money(award.amount, CURRENCY) if award and award.amount is not None else None,
        award_date=award.day if award else None,
        naics=_code_name(notice.naics, None),
        product_or_service=_code_name(notice.psc, None),
        set_aside=_code_name(notice.set_aside_code, notice.set_aside),
        place_of_performance=Country(place.country, None) if place and place.country else None,
        url=LocalizedText(notice.link) if notice.link else None,
        notice=_details(notice),
    )
