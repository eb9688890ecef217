"""OpenTelemetry tracing: off unless the standard `OTEL_*` variables ask for an exporter; then spans for requests
(server, continuing a W3C `traceparent`), root fields, upstream calls (client) and Redis calls.

The one reader of the environment besides `gateway.settings`: the OpenTelemetry SDK is configured by its own standard
variables, which it reads itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_PROPAGATORS...). Tracing is on when
OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`, or any installed `opentelemetry_traces_exporter` entry
point) and OTEL_SDK_DISABLED is not true. `otlp` is OTLP over HTTP/protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL (or
its _TRACES_ variant) says `grpc`, which needs opentelemetry-exporter-otlp-proto-grpc installed.

Off, the SDK is never imported (only the light API package is) and every span helper returns one shared do-nothing
context manager: the hot path pays a function call and a `with`. `use(provider)` installs a provider directly
(tests: the SDK's in-memory exporter); it must happen before `gateway.app.create_app`, which adds the request
middleware and the root-field spans only when tracing is on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from opentelemetry import propagate
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, get_current_span

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

INSTRUMENTATION = "procurement-gateway"
SERVICE_NAME = "procurement-gateway"  # the service.name when neither OTEL_SERVICE_NAME nor the resource names one
SpanKindName = Literal["server", "client", "internal"]
Attributes = Mapping[str, str | int | float | bool]

_NO_SPAN: AbstractContextManager[None] = nullcontext()
_KINDS = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT, "internal": SpanKind.INTERNAL}


class TracingConfigurationError(RuntimeError):
    """The OTEL_* variables ask for an exporter that is not installed, or a protocol that does not exist."""


class _Tracing:
    """The process's tracer: None while tracing is off."""

    tracer: Tracer | None = None


_current = _Tracing()


def active() -> bool:
    return _current.tracer is not None


def use(provider: TracerProvider | None) -> None:
    """Trace into `provider` from now on (None: tracing off)."""
    _current.tracer = None if provider is None else provider.get_tracer(INSTRUMENTATION)


@contextmanager
def provider_in_use(provider: TracerProvider) -> Iterator[TracerProvider]:
    """`use(provider)` for a block, then tracing off again (tests)."""
    use(provider)
    try:
        yield provider
    finally:
        use(None)


def configure_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Turns tracing on (and makes its provider the global one) when the OTEL_* variables ask for it; whether it is
    on. Raises TracingConfigurationError for an exporter that cannot be loaded."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    names = [name.strip() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    names = [name for name in names if name.lower() != "none"]
    if not names:
        return False
    exporters = [_exporter_class(name, environ) for name in names]
    # The SDK only now, when tracing is on (noqa): imported at the top, it would load in every process.
    from opentelemetry import trace  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read by the SDK
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)  # OTEL_TRACES_SAMPLER(_ARG), read by the SDK
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter()))  # OTEL_BSP_* and the exporter's own OTEL_*
    trace.set_tracer_provider(provider)
    use(provider)
    return True


def _exporter_class(name: str, environ: Mapping[str, str]) -> type:
    if name == "otlp":
        protocol = (
            environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
        ).strip() or "http/protobuf"
        by_protocol = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}
        if protocol not in by_protocol:
            raise TracingConfigurationError(f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r} is not http/protobuf or grpc")
        name = by_protocol[protocol]
    found = list(entry_points(group="opentelemetry_traces_exporter", name=name))
    if not found:
        raise TracingConfigurationError(
            f"OTEL_TRACES_EXPORTER names {name!r}, which no installed package provides (the gateway ships otlp over "
            "http/protobuf, and console)"
        )
    exporter: type = found[0].load()
    return exporter


def span(
    name: str, *, kind: SpanKindName = "internal", attributes: Attributes | None = None
) -> AbstractContextManager[Span | None]:
    """A span around a block, child of the current one; a do-nothing context manager (yielding None) when off."""
    tracer = _current.tracer
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(name, kind=_KINDS[kind], attributes=attributes)


def server_span(
    name: str, headers: Mapping[str, str], *, attributes: Attributes | None = None
) -> AbstractContextManager[Span | None]:
    """A server span continuing the caller's trace (`traceparent`/`tracestate`, or what OTEL_PROPAGATORS reads)."""
    tracer = _current.tracer
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(
        name, context=propagate.extract(headers), kind=SpanKind.SERVER, attributes=attributes
    )


def redis_span(operation: object, user: str) -> AbstractContextManager[Span | None]:
    """A client span around one Redis call by `user` (a logger's name): `operation` a command's name (GET), or the
    awaitable about to run (named by its `name`, as coredis commands are, else by its coroutine: check_request)."""
    if _current.tracer is None:
        return _NO_SPAN
    name = operation if isinstance(operation, str) else _operation_name(operation)
    return span(
        f"redis {name}",
        kind="client",
        attributes={"db.system.name": "redis", "db.operation.name": name, "gateway.redis.user": user},
    )


def _operation_name(operation: object) -> str:
    name = getattr(operation, "name", None)
    if isinstance(name, bytes):
        return name.decode("ascii", "replace")
    if isinstance(name, str):
        return name
    return str(getattr(operation, "__qualname__", "call")).rsplit(".", 1)[-1]


def upstream_span(upstream: str, url: str) -> AbstractContextManager[Span | None]:
    """A client span around one call to `upstream` (GET `url`: never its query string, which may hold a key)."""
    if _current.tracer is None:
        return _NO_SPAN
    host = urlsplit(url).hostname or ""
    return span(
        f"GET {upstream}",
        kind="client",
        attributes={
            "gateway.upstream": upstream,
            "http.request.method": "GET",
            "url.full": url,
            "server.address": host,
        },
    )


def with_context(headers: Mapping[str, str] | None) -> dict[str, str]:
    """`headers` and the current trace context (`traceparent`...), for an outgoing request."""
    carrier = dict(headers or {})
    if _current.tracer is not None:
        propagate.inject(carrier)
    return carrier


def set_attribute(name: str, value: str | int | float | bool) -> None:
    """Sets an attribute of the current span (nothing when off)."""
    if _current.tracer is not None:
        get_current_span().set_attribute(name, value)


def mark_failed(span: Span, error_type: str) -> None:
    """A span whose operation failed without an exception (a 5xx answer)."""
    span.set_attribute("error.type", error_type)
    span.set_status(StatusCode.ERROR)
