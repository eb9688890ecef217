"""A publisher's request pacing on the sandbox clock: at most N admitted requests in any window of W seconds.

A sliding log of admission times: a request is admitted while fewer than N were admitted in the last W seconds;
otherwise the answer says how long until the oldest of them leaves the window. Refused requests are not admitted,
so a client that keeps asking too early never pushes its own wait further. A test moves the sandbox clock
(`PUT /_sandbox/clock`) to step through a window without waiting.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from sandbox.clock import SandboxClock


class RequestPace:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._admitted: deque[datetime] = deque()
        self.refusals_in_a_row = 0

    def admit(self, limit: int, window_s: float) -> int | None:
        """None when the request is admitted (and counted); else whole seconds until one would be (at least 1)."""
        now = self._clock.now()
        window = timedelta(seconds=window_s)
        while self._admitted and self._admitted[-1] > now:
            self._admitted.pop()  # the clock was moved back before these
        while self._admitted and self._admitted[0] <= now - window:
            self._admitted.popleft()  # left the window
        if len(self._admitted) < limit:
            self._admitted.append(now)
            self.refusals_in_a_row = 0
            return None
        self.refusals_in_a_row += 1
        wait = (self._admitted[0] + window - now).total_seconds()
        return max(1, math.ceil(wait))

    def reset(self) -> None:
        self._admitted.clear()
        self.refusals_in_a_row = 0
