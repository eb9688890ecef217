"""APQ registrations in the real Redis: shared across replicas, expiring after their last use, a miss when Redis is
down or silent."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from gateway.edge.persisted import (
    PersistedDocumentRefused,
    PersistedDocuments,
    RedisDocumentStore,
    open_persisted_documents,
)
from gateway.redis import redis_client
from gateway.settings import Settings
from tests.redis_harness import private_redis, require_redis, unique_namespace

QUERY = "{ sources { name } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
TTL_S = 7 * 24 * 60 * 60
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


def store(url: str, namespace: str, **options: float) -> RedisDocumentStore:
    settings: dict[str, float] = {"timeout_s": 0.5, "retry_after_s": 0.0, **options}
    return RedisDocumentStore(
        url,
        namespace=namespace,
        ttl_s=TTL_S,
        max_document_bytes=1_000,
        timeout_s=settings["timeout_s"],
        pool_size=4,
        retry_after_s=settings["retry_after_s"],
    )


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    url = require_redis()
    name = unique_namespace("apq")
    yield name
    client = redis_client(url, timeout_s=5, pool_size=2)
    doomed = [key async for key in client.scan_iter(match=f"{name}:*")]
    if doomed:
        await client.delete(doomed)
    client.connection_pool.disconnect()


async def test_a_hash_registered_through_one_replica_is_served_by_another(namespace: str) -> None:
    url = require_redis()
    async with AsyncExitStack() as stack:
        first, second = store(url, namespace), store(url, namespace)
        await first.open(stack)
        await second.open(stack)
        replica_a, replica_b = PersistedDocuments("apq", first), PersistedDocuments("apq", second)
        with pytest.raises(PersistedDocumentRefused) as refused:
            await replica_b.document(None, PERSISTED)
        assert refused.value.code == "PERSISTED_QUERY_NOT_FOUND"
        assert await replica_a.document(QUERY, PERSISTED) == QUERY
        assert await replica_b.document(None, PERSISTED) == QUERY


async def test_documents_expire_a_week_after_their_last_use(namespace: str) -> None:
    url = require_redis()
    probe = redis_client(url, timeout_s=5, pool_size=2)
    async with AsyncExitStack() as stack:
        stack.callback(probe.connection_pool.disconnect)
        documents = store(url, namespace)
        await documents.open(stack)
        await documents.put(HASH, QUERY)
        key = f"{namespace}:{HASH}"
        assert await probe.get(key) == QUERY
        assert TTL_S - 60 < await probe.ttl(key) <= TTL_S
        await probe.expire(key, 60)
        assert await documents.get(HASH) == QUERY
        assert TTL_S - 60 < await probe.ttl(key) <= TTL_S


async def test_oversized_or_tampered_documents_are_misses(namespace: str) -> None:
    url = require_redis()
    probe = redis_client(url, timeout_s=5, pool_size=2)
    async with AsyncExitStack() as stack:
        stack.callback(probe.connection_pool.disconnect)
        documents = store(url, namespace)
        await documents.open(stack)
        huge = "{ " + "__typename " * 200 + "}"
        huge_hash = hashlib.sha256(huge.encode()).hexdigest()
        await documents.put(huge_hash, huge)
        assert await probe.exists([f"{namespace}:{huge_hash}"]) == 0
        await probe.set(f"{namespace}:{HASH}", "{ somethingElse }")
        assert await documents.get(HASH) is None


async def test_redis_down_is_a_miss_logged_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.edge.persisted")
    with private_redis() as server:
        async with AsyncExitStack() as stack:
            documents = store(server.url, unique_namespace("apq-down"))
            await documents.open(stack)
            replica = PersistedDocuments("apq", documents)
            assert await replica.document(QUERY, PERSISTED) == QUERY
            server.stop()
            for _ in range(3):
                assert await replica.document(QUERY, PERSISTED) == QUERY  # the put fails quietly
                with pytest.raises(PersistedDocumentRefused) as refused:
                    await replica.document(None, PERSISTED)
                assert refused.value.code == "PERSISTED_QUERY_NOT_FOUND"
            warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.edge.persisted"]
            assert len(warnings) == 1
            assert "unreachable" in warnings[0]
            server.start()  # an empty server on the same port: registering works again
            assert await replica.document(QUERY, PERSISTED) == QUERY
            assert await replica.document(None, PERSISTED) == QUERY
            warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.edge.persisted"]
            assert len(warnings) == 2
            assert "reachable again" in warnings[1]


async def test_a_silent_redis_is_a_miss_within_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read()

    caplog.set_level(logging.WARNING, logger="gateway.edge.persisted")
    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncExitStack() as stack:
            documents = store(f"redis://127.0.0.1:{port}/0", "silent", timeout_s=0.2, retry_after_s=60.0)
            await documents.open(stack)
            started = time.monotonic()
            assert await documents.get(HASH) is None
            assert time.monotonic() - started < 1.5
            started = time.monotonic()
            await documents.put(HASH, QUERY)  # within the retry window: no call at all
            assert await documents.get(HASH) is None
            assert time.monotonic() - started < 0.1
    finally:
        server.close()
        for writer in accepted:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()
    assert len([r for r in caplog.records if r.name == "gateway.edge.persisted"]) == 1


async def test_settings_with_a_redis_url_choose_the_redis_store_and_keep_the_manifest_pinned(
    namespace: str, tmp_path: Path
) -> None:
    url = require_redis()
    pinned = "query Pinned { sources { name } }"
    pinned_hash = hashlib.sha256(pinned.encode()).hexdigest()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({pinned_hash: pinned}))
    settings = Settings(
        redis_url=url, persisted_documents_redis_namespace=namespace, persisted_documents_manifest=str(manifest)
    )
    probe = redis_client(url, timeout_s=5, pool_size=2)
    async with AsyncExitStack() as stack:
        stack.callback(probe.connection_pool.disconnect)
        documents = open_persisted_documents(settings)
        await documents.open(stack)
        by_hash = {"persistedQuery": {"version": 1, "sha256Hash": pinned_hash}}
        assert await documents.document(None, by_hash) == pinned
        assert await documents.document(QUERY, PERSISTED) == QUERY
        assert await probe.get(f"{namespace}:{HASH}") == QUERY
        assert await probe.exists([f"{namespace}:{pinned_hash}"]) == 0
