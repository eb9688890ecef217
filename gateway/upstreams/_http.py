"""The one place that talks HTTP to upstreams: deadlines, one jittered retry, a breaker, and error mapping.

Credentials are added here (query parameter or header) and nowhere else, so callers build cache keys and error
messages from public parameters only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import aiohttp

from gateway.cache.codec import JSON_NULL_BODY
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamQuotaExceeded,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.settings import Settings
from gateway.upstreams.breaker import BreakerState, CircuitBreaker
from gateway.upstreams.deadline import Deadline

if TYPE_CHECKING:
    from gateway.limits.quota import QuotaGuard


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
    )


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
        paused = self.pause_remaining_s()
        if paused is not None:
            raise UpstreamQuotaExceeded(self.upstream, f"{self.upstream} asked the gateway to wait", paused)
        attempts = 1 + max(0, self._settings.upstream_retries)
        for attempt in range(attempts):
            if deadline.remaining_s() <= 0:  # not the upstream's fault: the breaker is not told
                raise UpstreamTimeout(self.upstream, f"{self.upstream} was not asked: the request deadline had passed")
            self.breaker.before_call()
            try:
                body = await self._attempt(path, params, deadline)
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

    async def _attempt(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        budget_s = min(self._settings.upstream_timeout_s, deadline.remaining_s())
        if budget_s <= 0:
            raise UpstreamTimeout(self.upstream, f"{self.upstream} was not asked: the request deadline had passed")
        query = {**params, **(self._credentials.query or {})}
        quota = self._credentials.name
        if self._quota_guard is not None and quota is not None:  # one of the key's daily calls, on every replica
            await self._quota_guard.acquire(quota, upstream=self.upstream)
        self.calls += 1
        try:
            async with asyncio.timeout(budget_s):
                async with self._session.get(
                    self._base_url + path, params=query, headers=self._credentials.headers
                ) as response:
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
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamBadResponse(self.upstream, f"{self.upstream} answered a body that is not JSON") from None

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
