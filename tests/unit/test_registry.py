"""The registry, derived from the list of specs: a fourth upstream declared in the tests joins with no other change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.cache.store import Cached, Fetch, MemoryCache, NoCache, ResponseCache, StoreIf
from gateway.errors import UpstreamQuotaExceeded
from gateway.limits.quota import QuotaGuard
from gateway.models import TenderQuery
from gateway.settings import Settings
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.client import PROTOCOL_OF_KIND
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.registry import UpstreamDeclarationError, Upstreams, open_upstreams
from gateway.upstreams.spec import CredentialSpec, RecordKind, UpstreamSpec
from tests.fourth_upstream import FOURTH, TENDERS, FourthFeed, running_fourth_feed

SECRET = "fourth-secret-key"


@pytest.fixture
async def feed() -> AsyncIterator[FourthFeed]:
    async with running_fourth_feed() as running:
        yield running


class KeyRecordingCache:
    """No caching; remembers the keys it was asked for."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        self.keys.append(key)
        return await NoCache().get_or_fetch(key, fetch, ttl_s=ttl_s, stale_for_s=stale_for_s)


async def opened(
    environ: Mapping[str, str],
    stack: AsyncExitStack,
    *,
    specs: tuple[UpstreamSpec, ...],
    cache: ResponseCache | None = None,
    quota_guard: QuotaGuard | None = None,
) -> Upstreams:
    settings = Settings.from_env(environ, specs=specs)
    memory = MemoryCache(max_entries=100, max_bytes=1_000_000)
    return await open_upstreams(settings, stack, cache or memory, quota_guard=quota_guard)


def deadline() -> Deadline:
    return Deadline.after(5)


async def test_a_fourth_upstream_declared_in_the_tests_is_opened_configured_and_served(feed: FourthFeed) -> None:
    async with AsyncExitStack() as stack:
        upstreams = await opened(
            {"GATEWAY_FOURTH_URL": feed.base_url, "GATEWAY_FOURTH_API_KEY": SECRET}, stack, specs=(*SPECS, FOURTH)
        )
        assert [upstream.name for upstream in upstreams.all()] == [*(spec.name for spec in SPECS), "fourth"]
        fourth = upstreams.get("fourth")
        assert fourth is not None
        assert (fourth.spec, fourth.configured, fourth.settings.url) == (FOURTH, True, feed.base_url)
        assert fourth.http is not None
        assert fourth.settings.ttl_s == {RecordKind.TENDER: 60}
        assert upstreams.serving(RecordKind.TENDER) == (fourth,)  # the catalog's upstreams are not configured
        assert all(not u.configured and u.client is None and u.http is None for u in upstreams.all()[:-1])

        page = await upstreams.tenders("fourth").search_tenders(
            TenderQuery(keywords=("road",)), limit=10, offset=0, deadline=deadline()
        )
        assert [tender.reference for tender in page.items] == ["F-2"]
        found = await upstreams.tenders("fourth").tender("F-3", hint=None, deadline=deadline())
        assert found is not None
        assert found.title.en == TENDERS[2]["title"]
        headers, query = feed.requests[0]
        assert headers["X-Fourth-Key"] == SECRET  # its credential, sent as its spec says
        assert query == {"q": "road"}
        assert fourth.http.breaker.last_success is not None


async def test_every_configured_upstream_is_served_in_catalog_order(feed: FourthFeed, tmp_path: Path) -> None:
    specs = (*SPECS, FOURTH)
    environ = {f"GATEWAY_{spec.name.upper()}_URL": feed.base_url for spec in specs}
    # a mirror (canadabuys) keeps its files under the data directory; following it, this process downloads nothing
    environ |= {"GATEWAY_MIRROR_DATA_DIR": str(tmp_path), "GATEWAY_MIRROR_REFRESH_IN_PROCESS": "false"}
    async with AsyncExitStack() as stack:
        upstreams = await opened(environ, stack, specs=specs)
        for kind in RecordKind:
            expected = [spec.name for spec in specs if spec.serves(kind)]
            assert [upstream.name for upstream in upstreams.serving(kind)] == expected
        assert all(upstream.configured for upstream in upstreams.all())
        assert all((upstream.http is None) is (upstream.spec.mirror is not None) for upstream in upstreams.all())
        assert all((upstream.mirror is None) is (upstream.spec.mirror is None) for upstream in upstreams.all())
        assert upstreams.get("nowhere") is None


async def test_typed_accessors_refuse_what_an_upstream_does_not_serve(feed: FourthFeed) -> None:
    async with AsyncExitStack() as stack:
        upstreams = await opened({"GATEWAY_FOURTH_URL": feed.base_url}, stack, specs=(*SPECS, FOURTH))
        with pytest.raises(KeyError):
            upstreams.leads("fourth")
        with pytest.raises(KeyError):
            upstreams.contracts("fourth")
        with pytest.raises(KeyError):
            upstreams.tenders("canada")  # declared, but not configured
        with pytest.raises(KeyError):
            upstreams.award_families("nowhere")
        fourth = upstreams.get("fourth")
        assert fourth is not None
        assert upstreams.tenders("fourth") is fourth.client


async def test_a_credential_sent_as_a_query_parameter_never_reaches_a_cache_key(feed: FourthFeed) -> None:
    in_query = replace(FOURTH, credential=CredentialSpec(name="fourth", sent_as="query", parameter="key"))
    cache = KeyRecordingCache()
    async with AsyncExitStack() as stack:
        upstreams = await opened(
            {"GATEWAY_FOURTH_URL": feed.base_url, "GATEWAY_FOURTH_API_KEY": SECRET},
            stack,
            specs=(*SPECS, in_query),
            cache=cache,
        )
        await upstreams.tenders("fourth").search_tenders(TenderQuery(), limit=5, offset=0, deadline=deadline())
    headers, query = feed.requests[0]
    assert query == {"key": SECRET}
    assert "X-Fourth-Key" not in headers
    assert cache.keys == ["fourth:tenders?"]


async def test_no_key_is_sent_when_none_is_set(feed: FourthFeed) -> None:
    async with AsyncExitStack() as stack:
        upstreams = await opened({"GATEWAY_FOURTH_URL": feed.base_url}, stack, specs=(*SPECS, FOURTH))
        await upstreams.tenders("fourth").search_tenders(TenderQuery(), limit=5, offset=0, deadline=deadline())
    headers, query = feed.requests[0]
    assert "X-Fourth-Key" not in headers
    assert query == {}


async def test_upstreams_sharing_a_credential_share_its_daily_quota(feed: FourthFeed) -> None:
    fifth = replace(FOURTH, name="fifth", title="Fifth tender feed (tests only)")  # same credential: "fourth"
    keyless = replace(FOURTH, name="sixth", credential=None)
    specs = (*SPECS, FOURTH, fifth, keyless)
    environ = {
        "GATEWAY_FOURTH_URL": feed.base_url,
        "GATEWAY_FIFTH_URL": feed.base_url,
        "GATEWAY_SIXTH_URL": feed.base_url,
        "GATEWAY_FOURTH_DAILY_QUOTA": "2",
    }
    settings = Settings.from_env(environ, specs=specs)
    assert settings.daily_quotas()["fourth"] == 2
    guard = QuotaGuard.from_settings(settings)
    async with AsyncExitStack() as stack:
        upstreams = await opened(environ, stack, specs=specs, cache=NoCache(), quota_guard=guard)

        async def search(name: str) -> None:
            await upstreams.tenders(name).search_tenders(TenderQuery(), limit=5, offset=0, deadline=deadline())

        await search("fourth")
        await search("fifth")
        with pytest.raises(UpstreamQuotaExceeded) as spent:
            await search("fifth")
        assert spent.value.upstream == "fifth"
        with pytest.raises(UpstreamQuotaExceeded):
            await search("fourth")
        for _ in range(3):
            await search("sixth")  # no credential: not counted
        assert await guard.remaining("fourth") == 0
        assert await guard.remaining("sixth") is None
    assert len(feed.requests) == 5
    await guard.aclose()


@pytest.mark.parametrize(
    ("client", "problem"),
    [
        ("tests.fourth_upstream:IncompleteClient", "TenderClient.tender is missing"),
        ("tests.fourth_upstream:IncompleteClient", "TenderClient.search_tenders must be async"),
        ("tests.fourth_upstream:NoSuchClient", "cannot load its client"),
        ("tests.no_such_module:FourthClient", "cannot load its client"),
        ("tests.fourth_upstream:TENDERS", "is not a class"),
    ],
)
async def test_a_client_that_does_not_implement_its_kinds_is_refused_at_open_time(client: str, problem: str) -> None:
    broken = replace(FOURTH, client=client)
    async with AsyncExitStack() as stack:
        with pytest.raises(UpstreamDeclarationError, match=problem):
            await opened({}, stack, specs=(*SPECS, broken))  # refused even when not configured


async def test_a_client_serving_more_kinds_than_it_implements_is_refused() -> None:
    greedy = replace(
        FOURTH,
        kinds=frozenset({RecordKind.TENDER, RecordKind.LEAD}),
        criteria={RecordKind.TENDER: frozenset({"keywords"}), RecordKind.LEAD: frozenset({"keywords"})},
        default_ttl_s={RecordKind.TENDER: 60, RecordKind.LEAD: 60},
    )
    async with AsyncExitStack() as stack:
        with pytest.raises(UpstreamDeclarationError, match=r"LeadClient\.search_leads is missing"):
            await opened({}, stack, specs=(*SPECS, greedy))


async def test_the_catalog_clients_implement_their_kinds(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        environ = {f"GATEWAY_{spec.name.upper()}_URL": "http://127.0.0.1:9/" for spec in SPECS}
        # a mirror keeps its files under the data directory; following it, this process downloads nothing
        environ |= {"GATEWAY_MIRROR_DATA_DIR": str(tmp_path), "GATEWAY_MIRROR_REFRESH_IN_PROCESS": "false"}
        upstreams = await opened(environ, stack, specs=SPECS)
        for upstream in upstreams.all():
            assert type(upstream.client).__name__ == upstream.spec.client.rpartition(":")[2]
            assert all(isinstance(upstream.client, PROTOCOL_OF_KIND[kind]) for kind in upstream.spec.kinds)
