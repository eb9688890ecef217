"""The upstream clients of one gateway process, opened together in the app's lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

from gateway.cache.store import ResponseCache
from gateway.limits.quota import QuotaGuard
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.canada import adapter as canada
from gateway.upstreams.ita import adapter as ita
from gateway.upstreams.sam import adapter as sam
from gateway.upstreams.spec import RecordKind


@dataclass(frozen=True)
class Upstreams:
    leads: ita.TradeLeadsClient
    canada: canada.CanadaClient
    sam: sam.ContractAwardsClient
    transports: Mapping[str, UpstreamHttp]
    quota_guard: QuotaGuard | None = None  # the gateway's own daily upstream quotas (`sources.quotaRemaining`)


async def open_upstreams(
    settings: Settings, stack: AsyncExitStack, cache: ResponseCache, *, quota_guard: QuotaGuard | None = None
) -> Upstreams:
    """One pooled aiohttp session per upstream, closed by `stack` when the app stops.

    `quota_guard` (closed by its opener) counts every real call against the gateway's own daily quotas.
    """
    sessions = {
        name: await stack.enter_async_context(open_session(settings)) for name in (ita.NAME, canada.NAME, sam.NAME)
    }
    transports = {
        ita.NAME: UpstreamHttp(
            ita.NAME,
            settings.upstream(ita.NAME).url,
            sessions[ita.NAME],
            settings,
            credentials=Credentials(headers={"Api-Key": ita_key})
            if (ita_key := settings.credential("ita").api_key)
            else None,
            quota_guard=quota_guard,
        ),
        canada.NAME: UpstreamHttp(
            canada.NAME, settings.upstream(canada.NAME).url, sessions[canada.NAME], settings, quota_guard=quota_guard
        ),
        sam.NAME: UpstreamHttp(
            sam.NAME,
            settings.upstream(sam.NAME).url,
            sessions[sam.NAME],
            settings,
            credentials=Credentials(query={"api_key": sam_key})
            if (sam_key := settings.credential("sam").api_key)
            else None,
            quota_guard=quota_guard,
        ),
    }
    stale = settings.cache_stale_for_s
    return Upstreams(
        leads=ita.TradeLeadsClient(
            transports[ita.NAME], cache, ttl_s=settings.upstream(ita.NAME).ttl_s[RecordKind.LEAD], stale_for_s=stale
        ),
        canada=canada.CanadaClient(
            transports[canada.NAME],
            cache,
            ttl_s=settings.upstream(canada.NAME).ttl_s[RecordKind.TENDER],
            stale_for_s=stale,
            contracts_ttl_s=settings.upstream(canada.NAME).ttl_s[RecordKind.CONTRACT],
        ),
        sam=sam.ContractAwardsClient(
            transports[sam.NAME],
            cache,
            settings.upstream(sam.NAME).ttl_s[RecordKind.CONTRACT],
            stale,
            settings.upstream(sam.NAME).ttl_s[RecordKind.AWARD_FAMILY],
        ),
        transports=transports,
        quota_guard=quota_guard,
    )
