"""API pulls of the day's postings: their budget over the day, their window, paging, 404 as zero hits, and the two
kinds of quota refusal (the guard's share spent: no error; SAM's own 429: an error)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from gateway.cache.codec import Received
from gateway.errors import UpstreamQuotaExceeded, UpstreamRejected, UpstreamUnavailable
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.samopps.api import PULL_PATH
from gateway.upstreams.samopps.pulls import calls_allowed, pack, posting_window, pull, unpack

DAY = datetime(2026, 9, 4, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_share_is_spread_over_the_day() -> None:
    used = 0
    spent = []
    for slot in range(12):  # a pull every 2 h from 00:00, each spending all it may
        budget = calls_allowed(DAY + slot * 2 * HOUR, share=5, used=used, interval_s=7200)
        spent.append(budget)
        used += budget
    assert spent == [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert used == 5
    assert calls_allowed(DAY + 23 * HOUR, share=500, used=0, interval_s=7200) == 500  # late: the whole share
    assert calls_allowed(DAY + 12 * HOUR, share=500, used=499, interval_s=7200) == 0
    assert calls_allowed(DAY, share=None, used=0, interval_s=7200) == 50  # no quota: a bounded pull


def test_the_window_holds_yesterday_within_one_interval_after_midnight() -> None:
    assert posting_window(DAY + HOUR, 7200) == (date(2026, 9, 3), date(2026, 9, 4))
    assert posting_window(DAY + 3 * HOUR, 7200) == (date(2026, 9, 4), date(2026, 9, 4))


def page(total: int, count: int, start: int = 0) -> Received:
    items = [
        {"noticeId": f"{start + number:032x}", "title": f"n{start + number}", "type": "Solicitation"}
        for number in range(count)
    ]
    raw = json.dumps({"totalRecords": total, "limit": 1000, "offset": 0, "opportunitiesData": items}).encode()
    return Received(json.loads(raw), raw)


class FakeTransport:
    """Answers from a script; counts a request as sent unless the step is the quota guard refusing it."""

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.calls = 0
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def get_received(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        assert deadline.remaining_s() > 0
        step = self.steps.pop(0)
        if step == "guard":
            raise UpstreamQuotaExceeded("samopps", "samopps's share of the sam quota is spent", retry_after_s=60)
        self.calls += 1
        self.asked.append((path, dict(params)))
        if isinstance(step, Exception):
            raise step
        return step


async def test_a_pull_pages_by_record_offset_until_it_has_every_posting() -> None:
    transport = FakeTransport(page(2300, 1000), page(2300, 1000, 1000), page(2300, 300, 2000))
    outcome = await pull(transport, (date(2026, 9, 4), date(2026, 9, 4)), budget=10, timeout_s=5)
    assert (outcome.calls, outcome.complete, outcome.error, outcome.quota_ended) == (3, True, None, False)
    assert sum(len(found.notices) for found in outcome.pages) == 2300
    assert [params["offset"] for _, params in transport.asked] == ["0", "1000", "2000"]
    assert {path for path, _ in transport.asked} == {PULL_PATH}
    assert all("api_key" not in params for _, params in transport.asked)  # the transport adds it


async def test_no_data_found_is_zero_hits() -> None:
    no_data = UpstreamRejected("samopps", "samopps refused the request (HTTP 404)", status=404)
    outcome = await pull(FakeTransport(no_data), (DAY.date(), DAY.date()), budget=3, timeout_s=5)
    assert (outcome.calls, outcome.complete, outcome.error, outcome.pages) == (1, True, None, [])


async def test_the_budget_ends_a_pull_without_error() -> None:
    transport = FakeTransport(page(5000, 1000), page(5000, 1000, 1000))
    outcome = await pull(transport, (DAY.date(), DAY.date()), budget=2, timeout_s=5)
    assert (outcome.calls, outcome.complete, outcome.error) == (2, False, None)


async def test_the_guards_refusal_ends_a_pull_without_error() -> None:
    transport = FakeTransport(page(5000, 1000), "guard")
    outcome = await pull(transport, (DAY.date(), DAY.date()), budget=5, timeout_s=5)
    assert (outcome.calls, outcome.quota_ended, outcome.error, len(outcome.bodies)) == (1, True, None, 1)


async def test_sams_own_429_is_an_error_and_keeps_what_came_before() -> None:
    spent = UpstreamQuotaExceeded("samopps", "samopps quota exceeded", retry_after_s=3600)
    transport = FakeTransport(page(5000, 1000), spent)
    outcome = await pull(transport, (DAY.date(), DAY.date()), budget=5, timeout_s=5)
    assert (outcome.calls, outcome.quota_ended, len(outcome.bodies)) == (2, True, 1)
    assert outcome.error == "SAM refused the key: samopps quota exceeded"


async def test_an_unavailable_api_is_an_error() -> None:
    down = UpstreamUnavailable("samopps", "samopps answered HTTP 503", status=503)
    outcome = await pull(FakeTransport(down), (DAY.date(), DAY.date()), budget=5, timeout_s=5)
    assert (outcome.calls, outcome.complete, outcome.error) == (1, False, "samopps answered HTTP 503")


def test_published_pages_read_back() -> None:
    raw = page(1, 1).raw
    assert unpack(pack(raw)) == raw
    assert unpack("not base64!") is None
