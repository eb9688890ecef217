"""Seeded OCDS 1.1 procurement processes for the two UK imitations (Contracts Finder and Find a Tender).

Each process (one `ocid`) publishes several releases over time, each a full snapshot of what is known then:
an optional `planning` release, a `tender` release (open until `tender.tenderPeriod.endDate`), sometimes a
`tenderAmendment` (deadline extended by 7 days, `tender.amendments[]`) or a `tenderCancellation`, then for most
closed tenders an `award` release (supplier in `parties[]`, `awards[]`) and often a `contract` release
(`contracts[]`). Release dates fall in the 120 days before today's 00:00 UTC (settings.today or the real date),
none later; each release writes its dates either in UTC (`Z`) or at `+01:00` (every third release by serial),
as the publishers mix them. Releases are valid against the OCDS 1.1.5 release schema.

Identifiers follow each publisher: Contracts Finder ocids `ocds-b5fd17-<uuid>`, release ids `<notice uuid>-<serial>`;
Find a Tender ocids `ocds-h6vhtk-<6 hex digits>`, release ids = notice ids `nnnnnn-yyyy`. Text: every third process
has U+2019 in its title, the value in its description is written with `£`, and every fourth process groups the
value's digits with U+202F (the characters Contracts Finder garbles into mojibake).

A `revision` (knob) stands for later publications: batch b, stamped with the sandbox clock when it was published,
amends about 5 % of the processes whose tender is still open at that moment (a `tenderAmendment` release each).
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

from sandbox import ocds_vocabulary as vocab

HISTORY_DAYS = 120
APOSTROPHE = "\u2019"
EN_DASH = "\u2013"
NARROW_SPACE = "\u202f"
BST = timezone(timedelta(hours=1))
PLANNING, TENDER, AMENDMENT, CANCELLATION, AWARD, CONTRACT = (
    "planning",
    "tender",
    "tenderAmendment",
    "tenderCancellation",
    "award",
    "contract",
)
# The stage a release's tag belongs to, in Contracts Finder's terms (`stages`); Find a Tender calls
# implementation releases award-stage.
STAGES: Mapping[str, str] = {
    PLANNING: "planning",
    TENDER: "tender",
    AMENDMENT: "tender",
    CANCELLATION: "tender",
    AWARD: "award",
    CONTRACT: "implementation",
}


@dataclass(frozen=True)
class Publisher:
    name: str
    ocid_prefix: str
    notice_url: str
    first_serial: int  # Contracts Finder release serials / Find a Tender's first notice number of a year


CONTRACTS_FINDER = Publisher(
    "contractsfinder", "ocds-b5fd17", "https://www.contractsfinder.service.gov.uk/Notice/", 812_400
)
FIND_A_TENDER = Publisher("findatender", "ocds-h6vhtk", "https://www.find-tender.service.gov.uk/Notice/", 31_000)


@dataclass(frozen=True, slots=True)
class Release:
    ocid: str
    release_id: str
    notice_id: str  # Find a Tender's notice id (= release id); Contracts Finder's notice uuid
    moment: datetime  # UTC
    serial: int  # publication order over the whole publisher
    tag: str
    document: Mapping[str, Any]  # the release JSON; never mutated

    @property
    def key(self) -> tuple[int, int]:
        """The paging order: release date (whole seconds), then serial."""
        return (int(self.moment.timestamp()), self.serial)

    @property
    def stage(self) -> str:
        return STAGES[self.tag]


@dataclass(frozen=True, eq=False)  # hashed by identity: memoised per (publisher, seed, size, today, revisions)
class OcdsDataset:
    publisher: Publisher
    releases: tuple[Release, ...]  # in paging order
    keys: tuple[tuple[int, int], ...]  # each release's paging key, for bisection
    by_ocid: Mapping[str, tuple[Release, ...]]
    by_notice: Mapping[str, Release]


@dataclass(frozen=True)
class Process:
    index: int
    ocid: str
    buyer: vocab.Buyer
    contact: tuple[str, str, str]  # name, email, telephone
    cpv: vocab.Cpv
    reference: str
    title: str
    description: str
    amount: float | None  # None for frameworks with no published value
    sme: bool
    vcse: bool
    procedure: tuple[str, str]
    framework: bool
    above_threshold: bool
    contract_months: int
    supplier: tuple[str, str, str] | None  # name, Companies House number, scale


@dataclass(frozen=True)
class Event:
    process: Process
    tag: str
    moment: datetime
    deadline: datetime
    amendments: tuple[datetime, ...] = ()
    award_moment: datetime | None = None
    award_amount: float | None = None
    signed: datetime | None = None


def money(amount: float) -> float | int:
    """Whole pounds as a JSON integer (`44341` not `44341.0`), pence kept (`44341.25`)."""
    return int(amount) if amount.is_integer() else amount


def stamp(moment: datetime, bst: bool) -> str:
    """The instant in UTC (`...Z`) or at +01:00."""
    if bst:
        return moment.astimezone(BST).isoformat()
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=16)
def load_ocds(
    publisher: Publisher, seed: int, processes: int, today: date, revisions: tuple[datetime, ...] = ()
) -> OcdsDataset:
    end = datetime.combine(today, time(), UTC)
    rng = random.Random(f"{publisher.name}:{seed}")
    events: list[Event] = []
    latest: dict[str, Event] = {}
    for index in range(processes):
        process = _process(publisher, rng, index)
        for event in _lifecycle(process, rng, end):
            events.append(event)
            latest[process.ocid] = event
    numbering = _Numbering(publisher, random.Random(f"{publisher.name}:{seed}:ids"))
    releases = numbering.assign(sorted(events, key=lambda e: (e.moment, e.process.index)))
    for batch, published in enumerate(revisions, start=1):
        amended = _revision(random.Random(f"{publisher.name}:{seed}:revision:{batch}"), latest, published)
        releases += numbering.assign(amended)
    ordered = tuple(sorted(releases, key=lambda r: r.key))
    by_ocid: defaultdict[str, list[Release]] = defaultdict(list)
    for release in ordered:
        by_ocid[release.ocid].append(release)
    return OcdsDataset(
        publisher,
        ordered,
        tuple(release.key for release in ordered),
        {ocid: tuple(found) for ocid, found in by_ocid.items()},
        {release.notice_id: release for release in ordered},
    )


def _process(publisher: Publisher, rng: random.Random, index: int) -> Process:
    buyer = rng.choice(vocab.BUYERS)
    cpv = rng.choice(vocab.CPVS)
    subject = rng.choice(cpv.subjects)
    if publisher is FIND_A_TENDER:
        ocid = f"{publisher.ocid_prefix}-{0x05C000 + index * 5 + rng.randint(0, 4):06x}"
    else:
        ocid = f"{publisher.ocid_prefix}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    framework = rng.random() < 0.2
    amount = None if framework and rng.random() < 0.5 else float(round(10 ** rng.uniform(4.2, 7.3), -2))
    title = subject if index % 3 else f"{buyer.name}{APOSTROPHE}s {subject.lower()}"
    if index % 5 == 1:
        title += f" {EN_DASH} {buyer.locality}"
    first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
    email = f"{_ascii(first)}.{_ascii(last)}@{buyer.domain}"
    contact = (f"{first} {last}", email, f"+44 {rng.randint(1000, 1999)} {rng.randint(100000, 999999)}")
    supplier = (
        f"{rng.choice(vocab.SUPPLIER_FIRST)} {rng.choice(vocab.SUPPLIER_SECOND)} {rng.choice(vocab.SUPPLIER_SUFFIX)}",
        f"{rng.randint(1_000_000, 13_999_999):08d}",
        rng.choice(("sme", "sme", "large")),
    )
    return Process(
        index=index,
        ocid=ocid,
        buyer=buyer,
        contact=contact,
        cpv=cpv,
        reference=f"{buyer.code}-{rng.randint(100, 999)}-{index:04d}",
        title=title,
        description=_description(buyer, subject, amount, framework, grouped=index % 4 == 1),
        amount=amount,
        sme=rng.random() < 0.7,
        vcse=rng.random() < 0.4,
        procedure=rng.choice(vocab.PROCEDURES),
        framework=framework,
        above_threshold=rng.random() < 0.5,
        contract_months=rng.choice((6, 12, 24, 36, 48)),
        supplier=supplier,
    )


def _description(buyer: vocab.Buyer, subject: str, amount: float | None, framework: bool, *, grouped: bool) -> str:
    text = f"{buyer.name} invites tenders for {subject.lower()} across {buyer.locality}."
    if framework:
        text += f" The authority{APOSTROPHE}s framework agreement will run for up to four years."
    if amount is not None:
        pounds = f"{amount:,.0f}".replace(",", NARROW_SPACE if grouped else ",")
        text += f" The estimated value is £{pounds} excluding VAT."
    return text + f" Suppliers should register on the buyer{APOSTROPHE}s e-tendering portal to access the documents."


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _moment(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=0, minute=0, second=0) + timedelta(seconds=rng.randint(7 * 3600, 19 * 3600))


def _lifecycle(process: Process, rng: random.Random, end: datetime) -> list[Event]:
    start = _moment(rng, end - timedelta(days=rng.randint(1, HISTORY_DAYS)))
    events: list[Event] = []
    if rng.random() < 0.25:
        tender_at = _moment(rng, start + timedelta(days=rng.randint(7, 30)))
        events.append(Event(process, PLANNING, start, tender_at + timedelta(days=30)))
    else:
        tender_at = start
    deadline = (tender_at + timedelta(days=rng.randint(14, 40))).replace(hour=11, minute=0, second=0)
    events.append(Event(process, TENDER, tender_at, deadline))
    roll = rng.random()
    if roll < 0.2 and (deadline - tender_at).days > 2:
        amended_at = _moment(rng, tender_at + timedelta(days=rng.randint(1, (deadline - tender_at).days - 1)))
        deadline += timedelta(days=7)
        events.append(Event(process, AMENDMENT, amended_at, deadline, (amended_at,)))
    elif roll < 0.24:
        cancelled_at = _moment(rng, tender_at + timedelta(days=rng.randint(1, max(1, (deadline - tender_at).days))))
        events.append(Event(process, CANCELLATION, cancelled_at, deadline))
        return [event for event in events if event.moment < end]
    if rng.random() < 0.75:
        awarded = _moment(rng, deadline + timedelta(days=rng.randint(5, 25)))
        amount = 0.0 if process.framework else float(round((process.amount or 50_000.0) * rng.uniform(0.8, 1.05), 2))
        last = events[-1]
        events.append(Event(process, AWARD, awarded, deadline, last.amendments, awarded, amount))
        if rng.random() < 0.6:
            signed = _moment(rng, awarded + timedelta(days=rng.randint(3, 15)))
            events.append(Event(process, CONTRACT, signed, deadline, last.amendments, awarded, amount, signed))
    return [event for event in events if event.moment < end]


def _revision(rng: random.Random, latest: dict[str, Event], published: datetime) -> list[Event]:
    """Amendments to about 5 % of the processes still open at `published`, dated from it one second apart."""
    open_now = sorted(
        (
            event
            for event in latest.values()
            if event.tag in (TENDER, AMENDMENT) and event.moment < published < event.deadline
        ),
        key=lambda event: event.process.index,
    )
    chosen = rng.sample(open_now, k=min(len(open_now), max(1, len(latest) // 20)))
    amended: list[Event] = []
    for offset, event in enumerate(sorted(chosen, key=lambda e: e.process.index)):
        moment = published.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=offset)
        update = replace(
            event, tag=AMENDMENT, moment=moment, deadline=event.deadline + timedelta(days=7),
            amendments=(*event.amendments, moment),
        )  # fmt: skip
        latest[event.process.ocid] = update
        amended.append(update)
    return amended


@dataclass
class _Numbering:
    """Assigns release ids and notice ids in publication order, and renders each release."""

    publisher: Publisher
    rng: random.Random
    serial: int = 0
    per_year: dict[int, int] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)  # ocid -> its latest release id

    def assign(self, events: list[Event]) -> list[Release]:
        releases = []
        for event in events:
            self.serial += 1
            if self.publisher is FIND_A_TENDER:
                year = event.moment.year
                number = self.per_year.get(year, self.publisher.first_serial + self.rng.randint(0, 900))
                self.per_year[year] = number + self.rng.randint(1, 40)
                notice = release_id = f"{number:06d}-{year}"
            else:
                notice = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                release_id = f"{notice}-{self.publisher.first_serial + self.serial * 3 + self.rng.randint(0, 2)}"
            previous = self.previous.get(event.process.ocid)
            document = render(self.publisher, event, release_id, notice, previous, bst=self.serial % 3 == 0)
            self.previous[event.process.ocid] = release_id
            releases.append(
                Release(event.process.ocid, release_id, notice, event.moment, self.serial, event.tag, document)
            )
        return releases


def render(
    publisher: Publisher, event: Event, release_id: str, notice: str, previous: str | None, *, bst: bool
) -> dict[str, Any]:
    """The release JSON: a snapshot of the process at `event`, its dates at +01:00 when `bst`, else in UTC."""
    process = event.process
    fts = publisher is FIND_A_TENDER
    notice_url = publisher.notice_url + notice

    def at(moment: datetime) -> str:
        return stamp(moment, bst)

    buyer = process.buyer
    buyer_id = f"GB-FTS-{sum(map(ord, buyer.code)) * 37}" if fts else f"GB-GOR-{buyer.code}{len(buyer.name):03d}"
    contract_start = event.deadline + timedelta(days=45)
    contract_end = contract_start + timedelta(days=30 * process.contract_months)
    status = {PLANNING: "planned", TENDER: "active", AMENDMENT: "active", CANCELLATION: "cancelled"}.get(
        event.tag, "complete"
    )
    tender: dict[str, Any] = {"id": process.reference, "title": process.title, "description": process.description}
    if fts and process.above_threshold:
        tender["legalBasis"] = {"id": "32014L0024", "scheme": "CELEX"}
    tender["status"] = status
    tender["classification"] = {"scheme": "CPV", "id": process.cpv.code, "description": process.cpv.description}
    tender["mainProcurementCategory"] = process.cpv.category
    if process.amount is not None:
        tender["value"] = {"amount": money(process.amount), "currency": "GBP"}
    item: dict[str, Any] = {"id": "1"}
    if fts:
        item["additionalClassifications"] = [dict(tender["classification"])]
        item["deliveryAddresses"] = [{"region": buyer.region}]
        item["relatedLot"] = "1"
        lot: dict[str, Any] = {"id": "1", "description": process.description}
        if process.amount is not None:
            lot["value"] = {"amount": money(process.amount), "currency": "GBP"}
        lot["contractPeriod"] = {"durationInDays": 30 * process.contract_months}
        lot["status"] = status
        tender["lots"] = [lot]
    else:
        item["deliveryAddresses"] = [{"postalCode": buyer.postcode, "region": buyer.region_name}]
    tender["items"] = [item]
    tender["procurementMethod"], tender["procurementMethodDetails"] = process.procedure
    if fts:
        tender["techniques"] = {"hasFrameworkAgreement": process.framework}
    if event.tag != PLANNING:
        tender["tenderPeriod"] = {"endDate": at(event.deadline)}
    tender["contractPeriod"] = {"startDate": at(contract_start), "endDate": at(contract_end)}
    if not fts:
        tender["suitability"] = {"sme": process.sme, "vcse": process.vcse}
    if event.amendments:
        tender["amendments"] = [
            {"id": str(n), "date": at(moment), "rationale": "The tender deadline has been extended by 7 days.",
             "description": "Clarifications issued; the deadline for tenders has moved."}
            for n, moment in enumerate(event.amendments, start=1)
        ]  # fmt: skip
        if previous is not None and event.tag == AMENDMENT:
            tender["amendments"][-1] |= {"amendsReleaseID": previous, "releaseID": release_id}
    if event.tag != PLANNING:
        notice_document: dict[str, Any] = {"id": "1", "documentType": "tenderNotice"}
        notice_document["description"] = "Opportunity notice" + ("" if fts else " on Contracts Finder")
        notice_document |= {"url": notice_url, "datePublished": at(event.moment), "format": "text/html",
                            "language": "en"}  # fmt: skip
        tender["documents"] = [notice_document]
    name, email, telephone = process.contact
    scheme, local_id = buyer_id.rsplit("-", 1)
    parties: list[dict[str, Any]] = [
        {
            "id": buyer_id,
            "name": buyer.name,
            "identifier": {"legalName": buyer.name, "scheme": scheme, "id": local_id},
            "address": {"streetAddress": buyer.street, "locality": buyer.locality, "region": buyer.region_name,
                        "postalCode": buyer.postcode, "countryName": "United Kingdom"},
            "contactPoint": {"name": name, "email": email, "telephone": telephone},
            "roles": ["buyer"],
        }
    ]  # fmt: skip
    release: dict[str, Any] = {
        "ocid": process.ocid,
        "id": release_id,
        "language": "en",
        "date": at(event.moment),
        "tag": [event.tag],
        "initiationType": "tender",
        "tender": tender,
        "parties": parties,
        "buyer": {"id": buyer_id, "name": buyer.name},
    }
    if event.award_moment is not None and process.supplier is not None:
        supplier_name, company, scale = process.supplier
        supplier_id = f"GB-COH-{company}"
        parties.append(
            {
                "id": supplier_id,
                "name": supplier_name.upper() if not fts else supplier_name,
                "identifier": {"legalName": supplier_name.upper(), "scheme": "GB-COH", "id": company},
                "address": {"locality": buyer.locality, "countryName": "United Kingdom"},
                "details": {"scale": scale, "vcse": False},
                "roles": ["supplier"],
            }
        )
        award_id = f"{process.ocid}-1" if not fts else f"{process.reference}-1"
        award: dict[str, Any] = {"id": award_id, "status": "active", "date": at(event.award_moment)}
        if not fts:
            award["datePublished"] = at(event.award_moment)
        award |= {
            "value": {"amount": money(event.award_amount or 0.0), "currency": "GBP"},
            "suppliers": [{"id": supplier_id, "name": parties[-1]["name"]}],
            "contractPeriod": {"startDate": at(contract_start), "endDate": at(contract_end)},
            "description": process.title,
        }
        if fts:
            award["relatedLots"] = ["1"]
        award["documents"] = [
            {"id": "1", "documentType": "awardNotice",
             "description": "Awarded contract notice" + ("" if fts else " on Contracts Finder"),
             "url": notice_url, "datePublished": at(event.award_moment), "format": "text/html", "language": "en"}
        ]  # fmt: skip
        release["awards"] = [award]
        if event.signed is not None:
            release["contracts"] = [
                {"id": f"{award_id}-contract", "awardID": award_id, "title": process.title, "status": "active",
                 "period": {"startDate": at(contract_start), "endDate": at(contract_end)},
                 "value": {"amount": money(event.award_amount or 0.0), "currency": "GBP"},
                 "dateSigned": at(event.signed)}
            ]  # fmt: skip
    return release
