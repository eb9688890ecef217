"""The one fetch path every upstream client uses.

    cache key (upstream, path, sorted public parameters; the transport adds credentials later, so no secret reaches
    a key) -> single flight -> cache (fresh entry, else HTTP) -> the parser accepts the body -> the cache stores it
    -> the parsed value

A body the parser rejects (UpstreamBadResponse, or any exception from `parse`) is never stored. What varies between
upstreams and calls are parameters, not code in the clients: the record kind (its TTL comes from the upstream's
settings), the parser, what an answer without data means (`EmptyAnswer`), and whether a stale entry may answer when
the upstream fails (stale-if-error, within `Settings.cache_stale_for_s`).

A cache hit on the entry read last time for the same key and parser reuses the value parsed then (`ParsedAnswers`):
parsing a 100-record page costs milliseconds, the models are frozen, so sharing them is safe. Pass parsers that are
module-level functions: a parser made per call (a lambda, a partial) is correct but shares neither flights nor parses.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast, runtime_checkable

from gateway.cache.codec import JSON_NULL_BODY, EntryId, Received
from gateway.cache.flight import SingleFlight
from gateway.cache.store import Cached, CacheStatus, ResponseCache, cache_key
from gateway.errors import UpstreamBadResponse, UpstreamRejected, UpstreamTimeout
from gateway.request_record import UpstreamOutcome, record_upstream_call
from gateway.settings import Settings
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.spec import RecordKind, UpstreamSpec

T = TypeVar("T")
Parse = Callable[[object], T]

NO_CONTENT = 204
_ANSWERED_INSTEAD: dict[CacheStatus, UpstreamOutcome] = {CacheStatus.HIT: "cache_hit", CacheStatus.STALE: "cache_stale"}
PARSED_ANSWERS_KEPT = 32  # per record kind: entries whose parsed value (~130-200 KiB at 100 records) stays in process


class JsonGetter(Protocol):
    """What the fetch path needs of the transport (UpstreamHttp; a fake in unit tests)."""

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object: ...


@runtime_checkable
class ReceivingGetter(JsonGetter, Protocol):
    """A transport that also hands over the bytes of each body (`Received`), which the cache stores as they came."""

    async def get_received(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object: ...


@dataclass(frozen=True)
class EmptyAnswer(Generic[T]):
    """What an answer without data means: `value`, for HTTP 204 when `statuses` holds it, and for the refusals
    (4xx) it lists, e.g. SAM's 404 "No Data found". Such an answer is cached like any other (as "no body")."""

    value: T
    statuses: frozenset[int] = frozenset({NO_CONTENT})


@dataclass(frozen=True)
class _Call(Generic[T]):
    key: str
    path: str
    params: Mapping[str, str]
    kind: RecordKind
    parse: Parse[T]
    empty_statuses: frozenset[int]
    stale_for_s: int


class _NoData:
    """A stored answer without data; each caller reads it as its own `EmptyAnswer.value`."""


_NO_DATA = _NoData()


class ParsedAnswers:
    """Per cache key, the value parsed from the last entry read (and by which parser), for the `max_entries` most
    recently used keys. The cache's `entry_id` changes whenever an entry is written again, so a refreshed entry is
    parsed anew; an answer without one (a miss, no cache) is parsed and not kept."""

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[str, tuple[EntryId, Callable[[object], object], object]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def value(self, key: str, cached: Cached, parse: Parse[T]) -> T:
        if cached.entry_id is None:
            return parse(cached.value)
        kept = self._values.get(key)
        if kept is not None and kept[0] == cached.entry_id and kept[1] is parse:
            self._values.move_to_end(key)
            return cast(T, kept[2])
        parsed = parse(cached.value)
        self._values[key] = (cached.entry_id, parse, parsed)
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
        return parsed


class UpstreamFetch:
    """The fetch path of one upstream: its transport, the shared cache, its TTLs per record kind."""

    def __init__(
        self,
        spec: UpstreamSpec,
        http: JsonGetter,
        cache: ResponseCache,
        *,
        ttl_s: Mapping[RecordKind, int],
        stale_for_s: int,
        parsed_answers_kept: int = PARSED_ANSWERS_KEPT,
    ) -> None:
        missing = spec.kinds - set(ttl_s)
        if missing:
            raise ValueError(f"upstream {spec.name}: no TTL for {', '.join(sorted(k.value for k in missing))}")
        self.spec = spec
        self._http = http
        self._get = http.get_received if isinstance(http, ReceivingGetter) else http.get_json
        self._cache = cache
        self._ttl_s = dict(ttl_s)
        self._stale_for_s = stale_for_s
        self._parsed = {kind: ParsedAnswers(max_entries=parsed_answers_kept) for kind in spec.kinds}
        self._flights: SingleFlight[object] = SingleFlight()

    @classmethod
    def from_settings(
        cls, spec: UpstreamSpec, http: JsonGetter, cache: ResponseCache, settings: Settings
    ) -> UpstreamFetch:
        return cls(spec, http, cache, ttl_s=settings.upstream(spec.name).ttl_s, stale_for_s=settings.cache_stale_for_s)

    @property
    def upstream(self) -> str:
        return self.spec.name

    def parsed_answers(self, kind: RecordKind) -> ParsedAnswers:
        return self._parsed[kind]

    async def get(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        kind: RecordKind,
        parse: Parse[T],
        deadline: Deadline,
        empty: EmptyAnswer[T] | None = None,
        stale_if_error: bool = True,
    ) -> T:
        """GET `path` with `params` (public ones only) and the value `parse` reads from the body.

        Concurrent calls for one key and parser share one flight (its first caller's deadline and terms); each
        caller waits for it (and for another replica's fetch of the key) only until its own deadline, then
        UpstreamTimeout. Raises an UpstreamError when the upstream fails and no stale entry may answer, or when the
        body is rejected; an answer without data is `empty.value` (without `empty`, a 204 is a bad response).
        """
        if kind not in self._parsed:
            raise ValueError(f"upstream {self.upstream} serves no {kind.value} records")
        call = _Call(
            cache_key(self.upstream, path, params),
            path,
            params,
            kind,
            parse,
            empty.statuses if empty is not None else frozenset(),
            self._stale_for_s if stale_if_error else 0,
        )
        flight_key: Hashable = (call.key, parse)
        waiting = asyncio.timeout(max(0.0, deadline.remaining_s()))
        try:
            async with waiting:
                read = await self._flights.run(flight_key, lambda: self._read(call, deadline))
        except TimeoutError:
            if not waiting.expired():
                raise
            message = f"{self.upstream} did not answer within the request's deadline"
            raise UpstreamTimeout(self.upstream, message) from None
        if isinstance(read, _NoData):
            if empty is None:  # stored by a call that had a policy for it
                raise UpstreamBadResponse(self.upstream, f"{self.upstream} answered without a body")
            return empty.value
        return cast(T, read)

    async def _read(self, call: _Call[T], deadline: Deadline) -> object:
        parsed_here: list[T] = []

        async def fetch() -> object:
            body = await self._body(call, deadline)
            if body is not JSON_NULL_BODY:  # raises for a body the parser rejects: nothing is stored
                parsed_here.append(call.parse(body.value if isinstance(body, Received) else body))
            return body

        cached = await self._cache.get_or_fetch(
            call.key, fetch, ttl_s=self._ttl_s[call.kind], stale_for_s=call.stale_for_s
        )
        answered_instead = _ANSWERED_INSTEAD.get(cached.status)
        if answered_instead is not None:  # the request's record: an answer without a call (its misses are calls)
            record_upstream_call(self.upstream, answered_instead, sent=False)
        if cached.value is JSON_NULL_BODY:
            return _NO_DATA
        if parsed_here:  # this call's own fetch answered (a fetch that raised leaves nothing here): parsed already
            return parsed_here[0]
        return self._parsed[call.kind].value(call.key, cached, call.parse)

    async def _body(self, call: _Call[T], deadline: Deadline) -> object:
        """The decoded body; JSON_NULL_BODY for an answer without data (HTTP 204, or a refusal that means none)."""
        try:
            body = await self._get(call.path, call.params, deadline)
        except UpstreamRejected as rejected:
            if rejected.extensions.get("status") in call.empty_statuses:
                return JSON_NULL_BODY
            raise
        if body is JSON_NULL_BODY and NO_CONTENT not in call.empty_statuses:
            raise UpstreamBadResponse(self.upstream, f"{self.upstream} answered without a body (HTTP 204)")
        return body
