"""The load shedder: a bounded queue of admitted requests, execution slots handed over in arrival order, waits bounded
by the queue wait and the request's deadline, and every place given back once."""

from __future__ import annotations

import asyncio

import pytest

from gateway.edge.shedding import LoadShedder, Place, SheddingLimits
from gateway.limits.limiter import RateLimiter
from gateway.settings import Settings, SettingsError
from gateway.upstreams.deadline import Deadline


def ample() -> Deadline:
    return Deadline.after(60)


def shedder(executions: int = 1, queued: int = 3, wait_s: float = 5.0) -> LoadShedder:
    return LoadShedder(SheddingLimits(executions, queued, wait_s))


def admitted(load: LoadShedder) -> Place:
    place = load.admit()
    assert place is not None
    return place


def test_admission_is_refused_while_the_queue_is_full_and_only_waiting_for_capacity_counts() -> None:
    load = shedder(queued=2)
    first, second, idle = admitted(load), admitted(load), admitted(load)  # admitted: not yet waiting for anything
    assert load.waiting == 0
    assert first.join_queue()
    assert second.join_queue()
    assert first.join_queue()  # once
    assert load.admit() is None
    assert not idle.join_queue()  # the queue is full: refused after admission
    assert idle.shed
    assert (load.waiting, load.shed) == (2, 2)
    first.leave_queue()  # its turn came (the document worker, say): it waits for nothing now
    assert load.waiting == 1
    assert load.admit() is not None
    second.leave()
    second.leave()  # once
    assert load.waiting == 0


async def test_slots_go_to_waiting_requests_in_arrival_order() -> None:
    load = shedder(executions=1, queued=10)
    holder = admitted(load)
    assert await holder.execution_slot(ample())
    assert (load.executing, load.waiting) == (1, 0)
    order: list[int] = []

    async def run(number: int) -> None:
        place = admitted(load)
        assert await place.execution_slot(ample())
        order.append(number)
        place.leave()

    waiting = [asyncio.create_task(run(number)) for number in range(3)]
    await asyncio.sleep(0.01)
    assert (load.executing, load.waiting) == (1, 3)
    holder.leave()
    await asyncio.gather(*waiting)
    assert order == [0, 1, 2]
    assert (load.executing, load.waiting) == (0, 0)


async def test_a_request_that_finds_no_slot_in_time_is_shed_and_leaves_the_queue() -> None:
    load = shedder(executions=1, queued=10, wait_s=0.05)
    holder = admitted(load)
    assert await holder.execution_slot(ample())
    late = admitted(load)
    assert not await late.execution_slot(ample())
    assert late.shed
    assert (load.shed, load.waiting) == (1, 0)  # it waits for nothing any more
    late.leave()
    holder.leave()
    assert (load.executing, load.waiting) == (0, 0)


async def test_the_wait_for_a_slot_never_outlasts_the_deadline() -> None:
    load = shedder(executions=1, queued=10, wait_s=30)
    holder = admitted(load)
    assert await holder.execution_slot(ample())
    started = asyncio.get_running_loop().time()
    assert not await admitted(load).execution_slot(Deadline.after(0.05))
    assert asyncio.get_running_loop().time() - started < 1
    passed = admitted(load)
    assert not await passed.execution_slot(Deadline.after(-1))  # no time left: no wait at all


async def test_a_free_slot_is_taken_even_with_no_time_left_and_a_place_asks_once() -> None:
    load = shedder(executions=1)
    place = admitted(load)
    assert await place.execution_slot(Deadline.after(-1))
    assert await place.execution_slot(Deadline.after(-1))  # it holds its slot: asked again, yes at once
    assert load.executing == 1
    place.leave()
    assert load.executing == 0


async def test_a_waiting_request_that_goes_away_hands_a_slot_it_was_given_on() -> None:
    load = shedder(executions=1, queued=10)
    holder = admitted(load)
    assert await holder.execution_slot(ample())
    gone = asyncio.create_task(admitted(load).execution_slot(ample()))
    next_in_line = admitted(load)
    following = asyncio.create_task(next_in_line.execution_slot(ample()))
    await asyncio.sleep(0.01)
    gone.cancel()
    holder.leave()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await following
    assert load.executing == 1
    next_in_line.leave()
    assert load.executing == 0


def test_the_limits_are_settings_and_must_be_positive() -> None:
    limits = SheddingLimits.from_settings(
        Settings(max_concurrent_executions=3, max_queued_requests=7, max_queue_wait_s=1.5)
    )
    assert limits == SheddingLimits(3, 7, 1.5)
    for wrong in ({"max_concurrent_executions": 0}, {"max_queued_requests": 0}, {"max_queue_wait_s": 0.0}):
        with pytest.raises(SettingsError):
            Settings(**wrong).validate()
    assert Settings.from_env({"GATEWAY_MAX_QUEUED_REQUESTS": "9"}).max_queued_requests == 9


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_LIMITER_FALLBACK_REPLICAS", "0"),
        ("GATEWAY_LIMITER_HEARTBEAT_S", "0"),
        ("GATEWAY_LIMITER_PROBE_EVERY_S", "-1"),
    ],
)
def test_the_limiters_replica_settings_are_checked(variable: str, value: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({variable: value})


async def test_the_limiter_reads_its_replica_settings() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_REDIS_URL": "redis://127.0.0.1:9/0",  # never reached: nothing is asked of it here
            "GATEWAY_LIMITER_FALLBACK_REPLICAS": "3",
            "GATEWAY_LIMITER_HEARTBEAT_S": "2.5",
            "GATEWAY_LIMITER_PROBE_EVERY_S": "0.5",
        }
    )
    assert (settings.limiter_fallback_replicas, settings.limiter_heartbeat_s, settings.limiter_probe_every_s) == (
        3,
        2.5,
        0.5,
    )
    limiter = RateLimiter.from_settings(settings)
    try:
        assert limiter.replicas() == 3  # no heartbeat seen yet: the share divides by the setting
    finally:
        await limiter.aclose()
