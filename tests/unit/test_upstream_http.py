"""UpstreamHttp and CircuitBreaker without sockets: a scripted session, fake clock, recording sleep, seeded rng."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gateway.cache.codec import JSON_NULL_BODY
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamQuotaExceeded,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.limits.quota import QuotaGuard
from gateway.request_record import RequestRecord, current_record, recording
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp
from gateway.upstreams.breaker import BreakerState, CircuitBreaker
from gateway.upstreams.deadline import Deadline

SETTINGS = Settings(retry_backoff_min_s=0.01, retry_backoff_max_s=0.02, max_upstream_body_bytes=1_000)
SEED = 20260901
HANG = "hang"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)


Step = Reply | BaseException | str


class FakeContent:
    """Hands out at most `chunk_size` bytes per read, as aiohttp's StreamReader does with what it has buffered."""

    def __init__(self, body: bytes, chunk_size: int) -> None:
        self._rest = body
        self._chunk_size = chunk_size

    async def read(self, n: int = -1) -> bytes:
        size = len(self._rest) if n < 0 else min(n, self._chunk_size)
        chunk, self._rest = self._rest[:size], self._rest[size:]
        return chunk


class FakeResponse:
    def __init__(self, reply: Reply, chunk_size: int) -> None:
        self.status = reply.status
        self.headers = reply.headers
        self.content = FakeContent(reply.body, chunk_size)


class FakeRequest:
    def __init__(self, step: Step, chunk_size: int) -> None:
        self._step = step
        self._chunk_size = chunk_size

    async def __aenter__(self) -> FakeResponse:
        if self._step == HANG:
            await asyncio.Event().wait()
        if isinstance(self._step, BaseException):
            raise self._step
        assert isinstance(self._step, Reply)
        return FakeResponse(self._step, self._chunk_size)

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class ScriptedSession:
    """Answers each GET with the next scripted step; the last step repeats."""

    def __init__(self, *script: Step, chunk_size: int = 4) -> None:
        self.script = list(script)
        self.chunk_size = chunk_size
        self.requests: list[tuple[str, dict[str, str], Mapping[str, str] | None]] = []

    def get(self, url: str, *, params: Mapping[str, str], headers: Mapping[str, str] | None) -> FakeRequest:
        self.requests.append((url, dict(params), headers))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return FakeRequest(step, self.chunk_size)


@dataclass
class Harness:
    session: ScriptedSession
    http: UpstreamHttp
    clock: FakeClock
    backoffs: list[float]

    async def call(self, deadline_s: float = 5.0) -> object:
        return await self.http.get_json("contract-awards/v1/search", {"piid": "P1"}, Deadline.after(deadline_s))


def harness(
    *script: Step, settings: Settings = SETTINGS, wall_clock: datetime | None = None, chunk_size: int = 4
) -> Harness:
    session = ScriptedSession(*script, chunk_size=chunk_size)
    clock = FakeClock()
    backoffs: list[float] = []

    async def record_sleep(seconds: float) -> None:
        backoffs.append(seconds)

    breaker = CircuitBreaker("sam", failure_threshold=5, reset_after_s=30.0, clock=clock)
    http = UpstreamHttp(
        "sam",
        "http://sam.test/",
        cast(aiohttp.ClientSession, session),
        settings,
        credentials=Credentials(query={"api_key": "secret-key"}, headers={"X-Trace": "t"}),
        breaker=breaker,
        rng=random.Random(SEED),
        sleep=record_sleep,
        wall_clock=(lambda: wall_clock) if wall_clock is not None else (lambda: datetime.now(UTC)),
    )
    return Harness(session, http, clock, backoffs)


def expected_backoff() -> float:
    return random.Random(SEED).uniform(SETTINGS.retry_backoff_min_s, SETTINGS.retry_backoff_max_s)


def response_error() -> aiohttp.ClientResponseError:
    url = URL("http://sam.test/contract-awards/v1/search")
    info = aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
    return aiohttp.ClientResponseError(info, (), status=400, message="Invalid HTTP status line")


# -- UpstreamHttp ----------------------------------------------------------------------------------------------------


async def test_a_body_arriving_in_pieces_is_read_whole_and_credentials_are_added() -> None:
    h = harness(Reply(body=b'{"awardSummary": [], "totalRecords": "0"}'), chunk_size=3)
    assert await h.call() == {"awardSummary": [], "totalRecords": "0"}
    assert h.session.requests == [
        ("http://sam.test/contract-awards/v1/search", {"piid": "P1", "api_key": "secret-key"}, {"X-Trace": "t"})
    ]
    assert h.http.calls == 1
    assert h.http.breaker.last_success is not None


async def test_no_content_is_the_null_body_marker() -> None:
    assert await harness(Reply(status=204, body=b"")).call() is JSON_NULL_BODY


async def test_a_5xx_is_retried_once_after_a_jittered_backoff() -> None:
    h = harness(Reply(status=503), Reply(body=b"[1]"))
    assert await h.call() == [1]
    assert len(h.session.requests) == 2
    assert h.backoffs == [expected_backoff()]
    assert SETTINGS.retry_backoff_min_s <= h.backoffs[0] <= SETTINGS.retry_backoff_max_s


@pytest.mark.parametrize(
    "failure",
    [Reply(status=500), Reply(status=503), aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError(104, "reset")],
)
async def test_a_second_failure_is_upstream_unavailable(failure: Step) -> None:
    h = harness(failure)
    with pytest.raises(UpstreamUnavailable) as raised:
        await h.call()
    assert raised.value.code == "UPSTREAM_UNAVAILABLE"
    assert raised.value.upstream == "sam"
    assert len(h.session.requests) == 2
    assert len(h.backoffs) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_4xx_is_never_retried_and_never_opens_the_breaker(status: int) -> None:
    h = harness(Reply(status=status, body=b'{"message": "No API Key was supplied."}'))
    for _ in range(7):
        with pytest.raises(UpstreamRejected) as raised:
            await h.call()
        assert raised.value.extensions["status"] == status
    assert len(h.session.requests) == 7
    assert h.backoffs == []
    assert h.http.breaker.state is BreakerState.CLOSED


async def test_a_429_with_retry_after_seconds_pauses_the_upstream() -> None:
    h = harness(Reply(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(UpstreamQuotaExceeded) as raised:
        await h.call()
    assert raised.value.retry_after_s == 7
    assert raised.value.as_extensions() == {"code": "UPSTREAM_QUOTA_EXCEEDED", "upstream": "sam", "retryAfter": 7}
    with pytest.raises(UpstreamQuotaExceeded) as again:
        await h.call()
    assert again.value.retry_after_s in {6, 7}
    assert len(h.session.requests) == 1
    assert h.backoffs == []


async def test_a_429_with_an_http_date_waits_until_then() -> None:
    now = datetime(2026, 10, 21, 7, 27, 0, tzinfo=UTC)
    h = harness(Reply(status=429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}), wall_clock=now)
    with pytest.raises(UpstreamQuotaExceeded) as raised:
        await h.call()
    assert raised.value.retry_after_s == 60
    assert h.http.pause_remaining_s() in {59, 60}


async def test_a_429_without_retry_after_does_not_pause() -> None:
    h = harness(Reply(status=429, body=b'{"code": "900804", "message": "Message throttled out"}'))
    for _ in range(2):
        with pytest.raises(UpstreamQuotaExceeded) as raised:
            await h.call()
        assert raised.value.retry_after_s is None
    assert len(h.session.requests) == 2
    assert h.http.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 0 ", 0),
        ("9999999", 86_400),
        ("Wed, 21 Oct 2026 07:27:30 GMT", 30),
        ("Wed, 21 Oct 2026 07:00:00 GMT", 0),
        ("2026-10-21T07:28:00", None),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header: str | None, seconds: int | None) -> None:
    h = harness(Reply(), wall_clock=datetime(2026, 10, 21, 7, 27, 0, tzinfo=UTC))
    assert h.http._retry_after_s(header) == seconds


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b'{"awardSummary": [', b"\xff\xfe\x00"])
async def test_a_body_that_is_not_json_is_a_bad_response_without_retry(body: bytes) -> None:
    h = harness(Reply(body=body))
    with pytest.raises(UpstreamBadResponse):
        await h.call()
    assert len(h.session.requests) == 1


async def test_a_body_over_the_limit_is_a_bad_response() -> None:
    h = harness(Reply(body=b"[" + b"1," * 600 + b"1]"), chunk_size=64)
    with pytest.raises(UpstreamBadResponse, match="more than the gateway reads"):
        await h.call()


async def test_an_unparseable_http_answer_is_a_bad_response() -> None:
    h = harness(response_error())
    with pytest.raises(UpstreamBadResponse):
        await h.call()
    assert len(h.session.requests) == 1


async def test_a_hanging_upstream_times_out_within_the_deadline_and_is_not_retried() -> None:
    h = harness(HANG)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeout) as raised:
        await h.call(deadline_s=0.2)
    assert loop.time() - started < 1.0
    assert raised.value.extensions["timeoutSeconds"] <= 0.2
    assert len(h.session.requests) == 1


async def test_a_passed_deadline_asks_nobody_and_does_not_charge_the_breaker() -> None:
    h = harness(Reply())
    for _ in range(6):
        with pytest.raises(UpstreamTimeout):
            await h.call(deadline_s=-1)
    assert h.session.requests == []
    assert h.http.breaker.state is BreakerState.CLOSED


async def test_no_retry_when_the_backoff_would_outlast_the_deadline() -> None:
    h = harness(Reply(status=503), Reply())
    with pytest.raises(UpstreamUnavailable):
        await h.call(deadline_s=0.05)
    assert len(h.session.requests) == 1
    assert h.backoffs == []


async def test_no_retries_when_settings_say_so() -> None:
    h = harness(Reply(status=503), settings=Settings(upstream_retries=0))
    with pytest.raises(UpstreamUnavailable):
        await h.call()
    assert len(h.session.requests) == 1


async def test_the_breaker_opens_after_five_consecutive_failures_and_then_asks_nobody() -> None:
    h = harness(Reply(status=503))
    for _ in range(3):  # 2 + 2 + 1 failures: the retry is skipped once the breaker has opened
        with pytest.raises(UpstreamUnavailable):
            await h.call()
    assert len(h.session.requests) == 5
    assert h.http.breaker.state is BreakerState.OPEN
    with pytest.raises(UpstreamCircuitOpen) as raised:
        await h.call()
    assert raised.value.code == "UPSTREAM_CIRCUIT_OPEN"
    assert raised.value.extensions["retryAfter"] == 30
    assert len(h.session.requests) == 5


async def test_after_the_pause_one_probe_closes_the_breaker() -> None:
    h = harness(Reply(status=503), Reply(status=503), Reply(status=503), Reply(status=503), Reply(status=503), Reply())
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await h.call()
    h.clock.advance(30)
    assert h.http.breaker.state is BreakerState.HALF_OPEN
    assert await h.call() == {"ok": True}
    assert h.http.breaker.state is BreakerState.CLOSED


async def test_a_failed_probe_reopens_without_a_retry() -> None:
    h = harness(Reply(status=503))
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await h.call()
    h.clock.advance(30)
    with pytest.raises(UpstreamUnavailable):
        await h.call()
    assert len(h.session.requests) == 6
    assert h.http.breaker.state is BreakerState.OPEN


async def test_a_cancelled_probe_lets_the_next_call_probe() -> None:
    h = harness(HANG, Reply())
    h.http.breaker._opened_at = h.clock.now - 30  # open long enough: the next call is the half-open probe
    probe = asyncio.create_task(h.call())
    await asyncio.sleep(0.01)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert await h.call() == {"ok": True}
    assert h.http.breaker.state is BreakerState.CLOSED


async def test_a_rejected_probe_releases_it() -> None:
    h = harness(Reply(status=403), Reply())
    h.http.breaker._opened_at = h.clock.now - 30
    with pytest.raises(UpstreamRejected):
        await h.call()
    assert h.http.breaker.state is BreakerState.HALF_OPEN
    assert await h.call() == {"ok": True}


# -- CircuitBreaker --------------------------------------------------------------------------------------------------


def breaker() -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker("sam", failure_threshold=5, reset_after_s=30.0, clock=clock), clock


def test_breaker_opens_on_the_fifth_consecutive_failure() -> None:
    b, _ = breaker()
    for _ in range(4):
        b.record_failure()
        b.before_call()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN
    with pytest.raises(UpstreamCircuitOpen):
        b.before_call()


def test_a_success_resets_the_count() -> None:
    b, _ = breaker()
    for _ in range(4):
        b.record_failure()
    b.record_success()
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    assert b.last_failure is not None
    assert b.last_success is not None


def test_half_open_allows_a_single_probe_after_thirty_seconds() -> None:
    b, clock = breaker()
    for _ in range(5):
        b.record_failure()
    clock.advance(29.9)
    with pytest.raises(UpstreamCircuitOpen) as raised:
        b.before_call()
    assert raised.value.extensions["retryAfter"] == 1
    clock.advance(0.1)
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()
    with pytest.raises(UpstreamCircuitOpen):
        b.before_call()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.before_call()
    b.before_call()


def test_a_failed_probe_opens_for_another_full_pause() -> None:
    b, clock = breaker()
    for _ in range(5):
        b.record_failure()
    clock.advance(30)
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.advance(29)
    assert b.state is BreakerState.OPEN
    clock.advance(1)
    assert b.state is BreakerState.HALF_OPEN


def test_a_released_probe_can_be_taken_again() -> None:
    b, clock = breaker()
    for _ in range(5):
        b.record_failure()
    clock.advance(30)
    b.before_call()
    b.release_probe()
    b.before_call()
    with pytest.raises(UpstreamCircuitOpen):
        b.before_call()


# -- the daily quota of the credential -----------------------------------------------------------------------------


def keyed_transport(upstream: str, session: ScriptedSession, guard: QuotaGuard, credential: str | None) -> UpstreamHttp:
    return UpstreamHttp(
        upstream,
        f"http://{upstream}.test/",
        cast(aiohttp.ClientSession, session),
        SETTINGS,
        credentials=Credentials(query={"api_key": "k"}, name=credential),
        quota_guard=guard,
    )


async def test_transports_sharing_a_credential_spend_its_quota_and_keyless_ones_are_not_counted() -> None:
    guard = QuotaGuard({"shared": 2, "solo": 1})
    session = ScriptedSession(Reply())
    first, second = (keyed_transport(name, session, guard, "shared") for name in ("first", "second"))
    uncounted = keyed_transport("third", session, guard, None)
    await first.get_json("p", {}, Deadline.after(5))
    await second.get_json("p", {}, Deadline.after(5))
    with pytest.raises(UpstreamQuotaExceeded) as spent:
        await second.get_json("p", {}, Deadline.after(5))
    assert spent.value.upstream == "second"
    for _ in range(3):
        await uncounted.get_json("p", {}, Deadline.after(5))
    assert len(session.requests) == 5
    assert await guard.remaining("shared") == 0


async def test_a_429_pauses_every_upstream_using_the_same_key() -> None:
    guard = QuotaGuard({"shared": 100})
    throttled = keyed_transport(
        "first", ScriptedSession(Reply(status=429, headers={"Retry-After": "30"})), guard, "shared"
    )
    other_session = ScriptedSession(Reply())
    other = keyed_transport("second", other_session, guard, "shared")
    with pytest.raises(UpstreamQuotaExceeded):
        await throttled.get_json("p", {}, Deadline.after(5))
    with pytest.raises(UpstreamQuotaExceeded) as paused:
        await other.get_json("p", {}, Deadline.after(5))
    assert (paused.value.upstream, other_session.requests) == ("second", [])
    assert paused.value.retry_after_s is not None
    assert 29 <= paused.value.retry_after_s <= 30


# -- the request's record: every attempt, its outcome, and the request id sent upstream ------------------------------


def outcomes(record: RequestRecord) -> list[tuple[str, str, bool]]:
    return [(call.upstream, call.outcome, call.sent) for call in record.upstream_calls]


async def test_each_attempt_is_recorded_and_carries_the_request_id_upstream() -> None:
    h = harness(Reply(status=503), Reply(body=b"[1]"))
    with recording(RequestRecord("req-42")) as record:
        assert await h.call() == [1]
    assert outcomes(record) == [("sam", "5xx", True), ("sam", "ok", True)]
    assert all(call.duration_s >= 0 for call in record.upstream_calls)
    assert [headers for _, _, headers in h.session.requests] == [{"X-Trace": "t", "X-Request-Id": "req-42"}] * 2
    assert record.upstream_calls_sent() == 2


@pytest.mark.parametrize(
    ("step", "outcome", "error"),
    [
        (Reply(status=404), "4xx", UpstreamRejected),
        (Reply(status=429), "quota", UpstreamQuotaExceeded),
        (Reply(body=b"<html>"), "bad_response", UpstreamBadResponse),
        (HANG, "timeout", UpstreamTimeout),
    ],
)
async def test_a_failed_attempt_is_recorded_with_its_outcome(step: Step, outcome: str, error: type[Exception]) -> None:
    h = harness(step)
    with recording(RequestRecord("req-1")) as record, pytest.raises(error):
        await h.call(deadline_s=0.2)
    assert outcomes(record) == [("sam", outcome, True)]


async def test_calls_that_never_went_out_are_recorded_as_not_sent() -> None:
    h = harness(Reply(status=500))
    for _ in range(3):  # 2 + 2 + 1 failures open the breaker
        with pytest.raises(UpstreamError):
            await h.call()
    guard = QuotaGuard({"shared": 1})
    spent = keyed_transport("other", ScriptedSession(Reply()), guard, "shared")
    await spent.get_json("p", {}, Deadline.after(5))
    with recording(RequestRecord("req-2")) as record:
        with pytest.raises(UpstreamCircuitOpen):
            await h.call()
        with pytest.raises(UpstreamQuotaExceeded):
            await spent.get_json("p", {}, Deadline.after(5))
        with pytest.raises(UpstreamTimeout):
            await h.call(deadline_s=0)
    assert outcomes(record) == [("sam", "breaker_open", False), ("other", "quota", False), ("sam", "timeout", False)]
    assert record.upstream_calls_sent() == 0


async def test_outside_a_request_nothing_is_recorded_and_no_id_is_sent() -> None:
    h = harness(Reply())
    await h.call()
    assert current_record() is None
    assert h.session.requests[0][2] == {"X-Trace": "t"}
