"""Metering.release: a request shed after it was admitted gives back its request unit and its cost charge, once."""

from __future__ import annotations

import asyncio

from gateway.limits.limiter import RateLimiter
from gateway.limits.metering import Caller, Metering
from gateway.settings import Tier

TWO_A_MINUTE = Tier("two", requests_per_minute=2, burst=2, cost_per_hour=100, max_query_cost=100)


def _metering(limiter: RateLimiter, key_id: str = "k") -> Metering:
    return Metering(Caller(key_id, owner="o", tier=TWO_A_MINUTE), limiter, storage_gate=asyncio.Semaphore(2))


async def test_a_shed_request_gives_back_its_unit_and_its_charge_once() -> None:
    limiter = RateLimiter.in_memory()
    shed = _metering(limiter)
    assert (await shed.check_request()).allowed
    assert (await shed.charge(70)).allowed
    assert (await shed.current_budget()).cost.remaining == 30
    kept = _metering(limiter)
    assert (await kept.check_request()).allowed
    assert not (await _metering(limiter).check_request()).allowed

    await shed.release()
    budget = await shed.current_budget()  # read again after the release: the shed answer's headers
    assert (budget.rate.remaining, budget.cost.remaining) == (1, 100)
    await shed.release()
    assert (await limiter.peek("k", TWO_A_MINUTE)).rate.remaining == 1  # not twice
    assert (await _metering(limiter).check_request()).allowed
    assert not (await _metering(limiter).check_request()).allowed


async def test_a_refused_request_releases_nothing() -> None:
    limiter = RateLimiter.in_memory()
    for _ in range(2):
        await _metering(limiter).check_request()
    refused = _metering(limiter)
    assert not (await refused.check_request()).allowed
    await refused.release()
    assert (await limiter.peek("k", TWO_A_MINUTE)).rate.remaining == 0


async def test_refund_cost_gives_back_the_charge_but_keeps_the_request_unit() -> None:
    limiter = RateLimiter.in_memory()
    metering = _metering(limiter)
    await metering.check_request()
    await metering.charge(40)
    await metering.refund_cost()
    await metering.refund_cost()
    budget = await metering.current_budget()
    assert (budget.rate.remaining, budget.cost.remaining) == (1, 100)
    over = _metering(limiter)
    await over.check_request()
    assert not (await over.charge(101)).allowed
    await over.release()  # the refused charge took nothing; the request unit comes back
    assert (await over.current_budget()).cost.remaining == 100
    assert (await over.current_budget()).rate.remaining == 1
