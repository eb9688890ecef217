"""A publisher's pace shared by the replicas (`pacing.SharedPace`) on the gateway's Redis: one key,
`<redis_namespace>:ocds-pace:<publisher>`, holding the earliest moment (wall-clock epoch seconds) the next request to
the publisher may start. It only moves forward, and lives until that moment and a minute more (at most
`MAX_TTL_S`), so a stale record never outlives its use. Replicas' clocks are assumed to agree (NTP); a record far
ahead is honoured at most `Pacing.max_wait_s`.

When Redis is unreachable the replica paces itself alone (one warning per outage): sharing the pace is a courtesy to
the publisher, never a reason not to refresh.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.redis import RedisOutage, RedisUnreachable, redis_errors

if TYPE_CHECKING:
    import coredis

_log = logging.getLogger(__name__)

MARGIN_S = 60.0  # the record outlives its moment by this much
MAX_TTL_S = 2 * 3600.0  # and never lives longer than this

_POSTPONE = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


class RedisSharedPace:
    def __init__(
        self,
        redis: coredis.Redis[str],
        key: str,
        *,
        timeout_s: float = 0.5,
        probe_every_s: float = 5.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`key`: the publisher's key in the gateway's namespace; `timeout_s` bounds each Redis call."""
        self.key = key
        self._redis = redis
        self._timeout_s = timeout_s
        self._wall = wall
        self._postpone = redis.register_script(_POSTPONE)
        self._outage = RedisOutage(
            _log,
            down_message="publisher pace not shared (Redis unreachable), pacing this replica alone: %s (%s)",
            back_message="publisher pace shared again after %.1f s",
            probe_every_s=probe_every_s,
        )

    async def not_before(self) -> float | None:
        try:
            value = await self._call(self._redis.get(self.key))
        except RedisUnreachable:
            return None
        try:
            found = float(value) if value is not None else None
        except ValueError:
            return None
        return found if found is not None and math.isfinite(found) else None

    async def postpone(self, until: float) -> None:
        ttl_s = min(max(0.0, until - self._wall()) + MARGIN_S, MAX_TTL_S)
        with contextlib.suppress(RedisUnreachable):
            await self._call(self._postpone.execute([self.key], [repr(float(until)), math.ceil(ttl_s * 1000)]))

    async def _call(self, operation: Any) -> Any:
        return await self._outage.call(operation, timeout_s=self._timeout_s, errors=redis_errors())
