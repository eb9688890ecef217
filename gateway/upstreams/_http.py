"""The one place that talks HTTP to upstreams: deadlines, one jittered retry, a breaker, and error mapping.

Credentials are added here (query parameter or header) and nowhere else, so callers build cache keys and error
messages from public parameters only.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import aiohttp

from gateway import tracing
from gateway.cache.codec import JSON_NULL_BODY, Received, receive
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamQuotaExceeded,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.request_record import UpstreamOutcome, current_request_id, record_upstream_call
from gateway.settings import Settings
from gateway.upstreams.breaker import BreakerState, CircuitBreaker
from gateway.upstreams.deadline import Deadline

if TYPE_CHECKING:
    from gateway.limits.quota import QuotaGuard


# How deep the arrays and objects of an upstream body may nest. The upstreams' own bodies nest at most 7 levels (SAM:
# awardSummary[].awardDetails.awardeeData.awardeeLocation.state.code); a deeper body is refused before it is decoded,
# since the decoder and every reader of the decoded value (the parsers, the cache codec) recurse once per level and
# Python's stack ends near 1,000 levels: a body nested 100,000 deep raised RecursionError.
MAX_JSON_DEPTH = 64
REQUEST_ID_HEADER = "X-Request-Id"
# The size limit is `Settings.max_upstream_body_bytes` (20 MB; the largest page the gateway asks for, 100 SAM records
# with every section, is about 1.1 MB): a body is read no further than it and refused when longer.
_NOT_QUOTE_OR_BRACKET = bytes(byte for byte in range(256) if byte not in b'"[]{}')
# ... and backslashes and the `u` of `\u00e9`: a string ending in an escaped letter then shows no backslash-quote.
_NOT_QUOTE_BRACKET_OR_ESCAPE = bytes(byte for byte in range(256) if byte not in b'"[]{}\\u')
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_STRING = re.compile(rb'"[^"]*"')


def nests_deeper_than(raw: bytes, levels: int) -> bool:
    """Whether the arrays and objects of a UTF-8 JSON text nest more than `levels` deep, without recursion and in a
    few passes of C over the bytes (for the upstreams' pages, less time than decoding them). Exact for valid JSON;
    what is not JSON is the decoder's to refuse."""
    # Quotes and brackets only. Escaped backslashes (`\\`) and escaped quotes (`\"`) go first; other escapes
    # (\n, \u00e9) hold no quote and go with the letters. Deleting bytes only brings others together: when the
    # quotes, brackets and backslashes of a text show neither `\\` nor `\"`, it holds no escaped quote.
    if b"\\" not in raw:
        text = raw.translate(None, _NOT_QUOTE_OR_BRACKET)
    elif b'\\"' in (kept := raw.translate(None, _NOT_QUOTE_BRACKET_OR_ESCAPE)) or b"\\\\" in kept:
        text = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_QUOTE_OR_BRACKET)
    else:
        text = kept.translate(None, b"\\u")
    # Then every two adjacent quotes go: an empty string, or the outside between two strings, which holds no bracket.
    # Either way every quote left keeps its part (opening or closing a string).
    text = text.replace(b'""', b"")
    if b'"' in text:  # the strings left hold brackets
        text = _STRING.sub(b"", text)
    pairs = text.translate(_AS_PARENTHESES)
    for _ in range(levels):  # each round takes away the innermost pairs, one level of nesting
        inner_gone = pairs.replace(b"()", b"")
        if len(inner_gone) == len(pairs):
            break
        pairs = inner_gone
    return b"()" in pairs


def receive_json(upstream: str, raw: bytes) -> Received:
    """A body decoded (once, orjson), with its bytes; UpstreamBadResponse for one that is not JSON or nests deeper
    than MAX_JSON_DEPTH."""
    openings = raw.count(b"[") + raw.count(b"{")  # a text cannot nest deeper than it opens: most need no count
    if openings > MAX_JSON_DEPTH and nests_deeper_than(raw, MAX_JSON_DEPTH):
        raise UpstreamBadResponse(upstream, f"{upstream} answered JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return receive(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: a stack already deep when decoding
        raise UpstreamBadResponse(upstream, f"{upstream} answered a body that is not JSON") from None


def decode_json(upstream: str, raw: bytes) -> object:
    """The JSON value of a body (see `receive_json`)."""
    return receive_json(upstream, raw).value


@dataclass(frozen=True)
class Credentials:
    """What the transport adds to every call: the key as query parameters or headers (never in a cache key or an
    error), and the name of the credential whose daily quota each call spends (None: calls are not counted)."""

    query: Mapping[str, str] | None = field(default=None, repr=False)
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    name: str | None = None


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """One pooled session per upstream for the app's life; per-call timeouts come from the deadline."""
    connector = aiohttp.TCPConnector(limit=settings.upstream_pool_size, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_s, sock_connect=settings.upstream_connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        raise_for_status=False,
        headers={"User-Agent": "procurement-gateway/0.1", "Accept": "application/json"},
        # A cookie an upstream sets is never sent back: the session serves every caller (and no cookie work per call).
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _outcome(failure: BaseException) -> UpstreamOutcome:
    """How an attempt that raised `failure` ended, for the request's record."""
    if isinstance(failure, _Retryable):
        return "5xx" if "status" in failure.error.extensions else "connection_error"
    if isinstance(failure, UpstreamTimeout | asyncio.CancelledError):  # cancelled: the request's time ran out
        return "timeout"
    if isinstance(failure, UpstreamBadResponse):
        return "bad_response"
    if isinstance(failure, UpstreamQuotaExceeded):
        return "quota"
    if isinstance(failure, UpstreamRejected):
        return "4xx"
    return "error"


class _Retryable(Exception):
    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.message)
        self.error = error


class UpstreamHttp:
    def __init__(
        self,
        upstream: str,
        base_url: str,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        credentials: Credentials | None = None,
        breaker: CircuitBreaker | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        quota_guard: QuotaGuard | None = None,
    ) -> None:
        self.upstream = upstream
        self._base_url = base_url
        self._session = session
        self._settings = settings
        self._credentials = credentials or Credentials()
        self.breaker = breaker or CircuitBreaker(
            upstream, failure_threshold=settings.breaker_failure_threshold, reset_after_s=settings.breaker_reset_s
        )
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._quota_guard = quota_guard
        self._paused_until: float | None = None
        self.calls = 0

    def pause_remaining_s(self) -> int | None:
        if self._paused_until is None:
            return None
        left = self._paused_until - time.monotonic()
        return max(1, round(left)) if left > 0 else None

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        """GET base_url + path; the decoded JSON body, or JSON_NULL_BODY for 204. Raises an UpstreamError."""
        body = await self.get_received(path, params, deadline)
        return body.value if isinstance(body, Received) else body

    async def get_received(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        """As `get_json`, the body as `Received` (decoded, with the bytes the cache stores as they came)."""
        paused = self.pause_remaining_s()
        if paused is not None:
            record_upstream_call(self.upstream, "quota", sent=False)
            raise UpstreamQuotaExceeded(self.upstream, f"{self.upstream} asked the gateway to wait", paused)
        attempts = 1 + max(0, self._settings.upstream_retries)
        for attempt in range(attempts):
            if deadline.remaining_s() <= 0:  # not the upstream's fault: the breaker is not told
                record_upstream_call(self.upstream, "timeout", sent=False)
                raise UpstreamTimeout(self.upstream, f"{self.upstream} was not asked: the request deadline had passed")
            try:
                self.breaker.before_call()
            except UpstreamCircuitOpen:
                record_upstream_call(self.upstream, "breaker_open", sent=False)
                raise
            try:
                body = await self._recorded_attempt(path, params, deadline)
            except _Retryable as retryable:
                self.breaker.record_failure()
                backoff = self._rng.uniform(self._settings.retry_backoff_min_s, self._settings.retry_backoff_max_s)
                last = attempt + 1 >= attempts
                if last or self.breaker.state is not BreakerState.CLOSED or deadline.remaining_s() <= backoff + 0.05:
                    raise retryable.error from None
                await self._sleep(backoff)
                continue
            except UpstreamTimeout:
                self.breaker.record_failure()
                raise
            except UpstreamBadResponse:
                self.breaker.record_failure()
                raise
            except BaseException:  # 4xx, 429, cancellation: no verdict on the upstream's health
                self.breaker.release_probe()
                raise
            self.breaker.record_success()
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    async def _recorded_attempt(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        """One attempt, added to the current request's record: its outcome, duration, and whether a request went
        out (the quota guard may refuse it first)."""
        started, calls_before = time.perf_counter(), self.calls
        try:
            with tracing.upstream_span(self.upstream, self._base_url + path):  # a client span when tracing is on
                body = await self._attempt(path, params, deadline)
        except BaseException as failure:
            duration_s = time.perf_counter() - started
            record_upstream_call(self.upstream, _outcome(failure), duration_s, sent=self.calls > calls_before)
            raise
        record_upstream_call(self.upstream, "ok", time.perf_counter() - started, sent=True)
        return body

    async def _attempt(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        budget_s = min(self._settings.upstream_timeout_s, deadline.remaining_s())
        if budget_s <= 0:
            raise UpstreamTimeout(self.upstream, f"{self.upstream} was not asked: the request deadline had passed")
        query = {**params, **(self._credentials.query or {})}
        headers = self._credentials.headers
        request_id = current_request_id()  # the upstream's logs can be matched with the gateway's access line
        if request_id is not None:
            headers = {**headers, REQUEST_ID_HEADER: request_id} if headers else {REQUEST_ID_HEADER: request_id}
        if tracing.active():  # the trace goes on at the upstream (traceparent)
            headers = tracing.with_context(headers)
        quota = self._credentials.name
        if self._quota_guard is not None and quota is not None:  # one of the key's daily calls, on every replica
            await self._quota_guard.acquire(quota, upstream=self.upstream)
        self.calls += 1
        try:
            async with asyncio.timeout(budget_s):
                async with self._session.get(self._base_url + path, params=query, headers=headers) as response:
                    raw = await self._read_body(response)
                    return self._decode(response, raw)
        except UpstreamQuotaExceeded as exceeded:
            await self._pause_everywhere(exceeded.retry_after_s)
            raise
        except TimeoutError:
            raise UpstreamTimeout(
                self.upstream,
                f"{self.upstream} did not answer within {budget_s:.1f} s",
                timeoutSeconds=round(budget_s, 3),
            ) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable(
                UpstreamUnavailable(self.upstream, f"{self.upstream} connection failed ({type(exc).__name__})")
            ) from None
        except aiohttp.ClientError as exc:  # e.g. an unparseable status line or headers
            raise UpstreamBadResponse(
                self.upstream, f"{self.upstream} answered something that is not HTTP ({type(exc).__name__})"
            ) from None

    async def _pause_everywhere(self, retry_after_s: int | None) -> None:
        """The upstream said 429 with Retry-After: every replica (and every upstream) using the key waits as long."""
        quota = self._credentials.name
        if self._quota_guard is None or quota is None or not retry_after_s:
            return
        with contextlib.suppress(UpstreamUnavailable):  # the counter is down: this process still pauses (_decode)
            await self._quota_guard.pause(quota, retry_after_s, upstream=self.upstream)

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, up to one byte more than the gateway reads (StreamReader.read(n) returns what is buffered)."""
        limit = self._settings.max_upstream_body_bytes + 1
        body = bytearray()
        while len(body) < limit:
            chunk = await response.content.read(limit - len(body))
            if not chunk:
                break
            body += chunk
        return bytes(body)

    def _decode(self, response: aiohttp.ClientResponse, raw: bytes) -> object:
        status = response.status
        tracing.set_attribute("http.response.status_code", status)
        if status == 204:
            return JSON_NULL_BODY
        if status == 429:
            retry_after = self._retry_after_s(response.headers.get("Retry-After"))
            if retry_after is not None:
                self._paused_until = time.monotonic() + retry_after
            raise UpstreamQuotaExceeded(self.upstream, f"{self.upstream} quota exceeded", retry_after)
        if status >= 500:
            raise _Retryable(
                UpstreamUnavailable(self.upstream, f"{self.upstream} answered HTTP {status}", status=status)
            )
        if status >= 400:
            raise UpstreamRejected(self.upstream, f"{self.upstream} refused the request (HTTP {status})", status=status)
        if len(raw) > self._settings.max_upstream_body_bytes:
            raise UpstreamBadResponse(self.upstream, f"{self.upstream} answered more than the gateway reads")
        return receive_json(self.upstream, raw)

    def _retry_after_s(self, header: str | None) -> int | None:
        if not header:
            return None
        header = header.strip()
        if header.isdigit():
            return min(int(header), 86_400)
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0, min(86_400, round((moment - self._wall_clock()).total_seconds())))
