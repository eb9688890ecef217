"""The daily public extract (`ContractOpportunitiesFullCSV.csv`, about 230 MB): its encoding, its 47 columns, its rows
as notices, and the checks a file must pass before it may replace what the index holds.

The file is Windows-1252 (a right single quotation mark is byte 0x92). It is read as UTF-8 (with or without a
byte-order mark) only when the whole file decodes strictly as UTF-8, else as cp1252 (its five unassigned bytes read
as U+FFFD). Rows are streamed: a file is never held in memory. A file is refused (`ExtractRejected`, the index keeps
what it has) when its header is not the known one, a row does not parse, a NoticeId is not 32 hexadecimal digits or
appears twice, or it has fewer than `MIN_ROW_SHARE` of the notices of the last accepted file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway.upstreams.samopps.notice import NOTICE_ID, Award, Notice, Place, PointOfContact

EXTRACT_PATH = "falextracts/Contract%20Opportunities/datagov/ContractOpportunitiesFullCSV.csv"
REAL_EXTRACT_URL = "https://s3.amazonaws.com/" + EXTRACT_PATH
COLUMNS: tuple[str, ...] = (
    "NoticeId",
    "Title",
    "Sol#",
    "Department/Ind.Agency",
    "CGAC",
    "Sub-Tier",
    "FPDS Code",
    "Office",
    "AAC Code",
    "PostedDate",
    "Type",
    "BaseType",
    "ArchiveType",
    "ArchiveDate",
    "SetASideCode",
    "SetASide",
    "ResponseDeadLine",
    "NaicsCode",
    "ClassificationCode",
    "PopStreetAddress",
    "PopCity",
    "PopState",
    "PopZip",
    "PopCountry",
    "Active",
    "AwardNumber",
    "AwardDate",
    "Award$",
    "Awardee",
    "PrimaryContactTitle",
    "PrimaryContactFullname",
    "PrimaryContactEmail",
    "PrimaryContactPhone",
    "PrimaryContactFax",
    "SecondaryContactTitle",
    "SecondaryContactFullname",
    "SecondaryContactEmail",
    "SecondaryContactPhone",
    "SecondaryContactFax",
    "OrganizationType",
    "State",
    "City",
    "ZipCode",
    "CountryCode",
    "AdditionalInfoLink",
    "Link",
    "Description",
)
MIN_ROW_SHARE = 0.75  # a file with fewer rows than this share of the last accepted one is refused
MAX_FIELD_CHARS = 16 * 1024 * 1024  # one description may be long HTML; a longer field means a broken file
READ_CHUNK_BYTES = 1 << 20
_ABSENT = frozenset({"", "null", "none", "n/a"})


class ExtractRejected(Exception):
    """The file cannot replace what the index holds; the message says why (it shows in the feed's status)."""


def encoding_of(path: Path) -> str:
    """`utf-8-sig` when the whole file decodes strictly as UTF-8 (a BOM or none), else `cp1252`."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        with path.open("rb") as file:
            while chunk := file.read(READ_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


class ExtractRow:
    """One row: its notice id, the hash of its fields as published (a changed notice has a new hash), and the
    notice it says, read only when asked for (an unchanged row never is)."""

    __slots__ = ("_fields", "_notice", "notice_id", "row_hash")

    def __init__(self, notice_id: str, row_hash: bytes, fields: list[str] | None = None, notice: Notice | None = None):
        self.notice_id = notice_id
        self.row_hash = row_hash
        self._fields = fields
        self._notice = notice

    @classmethod
    def of(cls, notice: Notice, row_hash: bytes) -> ExtractRow:
        return cls(notice.notice_id, row_hash, notice=notice)

    @property
    def notice(self) -> Notice:
        if self._notice is None:
            assert self._fields is not None
            self._notice = notice_from_row(self._fields)
            self._fields = None
        return self._notice


def read_extract(path: Path, *, previous_rows: int | None = None) -> Iterator[ExtractRow]:
    """Every row of the file as a notice, in file order; raises ExtractRejected (possibly after some rows were
    yielded: the caller applies nothing until the iteration ends)."""
    encoding = encoding_of(path)
    csv.field_size_limit(MAX_FIELD_CHARS)
    seen: set[str] = set()
    with path.open("r", encoding=encoding, errors="replace" if encoding == "cp1252" else "strict", newline="") as file:
        reader = csv.reader(file)
        try:
            header = next(reader)
        except StopIteration:
            raise ExtractRejected("the file is empty") from None
        except csv.Error as failure:
            raise ExtractRejected(f"the header does not parse ({failure})") from None
        header = [name.strip() for name in header]
        if tuple(header) != COLUMNS:
            missing = [name for name in COLUMNS if name not in header]
            raise ExtractRejected(
                f"the header is not the known {len(COLUMNS)} columns"
                + (f" (missing {', '.join(missing[:5])})" if missing else f" ({len(header)} columns)")
            )
        try:
            for number, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(COLUMNS):
                    raise ExtractRejected(f"row {number} has {len(row)} fields, not {len(COLUMNS)}")
                notice_id = row[0].strip()
                if not NOTICE_ID.match(notice_id):
                    raise ExtractRejected(f"row {number}: NoticeId {notice_id[:40]!r} is not 32 hexadecimal digits")
                folded = notice_id.lower()
                if folded in seen:
                    raise ExtractRejected(f"row {number}: NoticeId {folded} appears twice")
                seen.add(folded)
                yield ExtractRow(folded, row_hash(row), row)
        except csv.Error as failure:
            raise ExtractRejected(f"a row does not parse ({failure})") from None
    if previous_rows and len(seen) < MIN_ROW_SHARE * previous_rows:
        raise ExtractRejected(
            f"the file has {len(seen)} notices, fewer than {MIN_ROW_SHARE:.0%} of the {previous_rows} of the last one"
        )


def row_hash(row: list[str]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for value in row:
        digest.update(value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.digest()


def _text(value: str) -> str | None:
    stripped = value.strip()
    return None if stripped.casefold() in _ABSENT else stripped


def _moment(value: str) -> datetime | None:
    """`2026-09-01 14:03:22.123-04`, `2026-09-15T17:00:00-04:00`, `2026-09-15`; one without an offset is UTC."""
    found = _text(value)
    if found is None:
        return None
    try:
        parsed = datetime.fromisoformat(found)
    except ValueError:
        try:
            parsed = datetime.strptime(found, "%m/%d/%Y")
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _day(value: str) -> date | None:
    found = _moment(value)
    if found is not None:
        return found.date()
    text = _text(value)
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _amount(value: str) -> Decimal | None:
    text = _text(value)
    if text is None:
        return None
    try:
        number = Decimal(text.replace("$", "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number.adjusted() < 21 else None


def _place(street: str, city: str, state: str, zip_code: str, country: str) -> Place | None:
    found = Place(_text(street), _text(city), _text(state), _text(zip_code), _text(country))
    return None if found.is_empty() else found


def _contact(kind: str, fields: list[str]) -> PointOfContact | None:
    title, name, email, phone, fax = (_text(value) for value in fields)
    found = PointOfContact(kind=kind, title=title, name=name, email=email, phone=phone, fax=fax)
    return None if found.is_empty() else found


def notice_from_row(row: list[str]) -> Notice:
    """One row (47 fields, in `COLUMNS` order) as a notice; values are read tolerantly (unreadable ones are None)."""
    value = dict(zip(COLUMNS, row, strict=True))
    department, subtier, office = (_text(value[name]) for name in ("Department/Ind.Agency", "Sub-Tier", "Office"))
    codes = [code for name in ("CGAC", "FPDS Code", "AAC Code") if (code := _text(value[name]))]
    award = Award(
        number=_text(value["AwardNumber"]),
        day=_day(value["AwardDate"]),
        amount=_amount(value["Award$"]),
        awardee=_text(value["Awardee"]),
    )
    contacts = (
        _contact("primary", row[29:34]),
        _contact("secondary", row[34:39]),
    )
    active = _text(value["Active"])
    return Notice(
        notice_id=value["NoticeId"].strip().lower(),
        title=_text(value["Title"]),
        solicitation_number=_text(value["Sol#"]),
        department=department,
        subtier=subtier,
        office=office,
        org_path=".".join(part for part in (department, subtier, office) if part) or None,
        org_codes=".".join(codes) or None,
        posted=_day(value["PostedDate"]),
        type=_text(value["Type"]),
        base_type=_text(value["BaseType"]),
        archive_type=_text(value["ArchiveType"]),
        archive_date=_day(value["ArchiveDate"]),
        set_aside_code=_text(value["SetASideCode"]),
        set_aside=_text(value["SetASide"]),
        response_deadline=_moment(value["ResponseDeadLine"]),
        naics=_text(value["NaicsCode"]),
        psc=_text(value["ClassificationCode"]),
        place_of_performance=_place(
            value["PopStreetAddress"], value["PopCity"], value["PopState"], value["PopZip"], value["PopCountry"]
        ),
        active=None if active is None else active.casefold() == "yes",
        award=None if award == Award() else award,
        contacts=tuple(contact for contact in contacts if contact is not None),
        organization_type=_text(value["OrganizationType"]),
        office_address=_place("", value["City"], value["State"], value["ZipCode"], value["CountryCode"]),
        additional_info_link=_text(value["AdditionalInfoLink"]),
        link=_text(value["Link"]),
        description=_text(value["Description"]),
    )
