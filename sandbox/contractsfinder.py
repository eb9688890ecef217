"""The Contracts Finder OCDS search imitation: `GET /Published/Notices/OCDS/Search`.

Parameters: `publishedFrom`, `publishedTo` (ISO 8601 date-times, with or without offset, naive = UTC; a bare date is
its 00:00 UTC; both inclusive; a `+` sent unencoded arrives as a space and is read back as `+`), `stages`
(comma-separated: planning, tender, award, implementation), `limit` (1..100, default 100), `cursor` (from
`links.next`). Unknown parameters are ignored. The answer is an OCDS 1.1 release package shaped like the real one
(../shared/upstream-samples/uk-ocds/): uri, version, extensions, publishedDate, publisher, license,
publicationPolicy, releases, and `links.next` (the full URL with the cursor) while more releases follow; the last
page has no `links`. The cursor is base64 of `<the other parameters as k=v>|...|nextCursor=<position>`, as the live
one. Errors (400, undocumented): `{"error": "Bad Request", "message": ...}`.

Pacing: more than `requests_per_window` requests (every request counts, bad ones too) within `window_s` seconds of
the sandbox clock answer HTTP 403 with the body `too many requests` and no Retry-After (clients wait 5 minutes).

Knobs (`GET|PUT|DELETE /_sandbox/contractsfinder`): `processes`, `seed`, `revision` (see ocds_feed),
`requests_per_window` and `window_s` (default settings.cf_pace), `force_403` (every request refused as too many),
`mojibake_share` (0..1, default 0.5: the share of releases whose text is written as mojibake, see ocds_quirks).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from yarl import URL

from sandbox import control
from sandbox import ocds_vocabulary as vocab
from sandbox.clock import SandboxClock
from sandbox.knobs import (
    Check,
    add_knob_routes,
    boolean,
    integer_at_least,
    positive_number,
    share,
)
from sandbox.ocds_data import CONTRACTS_FINDER, stamp
from sandbox.ocds_feed import DATASET_CHECKS, OcdsBoard
from sandbox.ocds_paging import Position, Window, page, stages_of
from sandbox.ocds_quirks import chosen, json_list, json_text, release_text
from sandbox.settings import SandboxSettings

SEARCH_PATH = "/Published/Notices/OCDS/Search"
CONTROL_PATH = "/_sandbox/contractsfinder"
STAGES = ("planning", "tender", "award", "implementation")
DEFAULT_LIMIT = 100
MAX_LIMIT = 100
TOO_MANY = "too many requests"
_POSITION_BASE = 10_000_000  # nextCursor = seconds * base + serial


@dataclass(frozen=True)
class ContractsFinderKnobs:
    processes: int | None = None
    seed: int | None = None
    revision: int = 0
    requests_per_window: int = 600
    window_s: float = 60.0
    force_403: bool = False
    mojibake_share: float = 0.5


CHECKS: dict[str, Check] = DATASET_CHECKS | {
    "requests_per_window": integer_at_least(1),
    "window_s": positive_number,
    "force_403": boolean,
    "mojibake_share": share,
}


class ContractsFinderBoard(OcdsBoard[ContractsFinderKnobs]):
    def __init__(self, settings: SandboxSettings, clock: SandboxClock) -> None:
        super().__init__(CONTRACTS_FINDER, settings, clock, checks=CHECKS, defaults=_defaults)


def _defaults(settings: SandboxSettings) -> ContractsFinderKnobs:
    requests, window_s = settings.cf_pace
    return ContractsFinderKnobs(requests_per_window=requests, window_s=window_s)


BOARD = web.AppKey("contractsfinder_board", ContractsFinderBoard)


class BadRequest(Exception):
    pass


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    board = ContractsFinderBoard(settings, app[control.CLOCK])
    app[BOARD] = board
    app[control.RESET_HOOKS].append(board.reset)
    app.router.add_get(SEARCH_PATH, search, name="contractsfinder.search")
    add_knob_routes(app, CONTROL_PATH, board)


def moment_of(raw: str) -> datetime:
    text = raw.strip().replace(" ", "+")
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"'{raw}' is not a valid date and time") from exc


def encode_cursor(parameters: list[tuple[str, str]], after: Position) -> str:
    text = "|".join([*(f"{k}={v}" for k, v in parameters), f"nextCursor={after[0] * _POSITION_BASE + after[1]}"])
    return base64.b64encode(text.encode()).decode()


def decode_cursor(token: str) -> Position:
    try:
        text = base64.b64decode(token.strip().replace(" ", "+"), validate=True).decode()
        fields = dict(part.split("=", 1) for part in text.split("|") if "=" in part)
        seconds, serial = divmod(int(fields["nextCursor"]), _POSITION_BASE)
    except (binascii.Error, UnicodeDecodeError, KeyError, ValueError) as exc:
        raise BadRequest("the cursor is not valid") from exc
    return (seconds, serial)


def _limit(raw: str) -> int:
    if not raw.strip():
        return DEFAULT_LIMIT
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


async def search(request: web.Request) -> web.Response:
    board = request.app[BOARD]
    knobs = board.knobs
    if knobs.force_403 or board.pace.admit(knobs.requests_per_window, knobs.window_s) is not None:
        return web.Response(status=403, text=TOO_MANY, content_type="text/plain")
    query = request.query
    try:
        window = Window(
            start=moment_of(query["publishedFrom"]) if query.get("publishedFrom", "").strip() else None,
            end=moment_of(query["publishedTo"]) if query.get("publishedTo", "").strip() else None,
            stages=_stages(query.get("stages", "")),
        )
        limit = _limit(query.get("limit", ""))
        after = decode_cursor(query["cursor"]) if query.get("cursor", "").strip() else None
    except BadRequest as error:
        return web.json_response({"error": "Bad Request", "message": str(error)}, status=400)
    releases, more = page(board.feed.dataset(), window, after, limit)
    envelope: dict[str, Any] = {
        "uri": str(request.url),
        "version": "1.1",
        "extensions": list(vocab.CF_EXTENSIONS),
        "publishedDate": stamp(board.clock.now().replace(microsecond=0), bst=False),
        "publisher": dict(vocab.PUBLISHER),
        "license": vocab.LICENSE,
        "publicationPolicy": vocab.PUBLICATION_POLICY,
        "releases": None,
    }
    if more:
        parameters = [(k, v) for k, v in query.items() if k != "cursor"]
        token = encode_cursor(parameters, releases[-1].key)
        next_url = URL(str(request.url.origin()) + SEARCH_PATH).with_query([*parameters, ("cursor", token)])
        envelope["links"] = {"next": str(next_url)}
    items = [
        release_text(release.document, mojibake=chosen(release.release_id, knobs.mojibake_share, "mojibake"))
        for release in releases
    ]
    body = json_text(envelope, {"releases": json_list(items)}).encode("utf-8")
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def _stages(text: str) -> frozenset[str] | None:
    try:
        return stages_of(text, STAGES)
    except ValueError as error:
        raise BadRequest(f"'{error}' is not a stage; stages are {', '.join(STAGES)}") from error
