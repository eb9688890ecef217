"""Two replicas of an OCDS mirror (one store each) refreshing at once through the Redis refresh lock: the publisher
sees one request at a time, and each replica ends with every release."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway.models import LeadQuery
from gateway.redis import redis_client
from gateway.upstreams.contractsfinder.adapter import ContractsFinderClient, open_contractsfinder_mirror
from gateway.upstreams.contractsfinder.spec import SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.redis_lock import RedisRefreshLock
from gateway.upstreams.mirror.schedule import RefreshScheduler
from gateway.upstreams.ocds.fetcher import Answer
from gateway.upstreams.ocds.mirror import FEED
from tests.redis_harness import require_redis, unique_namespace
from tests.unit.test_ocds_mirror import NOW, Clock, FakeContractsFinder, mirror_settings, no_sleep, tender_release


@dataclass
class SlowPublisher(FakeContractsFinder):
    """Takes a moment to answer, and counts the requests it answers at once."""

    in_flight: int = 0
    most_in_flight: int = 0

    async def get(self, url: str, *, max_bytes: int) -> Answer:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().get(url, max_bytes=max_bytes)
        finally:
            self.in_flight -= 1


async def test_replicas_take_turns_pulling(tmp_path: Path) -> None:
    redis = redis_client(require_redis(), timeout_s=0.5, pool_size=4)
    prefix = unique_namespace("ocds-lock") + ":"
    publisher = SlowPublisher([tender_release(n, NOW - timedelta(hours=3 + 7 * n)) for n in range(8)])
    clock = Clock(NOW)
    try:
        async with AsyncExitStack() as stack:
            clients = []
            schedulers = []
            for replica in ("a", "b"):
                settings = mirror_settings(tmp_path / replica, backfill_days=3)
                mirror = await open_contractsfinder_mirror(
                    settings, stack, transport=publisher, now=clock, sleep=no_sleep
                )
                lock = RedisRefreshLock(redis, prefix, ttl_s=1.0, poll_s=0.01)
                schedulers.append(RefreshScheduler(mirror, lock=lock, now=clock))
                clients.append(ContractsFinderClient(SPEC, mirror))
            reports = await asyncio.gather(*(scheduler.refresh([FEED]) for scheduler in schedulers))
            assert [report.outcomes[0].outcome for report in reports] == ["updated", "updated"]
            assert publisher.most_in_flight == 1
            for client in clients:
                page = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=Deadline.after(5))
                assert page.total == 8
            # Each replica read the back-fill itself: 3 daily windows, 4 pages each of 2 releases or fewer.
            assert len(publisher.first_pages()) == 6
    finally:
        redis.connection_pool.disconnect()
