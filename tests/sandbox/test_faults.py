"""The fault knobs, counters and control API of the sandbox, exercised through a route of each upstream."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.sandbox_harness import RunningSandbox

ROUTES = {
    "ita": ("v2/trade_leads/search?api_key=ita-sandbox-key", "ita.search"),
    "canada": ("tenders.json", "canada.tenders"),
    "sam": ("contract-awards/v1/search?api_key=sam-sandbox-key", "sam.search"),
}


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_hits_are_counted_per_route(sandbox: RunningSandbox, upstream: str) -> None:
    path, route = ROUTES[upstream]
    for _ in range(3):
        async with sandbox.session.get(sandbox.url(path)) as response:
            assert response.status in {200, 204}
    assert await sandbox.hits(route) == 3
    assert (await sandbox.stats())["max_in_flight"][upstream] == 1


async def test_concurrent_requests_raise_the_in_flight_maximum(sandbox: RunningSandbox) -> None:
    for upstream in ROUTES:
        await sandbox.set_fault(upstream, latency_ms=300)

    async def call(path: str) -> int:
        async with sandbox.session.get(sandbox.url(path)) as response:
            await response.read()
            return response.status

    statuses = await asyncio.gather(*(call(path) for path, _ in ROUTES.values()))
    assert all(status in {200, 204} for status in statuses)
    stats = await sandbox.stats()
    assert stats["max_in_flight"]["all"] == 3
    assert stats["in_flight"] == {}


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_error_status_knob(sandbox: RunningSandbox, upstream: str) -> None:
    await sandbox.set_fault(upstream, error_rate=1.0, error_status=503)
    async with sandbox.session.get(sandbox.url(ROUTES[upstream][0])) as response:
        assert response.status == 503


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_throttle_knob_sends_retry_after(sandbox: RunningSandbox, upstream: str) -> None:
    await sandbox.set_fault(upstream, throttle_rate=1.0, retry_after_s=7)
    async with sandbox.session.get(sandbox.url(ROUTES[upstream][0])) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"


async def test_latency_knob_delays_the_answer(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("ita", latency_ms=400)
    with pytest.raises(asyncio.TimeoutError):
        async with sandbox.session.get(
            sandbox.url(ROUTES["ita"][0]), timeout=aiohttp.ClientTimeout(total=0.1)
        ) as response:
            await response.read()


async def test_hang_knob_never_answers_and_releases_on_disconnect(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("canada", hang=True)
    with pytest.raises(asyncio.TimeoutError):
        async with sandbox.session.get(
            sandbox.url(ROUTES["canada"][0]), timeout=aiohttp.ClientTimeout(total=0.3)
        ) as response:
            await response.read()
    for _ in range(40):
        if not (await sandbox.stats())["in_flight"]:
            break
        await asyncio.sleep(0.05)
    assert (await sandbox.stats())["in_flight"] == {}


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_truncate_knob_cuts_the_body(sandbox: RunningSandbox, upstream: str) -> None:
    path = ROUTES[upstream][0]
    async with sandbox.session.get(sandbox.url(path)) as response:
        whole = await response.read()
    await sandbox.set_fault(upstream, truncate_rate=1.0)
    async with sandbox.session.get(sandbox.url(path)) as response:
        cut = await response.read()
    assert len(cut) == len(whole) // 2
    assert whole.startswith(cut)


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_garbage_knob_sends_a_body_that_is_not_json(sandbox: RunningSandbox, upstream: str) -> None:
    await sandbox.set_fault(upstream, garbage_rate=1.0)
    async with sandbox.session.get(sandbox.url(ROUTES[upstream][0])) as response:
        assert response.status == 200
        with pytest.raises((aiohttp.ContentTypeError, ValueError)):
            await response.json(content_type=None)


@pytest.mark.parametrize("upstream", sorted(ROUTES))
@pytest.mark.parametrize("body", ["{}", "[]", "null"])
async def test_wrong_shape_knob_answers_well_formed_json_of_the_chosen_shape(
    sandbox: RunningSandbox, upstream: str, body: str
) -> None:
    await sandbox.set_fault(upstream, wrong_shape_rate=1.0, wrong_shape_body=body)
    async with sandbox.session.get(sandbox.url(ROUTES[upstream][0])) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.read() == body.encode()
    assert await sandbox.hits(ROUTES[upstream][1]) == 1


async def test_wrong_shape_knob_can_answer_json_nested_100_000_deep(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("sam", wrong_shape_rate=1.0, wrong_shape_body="deep")
    async with sandbox.session.get(sandbox.url(ROUTES["sam"][0])) as response:
        body = await response.read()
    assert response.status == 200
    assert body == b"[" * 100_000 + b"]" * 100_000


async def test_wrong_shape_knob_defaults_to_an_empty_object_and_clears(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("ita", wrong_shape_rate=1.0)
    async with sandbox.session.get(sandbox.url(ROUTES["ita"][0])) as response:
        assert await response.json() == {}
    await sandbox.clear_fault("ita")
    async with sandbox.session.get(sandbox.url(ROUTES["ita"][0])) as response:
        assert "results" in await response.json()


@pytest.mark.parametrize("upstream", sorted(ROUTES))
async def test_reset_knob_drops_the_connection(sandbox: RunningSandbox, upstream: str) -> None:
    await sandbox.set_fault(upstream, reset_rate=1.0)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with sandbox.session.get(sandbox.url(ROUTES[upstream][0])) as response:
            await response.read()


async def test_clearing_a_fault_restores_normal_answers(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("ita", error_rate=1.0)
    await sandbox.clear_fault("ita")
    async with sandbox.session.get(sandbox.url(ROUTES["ita"][0])) as response:
        assert response.status == 200


async def test_reset_clears_plans_and_counters(sandbox: RunningSandbox) -> None:
    await sandbox.set_fault("sam", error_rate=1.0)
    async with sandbox.session.get(sandbox.url(ROUTES["sam"][0])) as response:
        assert response.status == 500
    await sandbox.reset()
    assert (await sandbox.stats())["hits"] == {}
    async with sandbox.session.get(sandbox.url("_sandbox/faults")) as response:
        assert (await response.json())["sam"]["error_rate"] == 0.0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"error_rate": 2}, "between 0 and 1"),
        ({"latency_ms": -1}, "negative"),
        ({"hang": "yes"}, "boolean"),
        ({"latency_ms": "slow"}, "number"),
        ({"volume": 11}, "unknown fault knobs"),
        ({"error_status": 200}, "error status"),
        ({"wrong_shape_body": "[1]"}, "one of {}, [], null, deep"),
        ({"wrong_shape_body": 0}, "one of"),
        ({"wrong_shape_body": ["{}"]}, "one of"),
        ({"wrong_shape_rate": 1.5}, "between 0 and 1"),
        ([1, 2], "JSON object"),
    ],
)
async def test_malformed_fault_plans_are_refused(sandbox: RunningSandbox, body: object, needle: str) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/faults/ita"), json=body) as response:
        assert response.status == 400
        assert needle in (await response.json())["error"]


async def test_fault_plan_for_unknown_upstream_is_404(sandbox: RunningSandbox) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/faults/nowhere"), json={}) as response:
        assert response.status == 404


async def test_fault_plan_body_must_be_json(sandbox: RunningSandbox) -> None:
    async with sandbox.session.put(sandbox.url("_sandbox/faults/ita"), data=b"\xff{") as response:
        assert response.status == 400


async def test_clock_can_be_set_and_cleared(sandbox: RunningSandbox) -> None:
    await sandbox.set_clock("2030-01-01T23:59:59+00:00")
    async with sandbox.session.put(sandbox.url("_sandbox/clock"), json={"now": "yesterday"}) as response:
        assert response.status == 400
    await sandbox.set_clock(None)


async def test_request_log_keeps_parameters_but_never_keys(sandbox: RunningSandbox) -> None:
    async with sandbox.session.get(sandbox.url("contract-awards/v1/search?api_key=sam-sandbox-key&limit=3")) as resp:
        assert resp.status in {200, 204}
    async with sandbox.session.get(sandbox.url("tenders.json?gsins=N76")) as response:
        assert response.status == 200
    assert await sandbox.requests("sam.search") == [{"limit": "3"}]
    assert await sandbox.requests("canada.tenders") == [{"gsins": "N76"}]
    await sandbox.reset()
    assert await sandbox.requests() == []


def test_jitter_knob_adds_a_random_delay_within_its_bound() -> None:
    from sandbox.faults import FaultBoard, FaultPlan

    board = FaultBoard(seed=7)
    plan = FaultPlan(latency_ms=100, jitter_ms=50)
    delays = [board.jitter(plan) for _ in range(200)]
    assert all(0.1 <= delay <= 0.15 for delay in delays)
    assert max(delays) - min(delays) > 0.03  # it varies
    assert {board.jitter(FaultPlan(latency_ms=100)) for _ in range(5)} == {0.1}
