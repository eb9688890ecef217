"""The OCDS paging client with a fake publisher and a fake clock: cursor paging through `links.next` (on the
configured host only), one request at a time at the publisher's pace, "too many requests" waited out (Contracts
Finder's 403: its wait; Find a Tender's 429/503: `Retry-After`), failures bounded."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest

from gateway.upstreams.contractsfinder.adapter import PUBLISHER as CONTRACTS_FINDER
from gateway.upstreams.findatender.adapter import PUBLISHER as FIND_A_TENDER
from gateway.upstreams.ocds.fetcher import Answer, FetchError, PackageFetcher
from gateway.upstreams.ocds.pacing import Pacer, Pacing, retry_after_s
from gateway.upstreams.ocds.publisher import Publisher

BASE = "https://publisher.example/"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(hours=6)


class FakeClock:
    """Monotonic seconds and a wall clock that move only when someone sleeps."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.seconds += seconds
        await asyncio.sleep(0)


def release(number: int) -> dict[str, Any]:
    return {"ocid": f"ocds-test-{number}", "id": f"r{number}", "date": "2026-03-01T01:00:00Z", "tag": ["tender"]}


def page(numbers: range, next_url: str | None = None) -> Answer:
    body: dict[str, Any] = {"version": "1.1", "releases": [release(n) for n in numbers]}
    if next_url is not None:
        body["links"] = {"next": next_url}
    return Answer(200, {}, json.dumps(body).encode())


@dataclass
class FakePublisher:
    """Answers by URL (a list per URL: one answer per request, the last one repeated); records each request."""

    clock: FakeClock
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[float, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    first: str | None = None

    async def get(self, url: str, *, max_bytes: int) -> Answer:
        self.requests.append((self.clock.monotonic(), url))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            key = url if url in self.answers else "first"
            queue = self.answers[key]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if answer.status == -1:
                raise aiohttp.ClientConnectionError("reset")
            return answer
        finally:
            self.in_flight -= 1

    @property
    def urls(self) -> list[str]:
        return [url for _, url in self.requests]

    @property
    def starts(self) -> list[float]:
        return [moment for moment, _ in self.requests]


def fetcher(
    publisher: Publisher, fake: FakePublisher, clock: FakeClock, pacing: Pacing, *, base: str = BASE
) -> PackageFetcher:
    return PackageFetcher(
        publisher,
        base,
        fake,
        Pacer(pacing, clock=clock.monotonic, sleep=clock.sleep),
        max_page_bytes=1 << 20,
        retries=2,
        retry_wait_s=1.0,
        now=clock.wall,
    )


def throttled(status: int, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, dict(headers or {}), b"too many requests")


# -- paging ---------------------------------------------------------------------------------------------------------


async def test_a_window_follows_links_next_to_the_last_page() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock)
    second, third = BASE + "Published/Notices/OCDS/Search?cursor=Mg", BASE + "Published/Notices/OCDS/Search?cursor=Mw"
    fake.answers = {"first": [page(range(3), second)], second: [page(range(3, 5), third)], third: [page(range(5, 6))]}
    pulled = await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert [r["id"] for r in pulled.releases] == [f"r{n}" for n in range(6)]
    assert pulled.pages == 3
    assert fake.urls == [
        BASE + "Published/Notices/OCDS/Search?publishedFrom=2026-03-01T00:00:00Z&publishedTo=2026-03-01T06:00:00Z"
        "&stages=planning,tender,award,implementation&limit=100",
        second,
        third,
    ]


async def test_find_a_tender_windows_are_written_as_it_documents() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [page(range(1))]})
    await fetcher(FIND_A_TENDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert fake.urls == [
        BASE + "api/1.0/ocdsReleasePackages?updatedFrom=2026-03-01T00:00:00&updatedTo=2026-03-01T06:00:00"
        "&stages=planning,tender,award&limit=100"
    ]


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("https://elsewhere.example/Published/Notices/OCDS/Search?cursor=Mg", "off the configured host"),
        ("https://publisher.example:8443/Published/Notices/OCDS/Search?cursor=Mg", "off the configured host"),
        ("ftp://publisher.example/cursor", "off the configured host"),
        ("/Published/Notices/OCDS/Search?cursor=Mg", "off the configured host"),
    ],
)
async def test_links_next_is_followed_only_on_the_configured_host(link: str, reason: str) -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [page(range(2), link)]})
    with pytest.raises(FetchError, match=reason):
        await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert len(fake.requests) == 1  # the other host was never asked


async def test_a_cursor_pointing_back_ends_the_window() -> None:
    clock = FakeClock()
    second = BASE + "Published/Notices/OCDS/Search?cursor=Mg"
    fake = FakePublisher(clock, {"first": [page(range(2), second)], second: [page(range(2, 4), second)]})
    with pytest.raises(FetchError, match="points back"):
        await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)


async def test_an_empty_page_ends_the_window_even_with_a_next_link() -> None:
    clock = FakeClock()
    second = BASE + "Published/Notices/OCDS/Search?cursor=Mg"
    fake = FakePublisher(clock, {"first": [page(range(2), second)], second: [page(range(0), second + "x")]})
    pulled = await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert (len(pulled.releases), pulled.pages) == (2, 2)


async def test_a_window_too_large_to_hold_ends_the_window() -> None:
    clock = FakeClock()
    second = BASE + "Published/Notices/OCDS/Search?cursor=Mg"
    first_page = page(range(50), second)
    fake = FakePublisher(clock, {"first": [first_page], second: [page(range(50, 100))]})
    client = PackageFetcher(
        CONTRACTS_FINDER,
        BASE,
        fake,
        Pacer(Pacing(0.0, 0.0), clock=clock.monotonic, sleep=clock.sleep),
        max_page_bytes=1 << 20,
        max_window_bytes=len(first_page.body) + 10,
    )
    with pytest.raises(FetchError, match="shorten the window"):
        await client.window(START, END)
    assert len(fake.requests) == 2


async def test_a_refused_page_ends_the_window() -> None:
    clock = FakeClock()
    second = BASE + "Published/Notices/OCDS/Search?cursor=Mg"
    fake = FakePublisher(clock, {"first": [page(range(2), second)], second: [Answer(200, {}, b"<html>oops</html>")]})
    with pytest.raises(FetchError, match="a page was refused: the page is not JSON"):
        await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)


# -- pacing ----------------------------------------------------------------------------------------------------------


async def test_requests_are_paced_one_at_a_time_on_a_fake_clock() -> None:
    """Find a Tender's pace (12 requests in 2 minutes: one every 10 s), even for two windows asked at once."""
    clock = FakeClock()
    fake = FakePublisher(clock)
    links = [BASE + f"api/1.0/ocdsReleasePackages?cursor={n}" for n in range(1, 5)]
    fake.answers = {"first": [page(range(1), links[0])]}
    fake.answers.update(
        {link: [page(range(n + 1, n + 2), links[n + 1] if n + 1 < 4 else None)] for n, link in enumerate(links)}
    )
    client = fetcher(FIND_A_TENDER, fake, clock, Pacing(interval_s=10.0, throttled_wait_s=60.0))
    started = clock.monotonic()
    first, second = await asyncio.gather(client.window(START, END), client.window(END, END + timedelta(hours=6)))
    assert (first.pages, second.pages) == (5, 5)
    assert fake.most_in_flight == 1
    starts = fake.starts
    assert len(starts) == 10
    assert starts[0] == started  # the first request does not wait
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert gaps == [10.0] * 9
    # 12 requests in any 2 minutes at most
    assert all(sum(1 for moment in starts if start <= moment < start + 120) <= 12 for start in starts)


async def test_contracts_finder_403_waits_five_minutes_then_asks_the_same_url_again() -> None:
    clock = FakeClock()
    second = BASE + "Published/Notices/OCDS/Search?cursor=Mg"
    fake = FakePublisher(clock, {"first": [page(range(2), second)], second: [throttled(403), page(range(2, 3))]})
    pacing = Pacing(interval_s=1.0, throttled_wait_s=300.0)
    pulled = await fetcher(CONTRACTS_FINDER, fake, clock, pacing).window(START, END)
    assert len(pulled.releases) == 3
    assert pulled.throttled == 1
    assert fake.urls[1:] == [second, second]
    start_0, start_1, start_2 = fake.starts
    assert start_1 - start_0 == 1.0
    assert start_2 - start_1 == 300.0


async def test_find_a_tender_429_and_503_honour_retry_after() -> None:
    clock = FakeClock()
    later = format_datetime(clock.wall() + timedelta(seconds=45), usegmt=True)
    fake = FakePublisher(
        clock,
        {"first": [throttled(429, {"Retry-After": "25"}), throttled(503, {"Retry-After": later}), page(range(1))]},
    )
    pulled = await fetcher(FIND_A_TENDER, fake, clock, Pacing(interval_s=10.0, throttled_wait_s=60.0)).window(
        START, END
    )
    assert pulled.throttled == 2
    start_0, start_1, start_2 = fake.starts
    assert start_1 - start_0 == 25.0  # its Retry-After (longer than the interval)
    # The HTTP date was 45 s after the first request; the second one started 25 s later.
    assert start_2 - start_1 == pytest.approx(20.0)


async def test_retry_after_shorter_than_the_pace_still_keeps_the_pace() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [throttled(429, {"Retry-After": "2"}), page(range(1))]})
    await fetcher(FIND_A_TENDER, fake, clock, Pacing(interval_s=10.0, throttled_wait_s=60.0)).window(START, END)
    start_0, start_1 = fake.starts
    assert start_1 - start_0 == 10.0


async def test_a_throttle_without_retry_after_waits_the_publisher_wait() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [throttled(503), page(range(1))]})
    await fetcher(FIND_A_TENDER, fake, clock, Pacing(interval_s=10.0, throttled_wait_s=60.0)).window(START, END)
    start_0, start_1 = fake.starts
    assert start_1 - start_0 == 60.0


async def test_a_too_long_retry_after_ends_the_window() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [throttled(429, {"Retry-After": "7200"})]})
    with pytest.raises(FetchError, match="asked to wait 7200 s"):
        await fetcher(FIND_A_TENDER, fake, clock, Pacing(10.0, 60.0, max_wait_s=600.0)).window(START, END)
    assert len(fake.requests) == 1


async def test_throttling_without_end_ends_the_window() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [throttled(403)]})
    with pytest.raises(FetchError, match="too many requests' 4 times in a row"):
        await fetcher(CONTRACTS_FINDER, fake, clock, Pacing(1.0, 300.0, max_throttled=3)).window(START, END)
    assert len(fake.requests) == 4


async def test_403_is_a_refusal_for_find_a_tender() -> None:
    """Only Contracts Finder says "too many requests" with a 403."""
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [throttled(403)]})
    with pytest.raises(FetchError, match="answered HTTP 403"):
        await fetcher(FIND_A_TENDER, fake, clock, Pacing(10.0, 60.0)).window(START, END)
    assert len(fake.requests) == 1


async def test_server_errors_and_broken_connections_are_retried_a_bounded_number_of_times() -> None:
    clock = FakeClock()
    fake = FakePublisher(clock, {"first": [Answer(500, {}, b""), Answer(-1, {}, b""), page(range(1))]})
    pulled = await fetcher(FIND_A_TENDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert len(pulled.releases) == 1
    assert len(fake.requests) == 3
    fake = FakePublisher(clock, {"first": [Answer(502, {}, b"")]})
    with pytest.raises(FetchError, match=r"answered HTTP 502 \(3 attempts\)"):
        await fetcher(FIND_A_TENDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    fake = FakePublisher(clock, {"first": [Answer(404, {}, b'{"error": "not found"}')]})
    with pytest.raises(FetchError, match="answered HTTP 404"):
        await fetcher(FIND_A_TENDER, fake, clock, Pacing(0.0, 0.0)).window(START, END)
    assert len(fake.requests) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after_s({"Retry-After": "120"}, now) == 120.0
    assert retry_after_s({"Retry-After": "Sun, 01 Mar 2026 12:01:30 GMT"}, now) == 90.0
    assert retry_after_s({"Retry-After": "Sun, 01 Mar 2026 11:00:00 GMT"}, now) == 0.0
    assert retry_after_s({"Retry-After": "soon"}, now) is None
    assert retry_after_s({}, now) is None


def test_pacing_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="pacing"):
        Pacing(-1.0, 0.0)
    with pytest.raises(ValueError, match="pacing"):
        replace(Pacing(1.0, 1.0), max_throttled=0)
