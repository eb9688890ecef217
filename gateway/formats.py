"""The documented formats of the values a caller sends towards an upstream, checked before any upstream is asked.

Each `Format` states its shape in words and matches a value against it; a value that does not match is
BAD_USER_INPUT naming the argument and the shape, so a malformed identifier never costs an upstream call (nor a
refusal from it). The shapes are those the upstreams document (`upstream-docs/`, UPSTREAMS.md) and their recorded
answers show, read tolerantly: letter case is never refused (the upstreams upper-case codes or match without case),
and where a document is narrower than the real data (SAM's "6 character" modification numbers; its records hold
longer ones) the data wins. No value an upstream accepts and answers with data should be refused here.

Stdlib and the domain types only (and the lists of `gateway.vocabularies`, for the closed vocabularies: countries,
regions), so that schema inputs, resolvers and adapters all check with the same formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gateway import vocabularies
from gateway.errors import BadUserInput
from gateway.models import DateRange, ValueRange

# The days a date argument may name. Procurement records (FPDS/SAM since the 1970s, ITA leads, Canadian notices) all
# fall well inside; a day outside is a typo (0202 for 2020) or a stand-in for "no bound", which is said by omitting
# the bound. The ITA adapter fills an open bound with these same days.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
MAX_CODES_LISTED = 25  # the codes of a closed vocabulary its error names; a longer one is summed up (countries)


@dataclass(frozen=True)
class Format:
    """A documented shape of a text value. `accepted` says it in words, for the caller who sent something else."""

    name: str
    accepted: str
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, name: str, accepted: str, pattern: str) -> Format:
        """`pattern` must match the whole value; ASCII only (`[0-9]` is never an Arabic-Indic digit)."""
        return cls(name, accepted, re.compile(pattern, re.ASCII))

    @classmethod
    def one_of(cls, name: str, codes: Iterable[str]) -> Format:
        """A closed vocabulary of codes, matched without case. `accepted` lists them, up to MAX_CODES_LISTED."""
        listed = tuple(codes)
        alternatives = "|".join(re.escape(code) for code in sorted(listed, key=len, reverse=True))
        article = "an" if name[:1].upper() in "AEIO" else "a"
        if len(listed) <= MAX_CODES_LISTED:
            accepted = f"{article} {name}: one of {', '.join(listed)}"
        else:
            accepted = f"{article} {name}: one of {len(listed)} codes, e.g. {', '.join(listed[:5])}"
        return cls(name, accepted, re.compile(f"(?:{alternatives})", re.IGNORECASE))

    def matches(self, text: str) -> bool:
        return self.pattern.fullmatch(text) is not None

    def check(self, value: str | None, *, argument: str) -> str | None:
        """`value` stripped; None when it is absent or blank (an omitted filter); BAD_USER_INPUT when it does not
        match. `argument` names it as the caller wrote it (`piid`, `filter.supplierUei[2]`)."""
        text = (value or "").strip()
        if not text:
            return None
        if not self.matches(text):
            raise BadUserInput(f"`{argument}` must be {self.accepted}", argument=argument, accepted=self.accepted)
        return text

    def check_each(self, values: Iterable[str] | None, *, argument: str) -> tuple[str, ...]:
        """Every value of a list stripped, blank ones dropped (as every upstream drops them); the first that does not
        match is refused, named by its position (`filter.naics[3]`)."""
        checked = (self.check(value, argument=f"{argument}[{position}]") for position, value in enumerate(values or ()))
        return tuple(text for text in checked if text is not None)


# -- identifiers (SAM; FAR 4.16 and the recorded awards) ------------------------------------------------------------

# SAM documents `piid` as "a text"; FAR PIIDs are letters and digits (13 to 17 since FY2016, up to 50 before), and
# older ones are written with hyphens.
PIID = Format.of(
    "PIID",
    "a PIID: 1 to 50 letters, digits or hyphens, starting with a letter or digit, e.g. 47QSWA18D008F",
    r"[A-Za-z0-9][A-Za-z0-9-]{0,49}",
)
# `contracts(filter: {piid})` is SAM's PIID and Canada's contract number at once (21K01-022267/001/PQ).
CONTRACT_NUMBER = Format.of(
    "PIID or contract number",
    "a PIID (SAM) or contract number (Canada): 1 to 50 letters, digits, hyphens, slashes, dots or underscores, "
    "starting with a letter or digit, e.g. 47QSWA18D008F or 21K01-022267/001/PQ",
    r"[A-Za-z0-9][A-Za-z0-9/._-]{0,49}",
)
# Documented as "6 character code" (P00001); recorded awards hold 0, 01, 1011 and PA3143DELPROD.
MODIFICATION_NUMBER = Format.of(
    "modification number",
    "a modification number: 1 to 25 letters, digits or hyphens, e.g. P00001 or 0",
    r"[A-Za-z0-9][A-Za-z0-9-]{0,24}",
)
TRANSACTION_NUMBER = Format.of(
    "transaction number", "a transaction number: 1 to 25 letters or digits, e.g. 0", r"[A-Za-z0-9]{1,25}"
)
UEI = Format.of(
    "Unique Entity ID", "a Unique Entity ID (UEI): 12 letters or digits, e.g. HKK3H54PK7C3", r"[A-Za-z0-9]{12}"
)
CAGE = Format.of("CAGE code", "a CAGE code: 5 letters or digits, e.g. 0EPU7", r"[A-Za-z0-9]{5}")
AGENCY_CODE = Format.of("department code", "a department code: 4 letters or digits, e.g. 9700", r"[A-Za-z0-9]{4}")
US_STATE = Format.of("US state code", "a US state or territory code: 2 letters, e.g. VA", r"[A-Za-z]{2}")

# -- classification codes -------------------------------------------------------------------------------------------

# SAM documents 6-digit NAICS codes; the shorter sector, subsector and industry-group codes are NAICS codes too.
NAICS = Format.of("NAICS code", "a NAICS code: 2 to 6 digits, e.g. 541512", r"[0-9]{2,6}")
PSC = Format.of(
    "product or service code",
    "a product or service code (PSC): 4 letters or digits, e.g. D302 or 7035",
    r"[A-Za-z0-9]{4}",
)
# GSINs are a group letter and then letters and digits (N7610AA, R019BF; CanadaBuys has a bare S); the Canadian API
# matches any first characters of one.
GSIN_PREFIX = Format.of(
    "GSIN prefix",
    "a GSIN or its first characters: a letter, then up to 15 letters or digits, e.g. N76 or N7610",
    r"[A-Za-z][A-Za-z0-9]{0,15}",
)
UNSPSC_PREFIX = Format.of(
    "UNSPSC prefix", "a UNSPSC code or its first digits: 1 to 8 digits, e.g. 4323 or 43232300", r"[0-9]{1,8}"
)

# -- vocabularies (the lists ship in `gateway.vocabularies`; a value outside them would match nothing upstream) ------

COUNTRY = Format.one_of("country code (ISO 3166-1 alpha-2)", vocabularies.COUNTRIES.labels)
# The region codes of the Canadian procurement API (`bas/input.py: REGION_MAP`): provinces and territories, the
# National Capital Region, and the wider regions; the only values its region columns hold.
CANADIAN_REGION = Format.one_of("Canadian region code", vocabularies.CANADIAN_REGIONS.labels)
# ITA matches trade and world regions exactly, case included: `vocabularies.ITA_*_REGIONS.canonical` spells them.
ITA_TRADE_REGION = Format.one_of("ITA trade region", vocabularies.ITA_TRADE_REGIONS.labels)
ITA_WORLD_REGION = Format.one_of("ITA world region", vocabularies.ITA_WORLD_REGIONS.labels)

# -- keys inside global ids -----------------------------------------------------------------------------------------

# What an upstream's own key of a record may be when it comes back inside a global id (ITA lead ids are free-form:
# ids of Elasticsearch, SHA-1s, DATATABLE.647): anything printable of a sane length.
RECORD_KEY = Format.of(
    "record key",
    "the key of a record: 1 to 512 characters, none of them a control character",
    r"[^\x00-\x1f\x7f]{1,512}",
)


# -- dates, years and amounts ---------------------------------------------------------------------------------------


def check_day(day: date | None, *, argument: str) -> date | None:
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise BadUserInput(
            f"`{argument}` must be a day from {EARLIEST_DAY} to {LATEST_DAY} (omit a bound for an open range)",
            argument=argument,
            accepted=f"a day from {EARLIEST_DAY} to {LATEST_DAY}",
        )
    return day


def check_date_range(span: DateRange | None, *, argument: str) -> DateRange | None:
    """The range, None when neither bound is given; BAD_USER_INPUT for a bound outside EARLIEST_DAY..LATEST_DAY or a
    range that ends before it starts (it could match nothing)."""
    if span is None or (span.start is None and span.end is None):
        return None
    check_day(span.start, argument=f"{argument}.start")
    check_day(span.end, argument=f"{argument}.end")
    if span.start is not None and span.end is not None and span.start > span.end:
        raise BadUserInput(
            f"`{argument}` must not end before it starts (start <= end)",
            argument=argument,
            accepted="a range whose start is on or before its end",
        )
    return span


def check_fiscal_year(year: int | None, *, argument: str) -> int | None:
    """A US federal fiscal year (SAM: "a 4 character code"), within the years of EARLIEST_DAY..LATEST_DAY."""
    if year is not None and not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
        accepted = f"a fiscal year from {EARLIEST_DAY.year} to {LATEST_DAY.year}, e.g. 2025"
        raise BadUserInput(f"`{argument}` must be {accepted}", argument=argument, accepted=accepted)
    return year


def check_value_range(span: ValueRange | None, *, argument: str) -> ValueRange | None:
    """The range, None when neither bound is given; BAD_USER_INPUT for a bound that is not a finite number (NaN,
    Infinity) or a minimum above the maximum."""
    if span is None or (span.minimum is None and span.maximum is None):
        return None
    for name, bound in (("min", span.minimum), ("max", span.maximum)):
        if bound is not None and not bound.is_finite():
            raise BadUserInput(
                f"`{argument}.{name}` must be a finite amount",
                argument=f"{argument}.{name}",
                accepted="a finite amount",
            )
    if span.minimum is not None and span.maximum is not None and span.minimum > span.maximum:
        raise BadUserInput(
            f"`{argument}` must not have its minimum above its maximum (min <= max)",
            argument=argument,
            accepted="a range whose min is at most its max",
        )
    return span
