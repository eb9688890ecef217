"""A fourth upstream that exists only in the tests: a tender feed declared by a spec, its client on the shared fetch
path, and a small aiohttp server imitating it. It proves that adding an upstream needs nothing but these three.

The feed answers `GET tenders?q=<words>` with `{"tenders": [{"id", "title", "buyer", "url", "closes"}], "total": n}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.errors import UpstreamBadResponse
from gateway.models import MAX_PAGE_SIZE, LocalizedText, Page, Tender, TenderQuery
from gateway.upstreams import wire
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import EmptyAnswer, UpstreamFetch
from gateway.upstreams.spec import CredentialSpec, RecordKind, UpstreamSpec

FOURTH = UpstreamSpec(
    name="fourth",
    title="Fourth tender feed (tests only)",
    description="A tender feed that exists only in the gateway's tests",
    docs_url="https://fourth.example/docs",
    licence="CC0 1.0 (test data)",
    attribution="Test tenders, made up for the gateway's tests",
    client="tests.fourth_upstream:FourthClient",
    kinds=frozenset({RecordKind.TENDER}),
    criteria={RecordKind.TENDER: frozenset({"keywords"})},
    default_ttl_s={RecordKind.TENDER: 60},
    credential=CredentialSpec(name="fourth", sent_as="header", parameter="X-Fourth-Key"),
)
TENDERS_PATH = "tenders"


def build_params(query: TenderQuery) -> dict[str, str]:
    words = " ".join(stripped for word in query.keywords if (stripped := word.strip()))
    return {"q": words} if words else {}


def parse_tenders(payload: object) -> Page[Tender]:
    rows = wire.at(payload, "tenders")
    if not isinstance(rows, list):
        raise UpstreamBadResponse(FOURTH.name, "fourth answered without a tenders list")
    tenders = tuple(tender for row in rows if (tender := parse_tender(row)) is not None)
    return Page(tenders, wire.integer(payload, "total"))


def parse_tender(row: object) -> Tender | None:
    reference = wire.text(row, "id")
    if reference is None:
        return None
    return Tender(
        reference=reference,
        solicitation_number=None,
        title=LocalizedText(wire.text(row, "title")),
        buyer=LocalizedText(wire.text(row, "buyer")),
        url=LocalizedText(wire.text(row, "url")),
        closing_date=wire.day(row, "closes"),
    )


class FourthClient:
    """TenderClient over the shared fetch path: one answer per query, paged locally."""

    def __init__(self, spec: UpstreamSpec, fetch: UpstreamFetch) -> None:
        self.spec = spec
        self._fetch = fetch

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        everything = await self._everything(query, deadline)
        start = max(offset, 0)
        return Page(everything.items[start : start + min(max(limit, 0), MAX_PAGE_SIZE)], everything.total, start)

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        del hint
        everything = await self._everything(TenderQuery(), deadline)
        return next((tender for tender in everything.items if tender.reference == key.strip()), None)

    async def _everything(self, query: TenderQuery, deadline: Deadline) -> Page[Tender]:
        return await self._fetch.get(
            TENDERS_PATH,
            build_params(query),
            kind=RecordKind.TENDER,
            parse=parse_tenders,
            empty=EmptyAnswer(Page((), 0)),
            deadline=deadline,
        )


class IncompleteClient:
    """Declares tenders but cannot look one up (and searches synchronously): the registry refuses it."""

    def __init__(self, spec: UpstreamSpec, fetch: UpstreamFetch) -> None:
        del spec, fetch

    def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        del query, limit, offset, deadline
        return Page((), 0)


TENDERS: tuple[dict[str, str], ...] = (
    {"id": "F-1", "title": "Snow removal", "buyer": "Town of Fourth", "closes": "2031-01-15"},
    {"id": "F-2", "title": "Road salt", "buyer": "Town of Fourth", "closes": "2031-02-01"},
    {"id": "F-3", "title": "Bridge inspection", "buyer": "County of Fourth", "closes": "2031-03-10"},
)


@dataclass
class FourthFeed:
    """The running imitation: its base URL, every request it saw (headers and query), and bodies to answer instead
    of its data, one per request, while any are queued."""

    base_url: str
    requests: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)
    queued: list[Any] = field(default_factory=list)


async def _tenders(request: web.Request) -> web.Response:
    feed: FourthFeed = request.app[FEED]
    feed.requests.append((dict(request.headers), dict(request.query)))
    if feed.queued:
        return web.json_response(feed.queued.pop(0))
    words = request.query.get("q", "").casefold().split()
    rows = [row for row in TENDERS if all(word in row["title"].casefold() for word in words)]
    return web.json_response({"tenders": rows, "total": len(rows)})


FEED = web.AppKey("fourth_feed", FourthFeed)


@asynccontextmanager
async def running_fourth_feed() -> AsyncIterator[FourthFeed]:
    feed = FourthFeed("")
    app = web.Application()
    app[FEED] = feed
    app.router.add_get(f"/{TENDERS_PATH}", _tenders)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feed.base_url = f"http://127.0.0.1:{port}/"
    try:
        yield feed
    finally:
        await runner.cleanup()
