"""Seeded generation of realistic trade leads for every source, dated around the sandbox's today."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox import ita_vocabulary as vocab
from sandbox.ita_leads import SOURCES, FieldValue, Lead, LeadSet, SourceMetadata, iso_timestamp
from sandbox.ita_taxonomy import COUNTRIES

# Share of the dataset per source, in SOURCES order.
SOURCE_SHARES = (0.15, 0.20, 0.18, 0.15, 0.15, 0.09, 0.08)


def elasticsearch_id(seed_text: str) -> str:
    """A 20-character id in the style Elasticsearch auto-generates, derived from seed_text."""
    digest = hashlib.sha1(seed_text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:20]


class _Draw:
    """Per-source random draws, with the dates of the dataset precomputed as ISO strings."""

    def __init__(self, seed: int, source: str, today: date) -> None:
        self.rng = random.Random(f"{seed}:{source}")
        self.today = today
        self._days = {offset: (today + timedelta(days=offset)).isoformat() for offset in range(-800, 900)}

    def pick(self, options: tuple[Any, ...]) -> Any:
        return options[int(self.rng.random() * len(options))]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def number(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low + 1))

    def day(self, offset: int) -> str:
        return self._days[offset]

    def publish_offset(self) -> int:
        return -self.number(0, 89)

    def end_offset(self, publish_offset: int) -> int:
        """Mostly in the future (open leads); a few closed in the last days, never before publication."""
        if self.chance(0.9):
            return self.number(1, 150)
        return max(publish_offset, -self.number(1, 10))

    def sector(self) -> vocab.Sector:
        return self.pick(vocab.SECTORS)  # type: ignore[no-any-return]

    def ita_industries(self, sector: vocab.Sector) -> tuple[str, ...]:
        return (sector.ita_industry,) if self.chance(0.3) else ()

    def short_url(self, host: str) -> str:
        return f"http://{host}/{base64.b32encode(self.rng.randbytes(5)).decode('ascii')[:7]}"

    def description(self, who: str, subject: str) -> str:
        return (
            f"{who} has a requirement for {subject} {self.pick(vocab.PURPOSES)}. "
            f"{self.pick(vocab.PROCEDURES)} {self.pick(vocab.PROCEDURES)}"
        )

    def title(self, subject: str) -> str:
        return f"{self.pick(vocab.ACTIONS)} {subject}"


def _regions(code: str) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    country = COUNTRIES[code]
    return country.code, country.name, country.trade_regions, country.world_regions


def _australia(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    amended = draw.day(draw.number(published, 0)) if draw.chance(0.15) else None
    base_id = f"CN{2_400_000 + number * 7}"
    parent = base_id if draw.chance(0.1) else None
    code, name, trade, world = _regions("AU")
    values: tuple[FieldValue, ...] = (
        draw.pick(vocab.AUSTRALIA_AGENCIES),
        f"{draw.number(1_000_00, 25_000_000_00) / 100:.2f}",
        f"{subject.capitalize()}. {draw.pick(vocab.PROCEDURES)}",
        parent,
        draw.pick(vocab.AUSTRALIA_METHODS),
        amended,
        "published",
        sector.australia_industry,
        draw.ita_industries(sector),
        "".join(draw.pick(tuple("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")) for _ in range(6)),
        draw.day(published),
        draw.day(published - draw.number(0, 30)),
        draw.day(draw.end_offset(published) + 365),
        code,
        name,
        draw.short_url("bit.ly"),
        "AUSTRALIA",
        trade,
        world,
    )
    return Lead(f"{parent}-A1" if parent else base_id, "AUSTRALIA", values)


def _canada(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    year = int(draw.day(published)[2:4])
    contract_number = f"{draw.number(10000, 99999)}-{year:02d}-{2_000_000 + number}"
    department = draw.pick(vocab.CANADA_DEPARTMENTS)
    surname, given = draw.pick(vocab.CANADA_CONTACTS)
    agreement = draw.pick(vocab.CANADA_TRADE_AGREEMENTS)
    competitive = draw.pick(vocab.CANADA_STRATEGIES)
    description = (
        f"{subject.capitalize()} This requirement is for: {department}. Trade agreement: {agreement}. "
        f"{draw.pick(vocab.PROCEDURES)} {draw.pick(vocab.CANADA_FRENCH_NOTES)}"
    ).rstrip()
    code, name, trade, world = _regions("CA")
    values: tuple[FieldValue, ...] = (
        code,
        name,
        f"{subject.title()} ({contract_number})",
        f"PW-{year:02d}-{number:08d}",
        contract_number,
        draw.day(published),
        draw.day(draw.end_offset(published)),
        draw.day(draw.number(published, 0)) if draw.chance(0.7) else None,
        "Active",
        (sector.canada_industry,),
        draw.ita_industries(sector),
        draw.pick(vocab.CANADA_PROVINCES),
        draw.pick(vocab.CANADA_NOTICE_TYPES),
        agreement,
        draw.pick(vocab.CANADA_BID_TYPES),
        competitive,
        None if competitive or draw.chance(0.8) else "Government Objectives Representing Best Interests/Value to Govt",
        "Public Works & Government Services Canada" if draw.chance(0.5) else department,
        department,
        description,
        f"{surname}, {given}, ({draw.number(200, 999)}) {draw.number(200, 999)}-{draw.number(1000, 9999)}",
        tuple(draw.short_url("bit.ly") for _ in range(draw.number(0, 3))) or None,
        "CANADA",
        trade,
        world,
    )
    return Lead(elasticsearch_id(f"{draw.today}:{contract_number}:{number}"), "CANADA", values)


def _fbo(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    organization, office = draw.pick(vocab.FBO_AGENCIES)
    solicitation = f"W{draw.number(10, 99)}{draw.pick(('QKN', 'PTR', 'MKA', 'N62'))}-{number % 100:02d}-R-{number:05d}"
    code, name, trade, world = _regions(draw.pick(vocab.FBO_COUNTRIES))
    city = draw.pick(
        ("Ramstein AB", "Yokosuka", "Camp Humphreys", "Naples", "Rota", "Incirlik", "Al Udeid", "Embassy Compound")
    )
    values: tuple[FieldValue, ...] = (
        draw.pick(vocab.FBO_NOTICE_TYPES),
        draw.day(published),
        organization,
        office,
        f"{office} Contracting Office",
        sector.fbo_classification,
        sector.fbo_industry,
        draw.ita_industries(sector),
        f"BLDG {draw.number(100, 9999)}, {city}",
        f"{sector.fbo_classification}--{subject.title()} {city}",
        solicitation,
        None if draw.chance(0.15) else draw.day(draw.end_offset(published)),
        f"Contracting Officer, Phone {draw.number(200, 999)}-{draw.number(200, 999)}-{draw.number(1000, 9999)}",
        f"{draw.description('The Government', subject)} This notice is for work performed in {name}.",
        draw.pick(vocab.FBO_STRATEGIES),
        draw.short_url("1.usa.gov"),
        code,
        name,
        f"{city}, {name}",
        "FBO",
        trade,
        world,
    )
    return Lead(solicitation, "FBO", values)


def _state(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    code, name, trade, world = _regions(draw.pick(vocab.STATE_COUNTRIES))
    lead_source = draw.pick(vocab.STATE_LEAD_SOURCES)
    officer, officer_contact = draw.pick(vocab.STATE_OFFICERS)
    ministry = f"MINISTRY OF {draw.pick(('HEALTH', 'PUBLIC WORKS', 'WATER AND IRRIGATION', 'EDUCATION', 'ENERGY'))}"
    values: tuple[FieldValue, ...] = (
        lead_source,
        code,
        name,
        name,
        f"{name} - {subject.title()} Project",
        f"P{100_000 + number}",
        sector.state_industry,
        draw.ita_industries(sector),
        draw.number(500, 50_000) * 10_000,
        draw.description(f"The Government of {name}", subject),
        sector.state_tags,
        draw.day(published),
        None if draw.chance(0.3) else draw.day(draw.end_offset(published)),
        draw.pick(vocab.STATE_FUNDING),
        f"GOVERNMENT OF {name.upper()}",
        ministry,
        f"{ministry} - {lead_source}",
        None if draw.chance(0.8) else "A performance bond of ten percent of the contract value is required.",
        officer,
        officer_contact,
        draw.short_url("bit.ly"),
        "Pipeline",
        "STATE",
        trade,
        world,
    )
    return Lead(f"DATATABLE.{number + 1}", "STATE", values)


def _uk(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    buyer, domain = draw.pick(vocab.UK_BUYERS)
    minimum = draw.number(0, 2_000) * 5_000
    maximum = f"{float(minimum + draw.number(1, 400) * 5_000)}" if draw.chance(0.5) else None
    code, name, trade, world = _regions("GB")
    industries = (sector.uk_industry, "Other Services") if draw.chance(0.2) else (sector.uk_industry,)
    lead_id = (
        f"{draw.rng.getrandbits(32):08x}-{draw.rng.getrandbits(16):04x}-4{draw.rng.getrandbits(12):03x}-"
        f"{draw.pick(tuple('89ab'))}{draw.rng.getrandbits(12):03x}-{draw.rng.getrandbits(48):012x}"
    )
    values: tuple[FieldValue, ...] = (
        code,
        name,
        f"{draw.pick(('MT', 'OPS', 'UCL-PROC-', 'Z/'))}{number:06d}",
        draw.day(draw.publish_offset()),
        f"{float(minimum)}",
        maximum,
        "Open",
        draw.short_url("bit.ly") if draw.chance(0.4) else None,
        buyer,
        f"tenders@{domain}",
        draw.title(subject).upper() if draw.chance(0.2) else draw.title(subject),
        draw.description(f"The {buyer}", subject),
        "Contract",
        industries,
        draw.ita_industries(sector),
        draw.pick(vocab.UK_LOCATIONS),
        "UK",
        trade,
        world,
    )
    return Lead(lead_id, "UK", values)


def _mca(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    deadline = date.fromisoformat(draw.day(draw.end_offset(published)))
    code, name, trade, world = _regions(draw.pick(vocab.MCA_COUNTRIES))
    title = draw.title(subject)
    buyer_id = draw.number(6_000_000, 6_999_999)
    values: tuple[FieldValue, ...] = (
        code,
        name,
        draw.day(published),
        draw.short_url("bit.ly"),
        ("type/spn", *sector.cpv_codes, f"deadline/{deadline:%Y/%b/%d}"),
        title,
        f'Buyer: <a href="http://www.dgmarket.com/tenders/adminShowBuyer.do?buyerId={buyer_id}">'
        f"{draw.pick(('Millennium Challenge Account', f'MCA-{name}'))}</a><br/>"
        f"Country: {name}<br/>{subject.capitalize()}",
        "Millennium Challenge Account (MCA)",
        "MCA",
        trade,
        world,
    )
    return Lead(hashlib.sha1(f"{title}:{number}".encode()).hexdigest(), "MCA", values)


def _ustda(draw: _Draw, number: int) -> Lead:
    sector = draw.sector()
    subject = draw.pick(sector.subjects)
    published = draw.publish_offset()
    code, name, trade, world = _regions(draw.pick(vocab.USTDA_COUNTRIES))
    title = f"{name}: {draw.title(subject)}"
    description = f"Background: {draw.description('A USTDA grantee', subject)} Reference: USTDA-{number:05d}."
    values: tuple[FieldValue, ...] = (
        title,
        draw.day(published),
        None if draw.chance(0.2) else draw.day(draw.end_offset(published)),
        description,
        draw.short_url("1.usa.gov"),
        "USTDA",
        code,
        name,
        trade,
        world,
    )
    return Lead(hashlib.sha1(f"{title}{description}".encode()).hexdigest(), "USTDA", values)


_GENERATORS: dict[str, Callable[[_Draw, int], Lead]] = {
    "AUSTRALIA": _australia,
    "CANADA": _canada,
    "FBO": _fbo,
    "STATE": _state,
    "UK": _uk,
    "MCA": _mca,
    "USTDA": _ustda,
}


def _counts_per_source(total: int) -> Iterator[tuple[str, int]]:
    remaining = total
    for position, (source, share) in enumerate(zip(SOURCES, SOURCE_SHARES, strict=True)):
        count = remaining if position == len(SOURCES) - 1 else min(remaining, round(total * share))
        remaining -= count
        yield source, count


def generated_leads(seed: int, total: int, today: date) -> LeadSet:
    leads: list[Lead] = []
    for source, count in _counts_per_source(total):
        draw = _Draw(seed, source, today)
        generate = _GENERATORS[source]
        leads.extend(generate(draw, number) for number in range(count))
    imported = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
    metadata = {
        source: SourceMetadata(
            iso_timestamp(imported - timedelta(minutes=30 + 7 * position)),
            iso_timestamp(imported + timedelta(minutes=position)),
            "Daily",
        )
        for position, source in enumerate(SOURCES)
    }
    return LeadSet(tuple(leads), metadata)
