from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from gateway.limits.limiter import (
    COST,
    Budget,
    Decision,
    RateLimiter,
    WindowBudget,
    burst_window_s,
    ratelimit_header_fields,
    ratelimit_headers,
)
from gateway.settings import DEFAULT_TIERS, Settings, SettingsError, Tier, parse_tiers

ANONYMOUS = DEFAULT_TIERS["anonymous"]
FLAT_100 = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1_000, max_query_cost=100)


async def test_burst_refuses_then_reports_retry_after() -> None:
    limiter = RateLimiter.in_memory()
    decisions = [await limiter.check_request("k1", ANONYMOUS) for _ in range(12)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
    refused = decisions[-1]
    assert (refused.policy, refused.limit, refused.remaining) == ("burst", 10, 0)
    assert refused.retry_after_s is not None
    assert 1 <= refused.retry_after_s <= burst_window_s(ANONYMOUS) == 20
    assert decisions[0].policy == "minute"
    assert decisions[0].remaining == 29
    assert (await limiter.check_request("other-key", ANONYMOUS)).allowed
    await limiter.aclose()


async def test_minute_window_binds_when_burst_is_not_smaller() -> None:
    limiter = RateLimiter.in_memory()
    decisions = await asyncio.gather(*(limiter.check_request("k", FLAT_100) for _ in range(400)))
    assert sum(d.allowed for d in decisions) == 100
    assert {d.policy for d in decisions if not d.allowed} == {"minute"}
    await limiter.aclose()


async def test_cost_budget_charges_cost_and_a_refused_charge_costs_nothing() -> None:
    limiter = RateLimiter.in_memory()
    first = await limiter.charge_cost("k", ANONYMOUS, 400)
    assert (first.allowed, first.remaining, first.policy) == (True, 100, "cost")
    refused = await limiter.charge_cost("k", ANONYMOUS, 101)
    assert (refused.allowed, refused.remaining) == (False, 100)
    assert refused.retry_after_s is not None
    assert 3590 <= refused.retry_after_s <= 3600
    last = await limiter.charge_cost("k", ANONYMOUS, 100)
    assert (last.allowed, last.remaining) == (True, 0)
    assert not (await limiter.charge_cost("k", ANONYMOUS, 1)).allowed
    assert (await limiter.charge_cost("k", ANONYMOUS, 0)).allowed
    await limiter.aclose()


async def test_concurrent_cost_charges_never_exceed_the_budget() -> None:
    limiter = RateLimiter.in_memory()
    decisions = await asyncio.gather(*(limiter.charge_cost("k", FLAT_100, 7) for _ in range(300)))
    assert sum(d.allowed for d in decisions) == 1_000 // 7
    await limiter.aclose()


async def test_peek_reports_every_window_without_spending() -> None:
    limiter = RateLimiter.in_memory()
    fresh = await limiter.peek("k", ANONYMOUS)
    assert fresh.burst is not None
    assert (fresh.burst.remaining, fresh.rate.remaining, fresh.cost.remaining) == (10, 30, 500)
    assert fresh.rate.reset_after_s == 60
    await limiter.check_request("k", ANONYMOUS)
    await limiter.charge_cost("k", ANONYMOUS, 50)
    budget = await limiter.peek("k", ANONYMOUS)
    assert budget.burst is not None
    assert (budget.burst.remaining, budget.rate.remaining, budget.cost.remaining) == (9, 29, 450)
    assert (budget.rate.limit, budget.rate.window_s, budget.cost.window_s) == (30, 60, 3600)
    assert 0 < budget.rate.reset_after_s <= 60
    assert budget.cost.reset_at > datetime.now(UTC)
    assert not budget.degraded
    assert (await limiter.peek("k", ANONYMOUS)).rate.remaining == 29
    await limiter.aclose()


def _window(policy: str, limit: int, window_s: int, remaining: int, reset_after_s: int) -> WindowBudget:
    return WindowBudget(policy, limit, window_s, remaining, reset_after_s, datetime(2026, 1, 1, tzinfo=UTC))


def test_headers_follow_the_ietf_draft_syntax() -> None:
    budget = Budget(
        tier="anonymous",
        burst=_window("burst", 10, 20, 4, 7),
        rate=_window("minute", 30, 60, 12, 41),
        cost=_window("cost", 500, 3600, 380, 1800),
    )
    assert ratelimit_headers(budget) == {
        "RateLimit-Policy": '"burst";q=10;w=20, "minute";q=30;w=60, "cost";q=500;w=3600;pgw-qu="cost-points"',
        "RateLimit": '"burst";r=4;t=7, "minute";r=12;t=41, "cost";r=380;t=1800',
    }
    refused = Decision(False, "minute", 30, 0, 41, retry_after_s=41)
    headers = ratelimit_headers(budget, refused)
    assert headers["Retry-After"] == "41"
    assert headers["RateLimit"] == '"burst";r=4;t=7, "minute";r=0;t=41, "cost";r=380;t=1800'


def test_header_fields_are_the_headers_encoded_without_retry_after() -> None:
    budget = Budget(
        tier="anonymous",
        burst=_window("burst", 10, 20, 4, 7),
        rate=_window("minute", 30, 60, 12, 41),
        cost=_window("cost", 500, 3600, 380, 1800),
    )
    for refused in (None, Decision(False, "minute", 30, 0, 41, retry_after_s=41), Decision(False, COST, 500, 0, 9)):
        headers = ratelimit_headers(budget, refused)
        headers.pop("Retry-After", None)
        expected = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        assert ratelimit_header_fields(budget, refused) == expected


def test_reset_at_is_the_reset_time_to_the_second_in_utc() -> None:
    limiter = RateLimiter.in_memory(clock=lambda: 1_767_225_599.9999996)  # rounds up to the next second
    assert limiter.local.budget("k", ANONYMOUS).cost.reset_at == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    for now in (1_767_225_600.0, 1_767_225_600.25, 1_767_225_600.999):
        reset_at = RateLimiter.in_memory(clock=lambda: now).local.budget("k", ANONYMOUS).cost.reset_at  # noqa: B023
        assert reset_at == datetime.fromtimestamp(now + 3600, UTC).replace(microsecond=0)
        assert reset_at.tzinfo is UTC


def test_header_values_are_structured_field_lists() -> None:
    item = r'"[a-z]+"(;[a-z][a-z0-9*_.-]*=("[^"]*"|\d+))+'
    budget = Budget(tier="free", rate=_window("minute", 60, 60, 60, 60), cost=_window("cost", 2000, 3600, 5, 10))
    for value in ratelimit_headers(budget).values():
        assert re.fullmatch(rf"{item}(, {item})*", value), value


def test_burst_window_is_the_refill_time_of_the_burst() -> None:
    assert burst_window_s(ANONYMOUS) == 20
    assert burst_window_s(DEFAULT_TIERS["partner"]) == 10
    assert burst_window_s(Tier("t", 6000, 1, 1, 1)) == 1


def test_default_tiers_grow_with_the_tier() -> None:
    ordered = [DEFAULT_TIERS[name] for name in ("anonymous", "free", "standard", "partner")]
    for field in ("requests_per_minute", "burst", "cost_per_hour", "max_query_cost"):
        values = [getattr(tier, field) for tier in ordered]
        assert values == sorted(values)
        assert len(set(values)) == 4
    assert Tier("anonymous", 30, 10, 500, 100) == ANONYMOUS


def test_tiers_json_merges_over_the_defaults() -> None:
    tiers = parse_tiers(
        '{"free": {"burst": 5}, "gold": {"requests_per_minute": 9000, "burst": 900,'
        ' "cost_per_hour": 900000, "max_query_cost": 5000}}'
    )
    assert tiers["free"] == Tier("free", 60, 5, 2_000, 200)
    assert tiers["gold"].requests_per_minute == 9000
    assert tiers["partner"] == DEFAULT_TIERS["partner"]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"Free Tier": {}}',
        '{"free": 5}',
        '{"free": {"burst": 0}}',
        '{"free": {"burst": "10"}}',
        '{"free": {"burst": true}}',
        '{"free": {"bursts": 10}}',
        '{"new": {"burst": 10}}',
    ],
)
def test_bad_tiers_json_is_refused_at_start_up(raw: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"GATEWAY_TIERS": raw})


def test_anonymous_tier_is_on_in_dev_and_off_in_prod_unless_set() -> None:
    assert Settings.from_env({"GATEWAY_PROFILE": "dev"}).anonymous_tier_enabled
    assert not Settings.from_env({}).anonymous_tier_enabled
    assert not Settings.from_env(
        {"GATEWAY_PROFILE": "dev", "GATEWAY_ANONYMOUS_TIER_ENABLED": "0"}
    ).anonymous_tier_enabled
    assert Settings.from_env({"GATEWAY_ANONYMOUS_TIER_ENABLED": "true"}).anonymous_tier_enabled


@pytest.mark.parametrize(
    "namespace", ["", "gateway:prod", "staging prod", "x" * 65, "café", "a/b", "gateway\n", "gate*"]
)
def test_a_redis_namespace_outside_1_to_64_safe_characters_is_refused(namespace: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_REDIS_NAMESPACE"):
        Settings.from_env({"GATEWAY_REDIS_NAMESPACE": namespace})


def test_every_redis_prefix_derives_from_the_redis_namespace() -> None:
    settings = Settings.from_env({"GATEWAY_REDIS_NAMESPACE": "staging.eu-1_b"})
    assert settings.redis_prefix("ratelimit") == "staging.eu-1_b:ratelimit"
    assert (settings.cache_namespace, settings.persisted_documents_namespace) == (
        "staging.eu-1_b:cache",
        "staging.eu-1_b:apq",
    )
    assert Settings.from_env({"GATEWAY_REDIS_NAMESPACE": "x" * 64}).redis_namespace == "x" * 64
    assert Settings().redis_prefix("quota:") == "gateway:quota:"
