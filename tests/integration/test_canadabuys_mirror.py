"""The CanadaBuys mirror against the sandbox's imitation of the feeds (port 0): conditional refreshes, the 403 given
to bare clients, and faults (truncated file, missing column, 500, slow) that leave the last snapshot serving."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.__main__ import run_mirror_command
from gateway.cache.store import MemoryCache
from gateway.models import ContractQuery, TenderQuery
from gateway.redis import redis_client
from gateway.settings import Settings
from gateway.upstreams.canadabuys.adapter import CanadaBuysClient, open_canadabuys_mirror
from gateway.upstreams.canadabuys.feeds import OPEN_TENDERS_FILE
from gateway.upstreams.canadabuys.spec import SPEC
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.download import (
    Downloader,
    DownloadPolicy,
    DownloadRefused,
    Validators,
    browser_user_agent,
    open_download_session,
)
from gateway.upstreams.mirror.opening import MirrorSettings, host_of
from gateway.upstreams.mirror.redis_lock import RedisRefreshLock
from gateway.upstreams.registry import mirror_settings, open_upstreams, refresh_lock
from gateway.upstreams.spec import RecordKind
from sandbox.settings import SandboxSettings
from tests.e2e.processes import REPO_ROOT, without_gateway_settings
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import RunningSandbox, running_sandbox

TODAY = date(2026, 9, 1)
ROWS = 200
CONTACT = "mailto:ops@example.org"
FILES = (
    "newTenderNotice-nouvelAvisAppelOffres.csv",
    "openTenderNotice-ouvertAvisAppelOffres.csv",
    "2025-2026-awardNotice-avisAttribution.csv",
    "2026-2027-awardNotice-avisAttribution.csv",
    "contractHistoryComplete-contratsOctroyesComplet.csv",
)


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(SandboxSettings(today=TODAY)) as running:
        await knobs(running, rows=ROWS)
        yield running


async def knobs(sandbox: RunningSandbox, **values: Any) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/canadabuys"), json=values) as response:
        assert response.status == 200, await response.text()


async def hits(sandbox: RunningSandbox) -> dict[str, int]:
    async with sandbox.session.get(sandbox.url("_sandbox/canadabuys")) as response:
        data: dict[str, dict[str, int]] = await response.json()
    return data["hits"]


def count(found: dict[str, int], prefix: str) -> int:
    return sum(n for name, n in found.items() if name.startswith(prefix))


@asynccontextmanager
async def canadabuys(sandbox: RunningSandbox, folder: Path, **settings: Any) -> AsyncIterator[CanadaBuysClient]:
    async with AsyncExitStack() as stack:
        mirror = await open_canadabuys_mirror(
            MirrorSettings(
                data_dir=folder,
                base_url=sandbox.base_url,  # the site: the files are under opendata/pub/
                contact=CONTACT,
                replica="test",
                backoff_s=(0.0,),
                retries=2,
                **settings,
            ),
            stack,
            today=lambda: TODAY,
        )
        yield CanadaBuysClient(SPEC, mirror)


def deadline() -> Deadline:
    return Deadline.after(10)


async def total_tenders(client: CanadaBuysClient, query: TenderQuery | None = None) -> int:
    page = await client.search_tenders(query or TenderQuery(), limit=1, offset=0, deadline=deadline())
    assert page.total is not None
    return page.total


# -- refreshes -------------------------------------------------------------------------------------------------------


async def test_a_refresh_mirrors_every_feed(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        report = await client.mirror.refresh()
        assert [(o.feed, o.outcome) for o in report.outcomes] == [
            ("new_tenders", "updated"),
            ("open_tenders", "updated"),
            ("awards", "updated"),
            ("contract_history", "updated"),
        ]
        assert count(await hits(sandbox), "GET") == len(FILES)
        statuses = {status.name: status for status in client.feed_statuses()}
        assert statuses["open_tenders"].rows == ROWS
        assert statuses["open_tenders"].last_modified == "Tue, 01 Sep 2026 12:30:00 GMT"
        assert statuses["contract_history"].rows == ROWS  # revision 0: one row per contract
        assert client.stale_feeds(RecordKind.TENDER) == ()

        assert await total_tenders(client) == ROWS
        page = await client.search_tenders(TenderQuery(gsins=("N",)), limit=5, offset=0, deadline=deadline())
        assert page.items
        assert all(any(gsin.startswith("N") for gsin in tender.gsins) for tender in page.items)
        closings = [tender.closing_at for tender in page.items]
        assert closings == sorted(closings)  # type: ignore[type-var]

        contracts = await client.search_contracts(
            ContractQuery(), limit=100, offset=0, selection=frozenset(), deadline=deadline()
        )
        assert contracts.total is not None
        assert contracts.total > ROWS
        awarded = [contract.award_date for contract in contracts.items]
        assert awarded == sorted(awarded, reverse=True)  # type: ignore[type-var]

        linked = [(c, t) for c in contracts.items if (t := await client.tender_of(c, deadline=deadline()))]
        assert linked  # one award in four shares its solicitation number with a tender
        contract, tender = linked[0]
        assert contract.notice is not None
        assert tender.solicitation_number == contract.notice.solicitation_number
        awards = await client.awards_of(tender, deadline=deadline())
        assert contract.key in {award.key for award in awards}
        assert await client.tender(tender.reference, hint=None, deadline=deadline()) == tender
        assert await client.contract(contract.key, hint=None, selection=frozenset(), deadline=deadline()) == contract


async def test_an_unchanged_file_is_confirmed_with_head_alone(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        await client.mirror.refresh()
        first = {status.name: status.last_success for status in client.feed_statuses()}
        serving = client.mirror.snapshot_path
        report = await client.mirror.refresh()
        assert {o.outcome for o in report.outcomes} == {"unchanged"}
        assert report.built is None
        assert client.mirror.snapshot_path == serving
        found = await hits(sandbox)
        assert (count(found, "GET"), count(found, "HEAD")) == (len(FILES), len(FILES))
        assert all(s.last_success and s.last_success > first[s.name] for s in client.feed_statuses())  # type: ignore[operator]


async def test_if_modified_since_and_the_sha256_fallback(sandbox: RunningSandbox, tmp_path: Path) -> None:
    url = sandbox.url(f"opendata/pub/{OPEN_TENDERS_FILE}")
    policy = DownloadPolicy(user_agent=browser_user_agent("gw", "1", CONTACT), allowed_host=host_of(url), retries=0)
    async with open_download_session() as session:
        downloader = Downloader(session, policy)
        fresh = await downloader.fetch(url, tmp_path / "open.csv", known=None, max_bytes=10**8)
        assert fresh.path is not None
        body = fresh.path.read_bytes()
        assert body.startswith(b'\xef\xbb\xbf"title-titre-eng"')
        assert fresh.validators.sha256 == hashlib.sha256(body).hexdigest()
        assert fresh.validators.content_length == len(body)

        # No stored length: no HEAD shortcut; If-Modified-Since answers 304.
        modified_only = Validators(last_modified=fresh.validators.last_modified)
        unchanged = await downloader.fetch(url, tmp_path / "again.csv", known=modified_only, max_bytes=10**8)
        assert unchanged.path is None
        assert not (tmp_path / "again.csv").exists()
        # Validators that do not match: the body is fetched, and its sha256 tells it is the same file.
        stale = Validators("Wed, 01 Jan 2020 00:00:00 GMT", 1, fresh.validators.sha256)
        same = await downloader.fetch(url, tmp_path / "again.csv", known=stale, max_bytes=10**8)
        assert (same.path, same.validators) == (None, fresh.validators)
        with pytest.raises(Exception, match="more than the 1000 the mirror may use"):
            await downloader.fetch(url, tmp_path / "big.csv", known=None, max_bytes=1000)
    found = await hits(sandbox)
    assert (found[f"GET {OPEN_TENDERS_FILE} 304"], found[f"HEAD {OPEN_TENDERS_FILE} 200"]) == (1, 1)
    assert found[f"GET {OPEN_TENDERS_FILE} 200"] == 3


async def test_a_new_publication_is_swapped_in(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        await client.mirror.refresh()
        first = await client.tenders_after(TenderQuery(), limit=50, after=None, deadline=deadline())
        assert first.after is not None
        assert first.total == ROWS
        await knobs(sandbox, revision=1)
        report = await client.mirror.refresh()
        assert {o.outcome for o in report.outcomes} == {"updated"}
        everything = await client.search_tenders(TenderQuery(), limit=100, offset=0, deadline=deadline())
        amended = [tender for tender in everything.items if tender.notice and tender.notice.amendment == 1]
        assert amended  # every twentieth notice was amended
        rest = []
        after: str | None = first.after
        while after is not None:
            page = await client.tenders_after(TenderQuery(), limit=50, after=after, deadline=deadline())
            rest += [tender.reference for tender in page.items]
            after = page.after
        seen = [tender.reference for tender in first.items]
        assert not set(seen) & set(rest)
        assert len(seen) + len(rest) == ROWS
        history = await client.search_contracts(
            ContractQuery(keywords="awarded"), limit=1, offset=0, selection=frozenset(), deadline=deadline()
        )
        assert history.total is not None
        assert history.total > 0


# -- refusals and faults ---------------------------------------------------------------------------------------------


async def test_bare_clients_are_refused_unless_primed(sandbox: RunningSandbox, tmp_path: Path) -> None:
    url = sandbox.url(f"opendata/pub/{OPEN_TENDERS_FILE}")
    bare = DownloadPolicy(user_agent="python-requests/2.32.3", allowed_host=host_of(url), retries=0)
    async with open_download_session() as session:
        with pytest.raises(DownloadRefused, match="HTTP 403"):
            await Downloader(session, bare).fetch(url, tmp_path / "x.csv", known=None, max_bytes=10**8)
        primed = DownloadPolicy(
            user_agent="python-requests/2.32.3",
            allowed_host=host_of(url),
            prime_url=sandbox.url("en/procurement-and-contracting-data"),
            retries=0,
        )
        fetched = await Downloader(session, primed).fetch(url, tmp_path / "x.csv", known=None, max_bytes=10**8)
        assert fetched.path is not None
    found = await hits(sandbox)
    assert found[f"GET {OPEN_TENDERS_FILE} 403"] == 2
    assert found["GET data-page 200"] == 1


async def test_a_cold_403_without_cookie_priming_keeps_the_last_snapshot(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    async with canadabuys(sandbox, tmp_path / "unprimed", prime_cookies=False) as client:
        await client.mirror.refresh()
        await knobs(sandbox, cookie_required=True, revision=1)
        report = await client.mirror.refresh()
        assert {o.outcome for o in report.outcomes} == {"failed"}
        assert all("HTTP 403" in (status.last_error or "") for status in client.feed_statuses())
        assert await total_tenders(client) == ROWS
        page = await client.search_tenders(TenderQuery(), limit=100, offset=0, deadline=deadline())
        assert all(t.notice and t.notice.amendment == 0 for t in page.items)  # the previous publication
    async with canadabuys(sandbox, tmp_path / "primed") as client:
        report = await client.mirror.refresh()
        assert {o.outcome for o in report.outcomes} == {"updated"}
    assert (await hits(sandbox))["GET data-page 200"] == 1


@pytest.mark.parametrize(
    ("fault", "failure"),
    [
        ({"truncate": True}, "truncated or damaged|not readable CSV"),
        ({"missing_column": "solicitationNumber-numeroSollicitation"}, "lacks the column.s. solicitationNumber"),
        ({"error_status": 500}, "failed 3 times: HTTP 500"),
    ],
)
async def test_a_faulty_publication_keeps_the_last_snapshot_serving(
    sandbox: RunningSandbox, tmp_path: Path, fault: dict[str, Any], failure: str
) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        await client.mirror.refresh()
        serving = client.mirror.snapshot_path
        await knobs(sandbox, revision=1, **fault)
        report = await client.mirror.refresh()
        assert [o.outcome for o in report.outcomes] == ["failed"] * 4
        assert report.built is None
        assert client.mirror.snapshot_path == serving
        for status in client.feed_statuses():
            assert status.last_error is not None
            assert status.last_success is not None  # from the first refresh
        assert all(re.search(failure, status.last_error or "") for status in client.feed_statuses())
        assert await total_tenders(client) == ROWS
        assert not list((tmp_path / "canadabuys-test" / "incoming").glob("**/*.csv"))
        await knobs(sandbox, truncate=False, missing_column=None, error_status=None)
        report = await client.mirror.refresh()
        assert {o.outcome for o in report.outcomes} == {"updated"}
        assert all(status.last_error is None for status in client.feed_statuses())


async def test_redirects_are_followed_on_the_configured_host_only(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        await knobs(sandbox, redirect_to=sandbox.url("opendata/pub/current/{name}").replace("127.0.0.1", "localhost"))
        report = await client.mirror.refresh(["open_tenders"])
        assert report.failed
        assert "refused to follow" in (report.failed[0].error or "")
        await knobs(sandbox, redirect_to="/opendata/pub/current/{name}")
        report = await client.mirror.refresh(["open_tenders"])
        assert [o.outcome for o in report.outcomes] == ["updated"]
        assert await total_tenders(client) == ROWS


async def test_queries_neither_fail_nor_wait_during_a_slow_refresh(sandbox: RunningSandbox, tmp_path: Path) -> None:
    async with canadabuys(sandbox, tmp_path) as client:
        await client.mirror.refresh()
        await knobs(sandbox, revision=1, latency_ms=2000)
        refreshing = asyncio.create_task(client.mirror.refresh(["open_tenders"]))  # HEAD and GET: 4 s at least
        await asyncio.sleep(0.2)
        totals = await asyncio.gather(*(total_tenders(client, TenderQuery(keywords=("services",))) for _ in range(200)))
        assert not refreshing.done()  # all 200 answered while the refresh still waited for the slow file
        assert len(set(totals)) == 1
        assert totals[0] > 0
        report = await refreshing
        assert {o.outcome for o in report.outcomes} == {"updated"}


async def test_the_imitated_server(sandbox: RunningSandbox) -> None:
    browser = {"User-Agent": browser_user_agent("gw", "1", CONTACT)}
    url = sandbox.url(f"opendata/pub/{OPEN_TENDERS_FILE}")
    async with sandbox.session.head(url, headers=browser) as response:
        assert response.status == 200
        assert response.headers["Last-Modified"] == "Tue, 01 Sep 2026 12:30:00 GMT"
        assert int(response.headers["Content-Length"]) > 0
        assert await response.read() == b""
    async with sandbox.session.get(url, headers={**browser, "If-Modified-Since": "Tue, 01 Sep 2026 12:30:00 GMT"}) as r:
        assert r.status == 304
    async with sandbox.session.get(sandbox.url("opendata/pub/nothing.csv"), headers=browser) as response:
        assert response.status == 404
    async with sandbox.session.get(sandbox.url("en/procurement-and-contracting-data")) as response:
        assert response.status == 200
        assert "cb_session" in response.cookies
    for bad in ({"rows": 0}, {"truncate": "yes"}, {"error_status": 200}, {"colour": "red"}):
        async with sandbox.session.put(sandbox.url("_sandbox/canadabuys"), json=bad) as response:
            assert response.status == 400, bad
    await knobs(sandbox, latency_ms=5)
    await sandbox.reset()
    async with sandbox.session.get(sandbox.url("_sandbox/canadabuys")) as response:
        assert (await response.json()) == {"knobs": FEED_KNOBS, "hits": {}}


FEED_KNOBS = {
    "rows": None,
    "revision": 0,
    "latency_ms": 0.0,
    "error_status": None,
    "truncate": False,
    "missing_column": None,
    "browser_only": True,
    "cookie_required": False,
    "redirect_to": None,
}


# -- the registry opens it, replicas take turns, the CLI refreshes it --------------------------------------------------


def mirrored_settings(sandbox: RunningSandbox, folder: Path, **fields: str) -> Settings:
    environ = {
        "GATEWAY_CANADABUYS_URL": sandbox.base_url,
        "GATEWAY_MIRROR_DATA_DIR": str(folder),
        "GATEWAY_MIRROR_REPLICA": "test",
        "GATEWAY_MIRROR_CONTACT": CONTACT,
        **{f"GATEWAY_{name.upper()}": value for name, value in fields.items()},
    }
    return Settings.from_env(environ)


async def test_the_registry_opens_the_mirror_and_refreshes_it_in_process(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        settings = mirrored_settings(sandbox, tmp_path)
        upstreams = await open_upstreams(settings, stack, MemoryCache(max_entries=10, max_bytes=10_000))
        found = upstreams.get("canadabuys")
        assert found is not None
        assert (found.configured, found.http) == (True, None)
        assert found.mirror is not None
        client = upstreams.tenders("canadabuys")
        assert isinstance(client, CanadaBuysClient)
        assert client.mirror is found.mirror
        assert upstreams.contracts("canadabuys") is client
        for _ in range(300):  # the first refresh starts at once, in the background
            if found.mirror.ready("tender") and found.mirror.ready("contract"):
                break
            await asyncio.sleep(0.05)
        assert await total_tenders(client) == ROWS  # the sandbox refuses bare clients: a browser-shaped agent

    opened = mirror_settings(settings, sandbox.base_url, writer=False)
    assert (opened.data_dir, opened.replica, opened.contact, opened.writer) == (tmp_path, "test", CONTACT, False)
    assert (opened.product, opened.local_time_offset) == ("procurement-gateway", timedelta(hours=-5))
    assert browser_user_agent(opened.product, opened.version, opened.contact).endswith(
        f" procurement-gateway/{opened.version} (+{CONTACT})"
    )


async def test_replicas_take_turns_and_refresh_without_redis_when_it_is_away() -> None:
    url = require_redis()
    redis = redis_client(url, timeout_s=0.5, pool_size=4)
    prefix = unique_namespace("mirror-lock") + ":"
    first = RedisRefreshLock(redis, prefix, ttl_s=0.3, poll_s=0.02)
    second = RedisRefreshLock(redis, prefix, ttl_s=0.3, poll_s=0.02)
    events: list[str] = []

    async def refresh(lock: RedisRefreshLock, name: str, seconds: float) -> None:
        async with lock.hold("open_tenders"):
            events.append(f"{name} starts")
            await asyncio.sleep(seconds)
            events.append(f"{name} ends")

    try:
        holder = asyncio.create_task(refresh(first, "a", 1.0))  # longer than the TTL: renewed while held
        await asyncio.sleep(0.1)
        await asyncio.gather(holder, refresh(second, "b", 0.0))
        assert events == ["a starts", "a ends", "b starts", "b ends"]
        assert await redis.exists([first.key("open_tenders")]) == 0  # released
        async with first.hold("awards"), second.hold("contract_history"):  # other feeds: no waiting
            events.append("both")
    finally:
        redis.connection_pool.disconnect()
    away = redis_client("redis://127.0.0.1:9/0", timeout_s=0.2, pool_size=1)
    started = asyncio.get_running_loop().time()
    async with RedisRefreshLock(away, prefix).hold("open_tenders"):
        assert asyncio.get_running_loop().time() - started < 2.0
    away.connection_pool.disconnect()


async def run_gateway_cli(*arguments: str, environment: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *arguments,
        env={**without_gateway_settings(), **environment},
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def test_mirror_refresh_and_status_from_the_command_line(
    sandbox: RunningSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = {
        "GATEWAY_CANADABUYS_URL": sandbox.base_url,
        "GATEWAY_MIRROR_DATA_DIR": str(tmp_path),
        "GATEWAY_MIRROR_REPLICA": "cli",
        "GATEWAY_MIRROR_CONTACT": CONTACT,
        "GATEWAY_MIRROR_REFRESH_IN_PROCESS": "false",
    }
    code, stdout, stderr = await run_gateway_cli("mirror", "refresh", "--feed", "open_tenders", environment=environment)
    assert code == 0, stderr
    assert "canadabuys open_tenders: updated" in stdout
    assert re.search(rf"open_tenders\s+{ROWS}\s+\d{{4}}-", stdout)
    code, stdout, stderr = await run_gateway_cli("mirror", "status", environment=environment)
    assert code == 0, stderr
    assert re.search(rf"open_tenders\s+{ROWS}\s+\d{{4}}-\S+\s+0\.0 h\s+no\s+-", stdout)
    assert re.search(r"new_tenders\s+0\s+-\s+-\s+yes", stdout)  # not refreshed yet

    # the same commands in this process (a process start costs seconds)
    settings = Settings.from_env(environment)

    async def command(*arguments: str) -> tuple[int, str, str]:
        args = argparse.Namespace(mirror_command=arguments[0], feed=list(arguments[1:]) or None, source=None)
        code = await run_mirror_command(settings, args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert (await command("refresh", "nope"))[0] == 2
    await knobs(sandbox, missing_column="contractNumber-numeroContrat")
    code, stdout, _ = await command("refresh", "awards")
    assert code == 1  # a feed failed: the exit status says so
    assert "canadabuys awards: failed (file rejected" in stdout
    async with AsyncExitStack() as stack:  # a gateway process refreshing in-process holds the directory
        await open_canadabuys_mirror(
            MirrorSettings(data_dir=tmp_path, base_url=sandbox.base_url, contact=CONTACT, replica="cli"), stack
        )
        code, _, stderr = await command("refresh")
        assert code == 1
        assert "GATEWAY_MIRROR_REFRESH_IN_PROCESS=false" in stderr
        assert (await command("status"))[0] == 0  # reading needs no lock
    unconfigured = await run_mirror_command(Settings(), argparse.Namespace(mirror_command="status", source=None))
    assert (unconfigured, "not configured" in capsys.readouterr().err) == (2, True)


async def test_with_redis_the_registry_refreshes_under_the_shared_lock(sandbox: RunningSandbox, tmp_path: Path) -> None:
    url = require_redis()
    namespace = unique_namespace("mirror-registry")
    settings = mirrored_settings(sandbox, tmp_path, redis_url=url, redis_namespace=namespace)
    async with AsyncExitStack() as stack:
        lock = refresh_lock(settings, stack, "canadabuys")
        assert isinstance(lock, RedisRefreshLock)
        assert lock.key("open_tenders") == f"{namespace}:mirror-refresh:canadabuys:open_tenders"
        assert refresh_lock(mirrored_settings(sandbox, tmp_path), stack, "canadabuys") is None
        async with lock.hold("open_tenders"):  # another replica refreshing: this one's first refresh waits
            upstreams = await open_upstreams(settings, stack, MemoryCache(max_entries=10, max_bytes=10_000))
            found = upstreams.get("canadabuys")
            assert found is not None
            assert found.mirror is not None
            await asyncio.sleep(0.5)
            assert not found.mirror.ready("tender")
        for _ in range(300):
            if found.mirror.ready("tender"):
                break
            await asyncio.sleep(0.05)
        assert found.mirror.ready("tender")


async def test_a_holder_cancelled_while_it_releases_the_lock_stays_cancelled() -> None:
    """The scheduler is stopped by cancelling it; cancelled while the lock stops renewing, it must not go on."""
    redis = redis_client(require_redis(), timeout_s=0.5, pool_size=2)
    lock = RedisRefreshLock(redis, unique_namespace("mirror-lock") + ":", ttl_s=30)
    released = asyncio.Event()
    went_on: list[str] = []

    async def holder() -> None:
        async with lock.hold("open_tenders"):
            released.set()  # no await from here to the lock's own clean-up
        went_on.append("after the lock")
        await asyncio.sleep(5)
        went_on.append("after the sleep")

    task = asyncio.create_task(holder())
    await released.wait()
    task.cancel()  # lands while the holder waits for the renewing task to stop
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert "after the sleep" not in went_on
