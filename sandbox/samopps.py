"""The SAM.gov Get Opportunities Public API v2 imitation: `/opportunities/v2/search`, the description link it hands
out (`/prod/opportunities/v1/noticedesc`), and the key-free daily extract (samopps_extract).

Order of checks, as for the Contract Awards imitation: api_key (403), the key's daily quota (429; the SAME per-key
counter as `/contract-awards/v1/*`, as on the real SAM), then the API's validation (400 with the doc's messages) and
the search (200, or 404 "No Data found" when nothing matches; `limit=0` answers 200 with the total only).

Parameters: `postedFrom`, `postedTo` (MM/dd/yyyy, both required, at most one year apart, inclusive), `limit`
(0..1000, default 1), `offset` (records skipped: what working clients send, though the doc calls it a page index),
`ptype` (repeated or comma-separated codes, matching the notice's current type), `noticeid`, `solnum` (exact),
`title` (words contained, any case), `state` and `zip` (place of performance; zip by its first five digits),
`organizationCode` (any code of the organisation path), `organizationName` (contained in the path's names),
`typeOfSetAside` (code), `typeOfSetAsideDescription` (contained), `ncode` (NAICS), `ccode` (classification code),
`rdlfrom`/`rdlto` (response deadline dates, MM/dd/yyyy, at most one year apart). `status`, `deptname`, `subtier`
(documented as coming soon / deprecated) and unknown parameters are accepted and ignored. Results come newest
posting first. Error bodies are `{"errorCode": "<status>", "errorMessage": <the doc's message>}` (the doc gives the
messages, not the shape); key errors use the key gateway's `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from yarl import URL

from sandbox import control, samopps_extract
from sandbox.knobs import add_knob_routes
from sandbox.sam import SAM_STATE
from sandbox.sam_quota import DailyQuota, quota_exceeded
from sandbox.samopps_board import BOARD, SamOppsBoard
from sandbox.samopps_data import PTYPES, Notice, OpportunityDataset
from sandbox.settings import SandboxSettings

SEARCH_PATH = "/opportunities/v2/search"
DESCRIPTION_PATH = "/prod/opportunities/v1/noticedesc"
CONTROL_PATH = "/_sandbox/samopps"
DEFAULT_LIMIT = 1
MAX_LIMIT = 1000
_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")

LIMIT_RANGE = "Limit valid range is 0-1000. Please provide valid input."
NOT_A_NUMBER = "limit/offset must be a positive number."
BAD_DATE = "Invalid Date Entered. Expected date format is MM/dd/yyyy"
DATES_MANDATORY = "PostedFrom and PostedTo are mandatory"
RANGE_TOO_LONG = "Date range must be 1 year(s) apart"
NO_DATA = "No Data found"
NO_DESCRIPTION = "Description Not Found"
MISSING_KEY = "No api_key was supplied"
INVALID_KEY = "An invalid api_key was supplied"
DISABLED_KEY = "The api_key supplied has been disabled"


class OpportunitiesError(Exception):
    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)


def _api_error(status: int, message: str) -> OpportunitiesError:
    return OpportunitiesError(status, {"errorCode": str(status), "errorMessage": message})


def _key_error(code: str, message: str) -> OpportunitiesError:
    return OpportunitiesError(403, {"error": {"code": code, "message": message}})


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    """Needs the SAM Contract Awards imitation's routes added first: both spend its per-key daily quota."""
    board = SamOppsBoard(settings, app[control.CLOCK])
    app[BOARD] = board
    app[control.RESET_HOOKS].append(board.reset)
    app.router.add_get(SEARCH_PATH, search, name="samopps.search")
    app.router.add_get(DESCRIPTION_PATH, description, name="samopps.description")
    app.router.add_get(samopps_extract.ROUTE_PATH, samopps_extract.extract, name="samopps.extract")
    add_knob_routes(app, CONTROL_PATH, board)


def _json(body: Mapping[str, Any], status: int = 200) -> web.Response:
    text = json.dumps(body, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json", charset="utf-8")


def _admit(request: web.Request) -> web.Response | None:
    """None when the call may proceed (and was counted); else the 429. Raises the 403s."""
    state = request.app[SAM_STATE]
    api_key = request.query.get("api_key", "").strip()
    if not api_key:
        raise _key_error("API_KEY_MISSING", MISSING_KEY)
    if api_key not in state.settings.sam_keys:
        raise _key_error("API_KEY_INVALID", INVALID_KEY)
    if state.settings.sam_keys[api_key] <= 0:
        raise _key_error("API_KEY_DISABLED", DISABLED_KEY)
    quota: DailyQuota = state.quota
    if quota.try_spend(api_key):
        return None
    body, retry_after = quota_exceeded(quota)
    response = _json(body, status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


async def search(request: web.Request) -> web.Response:
    try:
        refused = _admit(request)
        if refused is not None:
            return refused
        query = parse_search(request.query)
        dataset = request.app[BOARD].dataset()
        found = find(dataset, query)
        if not found:
            raise _api_error(404, NO_DATA)
        origin = str(request.url.origin())
        page = found[query.offset : query.offset + query.limit]
        public = [(k, v) for k, v in request.query.items() if k != "api_key"]
        self_href = str(URL(origin + SEARCH_PATH).with_query(public))
        return _json(
            {
                "totalRecords": len(found),
                "limit": query.limit,
                "offset": query.offset,
                "opportunitiesData": [document(notice, origin) for notice in page],
                "links": [_link(self_href)],
            }
        )
    except OpportunitiesError as error:
        return _json(error.body, status=error.status)


async def description(request: web.Request) -> web.Response:
    """The notice's description text as `{"description": ...}`; the call counts on the key's quota."""
    try:
        refused = _admit(request)
        if refused is not None:
            return refused
        notice = request.app[BOARD].dataset().by_id.get(request.query.get("noticeid", "").strip().lower())
        if notice is None:
            raise _api_error(404, NO_DESCRIPTION)
        return _json({"description": notice.description})
    except OpportunitiesError as error:
        return _json(error.body, status=error.status)


@dataclass(frozen=True)
class SearchQuery:
    posted_from: date
    posted_to: date
    limit: int
    offset: int
    tests: tuple[Callable[[Notice], bool], ...]


def _number(query: MultiMapping[str], name: str, default: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise _api_error(400, NOT_A_NUMBER)
    return int(raw)


def _date(raw: str) -> date:
    match = _DATE.match(raw.strip())
    if match is None:
        raise _api_error(400, BAD_DATE)
    month, day, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise _api_error(400, BAD_DATE) from exc


def _within_a_year(start: date, end: date) -> bool:
    if start.year == date.max.year:
        return True
    try:
        year_later = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        year_later = date(start.year + 1, 2, 28)
    return end <= year_later


def _values(query: MultiMapping[str], name: str) -> list[str]:
    return [part.strip() for value in query.getall(name, []) for part in value.split(",") if part.strip()]


def parse_search(query: MultiMapping[str]) -> SearchQuery:
    limit = _number(query, "limit", DEFAULT_LIMIT)
    offset = _number(query, "offset", 0)
    if limit > MAX_LIMIT:
        raise _api_error(400, LIMIT_RANGE)
    posted = (query.get("postedFrom", "").strip(), query.get("postedTo", "").strip())
    if not all(posted):
        raise _api_error(400, DATES_MANDATORY)
    posted_from, posted_to = _date(posted[0]), _date(posted[1])
    if not _within_a_year(posted_from, posted_to):
        raise _api_error(400, RANGE_TOO_LONG)
    tests: list[Callable[[Notice], bool]] = []
    deadline_from = _date(query["rdlfrom"]) if query.get("rdlfrom", "").strip() else None
    deadline_to = _date(query["rdlto"]) if query.get("rdlto", "").strip() else None
    if deadline_from and deadline_to and not _within_a_year(deadline_from, deadline_to):
        raise _api_error(400, RANGE_TOO_LONG)
    if deadline_from or deadline_to:
        low, high = deadline_from or date.min, deadline_to or date.max
        tests.append(lambda n: n.deadline is not None and low <= n.deadline.date() <= high)
    if types := {PTYPES.get(code.lower(), "") for code in _values(query, "ptype")}:
        tests.append(lambda n: n.notice_type in types)
    tests += _text_tests(query)
    return SearchQuery(posted_from, posted_to, limit, offset, tuple(tests))


def _text_tests(query: MultiMapping[str]) -> list[Callable[[Notice], bool]]:
    tests: list[Callable[[Notice], bool]] = []

    def given(name: str) -> str | None:
        value = query.get(name, "").strip()
        return value.upper() if value else None

    if notice_id := given("noticeid"):
        tests.append(lambda n: n.notice_id.upper() == notice_id)
    if solnum := given("solnum"):
        tests.append(lambda n: n.solicitation_number.upper() == solnum)
    if title := given("title"):
        words = title.split()
        tests.append(lambda n: all(word in n.title.upper() for word in words))
    if state := given("state"):
        tests.append(lambda n: n.pop_place.state is not None and n.pop_place.state[0] == state)
    if zip_code := given("zip"):
        tests.append(lambda n: n.pop_place.zip_code[:5] == zip_code[:5])
    if organization := given("organizationCode"):
        tests.append(lambda n: organization in n.path_codes)
    if organization_name := given("organizationName"):
        tests.append(lambda n: any(organization_name in name for name in n.path_names))
    if set_aside := given("typeOfSetAside"):
        tests.append(lambda n: n.set_aside is not None and n.set_aside[0].upper() == set_aside)
    if set_aside_text := given("typeOfSetAsideDescription"):
        tests.append(lambda n: n.set_aside is not None and set_aside_text in n.set_aside[1].upper())
    if naics := given("ncode"):
        tests.append(lambda n: n.naics == naics)
    if psc := given("ccode"):
        tests.append(lambda n: n.psc.upper() == psc)
    return tests


def find(dataset: OpportunityDataset, query: SearchQuery) -> list[Notice]:
    return [
        notice
        for notice in dataset.notices
        if query.posted_from <= notice.posted.date() <= query.posted_to and all(test(notice) for test in query.tests)
    ]


def _link(href: str) -> dict[str, Any]:
    return {"rel": "self", "href": href, "hreflang": None, "media": None, "title": None, "type": None,
            "deprecation": None}  # fmt: skip


def _city_code(name: str) -> str:
    return f"{sum(ord(ch) * (i + 7) for i, ch in enumerate(name)) % 90000 + 10000:05d}"


def _location(street: str | None, place: Any) -> dict[str, Any]:
    location: dict[str, Any] = {} if street is None else {"streetAddress": street}
    location["city"] = {"code": _city_code(place.city), "name": place.city.title()}
    if place.state is not None:
        location["state"] = {"code": place.state[0], "name": place.state[1].title()}
    location["zip"] = place.zip_code[:5] if place.country[0] == "USA" else place.zip_code
    location["country"] = {"code": place.country[0], "name": place.country[1].title()}
    return location


def document(notice: Notice, origin: str) -> dict[str, Any]:
    """One `opportunitiesData` item, with the v2 fields in the doc's order (Example 2 and the field table)."""
    item: dict[str, Any] = {
        "noticeId": notice.notice_id,
        "title": notice.title,
        "solicitationNumber": notice.solicitation_number,
        "fullParentPathName": ".".join(notice.path_names),
        "fullParentPathCode": ".".join(notice.path_codes),
        "postedDate": notice.posted.date().isoformat(),
        "type": notice.notice_type,
        "baseType": notice.base_type,
        "archiveType": notice.archive_type,
        "archiveDate": notice.archive_date.isoformat() if notice.archive_date else None,
        "typeOfSetAsideDescription": notice.set_aside[1] if notice.set_aside else None,
        "typeOfSetAside": notice.set_aside[0] if notice.set_aside else None,
        "responseDeadLine": notice.deadline.isoformat() if notice.deadline else None,
        "naicsCode": notice.naics,
        "naicsCodes": [notice.naics],
        "classificationCode": notice.psc,
        "active": "Yes" if notice.active else "No",
    }
    if notice.award is not None:
        award = notice.award
        item["award"] = {
            "date": award.day.isoformat(),
            "number": award.number,
            "amount": award.amount,
            "awardee": {
                "name": award.awardee_name,
                "location": _location(award.street, award.place),
                "ueiSAM": award.uei,
                "cageCode": award.cage,
            },
        }
    item |= {
        "pointOfContact": [
            {
                "fax": contact.fax,
                "type": contact.kind,
                "email": contact.email,
                "phone": contact.phone,
                "title": contact.title,
                "fullName": contact.full_name,
            }
            for contact in notice.contacts
        ],
        "description": f"{origin}{DESCRIPTION_PATH}?noticeid={notice.notice_id}",
        "organizationType": "OFFICE",
        "officeAddress": {
            "zipcode": notice.office_place.zip_code[:5],
            "city": notice.office_place.city,
            "countryCode": notice.office_place.country[0],
            "state": notice.office_place.state[0] if notice.office_place.state else None,
        },
        "placeOfPerformance": _location(notice.pop_street, notice.pop_place),
        "additionalInfoLink": notice.additional_info_link,
        "uiLink": f"https://sam.gov/opp/{notice.notice_id}/view",
        "links": [_link(f"{origin}/prod/opportunities/v1/search?noticeid={notice.notice_id}&limit=1")],
        "resourceLinks": list(notice.resources) or None,
    }
    return item
