from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.errors import UpstreamQuotaExceeded
from gateway.limits.quota import QuotaGuard, seconds_until_utc_midnight
from gateway.settings import Settings


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _outcomes(guard: QuotaGuard, calls: int) -> list[bool]:
    async def one() -> bool:
        try:
            await guard.acquire("sam")
        except UpstreamQuotaExceeded:
            return False
        return True

    return await asyncio.gather(*(one() for _ in range(calls)))


async def test_quota_admits_exactly_the_quota_then_resets_at_utc_midnight() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 23, 59, 0, tzinfo=UTC))
    guard = QuotaGuard({"sam": 10}, clock=clock)
    assert sum(await _outcomes(guard, 50)) == 10
    assert await guard.remaining("sam") == 0
    with pytest.raises(UpstreamQuotaExceeded) as caught:
        await guard.acquire("sam")
    assert caught.value.retry_after_s == 60
    assert caught.value.as_extensions() == {"code": "UPSTREAM_QUOTA_EXCEEDED", "upstream": "sam", "retryAfter": 60}
    clock.now += timedelta(minutes=1, seconds=1)
    await guard.acquire("sam")
    assert await guard.remaining("sam") == 9


async def test_upstream_without_quota_is_not_counted() -> None:
    guard = QuotaGuard({"sam": 2, "ita": 0})
    for _ in range(5):
        await guard.acquire("ita")
        await guard.acquire("canada")
    assert await guard.remaining("ita") is None
    assert await guard.remaining("sam") == 2


async def test_pause_refuses_until_it_ends() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    guard = QuotaGuard({"sam": 100}, clock=clock)
    await guard.pause("sam", 30)
    with pytest.raises(UpstreamQuotaExceeded) as caught:
        await guard.acquire("sam")
    assert caught.value.retry_after_s == 30
    clock.now += timedelta(seconds=31)
    await guard.acquire("sam")


async def test_naive_clock_is_taken_as_utc() -> None:
    guard = QuotaGuard({"sam": 1}, clock=lambda: datetime(2026, 11, 25, 12, 0))
    await guard.acquire("sam")
    with pytest.raises(UpstreamQuotaExceeded):
        await guard.acquire("sam")


def test_seconds_until_utc_midnight() -> None:
    assert seconds_until_utc_midnight(datetime(2026, 11, 25, 0, 0, tzinfo=UTC)) == 86_400
    assert seconds_until_utc_midnight(datetime(2026, 11, 25, 23, 59, 59, 500_000, tzinfo=UTC)) == 1
    tokyo_morning = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert seconds_until_utc_midnight(tokyo_morning.astimezone(UTC)) == 16 * 3600


def test_settings_name_the_daily_quotas() -> None:
    settings = Settings.from_env({"GATEWAY_SAM_DAILY_QUOTA": "10"})
    assert settings.daily_quotas() == {"sam": 10, "ita": 0}  # canada uses no key
    assert "shared=False" in repr(QuotaGuard.from_settings(settings))


async def test_upstreams_sharing_a_credential_spend_one_quota_and_errors_name_the_upstream() -> None:
    guard = QuotaGuard({"sam": 2})
    await guard.acquire("sam", upstream="sam")
    await guard.acquire("sam", upstream="samopps")
    with pytest.raises(UpstreamQuotaExceeded) as caught:
        await guard.acquire("sam", upstream="samopps")
    assert caught.value.upstream == "samopps"
    assert "daily sam quota (2 calls)" in caught.value.message
    assert await guard.remaining("sam") == 0


async def test_a_pause_holds_every_upstream_using_the_credential() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    guard = QuotaGuard({"sam": 100}, clock=clock)
    await guard.pause("sam", 30, upstream="sam")
    with pytest.raises(UpstreamQuotaExceeded) as caught:
        await guard.acquire("sam", upstream="samopps")
    assert (caught.value.upstream, caught.value.retry_after_s) == ("samopps", 30)
