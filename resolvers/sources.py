"""The `sources` field: breaker state and recent outcomes of each upstream, read from this process."""

from __future__ import annotations

from gateway.upstreams.breaker import BreakerState as UpstreamBreakerState
from gateway.upstreams.registry import Upstreams
from schema.sources import BreakerState, SourceStatus

DESCRIPTIONS = {
    "ita": "ITA Trade Leads API v2 (trade leads)",
    "canada": "Canadian procurement data API (tender notices and contract history)",
    "sam": "SAM.gov Contract Awards API v1 (US federal contract awards and award families)",
}


def source_statuses(upstreams: Upstreams) -> list[SourceStatus]:
    statuses = []
    for name, transport in upstreams.transports.items():
        breaker = transport.breaker
        state = breaker.state
        failed_last = breaker.last_failure is not None and (
            breaker.last_success is None or breaker.last_failure > breaker.last_success
        )
        statuses.append(
            SourceStatus(
                name=name,
                description=DESCRIPTIONS.get(name, name),
                reachable=state is UpstreamBreakerState.CLOSED and not failed_last,
                breaker_state=BreakerState(state.value),
                last_success=breaker.last_success,
                last_failure=breaker.last_failure,
                retry_after_seconds=transport.pause_remaining_s(),
            )
        )
    return statuses
