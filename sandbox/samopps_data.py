"""The SAM.gov Contract Opportunities the sandbox serves: one seeded set of notices behind the API and the extract.

Publication 0 is the extract of `today` (settings.today or the real UTC date): `notices` current notices posted over
the 180 days up to today, one row per notice (its latest version). Publication k is the file k days later: each day
changes about 4 % of the notices (a response deadline extended, a notice archived, a description amended), drops
about 2 % (no longer current) and adds about 3 % posted that day. The search API answers from the same publication.

Award notices: about half carry the PIID, date, amount, awardee and office of a base award of the SAM Contract
Awards imitation (same seed, scale and today), so the two can be joined by award number; the other award numbers
exist nowhere else. Text carries Windows-1252 characters beyond ASCII (U+2019, U+2013, accented letters), never
characters cp1252 cannot encode, so the extract encodes strictly.
"""

from __future__ import annotations

import random
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sandbox import sam_reference as ref
from sandbox.sam_data import SamDataset, load_dataset
from sandbox.sam_records import GeneratedAward
from sandbox.settings import SandboxSettings

POSTING_DAYS = 180
APOSTROPHE = "\u2019"  # the typographic apostrophe Windows-1252 encodes as 0x92
EN_DASH = "\u2013"
JOIN_WINDOW_DAYS = 175  # joined award notices come from base awards signed this recently

SOLICITATION = "Solicitation"
COMBINED = "Combined Synopsis/Solicitation"
PRESOLICITATION = "Presolicitation"
SOURCES_SOUGHT = "Sources Sought"
SPECIAL_NOTICE = "Special Notice"
AWARD_NOTICE = "Award Notice"
JUSTIFICATION = "Justification"
INTENT_TO_BUNDLE = "Intent to Bundle Requirements (DoD-Funded)"
SURPLUS = "Sale of Surplus Property"
# The doc's procurement types (`ptype`), by code; f and l are retired and match nothing.
PTYPES: Mapping[str, str] = {
    "u": JUSTIFICATION,
    "p": PRESOLICITATION,
    "a": AWARD_NOTICE,
    "r": SOURCES_SOUGHT,
    "s": SPECIAL_NOTICE,
    "o": SOLICITATION,
    "g": SURPLUS,
    "k": COMBINED,
    "i": INTENT_TO_BUNDLE,
    "f": "Foreign Government Standard",
    "l": "Fair Opportunity / Limited Sources",
}
_TYPE_WEIGHTS: tuple[tuple[str, int], ...] = (
    (SOLICITATION, 24),
    (COMBINED, 24),
    (PRESOLICITATION, 12),
    (SOURCES_SOUGHT, 12),
    (SPECIAL_NOTICE, 6),
    (AWARD_NOTICE, 16),
    (JUSTIFICATION, 3),
    (INTENT_TO_BUNDLE, 2),
    (SURPLUS, 1),
)
OPEN_TYPES = frozenset({SOLICITATION, COMBINED, PRESOLICITATION, SOURCES_SOUGHT, INTENT_TO_BUNDLE, SURPLUS})

# The doc's set-aside table (code, description); most notices have none.
SET_ASIDES: tuple[tuple[str, str], ...] = (
    ("SBA", "Total Small Business Set-Aside (FAR 19.5)"),
    ("SBP", "Partial Small Business Set-Aside (FAR 19.5)"),
    ("8A", "8(a) Set-Aside (FAR 19.8)"),
    ("8AN", "8(a) Sole Source (FAR 19.8)"),
    ("HZC", "Historically Underutilized Business (HUBZone) Set-Aside (FAR 19.13)"),
    ("SDVOSBC", "Service-Disabled Veteran-Owned Small Business (SDVOSB) Set-Aside (FAR 19.14)"),
    ("WOSB", "Women-Owned Small Business (WOSB) Program Set-Aside (FAR 19.15)"),
    ("EDWOSB", "Economically Disadvantaged WOSB (EDWOSB) Program Set-Aside (FAR 19.15)"),
    ("VSA", "Veteran-Owned Small Business Set-Aside (specific to Department of Veterans Affairs)"),
)
_AWARD_SET_ASIDES = {code: (code, text) for code, text in SET_ASIDES} | {"BI": ("BICiv", "Buy Indian Set-Aside")}

# Where each office sits (its officeAddress), by office code.
_OFFICE_CITIES: Mapping[str, str] = {
    "SPE3SU": "PHILADELPHIA",
    "SPE4A6": "RESTON",
    "SPE7M5": "COLUMBUS",
    "N40085": "NORFOLK",
    "N00024": "WASHINGTON",
    "W912DY": "HUNTSVILLE",
    "47QSWA": "WASHINGTON",
    "47QTCA": "WASHINGTON",
    "47PB00": "WASHINGTON",
    "DJM": "ARLINGTON",
    "15B615": "TUCSON",
    "75N980": "BETHESDA",
    "75F401": "BETHESDA",
    "36C776": "COLUMBUS",
    "80GSFC": "GREENBELT",
    "70FA20": "WASHINGTON",
}
_DOMAINS: Mapping[str, str] = {
    "97AS": "dla.mil",
    "1700": "us.navy.mil",
    "2100": "army.mil",
    "4732": "gsa.gov",
    "4740": "gsa.gov",
    "1544": "usdoj.gov",
    "1540": "bop.gov",
    "7529": "nih.gov",
    "7524": "fda.hhs.gov",
    "3600": "va.gov",
    "8000": "nasa.gov",
    "7022": "fema.dhs.gov",
}
FIRST_NAMES = (
    "Jesse", "María", "José", "Renée", "Zoë", "Amelia", "Darnell", "Priya",
    "Wei", "Hannah", "Marcus", "Andrés", "Chloé", "Tomás", "Grace", "Noah",
)  # fmt: skip
LAST_NAMES = (
    "Jones", f"O{APOSTROPHE}Neill", "García", "Nguyen", "Smith", "Patel", "Okafor", "Kowalski",
    "Brennan", "Lefèvre", "Hughes", "Johansson", "Ramírez", "Walsh", "Chen", "Muñoz",
)  # fmt: skip
CONTACT_TITLES = ("Contracting Officer", "Contract Specialist", "Contracting Officer ", "Purchasing Agent")
TITLE_TEMPLATES = (
    "{subject}",
    "{subject} - {city}",
    "{subject} " + EN_DASH + " {city}",
    "Contractor" + APOSTROPHE + "s {subject}",
    "{subject} (Mentor-Protégé)",
    "{subject} at the Agency" + APOSTROPHE + "s {city} Site",
    "Notice of Intent: {subject}",
    "{subject} for the Café and Fitness Center",
)
RESOURCE_BASE = "https://sam.gov/api/prod/opps/v3/opportunities/resources/files/"


@dataclass(frozen=True, slots=True)
class Contact:
    kind: str  # "primary" or "secondary"
    title: str
    full_name: str
    email: str
    phone: str
    fax: str | None


@dataclass(frozen=True, slots=True)
class NoticeAward:
    number: str
    day: date
    amount: str
    awardee_name: str
    uei: str
    cage: str
    street: str
    place: ref.Place
    joined: bool  # the number is a PIID of the SAM Contract Awards imitation


@dataclass(frozen=True, slots=True)
class Notice:
    notice_id: str
    title: str
    solicitation_number: str
    office: ref.Office
    office_place: ref.Place
    posted: datetime  # US Eastern wall time with its offset
    notice_type: str
    base_type: str
    archive_type: str
    archive_date: date | None
    set_aside: tuple[str, str] | None
    deadline: datetime | None
    naics: str
    psc: str
    pop_street: str | None
    pop_place: ref.Place
    active: bool
    award: NoticeAward | None
    contacts: tuple[Contact, ...]
    description: str
    additional_info_link: str | None
    resources: tuple[str, ...]

    @property
    def ptype(self) -> str:
        return next(code for code, name in PTYPES.items() if name == self.notice_type)

    @property
    def path_names(self) -> tuple[str, str, str]:
        return (self.office.department[1], self.office.subtier[1], self.office.office[1])

    @property
    def path_codes(self) -> tuple[str, str, str]:
        return (cgac(self.office), self.office.subtier[0], self.office.office[0])


@dataclass(frozen=True, eq=False)  # hashed by identity: memoised per publication
class OpportunityDataset:
    notices: tuple[Notice, ...]
    """Newest posting first (then by notice id), the order the search API pages in."""
    by_id: Mapping[str, Notice]
    publication: int

    @property
    def joined_piids(self) -> tuple[str, ...]:
        return tuple(n.award.number for n in self.notices if n.award is not None and n.award.joined)


def cgac(office: ref.Office) -> str:
    """The department's three-digit CGAC code (the 4-digit FPDS code without its trailing zeros: 4700 -> 047)."""
    return "0" + office.department[0][:2]


def eastern(day: date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """US Eastern wall time (EDT from the second Sunday of March to the first Sunday of November, roughly)."""
    summer = 4 <= day.month <= 10 or (day.month == 3 and day.day >= 10) or (day.month == 11 and day.day < 7)
    zone = timezone(timedelta(hours=-4 if summer else -5))
    return datetime.combine(day, time(hour, minute, second, micro), zone)


def opportunities_for(
    settings: SandboxSettings, *, seed: int | None = None, notices: int | None = None, publication: int = 0
) -> OpportunityDataset:
    today = settings.today or datetime.now(UTC).date()
    return load_opportunities(
        settings.seed if seed is None else seed,
        settings.samopps_notices if notices is None else notices,
        today,
        publication,
        scale=settings.scale,
        samples_dir=settings.samples_dir,
    )


@lru_cache(maxsize=16)
def load_opportunities(
    seed: int, count: int, today: date, publication: int, *, scale: int, samples_dir: Path | None
) -> OpportunityDataset:
    if publication == 0:
        generator = NoticeGenerator(
            random.Random(f"samopps:{seed}"), today, _joinable(load_dataset(seed, scale, today, samples_dir), today)
        )
        days_ago = [generator.rng.randint(0, POSTING_DAYS - 1) for _ in range(count)]
        notices = [generator.notice(today - timedelta(days)) for days in days_ago]
    else:
        previous = load_opportunities(seed, count, today, publication - 1, scale=scale, samples_dir=samples_dir)
        notices = _next_day(previous.notices, random.Random(f"samopps:{seed}:day:{publication}"), today, publication)
    ordered = tuple(sorted(notices, key=lambda n: (-n.posted.timestamp(), n.notice_id)))
    return OpportunityDataset(ordered, {n.notice_id: n for n in ordered}, publication)


def _joinable(awards: SamDataset, today: date) -> list[GeneratedAward]:
    """Base awards (not IDVs) signed in the join window whose PIID names one award family, oldest first: the awards
    award notices may announce."""
    recent = today - timedelta(JOIN_WINDOW_DAYS)
    found = [
        award
        for award in awards.awards
        if isinstance(award, GeneratedAward)
        and award.modification_number == "0"
        and not award.is_idv
        and recent <= award.date_signed <= today
        and len(awards.families_by_piid.get(award.piid.upper(), ())) == 1
    ]
    return sorted(found, key=lambda award: (award.date_signed, award.piid))


def _next_day(notices: tuple[Notice, ...], rng: random.Random, today: date, day_number: int) -> list[Notice]:
    day = today + timedelta(day_number)
    current = sorted(notices, key=lambda n: n.notice_id)
    count = len(current)
    shuffled = rng.sample(range(count), k=count)
    removed = set(shuffled[: count * 2 // 100 or min(1, count)])
    changed = set(shuffled[len(removed) : len(removed) + (count * 4 // 100 or min(1, count))])
    kept: list[Notice] = []
    for position, notice in enumerate(current):
        if position in removed:
            continue
        kept.append(_changed(notice, rng, day, day_number) if position in changed else notice)
    generator = NoticeGenerator(rng, today, [])
    kept += [generator.notice(day) for _ in range(max(1, count * 3 // 100))]
    return kept


def _changed(notice: Notice, rng: random.Random, day: date, day_number: int) -> Notice:
    if notice.deadline is not None and notice.active and rng.random() < 0.5:
        deadline = notice.deadline + timedelta(7)
        archive = deadline.date() + timedelta(15) if notice.archive_type == "auto15" else notice.archive_date
        return replace(notice, deadline=deadline, archive_date=archive)
    if notice.active and rng.random() < 0.4:
        return replace(notice, active=False, archive_type="manual", archive_date=day)
    amendment = f"\n\nAmendment {day_number:04d}: the Government{APOSTROPHE}s answers to questions are attached."
    return replace(notice, description=notice.description + amendment)


class NoticeGenerator:
    def __init__(self, rng: random.Random, today: date, joinable: list[GeneratedAward]) -> None:
        self.rng = rng
        self.today = today
        self.joinable = joinable

    def notice(self, posted_day: date) -> Notice:
        rng = self.rng
        notice_type = rng.choices([t for t, _ in _TYPE_WEIGHTS], weights=[w for _, w in _TYPE_WEIGHTS])[0]
        if notice_type == AWARD_NOTICE and self.joinable and rng.random() < 0.5:
            return self._joined_award(self.joinable.pop(rng.randrange(len(self.joinable))))
        office = rng.choice(ref.OFFICES)
        industry = rng.choice(ref.INDUSTRIES)
        base_type = notice_type
        award = None
        if notice_type == AWARD_NOTICE:
            base_type = rng.choice((AWARD_NOTICE, COMBINED, SOLICITATION))
            award = self._award(office, posted_day)
        return self._notice(
            notice_type, base_type, office, industry, posted_day=posted_day, award=award, pop=rng.choice(ref.PLACES)
        )

    def _joined_award(self, record: GeneratedAward) -> Notice:
        posted = min(self.today, record.date_signed + timedelta(self.rng.randint(0, 3)))
        award = NoticeAward(
            number=record.piid,
            day=record.date_signed,
            amount=f"{record.obligation_cents / 100:.2f}",
            awardee_name=record.awardee.name,
            uei=record.awardee.uei,
            cage=record.awardee.cage,
            street=record.awardee.street,
            place=record.awardee.place,
            joined=True,
        )
        return self._notice(
            AWARD_NOTICE,
            COMBINED,
            record.office,
            record.industry,
            posted_day=posted,
            award=award,
            pop=record.place,
            set_aside_code=record.set_aside[0],
        )

    def _award(self, office: ref.Office, posted_day: date) -> NoticeAward:
        rng = self.rng
        name = f"{rng.choice(ref.NAME_FIRST)} {rng.choice(ref.NAME_SECOND)} {rng.choice(ref.NAME_SUFFIX)}"
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        return NoticeAward(
            # The letter O never starts a PIID's serial in the awards imitation: these numbers exist nowhere else.
            number=f"{office.piid_prefix}{posted_day.year % 100:02d}O{rng.randint(0, 9999):04d}",
            day=posted_day - timedelta(rng.randint(0, 10)),
            amount=f"{rng.randint(25_000, 9_000_000)}.{rng.randint(0, 99):02d}",
            awardee_name=name,
            uei=rng.choice(alphabet[:24]) + "".join(rng.choices(alphabet, k=11)),
            cage="".join(rng.choices(alphabet, k=5)),
            street=f"{rng.randint(10, 9999)} {rng.choice(ref.STREETS)}",
            place=rng.choice(ref.PLACES[:17]),
            joined=False,
        )

    def _notice(
        self,
        notice_type: str,
        base_type: str,
        office: ref.Office,
        industry: ref.Industry,
        *,
        posted_day: date,
        award: NoticeAward | None,
        pop: ref.Place,
        set_aside_code: str | None = None,
    ) -> Notice:
        rng = self.rng
        hour, minute, second, millis = rng.randint(7, 19), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999)
        posted = eastern(posted_day, hour, minute, second, millis * 1000)
        deadline = None
        if notice_type in OPEN_TYPES or (notice_type == SPECIAL_NOTICE and rng.random() < 0.5):
            deadline = eastern(posted_day + timedelta(rng.randint(10, 60)), rng.choice((12, 14, 16, 17)), 0)
        archive_type = rng.choice(("auto15", "auto15", "autocustom", "manual")) if deadline else "autocustom"
        archive_date: date | None
        if archive_type == "auto15" and deadline is not None:
            archive_date = deadline.date() + timedelta(15)
        elif archive_type == "autocustom":
            archive_date = posted_day + timedelta(rng.randint(90, 365))
        else:
            archive_date = None
        subject = industry.description.title()
        title = rng.choice(TITLE_TEMPLATES).format(subject=subject, city=pop.city.title())
        solicitation = f"{office.piid_prefix}{posted_day.year % 100:02d}{rng.choice('RQ')}{rng.randint(0, 9999):04d}"
        if set_aside_code is not None:
            set_aside = _AWARD_SET_ASIDES.get(set_aside_code)
        else:
            set_aside = rng.choice(SET_ASIDES) if rng.random() < 0.35 else None
        office_place = next(p for p in ref.PLACES if p.city == _OFFICE_CITIES.get(office.office[0], "WASHINGTON"))
        contacts = [self._contact("primary", office)]
        if rng.random() < 0.5:
            contacts.append(self._contact("secondary", office))
        notice_id = f"{rng.getrandbits(128):032x}"
        return Notice(
            notice_id=notice_id,
            title=title,
            solicitation_number=solicitation,
            office=office,
            office_place=office_place,
            posted=posted,
            notice_type=notice_type,
            base_type=base_type,
            archive_type=archive_type,
            archive_date=archive_date,
            set_aside=set_aside,
            deadline=deadline,
            naics=industry.naics[0],
            psc=industry.psc[0],
            pop_street=f"{rng.randint(1, 999)} {rng.choice(ref.STREETS).title()}" if rng.random() < 0.6 else None,
            pop_place=pop,
            active=archive_date is None or archive_date >= self.today,
            award=award,
            contacts=tuple(contacts),
            description=_description(office, subject, pop, notice_type),
            additional_info_link=f"https://www.{_domain(office)}/procurement" if rng.random() < 0.2 else None,
            resources=tuple(f"{RESOURCE_BASE}{rng.getrandbits(128):032x}/download" for _ in range(rng.randint(0, 2))),
        )

    def _contact(self, kind: str, office: ref.Office) -> Contact:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return Contact(
            kind=kind,
            title=rng.choice(CONTACT_TITLES),
            full_name=f"{first} {last}",
            email=f"{_ascii(first)}.{_ascii(last)}@{_domain(office)}",
            phone=f"{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
            fax=f"{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}" if rng.random() < 0.15 else None,
        )


def _domain(office: ref.Office) -> str:
    return _DOMAINS.get(office.subtier[0], "gsa.gov")


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _description(office: ref.Office, subject: str, pop: ref.Place, notice_type: str) -> str:
    where = pop.city.title()
    seed = zlib.crc32(f"{office.office[0]}{subject}{where}".encode())
    lines = [
        f"The {office.office[1].title()} intends to procure {subject.lower()} for its {where} location.",
        f"This is a {notice_type.lower()} notice; the Government{APOSTROPHE}s requirement is described in the "
        "attached statement of work.",
        f"Résumés of key personnel are required with each offer; the contractor{APOSTROPHE}s quality plan is "
        f"evaluated {EN_DASH} see section M.",
    ]
    if seed % 3 == 0:
        lines.append("Site visits are arranged through the point of contact named below.")
    return "\n".join(lines)
