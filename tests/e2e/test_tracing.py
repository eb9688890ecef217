"""OpenTelemetry spans through the whole gateway, collected by the SDK's in-memory exporter: one server span per
request (continuing a caller's traceparent), a span per root field, client spans per upstream call and Redis call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway import tracing
from tests.e2e.conftest import GatewayFactory, graphql
from tests.redis_harness import require_redis, unique_namespace
from tests.sandbox_harness import RunningSandbox

FAN_OUT = (
    "query FanOut { leads(first: 2) { edges { node { leadId } } } tenders(first: 2) { edges { node { reference } } } }"
)
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for the gateways the test starts (the app is built after this)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.provider_in_use(provider):
        yield exporter
    provider.shutdown()


def _by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_fan_out_query_gives_one_request_span_with_root_field_and_upstream_children(
    start_gateway: GatewayFactory, spans: InMemorySpanExporter
) -> None:
    gateway = await start_gateway()
    response = await graphql(gateway, FAN_OUT, **{"X-Request-Id": "trace-test-1"})
    assert response.status_code == 200, response.text
    finished = spans.get_finished_spans()
    (request,) = _by_name(finished, "POST /graphql")
    assert request.kind is SpanKind.SERVER
    assert request.parent is None  # no traceparent: a new trace
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["http.route"] == "/graphql"
    assert request.attributes["gateway.request_id"] == "trace-test-1"
    trace_id = request.context.trace_id
    assert {span.context.trace_id for span in finished} == {trace_id}  # every span of this request, one trace

    upstream_spans = [span for span in finished if span.kind is SpanKind.CLIENT and span.name.startswith("GET ")]
    for field, upstream in [("leads", "ita"), ("tenders", "canada")]:
        (resolver,) = _by_name(finished, f"Query.{field}")
        assert _parent_id(resolver) == request.context.span_id
        assert resolver.attributes is not None
        assert resolver.attributes["graphql.field.name"] == field
        assert resolver.attributes["graphql.operation.name"] == "FanOut"
        children = [span for span in upstream_spans if _parent_id(span) == resolver.context.span_id]
        assert children, f"no upstream span under Query.{field}"
        called = {span.attributes["gateway.upstream"] for span in children if span.attributes is not None}
        assert upstream in called
        for child in children:
            assert child.attributes is not None
            assert child.attributes["http.response.status_code"] == 200
            assert child.attributes["http.request.method"] == "GET"
            assert "?" not in str(child.attributes["url.full"])  # never the query string (it may hold a key)
            assert child.status.status_code is not StatusCode.ERROR


async def test_a_traceparent_header_continues_the_callers_trace(
    start_gateway: GatewayFactory, spans: InMemorySpanExporter, sandbox: RunningSandbox
) -> None:
    gateway = await start_gateway()
    traceparent = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"
    response = await graphql(gateway, FAN_OUT, traceparent=traceparent)
    assert response.status_code == 200
    (request,) = _by_name(spans.get_finished_spans(), "POST /graphql")
    assert request.context.trace_id == int(CALLER_TRACE_ID, 16)
    assert _parent_id(request) == int(CALLER_SPAN_ID, 16)
    assert request.parent is not None
    assert request.parent.is_remote


async def test_a_failing_upstream_gives_an_error_span_and_probes_are_not_traced(
    start_gateway: GatewayFactory, spans: InMemorySpanExporter, sandbox: RunningSandbox
) -> None:
    gateway = await start_gateway(upstream_retries=0)
    await sandbox.set_fault("ita", error_rate=1.0, error_status=503)
    response = await graphql(gateway, "{ leads(first: 2) { edges { node { leadId } } } }")
    assert response.status_code == 200  # partial data: the error is in the answer
    for probe in ("/healthz", "/readyz"):
        assert (await gateway.get(probe)).status_code == 200
    finished = spans.get_finished_spans()
    failed = list(_by_name(finished, "GET ita"))
    assert failed
    assert all(span.status.status_code is StatusCode.ERROR for span in failed)
    assert all(span.attributes and span.attributes["http.response.status_code"] == 503 for span in failed)
    assert [span.name for span in finished if span.kind is SpanKind.SERVER] == ["POST /graphql"]


async def test_redis_calls_of_the_cache_and_the_limiter_have_client_spans(
    start_gateway: GatewayFactory, spans: InMemorySpanExporter
) -> None:
    namespace = unique_namespace("tracing")
    gateway = await start_gateway(redis_url=require_redis(), redis_namespace=namespace)
    response = await graphql(gateway, "{ leads(first: 2) { edges { node { leadId } } } }")
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    (request,) = _by_name(finished, "POST /graphql")
    redis_spans = [
        span
        for span in finished
        if span.name.startswith("redis ") and span.context.trace_id == request.context.trace_id
    ]
    operations = {str(span.attributes["db.operation.name"]) for span in redis_spans if span.attributes is not None}
    assert {"GET", "SET"} <= operations  # the upstream cache: a miss read, then the answer stored
    assert "check_request" in operations  # the rate limiter's decision
    assert all(span.kind is SpanKind.CLIENT for span in redis_spans)
    users = {span.attributes["gateway.redis.user"] for span in redis_spans if span.attributes is not None}
    assert {"gateway.cache.store", "gateway.limits.limiter"} <= users


def test_tracing_is_off_unless_the_environment_names_an_exporter() -> None:
    assert not tracing.active()
    assert tracing.span("anything") is tracing.span("else")  # one shared do-nothing context manager
    assert not tracing.configure_from_environment({})
    assert not tracing.configure_from_environment({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.configure_from_environment({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})
    with pytest.raises(tracing.TracingConfigurationError, match="zipkin"):
        tracing.configure_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(tracing.TracingConfigurationError, match="grpc"):
        tracing.configure_from_environment({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(tracing.TracingConfigurationError, match="http/json"):
        tracing.configure_from_environment(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}
        )
    assert not tracing.active()


def test_the_otel_variables_turn_tracing_on_with_the_sdk_reading_them_itself() -> None:
    """In a process of its own: the SDK's provider becomes the global one, which a test process must keep clean."""
    script = (
        "from opentelemetry import trace\n"
        "from gateway import tracing\n"
        "assert tracing.configure_from_environment()\n"
        "provider = trace.get_tracer_provider()\n"
        "print(provider.resource.attributes['service.name'], provider.sampler.get_description())\n"
        "with tracing.span('checked'):\n"
        "    pass\n"
    )
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("OTEL_")},
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_TRACES_SAMPLER": "traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "1.0",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    first_line = done.stdout.splitlines()[0]
    assert first_line == "procurement-gateway TraceIdRatioBased{1.0}"
    assert '"name": "checked"' in done.stdout  # exported by the console exporter at exit
    named = subprocess.run(
        [sys.executable, "-c", script],
        env={**environment, "OTEL_SERVICE_NAME": "gateway-eu"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert named.stdout.startswith("gateway-eu "), named.stderr
