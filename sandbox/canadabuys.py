"""The CanadaBuys open-data imitation: the feed files under `/opendata/pub/`, and the one data page that sets cookies.

`GET|HEAD /opendata/pub/<file>` (also under `/opendata/pub/current/`, a same-host redirect target): the current
publication of the file (see `canadabuys_data`), with `Last-Modified` and `Content-Length`; `If-Modified-Since`
at or after the publication answers 304. Like the live server, a client whose User-Agent is not browser-shaped gets
403, unless it sends the session cookie of `GET /en/procurement-and-contracting-data`.

Knobs (`GET|PUT|DELETE /_sandbox/canadabuys`, PUT merges the given keys): `rows` (tenders and contracts generated;
default the sandbox's records per source), `revision` (a later publication: new Last-Modified, amended notices),
`latency_ms` (slow), `error_status` (every file request answers it, e.g. 500), `truncate` (bodies cut in the middle
of a record), `missing_column` (a column dropped from every file that has it), `browser_only` (403 to bare clients,
default true), `cookie_required` (403 to every request without the session cookie, as cold requests sometimes get),
`redirect_to` (a URL, `{name}` standing for the file, that every file request is redirected to). The GET answer also
counts the requests per method, file and status.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from json import JSONDecodeError
from typing import Any

from aiohttp import web

from sandbox.canadabuys_data import FeedFiles, feed_files, render
from sandbox.control import CLOCK, RESET_HOOKS
from sandbox.settings import SandboxSettings

FILES_PATH = "/opendata/pub/"
CURRENT_FILES_PATH = "/opendata/pub/current/"
DATA_PAGE_PATH = "/en/procurement-and-contracting-data"
CONTROL_PATH = "/_sandbox/canadabuys"
SESSION_COOKIE = "cb_session"
BROWSER_MARK = "Mozilla/"
CSV_CONTENT_TYPE = "text/csv"
# Route names `canadabuys.<route>`: the shared fault board and hit counters apply to the files and the data page.
ROUTE_PREFIX = "canadabuys."
REFUSAL_PAGE = b"<html><head><title>403 Forbidden</title></head><body><h1>Access denied</h1></body></html>"
DATA_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><title>Procurement and contracting data - CanadaBuys</title></head>"
    "<body><h1>Procurement and contracting data</h1><p>Open data files are published under /opendata/pub/.</p>"
    "</body></html>"
)


class KnobError(ValueError):
    pass


@dataclass(frozen=True)
class FeedKnobs:
    rows: int | None = None
    revision: int = 0
    latency_ms: float = 0.0
    error_status: int | None = None
    truncate: bool = False
    missing_column: str | None = None
    browser_only: bool = True
    cookie_required: bool = False
    redirect_to: str | None = None

    def merged(self, data: object) -> FeedKnobs:
        if not isinstance(data, dict):
            raise KnobError("the knobs are a JSON object")
        known = {field.name for field in fields(self)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KnobError(f"unknown knobs: {', '.join(unknown)}")
        for name, value in data.items():
            _check(name, value)
        knobs = replace(self, **data)
        if knobs.error_status is not None and not 400 <= knobs.error_status <= 599:
            raise KnobError("error_status must be an HTTP error status (400-599)")
        return knobs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check(name: str, value: object) -> None:
    if name in {"truncate", "browser_only", "cookie_required"}:
        if not isinstance(value, bool):
            raise KnobError(f"{name} must be a boolean")
    elif name in {"missing_column", "redirect_to"}:
        if value is not None and not isinstance(value, str):
            raise KnobError(f"{name} must be a string or null")
    elif name in {"rows", "error_status"}:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise KnobError(f"{name} must be a positive integer or null")
    elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise KnobError(f"{name} must be a non-negative number")


class FeedBoard:
    def __init__(self, seed: int) -> None:
        self.knobs = FeedKnobs()
        self.hits: Counter[str] = Counter()
        self.session = f"sandbox-{seed}"

    def reset(self) -> None:
        self.knobs = FeedKnobs()
        self.hits.clear()

    def count(self, request: web.Request, name: str, status: int) -> None:
        self.hits[f"{request.method} {name} {status}"] += 1


BOARD = web.AppKey("canadabuys_board", FeedBoard)


@lru_cache(maxsize=16)
def _body(files: FeedFiles, name: str, missing_column: str | None) -> bytes:
    header, rows = files.tables[name]
    return render(header, rows, drop_column=missing_column)


def truncated(body: bytes) -> bytes:
    """The body cut inside a record (as a file copied while it was being written)."""
    cut = len(body) // 2
    while cut < len(body) - 1 and body[cut - 1 : cut + 1] in (b'",', b"\r\n", b'"\r'):
        cut += 1
    return body[:cut]


def _not_modified(request: web.Request, published: datetime) -> bool:
    header = request.headers.get("If-Modified-Since")
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= published.replace(microsecond=0)


def _admitted(request: web.Request, board: FeedBoard) -> bool:
    primed = request.cookies.get(SESSION_COOKIE) == board.session
    if board.knobs.cookie_required:
        return primed
    return primed or not board.knobs.browser_only or BROWSER_MARK in request.headers.get("User-Agent", "")


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    board = FeedBoard(settings.seed)
    app[BOARD] = board
    app[RESET_HOOKS].append(board.reset)

    def today(request: web.Request) -> date:
        if settings.today is not None:
            return settings.today
        clock = request.app.get(CLOCK)
        return clock.today() if clock is not None else datetime.now(UTC).date()

    async def feed_file(request: web.Request) -> web.StreamResponse:
        knobs = board.knobs
        name = request.match_info["name"]
        files = feed_files(settings.seed, knobs.rows or settings.records_per_source, today(request), knobs.revision)
        if name not in files.tables:
            board.count(request, name, 404)
            raise web.HTTPNotFound(text="Not Found")
        if not _admitted(request, board):
            board.count(request, name, 403)
            return web.Response(status=403, body=REFUSAL_PAGE, content_type="text/html")
        if knobs.redirect_to and not request.path.startswith(CURRENT_FILES_PATH):
            board.count(request, name, 302)
            raise web.HTTPFound(knobs.redirect_to.replace("{name}", name))
        if knobs.latency_ms:
            await asyncio.sleep(knobs.latency_ms / 1000)
        if knobs.error_status is not None:
            board.count(request, name, knobs.error_status)
            return web.Response(status=knobs.error_status, text="sandbox fault")
        published = files.last_modified
        headers = {"Last-Modified": format_datetime(published, usegmt=True)}
        if _not_modified(request, published):
            board.count(request, name, 304)
            return web.Response(status=304, headers=headers)
        body = _body(files, name, knobs.missing_column)
        board.count(request, name, 200)
        return web.Response(
            body=truncated(body) if knobs.truncate else body,
            headers=headers,
            content_type=CSV_CONTENT_TYPE,
            charset="utf-8",
        )

    async def data_page(request: web.Request) -> web.Response:
        board.count(request, "data-page", 200)
        response = web.Response(text=DATA_PAGE, content_type="text/html")
        response.set_cookie(SESSION_COOKIE, board.session, path="/", httponly=True)
        return response

    async def get_knobs(request: web.Request) -> web.Response:
        del request
        return web.json_response({"knobs": board.knobs.to_json(), "hits": dict(sorted(board.hits.items()))})

    async def put_knobs(request: web.Request) -> web.Response:
        try:
            board.knobs = board.knobs.merged(await request.json())
        except (JSONDecodeError, UnicodeDecodeError, KnobError) as failure:
            return web.json_response({"error": str(failure) or "body is not JSON"}, status=400)
        return web.json_response({"knobs": board.knobs.to_json()})

    async def delete_knobs(request: web.Request) -> web.Response:
        del request
        board.reset()
        return web.json_response({"knobs": board.knobs.to_json()})

    app.router.add_get(FILES_PATH + "{name}", feed_file, name=ROUTE_PREFIX + "file")
    app.router.add_get(CURRENT_FILES_PATH + "{name}", feed_file, name=ROUTE_PREFIX + "current-file")
    app.router.add_get(DATA_PAGE_PATH, data_page, name=ROUTE_PREFIX + "data-page")
    app.router.add_get(CONTROL_PATH, get_knobs)
    app.router.add_put(CONTROL_PATH, put_knobs)
    app.router.add_delete(CONTROL_PATH, delete_knobs)
