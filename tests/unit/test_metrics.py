"""The metrics of one app: Prometheus conventions (checked with the client library's parser), bounded labels, and the
series each kind of request record adds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from gateway.cache.store import MemoryCache
from gateway.edge.metrics import GatewayMetrics
from gateway.limits.quota import QuotaGuard
from gateway.request_record import RequestRecord, UpstreamCall
from gateway.settings import Settings
from gateway.upstreams._http import UpstreamHttp
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.registry import Upstream, Upstreams

# Every family, its type and its label names.
FAMILIES = {
    "gateway_requests": ("counter", {"operation", "status", "code"}),
    "gateway_request_duration_seconds": ("histogram", {"operation"}),
    "gateway_refusals": ("counter", {"tier", "reason"}),
    "gateway_upstream_calls": ("counter", {"upstream", "outcome"}),
    "gateway_upstream_call_duration_seconds": ("histogram", {"upstream", "outcome"}),
    "gateway_upstream_breaker_state": ("gauge", {"upstream", "state"}),
    "gateway_upstream_quota_remaining_calls": ("gauge", {"credential"}),
    "gateway_upstream_quota_daily_calls": ("gauge", {"credential"}),
}
CACHE_FAMILIES = {f"gateway_cache_{event}" for event in ("hits", "misses", "stale", "evictions", "fetch_errors")}


def graphql_record(status: int = 200, *, operation: str | None = None, trusted: bool = False) -> RequestRecord:
    record = RequestRecord("r", "POST", "/graphql")
    record.status, record.operation, record.trusted = status, operation, trusted
    record.duration_s = 0.004
    return record


@pytest.fixture
def metrics() -> GatewayMetrics:
    return GatewayMetrics()


async def exposition(metrics: GatewayMetrics) -> str:
    body, content_type = await metrics.exposition()
    assert content_type.startswith("text/plain")
    return body.decode("utf-8")


def by_labels(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture
async def upstreams() -> AsyncIterator[Upstreams]:
    """SAM configured (a transport with its breaker), the others not; SAM's key guarded by a quota of 10."""
    settings = Settings()
    guard = QuotaGuard({"sam": 10})
    async with aiohttp.ClientSession() as session:
        declared = []
        for spec in SPECS:
            http = UpstreamHttp(spec.name, "http://sam.test/", session, settings) if spec.name == "sam" else None
            declared.append(Upstream(spec, settings.upstream(spec.name), object() if http else None, http))
        yield Upstreams(declared, quota_guard=guard)


async def test_names_types_and_labels_follow_the_prometheus_conventions(
    metrics: GatewayMetrics, upstreams: Upstreams
) -> None:
    cache = MemoryCache(max_entries=10, max_bytes=10_000, registry=metrics.registry)
    cache.stats.record("hits", "sam:/search?q=1")
    metrics.watch(lambda: upstreams)
    record = graphql_record()
    record.upstream_calls.append(UpstreamCall("sam", "ok", 0.2, sent=True))
    metrics.observe(record)
    refused = graphql_record(429)
    refused.refused("RATE_LIMITED")
    metrics.observe(refused)
    families = {family.name: family for family in text_string_to_metric_families(await exposition(metrics))}
    assert set(FAMILIES) <= set(families)
    assert set(families) >= CACHE_FAMILIES
    for name, family in families.items():
        assert name.startswith("gateway_")
        assert family.documentation
        expected_type, labels = FAMILIES.get(name, ("counter", {"backend", "upstream"}))
        assert family.type == expected_type, name
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample)
            if family.type == "counter":
                assert sample.name == name + "_total"
            if family.type == "histogram":
                assert name.endswith("_seconds")
                assert sample.name in {name + "_bucket", name + "_count", name + "_sum"}


async def test_only_trusted_documents_name_their_operation(metrics: GatewayMetrics) -> None:
    for n in range(100):  # names the client chose: all one series
        metrics.observe(graphql_record(operation=f"Chosen{n}"))
    metrics.observe(graphql_record(operation="Tenders", trusted=True))
    requests = by_labels(await exposition(metrics), "gateway_requests_total")
    assert requests[frozenset({("operation", "other"), ("status", "200"), ("code", "none")})] == 100
    assert requests[frozenset({("operation", "Tenders"), ("status", "200"), ("code", "none")})] == 1
    assert {dict(labels)["operation"] for labels in requests} == {"other", "Tenders"}


async def test_requests_count_their_first_error_code_and_refusals_their_reason_and_tier(
    metrics: GatewayMetrics,
) -> None:
    partial = graphql_record()
    partial.errors([{"extensions": {"code": "UPSTREAM_TIMEOUT"}}, {"extensions": {"code": "UPSTREAM_REJECTED"}}])
    metrics.observe(partial)
    limited = graphql_record(429)
    limited.caller("k1", "free")
    limited.refused("RATE_LIMITED")
    metrics.observe(limited)
    over_budget = graphql_record(429)
    over_budget.caller("k1", "free")
    over_budget.errors([{"extensions": {"code": "RATE_LIMITED"}}])
    over_budget.cost_refused = True
    metrics.observe(over_budget)
    too_large = graphql_record(413)
    too_large.refused("PAYLOAD_TOO_LARGE")
    metrics.observe(too_large)
    metrics.observe(RequestRecord("probe", "GET", "/healthz"))  # not a GraphQL request: not counted
    text = await exposition(metrics)
    requests = by_labels(text, "gateway_requests_total")
    assert requests[frozenset({("operation", "other"), ("status", "200"), ("code", "UPSTREAM_TIMEOUT")})] == 1
    assert requests[frozenset({("operation", "other"), ("status", "429"), ("code", "RATE_LIMITED")})] == 2
    assert sum(requests.values()) == 4
    assert by_labels(text, "gateway_refusals_total") == {
        frozenset({("tier", "free"), ("reason", "rate_limited")}): 1,
        frozenset({("tier", "free"), ("reason", "cost_budget")}): 1,
        frozenset({("tier", "none"), ("reason", "body_too_large")}): 1,
    }
    assert by_labels(text, "gateway_request_duration_seconds_count") == {frozenset({("operation", "other")}): 4}


async def test_upstream_calls_count_every_outcome_and_time_only_those_sent(metrics: GatewayMetrics) -> None:
    record = graphql_record()
    record.upstream_calls += [
        UpstreamCall("sam", "5xx", 0.3, sent=True),
        UpstreamCall("sam", "ok", 0.2, sent=True),
        UpstreamCall("ita", "cache_hit", 0.0, sent=False),
        UpstreamCall("canada", "breaker_open", 0.0, sent=False),
    ]
    metrics.observe(record)
    text = await exposition(metrics)
    assert by_labels(text, "gateway_upstream_calls_total") == {
        frozenset({("upstream", "sam"), ("outcome", "5xx")}): 1,
        frozenset({("upstream", "sam"), ("outcome", "ok")}): 1,
        frozenset({("upstream", "ita"), ("outcome", "cache_hit")}): 1,
        frozenset({("upstream", "canada"), ("outcome", "breaker_open")}): 1,
    }
    timed = by_labels(text, "gateway_upstream_call_duration_seconds_sum")
    assert timed == {
        frozenset({("upstream", "sam"), ("outcome", "5xx")}): pytest.approx(0.3),
        frozenset({("upstream", "sam"), ("outcome", "ok")}): pytest.approx(0.2),
    }


async def test_breaker_states_and_quota_left_are_read_at_each_scrape(
    metrics: GatewayMetrics, upstreams: Upstreams
) -> None:
    assert by_labels(await exposition(metrics), "gateway_upstream_breaker_state") == {}  # nothing watched yet
    metrics.watch(lambda: upstreams)
    assert upstreams.quota_guard is not None
    await upstreams.quota_guard.acquire("sam")
    sam = upstreams.get("sam")
    assert sam is not None
    assert sam.http is not None
    for _ in range(5):
        sam.http.breaker.record_failure()
    text = await exposition(metrics)
    assert by_labels(text, "gateway_upstream_breaker_state") == {
        frozenset({("upstream", "sam"), ("state", "closed")}): 0,
        frozenset({("upstream", "sam"), ("state", "open")}): 1,
        frozenset({("upstream", "sam"), ("state", "half_open")}): 0,
    }
    assert by_labels(text, "gateway_upstream_quota_remaining_calls") == {frozenset({("credential", "sam")}): 9}
    assert by_labels(text, "gateway_upstream_quota_daily_calls") == {frozenset({("credential", "sam")}): 10}


async def test_before_the_lifespan_and_after_it_no_upstream_state_is_reported(metrics: GatewayMetrics) -> None:
    def not_started() -> Upstreams:
        raise RuntimeError("the gateway has not started")

    metrics.watch(not_started)
    text = await exposition(metrics)
    assert by_labels(text, "gateway_upstream_breaker_state") == {}
    assert by_labels(text, "gateway_upstream_quota_remaining_calls") == {}


async def test_apps_in_one_process_keep_their_own_series() -> None:
    first, second = GatewayMetrics(), GatewayMetrics(CollectorRegistry())
    first.observe(graphql_record())
    first.observe(graphql_record())
    second.observe(graphql_record())
    key = frozenset({("operation", "other"), ("status", "200"), ("code", "none")})
    assert by_labels(await exposition(first), "gateway_requests_total")[key] == 2
    assert by_labels(await exposition(second), "gateway_requests_total")[key] == 1
