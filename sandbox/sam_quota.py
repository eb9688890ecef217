"""Per-key daily call quotas of the SAM imitation, counted per UTC day of the sandbox clock.

Every authenticated call counts, whatever its answer (200, 204 or a 4xx for bad input): the real gateway meters
calls before the API validates them. Calls refused for the quota itself (429) and calls without a valid key (403)
do not count. The day turns at 00:00 UTC. One counter per key serves every SAM API the sandbox imitates (Contract
Awards and Get Opportunities), as SAM's gateway counts a key's calls across its APIs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandbox.clock import SandboxClock


class DailyQuota:
    def __init__(self, limits: Mapping[str, int], clock: SandboxClock) -> None:
        self._limits = limits
        self._clock = clock
        self._day: date | None = None
        self._used: Counter[str] = Counter()

    def try_spend(self, api_key: str) -> bool:
        """Count one call for `api_key`; False (and nothing counted) when its quota for today is spent."""
        today = self._clock.now().astimezone(UTC).date()
        if today != self._day:
            self._day = today
            self._used.clear()
        if self._used[api_key] >= self._limits.get(api_key, 0):
            return False
        self._used[api_key] += 1
        return True

    def used(self, api_key: str) -> int:
        return self._used[api_key]

    def next_reset(self) -> datetime:
        now = self._clock.now().astimezone(UTC)
        return datetime.combine(now.date() + timedelta(days=1), time(), UTC)

    def seconds_until_reset(self) -> int:
        remaining = self.next_reset() - self._clock.now().astimezone(UTC)
        return max(1, int(-(-remaining.total_seconds() // 1)))

    def reset(self) -> None:
        self._day = None
        self._used.clear()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quota_exceeded(quota: DailyQuota) -> tuple[dict[str, Any], int]:
    """SAM's 429 body for a spent daily quota and the Retry-After seconds (until 00:00 UTC)."""
    reset = quota.next_reset()
    stamp = f"{reset.year}-{_MONTHS[reset.month - 1]}-{reset.day:02d} 00:00:00+0000"
    body = {
        "code": "900804",
        "message": "Message throttled out",
        "description": f"You have exceeded your quota .You can access API after {stamp} UTC",
        "nextAccessTime": f"{stamp} UTC",
    }
    return body, quota.seconds_until_reset()
