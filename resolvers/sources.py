"""The `sources` field: one entry per declared upstream, from its spec, with its breaker as this process sees it, and
for a mirror its feeds (last successful refresh, rows, staleness, last failure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.upstreams.breaker import BreakerState as UpstreamBreakerState
from gateway.upstreams.mirror.mirror import FeedStatus as MirrorFeedStatus
from gateway.upstreams.spec import RecordKind
from resolvers.context import MirrorReading, RegisteredUpstream, UpstreamRegistry
from schema.sources import BreakerState, FeedStatus, SourceStatus

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def source_statuses(upstreams: UpstreamRegistry, *, now: Clock = _utc_now) -> list[SourceStatus]:
    return [source_status(upstream, now=now) for upstream in upstreams.all()]


def source_status(upstream: RegisteredUpstream, *, now: Clock = _utc_now) -> SourceStatus:
    spec = upstream.spec
    mirror = upstream.mirror if upstream.configured else None
    if mirror is not None:
        return _mirror_status(upstream, mirror, now())
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


def _mirror_status(upstream: RegisteredUpstream, mirror: MirrorReading, now: datetime) -> SourceStatus:
    """A mirror is called by no query: its breaker is always closed, its calls are its feeds' refreshes."""
    spec = upstream.spec
    statuses = mirror.statuses()
    successes = [status.last_success for status in statuses if status.last_success is not None]
    failures = [status.last_error_at for status in statuses if status.last_error_at is not None]
    return SourceStatus(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        documentation_url=spec.docs_url,
        licence=spec.licence,
        attribution=spec.attribution,
        retired=spec.retired,
        configured=True,
        reachable=bool(statuses) and all(s.last_success is not None and s.last_error is None for s in statuses),
        breaker_state=BreakerState.CLOSED,
        last_success=max(successes, default=None),
        last_failure=max(failures, default=None),
        retry_after_seconds=None,
        feeds=[feed_status(status, now) for status in statuses],
        _serves_leads=spec.serves(RecordKind.LEAD),
    )


def feed_status(status: MirrorFeedStatus, now: datetime) -> FeedStatus:
    age = status.age_s(now)
    return FeedStatus(
        name=status.name,
        description=status.description,
        refresh_interval_seconds=status.interval_s,
        window_seconds=status.window_s,
        last_success=status.last_success,
        age_seconds=None if age is None else max(0, round(age)),
        stale=status.stale(now),
        rows=status.rows,
        last_modified=status.last_modified,
        last_attempt=status.last_attempt,
        last_error=status.last_error,
        last_error_at=status.last_error_at,
    )
