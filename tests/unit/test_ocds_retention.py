"""The OCDS store stays bounded: processes whose latest release is older than the retention are deleted with their
releases as windows are written (their pages given back to the disk), and over the disk bound no window is written:
the refresh fails saying why, and the store keeps serving. A fake clock and a tiny bound."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gateway.models import ContractQuery, LeadQuery
from gateway.settings import Settings
from gateway.upstreams.contractsfinder import adapter as cf_adapter
from gateway.upstreams.ocds import store as ocds_store
from tests.unit.test_ocds_mirror import (
    DAY,
    NOW,
    Clock,
    FakeContractsFinder,
    award_release,
    contracts_finder,
    deadline,
    store_rows,
    tender_release,
)


def counts(client: cf_adapter.ContractsFinderClient) -> dict[str, int]:
    return {
        table: store_rows(client, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("release", "process", "award", "process_text", "process_latest")
    }


async def test_processes_past_the_retention_are_deleted_with_their_releases(tmp_path: Path) -> None:
    fake = FakeContractsFinder(
        [
            tender_release(1, NOW - timedelta(hours=60), description="Old gritting salt"),  # expires
            tender_release(2, NOW - timedelta(hours=5)),
            tender_release(3, NOW - timedelta(hours=62)),  # an old tender with a recent award: kept whole
            award_release(3, NOW - timedelta(hours=3)),
            award_release(1, NOW - timedelta(hours=61)),  # expires with its process
        ]
    )
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock, retention_days=4) as client:
        await client.mirror.refresh()
        assert counts(client) == {"release": 5, "process": 3, "award": 2, "process_text": 3, "process_latest": 3}
        assert store_rows(client, "PRAGMA auto_vacuum") == [(2,)]  # incremental: freed pages can be given back

        clock.now = NOW + 2 * DAY  # process 1's latest release is now 2.5 days + 2 days old: past 4 days
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated"  # nothing new, but the store changed
        assert counts(client) == {"release": 3, "process": 2, "award": 1, "process_text": 2, "process_latest": 2}
        assert sorted(row[0] for row in store_rows(client, "SELECT DISTINCT ocid FROM release")) == [
            "ocds-b5fd17-test-0002",
            "ocds-b5fd17-test-0003",
        ]
        leads = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
        assert [lead.id for lead in leads.items] == ["ocds-b5fd17-test-0002", "ocds-b5fd17-test-0003"]
        assert (
            await client.search_leads(LeadQuery(keywords="gritting"), limit=10, offset=0, deadline=deadline())
        ).total == 0
        contracts = await client.search_contracts(
            ContractQuery(), limit=10, offset=0, selection=frozenset(), deadline=deadline()
        )
        assert [contract.ocid for contract in contracts.items] == ["ocds-b5fd17-test-0003"]
        assert client.mirror.statuses()[0].rows == 2
        assert store_rows(client, "PRAGMA freelist_count") == [(0,)]  # the freed pages went back to the disk


async def test_a_retention_of_zero_keeps_everything(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(1, NOW - timedelta(hours=60))])
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock, retention_days=0) as client:
        await client.mirror.refresh()
        assert client.mirror.refreshing.retention is None
        clock.now = NOW + 1000 * DAY
        await client.mirror.refresh()
        assert counts(client)["process"] == 1


async def test_the_retention_rule_deletes_a_bounded_batch_per_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocds_store, "EXPIRE_BATCH", 2)
    fake = FakeContractsFinder([tender_release(n, NOW - timedelta(hours=50 + n)) for n in range(5)], per_page=10)
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock, retention_days=4) as client:
        await client.mirror.refresh()
        clock.now = NOW + 3 * DAY  # all five past the retention; one window a refresh from here on
        client.mirror.refreshing = type(client.mirror.refreshing)(
            3600, timedelta(hours=1), 3 * DAY, windows_per_run=1, retention=4 * DAY
        )
        await client.mirror.refresh()
        assert counts(client)["process"] == 3  # the oldest two first
        assert [row[0] for row in store_rows(client, "SELECT ocid FROM process ORDER BY ocid")] == [
            f"ocds-b5fd17-test-{n:04d}" for n in range(3)
        ]


async def test_over_the_disk_bound_no_window_is_written_and_the_store_serves(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(n, NOW - timedelta(hours=5 + n)) for n in range(3)])
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock) as client:
        mirror = client.mirror
        assert mirror.max_disk_bytes == 4 * 1024**3  # GATEWAY_MIRROR_MAX_DISK_BYTES's default, from the settings
        await mirror.refresh()
        before = mirror.statuses()[0]

        mirror.max_disk_bytes = 1024  # a tiny bound: the store (file and WAL) is larger
        fake.requests.clear()
        fake.releases.append(tender_release(7, NOW + timedelta(minutes=30)))
        clock.now = NOW + timedelta(hours=1)
        report = await mirror.refresh()
        (outcome,) = report.outcomes
        assert outcome.outcome == "failed"
        assert outcome.error is not None
        assert "more than GATEWAY_MIRROR_MAX_DISK_BYTES (1024)" in outcome.error
        assert "GATEWAY_CONTRACTSFINDER_RETENTION_DAYS" in outcome.error
        assert fake.requests == []  # the publisher is not asked for what cannot be written
        assert mirror.watermark == NOW
        (status,) = mirror.statuses()
        assert status.last_error == outcome.error  # what `sources` and /readyz show
        assert (status.last_success, status.last_error_at, status.rows) == (before.last_success, clock.now, 3)
        leads = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
        assert leads.total == 3  # still serving what it holds

        mirror.max_disk_bytes = 64 * 1024**2  # the operator raises the bound: the next refresh catches up
        report = await mirror.refresh()
        assert report.outcomes[0].outcome == "updated"
        (status,) = mirror.statuses()
        assert (status.last_error, status.last_success, status.rows) == (None, clock.now, 4)


async def test_over_the_disk_bound_the_retention_rule_runs_alone_first(tmp_path: Path) -> None:
    bulky = "Road resurfacing works " * 2000  # ~46 KB a process
    fake = FakeContractsFinder(
        [tender_release(n, NOW - timedelta(hours=50 + n), description=bulky) for n in range(20)]
        + [tender_release(30, NOW - timedelta(hours=5))],
        per_page=25,
    )
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock, retention_days=4) as client:
        mirror = client.mirror
        await mirror.refresh()
        store_rows(client, "PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
        full = mirror.store.disk_bytes()
        mirror.max_disk_bytes = full - 1  # over the bound until the old bulky processes are deleted
        clock.now = NOW + 3 * DAY
        report = await mirror.refresh()
        assert report.outcomes[0].outcome == "updated"
        assert store_rows(client, "PRAGMA freelist_count") == [(0,)]
        assert mirror.store.path.stat().st_size < full // 2  # the freed pages went back to the disk
        assert counts(client)["process"] == 1
        assert mirror.statuses()[0].last_error is None


def test_the_retention_is_a_setting_per_publisher() -> None:
    settings = Settings.from_env({"GATEWAY_FINDATENDER_RETENTION_DAYS": "30"})
    assert settings.upstream_options("findatender")["retention_days"] == 30
    assert cf_adapter.DEFAULTS.retention_days == 400
    refreshing = cf_adapter.DEFAULTS.overridden({"retention_days": 30}).refreshing()
    assert refreshing.retention == timedelta(days=30)
    assert cf_adapter.DEFAULTS.overridden({"retention_days": 0}).refreshing().retention is None
    with pytest.raises(ValueError, match="retention days >= 0"):
        cf_adapter.DEFAULTS.overridden({"retention_days": -1})
