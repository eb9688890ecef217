"""The SAM key's daily quota split between Contract Awards user queries (`sam`) and the samopps API pulls: each has
its own share, neither can take the other's, and together they never exceed the quota; when the pulls run at all."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.clock import GatewayClock
from gateway.errors import UpstreamQuotaExceeded
from gateway.limits.quota import QuotaGuard
from gateway.settings import CredentialSettings, Settings, SettingsError, UpstreamSettings


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def spent(guard: QuotaGuard, upstream: str, tries: int) -> int:
    async def one() -> bool:
        try:
            await guard.acquire("sam", upstream=upstream)
        except UpstreamQuotaExceeded:
            return False
        return True

    return sum(await asyncio.gather(*(one() for _ in range(tries))))


async def test_two_consumers_of_one_key_each_get_their_share_and_no_more() -> None:
    clock = FakeClock(datetime(2026, 9, 4, 12, 0, tzinfo=UTC))
    guard = QuotaGuard({"sam": 10}, shares={"sam": {"samopps": 4}}, clock=clock)
    assert (guard.allowance("sam", "samopps"), guard.allowance("sam", "sam"), guard.allowance("sam")) == (4, 6, 6)
    assert await spent(guard, "samopps", 50) == 4  # the pulls take their share, concurrently, no more
    assert await guard.remaining("sam", consumer="samopps") == 0
    assert await guard.remaining("sam", consumer="sam") == 6  # user queries kept theirs
    assert await guard.remaining("sam") == 6  # the key in all
    assert await spent(guard, "sam", 50) == 6
    assert await guard.remaining("sam") == 0
    with pytest.raises(UpstreamQuotaExceeded) as caught:
        await guard.acquire("sam", upstream="samopps")
    assert "samopps's share (4 calls) of the gateway's daily sam quota (10 calls)" in caught.value.message
    assert caught.value.retry_after_s == 12 * 3600
    clock.now += timedelta(hours=12)  # 00:00 UTC: both shares are whole again
    assert (await spent(guard, "samopps", 9), await spent(guard, "sam", 9)) == (4, 6)


async def test_a_share_is_cut_to_the_quota_and_a_pause_stops_both() -> None:
    guard = QuotaGuard({"sam": 3}, shares={"sam": {"samopps": 7}})
    assert (guard.allowance("sam", "samopps"), guard.allowance("sam", "sam")) == (3, 0)
    await guard.pause("sam", 60)  # SAM answered 429: the key is spent for everyone
    with pytest.raises(UpstreamQuotaExceeded):
        await guard.acquire("sam", upstream="samopps")
    assert QuotaGuard({"sam": 0}, shares={"sam": {"samopps": 5}}).allowance("sam", "samopps") is None


def settings(quota: int, *, key: str = "k", **overrides: object) -> Settings:
    base = Settings(
        upstreams={"samopps": UpstreamSettings("https://api.sam.gov/", {}), "sam": UpstreamSettings("", {})},
        credentials={"sam": CredentialSettings(api_key=key, daily_quota=quota)},
    )
    return replace(base, **overrides)


def test_pulls_run_with_a_key_that_allows_the_least_daily_calls() -> None:
    assert settings(1000).quota_shares() == {"sam": {"samopps": 500}}
    assert settings(10).samopps_pull_calls() == 0  # a 10-a-day key: no pulls, the extract only
    assert settings(10).quota_shares() == {}
    assert settings(10, samopps_min_daily_calls=4).quota_shares() == {"sam": {"samopps": 5}}
    assert settings(1000, samopps_quota_share=0.1).quota_shares() == {"sam": {"samopps": 100}}
    assert settings(1000, key="").samopps_pull_calls() == 0  # no key: no pulls
    assert settings(0).samopps_pull_calls() is None  # a key without a quota: pulls, unbounded by a share
    assert settings(0).quota_shares() == {}
    unconfigured = replace(settings(1000), upstreams={"samopps": UpstreamSettings("", {})})
    assert unconfigured.quota_shares() == {}


def test_the_guard_from_settings_splits_the_key() -> None:
    guard = QuotaGuard.from_settings(settings(10, samopps_min_daily_calls=4))
    assert (guard.allowance("sam", "samopps"), guard.allowance("sam", "sam")) == (5, 5)


def test_the_simulated_clock_is_for_tests() -> None:
    environment = {"GATEWAY_CLOCK_SPEED": "3600", "GATEWAY_CLOCK_OFFSET_S": "-100"}
    with pytest.raises(SettingsError, match="for tests"):
        Settings.from_env(environment)
    assert Settings.from_env({**environment, "GATEWAY_PROFILE": "dev"}).clock_speed == 3600
    allowed = Settings.from_env({**environment, "GATEWAY_CLOCK_ALLOWED_IN_PROD": "true"})
    clock = GatewayClock.from_settings(allowed)
    assert clock.simulated
    assert clock.real_seconds(7200) == 2
    with pytest.raises(SettingsError, match="GATEWAY_CLOCK_SPEED"):
        Settings.from_env({"GATEWAY_PROFILE": "dev", "GATEWAY_CLOCK_SPEED": "0"})
    with pytest.raises(SettingsError, match="QUOTA_SHARE"):
        Settings.from_env({"GATEWAY_SAMOPPS_QUOTA_SHARE": "1.5"})


def test_two_processes_given_the_same_clock_settings_read_the_same_now() -> None:
    target = datetime(2026, 9, 4, 0, 0, tzinfo=UTC)
    real = datetime.now(UTC).timestamp()
    speed = 7200.0
    offset = target.timestamp() - real * speed
    first, second = GatewayClock(speed, offset), GatewayClock(speed, offset)
    assert abs((first.now() - target).total_seconds()) < 3600  # a real half second is an hour of this clock
    assert abs((first.now() - second.now()).total_seconds()) < 3600
