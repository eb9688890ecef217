"""The Find a Tender OCDS API imitation (apidocumentation/1.0 GET-ocdsReleasePackages, GET-ocdsRecordPackages).

- `GET /api/1.0/ocdsReleasePackages?updatedFrom=&updatedTo=&stages=&limit=&cursor=`: releases updated in the
  window (`YYYY-MM-DDTHH:MM:SS`, naive = UTC, both inclusive; other ISO forms accepted), `stages` comma-separated
  (planning, tender, award; award includes contract releases), `limit` 1..100 (default 100), `cursor` from
  `links.next` (the full URL with the cursor while more releases follow; absent on the last page). Any other
  parameter is the documented 400.
- `GET /api/1.0/ocdsReleasePackages/<noticeId nnnnnn-yyyy | ocid ocds-h6vhtk-hhhhhh>`: that release / every
  release of that process.
- `GET /api/1.0/ocdsRecordPackages/<ocid>`: the record (releases, compiledRelease, versionedRelease).
- Unknown notice or ocid: 404 with the documented JSON body.

Pacing (every API request counts, bad ones too): more than `requests_per_window` requests within `window_s`
seconds of the sandbox clock answer `429 Too Many Requests` (text/plain) with `Retry-After` = seconds until a
request is admitted again; from the (`refusals_before_503` + 1)-th refusal in a row on, `503 Service Unavailaible`
(the doc's spelling) with the same Retry-After.

Knobs (`GET|PUT|DELETE /_sandbox/findatender`): `processes`, `seed`, `revision` (see ocds_feed),
`requests_per_window`, `window_s` (default settings.fts_pace: 12 per 120 s), `refusals_before_503` (default 2),
`force_status` (null, 429 or 503: every API request refused so, with `Retry-After: retry_after_s`, default 11),
`number_quirks_share` (0..1, default 0.1: the share of releases written with `1e9999` / `000`, see ocds_quirks).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from yarl import URL

from sandbox import control
from sandbox import ocds_vocabulary as vocab
from sandbox.clock import SandboxClock
from sandbox.knobs import (
    Check,
    add_knob_routes,
    integer_at_least,
    one_of,
    positive_number,
    share,
)
from sandbox.ocds_compile import compiled_release, versioned_release
from sandbox.ocds_data import FIND_A_TENDER, Release, stamp
from sandbox.ocds_feed import DATASET_CHECKS, OcdsBoard
from sandbox.ocds_paging import Position, Window, page, stages_of
from sandbox.ocds_quirks import chosen, json_list, json_text, release_text
from sandbox.settings import SandboxSettings

RELEASES_PATH = "/api/1.0/ocdsReleasePackages"
RECORDS_PATH = "/api/1.0/ocdsRecordPackages"
CONTROL_PATH = "/_sandbox/findatender"
PARAMETERS = ("stages", "limit", "cursor", "updatedFrom", "updatedTo")
STAGES = ("planning", "tender", "award")
DEFAULT_LIMIT = 100
MAX_LIMIT = 100
NOTICE_ID = re.compile(r"^\d{6}-\d{4}$")
OCID = re.compile(r"^ocds-h6vhtk-[0-9a-f]{6}$")
TOO_MANY = "Too Many Requests"
UNAVAILABLE = "Service Unavailaible"  # sic, as the documentation's sample


@dataclass(frozen=True)
class FindATenderKnobs:
    processes: int | None = None
    seed: int | None = None
    revision: int = 0
    requests_per_window: int = 12
    window_s: float = 120.0
    refusals_before_503: int = 2
    force_status: int | None = None
    retry_after_s: int = 11
    number_quirks_share: float = 0.1


CHECKS: dict[str, Check] = DATASET_CHECKS | {
    "requests_per_window": integer_at_least(1),
    "window_s": positive_number,
    "refusals_before_503": integer_at_least(0),
    "force_status": one_of(None, 429, 503),
    "retry_after_s": integer_at_least(1),
    "number_quirks_share": share,
}


class FindATenderBoard(OcdsBoard[FindATenderKnobs]):
    def __init__(self, settings: SandboxSettings, clock: SandboxClock) -> None:
        super().__init__(FIND_A_TENDER, settings, clock, checks=CHECKS, defaults=_defaults)

    def refusal(self) -> web.Response | None:
        """None when the request is admitted; else the 429 or 503 answer."""
        knobs = self.knobs
        if knobs.force_status is not None:
            return _refused(knobs.force_status, knobs.retry_after_s)
        wait = self.pace.admit(knobs.requests_per_window, knobs.window_s)
        if wait is None:
            return None
        return _refused(503 if self.pace.refusals_in_a_row > knobs.refusals_before_503 else 429, wait)


def _defaults(settings: SandboxSettings) -> FindATenderKnobs:
    requests, window_s = settings.fts_pace
    return FindATenderKnobs(requests_per_window=requests, window_s=window_s)


BOARD = web.AppKey("findatender_board", FindATenderBoard)


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, exception: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.exception = status, error, message, exception


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    board = FindATenderBoard(settings, app[control.CLOCK])
    app[BOARD] = board
    app[control.RESET_HOOKS].append(board.reset)
    app.router.add_get(RELEASES_PATH, release_packages, name="findatender.releases")
    app.router.add_get(RELEASES_PATH + "/{identifier}", release_package, name="findatender.release")
    app.router.add_get(RECORDS_PATH, record_package, name="findatender.records")
    app.router.add_get(RECORDS_PATH + "/{identifier}", record_package, name="findatender.record")
    add_knob_routes(app, CONTROL_PATH, board)


def _refused(status: int, retry_after_s: int) -> web.Response:
    body = TOO_MANY if status == 429 else UNAVAILABLE
    headers = {"Retry-After": str(retry_after_s)}
    return web.Response(status=status, text=body, content_type="text/plain", headers=headers)


def _error_answer(board: FindATenderBoard, path: str, error: ApiError) -> web.Response:
    body = {
        "timestamp": board.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "status": error.status,
        "error": error.error,
        "message": error.message,
        "path": path,
        "exception": error.exception,
    }
    return web.json_response(body, status=error.status)


def _not_found() -> ApiError:
    return ApiError(404, "Not found", "", "'identifier' is not found")


def _invalid(exception: str) -> ApiError:
    return ApiError(400, "Bad Request", "Request parameters invalid", exception)


def moment_of(name: str, raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid(f"Request parameter '{name}' must be a date and time as YYYY-MM-DDTHH:MM:SS") from exc


def encode_cursor(after: Position) -> str:
    return base64.b32encode(f"{after[0]}:{after[1]}".encode()).decode()


def decode_cursor(token: str) -> Position:
    try:
        seconds, serial = base64.b32decode(token.strip(), casefold=True).decode().split(":")
        return (int(seconds), int(serial))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _invalid("Request parameter 'cursor' is not a valid cursor") from exc


def _window(query: Any) -> tuple[Window, int, Position | None]:
    for name in query:
        if name not in PARAMETERS:
            allowed = ", ".join(PARAMETERS)
            raise ApiError(
                400,
                "Bad Request",
                "Request parameters unknown",
                f"Request parameter '{name}' is not recognised, allowed parameters are: {allowed}",
            )
    raw_limit = query.get("limit", "").strip()
    if raw_limit and (not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT):
        raise _invalid(f"Request parameter 'limit' must be a whole number from 1 to {MAX_LIMIT}")
    try:
        stages = stages_of(query.get("stages", ""), STAGES)
    except ValueError as unknown:
        raise _invalid(f"Request parameter 'stages' value '{unknown}' is not one of {', '.join(STAGES)}") from unknown
    updated = [query.get(name, "").strip() for name in ("updatedFrom", "updatedTo")]
    window = Window(
        start=moment_of("updatedFrom", updated[0]) if updated[0] else None,
        end=moment_of("updatedTo", updated[1]) if updated[1] else None,
        stages=None if stages is None else frozenset("implementation" if s == "award" else s for s in stages) | stages,
    )
    after = decode_cursor(query["cursor"]) if query.get("cursor", "").strip() else None
    return window, int(raw_limit) if raw_limit else DEFAULT_LIMIT, after


def _envelope(board: FindATenderBoard, uri: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": list(vocab.FTS_EXTENSIONS),
        "publishedDate": stamp(board.clock.now().replace(microsecond=0), bst=False),
        "publisher": dict(vocab.PUBLISHER),
        "license": vocab.LICENSE,
        "publicationPolicy": vocab.PUBLICATION_POLICY,
    }


def _texts(board: FindATenderBoard, releases: tuple[Release, ...] | list[Release]) -> list[str]:
    share_ = board.knobs.number_quirks_share
    return [
        release_text(release.document, number_literals=chosen(release.release_id, share_, "numbers"))
        for release in releases
    ]


def _json(text: str) -> web.Response:
    return web.Response(body=text.encode("utf-8"), content_type="application/json", charset="utf-8")


async def release_packages(request: web.Request) -> web.Response:
    board = request.app[BOARD]
    if (refused := board.refusal()) is not None:
        return refused
    try:
        window, limit, after = _window(request.query)
    except ApiError as error:
        return _error_answer(board, RELEASES_PATH, error)
    releases, more = page(board.feed.dataset(), window, after, limit)
    envelope = _envelope(board, str(request.url)) | {"releases": None}
    if more:
        parameters = [(k, v) for k, v in request.query.items() if k != "cursor"]
        next_url = URL(str(request.url.origin()) + RELEASES_PATH).with_query(
            [*parameters, ("cursor", encode_cursor(releases[-1].key))]
        )
        envelope["links"] = {"next": str(next_url)}
    return _json(json_text(envelope, {"releases": json_list(_texts(board, releases))}))


async def release_package(request: web.Request) -> web.Response:
    board = request.app[BOARD]
    if (refused := board.refusal()) is not None:
        return refused
    identifier = request.match_info["identifier"]
    dataset = board.feed.dataset()
    found: tuple[Release, ...] = ()
    if NOTICE_ID.match(identifier) and identifier in dataset.by_notice:
        found = (dataset.by_notice[identifier],)
    elif OCID.match(identifier):
        found = dataset.by_ocid.get(identifier, ())
    if not found:
        return _error_answer(board, RELEASES_PATH, _not_found())
    envelope = _envelope(board, str(request.url)) | {"releases": None}
    return _json(json_text(envelope, {"releases": json_list(_texts(board, found))}))


async def record_package(request: web.Request) -> web.Response:
    board = request.app[BOARD]
    if (refused := board.refusal()) is not None:
        return refused
    identifier = request.match_info.get("identifier", "")
    releases = board.feed.dataset().by_ocid.get(identifier, ()) if OCID.match(identifier) else ()
    if not releases:
        return _error_answer(board, RECORDS_PATH, _not_found())
    uri = str(request.url)
    documents = [release.document for release in releases]
    record = {
        "ocid": identifier,
        "releases": None,
        "compiledRelease": compiled_release(documents),
        "versionedRelease": versioned_release(documents),
    }
    record_text = json_text(record, {"releases": json_list(_texts(board, releases))})
    envelope = _envelope(board, uri) | {"packages": [uri], "records": None}
    return _json(json_text(envelope, {"records": json_list([record_text])}))
