"""Per-upstream status, as the gateway sees it: what each declared upstream is, and how it fares in this process."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Protocol

import strawberry

from gateway import models
from schema.leads import LeadSourceMetadata


@strawberry.enum(description="Circuit-breaker state of an upstream.")
class BreakerState(Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class LeadSourcesLoading(Protocol):
    async def load_lead_sources(self, upstream: str) -> tuple[models.SourceMetadata, ...]: ...


class QuotaReading(Protocol):
    async def quota_remaining(self, upstream: str) -> int | None: ...


@strawberry.type(
    description="One feed of a mirror upstream (a file, or a set of files, the source publishes) and its refresh into "
    "the gateway's local index, as this gateway process sees it."
)
class FeedStatus:
    name: str = strawberry.field(description="The feed's name, e.g. open_tenders (for `mirror refresh --feed`).")
    description: str = strawberry.field(description="What the feed holds.")
    refresh_interval_seconds: int = strawberry.field(description="How often the gateway refreshes it, in seconds.")
    window_seconds: int = strawberry.field(
        description="How old its data may be, in seconds, before answers from it say they are stale."
    )
    last_success: dt.datetime | None = strawberry.field(
        description="When its files were last confirmed current (downloaded, or found unchanged), UTC; null before "
        "the first successful refresh."
    )
    age_seconds: int | None = strawberry.field(
        description="Seconds since `lastSuccess`; null before the first successful refresh."
    )
    stale: bool = strawberry.field(
        description="True when its data is older than `windowSeconds` (or it never refreshed): answers from it then "
        "carry `extensions.mirrors`."
    )
    rows: int = strawberry.field(description="Records read from its files in the snapshot that serves now.")
    last_modified: str | None = strawberry.field(
        description="The publisher's Last-Modified of its newest file, as sent (an HTTP date); null when unknown."
    )
    last_attempt: dt.datetime | None = strawberry.field(description="When a refresh last tried it, UTC.")
    last_error: str | None = strawberry.field(
        description="Why its latest refresh failed (the previous snapshot keeps serving); null once one succeeds."
    )
    last_error_at: dt.datetime | None = strawberry.field(description="When its latest refresh failed, UTC.")


@strawberry.type(description="One upstream API the gateway knows: what it is, its data's terms, and how it fares.")
class SourceStatus:
    name: str = strawberry.field(description="Upstream name (e.g. ita, canada, sam), as errors' `upstream` name it.")
    title: str = strawberry.field(description="The upstream's name in full, e.g. 'SAM.gov Contract Awards API v1'.")
    description: str = strawberry.field(description="What the upstream is and which records it gives.")
    documentation_url: str = strawberry.field(description="Where the upstream documents its API.")
    licence: str = strawberry.field(description="The licence of the upstream's data, as its publisher states it.")
    attribution: str = strawberry.field(
        description="The attribution to show beside the upstream's data, as its licence asks."
    )
    retired: bool = strawberry.field(
        description="True when the public service is gone; the gateway still serves any compatible service "
        "configured in its place."
    )
    configured: bool = strawberry.field(
        description="False when this gateway has no address for the upstream: it is never asked, its fields answer "
        "nothing from it, and `reachable` is false."
    )
    reachable: bool = strawberry.field(
        description="False when the upstream is not configured, its breaker is open or its last call failed; true "
        "otherwise (no probe is sent)."
    )
    breaker_state: BreakerState = strawberry.field(
        description="CLOSED, OPEN (calls refused) or HALF_OPEN (probing); CLOSED when the upstream is not configured "
        "(it is never called)."
    )
    last_success: dt.datetime | None = strawberry.field(
        description="Last successful call (UTC) in this process; null when none or not configured."
    )
    last_failure: dt.datetime | None = strawberry.field(
        description="Last failed call (UTC) in this process; null when none or not configured."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="Seconds until the upstream accepts calls again after it asked the gateway to wait; null when "
        "it did not or is not configured."
    )
    feeds: list[FeedStatus] | None = strawberry.field(
        default=None,
        description="For a mirror upstream (a source of files the gateway downloads on a schedule and answers from "
        "its local index, e.g. canadabuys): each feed's last successful refresh, row count, staleness and last "
        "failure. A mirror's `lastSuccess` and `lastFailure` are its feeds' latest, and it is `reachable` while every "
        "feed has data and none failed last. Null for an API upstream, or a mirror not configured.",
    )
    _serves_leads: strawberry.Private[bool]

    @strawberry.field(
        description="Calls left today (UTC day, across all gateway replicas) to this upstream on the gateway's own "
        "key, when the key has a daily quota (SAM); null otherwise, when not configured, or when the quota counter is "
        "unreachable. Upstreams sharing a key share its quota, but for a share reserved for one of them: while the "
        "SAM opportunities API pulls run, `samopps` shows what is left of their share and `sam` of the rest."
    )
    async def quota_remaining(self, info: strawberry.Info[QuotaReading, None]) -> int | None:
        return await info.context.quota_remaining(self.name)

    @strawberry.field(
        description="Freshness of each publisher behind the upstream's leads (ITA's `sources_used`; one call to the "
        "upstream); null for an upstream without leads or not configured."
    )
    async def lead_sources(self, info: strawberry.Info[LeadSourcesLoading, None]) -> list[LeadSourceMetadata] | None:
        if not (self._serves_leads and self.configured):
            return None
        return [LeadSourceMetadata.from_model(meta) for meta in await info.context.load_lead_sources(self.name)]
