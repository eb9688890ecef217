"""The gateway's notion of now for what runs on a schedule (the samopps pulls and refreshes) and for the UTC day of the
upstream quota counters: the real clock, or for process tests a simulated one (`GATEWAY_CLOCK_SPEED`,
`GATEWAY_CLOCK_OFFSET_S`), so that a simulated day of scheduled work runs in seconds.

The simulated now is `real epoch seconds x speed + offset`: every process given the same two values reads the same
now, whenever it started. Sleeping `seconds` of it sleeps `seconds / speed` real seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.settings import Settings


@dataclass(frozen=True)
class GatewayClock:
    speed: float = 1.0
    offset_s: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayClock:
        return cls(settings.clock_speed, settings.clock_offset_s)

    @property
    def simulated(self) -> bool:
        return self.speed != 1.0 or self.offset_s != 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() * self.speed + self.offset_s, UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def real_seconds(self, seconds: float) -> float:
        """How many real seconds `seconds` of this clock last."""
        return seconds / self.speed


REAL_CLOCK = GatewayClock()
