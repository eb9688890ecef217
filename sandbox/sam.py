"""The SAM.gov Contract Awards API v1 imitation: `/contract-awards/v1/search` and `/contract-awards/v1/download`.

Order of checks, as a metering gateway in front of the API would do them: api_key (403), daily quota (429, see
sam_quota for what counts), then the API's own validation (400) and the search (200, or 204 with no body when nothing
matches). Every failure answers the upstream's own JSON error body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from sandbox import control, sam_errors
from sandbox.clock import SandboxClock
from sandbox.sam_aggregation import family_for, piid_aggregation
from sandbox.sam_data import SamDataset, dataset_for
from sandbox.sam_errors import SamError
from sandbox.sam_extracts import ExtractBoard, extract_file, token_answer
from sandbox.sam_filters import (
    Condition,
    RecordView,
    check_characters,
    document_of,
    matches_text,
    parse_condition,
)
from sandbox.sam_parameters import FILTERS, KNOWN_PARAMETERS
from sandbox.sam_quota import DailyQuota
from sandbox.sam_records import AwardRecord
from sandbox.sam_sections import parse_sections, select_sections
from sandbox.settings import SandboxSettings

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_REACHABLE_RECORDS = 400_000
EXTRACT_FORMATS = frozenset({"json", "csv"})
_RESERVED_IN_Q = re.compile(r"\b(includeSections|emailId|piidaggregation|format)\s*[=:]", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class SamState:
    settings: SandboxSettings
    quota: DailyQuota
    extracts: ExtractBoard


SAM_STATE = web.AppKey("sam_state", SamState)


def add_routes(app: web.Application, settings: SandboxSettings, clock: SandboxClock) -> None:
    app[SAM_STATE] = SamState(settings, DailyQuota(settings.sam_keys, clock), ExtractBoard(settings.seed))
    app[control.RESET_HOOKS].append(app[SAM_STATE].quota.reset)
    app.router.add_get("/contract-awards/v1/search", search, name="sam.search")
    app.router.add_get("/contract-awards/v1/download", download, name="sam.download")
    app.on_startup.append(_load_dataset)


async def _load_dataset(app: web.Application) -> None:
    dataset_for(app[SAM_STATE].settings)


def _json(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _throttled(quota: DailyQuota) -> web.Response:
    reset = quota.next_reset()
    stamp = f"{reset.year}-{_MONTHS[reset.month - 1]}-{reset.day:02d} 00:00:00+0000"
    body = {
        "code": "900804",
        "message": "Message throttled out",
        "description": f"You have exceeded your quota .You can access API after {stamp} UTC",
        "nextAccessTime": f"{stamp} UTC",
    }
    response = _json(body, status=429)
    response.headers["Retry-After"] = str(quota.seconds_until_reset())
    return response


def _admit(state: SamState, query: MultiMapping[str]) -> web.Response | None:
    """None when the call may proceed; else the 403 or 429 answer."""
    api_key = query.get("api_key", "").strip()
    if not api_key:
        raise sam_errors.forbidden(sam_errors.MISSING_KEY)
    if api_key not in state.settings.sam_keys:
        raise sam_errors.forbidden(sam_errors.INVALID_KEY)
    if state.settings.sam_keys[api_key] <= 0:
        raise sam_errors.forbidden(sam_errors.DISABLED_KEY)
    return None if state.quota.try_spend(api_key) else _throttled(state.quota)


async def search(request: web.Request) -> web.Response:
    state = request.app[SAM_STATE]
    try:
        refused = _admit(state, request.query)
        return refused or _search(state, request)
    except SamError as error:
        return _json(error.body, status=error.status)


async def download(request: web.Request) -> web.Response:
    state = request.app[SAM_STATE]
    try:
        refused = _admit(state, request.query)
        if refused is not None:
            return refused
        body, content_type = extract_file(state.extracts.take(request.query.get("token", "").strip()))
        return web.Response(body=body, content_type=content_type)
    except SamError as error:
        return _json(error.body, status=error.status)


def _number(query: MultiMapping[str], name: str, default: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise sam_errors.not_a_number(name)
    return int(raw)


@dataclass(frozen=True)
class SearchRequest:
    limit: int
    offset: int
    sections: frozenset[str] | None
    terms: tuple[str, ...]
    conditions: tuple[Condition, ...]
    aggregate: bool
    deleted: bool
    file_format: str | None
    document_status: str


def parse_search(query: MultiMapping[str]) -> SearchRequest:
    for name, value in query.items():
        if name.rstrip("!") not in KNOWN_PARAMETERS:
            raise sam_errors.unknown_parameter(name)
        check_characters(name, value)
    limit = _number(query, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        raise sam_errors.limit_too_large()
    offset = _number(query, "offset", 0)
    if offset * limit > MAX_REACHABLE_RECORDS:
        raise sam_errors.paging_too_deep()
    q = query.get("q", "")
    if _RESERVED_IN_Q.search(q):
        raise sam_errors.reserved_inside_q()
    file_format = query.get("format", "").strip().lower() or None
    if query.get("emailId", "").strip() and file_format is None:
        raise sam_errors.email_without_format()
    if file_format is not None and file_format not in EXTRACT_FORMATS:
        raise sam_errors.bad_format(query.get("format", ""))
    conditions = []
    for name, value in query.items():
        if name.rstrip("!") in FILTERS and (condition := parse_condition(name, value)) is not None:
            conditions.append(condition)
    return SearchRequest(
        limit=limit,
        offset=offset,
        sections=parse_sections(query.get("includeSections")),
        terms=tuple(q.upper().split()),
        conditions=tuple(conditions),
        aggregate=query.get("piidAggregation", "").strip().lower() == "yes",
        deleted=query.get("deletedStatus", "").strip().lower() == "yes",
        file_format=file_format,
        document_status=query.get("documentStatus", "").strip().upper(),
    )


def _condition(request: SearchRequest, name: str) -> Condition | None:
    return next((condition for condition in request.conditions if condition.name == name), None)


def _candidates(dataset: SamDataset, request: SearchRequest) -> tuple[AwardRecord, ...] | list[AwardRecord]:
    if request.deleted:
        return dataset.deleted
    piid = _condition(request, "piid")
    if piid is None or piid.negated or piid.null:
        return dataset.awards
    positions = sorted({position for text in piid.texts for position in dataset.awards_by_piid.get(text, ())})
    return [dataset.awards[position] for position in positions]


def find(dataset: SamDataset, request: SearchRequest) -> list[AwardRecord]:
    if request.document_status not in {"", "FINAL", "ALL"}:
        return []  # every record the imitation holds is FINAL
    found = []
    for record in _candidates(dataset, request):
        view = RecordView(record)
        if all(condition.matches(view) for condition in request.conditions) and (
            not request.terms or matches_text(record, request.terms)
        ):
            found.append(record)
    return found


def _search(state: SamState, http: web.Request) -> web.Response:
    request = parse_search(http.query)
    dataset = dataset_for(state.settings)
    aggregation: dict[str, Any] | None = None
    if request.aggregate:
        family = family_for(dataset, _condition(request, "piid"), _condition(request, "referencedIdvPiid"))
        aggregation = piid_aggregation(dataset, family) if family is not None else None
    found = find(dataset, request)
    if request.file_format is not None:
        token = state.extracts.create(request.file_format, found, request.sections, request.limit)
        return _json(token_answer(str(http.url.origin()), token))
    if not found:
        return web.Response(status=204)
    start = request.offset * request.limit
    page = found[start : start + request.limit]
    envelope: dict[str, Any] = {} if aggregation is None else {"piidAggregation": aggregation}
    envelope |= {
        "awardSummary": [select_sections(document_of(record), request.sections) for record in page],
        "totalRecords": str(len(found)),
        "limit": str(request.limit),
        "offset": str(request.offset),
    }
    return _json(envelope)
