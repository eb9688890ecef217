"""LocalWindows on a fake clock: the exact windows of one process, and a replica's share of them during an outage."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.limits.limiter import Decision, LocalWindows, burst_window_s, local_share
from gateway.settings import Tier

FLAT_100 = Tier("flat", requests_per_minute=100, burst=100, cost_per_hour=1_000, max_query_cost=100)
BURSTY = Tier("bursty", requests_per_minute=30, burst=10, cost_per_hour=500, max_query_cost=100)  # burst window 20 s
START = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _admitted(windows: LocalWindows, tier: Tier, attempts: int, *, key: str = "k", replicas: int = 1) -> int:
    return sum(windows.check_request(key, tier, replicas=replicas).allowed for _ in range(attempts))


def test_the_share_is_the_limit_divided_by_the_replicas_and_never_zero() -> None:
    assert [local_share(100, replicas) for replicas in (1, 2, 3, 4, 0)] == [100, 50, 33, 25, 100]
    assert local_share(1, 3) == 1  # a caller is never locked out by an outage


def test_the_minute_window_is_exact_and_slides() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    assert _admitted(windows, FLAT_100, 60) == 60
    clock.advance(30)
    assert _admitted(windows, FLAT_100, 60) == 40
    refused = windows.check_request("k", FLAT_100)
    assert (refused.allowed, refused.policy, refused.limit, refused.remaining) == (False, "minute", 100, 0)
    assert refused.retry_after_s == 30  # the first 60 leave the window at START + 60
    clock.advance(29)
    assert not windows.check_request("k", FLAT_100).allowed
    clock.advance(1)
    assert _admitted(windows, FLAT_100, 100) == 60
    assert windows.check_request("other", FLAT_100).allowed


def test_a_replica_admits_its_share_of_the_minute_window() -> None:
    windows = LocalWindows(clock=FakeClock())
    assert _admitted(windows, FLAT_100, 200, replicas=2) == 50
    refused = windows.check_request("k", FLAT_100, replicas=2, degraded=True)
    assert (refused.allowed, refused.limit, refused.degraded) == (False, 50, True)
    assert _admitted(windows, FLAT_100, 200, key="k3", replicas=3) == 33


def test_a_replica_admits_its_share_of_the_burst_and_the_burst_window_refills() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    assert burst_window_s(BURSTY) == 20
    decisions = [windows.check_request("k", BURSTY, replicas=2) for _ in range(8)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert (decisions[0].policy, decisions[0].limit, decisions[0].remaining) == ("minute", 15, 14)
    assert (decisions[-1].policy, decisions[-1].limit, decisions[-1].retry_after_s) == ("burst", 5, 20)
    for _ in range(2):
        clock.advance(20)
        assert _admitted(windows, BURSTY, 8, replicas=2) == 5
    assert windows.budget("k", BURSTY, replicas=2).rate.remaining == 0


def test_a_request_the_minute_window_refuses_takes_no_burst_unit() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    tier = Tier("t", requests_per_minute=3, burst=2, cost_per_hour=10, max_query_cost=10)  # burst window 40 s
    assert _admitted(windows, tier, 2) == 2
    clock.advance(40)
    assert windows.check_request("k", tier).allowed
    refused = windows.check_request("k", tier)
    assert (refused.allowed, refused.policy, refused.retry_after_s) == (False, "minute", 20)
    burst = windows.budget("k", tier).burst
    assert burst is not None
    assert burst.remaining == 1


def test_admissions_recorded_from_the_shared_windows_count_against_the_share() -> None:
    windows = LocalWindows(clock=FakeClock())
    for _ in range(40):
        windows.record_request("k", FLAT_100)
    assert _admitted(windows, FLAT_100, 100, replicas=2) == 10
    for _ in range(500):  # more than the limit is never kept
        windows.record_request("busy", FLAT_100)
    assert windows.budget("busy", FLAT_100).rate.remaining == 0


def test_a_replica_charges_its_share_of_the_cost_budget_and_the_hour_starts_at_the_first_charge() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    first = windows.charge_cost("k", FLAT_100, 300, replicas=2, degraded=True)
    assert (first.allowed, first.limit, first.remaining, first.degraded) == (True, 500, 200, True)
    clock.advance(600)
    refused = windows.charge_cost("k", FLAT_100, 201, replicas=2)
    assert (refused.allowed, refused.remaining, refused.retry_after_s) == (False, 200, 3000)
    assert windows.charge_cost("k", FLAT_100, 200, replicas=2).remaining == 0
    assert windows.charge_cost("k", FLAT_100, 0, replicas=2).allowed
    clock.advance(3000)
    assert windows.charge_cost("k", FLAT_100, 500, replicas=2).allowed
    windows.record_cost("shared", FLAT_100, 400)
    assert not windows.charge_cost("shared", FLAT_100, 101, replicas=2).allowed
    assert windows.charge_cost("shared", FLAT_100, 100, replicas=2).allowed


def test_a_refund_gives_the_unit_back_only_while_it_is_in_its_window() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    tier = Tier("t", requests_per_minute=2, burst=2, cost_per_hour=10, max_query_cost=10)
    shed = windows.check_request("k", tier)
    kept = windows.check_request("k", tier)
    assert not windows.check_request("k", tier).allowed
    windows.refund_request("k", tier, shed.decided_at)
    assert windows.check_request("k", tier).allowed
    clock.advance(60)
    assert windows.check_request("k", tier).allowed
    windows.refund_request("k", tier, kept.decided_at)  # left the window by itself: no later request's unit goes
    assert windows.budget("k", tier).rate.remaining == 1


def test_a_cost_refund_never_reaches_into_a_later_window() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    charged = windows.charge_cost("k", FLAT_100, 600)
    windows.refund_cost("k", FLAT_100, 600, charged.decided_at)
    assert windows.budget("k", FLAT_100).cost.remaining == 1_000
    old = windows.charge_cost("k", FLAT_100, 600)
    clock.advance(3600)
    windows.charge_cost("k", FLAT_100, 900)
    windows.refund_cost("k", FLAT_100, 600, old.decided_at)
    assert windows.budget("k", FLAT_100).cost.remaining == 100


def test_the_budget_reads_without_spending_or_remembering_new_callers() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    fresh = windows.budget("nobody", BURSTY, replicas=2, degraded=True)
    assert len(windows) == 0
    assert fresh.burst is not None
    assert (fresh.burst.limit, fresh.rate.limit, fresh.cost.limit, fresh.degraded) == (5, 15, 250, True)
    assert (fresh.burst.remaining, fresh.rate.reset_after_s, fresh.cost.window_s) == (5, 60, 3600)
    windows.check_request("k", BURSTY, replicas=2)
    windows.charge_cost("k", BURSTY, 50, replicas=2)
    clock.advance(10)
    budget = windows.budget("k", BURSTY, replicas=2)
    assert budget.burst is not None
    assert (budget.burst.remaining, budget.rate.remaining, budget.cost.remaining) == (4, 14, 200)
    assert (budget.burst.reset_after_s, budget.rate.reset_after_s, budget.cost.reset_after_s) == (10, 50, 3590)
    assert budget.cost.reset_at == datetime.fromtimestamp(START + 3600, UTC)
    assert windows.budget("k", BURSTY, replicas=2) == budget


def test_the_least_recently_used_callers_are_forgotten_beyond_max_keys() -> None:
    windows = LocalWindows(clock=FakeClock(), max_keys=2)
    tier = Tier("t", requests_per_minute=1, burst=1, cost_per_hour=10, max_query_cost=10)
    for key in ("a", "b", "c", "d", "e", "f", "g"):
        assert windows.check_request(key, tier).allowed
    assert len(windows) == 6
    assert windows.check_request("g", tier).allowed is False
    assert windows.check_request("a", tier).allowed  # forgotten


def _seen(policy: str, limit: int, total: int, reset_after_s: int = 60) -> Decision:
    """What Redis answered a replica: `total` units taken by all replicas together."""
    return Decision(True, policy, limit, limit - total, reset_after_s)


def test_a_replica_takes_only_its_part_of_what_redis_last_said_was_left() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    for _ in range(20):
        windows.record_request("k", FLAT_100)
    windows.observe("k", FLAT_100, [_seen("minute", 100, total=60)])  # the other replica had taken 40
    assert _admitted(windows, FLAT_100, 100, replicas=2) == 20  # half of the 40 left, not 50 - 20 = 30
    assert windows.budget("k", FLAT_100, replicas=2).rate.remaining == 0


def test_a_window_redis_said_was_full_stays_full_until_its_units_have_left() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    for key, own in (("a", 51), ("b", 49)):  # uneven replicas: 51 + 49 admitted through Redis
        for _ in range(own):
            windows.record_request(key, FLAT_100)
        windows.observe(key, FLAT_100, [_seen("minute", 100, total=100)])
    assert _admitted(windows, FLAT_100, 10, key="a", replicas=2) == 0
    refused = windows.check_request("b", FLAT_100, replicas=2, degraded=True)
    assert (refused.allowed, refused.limit, refused.retry_after_s) == (False, 50, 60)
    clock.advance(60)
    assert [_admitted(windows, FLAT_100, 100, key=key, replicas=2) for key in ("a", "b")] == [50, 50]


def test_the_cost_allowance_counts_what_the_others_spent_until_the_redis_window_resets() -> None:
    clock = FakeClock()
    windows = LocalWindows(clock=clock)
    windows.record_cost("k", FLAT_100, 300)
    windows.observe("k", FLAT_100, [_seen("cost", 1_000, total=900, reset_after_s=1_800)])
    assert not windows.charge_cost("k", FLAT_100, 51, replicas=2).allowed
    charged = windows.charge_cost("k", FLAT_100, 50, replicas=2)
    assert (charged.allowed, charged.limit, charged.remaining) == (True, 500, 0)
    refused = windows.charge_cost("k", FLAT_100, 1, replicas=2)
    assert refused.retry_after_s == 1_800
    clock.advance(1_800)  # Redis's hour has ended: the share alone (this replica's 350 are still in its own hour)
    assert windows.charge_cost("k", FLAT_100, 150, replicas=2).allowed
    assert not windows.charge_cost("k", FLAT_100, 1, replicas=2).allowed
