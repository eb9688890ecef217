"""Whole responses of identical operations, kept for everyone for a short while, and what HTTP caches may keep.

The key is the document, variables and operation name; operations that select a field whose answer depends on the
caller or the moment (`rateLimit`, `sources`, introspection) are never kept. Only answers without errors or stale
data are kept, with the cost their execution estimated, so that a request served one pays the same price without
estimating it again. Concurrent identical requests share one execution; an answer that may not be kept is only
its executing request's (the others execute on their own).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.cache.store import CacheStatus, ResponseCache
from gateway.edge.protocol import GraphQLRequest

# Root fields whose answer depends on the caller or on the moment: never served from the response cache.
CALLER_SPECIFIC_ROOT_FIELDS = frozenset({"rateLimit", "sources", "__schema", "__type", "__typename"})


@dataclass(frozen=True)
class KeptAnswer:
    """An answer everyone may be served: the GraphQL response body and the cost its execution estimated."""

    body: Mapping[str, Any]
    cost: int

    def entry(self) -> dict[str, Any]:
        return {"body": dict(self.body), "cost": self.cost}

    @classmethod
    def from_entry(cls, entry: object) -> KeptAnswer | None:
        if isinstance(entry, dict) and isinstance(entry.get("body"), dict) and isinstance(entry.get("cost"), int):
            return cls(entry["body"], entry["cost"])
        return None


@dataclass(frozen=True)
class Served:
    """A kept answer, as the response cache served it (HIT: stored earlier; MISS: executed just now)."""

    answer: KeptAnswer
    status: CacheStatus
    age_s: float


def _is_entry(value: object) -> bool:
    return KeptAnswer.from_entry(value) is not None


class WholeResponseCache:
    def __init__(self, store: ResponseCache, ttl_s: int) -> None:
        self._store = store
        self.ttl_s = ttl_s

    def key(self, graphql_request: GraphQLRequest, root_fields: frozenset[str] | None) -> str | None:
        """The whole-response cache key, or None when the answer is not the same for everyone at any moment (or
        the root fields the operation selects cannot be told)."""
        if self.ttl_s <= 0:
            return None
        if root_fields is None or root_fields & CALLER_SPECIFIC_ROOT_FIELDS:
            return None
        material = json.dumps(
            [graphql_request.query, graphql_request.variables, graphql_request.operation_name],
            sort_keys=True,
            separators=(",", ":"),
        )
        return "response:" + hashlib.sha256(material.encode()).hexdigest()

    async def serve(self, key: str, execute: Callable[[], Awaitable[KeptAnswer | None]]) -> Served | None:
        """The answer kept under `key`, else the one `execute` (or a concurrent request's execution) gives when it
        may be kept; None when that execution's answer may not be kept."""

        async def fetch() -> object:
            answer = await execute()
            return None if answer is None else answer.entry()

        cached = await self._store.get_or_fetch(key, fetch, ttl_s=self.ttl_s, stale_for_s=0, store_if=_is_entry)
        answer = KeptAnswer.from_entry(cached.value)
        return None if answer is None else Served(answer, cached.status, cached.age_s)

    def http_caching(self, request: Request, response: Response, served: Served | None, answer: bytes) -> Response:
        """ETag and Cache-Control on successful GET queries (the only cacheable ones in HTTP); 304 on a match.

        The ETag covers the answer (data and errors), not `extensions`, which say how this request was served.
        """
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
        if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response
