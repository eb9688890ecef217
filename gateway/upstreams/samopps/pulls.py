"""API pulls of the day's postings: when they run, how many calls each may spend, the pull itself, and the pages one
replica pulled published on Redis for the others to index (so the key's quota is spent once for every replica).

Budget: the pulls' share of the key's daily quota (`Settings.samopps_pull_calls`, enforced by the quota guard on a
counter of its own) is spread over the day: by the end of the scheduled slot under way, at most the same fraction of
the share as of the day is spent (`calls_allowed`), so the day's last pulls still have calls to make. A pull asks the
day's postings (and, in the first interval after 00:00 UTC, the previous day's too), page after page, until it has
them all or its budget is spent. The guard refusing a call (the share is spent) ends it without error; SAM's own 429
(the key is spent at SAM: the transport pauses it on every replica) ends it with one; what it got is kept either way.

Replicas: the pull runs under the feed's refresh lock (one replica at a time, `RedisRefreshLock`); the replica that
holds it pulls when the last pull (any replica's, `pulled-at` on Redis) is an interval old, publishes each page
(`<prefix>page:<n>`, zlib + base64, expiring after `page_ttl_s`) and counts them (`<prefix>seq`); every replica
indexes the pages numbered after the last it indexed. Without Redis the one process pulls and indexes.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import math
import zlib
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from gateway.cache.codec import Received
from gateway.errors import UpstreamError, UpstreamQuotaExceeded, UpstreamRejected
from gateway.redis import RedisOutage, RedisUnreachable, redis_errors
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.samopps.api import PAGE_SIZE, PULL_PATH, SearchPage, parse_search, search_params

if TYPE_CHECKING:
    import coredis

_log = logging.getLogger(__name__)
DAY = timedelta(days=1)
MAX_PAGES_PER_PULL = 50  # a key without a quota: a pull still ends (50,000 notices is ten days of postings)
NO_DATA = 404  # the API's answer to a search with no hits ("No Data found")


def day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)


def calls_allowed(now: datetime, *, share: int | None, used: int, interval_s: float) -> int:
    """Calls this pull may spend: the share's fraction of the day up to the end of this slot, less what was used
    today (a share of None: no quota, so up to MAX_PAGES_PER_PULL)."""
    if share is None:
        return MAX_PAGES_PER_PULL
    start = day_start(now)
    slot_end = min(start + DAY, now + timedelta(seconds=interval_s))
    fraction = (slot_end - start) / DAY
    return max(0, min(math.ceil(share * fraction - 1e-9), share) - used)


def posting_window(now: datetime, interval_s: float) -> tuple[date, date]:
    """The posting dates a pull asks: today (UTC), and yesterday too within one interval after 00:00 UTC."""
    today = now.astimezone(UTC).date()
    if now - day_start(now) < timedelta(seconds=interval_s):
        return today - DAY, today
    return today, today


class PullTransport(Protocol):
    """What a pull needs of the transport (`UpstreamHttp`): bodies with their bytes (the key added, the call counted
    against the pulls' share by the quota guard), and how many requests it sent."""

    calls: int

    async def get_received(self, path: str, params: Mapping[str, str], deadline: Deadline) -> object: ...


@dataclass
class PullOutcome:
    """What one pull got: the bodies of its pages (as received) and their notices, the requests it sent, whether it
    has every posting of its window, whether the quota ended it, and why it failed (None: it did not)."""

    bodies: list[bytes] = field(default_factory=list)
    pages: list[SearchPage] = field(default_factory=list)
    calls: int = 0
    complete: bool = False
    quota_ended: bool = False
    error: str | None = None


async def pull(transport: PullTransport, window: tuple[date, date], *, budget: int, timeout_s: float) -> PullOutcome:
    """The postings of `window`, 1,000 a page, in at most `budget` requests. Never raises an UpstreamError: the
    outcome says what happened. The quota guard refusing a call (the share is spent) ends the pull without error;
    SAM's own 429 is an error (the key is spent at SAM: the transport pauses it on every replica)."""
    outcome = PullOutcome()
    offset = 0
    sent_before = sent_now = transport.calls
    try:
        while transport.calls - sent_before < budget:
            sent_now = transport.calls
            body = await transport.get_received(
                PULL_PATH, search_params(*window, offset=offset), Deadline.after(timeout_s)
            )
            if not isinstance(body, Received):  # 204: nothing to read
                outcome.complete = True
                break
            found = parse_search(body.value)
            outcome.bodies.append(body.raw)
            outcome.pages.append(found)
            offset += found.received
            if found.received < PAGE_SIZE or offset >= found.total:
                outcome.complete = True
                break
    except UpstreamRejected as refused:
        if refused.extensions.get("status") == NO_DATA:  # "No Data found": nothing (more) to read
            outcome.complete = True
        else:
            outcome.error = refused.message
    except UpstreamQuotaExceeded as exceeded:
        outcome.quota_ended = True
        if transport.calls > sent_now:  # a request went out: SAM itself answered 429
            outcome.error = f"SAM refused the key: {exceeded.message}"
    except UpstreamError as failure:
        outcome.error = failure.message
    outcome.calls = transport.calls - sent_before
    return outcome


# -- the pages, shared through Redis -----------------------------------------------------------------------------------


def pack(body: bytes) -> str:
    return base64.b64encode(zlib.compress(body, 6)).decode("ascii")


def unpack(text: str) -> bytes | None:
    try:
        return zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, zlib.error):
        return None


class PulledPages:
    """Pages pulled by any replica, on the gateway's Redis, under `<prefix>` (e.g. `gateway:samopps:`)."""

    def __init__(self, redis: coredis.Redis[str], prefix: str, *, ttl_s: int, timeout_s: float = 0.5) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._timeout_s = max(timeout_s, 2.0)  # a page is up to a few hundred KiB
        self._outage = RedisOutage(
            _log,
            down_message="samopps pulled pages unreachable on Redis: %s (%s)",
            back_message="samopps pulled pages reachable again after %.1f s",
            probe_every_s=5.0,
        )

    async def _call(self, operation: Awaitable[Any]) -> Any:
        return await self._outage.call(operation, timeout_s=self._timeout_s, errors=redis_errors())

    async def last_pull(self) -> datetime | None:
        """When a replica last pulled (the simulated clock's moment in process tests); RedisUnreachable."""
        raw = await self._call(self._redis.get(self._prefix + "pulled-at"))
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    async def mark_pulled(self, moment: datetime) -> None:
        await self._call(self._redis.set(self._prefix + "pulled-at", moment.isoformat(), ex=self._ttl_s))

    async def publish(self, body: bytes) -> int:
        number = int(await self._call(self._redis.incr(self._prefix + "seq")))
        await self._call(self._redis.set(f"{self._prefix}page:{number}", pack(body), ex=self._ttl_s))
        return number

    async def after(self, seen: int) -> tuple[int, list[bytes]]:
        """The pages published after number `seen` that are still kept, and the number of the last one published
        (a count below `seen`, e.g. after Redis was emptied, starts again from 0)."""
        raw = await self._call(self._redis.get(self._prefix + "seq"))
        last = int(raw) if raw and raw.isdigit() else 0
        if last < seen:
            seen = 0
        bodies = []
        for number in range(seen + 1, last + 1):
            with contextlib.suppress(RedisUnreachable):
                packed = await self._call(self._redis.get(f"{self._prefix}page:{number}"))
                body = unpack(packed) if packed else None
                if body is not None:
                    bodies.append(body)
        return last, bodies
