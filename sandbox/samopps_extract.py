"""The key-free daily extract `ContractOpportunitiesFullCSV.csv`, served as S3 serves it.

The file: the 47-column header, one row per current notice (the same notices as the search API, newest posting first),
full description text (the API only links to it), Windows-1252 bytes, CRLF rows, fields quoted when needed.
Dates as in the live file: PostedDate `2026-04-25 22:22:47.454-04`, ResponseDeadLine ISO with offset, other dates
`YYYY-MM-DD`.

HTTP, as S3: `ETag` (the quoted MD5 of the body), `Last-Modified` (the publication's), `Accept-Ranges: bytes`,
`Content-Type: text/csv` with no charset; HEAD; `If-None-Match` / `If-Modified-Since` -> 304; `If-Match` that
differs -> 412; one `Range: bytes=a-b | a- | -n` -> 206 with `Content-Range` (416 when unsatisfiable), ignored
when an `If-Range` names another ETag. Knobs: see samopps_board.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from aiohttp import web

from sandbox.faults import GARBAGE_BODY
from sandbox.samopps_board import BOARD
from sandbox.samopps_data import Notice, OpportunityDataset

EXTRACT_PATH = "/falextracts/Contract%20Opportunities/datagov/ContractOpportunitiesFullCSV.csv"
# The router matches the decoded path.
ROUTE_PATH = "/falextracts/Contract Opportunities/datagov/ContractOpportunitiesFullCSV.csv"
ENCODING = "cp1252"
HEADER: tuple[str, ...] = (
    "NoticeId", "Title", "Sol#", "Department/Ind.Agency", "CGAC", "Sub-Tier", "FPDS Code", "Office", "AAC Code",
    "PostedDate", "Type", "BaseType", "ArchiveType", "ArchiveDate", "SetASideCode", "SetASide", "ResponseDeadLine",
    "NaicsCode", "ClassificationCode", "PopStreetAddress", "PopCity", "PopState", "PopZip", "PopCountry", "Active",
    "AwardNumber", "AwardDate", "Award$", "Awardee", "PrimaryContactTitle", "PrimaryContactFullname",
    "PrimaryContactEmail", "PrimaryContactPhone", "PrimaryContactFax", "SecondaryContactTitle",
    "SecondaryContactFullname", "SecondaryContactEmail", "SecondaryContactPhone", "SecondaryContactFax",
    "OrganizationType", "State", "City", "ZipCode", "CountryCode", "AdditionalInfoLink", "Link", "Description",
)  # fmt: skip
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def posted_stamp(notice: Notice) -> str:
    moment = notice.posted
    offset = moment.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}{hours:+03d}"


def row(notice: Notice) -> list[str]:
    office, place = notice.office, notice.pop_place
    contacts = [*notice.contacts, None][:2]
    cells = [
        notice.notice_id,
        notice.title,
        notice.solicitation_number,
        office.department[1],
        notice.path_codes[0],
        office.subtier[1],
        office.subtier[0],
        office.office[1],
        office.office[0],
        posted_stamp(notice),
        notice.notice_type,
        notice.base_type,
        notice.archive_type,
        notice.archive_date.isoformat() if notice.archive_date else "",
        notice.set_aside[0] if notice.set_aside else "",
        notice.set_aside[1] if notice.set_aside else "",
        notice.deadline.isoformat() if notice.deadline else "",
        notice.naics,
        notice.psc,
        notice.pop_street or "",
        place.city.title(),
        place.state[0] if place.state else "",
        place.zip_code[:5] if place.country[0] == "USA" else place.zip_code,
        place.country[0],
        "Yes" if notice.active else "No",
    ]
    award = notice.award
    cells += [award.number, award.day.isoformat(), award.amount, award.awardee_name] if award else ["", "", "", ""]
    for contact in contacts:
        if contact is None:
            cells += ["", "", "", "", ""]
        else:
            cells += [contact.title, contact.full_name, contact.email, contact.phone, contact.fax or ""]
    office_place = notice.office_place
    cells += [
        "OFFICE",
        office_place.state[0] if office_place.state else "",
        office_place.city.title(),
        office_place.zip_code[:5],
        office_place.country[0],
        notice.additional_info_link or "",
        f"https://sam.gov/opp/{notice.notice_id}/view",
        notice.description,
    ]
    return cells


@dataclass(frozen=True)
class ExtractFile:
    body: bytes
    etag: str


@lru_cache(maxsize=8)
def extract_file(dataset: OpportunityDataset) -> ExtractFile:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(row(notice) for notice in dataset.notices)
    body = out.getvalue().encode(ENCODING)  # strict: every character the generator writes exists in cp1252
    return ExtractFile(body, _etag(body))


def _etag(body: bytes) -> str:
    return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'


def cut_in_a_row(body: bytes) -> bytes:
    """The first half of the body, ending inside a record (never on a row boundary)."""
    cut = len(body) // 2
    while cut < len(body) - 1 and body[cut - 1 : cut + 1] in (b"\r\n", b'",', b'"\r'):
        cut += 1
    return body[:cut]


def _matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _not_modified_since(request: web.Request, last_modified: str) -> bool:
    header = request.headers.get("If-Modified-Since")
    if not header:
        return False
    try:
        return parsedate_to_datetime(header) >= parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False


def _s3_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return web.Response(status=status, text=body, headers=headers, content_type="application/xml")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None when unsatisfiable; raises ValueError for a header this does not serve."""
    match = _RANGE.match(header.strip())
    if match is None:
        raise ValueError(header)
    first, last = match.groups()
    if not first and not last:
        raise ValueError(header)
    if not first:
        length = int(last)
        return (max(0, size - length), size - 1) if length and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return None
    return start, end


async def extract(request: web.Request) -> web.StreamResponse:
    board = request.app[BOARD]
    knobs = board.knobs
    file = extract_file(board.dataset())
    body, etag = file.body, file.etag
    if knobs.truncate == "file":
        body = cut_in_a_row(body)
        etag = _etag(body)
    last_modified = format_datetime(board.last_modified(), usegmt=True)
    headers = {"ETag": etag, "Last-Modified": last_modified, "Accept-Ranges": "bytes"}
    if_match = request.headers.get("If-Match")
    if if_match is not None and not _matches(if_match, etag):
        return _s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
    if_none_match = request.headers.get("If-None-Match")
    if (if_none_match is not None and _matches(if_none_match, etag)) or (
        if_none_match is None and _not_modified_since(request, last_modified)
    ):
        return web.Response(status=304, headers=headers)
    if knobs.garbage:
        return web.Response(body=GARBAGE_BODY, headers=headers, content_type="text/html")
    status = 200
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if range_header and (if_range is None or if_range.strip() in (etag, last_modified)):
        try:
            span = _byte_range(range_header, len(body))
        except ValueError:
            span = (0, len(body) - 1)  # a range form this server ignores: the whole file
        if span is None:
            unsatisfiable = {"Content-Range": f"bytes */{len(body)}"}
            return _s3_error(416, "InvalidRange", "The requested range is not satisfiable", unsatisfiable)
        if span != (0, len(body) - 1):
            status = 206
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{len(body)}"
        body = body[span[0] : span[1] + 1]
    if knobs.truncate == "connection" and request.method != "HEAD":
        return await _dropped_midway(request, body, headers, status)
    return web.Response(body=body, status=status, headers=headers, content_type="text/csv")


async def _dropped_midway(
    request: web.Request, body: bytes, headers: dict[str, str], status: int
) -> web.StreamResponse:
    """The full Content-Length announced, half the bytes sent, then the connection closed."""
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = "text/csv"
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(cut_in_a_row(body))
    if request.transport is not None:
        request.transport.close()
    return response
