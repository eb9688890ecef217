"""The per-request record: what the edge, the transport and the cache write into it, and whose it is."""

from __future__ import annotations

import asyncio

from gateway.request_record import (
    UPSTREAM_OUTCOMES,
    RequestRecord,
    background,
    current_record,
    current_request_id,
    record_upstream_call,
    recording,
)


def test_error_codes_are_kept_in_order_and_a_refusal_replaces_them() -> None:
    record = RequestRecord("r1", "POST", "/graphql")
    record.errors(
        [
            {"message": "a", "extensions": {"code": "UPSTREAM_TIMEOUT", "upstream": "sam"}},
            {"message": "b"},
            {"message": "c", "extensions": {"code": 7}},
        ]
    )
    assert record.error_codes == ("UPSTREAM_TIMEOUT", "UNKNOWN", "UNKNOWN")
    assert record.first_code == "UPSTREAM_TIMEOUT"
    record.errors(None)
    assert record.first_code is None
    record.refused("RATE_LIMITED")
    assert record.error_codes == ("RATE_LIMITED",)


async def test_calls_land_in_the_current_record_also_from_the_tasks_it_starts() -> None:
    record_upstream_call("sam", "ok", 0.1, sent=True)  # outside a request: nowhere, no error
    with recording(RequestRecord("r2")) as record:
        assert current_request_id() == "r2"

        async def call(upstream: str) -> None:
            record_upstream_call(upstream, "ok", 0.01, sent=True)

        await asyncio.gather(call("ita"), call("sam"))
        record_upstream_call("canada", "cache_hit", sent=False)
    assert current_record() is None
    assert sorted(call.upstream for call in record.upstream_calls) == ["canada", "ita", "sam"]
    assert record.upstream_calls_sent() == 2


def test_work_outside_a_request_gets_an_id_of_its_own_and_inside_keeps_the_requests() -> None:
    with background("mirror") as own:
        assert own.request_id.startswith("mirror-")
        assert current_request_id() == own.request_id
    with background("mirror") as other:
        assert other.request_id != own.request_id
    with recording(RequestRecord("req-9")), background("mirror") as inside:
        assert inside.request_id == "req-9"


def test_finish_measures_the_duration_and_outcomes_are_listed() -> None:
    record = RequestRecord("r3")
    record.finish()
    assert record.duration_s >= 0
    assert {"ok", "timeout", "4xx", "5xx", "breaker_open", "cache_hit", "cache_stale", "quota"} <= set(
        UPSTREAM_OUTCOMES
    )
