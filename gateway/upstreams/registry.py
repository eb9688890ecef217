"""The registry: every declared upstream of one gateway process, derived from `settings.specs` and opened together
in the app's lifespan.

For each spec: its client class (`spec.client`, "package.module:Class"), checked to implement the protocol of every
record kind it declares; for a CONFIGURED upstream (its URL is set) one pooled session and transport, called with its
credential (`spec.credential`: a query parameter or a header, only when the key is set), and the client opened as
`Client(spec, fetch)` over the shared fetch path. An upstream that is not configured has no client and no transport,
and is never asked.

A spec naming a mirror opener (`spec.mirror`, "package.module:function") is a source of files: when configured, its
mirror is opened (the `mirror_*` settings: directory, disk bound, User-Agent contact...) and its client as
`Client(spec, mirror)`. This process then refreshes the mirror on its schedule (`mirror_refresh_in_process`; with
Redis, replicas take turns through a lock), or follows the directory that `python -m gateway mirror refresh` writes.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import socket
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from gateway.cache.store import ResponseCache
from gateway.limits.quota import QuotaGuard
from gateway.redis import redis_client
from gateway.settings import LeadsFrom, Settings, UpstreamSettings, parse_utc_offset
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.client import (
    PROTOCOL_OF_KIND,
    AwardFamilyClient,
    ContractClient,
    LeadClient,
    TenderClient,
)
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.mirror.opening import MirrorOpener, MirrorSettings, OpenedMirror
from gateway.upstreams.mirror.redis_lock import RedisRefreshLock
from gateway.upstreams.mirror.schedule import RefreshLock, RefreshScheduler, start_following, start_refreshing
from gateway.upstreams.spec import RecordKind, UpstreamSpec

_log = logging.getLogger(__name__)
PRODUCT = "procurement-gateway"


class UpstreamDeclarationError(TypeError):
    """A spec names a client class that cannot be loaded or does not implement the protocols of its kinds."""


@dataclass(frozen=True)
class Upstream:
    spec: UpstreamSpec
    settings: UpstreamSettings
    client: object | None  # None when not configured; else implements the protocols of spec.kinds
    http: UpstreamHttp | None  # the transport: .breaker (state, last_success, last_failure), .pause_remaining_s()
    mirror: OpenedMirror | None = None  # a configured mirror's index and its feeds' statuses (then `http` is None)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def configured(self) -> bool:
        return self.client is not None


class Upstreams:
    """Every declared upstream in catalog order, and the clients of the configured ones, typed by record kind."""

    def __init__(
        self,
        upstreams: Iterable[Upstream],
        *,
        quota_guard: QuotaGuard | None = None,
        leads_from: Mapping[str, LeadsFrom] | None = None,
    ) -> None:
        """`leads_from`: who serves the leads of each ITA source code (`Settings.leads_from`; absent: auto)."""
        self._all = tuple(upstreams)
        self._by_name = {upstream.name: upstream for upstream in self._all}
        if len(self._by_name) != len(self._all):
            raise ValueError("two upstreams share a name")
        self.quota_guard = quota_guard  # the gateway's own daily quotas per credential (`sources.quotaRemaining`)
        self.leads_from: Mapping[str, LeadsFrom] = dict(leads_from or {})
        self._serving = {
            kind: tuple(u for u in self._all if u.configured and u.spec.serves(kind)) for kind in RecordKind
        }

    def all(self) -> tuple[Upstream, ...]:
        """Every declared upstream, configured or not."""
        return self._all

    def get(self, name: str) -> Upstream | None:
        return self._by_name.get(name)

    def serving(self, kind: RecordKind) -> tuple[Upstream, ...]:
        """The configured upstreams that serve `kind`, in catalog order."""
        return self._serving[kind]

    def leads(self, name: str) -> LeadClient:
        return cast(LeadClient, self._client(name, RecordKind.LEAD))

    def tenders(self, name: str) -> TenderClient:
        return cast(TenderClient, self._client(name, RecordKind.TENDER))

    def contracts(self, name: str) -> ContractClient:
        return cast(ContractClient, self._client(name, RecordKind.CONTRACT))

    def award_families(self, name: str) -> AwardFamilyClient:
        return cast(AwardFamilyClient, self._client(name, RecordKind.AWARD_FAMILY))

    def _client(self, name: str, kind: RecordKind) -> object:
        """KeyError unless `name` is configured and serves `kind` (its class was checked when it was opened)."""
        upstream = self._by_name.get(name)
        if upstream is None or upstream.client is None or not upstream.spec.serves(kind):
            raise KeyError(f"no configured upstream {name!r} serving {kind.value} records")
        return upstream.client


def client_class(spec: UpstreamSpec) -> type:
    """The class `spec.client` names, checked to implement the protocol of each record kind in `spec.kinds`."""
    module_name, _, class_name = spec.client.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise UpstreamDeclarationError(
            f"upstream {spec.name}: cannot load its client {spec.client} ({error})"
        ) from None
    if not inspect.isclass(found):
        raise UpstreamDeclarationError(f"upstream {spec.name}: {spec.client} is not a class")
    problems = [
        f"{PROTOCOL_OF_KIND[kind].__name__}.{problem}"
        for kind in sorted(spec.kinds, key=lambda kind: kind.value)
        for problem in _unimplemented(found, PROTOCOL_OF_KIND[kind])
    ]
    if problems:
        raise UpstreamDeclarationError(
            f"upstream {spec.name}: {spec.client} does not implement what it serves: {'; '.join(problems)}"
        )
    return found


def mirror_opener(spec: UpstreamSpec) -> MirrorOpener | None:
    """The function `spec.mirror` names (None for an upstream that is no mirror)."""
    if spec.mirror is None:
        return None
    module_name, _, function_name = spec.mirror.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise UpstreamDeclarationError(
            f"upstream {spec.name}: cannot load its mirror opener {spec.mirror} ({error})"
        ) from None
    if not inspect.iscoroutinefunction(found):
        raise UpstreamDeclarationError(f"upstream {spec.name}: {spec.mirror} is not an async function")
    return cast(MirrorOpener, found)


def _unimplemented(cls: type, protocol: type) -> list[str]:
    """The methods of `protocol` that `cls` lacks, or defines sync where the protocol is async (or vice versa)."""
    problems = []
    for name, member in vars(protocol).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        method = getattr(cls, name, None)
        if method is None or not callable(method):
            problems.append(f"{name} is missing")
        elif inspect.iscoroutinefunction(member) != inspect.iscoroutinefunction(method):
            problems.append(f"{name} must {'' if inspect.iscoroutinefunction(member) else 'not '}be async")
    return problems


def credentials_for(spec: UpstreamSpec, settings: Settings) -> Credentials | None:
    """How `spec`'s credential is sent (only when its key is set), and the name its calls are counted under."""
    credential = spec.credential
    if credential is None:
        return None
    key = settings.credential(credential.name).api_key
    sent = {credential.parameter: key} if key else None
    if credential.sent_as == "query":
        return Credentials(query=sent, name=credential.name)
    return Credentials(headers=sent, name=credential.name)


def mirror_settings(settings: Settings, url: str, *, writer: bool, upstream: str = "") -> MirrorSettings:
    """A mirror's settings, from the `mirror_*` settings and its upstream's URL; `writer`: this process refreshes
    it (else it follows the directory another process refreshes); `upstream`: whose own settings (`<upstream>_*`)
    its opener is given."""
    try:
        version = importlib.metadata.version(PRODUCT)
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return MirrorSettings(
        data_dir=Path(settings.mirror_data_dir),
        base_url=url,
        contact=settings.mirror_contact,
        product=PRODUCT,
        version=version,
        replica=settings.mirror_replica or socket.gethostname(),
        max_disk_bytes=settings.mirror_max_disk_bytes,
        max_file_bytes=settings.mirror_max_file_bytes,
        prime_cookies=settings.mirror_prime_cookies,
        query_threads=settings.mirror_query_threads,
        writer=writer,
        local_time_offset=parse_utc_offset(settings.mirror_closing_time_offset),
        own=settings.upstream_options(upstream) if upstream else {},
        gateway_settings=settings,
    )


def refresh_lock(settings: Settings, stack: AsyncExitStack, mirror: str) -> RefreshLock | None:
    """With Redis, the lock replicas take turns with to refresh `mirror`'s feeds; None without Redis."""
    if not settings.redis_url:
        return None
    redis = redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s, pool_size=2)
    stack.callback(redis.connection_pool.disconnect)
    return RedisRefreshLock(
        redis, settings.redis_prefix(f"mirror-refresh:{mirror}:"), timeout_s=settings.redis_timeout_s
    )


async def open_mirrors(settings: Settings, stack: AsyncExitStack, *, writer: bool) -> dict[str, OpenedMirror]:
    """The mirror of every configured mirror upstream, open (closed by `stack`), by upstream name; for the
    `python -m gateway mirror` commands. Raises MirrorDirectoryBusy when `writer` and another process writes one."""
    mirrors: dict[str, OpenedMirror] = {}
    for spec in settings.specs:
        opener, url = mirror_opener(spec), settings.upstream(spec.name).url
        if opener is not None and url:
            mirrors[spec.name] = await opener(mirror_settings(settings, url, writer=writer, upstream=spec.name), stack)
    return mirrors


async def _open_mirror_upstream(
    spec: UpstreamSpec,
    opener: MirrorOpener,
    settings: Settings,
    stack: AsyncExitStack,
    *,
    cls: type,
    quota_guard: QuotaGuard | None = None,
) -> Upstream:
    upstream_settings = settings.upstream(spec.name)
    refreshing = settings.mirror_refresh_in_process
    if refreshing and not settings.mirror_contact:
        _log.warning("%s: set GATEWAY_MIRROR_CONTACT: the files' publisher is told who downloads them", spec.name)
    opened = mirror_settings(settings, upstream_settings.url, writer=refreshing, upstream=spec.name)
    mirror = await opener(replace(opened, quota_guard=quota_guard), stack)
    if refreshing:
        start_refreshing(RefreshScheduler(mirror, lock=refresh_lock(settings, stack, spec.name)), stack)
    else:
        start_following(mirror, stack)
    return Upstream(spec, upstream_settings, cls(spec, mirror), None, mirror)


async def open_upstreams(
    settings: Settings, stack: AsyncExitStack, cache: ResponseCache, *, quota_guard: QuotaGuard | None = None
) -> Upstreams:
    """Every upstream of `settings.specs`; one pooled aiohttp session per configured one, closed by `stack`; the
    mirror of each configured mirror upstream, refreshed or followed in the background until `stack` closes.

    `quota_guard` (closed by its opener) counts every real call against the daily quota of its credential.
    Raises UpstreamDeclarationError when a spec's client class (or mirror opener) is missing or incomplete
    (configured or not), MirrorDirectoryBusy when this process should refresh a mirror another process writes.
    """
    classes = {spec.name: client_class(spec) for spec in settings.specs}
    openers = {spec.name: mirror_opener(spec) for spec in settings.specs}
    upstreams: list[Upstream] = []
    for spec in settings.specs:
        upstream_settings = settings.upstream(spec.name)
        if not upstream_settings.configured:
            upstreams.append(Upstream(spec, upstream_settings, None, None))
            continue
        opener = openers[spec.name]
        if opener is not None:
            upstreams.append(
                await _open_mirror_upstream(
                    spec, opener, settings, stack, cls=classes[spec.name], quota_guard=quota_guard
                )
            )
            continue
        session = await stack.enter_async_context(open_session(settings))
        http = UpstreamHttp(
            spec.name,
            upstream_settings.url,
            session,
            settings,
            credentials=credentials_for(spec, settings),
            quota_guard=quota_guard,
        )
        fetch = UpstreamFetch.from_settings(spec, http, cache, settings)
        upstreams.append(Upstream(spec, upstream_settings, classes[spec.name](spec, fetch), http))
    return Upstreams(upstreams, quota_guard=quota_guard, leads_from=settings.leads_from())
