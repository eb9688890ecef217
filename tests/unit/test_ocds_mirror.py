"""The OCDS mirror on a fake publisher: update windows from a persisted watermark (written only once a window is
complete, in one WAL transaction that readers never wait for), back-fill, the incremental store, the client's
queries and keyset pages, followers, and the settings behind it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.errors import BadUserInput, MirrorNotReady
from gateway.models import ContractQuery, DateRange, LeadQuery, TenderQuery, ValueRange
from gateway.settings import Settings
from gateway.upstreams.contractsfinder import adapter as cf_adapter
from gateway.upstreams.contractsfinder.adapter import ContractsFinderClient, open_contractsfinder_mirror
from gateway.upstreams.contractsfinder.spec import SPEC as CF_SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.findatender import adapter as fts_adapter
from gateway.upstreams.mirror.disk import MirrorDirectoryBusy
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.mirror.schedule import RefreshScheduler
from gateway.upstreams.ocds.fetcher import Answer
from gateway.upstreams.ocds.mirror import FEED, OcdsMirror
from gateway.upstreams.ocds.opening import OcdsOptions
from gateway.upstreams.ocds.windows import update_windows
from tests.unit.test_ocds_normaliser import assert_valid

BASE = "https://cf.example/"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CONTACT = "mailto:ops@example.org"


def tender_release(
    number: int, published: datetime, *, closing: datetime | None = None, **tender: Any
) -> dict[str, Any]:
    ocid = f"ocds-b5fd17-test-{number:04d}"
    return {
        "ocid": ocid,
        "id": f"{number:08d}-aaaa-4bbb-8ccc-{number:012d}-1",
        "date": published.isoformat(),
        "tag": ["tender"],
        "initiationType": "tender",
        "buyer": {"id": "GB-1", "name": f"Buyer {number % 3}"},
        "parties": [
            {
                "id": "GB-1",
                "name": f"Buyer {number % 3}",
                "roles": ["buyer"],
                "contactPoint": {"name": "Jo Bloggs", "email": "jo@example.org", "telephone": "0100"},
            }
        ],
        "tender": {
            "id": f"T-{number}",
            "title": tender.pop("title", f"Tender number {number}"),
            "description": tender.pop("description", "Road resurfacing works"),
            "status": "active",
            "datePublished": published.isoformat(),
            "tenderPeriod": {"endDate": (closing or published + 30 * DAY).isoformat()},
            "value": {"amount": 1000 * number, "currency": "GBP"},
            "classification": {"scheme": "CPV", "id": "45233140"},
            **tender,
        },
    }


def award_release(
    number: int, awarded: datetime, *, supplier: str = "Acme Roads Ltd", amount: int = 5000
) -> dict[str, Any]:
    ocid = f"ocds-b5fd17-test-{number:04d}"
    return {
        "ocid": ocid,
        "id": f"{number:08d}-aaaa-4bbb-8ccc-{number:012d}-2",
        "date": awarded.isoformat(),
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [{"id": "GB-COH-1", "name": supplier, "roles": ["supplier"]}],
        "awards": [
            {
                "id": f"{ocid}-1",
                "status": "active",
                "date": awarded.isoformat(),
                "value": {"amount": amount, "currency": "GBP"},
                "suppliers": [{"id": "GB-COH-1", "name": supplier}],
            }
        ],
    }


@dataclass
class FakeContractsFinder:
    """Serves `releases` whose date falls in [publishedFrom, publishedTo), `per_page` a page, through cursors; a
    URL in `broken` answers a page that is no package."""

    releases: list[dict[str, Any]] = field(default_factory=list)
    per_page: int = 2
    broken: set[int] = field(default_factory=set)  # the request numbers (1-based) answered with garbage
    requests: list[str] = field(default_factory=list)

    async def get(self, url: str, *, max_bytes: int) -> Answer:
        self.requests.append(url)
        if len(self.requests) in self.broken:
            return Answer(200, {}, b"<html>maintenance</html>")
        query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
        start = datetime.fromisoformat(query["publishedFrom"])
        end = datetime.fromisoformat(query["publishedTo"])
        found = [r for r in self.releases if start <= datetime.fromisoformat(r["date"]) < end]
        offset = int(query.get("cursor", "0"))
        body: dict[str, Any] = {"version": "1.1", "releases": found[offset : offset + self.per_page]}
        if offset + self.per_page < len(found):
            body["links"] = {"next": f"{url.split('&cursor=', maxsplit=1)[0]}&cursor={offset + self.per_page}"}
        return Answer(200, {}, json.dumps(body).encode())

    def first_pages(self) -> list[str]:
        return [url for url in self.requests if "cursor=" not in url]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def mirror_settings(folder: Path, *, writer: bool = True, **own: object) -> MirrorSettings:
    options = {"backfill_days": 3, "request_interval_s": 0.0, **own}
    return MirrorSettings(data_dir=folder, base_url=BASE, contact=CONTACT, replica="test", writer=writer, own=options)


@asynccontextmanager
async def contracts_finder(
    folder: Path, fake: FakeContractsFinder, clock: Clock, *, writer: bool = True, **own: object
) -> AsyncIterator[ContractsFinderClient]:
    async with AsyncExitStack() as stack:
        mirror = await open_contractsfinder_mirror(
            mirror_settings(folder, writer=writer, **own), stack, transport=fake, now=clock, sleep=no_sleep
        )
        yield ContractsFinderClient(CF_SPEC, mirror)


def deadline() -> Deadline:
    return Deadline.after(5)


def store_rows(client: ContractsFinderClient, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(client.mirror.store.path) as connection:
        return connection.execute(sql).fetchall()


def mirror_of(client: ContractsFinderClient) -> OcdsMirror:
    return client.mirror


# -- windows ----------------------------------------------------------------------------------------------------------


def test_update_windows() -> None:
    hour = timedelta(hours=1)
    assert update_windows(None, NOW, length=6 * hour, backfill=DAY, overlap=10 * timedelta(minutes=1)) == [
        (NOW - 24 * hour, NOW - 18 * hour),
        (NOW - 18 * hour, NOW - 12 * hour),
        (NOW - 12 * hour, NOW - 6 * hour),
        (NOW - 6 * hour, NOW),
    ]
    watermark = NOW - 2 * hour
    assert update_windows(watermark, NOW, length=6 * hour, backfill=DAY, overlap=timedelta(minutes=10)) == [
        (watermark - timedelta(minutes=10), NOW)
    ]
    # A watermark in the future (a clock moved back) starts from now, less the overlap.
    assert update_windows(NOW + hour, NOW, length=6 * hour, backfill=DAY, overlap=timedelta(minutes=10)) == [
        (NOW - timedelta(minutes=10), NOW)
    ]
    assert update_windows(None, NOW, length=hour, backfill=timedelta(0), overlap=timedelta(0)) == []
    with pytest.raises(ValueError, match="longer than 0"):
        update_windows(None, NOW, length=timedelta(0), backfill=DAY, overlap=timedelta(0))


# -- refreshes --------------------------------------------------------------------------------------------------------


async def test_the_first_refresh_back_fills_in_windows(tmp_path: Path) -> None:
    fake = FakeContractsFinder(
        [tender_release(n, NOW - timedelta(hours=5 + 13 * n)) for n in range(5)]  # 5 h .. 57 h ago
        + [tender_release(9, NOW - 10 * DAY)]  # before the back-fill: never asked for
    )
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock) as client:
        with pytest.raises(MirrorNotReady, match="first refresh under way"):
            await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
        report = await client.mirror.refresh()
        assert [(o.feed, o.outcome) for o in report.outcomes] == [(FEED, "updated")]
        # 3 days of daily windows, each one first page (plus cursor pages where a window held more than 2).
        assert len(fake.first_pages()) == 3
        assert "publishedFrom=2026-03-07T12:00:00Z&publishedTo=2026-03-08T12:00:00Z" in fake.first_pages()[0]
        assert client.mirror.watermark == NOW
        (status,) = client.mirror.statuses()
        assert (status.last_success, status.last_error, status.rows) == (NOW, None, 5)
        assert status.last_modified == NOW.isoformat()
        page = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
        assert page.total == 5
        assert [lead.id for lead in page.items] == [f"ocds-b5fd17-test-{n:04d}" for n in range(5)]  # newest first
        assert client.mirror.snapshot_path == client.mirror.store.path

        # The next refresh asks from the watermark (less 10 minutes), in one window.
        fake.requests.clear()
        fake.releases.append(tender_release(5, NOW + timedelta(minutes=30)))
        clock.now = NOW + timedelta(hours=1)
        await client.mirror.refresh()
        assert fake.first_pages() == [
            BASE + "Published/Notices/OCDS/Search?publishedFrom=2026-03-10T11:50:00Z&publishedTo=2026-03-10T13:00:00Z"
            "&stages=planning,tender,award,implementation&limit=100"
        ]
        assert (await client.search_leads(LeadQuery(), limit=1, offset=0, deadline=deadline())).total == 6


async def test_the_watermark_moves_only_after_a_complete_window(tmp_path: Path) -> None:
    releases = [tender_release(n, NOW - 2 * DAY + timedelta(hours=n)) for n in range(3)]  # window 2 of 3
    releases += [tender_release(n, NOW - DAY + timedelta(hours=n)) for n in range(3, 6)]  # window 3: two pages
    # Requests: window 1 (1 page), window 2 (2 pages), window 3 page 1, then page 2 refused.
    fake = FakeContractsFinder(releases, broken={5})
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock) as client:
        report = await client.mirror.refresh()
        (outcome,) = report.outcomes
        assert outcome.outcome == "failed"
        assert outcome.error is not None
        assert "a page was refused: the page is not JSON" in outcome.error
        assert client.mirror.watermark == NOW - DAY  # the end of the last complete window
        (status,) = client.mirror.statuses()
        assert (status.last_success, status.last_error_at) == (None, NOW)
        # Nothing of the failed window was kept: its first page's releases are not in the store.
        assert sorted(row[0] for row in store_rows(client, "SELECT ocid FROM release")) == [
            f"ocds-b5fd17-test-{n:04d}" for n in range(3)
        ]
        assert store_rows(client, "SELECT value FROM state WHERE name = 'watermark'") == [((NOW - DAY).isoformat(),)]
        # The leads of the complete windows are served meanwhile.
        assert (await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())).total == 3

        # The next refresh resumes at the watermark (less the overlap) and completes.
        fake.requests.clear()
        report = await client.mirror.refresh()
        assert report.outcomes[0].outcome == "updated"
        assert "publishedFrom=2026-03-09T11:50:00Z" in fake.requests[0]
        assert client.mirror.watermark == NOW
        assert (await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())).total == 6
        (status,) = client.mirror.statuses()
        assert (status.last_success, status.last_error) == (NOW, None)


async def test_a_long_back_fill_goes_on_in_the_refreshes_that_follow(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(n, NOW - timedelta(hours=5 + 24 * n)) for n in range(6)])
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock, backfill_days=6) as client:
        mirror = mirror_of(client)
        mirror.refreshing = type(mirror.refreshing)(
            mirror.refreshing.interval_s, mirror.refreshing.window, mirror.refreshing.backfill, windows_per_run=4
        )
        scheduler = RefreshScheduler(mirror, now=clock)
        assert scheduler.due() == (FEED,)
        await scheduler.run_once()
        assert mirror.watermark == NOW - 2 * DAY
        assert mirror.statuses()[0].last_success is None
        assert scheduler.due() == (FEED,)  # still due: the back-fill goes on at once
        await scheduler.run_once()
        assert mirror.watermark == NOW
        assert mirror.statuses()[0].last_success == NOW
        assert scheduler.due() == ()
        assert scheduler.seconds_until_due() == 3600
        assert (await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())).total == 6


async def test_readers_never_wait_for_a_window_being_written(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(1, NOW - timedelta(hours=3))])
    async with contracts_finder(tmp_path, fake, Clock(NOW)) as client:
        await client.mirror.refresh()
        writer = sqlite3.connect(client.mirror.store.path, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("UPDATE process SET lead_sort = '2099-01-01'")
            started = time.monotonic()
            page = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=Deadline.after(2))
            assert time.monotonic() - started < 1.0
            assert page.items[0].publish_date == (NOW - timedelta(hours=3)).date()
            assert store_rows(client, "PRAGMA journal_mode") == [("wal",)]
        finally:
            writer.execute("ROLLBACK")
            writer.close()


async def test_every_compiled_release_in_the_store_validates(tmp_path: Path) -> None:
    releases = [tender_release(n, NOW - timedelta(hours=30 - n)) for n in range(4)]
    releases += [award_release(n, NOW - timedelta(hours=10 - n)) for n in range(2)]
    fake = FakeContractsFinder(releases)
    async with contracts_finder(tmp_path, fake, Clock(NOW)) as client:
        await client.mirror.refresh()
        compiled = [json.loads(row[0]) for row in store_rows(client, "SELECT compiled FROM process")]
        assert len(compiled) == 4
        for found in compiled:
            assert_valid(found)
        with_award = next(found for found in compiled if found["ocid"] == "ocds-b5fd17-test-0001")
        assert with_award["awards"][0]["suppliers"][0]["name"] == "Acme Roads Ltd"
        assert with_award["tender"]["title"] == "Tender number 1"


# -- queries ----------------------------------------------------------------------------------------------------------


@pytest.fixture
async def loaded(tmp_path: Path) -> AsyncIterator[ContractsFinderClient]:
    releases = [
        tender_release(1, NOW - timedelta(hours=50), closing=NOW + 5 * DAY, title="Gritting salt supply"),
        tender_release(2, NOW - timedelta(hours=40), closing=NOW + 2 * DAY, description="Bridge painting"),
        tender_release(3, NOW - timedelta(hours=30), closing=NOW + 9 * DAY),
        award_release(1, NOW - timedelta(hours=20), supplier="Saltworks plc", amount=7000),
        award_release(2, NOW - timedelta(hours=10), supplier="Bridge Painters Ltd", amount=90000),
    ]
    async with contracts_finder(tmp_path, FakeContractsFinder(releases), Clock(NOW)) as client:
        await client.mirror.refresh()
        yield client


async def test_leads_answer_their_criteria(loaded: ContractsFinderClient) -> None:
    async def ids(query: LeadQuery) -> list[str]:
        page = await loaded.search_leads(query, limit=10, offset=0, deadline=deadline())
        assert page.total == len(page.items)
        return [lead.id.removeprefix("ocds-b5fd17-test-") for lead in page.items]

    assert await ids(LeadQuery()) == ["0003", "0002", "0001"]
    assert await ids(LeadQuery(keywords="gritting salt")) == ["0001"]
    assert await ids(LeadQuery(keywords="bridge")) == ["0002"]
    assert await ids(LeadQuery(keywords="buyer 0")) == ["0003"]  # the buyer's name is searched too
    assert await ids(LeadQuery(countries=("GB",), sources=("UK",))) == ["0003", "0002", "0001"]
    assert await ids(LeadQuery(countries=("FR",))) == []
    ends = DateRange(start=(NOW + DAY).date(), end=(NOW + 6 * DAY).date())
    assert await ids(LeadQuery(ends=ends)) == ["0002", "0001"]
    assert await ids(LeadQuery(published=DateRange(start=date(2026, 3, 9)))) == ["0003"]  # published 30 h ago
    assert await ids(LeadQuery(published=DateRange(end=date(2026, 3, 8)))) == ["0002", "0001"]
    assert await ids(LeadQuery(industries=("Energy",))) == []  # not answerable here: nothing matches

    lead = await loaded.lead("ocds-b5fd17-test-0001", deadline=deadline())
    assert lead is not None
    assert lead.title == "Gritting salt supply"
    assert lead.contact == "Jo Bloggs, jo@example.org, 0100"
    assert lead.contract_value is not None
    assert lead.contract_value.amount == Decimal(7000)
    assert lead.url == "https://www.contractsfinder.service.gov.uk/Notice/00000001-aaaa-4bbb-8ccc-000000000001"
    assert await loaded.lead("ocds-b5fd17-test-9999", deadline=deadline()) is None
    (source,) = await loaded.lead_sources(deadline=deadline())
    assert (source.source, source.last_updated, source.last_imported) == ("UK", NOW, NOW)


async def test_tenders_answer_their_criteria(loaded: ContractsFinderClient) -> None:
    async def ids(query: TenderQuery) -> list[str]:
        page = await loaded.search_tenders(query, limit=10, offset=0, deadline=deadline())
        return [tender.reference.removeprefix("ocds-b5fd17-test-") for tender in page.items]

    assert await ids(TenderQuery()) == ["0002", "0001", "0003"]  # soonest closing first
    assert await ids(TenderQuery(keywords=("painting", "gritting"))) == ["0002", "0001"]
    assert await ids(TenderQuery(closing=DateRange(end=(NOW + 6 * DAY).date()))) == ["0002", "0001"]
    assert await ids(TenderQuery(buyer="buyer 1")) == ["0001"]
    assert await ids(TenderQuery(gsins=("N1234",))) == []  # a Canadian criterion: nothing here
    tender = await loaded.tender("ocds-b5fd17-test-0003", hint=None, deadline=deadline())
    assert tender is not None
    assert tender.closing_at == NOW + 9 * DAY
    assert tender.ocid == "ocds-b5fd17-test-0003"
    assert tender.ocds is not None
    assert json.loads(tender.ocds)["tender"]["id"] == "T-3"


async def test_contracts_answer_their_criteria(loaded: ContractsFinderClient) -> None:
    async def keys(query: ContractQuery) -> list[str]:
        page = await loaded.search_contracts(query, limit=10, offset=0, selection=frozenset(), deadline=deadline())
        return [contract.piid.removeprefix("ocds-b5fd17-test-") for contract in page.items]

    assert await keys(ContractQuery()) == ["0002-1", "0001-1"]  # newest award first
    assert await keys(ContractQuery(supplier_name="saltworks")) == ["0001-1"]
    assert await keys(ContractQuery(agency_name="BUYER 2")) == ["0002-1"]
    assert await keys(ContractQuery(piid="ocds-b5fd17-test-0001-1")) == ["0001-1"]
    assert await keys(ContractQuery(value=ValueRange(minimum=Decimal(10000)))) == ["0002-1"]
    assert await keys(ContractQuery(awarded=DateRange(start=date(2026, 3, 10)))) == ["0002-1"]  # 10 h ago
    assert await keys(ContractQuery(awarded=DateRange(end=date(2026, 3, 9)))) == ["0001-1"]
    assert await keys(ContractQuery(keywords="bridge")) == ["0002-1"]
    assert await keys(ContractQuery(naics=("236220",))) == []
    found = await loaded.contract(
        "ocds-b5fd17-test-0002/ocds-b5fd17-test-0002-1", hint=None, selection=frozenset(), deadline=deadline()
    )
    assert found is not None
    assert found.supplier is not None
    assert found.supplier.name == "Bridge Painters Ltd"
    assert found.ocid == "ocds-b5fd17-test-0002"
    assert await loaded.contract("nope", hint=None, selection=frozenset(), deadline=deadline()) is None
    loaded.check_contract_query(ContractQuery(piid="x"), limit=100)


async def test_keyset_pages_are_stable_across_a_refresh(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(n, NOW - timedelta(hours=60 - 10 * n)) for n in range(5)])
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock) as client:
        await client.mirror.refresh()
        first = await client.leads_after(LeadQuery(), limit=2, after=None, deadline=deadline())
        assert [lead.id[-2:] for lead in first.items] == ["04", "03"]
        assert first.total == 5
        assert first.after is not None
        assert len(first.positions) == 2
        # A window arrives: a lead newer than every listed one (before the cursor) and an older one (after it).
        fake.releases += [
            tender_release(7, NOW + timedelta(minutes=20)),
            tender_release(8, NOW - timedelta(hours=100)).copy(),
        ]
        fake.releases[-1]["date"] = (NOW + timedelta(minutes=30)).isoformat()  # published long ago, sent now
        clock.now = NOW + timedelta(hours=1)
        await client.mirror.refresh()
        rest: list[str] = []
        after = first.after
        while after is not None:
            page = await client.leads_after(LeadQuery(), limit=2, after=after, deadline=deadline())
            rest += [lead.id[-2:] for lead in page.items]
            after = page.after
        assert rest == ["02", "01", "00", "08"]  # nothing repeated; the new older lead is reached
        with pytest.raises(BadUserInput, match="cursor"):
            await client.leads_after(LeadQuery(), limit=2, after="not-a-cursor!", deadline=deadline())
        tenders = await client.tenders_after(TenderQuery(), limit=3, after=None, deadline=deadline())
        assert tenders.total == 7
        nxt = await client.tenders_after(TenderQuery(), limit=10, after=tenders.after, deadline=deadline())
        assert not {t.reference for t in tenders.items} & {t.reference for t in nxt.items}
        assert nxt.after is None


# -- followers, writers, settings -------------------------------------------------------------------------------------


async def test_a_follower_reads_what_the_writer_wrote(tmp_path: Path) -> None:
    fake = FakeContractsFinder([tender_release(1, NOW - timedelta(hours=3))])
    clock = Clock(NOW)
    async with contracts_finder(tmp_path, fake, clock) as writer:
        async with contracts_finder(tmp_path, fake, clock, writer=False) as follower:
            assert not follower.mirror.ready("lead")
            with pytest.raises(RuntimeError, match="follows"):
                await follower.mirror.refresh()
            await writer.mirror.refresh()
            assert await follower.mirror.follow() is True
            assert follower.mirror.statuses()[0].last_success == NOW
            page = await follower.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
            assert page.total == 1
            assert await follower.mirror.follow() is False
        with pytest.raises(MirrorDirectoryBusy):
            async with contracts_finder(tmp_path, fake, clock):
                pass


async def test_an_unknown_feed_is_refused(tmp_path: Path) -> None:
    async with contracts_finder(tmp_path, FakeContractsFinder(), Clock(NOW)) as client:
        with pytest.raises(ValueError, match="no feed"):
            await client.mirror.refresh(["open_tenders"])
        report = await client.mirror.refresh([FEED])
        assert report.outcomes[0].outcome == "unchanged"
        assert client.mirror.ready("lead")  # an empty window is still a window: answers are empty, not "not ready"
        assert (await client.search_leads(LeadQuery(), limit=5, offset=0, deadline=deadline())).total == 0


@pytest.mark.parametrize(
    ("name", "defaults"), [("contractsfinder", cf_adapter.DEFAULTS), ("findatender", fts_adapter.DEFAULTS)]
)
def test_the_settings_defaults_are_the_adapters(name: str, defaults: OcdsOptions) -> None:
    assert Settings().upstream_options(name) == asdict(defaults)
    assert defaults.overridden(Settings().upstream_options(name)) == defaults


def test_options_refuse_values_of_the_wrong_kind() -> None:
    defaults = cf_adapter.DEFAULTS
    assert defaults.overridden({"request_interval_s": 2, "unrelated": "x"}).request_interval_s == 2.0
    with pytest.raises(ValueError, match="must be a number"):
        defaults.overridden({"window_s": "a day"})
    with pytest.raises(ValueError, match="positive"):
        defaults.overridden({"window_s": 0})


def test_settings_refuse_a_zero_window() -> None:
    from gateway.settings import SettingsError

    with pytest.raises(SettingsError, match="GATEWAY_FINDATENDER_"):
        Settings.from_env({"GATEWAY_FINDATENDER_WINDOW_S": "0"})
    settings = Settings.from_env({"GATEWAY_CONTRACTSFINDER_BACKFILL_DAYS": "2"})
    assert settings.upstream_options("contractsfinder")["backfill_days"] == 2


async def test_a_data_directory_given_relative_to_the_working_directory_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakeContractsFinder([tender_release(1, NOW - timedelta(hours=3))])
    async with contracts_finder(Path("relative-data"), fake, Clock(NOW)) as client:
        await client.mirror.refresh()
        page = await client.search_leads(LeadQuery(), limit=10, offset=0, deadline=deadline())
        assert page.total == 1
