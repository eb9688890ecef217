"""SAM's daily per-key quota: 429 with Retry-After and nextAccessTime once spent, open again after 00:00 UTC."""

from __future__ import annotations

from tests.sandbox_harness import RunningSandbox

SEARCH = "contract-awards/v1/search"
NONFED = "sam-sandbox-key-nonfed"  # 10 calls a day


async def status_of(sandbox: RunningSandbox, query: str) -> int:
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?{query}")) as response:
        await response.read()
        return response.status


async def test_ten_a_day_key_is_throttled_until_midnight_utc(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-01-01T23:59:00+00:00")
    for _ in range(10):
        assert await status_of(sandbox, f"api_key={NONFED}&includeSections=contractId") == 200
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?api_key={NONFED}")) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "60"
        assert await response.json() == {
            "code": "900804",
            "message": "Message throttled out",
            "description": "You have exceeded your quota .You can access API after 2030-Jan-02 00:00:00+0000 UTC",
            "nextAccessTime": "2030-Jan-02 00:00:00+0000 UTC",
        }
    assert await status_of(sandbox, "api_key=sam-sandbox-key") == 200  # other keys have their own quota
    await sandbox.set_clock("2030-01-02T00:00:01+00:00")
    assert await status_of(sandbox, f"api_key={NONFED}") == 200


async def test_bad_requests_count_but_refused_keys_do_not(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-03-05T12:00:00+00:00")
    for _ in range(5):
        assert await status_of(sandbox, "api_key=wrong-key") == 403
    for _ in range(9):
        assert await status_of(sandbox, f"api_key={NONFED}&limit=101") == 400
    assert await status_of(sandbox, f"api_key={NONFED}&piid=NOSUCHPIID") == 204
    assert await status_of(sandbox, f"api_key={NONFED}") == 429
    async with sandbox.session.get(sandbox.url(f"{SEARCH}?api_key={NONFED}")) as response:
        assert response.headers["Retry-After"] == str(12 * 3600)


async def test_downloads_share_the_quota(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-06-30T00:00:00+00:00")
    for _ in range(10):
        async with sandbox.session.get(sandbox.url(f"contract-awards/v1/download?api_key={NONFED}&token=none")) as resp:
            assert resp.status == 400
    async with sandbox.session.get(sandbox.url(f"contract-awards/v1/download?api_key={NONFED}&token=none")) as resp:
        assert resp.status == 429
        assert (await resp.json())["nextAccessTime"] == "2030-Jul-01 00:00:00+0000 UTC"


async def test_sandbox_reset_restores_the_daily_quota(sandbox: RunningSandbox) -> None:
    url = sandbox.url("contract-awards/v1/search?api_key=sam-sandbox-key-nonfed&limit=1")
    for _ in range(10):
        async with sandbox.session.get(url) as response:
            assert response.status in {200, 204}
    async with sandbox.session.get(url) as response:
        assert response.status == 429
    await sandbox.reset()
    async with sandbox.session.get(url) as response:
        assert response.status in {200, 204}
