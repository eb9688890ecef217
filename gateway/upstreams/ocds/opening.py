"""How a process opens an OCDS mirror: its store under the mirror data directory (one per replica), its HTTP session,
its pace, windows and retention from the upstream's own settings (`MirrorSettings.own`:
`GATEWAY_<NAME>_REQUEST_INTERVAL_S`, `_THROTTLED_WAIT_S`, `_WINDOW_S`, `_BACKFILL_DAYS`, `_REFRESH_INTERVAL_S`,
`_MAX_PAGE_BYTES`, `_RETENTION_DAYS`), its disk bound from `GATEWAY_MIRROR_MAX_DISK_BYTES`. With Redis
(`GATEWAY_REDIS_URL`), the replica that refreshes shares the publisher's pace with the others (`RedisSharedPace`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta

import aiohttp

from gateway.redis import redis_client
from gateway.upstreams.mirror.download import open_download_session
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.ocds.fetcher import HttpTransport, PackageFetcher, Transport
from gateway.upstreams.ocds.mirror import OcdsMirror, Refreshing
from gateway.upstreams.ocds.pacing import Pacer, Pacing, SharedPace
from gateway.upstreams.ocds.publisher import Publisher
from gateway.upstreams.ocds.shared_pace import RedisSharedPace
from gateway.upstreams.ocds.store import ProcessStore

DAY_S = 24 * 3600


@dataclass(frozen=True)
class OcdsOptions:
    """One publisher's pace, windows and retention (the defaults are each upstream's; settings override them).
    `retention_days`: processes whose latest release is older are deleted (0: kept forever)."""

    request_interval_s: float
    throttled_wait_s: float
    window_s: int
    backfill_days: int
    refresh_interval_s: int
    max_page_bytes: int = 32 * 1024**2
    retention_days: int = 400

    def overridden(self, own: Mapping[str, object]) -> OcdsOptions:
        """These options with the values `own` gives (by field name); ValueError for a value of the wrong type."""
        given: dict[str, object] = {}
        for option in fields(self):
            if option.name not in own:
                continue
            value, default = own[option.name], getattr(self, option.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{option.name} must be a number, not {value!r}")
            given[option.name] = float(value) if isinstance(default, float) else int(value)
        chosen = replace(self, **given)  # type: ignore[arg-type]
        if (
            min(chosen.window_s, chosen.refresh_interval_s, chosen.max_page_bytes) <= 0
            or min(chosen.backfill_days, chosen.retention_days) < 0
        ):
            raise ValueError(
                "window, refresh interval and page size must be positive, backfill and retention days >= 0"
            )
        return chosen

    def pacing(self) -> Pacing:
        return Pacing(self.request_interval_s, self.throttled_wait_s)

    def refreshing(self) -> Refreshing:
        return Refreshing(
            interval_s=self.refresh_interval_s,
            window=timedelta(seconds=self.window_s),
            backfill=timedelta(days=self.backfill_days),
            retention=timedelta(days=self.retention_days) if self.retention_days else None,
        )


def api_user_agent(settings: MirrorSettings) -> str:
    """The gateway and who runs it (`contact`), as an API client says it."""
    return f"{settings.product}/{settings.version}" + (f" (+{settings.contact})" if settings.contact else "")


async def open_ocds_mirror(
    publisher: Publisher,
    defaults: OcdsOptions,
    settings: MirrorSettings,
    stack: AsyncExitStack,
    *,
    transport: Transport | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    session: aiohttp.ClientSession | None = None,
) -> OcdsMirror:
    """The publisher's mirror of this replica, open (answering from its store, if any) and closed by `stack`.
    Raises StoreBusy when this process should write a store another process writes."""
    options = defaults.overridden(settings.own)
    shared: SharedPace | None = None
    gateway = settings.gateway_settings
    if settings.writer and gateway is not None and gateway.redis_url:
        redis = redis_client(gateway.redis_url, timeout_s=gateway.redis_timeout_s, pool_size=2)
        stack.callback(redis.connection_pool.disconnect)
        key = gateway.redis_prefix(f"ocds-pace:{publisher.name}")
        shared = RedisSharedPace(redis, key, timeout_s=gateway.redis_timeout_s, wall=wall)
    if transport is None:
        if session is None:
            session = await stack.enter_async_context(open_download_session())
        transport = HttpTransport(session, user_agent=api_user_agent(settings))
    fetcher = PackageFetcher(
        publisher,
        settings.base_url,
        transport,
        Pacer(options.pacing(), clock=clock, sleep=sleep, shared=shared, wall=wall),
        max_page_bytes=options.max_page_bytes,
        retries=settings.retries,
        retry_wait_s=settings.backoff_s[0] if settings.backoff_s else 0.0,
        now=now,
    )
    store = ProcessStore(settings.directory(publisher.name), publisher, query_threads=settings.query_threads)
    mirror = OcdsMirror(
        publisher.name,
        store,
        fetcher,
        options.refreshing(),
        now=now,
        writer=settings.writer,
        max_disk_bytes=settings.max_disk_bytes,
    )
    stack.push_async_callback(mirror.close)
    await mirror.open()
    return mirror
