"""Conditional downloads of whole files: HEAD, then GET with If-Modified-Since, streamed to a temporary file under
a size cap, with a sha256 of what was received as the last resort to tell an unchanged file.

Redirects are followed only on the configured host; 429, 5xx and broken connections are retried a bounded number
of times; a 403 may be answered by priming a session cookie on one data page and asking again once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

import aiohttp
from yarl import URL

from gateway.request_record import background, current_request_id

T = TypeVar("T")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
WRITE_BUFFER_BYTES = 1 << 20
REQUEST_ID_HEADER = "X-Request-Id"
BROWSER_PREFIX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def browser_user_agent(product: str, version: str, contact: str) -> str:
    """A browser-shaped User-Agent (some file servers refuse others) that still names the client and who runs it
    (`contact`: an e-mail address or URL; empty: not named)."""
    return f"{BROWSER_PREFIX} {product}/{version}" + (f" (+{contact})" if contact else "")


@dataclass(frozen=True)
class Validators:
    """What tells whether a file changed: its Last-Modified and Content-Length as the server sent them, its ETag,
    and the sha256 of the body received."""

    last_modified: str | None = None
    content_length: int | None = None
    sha256: str | None = None
    etag: str | None = None

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "last_modified": self.last_modified,
            "content_length": self.content_length,
            "sha256": self.sha256,
            "etag": self.etag,
        }

    @classmethod
    def from_json(cls, data: object) -> Validators | None:
        if not isinstance(data, dict):
            return None
        length = data.get("content_length")
        texts = {
            name: value if isinstance(value := data.get(name), str) else None
            for name in ("last_modified", "sha256", "etag")
        }
        return cls(content_length=length if isinstance(length, int) else None, **texts)


@dataclass(frozen=True)
class Fetched:
    """The file's validators, and the path of its new body, or None when the file is unchanged."""

    validators: Validators
    path: Path | None


class FileFetcher(Protocol):
    """What a mirror needs to fetch its files (the Downloader; a local stand-in in tests)."""

    async def fetch(self, url: str, destination: Path, *, known: Validators | None, max_bytes: int) -> Fetched: ...


class DownloadError(Exception):
    """A file could not be fetched; the message says why (it is shown in the mirror's status)."""


class DownloadRefused(DownloadError):
    """The server refused the gateway (403 even after cookie priming), or redirected it off the configured host."""


class _Transient(Exception):
    """A failure worth another attempt: 429, 5xx, a broken connection, a body shorter than announced."""


class _Forbidden(Exception):
    pass


@dataclass(frozen=True)
class DownloadPolicy:
    user_agent: str
    allowed_host: str  # host[:port] that requests and redirects may go to
    prime_url: str | None = None  # a data page whose cookies (and Referer) are sent after a 403; None: never prime
    retries: int = 3
    backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    max_redirects: int = 5
    connect_timeout_s: float = 15.0
    read_timeout_s: float = 60.0  # the longest silence inside one response; a whole large file may take minutes
    chunk_bytes: int = 1 << 16
    # HEAD before the conditional GET (for servers whose GET ignores validators); False: the conditional GET alone
    # (If-None-Match / If-Modified-Since answered 304 by servers that honour them, e.g. S3).
    head_first: bool = True


def open_download_session() -> aiohttp.ClientSession:
    """A session for downloads: cookies are handled by the downloader itself (primed cookies only), HTTP/1.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False)


class Downloader:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: DownloadPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._policy = policy
        self._sleep = sleep
        self._cookies: dict[str, str] = {}
        self._referer: str | None = None
        self.requests = 0

    async def fetch(self, url: str, destination: Path, *, known: Validators | None, max_bytes: int) -> Fetched:
        """The file at `url`, written to `destination` when it changed since `known` (None: never fetched).

        Unchanged when HEAD shows the known Last-Modified and Content-Length, when GET with If-Modified-Since answers
        304, or when the body received has the known sha256. Raises DownloadError. Every request it sends carries
        `X-Request-Id`: the current request's id, or outside a request (a scheduled refresh) one of its own.
        """
        with background("mirror"):
            return await self._fetch(url, destination, known=known, max_bytes=max_bytes)

    async def _fetch(self, url: str, destination: Path, *, known: Validators | None, max_bytes: int) -> Fetched:
        if self._policy.head_first and known is not None and known.last_modified and known.content_length is not None:
            try:
                headers = await self._exchange("HEAD", url, {}, _read_headers)
            except DownloadRefused:
                raise
            except DownloadError:  # no usable HEAD: GET decides
                headers = None
            if (
                headers is not None
                and headers.get("Last-Modified") == known.last_modified
                and _length(headers) == known.content_length
            ):
                return Fetched(known, None)
        conditions: dict[str, str] = {}
        if known is not None and known.last_modified:
            conditions["If-Modified-Since"] = known.last_modified
        if known is not None and known.etag:
            conditions["If-None-Match"] = known.etag

        async def read(response: aiohttp.ClientResponse) -> Fetched:
            return await self._receive(response, destination, known, max_bytes)

        return await self._exchange("GET", url, conditions, read)

    async def _receive(
        self, response: aiohttp.ClientResponse, destination: Path, known: Validators | None, max_bytes: int
    ) -> Fetched:
        if response.status == 304:
            return Fetched(known or Validators(), None)
        length = _length(response.headers)
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if length is not None and not encoded and length > max_bytes:
            raise DownloadError(f"the file has {length} bytes, more than the {max_bytes} the mirror may use")
        partial = destination.with_name(destination.name + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with partial.open("wb") as output:
                buffer = bytearray()
                async for chunk in response.content.iter_chunked(self._policy.chunk_bytes):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"the file exceeds the {max_bytes} bytes the mirror may use")
                    buffer += chunk
                    if len(buffer) >= WRITE_BUFFER_BYTES:
                        await asyncio.to_thread(_write, output, digest, bytes(buffer))
                        buffer.clear()
                await asyncio.to_thread(_write, output, digest, bytes(buffer))
            if length is not None and not encoded and size != length:
                raise _Transient(f"the body ended after {size} of {length} bytes")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        validators = Validators(
            last_modified=response.headers.get("Last-Modified"),
            content_length=length,
            sha256=digest.hexdigest(),
            etag=response.headers.get("ETag"),
        )
        if known is not None and known.sha256 == validators.sha256:
            partial.unlink(missing_ok=True)
            return Fetched(validators, None)
        os.replace(partial, destination)
        return Fetched(validators, destination)

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        handle: Callable[[aiohttp.ClientResponse], Awaitable[T]],
    ) -> T:
        attempt = 0
        primed = False
        while True:
            try:
                return await self._follow(method, url, headers, handle)
            except _Forbidden:
                if self._policy.prime_url is None or primed:
                    raise DownloadRefused(f"{method} {url} was refused (HTTP 403)") from None
                await self._prime()
                primed = True
            except _Transient as failure:
                if attempt >= self._policy.retries:
                    raise DownloadError(f"{method} {url} failed {attempt + 1} times: {failure}") from None
                backoff = self._policy.backoff_s
                await self._sleep(backoff[min(attempt, len(backoff) - 1)] if backoff else 0.0)
                attempt += 1

    async def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        handle: Callable[[aiohttp.ClientResponse], Awaitable[T]],
    ) -> T:
        current = URL(url)
        for _ in range(self._policy.max_redirects + 1):
            self._check_host(current)
            self.requests += 1
            try:
                async with self._session.request(
                    method,
                    current,
                    headers={**self._headers(), **headers},
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=self._policy.connect_timeout_s, sock_read=self._policy.read_timeout_s
                    ),
                ) as response:
                    status = response.status
                    if status in REDIRECT_STATUSES:
                        location = response.headers.get("Location")
                        if not location:
                            raise DownloadError(f"{method} {current} redirected without a Location")
                        current = current.join(URL(location))
                        continue
                    if status == 403:
                        raise _Forbidden
                    if status == 429 or status >= 500:
                        raise _Transient(f"HTTP {status}")
                    if status not in (200, 304):
                        raise DownloadError(f"{method} {current} answered HTTP {status}")
                    return await handle(response)
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as failure:
                raise _Transient(type(failure).__name__) from None
            except aiohttp.ClientError as failure:  # e.g. an unparseable status line or headers
                raise DownloadError(f"{method} {current} answered something that is not HTTP ({failure})") from None
        raise DownloadError(f"{method} {url} redirected more than {self._policy.max_redirects} times")

    def _check_host(self, url: URL) -> None:
        host = url.host or ""
        netloc = f"{host}:{url.explicit_port}" if url.explicit_port is not None else host
        if url.scheme not in ("http", "https") or netloc != self._policy.allowed_host:
            raise DownloadRefused(f"refused to follow {url} off {self._policy.allowed_host}")

    def _headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": self._policy.user_agent,
            "Accept": "text/csv,*/*;q=0.8",
            "Accept-Language": "en-CA,en;q=0.9,fr-CA;q=0.8",
        }
        request_id = current_request_id()
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        if self._cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        if self._referer:
            headers["Referer"] = self._referer
        return headers

    async def _prime(self) -> None:
        """GET the data page, keep the cookies it sets, and send them (and the page as Referer) from now on."""
        page = self._policy.prime_url
        assert page is not None

        async def keep_cookies(response: aiohttp.ClientResponse) -> None:
            if response.status != 200:
                raise DownloadRefused(f"the data page {page} answered HTTP {response.status}")
            self._cookies.update({name: morsel.value for name, morsel in response.cookies.items()})

        try:
            await self._follow("GET", page, {"Accept": "text/html,*/*;q=0.8"}, keep_cookies)
        except (_Forbidden, _Transient) as failure:
            raise DownloadRefused(f"the data page {page} could not be read ({failure or 'HTTP 403'})") from None
        self._referer = page


def _write(output: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    digest.update(data)
    output.write(data)


def _length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


async def _read_headers(response: aiohttp.ClientResponse) -> Mapping[str, str] | None:
    return response.headers if response.status == 200 else None
