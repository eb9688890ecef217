"""The `sources` field: one entry per declared upstream, from its spec, with its breaker as this process sees it."""

from __future__ import annotations

from gateway.upstreams.breaker import BreakerState as UpstreamBreakerState
from gateway.upstreams.spec import RecordKind
from resolvers.context import RegisteredUpstream, UpstreamRegistry
from schema.sources import BreakerState, SourceStatus


def source_statuses(upstreams: UpstreamRegistry) -> list[SourceStatus]:
    return [source_status(upstream) for upstream in upstreams.all()]


def source_status(upstream: RegisteredUpstream) -> SourceStatus:
    spec = upstream.spec
    http = upstream.http if upstream.configured else None
    breaker = http.breaker if http is not None else None
    state = breaker.state if breaker is not None else UpstreamBreakerState.CLOSED
    last_success = breaker.last_success if breaker is not None else None
    last_failure = breaker.last_failure if breaker is not None else None
    failed_last = last_failure is not None and (last_success is None or last_failure > last_success)
    return SourceStatus(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        documentation_url=spec.docs_url,
        licence=spec.licence,
        attribution=spec.attribution,
        retired=spec.retired,
        configured=upstream.configured,
        reachable=upstream.configured and state is UpstreamBreakerState.CLOSED and not failed_last,
        breaker_state=BreakerState(state.value),
        last_success=last_success,
        last_failure=last_failure,
        retry_after_seconds=http.pause_remaining_s() if http is not None else None,
        _serves_leads=spec.serves(RecordKind.LEAD),
    )
