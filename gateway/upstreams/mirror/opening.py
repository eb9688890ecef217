"""How a process opens a mirror: its directory under the data directory (one per replica), the download session and
policy (browser-shaped User-Agent naming the gateway and its operator, cookie priming, host-bound redirects)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import aiohttp
from yarl import URL

from gateway.upstreams.mirror.disk import MirrorDirectory
from gateway.upstreams.mirror.download import Downloader, DownloadPolicy, browser_user_agent, open_download_session
from gateway.upstreams.mirror.feed import FeedParser, FeedSpec
from gateway.upstreams.mirror.mirror import DEFAULT_MAX_FILE_BYTES, FeedStatus, Mirror, RefreshReport

if TYPE_CHECKING:
    from gateway.limits.quota import QuotaGuard
    from gateway.settings import Settings

GIB = 1024**3


class OpenedMirror(Protocol):
    """What the gateway needs of an open mirror, whatever its kind: a `Mirror` of files swapped in as snapshots, or
    an incremental store (the OCDS mirrors). The scheduler refreshes it, a follower follows it, `sources` and
    `python -m gateway mirror status` show its feeds and where it is kept."""

    @property
    def snapshot_path(self) -> Path | None: ...

    def statuses(self) -> tuple[FeedStatus, ...]: ...

    async def refresh(self, feeds: Iterable[str] | None = None) -> RefreshReport: ...

    async def follow(self) -> bool: ...


class MirrorOpener(Protocol):
    """What an upstream's spec names in `mirror`: opens its mirror, closed by `stack`."""

    def __call__(self, settings: MirrorSettings, stack: AsyncExitStack) -> Awaitable[OpenedMirror]: ...


@dataclass(frozen=True)
class MirrorSettings:
    """What an operator sets for a mirror (the gateway's settings derive these).

    `data_dir/<name>-<replica>/` holds the replica's files and snapshots, at most `max_disk_bytes` in all (two
    snapshots exist for a moment during a swap). `contact` (an e-mail address or URL) is sent in the User-Agent.
    `writer`: this process refreshes the mirror (else it follows the directory another process refreshes).
    `local_time_offset`: the UTC offset at which times the files publish without one are read.
    """

    data_dir: Path
    base_url: str
    contact: str
    product: str = "procurement-gateway"
    version: str = "0.1.0"
    replica: str = field(default_factory=socket.gethostname)
    max_disk_bytes: int = 4 * GIB
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    prime_cookies: bool = True
    query_threads: int = 4
    retries: int = 3
    backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    writer: bool = True
    local_time_offset: timedelta = timedelta(hours=-5)
    # The upstream's own settings (the `<name>_*` fields of the gateway's settings, without the prefix), which its
    # opener reads beyond these (an OCDS publisher's pace and windows).
    own: Mapping[str, object] = field(default_factory=dict)
    # For a mirror that also calls a keyed API (samopps: its pulls spend a share of the SAM key's quota, shared with
    # other replicas through Redis, on the gateway's clock): the gateway's settings and the process's quota guard.
    gateway_settings: Settings | None = field(default=None, repr=False)
    quota_guard: QuotaGuard | None = field(default=None, repr=False)

    def directory(self, name: str) -> Path:
        return self.data_dir / f"{name}-{self.replica}"


def host_of(url: str) -> str:
    parsed = URL(url)
    host = parsed.host or ""
    return f"{host}:{parsed.explicit_port}" if parsed.explicit_port is not None else host


async def open_mirror(
    name: str,
    feeds: Sequence[FeedSpec],
    parser: FeedParser,
    settings: MirrorSettings,
    stack: AsyncExitStack,
    *,
    prime_path: str | None = None,
    session: aiohttp.ClientSession | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    today: Callable[[], date] | None = None,
) -> Mirror:
    """The mirror, open (serving the snapshot left by the last run, if any) and closed by `stack`.

    `prime_path` (on the base URL's host) is the data page whose cookies are fetched after a 403; None: no priming.
    """
    if session is None:
        session = await stack.enter_async_context(open_download_session())
    policy = DownloadPolicy(
        user_agent=browser_user_agent(settings.product, settings.version, settings.contact),
        allowed_host=host_of(settings.base_url),
        prime_url=str(URL(settings.base_url).join(URL(prime_path))) if prime_path else None,
        retries=settings.retries,
        backoff_s=settings.backoff_s,
    )
    mirror = Mirror(
        name,
        feeds,
        parser,
        MirrorDirectory(settings.directory(name), max_bytes=settings.max_disk_bytes),
        Downloader(session, policy, sleep=sleep),
        base_url=settings.base_url,
        query_threads=settings.query_threads,
        max_file_bytes=settings.max_file_bytes,
        now=now,
        today=today,
        writer=settings.writer,
    )
    await mirror.open()
    stack.push_async_callback(mirror.close)
    return mirror
