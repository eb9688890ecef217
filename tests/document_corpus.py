"""The GraphQL documents the e2e suite sends, recorded into a git-ignored corpus (`var/e2e-documents.jsonl`) that
tests/unit/test_compiled_resolvers.py replays through the compiled and strawberry's own resolvers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "var" / "e2e-documents.jsonl"
MAX_DOCUMENT_CHARS = 20_000  # the fuzzers' giants test limits, not execution

_seen: set[str] = set()


def _request(method: str, params: Mapping[str, str], content: bytes) -> dict[str, Any] | None:
    if method == "GET":
        payload: object = dict(params)
        if isinstance(payload, dict) and isinstance(payload.get("variables"), str):
            try:
                payload["variables"] = json.loads(payload["variables"])
            except (ValueError, RecursionError):  # the malformed inputs the suite sends on purpose
                return None
    else:
        try:
            payload = json.loads(content)
        except (ValueError, RecursionError):
            return None
    if not isinstance(payload, dict):
        return None
    query, variables = payload.get("query"), payload.get("variables")
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_DOCUMENT_CHARS:
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    name = payload.get("operationName")
    return {"query": query, "variables": variables, "operationName": name if isinstance(name, str) else None}


def record(method: str, params: Mapping[str, str], content: bytes) -> None:
    entry = _request(method, params, content)
    if entry is None:
        return
    line = json.dumps(entry, sort_keys=True)  # ASCII: a lone surrogate the suite sends is written escaped
    digest = hashlib.sha256(line.encode()).hexdigest()
    if digest in _seen:
        return
    _seen.add(digest)
    CORPUS.parent.mkdir(exist_ok=True)
    with CORPUS.open("a", encoding="utf-8") as corpus:
        corpus.write(line + "\n")


def recorded() -> Iterator[dict[str, Any]]:
    """The recorded requests, each once."""
    if not CORPUS.exists():
        return
    seen: set[str] = set()
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line and line not in seen:
            seen.add(line)
            yield json.loads(line)
