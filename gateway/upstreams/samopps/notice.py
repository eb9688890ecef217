"""One SAM.gov opportunity notice, as both paths publish it (a row of the extract, an object of the API), and its form
in the index (compact JSON, read back as it was written).

What a notice becomes depends on its type (`group`): the open notice types are tenders and leads, award notices are
contracts, anything else is kept out of the answers. A modification, amendment or cancellation is read as its base
type (`BaseType`): it updates the notice it modifies.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

OPEN_TYPES = frozenset(
    {"solicitation", "combined synopsis/solicitation", "presolicitation", "sources sought", "special notice"}
)
AWARD_TYPES = frozenset({"award notice"})
# Types naming a change to an earlier notice rather than a kind of notice ("Modification/Amendment/Cancel" in the
# extract); such a notice is what its base type says.
CHANGE_WORDS = ("modification", "amendment", "cancel")

Group = Literal["open", "award", "other"]
OPEN: Group = "open"
AWARD: Group = "award"
OTHER: Group = "other"
NOTICE_ID = re.compile(r"^[0-9a-fA-F]{32}$")  # SAM's notice ids: 32 hexadecimal digits


@dataclass(frozen=True)
class Place:
    """A place of performance or an address; `country` as published (SAM: ISO alpha-3, e.g. USA)."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


@dataclass(frozen=True)
class PointOfContact:
    """A contact person as published: served as is, never logged."""

    kind: str | None = None  # primary, secondary
    title: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    fax: str | None = None

    def is_empty(self) -> bool:
        return not any((self.name, self.email, self.phone, self.fax, self.title))


@dataclass(frozen=True)
class Award:
    number: str | None = None
    day: date | None = None
    amount: Decimal | None = None
    awardee: str | None = None
    uei: str | None = None
    cage_code: str | None = None
    awardee_place: Place | None = None


@dataclass(frozen=True)
class Notice:
    notice_id: str  # 32 hexadecimal digits, lower-case
    title: str | None = None
    solicitation_number: str | None = None
    department: str | None = None
    subtier: str | None = None
    office: str | None = None
    org_path: str | None = None  # every organisation, dot-separated (the API's fullParentPathName)
    org_codes: str | None = None  # their codes, dot-separated (fullParentPathCode; the extract's CGAC.FPDS.AAC)
    posted: date | None = None
    type: str | None = None
    base_type: str | None = None
    archive_type: str | None = None
    archive_date: date | None = None
    set_aside_code: str | None = None
    set_aside: str | None = None
    response_deadline: datetime | None = None  # with the offset it was published at
    naics: str | None = None
    psc: str | None = None  # the classification (product or service) code
    place_of_performance: Place | None = None
    active: bool | None = None
    award: Award | None = None
    contacts: tuple[PointOfContact, ...] = ()
    organization_type: str | None = None
    office_address: Place | None = None
    additional_info_link: str | None = None
    link: str | None = None  # the notice's page on SAM.gov
    description: str | None = None  # the full text (the extract); None from the API, which gives a paid link
    resource_links: tuple[str, ...] = field(default=())

    @property
    def is_change(self) -> bool:
        """Its type names a change to an earlier notice (a modification, amendment or cancellation)."""
        current = (self.type or "").casefold()
        return any(word in current for word in CHANGE_WORDS)

    @property
    def effective_type(self) -> str | None:
        """The notice's type, or its base type when its type names a change."""
        if self.is_change and self.base_type:
            return self.base_type
        return self.type or self.base_type

    @property
    def group(self) -> Group:
        kind = (self.effective_type or "").strip().casefold()
        if kind in OPEN_TYPES:
            return OPEN
        if kind in AWARD_TYPES:
            return AWARD
        return OTHER


# -- the stored form ---------------------------------------------------------------------------------------------------


def encode(notice: Notice) -> bytes:
    """The notice as compact JSON (dates ISO, amounts as text)."""
    return json.dumps(_plain(asdict(notice)), separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item not in (None, (), [])}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode(payload: bytes) -> Notice | None:
    """A notice `encode` wrote; None for a payload that does not read as one (an older format)."""
    try:
        data = json.loads(payload)
        return _notice(data)
    except (ValueError, TypeError, KeyError, InvalidOperation):
        return None


def _place(data: object) -> Place | None:
    return Place(**data) if isinstance(data, dict) else None


def _day(data: object) -> date | None:
    return date.fromisoformat(data) if isinstance(data, str) else None


def _notice(data: dict[str, Any]) -> Notice:
    award = data.get("award")
    plain: dict[str, Any] = {key: data.get(key) for key in _PLAIN_FIELDS}
    return Notice(
        **plain,
        posted=_day(data.get("posted")),
        archive_date=_day(data.get("archive_date")),
        response_deadline=datetime.fromisoformat(data["response_deadline"]) if "response_deadline" in data else None,
        place_of_performance=_place(data.get("place_of_performance")),
        office_address=_place(data.get("office_address")),
        award=None
        if not isinstance(award, dict)
        else Award(
            number=award.get("number"),
            day=_day(award.get("day")),
            amount=Decimal(award["amount"]) if "amount" in award else None,
            awardee=award.get("awardee"),
            uei=award.get("uei"),
            cage_code=award.get("cage_code"),
            awardee_place=_place(award.get("awardee_place")),
        ),
        contacts=tuple(PointOfContact(**contact) for contact in data.get("contacts", ())),
        resource_links=tuple(data.get("resource_links", ())),
    )


_PLAIN_FIELDS = (
    "notice_id",
    "title",
    "solicitation_number",
    "department",
    "subtier",
    "office",
    "org_path",
    "org_codes",
    "type",
    "base_type",
    "archive_type",
    "set_aside_code",
    "set_aside",
    "naics",
    "psc",
    "active",
    "organization_type",
    "additional_info_link",
    "link",
    "description",
)
