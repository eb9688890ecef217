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
            settings.ita_url,
            sessions[ita.NAME],
            settings,
            credentials=Credentials(headers={"Api-Key": settings.ita_api_key}) if settings.ita_api_key else None,
            quota_guard=quota_guard,
        ),
        canada.NAME: UpstreamHttp(
            canada.NAME, settings.canada_url, sessions[canada.NAME], settings, quota_guard=quota_guard
        ),
        sam.NAME: UpstreamHttp(
            sam.NAME,
            settings.sam_url,
            sessions[sam.NAME],
            settings,
            credentials=Credentials(query={"api_key": settings.sam_api_key}) if settings.sam_api_key else None,
            quota_guard=quota_guard,
        ),
    }
    stale = settings.cache_stale_for_s
    return Upstreams(
        leads=ita.TradeLeadsClient(transports[ita.NAME], cache, ttl_s=settings.cache_ttl_leads_s, stale_for_s=stale),
        canada=canada.CanadaClient(
            transports[canada.NAME],
            cache,
            ttl_s=settings.cache_ttl_tenders_s,
            stale_for_s=stale,
            contracts_ttl_s=settings.cache_ttl_contracts_s,
        ),
        sam=sam.ContractAwardsClient(
            transports[sam.NAME], cache, settings.cache_ttl_contracts_s, stale, settings.cache_ttl_award_families_s
        ),
        transports=transports,
        quota_guard=quota_guard,
    )
