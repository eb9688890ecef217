"""Persisted documents: automatic persisted queries (Apollo's protocol) and a trusted-documents manifest.

Modes (setting `persisted_documents`):
- `apq`: a client may send `extensions.persistedQuery = {version: 1, sha256Hash}` without `query`; an unknown hash
  answers PERSISTED_QUERY_NOT_FOUND and the client sends the query with its hash once, which registers it.
  Documents in the manifest (when one is configured) are known from the start.
- `off`: any `persistedQuery` answers PERSISTED_QUERY_NOT_SUPPORTED; plain queries run.
- `trusted`: only the manifest's documents run, by hash or by their exact text; nothing registers.

The manifest is GraphQL Codegen's persisted-documents format: a JSON object `{"<sha256 hex of the document>": "<the
document text>"}`. `python -m gateway documents build DIR -o manifest.json` builds it from the `.graphql` files
under DIR (one document per file, its text stripped of leading and trailing whitespace).

Where APQ registrations live: in process memory (`MemoryDocumentStore`, LRU), or, when `redis_url` is set, in Redis
(`RedisDocumentStore`) so that a hash registered through one replica is served by every other. A Redis that fails or
times out is a miss: the client resends the full query (the protocol's own recovery) and nothing fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from gateway.edge.refusals import Refusal, Refused
from gateway.redis import RedisOutage, RedisUnreachable, redis_client, redis_errors
from gateway.settings import Settings

if TYPE_CHECKING:
    import coredis

log = logging.getLogger(__name__)

Mode = Literal["off", "apq", "trusted"]
MODES: tuple[Mode, ...] = ("off", "apq", "trusted")
PROTOCOL_VERSION = 1
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_T = TypeVar("_T")


class PersistedDocumentRefused(Refused):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(Refusal(status, code, message, headers or {}))


class ManifestError(ValueError):
    """The manifest file is not a valid `{sha256: document}` object."""


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class DocumentStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...

    async def open(self, stack: AsyncExitStack) -> None: ...


class MemoryDocumentStore:
    """Hash -> document, least recently used first out beyond `max_entries`; pinned entries are never evicted."""

    def __init__(self, max_entries: int, pinned: Mapping[str, str] | None = None) -> None:
        self._max_entries = max_entries
        self._pinned = dict(pinned or {})
        self._registered: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256: str) -> str | None:
        if sha256 in self._pinned:
            return self._pinned[sha256]
        document = self._registered.get(sha256)
        if document is not None:
            self._registered.move_to_end(sha256)
        return document

    async def put(self, sha256: str, document: str) -> None:
        if sha256 in self._pinned:
            return
        self._registered[sha256] = document
        self._registered.move_to_end(sha256)
        while len(self._registered) > self._max_entries:
            self._registered.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pinned) + len(self._registered)

    async def open(self, stack: AsyncExitStack) -> None:
        """Nothing to open: the store is a dict of this process."""


class RedisDocumentStore:
    """Hash -> document in Redis, `<namespace>:<sha256>`, shared by every replica; pinned entries stay in memory.

    Each document expires `ttl_s` after its last use (a hit refreshes it with GETEX). Documents longer than
    `max_document_bytes` (UTF-8) are neither stored nor served. Every call is bounded by `timeout_s`; a failed call is
    a miss (get) or a no-op (put), logged once per outage, and Redis is left alone for `retry_after_s` before the
    next try.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        ttl_s: int,
        max_document_bytes: int,
        timeout_s: float,
        pool_size: int,
        pinned: Mapping[str, str] | None = None,
        retry_after_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._namespace = namespace
        self._ttl_s = ttl_s
        self._max_document_bytes = max_document_bytes
        self._timeout_s = timeout_s
        self._pool_size = pool_size
        self._pinned = dict(pinned or {})
        self._retry_after_s = retry_after_s
        self._monotonic = monotonic
        self._redis: coredis.Redis[str] | None = None
        self._outage = RedisOutage(
            log,
            down_message="persisted-documents store unreachable (%s: %s); APQ hashes miss and clients resend their "
            "queries",
            back_message="persisted-documents store reachable again after %.1f s",
            probe_every_s=retry_after_s,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return f"RedisDocumentStore(namespace={self._namespace!r}, ttl_s={self._ttl_s})"

    def key(self, sha256: str) -> str:
        return f"{self._namespace}:{sha256}"

    async def open(self, stack: AsyncExitStack) -> None:
        """Creates the connection pool (it connects on first use) and disconnects it when `stack` closes."""
        self._redis = redis_client(self._url, timeout_s=self._timeout_s, pool_size=self._pool_size)
        stack.push_async_callback(self.aclose)

    async def aclose(self) -> None:
        if self._redis is not None:
            self._redis.connection_pool.disconnect()
            self._redis = None

    async def get(self, sha256: str) -> str | None:
        if sha256 in self._pinned:
            return self._pinned[sha256]
        redis = self._client()
        found = await self._call(lambda: redis.getex(self.key(sha256), ex=self._ttl_s))
        if not isinstance(found, str) or not self._fits(found) or document_hash(found) != sha256:
            return None
        return found

    async def put(self, sha256: str, document: str) -> None:
        if sha256 in self._pinned or not self._fits(document):
            return
        redis = self._client()
        await self._call(lambda: redis.set(self.key(sha256), document, ex=self._ttl_s))

    def _fits(self, document: str) -> bool:
        return len(document) <= self._max_document_bytes and len(document.encode("utf-8")) <= self._max_document_bytes

    def _client(self) -> coredis.Redis[str]:
        if self._redis is None:
            raise RuntimeError("the persisted-documents store is not open (lifespan not run)")
        return self._redis

    async def _call(self, command: Callable[[], Awaitable[_T]]) -> _T | None:
        try:
            return await self._outage.call(command(), timeout_s=self._timeout_s, errors=redis_errors())
        except RedisUnreachable:
            return None


class PersistedDocuments:
    def __init__(self, mode: Mode, store: DocumentStore, manifest: Mapping[str, str] | None = None) -> None:
        self.mode = mode
        self._store = store
        self._manifest = dict(manifest or {})
        self._trusted_texts = frozenset(self._manifest.values())

    def trusted(self, document: str) -> bool:
        """Whether `document` is one of the manifest's (the operator's persisted documents, in any mode): only their
        operation names label metrics, since any other name is the client's choice."""
        return bool(self._trusted_texts) and document in self._trusted_texts

    async def open(self, stack: AsyncExitStack) -> None:
        """Opens the store for the app's life (called in the lifespan); closed when `stack` closes."""
        await self._store.open(stack)

    async def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str:
        """The document to run for the request's `query` and `extensions`, or PersistedDocumentRefused."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is None:
                raise PersistedDocumentRefused(400, "BAD_REQUEST", "`query` must be a non-empty string")
            if self.mode == "trusted" and document_hash(query) not in self._manifest:
                raise PersistedDocumentRefused(
                    400,
                    "QUERY_NOT_IN_SAFELIST",
                    "Only the operations of this gateway's trusted-documents manifest run "
                    "here: send one of them, by `extensions.persistedQuery.sha256Hash` or by its exact text.",
                )
            return query
        if self.mode == "off":
            raise PersistedDocumentRefused(200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        sha256 = _persisted_hash(persisted)
        if query is not None:
            if document_hash(query) != sha256:
                raise PersistedDocumentRefused(
                    400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
                )
            if self.mode == "trusted":
                if sha256 not in self._manifest:
                    raise PersistedDocumentRefused(
                        400, "PERSISTED_QUERY_NOT_IN_LIST", "This operation is not in the trusted-documents manifest."
                    )
                return query
            await self._store.put(sha256, query)
            return query
        if self.mode == "trusted":
            document = self._manifest.get(sha256)
            if document is None:
                raise PersistedDocumentRefused(
                    400, "PERSISTED_QUERY_NOT_IN_LIST", "This operation is not in the trusted-documents manifest."
                )
            return document
        found = await self._store.get(sha256)
        if found is None:
            # Never kept by a browser or CDN: once the client registers the document, the same GET must run it.
            raise PersistedDocumentRefused(
                200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", {"Cache-Control": "no-store"}
            )
        return found


def _persisted_hash(persisted: object) -> str:
    if not isinstance(persisted, dict):
        raise PersistedDocumentRefused(400, "PERSISTED_QUERY_INVALID", "`extensions.persistedQuery` must be an object")
    if persisted.get("version") != PROTOCOL_VERSION or isinstance(persisted.get("version"), bool):
        raise PersistedDocumentRefused(400, "PERSISTED_QUERY_INVALID", "Unsupported persisted query version")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.match(sha256.lower()):
        raise PersistedDocumentRefused(
            400, "PERSISTED_QUERY_INVALID", "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits"
        )
    return sha256.lower()


def load_manifest(path: Path) -> dict[str, str]:
    """Read a `{sha256: document}` manifest, checking every hash against its document."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the persisted-documents manifest {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a JSON object {{sha256: document}}")
    for sha256, document in data.items():
        if not isinstance(document, str) or document_hash(document) != sha256:
            raise ManifestError(f"{path}: the entry {sha256!r} is not the sha256 of its document")
    return data


def build_manifest(directory: Path) -> dict[str, str]:
    """`{sha256: document}` for every `.graphql` file under `directory`, sorted by file path."""
    manifest: dict[str, str] = {}
    for path in sorted(directory.rglob("*.graphql")):
        document = path.read_text(encoding="utf-8").strip()
        if document:
            manifest[document_hash(document)] = document
    return manifest


def open_persisted_documents(settings: Settings) -> PersistedDocuments:
    """The mode, manifest and store the settings name; a Redis store connects only once `open` runs (lifespan)."""
    mode = settings.persisted_documents
    if mode not in MODES:
        raise ValueError(f"persisted-documents mode must be one of {MODES}, not {mode!r}")
    path = settings.persisted_documents_manifest
    manifest = load_manifest(Path(path)) if path else {}
    store: DocumentStore
    if settings.redis_url and mode == "apq":
        store = RedisDocumentStore(
            settings.redis_url,
            namespace=settings.persisted_documents_namespace,
            ttl_s=settings.persisted_documents_ttl_s,
            max_document_bytes=settings.max_body_bytes,
            timeout_s=settings.redis_timeout_s,
            pool_size=settings.redis_pool_size,
            pinned=manifest,
            retry_after_s=settings.redis_probe_every_s,
        )
    else:
        store = MemoryDocumentStore(settings.persisted_documents_max_entries, pinned=manifest)
    return PersistedDocuments(mode, store, manifest)
