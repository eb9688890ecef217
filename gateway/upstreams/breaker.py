"""A circuit breaker per upstream: open after N consecutive failures, one half-open probe after a pause."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum

from gateway.errors import UpstreamCircuitOpen


class BreakerState(Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    def __init__(
        self,
        upstream: str,
        *,
        failure_threshold: int,
        reset_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.last_success: datetime | None = None
        self.last_failure: datetime | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._reset_after_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def before_call(self) -> None:
        """Raise UpstreamCircuitOpen unless a call may go out now (closed, or the one half-open probe)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return
        assert self._opened_at is not None
        wait_s = max(1, round(self._reset_after_s - (self._clock() - self._opened_at)))
        raise UpstreamCircuitOpen(
            self.upstream,
            f"{self.upstream} failed {self._threshold} times in a row; calls resume in about {wait_s} s",
            retryAfter=wait_s,
        )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False
        self.last_success = datetime.now(UTC)

    def record_failure(self) -> None:
        self.last_failure = datetime.now(UTC)
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = self._clock()
        self._probing = False

    def release_probe(self) -> None:
        """The probe ended without a verdict on the upstream's health (e.g. it answered 4xx)."""
        self._probing = False
