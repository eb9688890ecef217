"""The endpoint over fake upstreams (no HTTP upstream): one cost decision per request, the response cache's answers
that may not be kept, the request's deadline, and `operationName` checked once for every document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, print_ast
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.cache.store import MemoryCache
from gateway.edge.cost import RequestCost
from gateway.edge.endpoint import DEADLINE_GRACE_S, GraphQLEndpoint
from gateway.edge.response_cache import WholeResponseCache
from gateway.edge.schema import GatewaySchema, build_schema
from gateway.errors import UpstreamUnavailable
from gateway.limits.limiter import Budget, RateLimiter, WindowBudget
from gateway.limits.metering import Caller, Metering
from gateway.models import Lead, LeadQuery, Page
from gateway.settings import Settings, Tier
from gateway.upstreams.deadline import Deadline
from tests.schema.fakes import FakeClient, FakeUpstreams, standard_upstreams

GRAPHQL_RESPONSE = "application/graphql-response+json"
SETTINGS = Settings(profile="dev")
SCHEMA = build_schema(SETTINGS)
LEADS = "query Leads($n: Int) { leads(first: $n) { totalCount } }"
TIERS = {
    "rich": Tier("rich", requests_per_minute=1000, burst=1000, cost_per_hour=100, max_query_cost=50),
    "poor": Tier("poor", requests_per_minute=1000, burst=1000, cost_per_hour=100, max_query_cost=5),
}


class CountingEstimate:
    """The schema's estimate, remembering what it was asked to price."""

    def __init__(self, schema: GatewaySchema) -> None:
        self._schema = schema
        self.asked: list[tuple[str, Mapping[str, Any] | None, str | None]] = []

    def __call__(self, document: DocumentNode, variables: Mapping[str, Any] | None, operation_name: str | None) -> int:
        self.asked.append((print_ast(document), variables, operation_name))
        return self._schema.estimate_cost(document, variables, operation_name)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    store: MemoryCache
    estimate: CountingEstimate

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        tier: str = "rich",
        deadline_s: float | None = None,
        **body: Any,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE, "X-Test-Tier": tier}
        if deadline_s is not None:
            headers["X-Test-Deadline"] = str(deadline_s)
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables, **body}, headers=headers
        )


@pytest.fixture
async def open_gateway() -> AsyncIterator[Callable[..., Gateway]]:
    """Gateways over fake upstreams; `metering` gives each request a fresh meter of one limiter, for the caller of
    the tier its `X-Test-Tier` header names."""
    limiter = RateLimiter.in_memory()
    stores: list[MemoryCache] = []
    clients: list[httpx.AsyncClient] = []

    def open_one(upstreams: FakeUpstreams, *, settings: Settings = SETTINGS, metering: bool = False) -> Gateway:
        schema = SCHEMA if settings is SETTINGS else build_schema(settings)
        estimate = CountingEstimate(schema)
        store = MemoryCache(max_entries=100, max_bytes=1_000_000)
        endpoint = GraphQLEndpoint(schema, settings, lambda: upstreams, responses=store, estimate=estimate)  # type: ignore[arg-type, return-value]
        app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["GET", "POST"])])

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = {"request_id": "edge-test"}
            given = dict(scope["headers"]).get(b"x-test-deadline")
            if given is not None:  # as the access middleware does, when the request arrives
                scope["state"]["deadline"] = Deadline.after(float(given))
            if metering:
                tier = TIERS[dict(scope["headers"])[b"x-test-tier"].decode()]
                scope["state"]["metering"] = Metering(Caller(f"key-{tier.name}", owner="acme", tier=tier), limiter)
            await app(scope, receive, send)

        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=with_state), base_url="http://edge.test")
        stores.append(store)
        clients.append(client)
        return Gateway(client, store, estimate)

    yield open_one
    for client in clients:
        await client.aclose()
    for store in stores:
        await store.close()
    await limiter.aclose()


async def test_the_cost_is_estimated_once_per_document_variables_and_operation(
    open_gateway: Callable[..., Gateway],
) -> None:
    gateway = open_gateway(standard_upstreams())
    first = (await gateway.post(LEADS, {"n": 20})).json()
    second = (await gateway.post(LEADS, {"n": 20})).json()
    assert "errors" not in first
    assert second["extensions"]["cache"]["response"]["status"] == "HIT"
    assert second["data"] == first["data"]
    assert len(gateway.estimate.asked) == 1  # executed once, estimated once; the hit reused that estimate

    await gateway.post(LEADS, {"n": 30})  # other variables: another operation to price
    assert [variables for _, variables, _ in gateway.estimate.asked] == [{"n": 20}, {"n": 30}]

    not_for_everyone = "{ __typename leads(first: 5) { totalCount } }"  # never response-cached: priced per request
    await gateway.post(not_for_everyone)
    await gateway.post(not_for_everyone)
    assert len(gateway.estimate.asked) == 4


async def test_a_cache_served_answer_is_charged_the_price_its_execution_estimated(
    open_gateway: Callable[..., Gateway],
) -> None:
    gateway = open_gateway(standard_upstreams(), metering=True)
    first = (await gateway.post(LEADS, {"n": 20})).json()
    second = (await gateway.post(LEADS, {"n": 20})).json()
    assert second["extensions"]["cache"]["response"]["status"] == "HIT"
    assert first["extensions"]["cost"]["requested"] == second["extensions"]["cost"]["requested"] == 2
    assert [body["extensions"]["cost"]["budget"]["remaining"] for body in (first, second)] == [98, 96]
    assert len(gateway.estimate.asked) == 1


async def test_a_cache_served_answer_over_the_callers_tier_maximum_is_refused_without_estimating_again(
    open_gateway: Callable[..., Gateway],
) -> None:
    upstreams = standard_upstreams()
    gateway = open_gateway(upstreams, metering=True)
    assert (await gateway.post(LEADS, {"n": 100}, tier="rich")).json()["extensions"]["cost"]["requested"] == 10
    refused = await gateway.post(LEADS, {"n": 100}, tier="poor")
    assert refused.status_code == 400
    body = refused.json()
    assert body["errors"][0]["extensions"] == {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "cost": 10, "limit": 5}
    assert body["extensions"]["cost"]["budget"]["remaining"] == 100  # nothing charged
    assert len(gateway.estimate.asked) == 1
    assert upstreams.calls()["ita"]["search_leads"] == 1


@dataclass
class SlowFailingLeads(FakeClient):
    """Leads that take `delay_s` and then fail; records the time its caller had left on each call."""

    delay_s: float = 0.3
    remaining_at_call: list[float] = field(default_factory=list)

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        self.remaining_at_call.append(deadline.remaining_s())
        self.calls["search_leads"] += 1
        await asyncio.sleep(self.delay_s)
        raise UpstreamUnavailable(self.name, "down (test)", status=503)


async def test_an_answer_that_may_not_be_kept_is_not_stored_and_not_a_fetch_error(
    open_gateway: Callable[..., Gateway],
) -> None:
    leads = SlowFailingLeads("ita", delay_s=0)
    gateway = open_gateway(standard_upstreams(ita=leads))
    for _ in range(2):
        body = (await gateway.post(LEADS, {"n": 5})).json()
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UPSTREAM_UNAVAILABLE"]
    assert leads.calls["search_leads"] == 2  # nothing kept: the second request executed again
    assert gateway.store.entries == 0
    assert gateway.store.stats.total("fetch_errors") == 0
    assert gateway.store.stats.total("misses") == 2


async def test_a_request_that_waited_on_another_and_runs_again_keeps_its_own_deadline(
    open_gateway: Callable[..., Gateway],
) -> None:
    leads = SlowFailingLeads("ita", delay_s=0.3)
    gateway = open_gateway(standard_upstreams(ita=leads))
    answers = await asyncio.gather(gateway.post(LEADS, {"n": 5}), gateway.post(LEADS, {"n": 5}))
    for answer in answers:
        assert [error["extensions"]["code"] for error in answer.json()["errors"]] == ["UPSTREAM_UNAVAILABLE"]
    # Both arrived together: one executed, the other waited for that answer (its own errors: not for everyone) and
    # then executed itself, with what was left of the deadline made when it arrived, not a new one.
    first, second = leads.remaining_at_call
    assert first > SETTINGS.request_deadline_s - 0.2
    assert second < SETTINGS.request_deadline_s - 0.25
    assert gateway.store.stats.total("fetch_errors") == 0


async def test_several_operations_without_a_name_are_refused_whatever_the_document_carries(
    open_gateway: Callable[..., Gateway],
) -> None:
    """The rule is checked once, before execution, for every document within the token limit: comments count for
    graphql-core's token bound but not for the limit, so the check must not depend on that bound."""
    upstreams = standard_upstreams()
    gateway = open_gateway(upstreams, settings=Settings(profile="dev", max_tokens=40))
    two = "query A { leads(first: 1) { totalCount } } query B { leads(first: 2) { totalCount } }"
    for document in (two, two + "\n# a comment" * 200):
        refused = await gateway.post(document)
        assert refused.status_code == 400
        assert refused.json()["errors"] == [
            {
                "message": "the document has several operations: name one with `operationName`",
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    assert upstreams.total_calls() == 0
    chosen = await gateway.post(two + "\n# a comment" * 200, operationName="B")
    assert chosen.json()["data"] == {"leads": {"totalCount": 25}}


@dataclass
class DeadlineBlindLeads(FakeClient):
    """Leads that take `delay_s` whatever the caller's deadline (a wait below the edge that overruns it)."""

    delay_s: float = 1.0

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        self.calls["search_leads"] += 1
        await asyncio.sleep(self.delay_s)
        raise UpstreamUnavailable(self.name, "down (test)", status=503)


async def test_the_deadline_made_when_the_request_arrived_is_the_one_its_upstream_calls_keep(
    open_gateway: Callable[..., Gateway],
) -> None:
    leads = SlowFailingLeads("ita", delay_s=0)
    gateway = open_gateway(standard_upstreams(ita=leads))
    await gateway.post(LEADS, {"n": 5}, deadline_s=0.6)
    [remaining] = leads.remaining_at_call
    assert 0 < remaining <= 0.6


async def test_no_answer_waits_past_the_deadline_however_long_what_it_waits_for_takes(
    open_gateway: Callable[..., Gateway],
) -> None:
    gateway = open_gateway(standard_upstreams(ita=DeadlineBlindLeads("ita", delay_s=2.0)))
    started = asyncio.get_running_loop().time()
    # The first executes; the second, with less time, waits for that execution (the same operation).
    first, second = await asyncio.gather(
        gateway.post(LEADS, {"n": 5}, deadline_s=0.6), gateway.post(LEADS, {"n": 5}, deadline_s=0.3)
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < 0.6 + DEADLINE_GRACE_S + 0.3
    for answer in (first, second):
        assert answer.status_code == 504
        assert answer.json()["errors"][0]["extensions"] == {"code": "GATEWAY_TIMEOUT"}


async def test_the_response_cache_key_is_written_once_per_text_and_body(
    open_gateway: Callable[..., Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str | None] = []
    original = WholeResponseCache.key

    def counted(self: WholeResponseCache, *args: Any) -> str | None:
        written.append(original(self, *args))
        return written[-1]

    monkeypatch.setattr(WholeResponseCache, "key", counted)
    gateway = open_gateway(standard_upstreams())
    headers = {"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE}
    request = {"query": LEADS, "variables": {"n": 20}}
    body, compact = json.dumps(request), json.dumps(request, separators=(",", ":"))
    statuses = []
    for sent in (body, body, compact):  # the same body twice, then the same request written otherwise
        answer = (await gateway.client.post("/graphql", content=sent, headers=headers)).json()
        statuses.append(answer["extensions"]["cache"]["response"]["status"])
    assert statuses == ["MISS", "HIT", "HIT"]
    assert len(written) == 2  # not for the repeated body; the one written otherwise has the same key
    assert written[0] is not None
    assert written[0] == written[1]
    other = await gateway.post(LEADS, {"n": 30})
    assert other.json()["extensions"]["cache"]["response"]["status"] == "MISS"


def budget_resetting_at(moment: datetime) -> Budget:
    window = WindowBudget("cost", 100, 3600, 90, 60, moment)
    return Budget("rich", window, window)


async def test_the_cost_extension_writes_each_budgets_reset_time() -> None:
    metering = Metering(Caller("key-rich", owner="acme", tier=TIERS["rich"]), RateLimiter.in_memory())
    cost = RequestCost(SCHEMA.estimate_cost, 1000, metering)
    written = []
    for moment in (
        datetime(2030, 1, 1, 12, tzinfo=UTC),
        datetime(2030, 1, 1, 12, tzinfo=UTC),
        datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2))),  # the same instant, written otherwise
        datetime(2030, 1, 1, 12, 0, 1, tzinfo=UTC),
    ):
        metering.budget = budget_resetting_at(moment)
        extension = await cost.extension()
        assert extension is not None
        written.append(extension["budget"]["resetAt"])
    assert written == [
        "2030-01-01T12:00:00+00:00",
        "2030-01-01T12:00:00+00:00",
        "2030-01-01T14:00:00+02:00",
        "2030-01-01T12:00:01+00:00",
    ]
    await metering.limiter.aclose()
