"""The OCDS mirrors against the sandbox's imitations of Contracts Finder and Find a Tender (port 0): every release of
the back-fill read exactly once through the cursors, the quirky bodies repaired (mojibake, `1e9999`/`000`), the
publishers' pacing met or waited out, and the registry opening and refreshing the mirrors on their schedule."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cache.store import MemoryCache
from gateway.errors import MirrorNotReady
from gateway.models import ContractQuery, LeadQuery, TenderQuery
from gateway.settings import Settings
from gateway.upstreams.contractsfinder.adapter import ContractsFinderClient, open_contractsfinder_mirror
from gateway.upstreams.contractsfinder.spec import SPEC as CF_SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.findatender.adapter import FindATenderClient, open_findatender_mirror
from gateway.upstreams.findatender.spec import SPEC as FTS_SPEC
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.ocds.client import OcdsClient
from gateway.upstreams.ocds.mapping import TENDER_STAGES
from gateway.upstreams.ocds.mirror import OcdsMirror
from gateway.upstreams.registry import open_upstreams
from sandbox.ocds_data import CONTRACTS_FINDER, FIND_A_TENDER, Publisher, load_ocds
from sandbox.settings import OCDS_PROCESSES, SandboxSettings
from tests.e2e.processes import without_gateway_settings
from tests.sandbox_harness import RunningSandbox, running_sandbox
from tests.unit.test_ocds_normaliser import assert_valid

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BACKFILL_DAYS = 130  # the imitations publish 120 days of history before today
MONTH_S = 30 * 24 * 3600
SEED = 1729


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(SandboxSettings(seed=SEED, today=TODAY)) as running:
        yield running


async def knobs(sandbox: RunningSandbox, upstream: str, **values: Any) -> None:
    async with sandbox.session.put(sandbox.url(f"_sandbox/{upstream}"), json=values) as response:
        assert response.status == 200, await response.text()


@asynccontextmanager
async def mirror(sandbox: RunningSandbox, folder: Path, upstream: str, **own: object) -> AsyncIterator[OcdsClient]:
    options = {"backfill_days": BACKFILL_DAYS, "window_s": MONTH_S, "request_interval_s": 0.0, **own}
    settings = MirrorSettings(
        data_dir=folder, base_url=sandbox.base_url, contact="mailto:ops@example.org", replica="it", own=options
    )
    async with AsyncExitStack() as stack:
        if upstream == "contractsfinder":
            opened = await open_contractsfinder_mirror(settings, stack, now=lambda: NOW)
            yield ContractsFinderClient(CF_SPEC, opened)
        else:
            opened = await open_findatender_mirror(settings, stack, now=lambda: NOW)
            yield FindATenderClient(FTS_SPEC, opened)


def published(publisher: Publisher) -> tuple[int, set[str], set[str]]:
    """What the imitation publishes before NOW: releases, processes, and processes with a planning or tender stage."""
    dataset = load_ocds(publisher, SEED, OCDS_PROCESSES, TODAY)
    releases = [release for release in dataset.releases if release.moment < NOW]
    announced = {r.ocid for r in releases if not TENDER_STAGES.isdisjoint(r.document.get("tag", ()))}
    return len(releases), {r.ocid for r in releases}, announced


def stored(client: OcdsClient, sql: str) -> list[tuple[Any, ...]]:
    assert isinstance(client.mirror, OcdsMirror)
    with sqlite3.connect(client.mirror.store.path) as connection:
        return connection.execute(sql).fetchall()


async def every_lead_id(client: OcdsClient) -> list[str]:
    ids: list[str] = []
    after: str | None = None
    while True:
        page = await client.leads_after(LeadQuery(), limit=100, after=after, deadline=Deadline.after(10))
        ids += [lead.id for lead in page.items]
        if page.after is None:
            return ids
        after = page.after


async def test_contracts_finder_back_fill_reads_every_release_once_and_repairs_mojibake(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await knobs(sandbox, "contractsfinder", mojibake_share=1.0)
    releases, processes, announced = published(CONTRACTS_FINDER)
    async with mirror(sandbox, tmp_path, "contractsfinder") as client:
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated", report
        assert stored(client, "SELECT count(*) FROM release") == [(releases,)]
        assert {row[0] for row in stored(client, "SELECT ocid FROM process")} == processes
        ids = await every_lead_id(client)
        assert len(ids) == len(set(ids)) == len(announced)
        assert set(ids) == announced
        compiled = [json.loads(row[0]) for row in stored(client, "SELECT compiled FROM process")]
        text = json.dumps(compiled, ensure_ascii=False)
        for broken in ("\u00e2\u20ac", "\u00c2\u00a3"):  # the mojibake of U+2019, U+2013, U+202F; of the pound sign
            assert broken not in text
        assert "\u2019" in text  # the apostrophes came back
        for found in compiled:
            assert_valid(found)
        contracts = await client.search_contracts(
            ContractQuery(), limit=5, offset=0, selection=frozenset(), deadline=Deadline.after(10)
        )
        assert contracts.total
        assert all(contract.ocid and contract.ocds for contract in contracts.items)
        assert all(contract.url and contract.url.en for contract in contracts.items)
    assert await sandbox.hits("contractsfinder.search") >= 5  # five 30-day windows at least


async def test_find_a_tender_number_literals_are_patched(sandbox: RunningSandbox, tmp_path: Path) -> None:
    await knobs(sandbox, "findatender", number_quirks_share=1.0, requests_per_window=1000)
    releases, _, announced = published(FIND_A_TENDER)
    async with mirror(sandbox, tmp_path, "findatender") as client:
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated", report
        assert stored(client, "SELECT count(*) FROM release") == [(releases,)]
        assert set(await every_lead_id(client)) == announced
        for (text,) in stored(client, "SELECT compiled FROM process"):
            assert_valid(json.loads(text))
        tenders = await client.search_tenders(TenderQuery(), limit=3, offset=0, deadline=Deadline.after(10))
        assert [tender.url.en for tender in tenders.items if tender.url.en]
        assert all(
            t.url.en.startswith("https://www.find-tender.service.gov.uk/Notice/") for t in tenders.items if t.url.en
        )


async def test_find_a_tender_pace_is_kept_and_its_429_waited_out(sandbox: RunningSandbox, tmp_path: Path) -> None:
    """2 requests a second: paced at 0.55 s the client is never refused; unpaced it is, and waits its Retry-After."""
    pace = {"requests_per_window": 2, "window_s": 1.0, "processes": 20}
    await knobs(sandbox, "findatender", **pace)
    async with mirror(sandbox, tmp_path / "paced", "findatender", request_interval_s=0.55) as client:
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated", report
        assert isinstance(client.mirror, OcdsMirror)
        assert client.mirror.fetcher.throttled == 0
    assert await sandbox.hits("findatender.releases") == 5  # one page in each of the five windows

    await knobs(sandbox, "findatender", **pace)
    async with mirror(sandbox, tmp_path / "unpaced", "findatender", throttled_wait_s=0.1) as client:
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated", report
        assert client.mirror.watermark == NOW
        assert isinstance(client.mirror, OcdsMirror)
        assert client.mirror.fetcher.throttled > 0  # refused, waited its Retry-After, asked again
        assert (await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=Deadline.after(5))).total


async def test_contracts_finder_403_keeps_the_watermark_until_a_window_completes(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await knobs(sandbox, "contractsfinder", force_403=True)
    async with mirror(sandbox, tmp_path, "contractsfinder", throttled_wait_s=0.01) as client:
        report = await client.mirror.refresh()
        (outcome,) = report.outcomes
        assert outcome.outcome == "failed"
        assert outcome.error is not None
        assert "too many requests" in outcome.error
        assert client.mirror.watermark is None
        with pytest.raises(MirrorNotReady, match="last refresh failed"):
            await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=Deadline.after(5))
        await knobs(sandbox, "contractsfinder", force_403=False)
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated"
        assert client.mirror.watermark == NOW
        assert (await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=Deadline.after(5))).total


async def test_the_registry_opens_and_refreshes_both_mirrors(tmp_path: Path) -> None:
    """With the real clock: the sandbox publishes up to today, the gateway back-fills 130 days on its schedule."""
    async with running_sandbox(SandboxSettings(seed=SEED)) as sandbox:
        await knobs(sandbox, "findatender", requests_per_window=1000)
        environment = {
            **without_gateway_settings(),
            "GATEWAY_CONTRACTSFINDER_URL": sandbox.base_url,
            "GATEWAY_FINDATENDER_URL": sandbox.base_url,
            "GATEWAY_MIRROR_DATA_DIR": str(tmp_path),
            "GATEWAY_MIRROR_REPLICA": "it",
        }
        for name in ("CONTRACTSFINDER", "FINDATENDER"):
            environment |= {
                f"GATEWAY_{name}_BACKFILL_DAYS": str(BACKFILL_DAYS),
                f"GATEWAY_{name}_WINDOW_S": str(MONTH_S),
                f"GATEWAY_{name}_REQUEST_INTERVAL_S": "0",
            }
        settings = Settings.from_env(environment)
        async with AsyncExitStack() as stack:
            upstreams = await open_upstreams(settings, stack, MemoryCache(max_entries=10, max_bytes=10_000))
            for name in ("contractsfinder", "findatender"):
                upstream = upstreams.get(name)
                assert upstream is not None
                assert upstream.mirror is not None
                for _ in range(200):
                    if upstream.mirror.snapshot_path is not None and upstream.mirror.statuses()[0].last_success:
                        break
                    await asyncio.sleep(0.05)
                page = await upstreams.leads(name).search_leads(
                    LeadQuery(sources=("UK",)), limit=5, offset=0, deadline=Deadline.after(5)
                )
                assert page.total is not None
                assert page.total > 100
                assert all(lead.source == "UK" for lead in page.items)
                assert upstream.mirror.statuses()[0].last_error is None
            assert (tmp_path / "contractsfinder-it" / "ocds.sqlite").is_file()
            assert (tmp_path / "findatender-it" / "ocds.sqlite").is_file()


def test_the_window_of_the_sandbox_dataset_is_covered() -> None:
    """The imitation's history fits in the back-fill (else the tests above would miss releases silently)."""
    dataset = load_ocds(CONTRACTS_FINDER, SEED, OCDS_PROCESSES, TODAY)
    assert min(release.moment for release in dataset.releases) > NOW - timedelta(days=BACKFILL_DAYS)
