from __future__ import annotations

from gateway.limits.keys import ApiKeys, RedisKeyStore, redis_client
from tests.redis_harness import require_redis, unique_namespace


def _store(url: str, prefix: str) -> RedisKeyStore:
    return RedisKeyStore(redis_client(url, timeout_s=2, pool_size=5), prefix=prefix)


async def test_redis_store_issues_authenticates_and_revokes_at_once_on_every_replica() -> None:
    url = require_redis()
    prefix = unique_namespace("keys") + ":"
    admin = ApiKeys(_store(url, prefix), pepper="pepper")
    replica = ApiKeys(_store(url, prefix), pepper="pepper")
    try:
        issued = await admin.create(tier="partner", owner="acme")
        other = await admin.create(tier="free", owner="globex")
        record = await replica.authenticate(issued.plaintext)
        assert record is not None
        assert (record.key_id, record.tier, record.owner, record.revoked_at) == (
            issued.record.key_id,
            "partner",
            "acme",
            None,
        )
        assert record.created_at == issued.record.created_at
        assert [r.key_id for r in await replica.list_keys()] == sorted(
            [issued.record.key_id, other.record.key_id],
            key=lambda key_id: (
                issued.record.created_at if key_id == issued.record.key_id else other.record.created_at,
                key_id,
            ),
        )
        revoked = await admin.revoke(issued.record.key_id)
        assert revoked is not None
        assert revoked.revoked_at is not None
        assert await replica.authenticate(issued.plaintext) is None
        assert await replica.authenticate(other.plaintext) is not None
        assert await admin.revoke("000000000000") is None
        again = await admin.revoke(issued.record.key_id)
        assert again is not None
        assert again.revoked_at == revoked.revoked_at
        probe = redis_client(url, timeout_s=2, pool_size=2)
        stored = await probe.hgetall(f"{prefix}key:{issued.record.key_id}")
        probe.connection_pool.disconnect()
        assert stored["secret_hash"].startswith("hmac-sha256:")
        assert issued.plaintext.rsplit("_", 1)[-1] not in str(stored)
    finally:
        cleanup = redis_client(url, timeout_s=2, pool_size=2)
        stale = [key async for key in cleanup.scan_iter(match=f"{prefix}*")]
        if stale:
            await cleanup.delete(stale)
        cleanup.connection_pool.disconnect()
        await admin.aclose()
        await replica.aclose()
