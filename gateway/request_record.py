"""What one request did, kept in one record that the access log and the metrics both read (so the two never
disagree), and its id, which every upstream call made for it carries (`X-Request-Id`).

The edge opens a record per HTTP request (`gateway.edge.request_id`) and makes it current (a context variable, so the
tasks a request starts see it too); the access middleware names the caller, the endpoint the operation, its cost
decision, the response cache's answer and the error codes, and the upstream transport and the cache add one
`UpstreamCall` per call they answer. Work outside any request (a scheduled mirror refresh) runs under a record of its
own (`background`), so its calls carry an id as well. Stdlib only: every layer may write to it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, Literal, get_args

UpstreamOutcome = Literal[
    "ok",  # the upstream answered 2xx
    "timeout",  # no answer within the call's time (or the request's deadline had passed)
    "4xx",  # it refused the request (a 4xx other than 429)
    "5xx",  # it failed (a 5xx)
    "connection_error",  # the connection failed or broke
    "bad_response",  # its answer was not usable (not HTTP, not JSON, too large, too deep)
    "quota",  # over the gateway's daily quota of its key, or the upstream said 429
    "breaker_open",  # not asked: its circuit breaker is open
    "cache_hit",  # not asked: the cache answered fresh
    "cache_stale",  # the cache answered stale after the upstream failed (stale-if-error)
    "error",  # anything else (e.g. the quota counter unreachable)
]
UPSTREAM_OUTCOMES: Final[tuple[UpstreamOutcome, ...]] = get_args(UpstreamOutcome)
ResponseCacheOutcome = Literal["hit", "miss", "bypass"]


class UpstreamCall:
    """One upstream call made for a request (or an answer the cache gave instead); `sent`: an HTTP request went out."""

    __slots__ = ("duration_s", "outcome", "sent", "upstream")

    def __init__(self, upstream: str, outcome: UpstreamOutcome, duration_s: float, sent: bool) -> None:
        self.upstream = upstream
        self.outcome = outcome
        self.duration_s = duration_s
        self.sent = sent

    def __repr__(self) -> str:
        return f"UpstreamCall({self.upstream!r}, {self.outcome!r}, {self.duration_s:.3f}, sent={self.sent})"


class RequestRecord:
    """One request: filled while it is served, read once when its answer has gone out."""

    __slots__ = (
        "cost",
        "cost_refused",
        "duration_s",
        "error_codes",
        "key_id",
        "method",
        "operation",
        "path",
        "request_id",
        "response_cache",
        "started",
        "status",
        "tier",
        "trusted",
        "upstream_calls",
    )

    def __init__(self, request_id: str, method: str = "", path: str = "") -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.started = time.perf_counter()
        self.duration_s = 0.0
        self.status = 0  # the HTTP status sent; 0 until the answer starts
        self.key_id: str | None = None  # the stored key's public id; None for anonymous or unknown callers
        self.tier: str | None = None  # the caller's tier, once known
        self.operation: str | None = None  # the operation's name as the request gave it (not sanitised)
        self.trusted = False  # the document is one of the operator's persisted (trusted) documents
        self.cost: int | None = None  # cost points charged to the caller
        self.cost_refused = False  # the caller's hourly cost budget refused the charge
        self.response_cache: ResponseCacheOutcome | None = None
        self.error_codes: tuple[str, ...] = ()  # `extensions.code` of each error of the answer, in order
        self.upstream_calls: list[UpstreamCall] = []

    def caller(self, key_id: str | None, tier: str) -> None:
        self.key_id = key_id
        self.tier = tier

    def errors(self, errors: Sequence[Mapping[str, Any]] | None) -> None:
        """Keeps the codes of an answer's GraphQL errors."""
        if not errors:
            self.error_codes = ()
            return
        codes = []
        for error in errors:
            extensions = error.get("extensions")
            code = extensions.get("code") if isinstance(extensions, Mapping) else None
            codes.append(code if isinstance(code, str) else "UNKNOWN")
        self.error_codes = tuple(codes)

    def refused(self, code: str) -> None:
        """The edge refused the request with `code` (one error, no data)."""
        self.error_codes = (code,)

    @property
    def first_code(self) -> str | None:
        return self.error_codes[0] if self.error_codes else None

    def upstream_calls_sent(self) -> int:
        return sum(1 for call in self.upstream_calls if call.sent)

    def finish(self) -> None:
        self.duration_s = time.perf_counter() - self.started


_current: ContextVar[RequestRecord | None] = ContextVar("gateway_request_record", default=None)


def current_record() -> RequestRecord | None:
    return _current.get()


def current_request_id() -> str | None:
    record = _current.get()
    return None if record is None else record.request_id


def new_request_id() -> str:
    return uuid.uuid4().hex


def record_upstream_call(upstream: str, outcome: UpstreamOutcome, duration_s: float = 0.0, *, sent: bool) -> None:
    """Adds a call to the current request's record (nothing outside a request)."""
    record = _current.get()
    if record is not None:
        record.upstream_calls.append(UpstreamCall(upstream, outcome, duration_s, sent))


@contextmanager
def recording(record: RequestRecord) -> Iterator[RequestRecord]:
    """Makes `record` current within this context (and the tasks started in it)."""
    token = _current.set(record)
    try:
        yield record
    finally:
        _current.reset(token)


@contextmanager
def background(label: str) -> Iterator[RequestRecord]:
    """The current record, or, outside any request, a record of its own with a fresh id (`<label>-<hex>`)."""
    record = _current.get()
    if record is not None:
        yield record
        return
    with recording(RequestRecord(f"{label}-{new_request_id()}")) as own:
        yield own
