"""Tender notices and contracts as the Canadian procurement API served them, and the catalogue that searches them.

The catalogue imitates the original MySQL queries (UPSTREAMS.md §2.2): GSIN prefix match, region codes, a
full-text-like word match, OR within a parameter and AND across, ordered by date ascending with nulls first, at
most `limit` rows.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

JsonValue = str | list[str] | None

TENDER_FIELDS = (
    "tender",
    "solicitation_number",
    "title_en",
    "title_fr",
    "buyer_en",
    "buyer_fr",
    "date_closing",
    "gsins",
    "regions_delivery",
    "regions_opportunity",
    "url_en",
    "url_fr",
)
CONTRACT_FIELDS = (
    "contract",
    "title_en",
    "title_fr",
    "date_awarded",
    "date_expires",
    "value",
    "supplier",
    "supplier_city",
    "supplier_region",
    "buyer_en",
    "buyer_fr",
    "gsins",
    "url_en",
    "url_fr",
)

TENDER_URL_EN = "https://buyandsell.gc.ca/procurement-data/tender-notice/{}"
TENDER_URL_FR = "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/appels-d-offres/{}"
CONTRACT_URL_EN = "https://buyandsell.gc.ca/procurement-data/contract-history/{}"
CONTRACT_URL_FR = "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/contrats-octroyes/{}"
_OUTSIDE_URL_ID = re.compile(r"[^A-Z0-9-]")

# The full-text index of the original (MySQL 5.6 InnoDB): words of 3+ characters, accents and case folded,
# default stopwords ignored.
MIN_WORD_LENGTH = 3
STOPWORDS = frozenset(
    {
        "ABOUT",
        "ARE",
        "COM",
        "FOR",
        "FROM",
        "HOW",
        "THAT",
        "THE",
        "THIS",
        "WAS",
        "WHAT",
        "WHEN",
        "WHERE",
        "WHO",
        "WILL",
        "WITH",
        "UND",
        "WWW",
    }
)
_WORD = re.compile(r"[A-Z0-9]+")


def searchable_words(text: str) -> frozenset[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()
    return frozenset(w for w in _WORD.findall(ascii_text) if len(w) >= MIN_WORD_LENGTH and w not in STOPWORDS)


def tender_urls(tender: str) -> tuple[str, str]:
    url_id = _OUTSIDE_URL_ID.sub("", tender)
    return TENDER_URL_EN.format(url_id), TENDER_URL_FR.format(url_id)


def contract_urls(contract: str) -> tuple[str, str]:
    url_id = _OUTSIDE_URL_ID.sub("-", contract)
    return CONTRACT_URL_EN.format(url_id), CONTRACT_URL_FR.format(url_id)


def _only(document: dict[str, JsonValue], emitted: frozenset[str] | None) -> dict[str, JsonValue]:
    return document if emitted is None else {k: v for k, v in document.items() if k in emitted}


class TenderNotice(NamedTuple):
    tender: str
    solicitation_number: str | None
    title_en: str | None
    title_fr: str | None
    buyer_en: str | None
    buyer_fr: str | None
    date_closing: str | None
    gsins: tuple[str, ...]
    regions_delivery: tuple[str, ...]
    regions_opportunity: tuple[str, ...]
    # The fields a recorded response of an older API version carried; None = all of TENDER_FIELDS.
    emitted: frozenset[str] | None = None

    def to_json(self) -> dict[str, JsonValue]:
        url_en, url_fr = tender_urls(self.tender)
        return _only(
            {
                "tender": self.tender,
                "solicitation_number": self.solicitation_number,
                "title_en": self.title_en,
                "title_fr": self.title_fr,
                "buyer_en": self.buyer_en,
                "buyer_fr": self.buyer_fr,
                "date_closing": self.date_closing,
                "gsins": list(self.gsins),
                "regions_delivery": list(self.regions_delivery),
                "regions_opportunity": list(self.regions_opportunity),
                "url_en": url_en,
                "url_fr": url_fr,
            },
            self.emitted,
        )


class ContractRecord(NamedTuple):
    contract: str
    title_en: str | None  # the GSIN description, not a title of its own
    title_fr: str | None
    date_awarded: str | None
    date_expires: str | None
    value: str | None  # free-form, e.g. "25000000.00"
    supplier: str | None
    supplier_city: str | None
    supplier_region: str | None
    buyer_en: str | None  # the end-user entity
    buyer_fr: str | None
    gsin: str | None
    emitted: frozenset[str] | None = None

    def to_json(self) -> dict[str, JsonValue]:
        url_en, url_fr = contract_urls(self.contract)
        return _only(
            {
                "contract": self.contract,
                "title_en": self.title_en,
                "title_fr": self.title_fr,
                "date_awarded": self.date_awarded,
                "date_expires": self.date_expires,
                "value": self.value,
                "supplier": self.supplier,
                "supplier_city": self.supplier_city,
                "supplier_region": self.supplier_region,
                "buyer_en": self.buyer_en,
                "buyer_fr": self.buyer_fr,
                "gsins": [self.gsin] if self.gsin is not None else [],
                "url_en": url_en,
                "url_fr": url_fr,
            },
            self.emitted,
        )


R = TypeVar("R")


class Searchable(NamedTuple):
    """What the catalogue indexes about one record (the record itself travels beside it)."""

    sort_date: str | None
    gsins: tuple[str, ...]
    words: frozenset[str]
    regions: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Filters:
    """Cleaned query tokens (trimmed, upper-cased, empties dropped); an empty sequence means no condition."""

    gsins: Sequence[str] = ()
    keywords: Sequence[str] = ()
    regions: Mapping[str, Sequence[str]] = field(default_factory=dict)


class Catalogue(Generic[R]):
    """Records in date order (nulls first, as MySQL sorts them) with GSIN, region and word indexes."""

    def __init__(self, entries: Iterable[tuple[R, Searchable]]) -> None:
        ordered = sorted(entries, key=lambda entry: entry[1].sort_date or "")
        self.records: list[R] = [record for record, _ in ordered]
        self._dates = [searchable.sort_date or "" for _, searchable in ordered]
        gsin_positions = sorted(
            (gsin, position) for position, (_, searchable) in enumerate(ordered) for gsin in searchable.gsins
        )
        self._gsin_keys = [gsin for gsin, _ in gsin_positions]
        self._gsin_positions = [position for _, position in gsin_positions]
        self._word_positions: defaultdict[str, list[int]] = defaultdict(list)
        self._region_positions: defaultdict[str, defaultdict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for position, (_, searchable) in enumerate(ordered):
            for word in searchable.words:
                self._word_positions[word].append(position)
            for kind, codes in searchable.regions.items():
                by_code = self._region_positions[kind]
                for code in codes:
                    by_code[code].append(position)

    def __len__(self) -> int:
        return len(self.records)

    def find(self, filters: Filters, *, limit: int, not_before: str | None = None) -> list[R]:
        start = bisect_left(self._dates, not_before) if not_before else 0
        conditions: list[set[int]] = []
        if filters.gsins:
            conditions.append(self._with_gsin_prefix(filters.gsins))
        for kind, codes in filters.regions.items():
            if codes:
                by_code: Mapping[str, list[int]] = self._region_positions.get(kind, {})
                conditions.append({p for code in codes for p in by_code.get(code, ())})
        if filters.keywords:
            words = {word for keyword in filters.keywords for word in searchable_words(keyword)}
            conditions.append({p for word in words for p in self._word_positions.get(word, ())})
        if not conditions:
            return self.records[start : start + limit]
        conditions.sort(key=len)
        matches = conditions[0].intersection(*conditions[1:])
        return [self.records[p] for p in heapq.nsmallest(limit, (p for p in matches if p >= start))]

    def _with_gsin_prefix(self, prefixes: Iterable[str]) -> set[int]:
        positions: set[int] = set()
        for prefix in prefixes:
            low = bisect_left(self._gsin_keys, prefix)
            high = bisect_left(self._gsin_keys, prefix + "\U0010ffff", low)
            positions.update(self._gsin_positions[low:high])
        return positions


@dataclass(frozen=True)
class CanadaDataset:
    tenders: Catalogue[TenderNotice]
    contracts: Catalogue[ContractRecord]
    recorded: bool  # recorded samples are old: never filter them by today's date
