"""The Get Opportunities API v2 (`GET opportunities/v2/search`): the parameters of a pull of the day's postings and
the notices of an answer.

Pulls ask one window of posting dates (`postedFrom`/`postedTo`, MM/dd/yyyy, required), the notice types served here
(`ptype` repeated: o, k, p, r, s, a), 1,000 notices a page (the most the API gives), and page on with `offset` read as
a record offset (what public clients send; the documentation calls it a page index). 404 "No Data found" is zero hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.errors import UpstreamBadResponse
from gateway.upstreams import wire
from gateway.upstreams.samopps.notice import NOTICE_ID, Award, Notice, Place, PointOfContact

SEARCH_PATH = "opportunities/v2/search"
PAGE_SIZE = 1000  # the API's maximum `limit`
# Solicitation, combined synopsis/solicitation, presolicitation, sources sought, special notice, award notice.
PULLED_TYPES = ("o", "k", "p", "r", "s", "a")
NAME = "samopps"


def sam_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


# `ptype` repeats (the API's `collectionFormat: multi`): it is written into the path, the transport adds the rest.
PULL_PATH = SEARCH_PATH + "?" + "&".join(f"ptype={code}" for code in PULLED_TYPES)


def search_params(posted_from: date, posted_to: date, *, offset: int, limit: int = PAGE_SIZE) -> dict[str, str]:
    """The query of one page of a pull, but `ptype` (in `PULL_PATH`) and the key (added by the transport)."""
    return {
        "postedFrom": sam_date(posted_from),
        "postedTo": sam_date(posted_to),
        "limit": str(limit),
        "offset": str(offset),
    }


@dataclass(frozen=True)
class SearchPage:
    total: int
    notices: tuple[Notice, ...]
    received: int  # objects in the page, read or not


def parse_search(payload: object) -> SearchPage:
    """An answer of the search; UpstreamBadResponse for a body that is not the documented envelope."""
    if not isinstance(payload, dict):
        raise UpstreamBadResponse(NAME, "samopps answered a search that is not an object")
    items = payload.get("opportunitiesData")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise UpstreamBadResponse(NAME, "samopps answered opportunitiesData that is not a list")
    total = wire.integer(payload, "totalRecords")
    notices = tuple(found for item in items if (found := parse_notice(item)) is not None)
    return SearchPage(total if total is not None else len(items), notices, len(items))


def _id(value: str | None) -> str | None:
    if value is None:
        return None
    folded = value.strip().lower()
    return folded if NOTICE_ID.match(folded) else None


def _place(item: object) -> Place | None:
    """`placeOfPerformance` / `awardee.location` (nested `{code, name}` objects) or `officeAddress` (flat)."""
    if not isinstance(item, dict):
        return None
    found = Place(
        street=" ".join(part for key in ("streetAddress", "streetAddress2") if (part := wire.text(item, key))) or None,
        city=wire.text(item, "city", "name") or wire.text(item, "city"),
        state=wire.text(item, "state", "code") or wire.text(item, "state"),
        zip=wire.text(item, "zip") or wire.text(item, "zipcode"),
        country=wire.text(item, "country", "code") or wire.text(item, "countryCode"),
    )
    return None if found.is_empty() else found


def _contacts(value: object) -> tuple[PointOfContact, ...]:
    if not isinstance(value, list):
        return ()
    contacts = (
        PointOfContact(
            kind=wire.text(item, "type"),
            title=wire.text(item, "title"),
            name=wire.text(item, "fullName") or wire.text(item, "fullname"),
            email=wire.text(item, "email"),
            phone=wire.text(item, "phone"),
            fax=wire.text(item, "fax"),
        )
        for item in value
        if isinstance(item, dict)
    )
    return tuple(contact for contact in contacts if not contact.is_empty())


def _award(value: object) -> Award | None:
    if not isinstance(value, dict):
        return None
    found = Award(
        number=wire.text(value, "number"),
        day=wire.day(value, "date"),
        amount=wire.amount(value, "amount"),
        awardee=wire.text(value, "awardee", "name"),
        uei=wire.text(value, "awardee", "ueiSAM"),
        cage_code=wire.text(value, "awardee", "cageCode"),
        awardee_place=_place(wire.at(value, "awardee", "location")),
    )
    return None if found == Award() else found


def _path_part(path: str | None, index: int) -> str | None:
    parts = [part.strip() for part in path.split(".")] if path else []
    return parts[index] or None if len(parts) > index else None


def _links(item: object) -> tuple[str, ...]:
    value = wire.at(item, "resourceLinks")
    return wire.strings(item, "resourceLinks") if isinstance(value, list) else ()


def parse_notice(item: object) -> Notice | None:
    """One object of `opportunitiesData`; None when it is not an object or has no 32-hex `noticeId`."""
    if not isinstance(item, dict):
        return None
    notice_id = _id(wire.text(item, "noticeId"))
    if notice_id is None:
        return None
    path = wire.text(item, "fullParentPathName")
    active = wire.text(item, "active")
    return Notice(
        notice_id=notice_id,
        title=wire.text(item, "title"),
        solicitation_number=wire.text(item, "solicitationNumber"),
        # v2 gives the path; the deprecated department/subTier/office fields older answers carry
        department=wire.text(item, "department") or _path_part(path, 0),
        subtier=wire.text(item, "subTier") or wire.text(item, "subtier") or _path_part(path, 1),
        office=wire.text(item, "office") or _path_part(path, 2),
        org_path=path or _joined(item, ("department", "subTier", "office")),
        org_codes=wire.text(item, "fullParentPathCode"),
        posted=wire.day(item, "postedDate"),
        type=wire.text(item, "type"),
        base_type=wire.text(item, "baseType"),
        archive_type=wire.text(item, "archiveType"),
        archive_date=wire.day(item, "archiveDate"),
        set_aside_code=wire.text(item, "typeOfSetAside") or wire.text(item, "setAsideCode"),
        set_aside=wire.text(item, "typeOfSetAsideDescription") or wire.text(item, "setAside"),
        response_deadline=wire.moment(item, "responseDeadLine") or wire.moment(item, "reponseDeadLine"),
        naics=wire.text(item, "naicsCode"),
        psc=wire.text(item, "classificationCode"),
        place_of_performance=_place(item.get("placeOfPerformance")),
        active=None if active is None else active.casefold() == "yes",
        award=_award(item.get("award")),
        contacts=_contacts(item.get("pointOfContact")),
        organization_type=wire.text(item, "organizationType"),
        office_address=_place(item.get("officeAddress")),
        additional_info_link=wire.text(item, "additionalInfoLink"),
        link=wire.text(item, "uiLink"),
        description=None,  # a link to `noticedesc`, one paid call per notice: never followed
        resource_links=_links(item),
    )


def _joined(item: object, keys: Sequence[str]) -> str | None:
    parts = [part for key in keys if (part := wire.text(item, key))]
    return ".".join(parts) or None
