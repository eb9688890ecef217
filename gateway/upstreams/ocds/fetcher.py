"""The paging client: the release packages of one update window, page after page through `links.next`.

One request at a time, at the publisher's pace (`pacing.Pacer`). `links.next` is followed only when it points at the
configured host (and was not visited in this window); anything else ends the window with an error. "Too many
requests" (the publisher's `throttled_statuses`) waits its `Retry-After` or the publisher's wait, then asks the same
URL again; 5xx answers and broken connections are retried a bounded number of times. Any page that is no release
package ends the window: the caller keeps nothing of it. A window is held in memory until it is written, so its
pages and bytes are bounded too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from gateway.request_record import background
from gateway.upstreams.mirror.download import REQUEST_ID_HEADER
from gateway.upstreams.mirror.opening import host_of
from gateway.upstreams.ocds.compiler import Release
from gateway.upstreams.ocds.pacing import Pacer, retry_after_s
from gateway.upstreams.ocds.package import PackageRejected, ReleasePackage, read_package
from gateway.upstreams.ocds.publisher import Publisher

_log = logging.getLogger(__name__)

MAX_PAGES_PER_WINDOW = 10_000
MAX_WINDOW_BYTES = 128 * 1024**2  # a window is held in memory until written: a longer one needs a shorter window
CHUNK_BYTES = 1 << 16


class FetchError(Exception):
    """A window could not be read whole; the message says why (it is shown in the mirror's status)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """One GET (no redirect followed), its body read up to `max_bytes` (FetchError beyond)."""

    async def get(self, url: str, *, max_bytes: int) -> Answer: ...


class HttpTransport:
    def __init__(self, session: aiohttp.ClientSession, *, user_agent: str, timeout_s: float = 60.0) -> None:
        self._session = session
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def get(self, url: str, *, max_bytes: int) -> Answer:
        # The publisher's logs can be matched with ours: a scheduled pull sends an id of its own (`ocds-<hex>`).
        with background("ocds") as record:
            headers = {**self._headers, REQUEST_ID_HEADER: record.request_id}
        async with self._session.get(
            URL(url, encoded=True), headers=headers, allow_redirects=False, timeout=self._timeout
        ) as response:
            body = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"a page was larger than {max_bytes} bytes")
            return Answer(response.status, CIMultiDict(response.headers), bytes(body))


@dataclass
class WindowPull:
    """What one window gave: its releases in the order received, the pages read, the releases dropped as unusable."""

    releases: list[Release] = field(default_factory=list)
    pages: int = 0
    bytes: int = 0
    dropped: int = 0
    throttled: int = 0


class PackageFetcher:
    def __init__(
        self,
        publisher: Publisher,
        base_url: str,
        transport: Transport,
        pacer: Pacer,
        *,
        max_page_bytes: int,
        retries: int = 2,
        retry_wait_s: float = 5.0,
        max_window_bytes: int = MAX_WINDOW_BYTES,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.publisher = publisher
        self._base = URL(base_url if base_url.endswith("/") else base_url + "/")
        self._host = host_of(str(self._base))
        self._transport = transport
        self.pacer = pacer
        self._max_page_bytes = max_page_bytes
        self._retries = retries
        self._retry_wait_s = retry_wait_s
        self._max_window_bytes = max_window_bytes
        self._now = now
        self.throttled = 0  # "too many requests" answers received, in all

    def first_url(self, start: datetime, end: datetime) -> str:
        search = self._base.join(URL(self.publisher.search_path))
        return str(search.with_query(self.publisher.window_parameters(start, end)))

    async def window(self, start: datetime, end: datetime) -> WindowPull:
        """Every release of the window [start, end]; FetchError when any page cannot be read."""
        pulled = WindowPull()
        url: str | None = self.first_url(start, end)
        visited: set[str] = set()
        while url is not None:
            if len(visited) >= MAX_PAGES_PER_WINDOW:
                raise FetchError(f"more than {MAX_PAGES_PER_WINDOW} pages in one window")
            visited.add(url)
            package = await self._page(url, pulled)
            pulled.pages += 1
            pulled.dropped += package.dropped
            pulled.releases.extend(package.releases)
            if package.next_url is None or not package.releases:
                break
            url = self._next(package.next_url, visited)
        return pulled

    def _next(self, link: str, visited: set[str]) -> str:
        try:
            parsed = URL(link, encoded=True)
        except ValueError:
            raise FetchError("links.next is not a URL") from None
        if parsed.scheme not in ("http", "https") or host_of(str(parsed)) != self._host:
            raise FetchError(f"links.next points off the configured host {self._host} (to {parsed.host!r})")
        if str(parsed) in visited:
            raise FetchError("links.next points back at a page of this window")
        return str(parsed)

    async def _page(self, url: str, pulled: WindowPull) -> ReleasePackage:
        throttled = failures = 0
        while True:
            answer, problem = await self._get(url)
            if answer is not None and answer.status == 200:
                pulled.bytes += len(answer.body)
                if pulled.bytes > self._max_window_bytes:
                    raise FetchError(f"a window of more than {self._max_window_bytes} bytes: shorten the window")
                try:
                    return read_package(answer.body, max_bytes=self._max_page_bytes, mojibake=self.publisher.mojibake)
                except PackageRejected as rejected:
                    raise FetchError(f"a page was refused: {rejected}") from None
            if answer is not None and answer.status in self.publisher.throttled_statuses:
                throttled += 1
                pulled.throttled += 1
                self.throttled += 1
                await self._hold_off(answer, throttled)
                continue
            if answer is not None and answer.status < 500:
                raise FetchError(problem)
            failures += 1
            if failures > self._retries:
                raise FetchError(f"{problem} ({failures} attempts)")
            await self.pacer.hold_off(self._retry_wait_s * failures)

    async def _get(self, url: str) -> tuple[Answer | None, str]:
        """The answer (None when the request failed) and what to say of it when it is not a page."""
        async with self.pacer.turn():
            try:
                answer = await self._transport.get(url, max_bytes=self._max_page_bytes)
            except (aiohttp.ClientError, TimeoutError, OSError) as failure:
                return None, f"the request to {self.publisher.name} failed ({type(failure).__name__})"
        return answer, f"{self.publisher.name} answered HTTP {answer.status}"

    async def _hold_off(self, answer: Answer, throttled: int) -> None:
        pacing = self.pacer.pacing
        if throttled > pacing.max_throttled:
            raise FetchError(f"{self.publisher.name} said 'too many requests' {throttled} times in a row")
        asked = retry_after_s(answer.headers, self._now())
        wait = pacing.throttled_wait_s if asked is None else asked
        if wait > pacing.max_wait_s:
            raise FetchError(f"{self.publisher.name} asked to wait {wait:.0f} s (more than {pacing.max_wait_s:.0f} s)")
        _log.warning("%s: too many requests (HTTP %d): waiting %.1f s", self.publisher.name, answer.status, wait)
        await self.pacer.hold_off(wait)
