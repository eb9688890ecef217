"""The one fetch path: parse before store, stale-if-error, the empty-answer policy, single flight, parsed reuse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from gateway.cache.codec import JSON_NULL_BODY
from gateway.cache.store import Cached, CacheStatus, Fetch, MemoryCache, NoCache, ResponseCache, StoreIf, cache_key
from gateway.errors import UpstreamBadResponse, UpstreamRejected, UpstreamUnavailable
from gateway.models import ContractQuery, LeadQuery, Page, Tender, TenderQuery
from gateway.request_record import RequestRecord, recording
from gateway.settings import Settings, UpstreamSettings
from gateway.upstreams.canada import adapter as canada
from gateway.upstreams.canada.spec import SPEC as CANADA
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import EmptyAnswer, ParsedAnswers, UpstreamFetch
from gateway.upstreams.ita import adapter as ita
from gateway.upstreams.ita.spec import SPEC as ITA
from gateway.upstreams.sam import adapter as sam
from gateway.upstreams.sam.spec import SPEC as SAM
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from tests.fourth_upstream import FOURTH, FourthClient, parse_tenders

TTL_S = 60
STALE_FOR_S = 600
ROWS = {"tenders": [{"id": "F-1", "title": "Snow removal"}], "total": 1}
ROWS_LATER = {"tenders": [{"id": "F-1", "title": "Snow removal"}, {"id": "F-2", "title": "Salt"}], "total": 2}
NOT_FOUND = UpstreamRejected("fourth", "fourth refused the request (HTTP 404)", status=404)
DOWN = UpstreamUnavailable("fourth", "fourth answered HTTP 503", status=503)


class ScriptedTransport:
    """Answers (or raises) `answers` in turn, the last one for every later call; counts its calls."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def get_json(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def memory_cache(clock: Clock) -> MemoryCache:
    return MemoryCache(max_entries=100, max_bytes=10_000_000, clock=clock)


def fetch_path(spec: UpstreamSpec, transport: ScriptedTransport, cache: ResponseCache) -> UpstreamFetch:
    return UpstreamFetch(spec, transport, cache, ttl_s=dict.fromkeys(spec.kinds, TTL_S), stale_for_s=STALE_FOR_S)


async def get_rows(fetch: UpstreamFetch, *, stale_if_error: bool = True, path: str = "tenders") -> Page[Tender]:
    return await fetch.get(
        path,
        {"q": "snow"},
        kind=RecordKind.TENDER,
        parse=parse_tenders,
        empty=EmptyAnswer(Page((), 0)),
        deadline=Deadline.after(5),
        stale_if_error=stale_if_error,
    )


# -- a body the parser rejects is never stored -----------------------------------------------------------------------

Ask = Callable[[UpstreamFetch], Awaitable[Page[Any]]]


async def ita_search(fetch: UpstreamFetch) -> Page[Any]:
    return await ita.TradeLeadsClient(ITA, fetch).search_leads(
        LeadQuery(), limit=5, offset=0, deadline=Deadline.after(5)
    )


async def canada_tenders(fetch: UpstreamFetch) -> Page[Any]:
    client = canada.CanadaClient(CANADA, fetch)
    return await client.search_tenders(TenderQuery(), limit=5, offset=0, deadline=Deadline.after(5))


async def sam_contracts(fetch: UpstreamFetch) -> Page[Any]:
    client = sam.ContractAwardsClient(SAM, fetch)
    return await client.search_contracts(
        ContractQuery(), limit=5, offset=0, selection=frozenset(), deadline=Deadline.after(5)
    )


async def fourth_tenders(fetch: UpstreamFetch) -> Page[Any]:
    client = FourthClient(FOURTH, fetch)
    return await client.search_tenders(TenderQuery(), limit=5, offset=0, deadline=Deadline.after(5))


GOOD = {
    "ita": {"results": [{"id": "L1", "source": "UK", "title": "t"}], "total": 1, "offset": 0},
    "canada": [{"tender": "PW-1", "title_en": "t"}],
    "sam": {"awardSummary": [{"contractId": {"piid": "P1"}}], "totalRecords": "1", "limit": "5", "offset": "0"},
    "fourth": ROWS,
}
CLIENTS: dict[str, tuple[UpstreamSpec, Ask]] = {
    "ita": (ITA, ita_search),
    "canada": (CANADA, canada_tenders),
    "sam": (SAM, sam_contracts),
    "fourth": (FOURTH, fourth_tenders),
}
WRONG_SHAPES: list[tuple[str, object]] = [
    ("ita", {}),
    ("ita", []),
    ("ita", None),
    ("canada", {}),
    ("canada", None),
    ("canada", {"tenders": []}),
    ("sam", {}),
    ("sam", []),
    ("sam", None),
    ("fourth", {}),
    ("fourth", []),
    ("fourth", None),
]


@pytest.mark.parametrize(("upstream", "wrong"), WRONG_SHAPES)
async def test_a_body_its_parser_rejects_is_never_stored_and_the_recovered_upstream_is_asked_again(
    upstream: str, wrong: object
) -> None:
    spec, ask = CLIENTS[upstream]
    transport = ScriptedTransport(wrong, GOOD[upstream])
    cache = memory_cache(Clock())
    fetch = fetch_path(spec, transport, cache)
    with pytest.raises(UpstreamBadResponse):
        await ask(fetch)
    assert (cache.entries, cache.stats.total("fetch_errors")) == (0, 1)
    page = await ask(fetch)
    assert len(page.items) == 1
    assert (transport.calls, cache.entries) == (2, 1)
    assert await ask(fetch) == page
    assert transport.calls == 2  # the good body is stored


async def test_an_exception_from_the_parser_is_never_stored_either() -> None:
    transport = ScriptedTransport(ROWS)
    cache = memory_cache(Clock())
    fetch = fetch_path(FOURTH, transport, cache)
    broken = {"fails": True}

    def parse(payload: object) -> object:
        if broken["fails"]:
            raise KeyError("a parser bug")
        return parse_tenders(payload)

    async def get() -> object:
        return await fetch.get("tenders", {}, kind=RecordKind.TENDER, parse=parse, deadline=Deadline.after(5))

    with pytest.raises(KeyError):
        await get()
    assert cache.entries == 0
    broken["fails"] = False
    assert isinstance(await get(), Page)
    assert (transport.calls, cache.entries) == (2, 1)


# -- stale-if-error ---------------------------------------------------------------------------------------------------


async def test_a_failing_upstream_is_answered_from_a_stale_entry_within_the_window() -> None:
    clock = Clock()
    transport = ScriptedTransport(ROWS, DOWN)
    cache = memory_cache(clock)
    fetch = fetch_path(FOURTH, transport, cache)
    fresh = await get_rows(fetch)
    clock.now += TTL_S + 1
    assert await get_rows(fetch) == fresh
    assert cache.stats.total("stale") == 1
    with pytest.raises(UpstreamUnavailable):
        await get_rows(fetch, stale_if_error=False)
    clock.now += STALE_FOR_S
    with pytest.raises(UpstreamUnavailable):
        await get_rows(fetch)
    assert transport.calls == 4


async def test_the_requests_record_holds_each_answer_the_cache_gave_instead_of_a_call() -> None:
    clock = Clock()
    fetch = fetch_path(FOURTH, ScriptedTransport(ROWS, DOWN), memory_cache(clock))
    with recording(RequestRecord("r")) as record:
        await get_rows(fetch)  # a miss: the transport records its own call (a scripted one here records nothing)
        await get_rows(fetch)
        clock.now += TTL_S + 1
        await get_rows(fetch)
    assert [(call.upstream, call.outcome, call.sent) for call in record.upstream_calls] == [
        ("fourth", "cache_hit", False),
        ("fourth", "cache_stale", False),
    ]


async def test_a_rejected_body_is_a_failure_a_stale_entry_answers_and_it_is_not_stored() -> None:
    clock = Clock()
    transport = ScriptedTransport(ROWS, {"tenders": "not a list"}, ROWS_LATER)
    cache = memory_cache(clock)
    fetch = fetch_path(FOURTH, transport, cache)
    first = await get_rows(fetch)
    clock.now += TTL_S + 1
    assert await get_rows(fetch) == first  # served stale: the rejected body did not replace the entry
    assert cache.stats.total("stale") == 1
    later = await get_rows(fetch)
    assert len(later.items) == 2
    assert transport.calls == 3


# -- the empty-answer policy ------------------------------------------------------------------------------------------


async def test_an_answer_without_data_is_the_callers_empty_value_and_is_stored() -> None:
    transport = ScriptedTransport(NOT_FOUND)
    fetch = fetch_path(FOURTH, transport, memory_cache(Clock()))

    def rows_or_none(payload: object) -> Page[Tender] | None:
        return parse_tenders(payload)

    async def get(empty: EmptyAnswer[Page[Tender] | None] | None) -> object:
        return await fetch.get(
            "tenders", {}, kind=RecordKind.TENDER, parse=rows_or_none, empty=empty, deadline=Deadline.after(5)
        )

    assert await get(EmptyAnswer(None, frozenset({404}))) is None
    assert await get(EmptyAnswer(Page((), 0, 40), frozenset({404}))) == Page((), 0, 40)  # each caller its own value
    assert transport.calls == 1
    with pytest.raises(UpstreamBadResponse):  # a caller without a policy for it
        await get(None)


@pytest.mark.parametrize(
    ("answer", "statuses", "outcome"),
    [
        (JSON_NULL_BODY, frozenset({204}), "empty"),
        (JSON_NULL_BODY, frozenset({404}), UpstreamBadResponse),
        (NOT_FOUND, frozenset({204, 404}), "empty"),
        (NOT_FOUND, frozenset({204}), UpstreamRejected),
        (DOWN, frozenset({204, 404, 503}), UpstreamUnavailable),  # only refusals (4xx) can mean "no data"
    ],
)
async def test_which_answers_mean_no_data_is_a_parameter(
    answer: object, statuses: frozenset[int], outcome: object
) -> None:
    fetch = fetch_path(FOURTH, ScriptedTransport(answer), NoCache())

    async def get() -> object:
        return await fetch.get(
            "tenders",
            {},
            kind=RecordKind.TENDER,
            parse=parse_tenders,
            empty=EmptyAnswer("no data", statuses),
            deadline=Deadline.after(5),
        )

    if outcome == "empty":
        assert await get() == "no data"
    else:
        assert isinstance(outcome, type)
        with pytest.raises(outcome):
            await get()


async def test_a_no_content_answer_without_a_policy_is_a_bad_response() -> None:
    fetch = fetch_path(FOURTH, ScriptedTransport(JSON_NULL_BODY), NoCache())
    with pytest.raises(UpstreamBadResponse, match="204"):
        await fetch.get("tenders", {}, kind=RecordKind.TENDER, parse=parse_tenders, deadline=Deadline.after(5))


# -- single flight and parsed reuse ------------------------------------------------------------------------------------


async def test_concurrent_calls_share_one_flight_and_one_parse_even_without_a_cache() -> None:
    transport = ScriptedTransport(ROWS)
    transport.gate = asyncio.Event()
    fetch = fetch_path(FOURTH, transport, NoCache())
    calls = [asyncio.ensure_future(get_rows(fetch)) for _ in range(5)]
    await asyncio.sleep(0)
    transport.gate.set()
    pages = await asyncio.gather(*calls)
    assert transport.calls == 1
    assert all(page is pages[0] for page in pages)


async def test_hits_on_one_entry_reuse_its_parse_until_it_is_written_again() -> None:
    clock = Clock()
    transport = ScriptedTransport(ROWS, ROWS_LATER)
    fetch = fetch_path(FOURTH, transport, memory_cache(clock))
    missed = await get_rows(fetch)
    hit = await get_rows(fetch)
    assert hit == missed
    assert hit is not missed  # a miss is parsed and not kept
    assert await get_rows(fetch) is hit
    assert len(fetch.parsed_answers(RecordKind.TENDER)) == 1
    clock.now += TTL_S
    refreshed = await get_rows(fetch)
    assert len(refreshed.items) == 2
    refreshed_hit = await get_rows(fetch)
    assert refreshed_hit == refreshed
    assert await get_rows(fetch) is refreshed_hit


async def test_another_parser_of_the_same_entry_gets_its_own_value() -> None:
    fetch = fetch_path(FOURTH, ScriptedTransport(ROWS), memory_cache(Clock()))
    page = await get_rows(fetch)
    await get_rows(fetch)  # a hit: its parse is kept

    def count(payload: object) -> int:
        return len(parse_tenders(payload).items)

    number = await fetch.get("tenders", {"q": "snow"}, kind=RecordKind.TENDER, parse=count, deadline=Deadline.after(5))
    assert (number, len(page.items)) == (1, 1)


class CountingParse:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, payload: object) -> Page[str]:
        self.calls += 1
        assert isinstance(payload, list)
        return Page(items=tuple(payload), total=len(payload))


def test_parsed_answers_parse_each_entry_once_keep_a_bounded_few_and_never_keep_misses() -> None:
    parse = CountingParse()
    pages = ParsedAnswers(max_entries=2)
    first = pages.value("a", Cached(["a1"], CacheStatus.HIT, entry_id=(1.0, 11)), parse)
    assert pages.value("a", Cached(["a1"], CacheStatus.HIT, entry_id=(1.0, 11)), parse) is first
    assert pages.value("a", Cached(["a1"], CacheStatus.STALE, entry_id=(1.0, 11)), parse) is first
    assert parse.calls == 1

    assert pages.value("a", Cached(["a2"], CacheStatus.HIT, entry_id=(1.0, 12)), parse).items == ("a2",)  # rewritten
    assert pages.value("a", Cached(["a3"], CacheStatus.MISS), parse).items == ("a3",)
    assert pages.value("a", Cached(["a3"], CacheStatus.BYPASS), parse).items == ("a3",)
    assert parse.calls == 4
    assert pages.value("a", Cached(["a2"], CacheStatus.HIT, entry_id=(1.0, 12)), parse).items == ("a2",)
    assert parse.calls == 4

    pages.value("b", Cached(["b"], CacheStatus.HIT, entry_id=(2.0, 2)), parse)
    pages.value("a", Cached(["a2"], CacheStatus.HIT, entry_id=(1.0, 12)), parse)  # a is now the most recently used
    pages.value("c", Cached(["c"], CacheStatus.HIT, entry_id=(3.0, 3)), parse)  # evicts b
    assert (len(pages), parse.calls) == (2, 6)
    pages.value("a", Cached(["a2"], CacheStatus.HIT, entry_id=(1.0, 12)), parse)
    pages.value("b", Cached(["b"], CacheStatus.HIT, entry_id=(2.0, 2)), parse)
    assert parse.calls == 7
    other = CountingParse()
    pages.value("b", Cached(["b"], CacheStatus.HIT, entry_id=(2.0, 2)), other)  # another parser: parsed anew
    assert (parse.calls, other.calls) == (7, 1)


# -- keys and TTLs -----------------------------------------------------------------------------------------------------


class RecordingCache:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        self.calls.append((key, ttl_s, stale_for_s))
        return await NoCache().get_or_fetch(key, fetch, ttl_s=ttl_s, stale_for_s=stale_for_s)


async def test_keys_hold_public_parameters_sorted_and_ttls_come_from_the_settings_per_record_kind() -> None:
    settings = Settings(
        upstreams={"sam": UpstreamSettings("http://sam.test/", {RecordKind.CONTRACT: 11, RecordKind.AWARD_FAMILY: 22})},
        cache_stale_for_s=33,
    )
    cache = RecordingCache()
    fetch = UpstreamFetch.from_settings(
        SAM, ScriptedTransport({"awardSummary": [], "totalRecords": "0"}), cache, settings
    )
    params = {"piid": "P1", "limit": "1"}
    await fetch.get("search", params, kind=RecordKind.CONTRACT, parse=sam.parse_search, deadline=Deadline.after(5))
    await fetch.get("search", params, kind=RecordKind.AWARD_FAMILY, parse=sam.parse_search, deadline=Deadline.after(5))
    key = cache_key("sam", "search", params)
    assert key == "sam:search?limit=1&piid=P1"
    assert cache.calls == [(key, 11, 33), (key, 22, 33)]
    with pytest.raises(ValueError, match="no lead records"):
        await fetch.get("search", params, kind=RecordKind.LEAD, parse=sam.parse_search, deadline=Deadline.after(5))
