"""The dataset of the Canadian procurement imitation: seeded generated tenders and contracts, or the recorded samples.

Generated data is relative to `today`: every tender closes within the next weeks, every contract expires in the
future (the original loaded only contracts with `date-expires > today`). The dataset is memoised per
(seed, scale, today, samples_dir): tests create many sandboxes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sandbox import canada_vocabulary as vocab
from sandbox.canada_records import (
    CanadaDataset,
    Catalogue,
    ContractRecord,
    Searchable,
    TenderNotice,
    searchable_words,
)
from sandbox.canada_samples import recorded_contracts, recorded_tenders, samples_folder
from sandbox.settings import RECORDS_PER_SCALE, SandboxSettings

TENDER_HORIZON_DAYS = 75
CONTRACT_HORIZON_DAYS = 1826
# Multiplier of the serial part of ids: coprime with 10, so `i * SERIAL_STEP mod 10**n` is unique for i < 10**n.
SERIAL_STEP = 7919
ALL_PROVINCES_AND_NCR = tuple(sorted(r.code for r in (*vocab.PROVINCES_AND_TERRITORIES, vocab.NATIONAL_CAPITAL_REGION)))
# Where tenders are delivered, weighted towards the capital and the large provinces.
DELIVERY_WEIGHTS = {
    "NCR": 14,
    "ON": 12,
    "QC": 9,
    "BC": 6,
    "AB": 5,
    "NS": 4,
    "MB": 3,
    "NB": 3,
    "SK": 3,
    "NL": 2,
    "PE": 1,
    "NT": 1,
    "NU": 1,
    "YT": 1,
}
REMOTE_DELIVERIES = (("INT",), ("X-INT",), ("USA",), ("ABL",), ("MEX",), ("MEX", "USA"))


def dataset_for(settings: SandboxSettings) -> CanadaDataset:
    return load_dataset(settings.seed, settings.scale, settings.today or datetime.now(UTC).date(), settings.samples_dir)


@lru_cache(maxsize=8)
def load_dataset(seed: int, scale: int, today: date, samples_dir: Path | None) -> CanadaDataset:
    if samples_dir is not None:
        folder = samples_folder(samples_dir)
        return CanadaDataset(Catalogue(recorded_tenders(folder)), Catalogue(recorded_contracts(folder)), recorded=True)
    count = RECORDS_PER_SCALE * scale
    today_iso = today.isoformat()
    contracts = (entry for entry in generate_contracts(seed, count, today) if (entry[0].date_expires or "") > today_iso)
    return CanadaDataset(Catalogue(generate_tenders(seed, count, today)), Catalogue(contracts), recorded=False)


def _words_of(*texts: str) -> frozenset[str]:
    return searchable_words(" ".join(texts))


_GSIN_WORDS = {g.code: _words_of(g.description_en, g.description_fr) for g in vocab.GSINS}
_DEPARTMENT_WORDS = [_words_of(d.name_en, d.name_fr) for d in vocab.DEPARTMENTS]
_REGION_WORDS = {r.code: _words_of(r.name_en, r.name_fr) for r in vocab.REGIONS}
_SHAPE_BLANKS = dict.fromkeys(("item", "item_fr", "buyer", "buyer_fr", "city", "solicitation"), "")
_SHAPE_WORDS = [_words_of(en.format_map(_SHAPE_BLANKS), fr.format_map(_SHAPE_BLANKS)) for en, fr in vocab.TITLE_SHAPES]
_CITY_WORDS = {city: _words_of(city) for region in vocab.REGIONS for city in region.cities}
_DESCRIPTION_WORDS = _words_of(vocab.DESCRIPTION_WORDS_EN, vocab.DESCRIPTION_WORDS_FR)
_SUPPLIER_WORDS = [_words_of(s.name, s.city, s.region) for s in vocab.SUPPLIERS]
_WEIGHTED_DEPARTMENTS = [i for i, d in enumerate(vocab.DEPARTMENTS) for _ in range(d.weight)]
_WEIGHTED_DELIVERY = [vocab.REGION_BY_CODE[code] for code, weight in DELIVERY_WEIGHTS.items() for _ in range(weight)]


def _day_labels(today: date, first: int, last: int) -> list[str]:
    """ISO dates of today+first .. today+last, computed once per dataset instead of once per record."""
    return [(today + timedelta(days=offset)).isoformat() for offset in range(first, last + 1)]


def _delivery(rng: random.Random) -> tuple[str, ...]:
    draw = rng.random()
    if draw < 0.62:
        codes = {rng.choice(_WEIGHTED_DELIVERY).code}
        if rng.random() < 0.2:
            codes.add(rng.choice(_WEIGHTED_DELIVERY).code)
        return tuple(sorted(codes))
    if draw < 0.78:
        return ("NCR", "ON", "QC")
    if draw < 0.9:
        return ("CAN",)
    if draw < 0.95:
        return ALL_PROVINCES_AND_NCR
    return rng.choice(REMOTE_DELIVERIES)


def _opportunity(rng: random.Random, delivery: tuple[str, ...]) -> tuple[str, ...]:
    draw = rng.random()
    if draw < 0.5:
        return ()
    if draw < 0.75:
        return ("CAN",)
    if draw < 0.88:
        return delivery
    if draw < 0.95:
        return ("ON", "QC")
    return ("INT",)


def _reference_number(rng: random.Random, serial: int, year: int) -> str:
    style = rng.random()
    if style < 0.45:
        return f"PW-$${rng.choice(vocab.TENDER_OFFICES_SHORT)}-{serial // 100_000:03d}-{serial % 100_000:05d}"
    if style < 0.6:
        serial %= 10_000_000
        return f"PW-${rng.choice(vocab.TENDER_OFFICES_LONG)}-{serial // 10_000:03d}-{serial % 10_000:04d}"
    return f"PW-{year % 100:02d}-{serial:08d}"


def generate_tenders(seed: int, count: int, today: date) -> Iterator[tuple[TenderNotice, Searchable]]:
    rng = random.Random(f"{seed}:canada:tenders")
    closing_days = _day_labels(today, 0, TENDER_HORIZON_DAYS)
    offset = rng.randrange(10**8)
    for i in range(count):
        serial = (i * SERIAL_STEP + offset) % 10**8
        reference = _reference_number(rng, serial, today.year - rng.randrange(3))
        gsins = {rng.choice(vocab.GSINS)}
        draw = rng.random()
        if draw < 0.3:
            gsins.add(rng.choice(vocab.GSINS))
            if draw < 0.05:
                gsins.add(rng.choice(vocab.GSINS))
        main_gsin = min(gsins)
        department_index = rng.choice(_WEIGHTED_DEPARTMENTS)
        department = vocab.DEPARTMENTS[department_index]
        delivery = _delivery(rng)
        opportunity = _opportunity(rng, delivery)
        cities = vocab.REGION_BY_CODE[delivery[0]].cities or vocab.NATIONAL_CAPITAL_REGION.cities
        city = rng.choice(cities)
        solicitation_office, solicitation_serial = (
            rng.choice(vocab.SOLICITATION_PREFIXES),
            str(rng.randrange(10**5, 10**6)),
        )
        solicitation = f"{solicitation_office}-{solicitation_serial}/{rng.choice('ABCDEFGH')}"
        shape_index = rng.randrange(len(vocab.TITLE_SHAPES))
        shape_en, shape_fr = vocab.TITLE_SHAPES[shape_index]
        tender = TenderNotice(
            tender=reference,
            solicitation_number=solicitation,
            title_en=shape_en.format(
                item=main_gsin.description_en, buyer=department.name_en, city=city, solicitation=solicitation
            ),
            title_fr=shape_fr.format(
                item_fr=main_gsin.description_fr, buyer_fr=department.name_fr, city=city, solicitation=solicitation
            ),
            buyer_en=department.name_en,
            buyer_fr=department.name_fr,
            date_closing=closing_days[rng.randrange(len(closing_days))],
            gsins=tuple(sorted(g.code for g in gsins)),
            regions_delivery=delivery,
            regions_opportunity=opportunity,
        )
        words = _DESCRIPTION_WORDS.union(
            _SHAPE_WORDS[shape_index],
            _DEPARTMENT_WORDS[department_index],
            _CITY_WORDS[city],
            (solicitation_office, solicitation_serial),  # the words searchable_words() finds in it
            *(_GSIN_WORDS[g.code] for g in gsins),
            *(_REGION_WORDS[code] for code in delivery),
        )
        regions = {"delivery": delivery, "opportunity": opportunity}
        yield tender, Searchable(tender.date_closing, tender.gsins, words, regions)


def _contract_value(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return "0.00"  # standing offers and supply arrangements carry no value of their own
    return f"{10 ** (3 + rng.random() * 4.5):.2f}"


def generate_contracts(seed: int, count: int, today: date) -> Iterator[tuple[ContractRecord, Searchable]]:
    rng = random.Random(f"{seed}:canada:contracts")
    days = _day_labels(today, -CONTRACT_HORIZON_DAYS, CONTRACT_HORIZON_DAYS)
    offset = rng.randrange(10**6)
    for i in range(count):
        serial = (i * SERIAL_STEP + offset) % 10**6
        gsin = rng.choice(vocab.GSINS)
        supplier_index = rng.randrange(len(vocab.SUPPLIERS))
        supplier = vocab.SUPPLIERS[supplier_index]
        department_index = rng.choice(_WEIGHTED_DEPARTMENTS)
        department = vocab.DEPARTMENTS[department_index]
        expires_in = rng.randrange(1, CONTRACT_HORIZON_DAYS)
        awarded_in = min(0, expires_in - rng.randrange(60, CONTRACT_HORIZON_DAYS))
        amendment = rng.choice((0, 0, 0, 1, 1, 2, 3, 4))
        contract = ContractRecord(
            contract=f"{rng.choice(vocab.SOLICITATION_PREFIXES)}-{serial:06d}/{amendment:03d}/"
            f"{rng.choice(vocab.CONTRACT_OFFICES)}",
            title_en=gsin.description_en,
            title_fr=gsin.description_fr,
            date_awarded=days[CONTRACT_HORIZON_DAYS + awarded_in],
            date_expires=days[CONTRACT_HORIZON_DAYS + expires_in],
            value=_contract_value(rng),
            supplier=supplier.name,
            supplier_city=supplier.city,
            supplier_region=supplier.region,
            buyer_en=department.name_en,
            buyer_fr=department.name_fr,
            gsin=gsin.code,
        )
        words = _GSIN_WORDS[gsin.code].union(_SUPPLIER_WORDS[supplier_index], _DEPARTMENT_WORDS[department_index])
        yield contract, Searchable(contract.date_expires, (gsin.code,), words, {})
