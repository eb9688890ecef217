"""The request id reaches the upstreams: mirror downloads carry the request's id, or one of their own when a
scheduled refresh runs outside any request; the sandbox's request log shows what it received."""

from __future__ import annotations

from pathlib import Path

from gateway.request_record import RequestRecord, recording
from gateway.upstreams.canadabuys.feeds import OPEN_TENDERS_FILE
from gateway.upstreams.mirror.download import Downloader, DownloadPolicy, browser_user_agent, open_download_session
from gateway.upstreams.mirror.opening import host_of
from gateway.upstreams.ocds.fetcher import HttpTransport
from tests.sandbox_harness import RunningSandbox


async def test_mirror_downloads_send_the_request_id_or_their_own(sandbox: RunningSandbox, tmp_path: Path) -> None:
    url = sandbox.url(f"opendata/pub/{OPEN_TENDERS_FILE}")
    policy = DownloadPolicy(user_agent=browser_user_agent("gw", "1", ""), allowed_host=host_of(url), retries=0)
    async with open_download_session() as session:
        downloader = Downloader(session, policy)
        await downloader.fetch(url, tmp_path / "scheduled.csv", known=None, max_bytes=10**8)
        await downloader.fetch(url, tmp_path / "again.csv", known=None, max_bytes=10**8)
        with recording(RequestRecord("req-77")):
            await downloader.fetch(url, tmp_path / "asked.csv", known=None, max_bytes=10**8)
    received = [entry for entry in await sandbox.request_log() if entry["path"].endswith(OPEN_TENDERS_FILE)]
    assert [entry["status"] for entry in received] == [200, 200, 200]
    scheduled, again, asked = (entry["request_id"] for entry in received)
    assert scheduled.startswith("mirror-")
    assert again.startswith("mirror-")
    assert again != scheduled  # each refresh its own
    assert asked == "req-77"
    assert await sandbox.request_log("req-77") == [received[2]]


async def test_ocds_pulls_send_the_request_id_or_their_own(sandbox: RunningSandbox) -> None:
    url = sandbox.url("Published/Notices/OCDS/Search?limit=1")
    async with open_download_session() as session:
        transport = HttpTransport(session, user_agent="gw/1")
        scheduled = await transport.get(url, max_bytes=10**7)
        with recording(RequestRecord("req-78")):
            asked = await transport.get(url, max_bytes=10**7)
    assert (scheduled.status, asked.status) == (200, 200)
    received = [entry for entry in await sandbox.request_log() if "OCDS/Search" in entry["path"]]
    assert received[0]["request_id"].startswith("ocds-")
    assert received[1]["request_id"] == "req-78"
