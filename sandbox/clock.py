"""The sandbox's notion of now; tests move it through the control API (e.g. past 00:00 UTC for SAM quotas)."""

from __future__ import annotations

from datetime import UTC, date, datetime


class SandboxClock:
    def __init__(self) -> None:
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    def set(self, moment: datetime | None) -> None:
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._fixed = moment
