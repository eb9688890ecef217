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
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

Mode = Literal["off", "apq", "trusted"]
MODES: tuple[Mode, ...] = ("off", "apq", "trusted")
PROTOCOL_VERSION = 1
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class PersistedDocumentRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ManifestError(ValueError):
    """The manifest file is not a valid `{sha256: document}` object."""


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


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


class PersistedDocuments:
    def __init__(self, mode: Mode, store: MemoryDocumentStore, manifest: Mapping[str, str] | None = None) -> None:
        self.mode = mode
        self._store = store
        self._manifest = dict(manifest or {})

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
            raise PersistedDocumentRefused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
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


def open_persisted_documents(mode: str, manifest_path: str, max_entries: int) -> PersistedDocuments:
    if mode not in MODES:
        raise ValueError(f"persisted-documents mode must be one of {MODES}, not {mode!r}")
    manifest = load_manifest(Path(manifest_path)) if manifest_path else {}
    return PersistedDocuments(mode, MemoryDocumentStore(max_entries, pinned=manifest), manifest)
