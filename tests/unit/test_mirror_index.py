"""The mirror pattern without HTTP: snapshots built from local files, queries on them, swaps, failures, the schedule,
and a 2,000-row generated CanadaBuys feed answering like the legacy Canadian imitation it was generated from."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import pickle
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.errors import MirrorNotReady, UpstreamTimeout
from gateway.models import DateRange, TenderQuery
from gateway.settings import Settings, SettingsError, parse_utc_offset
from gateway.upstreams.canadabuys import adapter
from gateway.upstreams.canadabuys.spec import SPEC as CANADABUYS
from gateway.upstreams.mirror import freshness
from gateway.upstreams.mirror import query as index
from gateway.upstreams.mirror.build import BuildPlan, BuildStopped, FeedInput, build_snapshot
from gateway.upstreams.mirror.disk import MirrorDirectory, MirrorDirectoryBusy
from gateway.upstreams.mirror.download import DownloadError, Fetched, Validators
from gateway.upstreams.mirror.feed import FeedFormatError, FeedSpec, IndexRecord, SearchText
from gateway.upstreams.mirror.mirror import FeedStatus, Mirror, RefreshReport
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.mirror.query import CodeFilter, IndexQuery, Match, Position, fts_expression
from gateway.upstreams.mirror.schedule import RefreshScheduler, start_refreshing
from gateway.upstreams.mirror.snapshot import Snapshot, SnapshotUnreadable
from gateway.upstreams.registry import UpstreamDeclarationError, mirror_opener
from sandbox.canada_data import generate_tenders, load_dataset
from sandbox.canada_records import Filters
from sandbox.canadabuys_data import tender_feed

TODAY = date(2026, 9, 1)
GENERATED_ROWS = 2000


# -- a small line-per-record source ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinesParser:
    """One JSON object a line: kind, key, version, sort, en/fr titles, buyer, codes, link, day, amount."""

    format: str = "lines-1"
    prefix_schemes: frozenset[str] = frozenset({"gsin"})

    def records(self, feed: str, path: Path) -> Iterator[IndexRecord]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            try:
                data = json.loads(line)
            except ValueError:
                raise FeedFormatError(feed, f"{path.name}: line {number} is not JSON") from None
            yield IndexRecord(
                kind=data.get("kind", "item"),
                key=data["key"],
                version=data.get("version", 0),
                sort=data.get("sort", ""),
                payload=json.dumps({**data, "feed": feed}).encode(),
                text=SearchText(
                    title_en=data.get("en", ""), title_fr=data.get("fr", ""), buyer_en=data.get("buyer", "")
                ),
                codes=tuple((scheme, code) for scheme, code in data.get("codes", [])),
                link=data.get("link"),
                day=data.get("day"),
                amount=data.get("amount"),
            )


@dataclass(frozen=True)
class GatedParser(LinesParser):
    """Blocks in the middle of building until `go` is set (and says when it got there)."""

    waiting: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)

    def records(self, feed: str, path: Path) -> Iterator[IndexRecord]:
        self.waiting.set()
        assert self.go.wait(10)
        yield from super().records(feed, path)


class LocalFiles:
    """The feed files, served from memory; `failure` makes every fetch fail."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.failure: str | None = None
        self.fetched: list[str] = []

    async def fetch(self, url: str, destination: Path, *, known: Validators | None, max_bytes: int) -> Fetched:
        self.fetched.append(url.rsplit("/", 1)[1])
        if self.failure:
            raise DownloadError(self.failure)
        body = self.files[url.rsplit("/", 1)[1]]
        validators = Validators(content_length=len(body), sha256=hashlib.sha256(body).hexdigest())
        if known is not None and known.sha256 == validators.sha256:
            return Fetched(validators, None)
        if len(body) > max_bytes:
            raise DownloadError("the file is larger than the mirror may use")
        await asyncio.to_thread(destination.write_bytes, body)
        return Fetched(validators, destination)


def lines(*records: dict[str, object]) -> bytes:
    return "\n".join(json.dumps(record) for record in records).encode()


def items(count: int, **extra: object) -> list[dict[str, object]]:
    return [{"key": f"k{i:03d}", "sort": f"{i:03d}", "en": f"item {i}", **extra} for i in range(1, count + 1)]


FEEDS = (
    FeedSpec("a", lambda day: ("a.jsonl",), interval_s=3600, window_s=7200, kinds=frozenset({"item"})),
    FeedSpec("b", lambda day: ("b.jsonl",), interval_s=3600, window_s=7200, kinds=frozenset({"item"})),
    FeedSpec("other", lambda day: ("other.jsonl",), interval_s=86400, window_s=90000, kinds=frozenset({"thing"})),
)
ALL = IndexQuery(kind="item")


@asynccontextmanager
async def opened(
    root: Path, source: LocalFiles, *, parser: LinesParser | None = None, max_bytes: int = 10**9
) -> AsyncIterator[Mirror]:
    mirror = Mirror(
        "testmirror",
        FEEDS,
        parser or LinesParser(),
        MirrorDirectory(root, max_bytes=max_bytes),
        source,
        base_url="http://files.test/",
        query_threads=2,
        today=lambda: TODAY,
    )
    await mirror.open()
    try:
        yield mirror
    finally:
        await mirror.close()


async def keys(mirror: Mirror, query: IndexQuery = ALL, **page: object) -> list[str]:
    found = await mirror.search(query, limit=int(page.pop("limit", 100)), timeout_s=5, **page)  # type: ignore[arg-type]
    return [json.loads(payload)["key"] for payload in found.payloads]


# -- readiness -------------------------------------------------------------------------------------------------------


async def test_queries_before_the_first_snapshot_answer_mirror_not_ready(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(3)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        with pytest.raises(MirrorNotReady) as raised:
            await mirror.search(ALL, limit=10, timeout_s=5)
        assert raised.value.as_extensions() == {
            "code": "MIRROR_NOT_READY",
            "upstream": "testmirror",
            "feeds": ["a", "b"],
        }
        assert "first refresh under way" in raised.value.message

        source.failure = "HTTP 403"
        report = await mirror.refresh()
        assert [outcome.outcome for outcome in report.outcomes] == ["failed", "failed", "failed"]
        with pytest.raises(MirrorNotReady, match="download failed: HTTP 403"):
            await mirror.search(ALL, limit=10, timeout_s=5)

        source.failure = None
        await mirror.refresh(["a"])
        assert mirror.ready("item")
        assert not mirror.ready("thing")  # its feed has not been fetched yet
        assert await keys(mirror) == ["k001", "k002", "k003"]
        with pytest.raises(MirrorNotReady):
            await mirror.search(IndexQuery(kind="thing"), limit=10, timeout_s=5)


async def test_a_query_past_its_deadline_is_not_run(tmp_path: Path) -> None:
    async with opened(tmp_path, LocalFiles({"a.jsonl": lines(*items(2)), "b.jsonl": b"", "other.jsonl": b""})) as m:
        await m.refresh()
        with pytest.raises(UpstreamTimeout):
            await m.search(ALL, limit=10, timeout_s=0)


# -- queries ---------------------------------------------------------------------------------------------------------


RECORDS = (
    {
        "key": "snow",
        "sort": "1",
        "en": "Snow removal services",
        "fr": "Services de déneigement",
        "buyer": "Parks Canada",
        "codes": [["gsin", "S206A"], ["region", "ON"], ["buyer", "parks canada"]],
        "day": "2026-09-10",
        "amount": 5000.0,
    },
    {
        "key": "waste",
        "sort": "2",
        "en": "Hazardous waste disposal",
        "fr": "Élimination des déchets dangereux",
        "buyer": "Public Works",
        "codes": [["gsin", "E108CA"], ["region", "NCR"], ["region", "ON"], ["buyer", "public works"]],
        "day": "2026-09-20",
        "amount": 250000.0,
    },
    {
        "key": "computers",
        "sort": "3",
        "en": "Computers",
        "fr": "Ordinateurs",
        "buyer": "Shared Services Canada",
        "codes": [["gsin", "N7021"], ["gsin", "N7030"], ["region", "QC"], ["buyer", "shared services canada"]],
        "day": "2026-10-01",
    },
)


@pytest.fixture
async def three(tmp_path: Path) -> AsyncIterator[Mirror]:
    async with opened(tmp_path, LocalFiles({"a.jsonl": lines(*RECORDS), "b.jsonl": b"", "other.jsonl": b""})) as m:
        await m.refresh()
        yield m


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        (["snow"], ["snow"]),
        (["DÉNEIGEMENT"], ["snow"]),  # French, case and accents folded
        (["deneigement"], ["snow"]),
        (["elimination dechets"], ["waste"]),  # every word of a keyword
        (["ordinateurs", "snow"], ["snow", "computers"]),  # any keyword
        (["shared services"], ["computers"]),  # the buyer
        (['"quoted" OR (syntax*'], []),  # user text is never FTS syntax
        (["removal waste"], []),
    ],
)
async def test_full_text_in_both_languages(three: Mirror, keywords: list[str], expected: list[str]) -> None:
    words = fts_expression(keywords)
    assert await keys(three, IndexQuery(kind="item", words=words)) == expected


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((CodeFilter("gsin", ("N70",), Match.PREFIX),), ["computers"]),
        ((CodeFilter("gsin", ("N", "S2"), Match.PREFIX),), ["snow", "computers"]),
        ((CodeFilter("gsin", ("N7021A",), Match.PREFIX),), []),
        ((CodeFilter("region", ("ON",)),), ["snow", "waste"]),
        ((CodeFilter("region", ("O",)),), []),  # regions match exactly
        ((CodeFilter("region", ("ON",)), CodeFilter("gsin", ("E1",), Match.PREFIX)), ["waste"]),
        ((CodeFilter("buyer", ("canada",), Match.CONTAINS),), ["snow", "computers"]),
        ((CodeFilter("buyer", ()),), []),
    ],
)
async def test_code_filters(three: Mirror, codes: tuple[CodeFilter, ...], expected: list[str]) -> None:
    found = await three.search(IndexQuery(kind="item", codes=codes), limit=10, timeout_s=5)
    assert [json.loads(payload)["key"] for payload in found.payloads] == expected
    assert found.total == len(expected)


async def test_ranges_and_order(three: Mirror) -> None:
    assert await keys(three, IndexQuery(kind="item", day=("2026-09-15", None))) == ["waste", "computers"]
    assert await keys(three, IndexQuery(kind="item", day=(None, "2026-09-20"))) == ["snow", "waste"]
    assert await keys(three, IndexQuery(kind="item", amount=(10000.0, None))) == ["waste"]
    assert await keys(three, IndexQuery(kind="item", amount=(None, 10000.0))) == ["snow"]  # no amount: left out
    assert await keys(three, IndexQuery(kind="item", descending=True)) == ["computers", "waste", "snow"]
    words = fts_expression(["services", "dechets", "ordinateurs"])
    found = await three.search(IndexQuery(kind="item", words=words, descending=True), limit=1, offset=1, timeout_s=5)
    assert (found.total, [json.loads(p)["key"] for p in found.payloads]) == (3, ["waste"])


async def test_lookups_by_key_and_link(tmp_path: Path) -> None:
    records = [{"key": "t1", "link": "S-1"}, {"key": "t2", "link": "S-2"}]
    things = [{"kind": "thing", "key": f"a{i}", "sort": f"2026-0{i}", "link": "S-1"} for i in (1, 2)]
    source = LocalFiles({"a.jsonl": lines(*records), "b.jsonl": b"", "other.jsonl": lines(*things)})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        payload = await mirror.get("item", "t2", timeout_s=5)
        assert payload is not None
        assert json.loads(payload)["link"] == "S-2"
        assert await mirror.get("item", "nope", timeout_s=5) is None
        linked = await mirror.linked("thing", "S-1", limit=10, timeout_s=5)
        assert [json.loads(p)["key"] for p in linked] == ["a2", "a1"]  # latest first


# -- snapshots -------------------------------------------------------------------------------------------------------


async def test_the_latest_version_of_a_record_wins(tmp_path: Path) -> None:
    source = LocalFiles(
        {
            "a.jsonl": lines({"key": "n1", "version": 10, "en": "ten"}, {"key": "n2", "version": 0, "en": "a"}),
            "b.jsonl": lines({"key": "n1", "version": 9, "en": "nine"}, {"key": "n2", "version": 0, "en": "b"}),
            "other.jsonl": b"",
        }
    )
    async with opened(tmp_path, source) as mirror:
        report = await mirror.refresh()
        assert report.built is not None
        assert (report.built.rows, report.built.records) == ({"a": 2, "b": 2, "other": 0}, 2)
        found = await mirror.search(ALL, limit=10, timeout_s=5)
        documents = [json.loads(payload) for payload in found.payloads]
        assert [(d["key"], d["en"]) for d in documents] == [("n1", "ten"), ("n2", "b")]  # a tie: the later feed
        assert await keys(mirror, IndexQuery(kind="item", words=fts_expression(["nine"]))) == []
        assert await keys(mirror, IndexQuery(kind="item", words=fts_expression(["a"]))) == []


async def test_keyset_paging_across_a_swap_never_repeats_an_item(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(30)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        first = await mirror.search(ALL, limit=10, timeout_s=5)
        seen = [json.loads(p)["key"] for p in first.payloads]
        assert seen == [f"k{i:03d}" for i in range(1, 11)]
        descending = await mirror.search(IndexQuery(kind="item", descending=True), limit=5, timeout_s=5)

        changed = [item for item in items(30) if item["key"] not in {"k005", "k012"}]
        changed += [{"key": "k0105", "sort": "0105"}, {"key": "k0115", "sort": "0115"}]
        source.files["a.jsonl"] = lines(*changed)
        report = await mirror.refresh(["a"])
        assert report.built is not None

        cursor = Position.decode(first.positions[-1].encode())
        second = await mirror.search(ALL, limit=10, after=cursor, timeout_s=5)
        page = [json.loads(p)["key"] for p in second.payloads]
        assert page == ["k0105", "k011", "k0115", "k013", "k014", "k015", "k016", "k017", "k018", "k019"]
        assert not set(page) & set(seen)
        assert second.total == 30
        backwards = IndexQuery(kind="item", descending=True)
        later = await mirror.search(backwards, limit=3, after=descending.positions[-1], timeout_s=5)
        assert [json.loads(p)["key"] for p in later.payloads] == ["k025", "k024", "k023"]
        beyond = await mirror.search(ALL, limit=10, after=Position("999", "z"), timeout_s=5)
        assert (beyond.payloads, beyond.total) == ((), 30)


def test_cursors_are_opaque_and_checked() -> None:
    position = Position("2026-09-01T19:00:00Z", "cb-1/A")
    assert Position.decode(position.encode()) == position
    assert Position.decode("not a cursor!") is None
    assert Position.decode("WzEsMl0") is None  # [1,2]: not two strings


async def test_a_failed_refresh_keeps_the_last_snapshot_serving(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(5)), "b.jsonl": lines(*items(2)), "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        serving = mirror.snapshot_path
        good = mirror.statuses()[0]
        assert good.last_success is not None
        assert good.rows == 5
        assert good.last_error is None

        source.files["a.jsonl"] = lines(*items(7)) + b"\n{broken"
        source.files["b.jsonl"] = lines(*items(3))
        report = await mirror.refresh(["a", "b"])
        assert [(o.feed, o.outcome) for o in report.outcomes] == [("a", "failed"), ("b", "updated")]
        assert report.failed[0].error is not None
        assert "line 8 is not JSON" in report.failed[0].error
        status = mirror.statuses()[0]
        assert status.last_error is not None
        assert "file rejected" in status.last_error
        assert (status.last_success, status.rows) == (good.last_success, 5)  # feed a still serves its last file
        assert mirror.snapshot_path != serving  # b's update was built with a's previous file
        assert len(await keys(mirror)) == 5

        source.failure = "connection refused"
        report = await mirror.refresh()
        assert report.built is None
        assert len(await keys(mirror)) == 5
        assert all(s.last_error == "download failed: connection refused" for s in mirror.statuses())


async def test_a_refresh_that_outgrows_the_disk_bound_keeps_serving(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(3)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        source.files["a.jsonl"] = lines(*items(2000, en="x" * 100))
        # room for the new file, not for a snapshot built from it
        mirror.directory.max_bytes = mirror.directory.usage() + len(source.files["a.jsonl"]) + 50_000
        report = await mirror.refresh(["a"])
        assert report.failed
        assert report.failed[0].error is not None
        assert report.failed[0].error.startswith("snapshot build failed: the snapshot grew past")
        assert await keys(mirror) == ["k001", "k002", "k003"]
        assert mirror.directory.usage() <= mirror.directory.max_bytes
        assert not list(mirror.directory.snapshots.glob("*.building*"))

        mirror.directory.max_bytes = mirror.directory.usage() + 1000
        report = await mirror.refresh(["a"])
        assert report.failed[0].error == "download failed: the file is larger than the mirror may use"


async def test_reads_never_wait_for_a_refresh(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(40)), "b.jsonl": b"", "other.jsonl": b""})
    parser = GatedParser()
    parser.go.set()
    async with opened(tmp_path, source, parser=parser) as mirror:
        await mirror.refresh()
        old = mirror.snapshot_path
        parser.go.clear()
        parser.waiting.clear()
        source.files["a.jsonl"] = lines(*items(41))
        refreshing = asyncio.create_task(mirror.refresh(["a"]))
        assert await asyncio.to_thread(parser.waiting.wait, 10)
        answers = await asyncio.wait_for(
            asyncio.gather(*(mirror.search(ALL, limit=5, timeout_s=5) for _ in range(60))), timeout=5
        )
        assert {answer.total for answer in answers} == {40}
        assert not refreshing.done()  # the build is still blocked: none of the queries waited for it
        parser.go.set()
        await refreshing
        assert (await mirror.search(ALL, limit=1, timeout_s=5)).total == 41
        assert old is not None
        assert old.exists()  # kept for processes following the directory, until the next build starts
        source.files["a.jsonl"] = lines(*items(42))
        await mirror.refresh(["a"])
        assert not old.exists()
        assert mirror.snapshot_path is not None
        assert len(list(mirror.directory.snapshots.iterdir())) == 2  # the serving one and the one before it


def test_a_retired_snapshot_closes_when_its_last_reader_is_done(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    data.write_bytes(lines(*items(3)))
    result = build_snapshot(BuildPlan(tmp_path / "s.building", (FeedInput("a", (data,)),), LinesParser()))
    path = result.path.rename(tmp_path / "s.sqlite")
    snapshot = Snapshot(path)
    reading, finish = threading.Event(), threading.Event()
    lease = snapshot.lease()

    def slow_query(connection: object) -> int:
        reading.set()
        assert finish.wait(10)
        return 1

    reader = threading.Thread(target=lease.run, args=(slow_query,))
    reader.start()
    assert reading.wait(10)
    snapshot.retire()
    assert snapshot.readers == 1
    finish.set()
    reader.join(10)
    assert snapshot.readers == 0
    with pytest.raises(SnapshotUnreadable):
        snapshot.lease()  # closed: new queries go to the snapshot that replaced it
    assert path.exists()  # the writer removes it when it builds the next one


def test_a_build_stops_when_asked_and_leaves_no_file(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    data.write_bytes(lines(*items(3)))
    plan = BuildPlan(tmp_path / "s.building", (FeedInput("a", (data,)),), LinesParser(), should_stop=lambda: True)
    with pytest.raises(BuildStopped):
        build_snapshot(plan)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jsonl"]


def test_a_build_plan_pickles_for_a_process_pool(tmp_path: Path) -> None:
    inputs = (FeedInput("open_tenders", (tmp_path / "f.csv",), "{}"),)
    parser = adapter.CanadaBuysParser(timedelta(hours=-4))
    plan = BuildPlan(tmp_path / "s.building", inputs, parser, max_bytes=10, meta={"mirror": "x"})
    assert pickle.loads(pickle.dumps(plan)) == plan


async def test_a_restarted_mirror_serves_its_last_snapshot_at_once(tmp_path: Path) -> None:
    source = LocalFiles(
        {"a.jsonl": lines(*items(4)), "b.jsonl": b"", "other.jsonl": lines({"kind": "thing", "key": "t"})}
    )
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        before = mirror.statuses()
        with pytest.raises(MirrorDirectoryBusy):
            MirrorDirectory(tmp_path, max_bytes=10**9).open()
    source.failure = "offline"
    async with opened(tmp_path, source) as restarted:
        assert restarted.ready("item")
        assert restarted.ready("thing")
        assert len(await keys(restarted)) == 4
        assert [(s.rows, s.last_success) for s in restarted.statuses()] == [(s.rows, s.last_success) for s in before]
        assert source.fetched == ["a.jsonl", "b.jsonl", "other.jsonl"]  # nothing fetched on restart


async def test_unchanged_files_are_not_rebuilt(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(4)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        serving = mirror.snapshot_path
        report = await mirror.refresh()
        assert report.built is None
        assert {outcome.outcome for outcome in report.outcomes} == {"unchanged"}
        assert mirror.snapshot_path == serving


# -- the schedule ----------------------------------------------------------------------------------------------------


class ScheduledMirror:
    def __init__(self, statuses: tuple[FeedStatus, ...]) -> None:
        self._statuses = statuses
        self.refreshed: list[tuple[str, ...]] = []

    def statuses(self) -> tuple[FeedStatus, ...]:
        return self._statuses

    async def refresh(self, feeds: object = None) -> RefreshReport:
        self.refreshed.append(tuple(feeds))  # type: ignore[call-overload]
        return RefreshReport(())


class RecordingLock:
    def __init__(self) -> None:
        self.events: list[str] = []

    @asynccontextmanager
    async def hold(self, feed: str) -> AsyncIterator[None]:
        self.events.append(f"hold {feed}")
        yield
        self.events.append(f"release {feed}")


NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def status(name: str, **values: object) -> FeedStatus:
    return FeedStatus(name, "", interval_s=3600, window_s=7200, **values)  # type: ignore[arg-type]


async def test_the_schedule_refreshes_due_feeds_together_under_their_locks() -> None:
    mirror = ScheduledMirror(
        (
            status("old", last_success=NOW - timedelta(hours=2)),
            status("fresh", last_success=NOW - timedelta(minutes=10)),
            status("never"),
            status("failing", last_success=NOW - timedelta(hours=3), last_error_at=NOW - timedelta(minutes=5)),
        )
    )
    lock = RecordingLock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 1:
            raise asyncio.CancelledError

    scheduler = RefreshScheduler(mirror, lock=lock, now=lambda: NOW, sleep=sleep, retry_after_failure_s=900)
    assert scheduler.due() == ("old", "never")
    assert scheduler.due_at(mirror.statuses()[3]) == NOW + timedelta(minutes=10)  # retried 15 min after failing
    with pytest.raises(asyncio.CancelledError):
        await scheduler.run()
    assert sleeps == [0.0, 1.0]  # due at once, then a pause after the refresh
    assert mirror.refreshed == [("old", "never")]
    assert lock.events == ["hold never", "hold old", "release old", "release never"]


async def test_the_schedule_waits_for_the_next_due_feed() -> None:
    mirror = ScheduledMirror((status("fresh", last_success=NOW - timedelta(minutes=10)),))
    scheduler = RefreshScheduler(mirror, now=lambda: NOW)
    assert scheduler.due() == ()
    assert scheduler.seconds_until_due() == 50 * 60
    assert await scheduler.run_once() is None
    assert mirror.refreshed == []


async def test_refreshing_in_the_background_stops_with_its_stack() -> None:
    mirror = ScheduledMirror((status("never"),))
    async with AsyncExitStack() as stack:
        task = start_refreshing(RefreshScheduler(mirror, now=lambda: NOW, retry_after_failure_s=3600), stack)
        for _ in range(100):
            if mirror.refreshed:
                break
            await asyncio.sleep(0.01)
        assert mirror.refreshed == [("never",)]  # and not again within the pause
    assert task.cancelled()


# -- a 2,000-row generated CanadaBuys feed ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshot]:
    folder = tmp_path_factory.mktemp("generated")
    feed = folder / "openTenderNotice-ouvertAvisAppelOffres.csv"
    feed.write_bytes(tender_feed(1729, GENERATED_ROWS, TODAY))
    plan = BuildPlan(folder / "s.building", (FeedInput("open_tenders", (feed,)),), adapter.CanadaBuysParser())
    result = build_snapshot(plan)
    assert result.rows == {"open_tenders": GENERATED_ROWS}
    snapshot = Snapshot(result.path.rename(folder / "s.sqlite"))
    yield snapshot
    snapshot.close()


def find(snapshot: Snapshot, query: TenderQuery, **page: object) -> tuple[list[str], int]:
    found = snapshot.lease().run(
        lambda connection: index.search(connection, adapter.tender_query(query), limit=3000, **page)  # type: ignore[arg-type]
    )
    references = [tender.reference for payload in found.payloads if (tender := adapter.decode_tender(payload))]
    return references, found.total


LEGACY = {tender.tender: searchable for tender, searchable in generate_tenders(1729, GENERATED_ROWS, TODAY)}


def legacy(filters: Filters) -> set[str]:
    dataset = load_dataset(1729, 1, TODAY, None)  # the legacy imitation's own catalogue (its first 2,000 tenders)
    found = dataset.tenders.find(filters, limit=10**6, not_before=TODAY.isoformat())
    return {tender.tender for tender in found if tender.tender in LEGACY}


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        (TenderQuery(gsins=("N70",)), Filters(gsins=("N70",))),
        (TenderQuery(gsins=("R0", "V2")), Filters(gsins=("R0", "V2"))),
        (TenderQuery(delivery_regions=("ON",)), Filters(regions={"delivery": ("ON",)})),
        (TenderQuery(delivery_regions=("NCR", "YT")), Filters(regions={"delivery": ("NCR", "YT")})),
        (TenderQuery(opportunity_regions=("CAN",)), Filters(regions={"opportunity": ("CAN",)})),
        (TenderQuery(keywords=("computers",)), Filters(keywords=("COMPUTERS",))),
        (TenderQuery(keywords=("déneigement",)), Filters(keywords=("DENEIGEMENT",))),
        (TenderQuery(keywords=("Halifax",)), Filters(keywords=("HALIFAX",))),
        (TenderQuery(keywords=("Gendarmerie",)), Filters(keywords=("GENDARMERIE",))),
    ],
)
def test_the_generated_feed_answers_like_the_legacy_imitation(
    generated: Snapshot, query: TenderQuery, filters: Filters
) -> None:
    references, total = find(generated, query)
    expected = legacy(filters)
    assert expected, "a filter that matches nothing proves nothing"
    assert set(references) == expected
    assert total == len(expected)


def test_the_generated_feed_in_closing_order_with_a_closing_range(generated: Snapshot) -> None:
    window = DateRange(TODAY + timedelta(days=10), TODAY + timedelta(days=20))
    references, total = find(generated, TenderQuery(closing=window))
    expected = {
        reference
        for reference, searchable in LEGACY.items()
        if searchable.sort_date and window.start.isoformat() <= searchable.sort_date <= window.end.isoformat()  # type: ignore[union-attr]
    }
    assert set(references) == expected
    assert total == len(expected)
    everything, count = find(generated, TenderQuery())
    assert count == GENERATED_ROWS
    assert len(set(everything)) == GENERATED_ROWS
    closings = [LEGACY[reference].sort_date for reference in everything]
    assert closings == sorted(closings)  # (closing moment, reference) order


def test_paging_the_generated_feed_with_a_cursor_visits_every_notice_once(generated: Snapshot) -> None:
    query = adapter.tender_query(TenderQuery(gsins=("N",)))
    visited: list[str] = []
    after: Position | None = None
    while True:
        found = generated.lease().run(lambda c: index.search(c, query, limit=97, after=after))  # noqa: B023
        visited += [json.dumps(p.key) for p in found.positions]
        if len(found.payloads) < 97:
            break
        after = found.positions[-1]
    assert len(visited) == len(set(visited)) == found.total


# -- one writer, followers ---------------------------------------------------------------------------------------


@asynccontextmanager
async def following(root: Path) -> AsyncIterator[Mirror]:
    """A process that follows the directory another process refreshes (no lock, no downloads)."""
    mirror = Mirror(
        "testmirror",
        FEEDS,
        LinesParser(),
        MirrorDirectory(root, max_bytes=10**9),
        LocalFiles({}),
        base_url="http://files.test/",
        query_threads=2,
        today=lambda: TODAY,
        writer=False,
    )
    await mirror.open()
    try:
        yield mirror
    finally:
        await mirror.close()


async def test_followers_serve_what_the_writer_builds_and_see_its_failures(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(3)), "b.jsonl": b"", "other.jsonl": b""})
    async with following(tmp_path) as early:
        with pytest.raises(MirrorNotReady):
            await early.search(ALL, limit=10, timeout_s=5)
        async with opened(tmp_path, source) as writer:
            await writer.refresh()
            assert await early.follow() is True
            assert await keys(early) == ["k001", "k002", "k003"]
            assert early.statuses() == writer.statuses()
            async with following(tmp_path) as late:  # a second follower, and no lock taken by either
                assert await keys(late) == ["k001", "k002", "k003"]
                with pytest.raises(RuntimeError, match="follows"):
                    await late.refresh()

            source.files["a.jsonl"] = lines(*items(4))
            await writer.refresh(["a"])
            source.failure = "HTTP 403"
            await writer.refresh(["b"])
            assert await early.follow() is True
            assert len(await keys(early)) == 4
            assert await early.follow() is False  # nothing newer
            status = {s.name: s for s in early.statuses()}
            assert status["b"].last_error == "download failed: HTTP 403"
            assert status["a"].rows == 4
            assert status == {s.name: s for s in writer.statuses()}


async def test_a_restarted_writer_remembers_its_feeds_failures(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(2)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
        source.failure = "connection refused"
        await mirror.refresh(["a"])
        before = mirror.statuses()
    async with opened(tmp_path, source) as restarted:
        assert restarted.statuses() == before
        assert restarted.statuses()[0].last_error == "download failed: connection refused"


# -- answers from stale snapshots say so -----------------------------------------------------------------------------


async def test_reads_of_stale_feeds_are_reported_for_the_request(tmp_path: Path) -> None:
    clock = [datetime(2026, 9, 1, 12, tzinfo=UTC)]
    source = LocalFiles({"a.jsonl": lines(*items(2)), "b.jsonl": b"", "other.jsonl": b""})
    mirror = Mirror(
        "testmirror",
        FEEDS,
        LinesParser(),
        MirrorDirectory(tmp_path, max_bytes=10**9),
        source,
        base_url="http://files.test/",
        now=lambda: clock[0],
    )
    await mirror.open()
    try:
        await mirror.refresh(["a", "b"])
        with freshness.reporting() as fresh:
            await keys(mirror)
        assert not fresh
        clock[0] += timedelta(seconds=7201)  # past the window of "a" and "b" (7,200 s)
        await keys(mirror)  # outside a request: nothing to report to
        with freshness.reporting() as stale:
            await keys(mirror)
            await keys(mirror)
        assert stale.as_extensions() == {
            "testmirror": {
                "stale": True,
                "feeds": [
                    {
                        "feed": name,
                        "windowSeconds": 7200,
                        "ageSeconds": 7201,
                        "lastSuccess": "2026-09-01T12:00:00+00:00",
                    }
                    for name in ("a", "b")
                ],
            }
        }
        assert freshness.current_report() is None
    finally:
        await mirror.close()


@pytest.mark.parametrize(
    ("text", "offset"),
    [("-05:00", timedelta(hours=-5)), ("+05:30", timedelta(hours=5, minutes=30)), (" -04:00 ", timedelta(hours=-4))],
)
def test_the_closing_time_offset_setting(text: str, offset: timedelta) -> None:
    assert parse_utc_offset(text) == offset
    assert Settings(mirror_closing_time_offset=text).validate() is None


@pytest.mark.parametrize("text", ["-5", "EST", "-05:60", "+15:00", ""])
def test_a_closing_time_offset_that_is_no_utc_offset_is_refused(text: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_MIRROR_CLOSING_TIME_OFFSET"):
        Settings.from_env({"GATEWAY_MIRROR_CLOSING_TIME_OFFSET": text})


async def test_a_snapshot_of_another_format_is_not_served_and_is_rebuilt_from_the_kept_files(tmp_path: Path) -> None:
    source = LocalFiles({"a.jsonl": lines(*items(3)), "b.jsonl": b"", "other.jsonl": b""})
    async with opened(tmp_path, source) as mirror:
        await mirror.refresh()
    source.failure = "offline"  # the rebuild needs no download: the kept files suffice
    async with opened(tmp_path, source, parser=LinesParser(format="lines-2")) as upgraded:
        assert not upgraded.ready("item")
        assert all(status.last_success is None for status in upgraded.statuses())  # due at once
        report = await upgraded.refresh(["a"])
        assert report.built is not None
        assert await keys(upgraded) == ["k001", "k002", "k003"]


async def another_opener(settings: MirrorSettings, stack: AsyncExitStack) -> Mirror:
    raise AssertionError("never opened")


def sync_opener(settings: MirrorSettings, stack: AsyncExitStack) -> Mirror:
    raise AssertionError("never opened")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("tests.unit.test_mirror_index:nowhere", "cannot load its mirror opener"),
        ("tests.unit.no_such_module:another_opener", "cannot load its mirror opener"),
        ("tests.unit.test_mirror_index:sync_opener", "is not an async function"),
    ],
)
def test_a_mirror_opener_that_cannot_be_used_is_refused(path: str, problem: str) -> None:
    with pytest.raises(UpstreamDeclarationError, match=problem):
        mirror_opener(dataclasses.replace(CANADABUYS, mirror=path))
    assert mirror_opener(dataclasses.replace(CANADABUYS, mirror="tests.unit.test_mirror_index:another_opener"))
    assert mirror_opener(dataclasses.replace(CANADABUYS, mirror=None)) is None
    with pytest.raises(ValueError, match=r"package\.module:function"):
        dataclasses.replace(CANADABUYS, mirror="not-a-path")
