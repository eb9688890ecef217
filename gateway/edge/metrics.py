"""Prometheus metrics of one app, on a registry of its own (several apps in one process never share series).

Every series is read from the requests' records (`gateway.request_record`), the ones the access log reads too:

- `gateway_requests_total{operation,status,code}`: /graphql requests by operation, HTTP status and the `extensions.code`
  of the answer's first error (`none` without errors);
- `gateway_request_duration_seconds{operation}`: their time, from arrival to the last byte of the answer;
- `gateway_refusals_total{tier,reason}`: requests the gateway refused to protect itself or its callers (reasons in
  `REFUSAL_REASONS`; tier `none` before the caller is known);
- `gateway_upstream_calls_total{upstream,outcome}`: each upstream call made for a request, and each answer the cache
  gave instead (`gateway.request_record.UpstreamOutcome`), and `gateway_upstream_call_duration_seconds` for those
  that went out;
- `gateway_upstream_breaker_state{upstream,state}`: 1 for the state each configured upstream's breaker is in;
- `gateway_upstream_quota_remaining_calls{credential}` and `gateway_upstream_quota_daily_calls{credential}`: the
  gateway's own upstream keys (read from the quota guard at each scrape; absent while the counter is unreachable);
- `gateway_cache_<event>_total{backend,upstream}`: the upstream cache's counters (`gateway.cache.stats`).

An operation is labelled by its name only when its document is one of the operator's persisted (trusted) documents;
every other is `other`, so a client cannot add series by naming its operations. Each label set is bound once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from typing import Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from gateway.edge.access import GRAPHQL_PATHS
from gateway.limits.quota import QuotaGuard
from gateway.request_record import RequestRecord
from gateway.upstreams.breaker import BreakerState
from gateway.upstreams.registry import Upstreams

OTHER_OPERATION: Final = "other"
NO_CODE: Final = "none"
NO_TIER: Final = "none"
# Seconds: a cache hit answers in about a millisecond, the request deadline is 10 s.
REQUEST_BUCKETS: Final = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UPSTREAM_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 8.0)
# The codes of the edge's refusals, by reason. A refused cost charge (the hourly budget) is `cost_budget`.
REFUSAL_REASONS: Final = {
    "RATE_LIMITED": "rate_limited",
    "SERVER_OVERLOADED": "overloaded",
    "PAYLOAD_TOO_LARGE": "body_too_large",
    "REQUEST_HEADER_FIELDS_TOO_LARGE": "headers_too_large",
    "UNAUTHENTICATED": "unauthenticated",
    "KEY_STORE_UNAVAILABLE": "key_store_unavailable",
    "COST_ESTIMATED_TOO_EXPENSIVE": "cost_too_high",
    "MAX_TOKENS_LIMIT": "query_limits",
    "MAX_DEPTH_LIMIT": "query_limits",
    "MAX_ALIASES_LIMIT": "query_limits",
    "MAX_DIRECTIVES_LIMIT": "query_limits",
    "MAX_ROOT_FIELDS_LIMIT": "query_limits",
    "QUERY_NOT_IN_SAFELIST": "not_trusted",
    "PERSISTED_QUERY_NOT_IN_LIST": "not_trusted",
    "GATEWAY_TIMEOUT": "deadline",
}
COST_BUDGET: Final = "cost_budget"
_BREAKER_STATES: Final = tuple(state.value.lower() for state in BreakerState)

StartedUpstreams = Callable[[], Upstreams]  # raises RuntimeError before the lifespan has opened them


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # No `_created` series beside each counter and histogram (a process-wide switch of the client library).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # (the library leaves it unannotated)
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "gateway_requests",
            "GraphQL requests by operation (persisted documents by name, others as `other`), HTTP status and the "
            "code of the first error (`none`)",
            ("operation", "status", "code"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer a GraphQL request, from its arrival to the last byte of its answer",
            ("operation",),
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._refusals = Counter(
            "gateway_refusals",
            "Requests refused by the gateway's protections, by the caller's tier and the reason",
            ("tier", "reason"),
            registry=self.registry,
        )
        self._upstream_calls = Counter(
            "gateway_upstream_calls",
            "Upstream calls made for requests (one per attempt) and answers the cache gave instead, by outcome",
            ("upstream", "outcome"),
            registry=self.registry,
        )
        self._upstream_duration = Histogram(
            "gateway_upstream_call_duration_seconds",
            "Time of the upstream calls that went out, by outcome",
            ("upstream", "outcome"),
            buckets=UPSTREAM_BUCKETS,
            registry=self.registry,
        )
        self._upstream_state = _UpstreamStateCollector()
        self.registry.register(self._upstream_state)
        # Bound once per label set: a request then costs dictionary lookups, not label validation.
        self._request_children: dict[tuple[str, int, str], Counter] = {}
        self._duration_children: dict[str, Histogram] = {}
        self._refusal_children: dict[tuple[str, str], Counter] = {}
        self._call_children: dict[tuple[str, str], Counter] = {}
        self._call_duration_children: dict[tuple[str, str], Histogram] = {}
        for status in (200, 400, 429):  # the usual answers, bound before the first request
            self._request_child(OTHER_OPERATION, status, NO_CODE)
        self._duration_child(OTHER_OPERATION)

    def watch(self, upstreams: StartedUpstreams) -> None:
        """Reads the breakers and the quota guard of these upstreams at each scrape."""
        self._upstream_state.upstreams = upstreams

    def observe(self, record: RequestRecord) -> None:
        """Counts one finished request (an observer of `gateway.edge.request_id`)."""
        if record.path not in GRAPHQL_PATHS:
            return
        operation = record.operation if record.trusted and record.operation else OTHER_OPERATION
        code = record.first_code or NO_CODE
        self._request_child(operation, record.status, code).inc()
        self._duration_child(operation).observe(record.duration_s)
        reason = COST_BUDGET if record.cost_refused else REFUSAL_REASONS.get(code)
        if reason is not None:
            self._refusal_child(record.tier or NO_TIER, reason).inc()
        for call in record.upstream_calls:
            self._call_child(call.upstream, call.outcome).inc()
            if call.sent:
                self._call_duration_child(call.upstream, call.outcome).observe(call.duration_s)

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The metrics in the format `accept` asks for (Prometheus text by default, OpenMetrics), and its type."""
        await self._upstream_state.read_quotas()
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics on the main port."""
        body, content_type = await self.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    def _request_child(self, operation: str, status: int, code: str) -> Counter:
        key = (operation, status, code)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self._requests.labels(operation, str(status), code)
        return child

    def _duration_child(self, operation: str) -> Histogram:
        child = self._duration_children.get(operation)
        if child is None:
            child = self._duration_children[operation] = self._duration.labels(operation)
        return child

    def _refusal_child(self, tier: str, reason: str) -> Counter:
        child = self._refusal_children.get((tier, reason))
        if child is None:
            child = self._refusal_children[tier, reason] = self._refusals.labels(tier, reason)
        return child

    def _call_child(self, upstream: str, outcome: str) -> Counter:
        child = self._call_children.get((upstream, outcome))
        if child is None:
            child = self._call_children[upstream, outcome] = self._upstream_calls.labels(upstream, outcome)
        return child

    def _call_duration_child(self, upstream: str, outcome: str) -> Histogram:
        child = self._call_duration_children.get((upstream, outcome))
        if child is None:
            child = self._upstream_duration.labels(upstream, outcome)
            self._call_duration_children[upstream, outcome] = child
        return child


class _UpstreamStateCollector(Collector):
    """Breaker states (read at collection) and the quota guard's counts (read before it, asynchronously)."""

    def __init__(self) -> None:
        self.upstreams: StartedUpstreams | None = None
        self._quotas: dict[str, tuple[int, int]] = {}  # credential -> (daily quota, calls left)

    def _started(self) -> Upstreams | None:
        if self.upstreams is None:
            return None
        try:
            return self.upstreams()
        except RuntimeError:  # not started, or stopped
            return None

    async def read_quotas(self) -> None:
        upstreams = self._started()
        guard: QuotaGuard | None = None if upstreams is None else upstreams.quota_guard
        quotas: dict[str, tuple[int, int]] = {}
        if guard is not None:
            for credential, daily in sorted(guard.daily_quotas.items()):
                remaining = await guard.remaining(credential)
                if remaining is not None:  # None: the counter is unreachable; the series is absent meanwhile
                    quotas[credential] = (daily, remaining)
        self._quotas = quotas

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        yield from self._families(self._started())

    def _families(self, upstreams: Upstreams | None = None) -> Iterator[Metric]:
        breakers = GaugeMetricFamily(
            "gateway_upstream_breaker_state",
            "The state of each configured upstream's circuit breaker (1 for its current state)",
            labels=("upstream", "state"),
        )
        for upstream in upstreams.all() if upstreams is not None else ():
            if upstream.http is None:  # not configured, or a mirror (no breaker)
                continue
            current = upstream.http.breaker.state.value.lower()
            for state in _BREAKER_STATES:
                breakers.add_metric((upstream.name, state), 1.0 if state == current else 0.0)
        yield breakers
        remaining = GaugeMetricFamily(
            "gateway_upstream_quota_remaining_calls",
            "Calls left today (UTC) with each of the gateway's own upstream keys that has a daily quota",
            labels=("credential",),
        )
        daily = GaugeMetricFamily(
            "gateway_upstream_quota_daily_calls",
            "The daily quota of each of the gateway's own upstream keys that has one",
            labels=("credential",),
        )
        quotas = self._quotas if upstreams is not None else {}
        for credential, (quota, left) in quotas.items():
            daily.add_metric((credential,), float(quota))
            remaining.add_metric((credential,), float(left))
        yield remaining
        yield daily


async def serve_on_port(metrics: GatewayMetrics, host: str, port: int, stack: AsyncExitStack) -> None:
    """GET /metrics on a port of its own (`metrics_port`), until `stack` closes."""

    async def handle(request: web.Request) -> web.Response:
        body, content_type = await metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, host, port).start()
