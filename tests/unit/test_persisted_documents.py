"""Persisted documents: the APQ protocol, the trusted-documents mode, the manifest and its CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gateway.__main__ import main
from gateway.edge.persisted import (
    ManifestError,
    MemoryDocumentStore,
    PersistedDocumentRefused,
    PersistedDocuments,
    build_manifest,
    load_manifest,
)

QUERY = "{ sources { name } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha256: str = HASH) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


async def refusal(documents: PersistedDocuments, query: str | None, extensions: dict[str, object] | None) -> str:
    with pytest.raises(PersistedDocumentRefused) as refused:
        await documents.document(query, extensions)
    return refused.value.code


async def test_apq_registers_then_serves_by_hash() -> None:
    documents = PersistedDocuments("apq", MemoryDocumentStore(10))
    assert await refusal(documents, None, persisted()) == "PERSISTED_QUERY_NOT_FOUND"
    assert await documents.document(QUERY, persisted()) == QUERY
    assert await documents.document(None, persisted(HASH.upper())) == QUERY
    assert await documents.document("{ __typename }", {"other": 1}) == "{ __typename }"


async def test_memory_store_evicts_the_least_recently_used_but_never_pinned() -> None:
    store = MemoryDocumentStore(2, pinned={"p": "pinned"})
    for key in ("a", "b"):
        await store.put(key, key)
    assert await store.get("a") == "a"
    await store.put("c", "c")
    assert [await store.get(key) for key in ("a", "b", "c", "p")] == ["a", None, "c", "pinned"]
    assert len(store) == 3


async def test_trusted_mode_runs_only_the_manifest() -> None:
    documents = PersistedDocuments("trusted", MemoryDocumentStore(10), {HASH: QUERY})
    assert await documents.document(None, persisted()) == QUERY
    assert await documents.document(QUERY, None) == QUERY
    assert await refusal(documents, "{ __typename }", None) == "QUERY_NOT_IN_SAFELIST"
    other = hashlib.sha256(b"{ __typename }").hexdigest()
    assert await refusal(documents, None, persisted(other)) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert await refusal(documents, "{ __typename }", persisted(other)) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert await refusal(documents, None, persisted(other)) == "PERSISTED_QUERY_NOT_IN_LIST"  # nothing registered


def test_manifest_entries_must_match_their_hash(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({HASH: QUERY}))
    assert load_manifest(manifest) == {HASH: QUERY}
    manifest.write_text(json.dumps({"0" * 64: QUERY}))
    with pytest.raises(ManifestError):
        load_manifest(manifest)
    manifest.write_text("[]")
    with pytest.raises(ManifestError):
        load_manifest(manifest)


def test_cli_builds_a_manifest_from_graphql_files(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    (documents / "nested").mkdir(parents=True)
    (documents / "sources.graphql").write_text(f"\n{QUERY}\n")
    (documents / "nested" / "leads.graphql").write_text("query Leads { leads { totalCount } }")
    (documents / "notes.txt").write_text("not a document")
    output = tmp_path / "manifest.json"
    assert main(["documents", "build", str(documents), "-o", str(output)]) == 0
    manifest = json.loads(output.read_text())
    assert manifest == build_manifest(documents)
    assert manifest[HASH] == QUERY
    assert sorted(manifest.values()) == ["query Leads { leads { totalCount } }", QUERY]
    assert load_manifest(output) == manifest


def test_cli_refuses_invalid_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.graphql").write_text("{ nothing }")
    output = tmp_path / "manifest.json"
    assert main(["documents", "build", str(tmp_path), "-o", str(output)]) == 1
    assert "Cannot query field 'nothing'" in capsys.readouterr().err
    assert not output.exists()
