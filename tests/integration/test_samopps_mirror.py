"""The SAM opportunities mirror against the sandbox's imitation: the extract downloaded, applied and asked for again
with its ETag (304), a new publication applied as a diff, refused files that leave the last good data serving; API
pulls of the day's postings within their share of the key, SAM's 429, and one replica pulling for two through
Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.limits.quota import QuotaGuard
from gateway.models import ContractQuery, LeadQuery, TenderQuery
from gateway.settings import CredentialSettings, Settings, UpstreamSettings
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.samopps.adapter import SamOpportunitiesClient, open_samopps_mirror
from gateway.upstreams.samopps.mirror import API, EXTRACT, OpportunitiesMirror
from gateway.upstreams.samopps.spec import SPEC
from sandbox.sam import SAM_STATE
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import RunningSandbox

KEY = "sam-sandbox-key"
NONFED_KEY = "sam-sandbox-key-nonfed"  # 10 calls a day at the sandbox
NOTICES = 600  # the sandbox's first publication
Opener = Callable[..., Awaitable[OpportunitiesMirror]]


async def set_knobs(sandbox: RunningSandbox, **knobs: Any) -> dict[str, Any]:
    async with sandbox.session.put(sandbox.url("_sandbox/samopps"), json=knobs) as response:
        assert response.status == 200, await response.text()
        state: dict[str, Any] = await response.json()
        return state


def gateway_settings(sandbox: RunningSandbox, *, key: str = KEY, quota: int = 1000, **overrides: Any) -> Settings:
    return Settings(
        profile="dev",
        upstreams={"samopps": UpstreamSettings(sandbox.base_url, dict(SPEC.default_ttl_s))},
        credentials={"sam": CredentialSettings(api_key=key, daily_quota=quota)},
        **overrides,
    )


@pytest.fixture
async def open_mirror(tmp_path: Path) -> AsyncIterator[Opener]:
    async with AsyncExitStack() as stack:

        async def opener(
            gateway: Settings, *, replica: str = "one", quota_guard: QuotaGuard | None = None
        ) -> OpportunitiesMirror:
            settings = MirrorSettings(
                data_dir=tmp_path,
                base_url=gateway.upstream("samopps").url,
                contact="mailto:tests@example.org",
                replica=replica,
                retries=0,
                backoff_s=(),
                gateway_settings=gateway,
                quota_guard=quota_guard,
            )
            return await open_samopps_mirror(settings, stack)

        yield opener


def outcome(report: Any, feed: str) -> str:
    return next(found.outcome for found in report.outcomes if found.feed == feed)


async def every_lead(client: SamOpportunitiesClient) -> list[str]:
    found: list[str] = []
    after: str | None = None
    while True:
        page = await client.leads_after(LeadQuery(), limit=100, after=after, deadline=Deadline.after(10))
        found += [lead.id for lead in page.items]
        if page.after is None:
            return found
        after = page.after


async def test_the_extract_is_applied_then_asked_for_with_its_etag(
    sandbox: RunningSandbox, open_mirror: Opener
) -> None:
    mirror = await open_mirror(gateway_settings(sandbox, key=""))  # no key: the extract only
    assert [status.name for status in mirror.statuses()] == [EXTRACT]
    report = await mirror.refresh()
    assert outcome(report, EXTRACT) == "updated"
    assert mirror.last_extract is not None
    assert (mirror.last_extract.rows, mirror.last_extract.changed) == (NOTICES, NOTICES)
    client = SamOpportunitiesClient(SPEC, mirror)
    leads = await every_lead(client)
    assert len(leads) == len(set(leads)) > 300  # the open notices, each once
    tenders = await client.search_tenders(TenderQuery(), limit=100, offset=0, deadline=Deadline.after(10))
    contracts = await client.search_contracts(
        ContractQuery(), limit=100, offset=0, selection=frozenset(), deadline=Deadline.after(10)
    )
    assert tenders.total == len(leads)
    assert contracts.total is not None
    assert 0 < contracts.total < NOTICES - len(leads)
    assert any(
        "\u2019" in (lead.description or "")
        for lead in (await client.search_leads(LeadQuery(), limit=100, offset=0, deadline=Deadline.after(10))).items
    )

    assert outcome(await mirror.refresh([EXTRACT]), EXTRACT) == "unchanged"
    assert await sandbox.hits("samopps.extract") == 2  # one conditional GET, answered 304

    await set_knobs(sandbox, publication=1)  # the next day's file: some notices changed, added, removed
    assert outcome(await mirror.refresh([EXTRACT]), EXTRACT) == "updated"
    diff = mirror.last_extract
    assert diff is not None
    assert 0 < diff.changed < diff.rows / 5  # only the changed rows were written
    assert diff.unlisted > 0  # the notices no longer in the file


@pytest.mark.parametrize("fault", [{"truncate": "file"}, {"garbage": True}, {"truncate": "connection"}])
async def test_a_failed_refresh_keeps_the_last_good_data_serving(
    sandbox: RunningSandbox, open_mirror: Opener, fault: dict[str, Any]
) -> None:
    mirror = await open_mirror(gateway_settings(sandbox, key=""))
    await mirror.refresh()
    client = SamOpportunitiesClient(SPEC, mirror)
    before = await every_lead(client)
    await set_knobs(sandbox, publication=1, **fault)
    report = await mirror.refresh([EXTRACT])
    assert outcome(report, EXTRACT) == "failed"
    status = mirror.statuses()[0]
    assert status.last_error is not None
    assert status.rows == NOTICES
    assert await every_lead(client) == before


async def test_a_pull_adds_the_days_postings_within_its_share(sandbox: RunningSandbox, open_mirror: Opener) -> None:
    day_later = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    offset = day_later.timestamp() - datetime.now(UTC).timestamp()
    gateway = gateway_settings(sandbox, quota=10, samopps_min_daily_calls=4, clock_offset_s=offset)
    guard = QuotaGuard.from_settings(gateway)
    mirror = await open_mirror(gateway, quota_guard=guard)
    assert [status.name for status in mirror.statuses()] == [EXTRACT, API]
    await mirror.refresh([EXTRACT])  # publication 0: the notices posted up to today
    client = SamOpportunitiesClient(SPEC, mirror)
    before = set(await every_lead(client))
    await set_knobs(sandbox, publication=1)  # the API now also answers tomorrow's postings
    assert outcome(await mirror.refresh([API]), API) == "updated"
    pulled = mirror.last_pull
    assert pulled is not None
    assert pulled.complete
    assert pulled.error is None
    assert pulled.calls == 1 == await sandbox.hits("samopps.search")
    new = set(await every_lead(client)) - before
    assert new
    assert new <= {n.notice_id for page in pulled.pages for n in page.notices}
    assert await guard.remaining("sam", consumer="samopps") == 4  # its share: 10 x 0.5
    assert await guard.remaining("sam", consumer="sam") == 5  # the user queries' share is untouched
    assert sandbox.app[SAM_STATE].quota.used(KEY) == 1
    assert outcome(await mirror.refresh([API]), API) == "unchanged"  # not due again within its interval
    assert await sandbox.hits("samopps.search") == 1


async def test_sams_429_fails_the_pull_and_the_index_keeps_serving(
    sandbox: RunningSandbox, open_mirror: Opener
) -> None:
    gateway = gateway_settings(sandbox, key=NONFED_KEY, quota=0, samopps_min_daily_calls=0)
    mirror = await open_mirror(gateway)
    await mirror.refresh([EXTRACT])
    for _ in range(10):  # someone else spent the key's 10 calls today
        async with sandbox.session.get(sandbox.url("opportunities/v2/search"), params={"api_key": NONFED_KEY}):
            pass
    report = await mirror.refresh([API])
    assert outcome(report, API) == "failed"
    status = next(found for found in mirror.statuses() if found.name == API)
    assert status.last_error is not None
    assert "SAM refused the key" in status.last_error
    assert sandbox.app[SAM_STATE].quota.used(NONFED_KEY) == 10
    client = SamOpportunitiesClient(SPEC, mirror)
    assert len(await every_lead(client)) > 300


async def test_one_replica_pulls_and_the_other_indexes_its_pages(sandbox: RunningSandbox, open_mirror: Opener) -> None:
    redis_url = require_redis()
    day_later = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    offset = day_later.timestamp() - datetime.now(UTC).timestamp()
    gateway = gateway_settings(
        sandbox, clock_offset_s=offset, redis_url=redis_url, redis_namespace=unique_namespace("samopps")
    )
    first = await open_mirror(gateway, replica="one")
    second = await open_mirror(gateway, replica="two")
    await first.refresh([EXTRACT])
    await second.refresh([EXTRACT])
    await set_knobs(sandbox, publication=1)
    await first.refresh([API])
    await second.refresh([API])
    assert first.last_pull is not None
    assert first.last_pull.calls == 1
    assert second.last_pull is None  # it did not pull: the other replica's pages were indexed
    assert await sandbox.hits("samopps.search") == 1
    one, two = SamOpportunitiesClient(SPEC, first), SamOpportunitiesClient(SPEC, second)
    assert await every_lead(one) == await every_lead(two)
