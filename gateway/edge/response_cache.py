"""Whole responses of identical operations, kept for everyone for a short while, and what HTTP caches may keep.

The key is the document, variables and operation name; operations that select a field whose answer depends on the
caller or the moment (`rateLimit`, `sources`, introspection) are never kept. Only answers without errors or stale
data are kept, with the cost their execution estimated, so that a request served one pays the same price without
estimating it again. Concurrent identical requests share one execution; an answer that may not be kept is only
its executing request's (the others execute on their own).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.cache import codec
from gateway.cache.codec import EntryId
from gateway.cache.flight import SingleFlight
from gateway.cache.store import Cached, CacheStatus, Clock, Fetch, ResponseCache, StoreIf, current_report
from gateway.edge.compression import KEPT_HEAD_STATE, KeptHead
from gateway.edge.protocol import GraphQLRequest

log = logging.getLogger(__name__)
# Root fields whose answer depends on the caller or on the moment: never served from the response cache.
CALLER_SPECIFIC_ROOT_FIELDS = frozenset({"rateLimit", "sources", "__schema", "__type", "__typename"})
# The compressed heads of kept answers (gateway.edge.compression), per stored entry: the most recently served ones.
MAX_KEPT_HEADS = 1_000
MAX_KEPT_HEAD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class KeptAnswer:
    """An answer everyone may be served, kept as the JSON it is written in (no objects for the collector to walk, no
    encoding per hit): `head` is the GraphQL response body's JSON without its closing brace, to which each response
    appends its own `extensions`; `cost` is what its execution estimated."""

    head: bytes
    cost: int

    @classmethod
    def of(cls, body: Mapping[str, Any], cost: int) -> KeptAnswer:
        """Raises TypeError or ValueError when `body` is not JSON."""
        return cls(codec.dumps(dict(body))[:-1], cost)

    def body(self) -> dict[str, Any]:
        """The response body as objects (for the answers that are written otherwise: sorted, or refused)."""
        value = codec.loads(self.head + b"}")
        assert isinstance(value, dict)
        return value

    def write(self, extensions: Mapping[str, Any] | None) -> bytes:
        """The response: the body with `extensions` last (the bytes of writing the body with them)."""
        if not extensions:
            return self.head + b"}"
        return self.head + b',"extensions":' + codec.dumps(extensions) + b"}"

    def entry(self) -> dict[str, Any]:
        return {"head": self.head.decode(), "cost": self.cost}

    @classmethod
    def from_entry(cls, entry: object) -> KeptAnswer | None:
        if isinstance(entry, dict) and isinstance(entry.get("head"), str) and isinstance(entry.get("cost"), int):
            return cls(entry["head"].encode(), entry["cost"])
        return None


@dataclass(frozen=True)
class Served:
    """A kept answer, as the response cache served it (HIT: stored earlier; MISS: executed just now)."""

    answer: KeptAnswer
    status: CacheStatus
    age_s: float
    entry_id: EntryId | None = None  # the stored entry it was read from (HIT)


def _is_entry(value: object) -> bool:
    return KeptAnswer.from_entry(value) is not None


@dataclass(frozen=True)
class _Kept:
    stored_at: float
    value: object
    size: int  # the bytes of its JSON
    number: int  # of the write, so that two writes within one clock tick differ

    @property
    def entry_id(self) -> EntryId:
        return (self.stored_at, self.number)


class KeptAnswers:
    """The whole-response cache's store in this process's memory: entries kept as they are given (shared, never
    changed by a reader; a `KeptAnswer`'s entry holds its JSON text), not encoded and decoded again; bounded by entries
    and by the bytes of their JSON, least recently used first, as the upstream cache's memory store is. Concurrent
    misses of one key share one execution; what it answers is reported to the request's cache report."""

    def __init__(self, *, max_entries: int, max_bytes: int, clock: Clock = time.time) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0
        self._writes = itertools.count()
        self._flights: SingleFlight[Cached] = SingleFlight()

    @property
    def entries(self) -> int:
        return len(self._kept)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def close(self) -> None:
        self._kept.clear()
        self._bytes = 0

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        keep_for_s = ttl_s + stale_for_s
        if keep_for_s <= 0:  # nothing is kept
            return _reported(key, await self._fetch_and_store(key, fetch, 0, store_if))
        kept = self._read(key, keep_for_s)
        cached = self._fresh(kept, ttl_s) or await self._flights.run(
            key, lambda: self._refresh(key, fetch, ttl_s, keep_for_s, store_if)
        )
        return _reported(key, cached)

    def fresh(self, key: str, *, ttl_s: int) -> Cached | None:
        """What `get_or_fetch` answers for `key` when a fresh answer is kept (reported alike), without awaiting; None
        otherwise (`get_or_fetch` decides then)."""
        cached = self._fresh(self._read(key, ttl_s), ttl_s) if ttl_s > 0 else None
        return None if cached is None else _reported(key, cached)

    async def _refresh(self, key: str, fetch: Fetch, ttl_s: int, keep_for_s: int, store_if: StoreIf | None) -> Cached:
        latest = self._read(key, keep_for_s)  # a flight for this key may have landed meanwhile
        return self._fresh(latest, ttl_s) or await self._fetch_and_store(key, fetch, keep_for_s, store_if)

    def _read(self, key: str, keep_for_s: int) -> _Kept | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if self._clock() - kept.stored_at >= keep_for_s:
            self._forget(key)
            return None
        self._kept.move_to_end(key)
        return kept

    def _fresh(self, kept: _Kept | None, ttl_s: int) -> Cached | None:
        if kept is None:
            return None
        age_s = max(0.0, self._clock() - kept.stored_at)
        return Cached(kept.value, CacheStatus.HIT, age_s, kept.entry_id) if age_s < ttl_s else None

    async def _fetch_and_store(self, key: str, fetch: Fetch, keep_for_s: int, store_if: StoreIf | None) -> Cached:
        value = await fetch()
        if keep_for_s > 0 and (store_if is None or store_if(value)):
            self._write(key, value)
        return Cached(value, CacheStatus.MISS)

    def _write(self, key: str, value: object) -> None:
        try:
            size = len(codec.dumps(value))
        except (TypeError, ValueError) as error:
            log.warning("not caching %s: the value is not JSON (%s)", key, error)
            return
        if size > self.max_bytes:
            self._forget(key)
            return
        self._forget(key)
        self._kept[key] = _Kept(self._clock(), value, size, next(self._writes))
        self._bytes += size
        while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._kept.popitem(last=False)
            self._bytes -= evicted.size

    def _forget(self, key: str) -> None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._bytes -= kept.size


def _reported(key: str, cached: Cached) -> Cached:
    report = current_report()
    if report is not None:
        report.record(key, cached)
    return cached


class WholeResponseCache:
    def __init__(self, store: ResponseCache, ttl_s: int) -> None:
        self._store = store
        self.ttl_s = ttl_s
        self._heads: OrderedDict[EntryId, KeptHead] = OrderedDict()

    def key(self, graphql_request: GraphQLRequest, root_fields: frozenset[str] | None) -> str | None:
        """The whole-response cache key, or None when the answer is not the same for everyone at any moment (or
        the root fields the operation selects cannot be told)."""
        if self.ttl_s <= 0:
            return None
        if root_fields is None or root_fields & CALLER_SPECIFIC_ROOT_FIELDS:
            return None
        query, variables, operation_name = (
            graphql_request.query,
            graphql_request.variables,
            graphql_request.operation_name,
        )
        parts = [query, variables, operation_name]
        try:  # no null written for an absent part: a null written means a NaN or an infinity
            material = orjson.dumps(
                [
                    query or "",
                    variables or {},
                    operation_name or "",
                    query is None,
                    variables is None,
                    not operation_name,
                ],
                option=orjson.OPT_SORT_KEYS,
            )
        except TypeError:  # an integer beyond 64 bits
            material = b"null"
        if b"null" in material:  # orjson writes NaN and infinities as null: `json` tells them apart
            material = b"json:" + json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
        return "response:" + hashlib.sha256(material).hexdigest()

    def served_now(self, key: str) -> Served | None:
        """A fresh answer kept in this process under `key`, without awaiting anything (None: `serve` decides)."""
        store = self._store
        cached = store.fresh(key, ttl_s=self.ttl_s) if isinstance(store, KeptAnswers) else None
        if cached is None:
            return None
        answer = KeptAnswer.from_entry(cached.value)
        return None if answer is None else Served(answer, cached.status, cached.age_s, cached.entry_id)

    async def serve(self, key: str, execute: Callable[[], Awaitable[KeptAnswer | None]]) -> Served | None:
        """The answer kept under `key`, else the one `execute` (or a concurrent request's execution) gives when it
        may be kept; None when that execution's answer may not be kept."""

        async def fetch() -> object:
            answer = await execute()
            return None if answer is None else answer.entry()

        cached = await self._store.get_or_fetch(key, fetch, ttl_s=self.ttl_s, stale_for_s=0, store_if=_is_entry)
        answer = KeptAnswer.from_entry(cached.value)
        return None if answer is None else Served(answer, cached.status, cached.age_s, cached.entry_id)

    def http_caching(self, request: Request, response: Response, served: Served | None, answer: bytes) -> Response:
        """ETag and Cache-Control on successful GET queries (the only cacheable ones in HTTP); 304 on a match.

        The ETag covers the answer (data and errors), not `extensions`, which say how this request was served. A
        hit carries its answer's compressed head to the compression middleware (`KEPT_HEAD_STATE`).
        """
        if served is not None and served.entry_id is not None and response.status_code == 200:
            request.scope.setdefault("state", {})[KEPT_HEAD_STATE] = self._kept_head(served.entry_id, served.answer)
        if request.method != "GET" or response.status_code != 200 or served is None:
            response.headers["Cache-Control"] = "no-store"
            return response
        etag = '"' + hashlib.sha256(answer).hexdigest()[:32] + '"'
        max_age = max(0, int(self.ttl_s - served.age_s))
        headers = {
            "ETag": etag,
            "Cache-Control": f"private, max-age={max_age}",
            "Vary": "Accept, Authorization, X-API-Key",
        }
        # Weak comparison (RFC 9110 13.1.2): a compressed answer's ETag comes back as W/"...".
        if etag in {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    def _kept_head(self, entry_id: EntryId, answer: KeptAnswer) -> KeptHead:
        """The head every response serving `answer` starts with (its body's JSON less the closing brace, after
        which the endpoint appends the request's own `extensions`), kept for the most recently served entries."""
        head = self._heads.get(entry_id)
        if head is not None:
            self._heads.move_to_end(entry_id)
            return head
        head = self._heads[entry_id] = KeptHead.of(answer.head)
        while len(self._heads) > MAX_KEPT_HEADS or (
            len(self._heads) > 1 and sum(kept.size_bytes for kept in self._heads.values()) > MAX_KEPT_HEAD_BYTES
        ):
            self._heads.popitem(last=False)
        return head
