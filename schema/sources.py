"""Per-upstream status, as the gateway sees it."""

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
    async def load_lead_sources(self) -> tuple[models.SourceMetadata, ...]: ...


class QuotaReading(Protocol):
    async def quota_remaining(self, upstream: str) -> int | None: ...


@strawberry.type(description="One upstream API and how the gateway finds it.")
class SourceStatus:
    name: str = strawberry.field(description="Upstream name: ita, canada or sam.")
    description: str = strawberry.field(description="What the upstream is.")
    reachable: bool = strawberry.field(
        description="False when the breaker is open or the last call failed; true otherwise (no probe is sent)."
    )
    breaker_state: BreakerState = strawberry.field(description="CLOSED, OPEN (calls refused) or HALF_OPEN (probing).")
    last_success: dt.datetime | None = strawberry.field(description="Last successful call (UTC) in this process.")
    last_failure: dt.datetime | None = strawberry.field(description="Last failed call (UTC) in this process.")
    retry_after_seconds: int | None = strawberry.field(
        description="Seconds until the upstream accepts calls again after it asked the gateway to wait."
    )

    @strawberry.field(
        description="Calls left today (UTC day, across all gateway replicas) on the gateway's own key, when the "
        "upstream has a daily quota (SAM); null otherwise or when the quota counter is unreachable."
    )
    async def quota_remaining(self, info: strawberry.Info[QuotaReading, None]) -> int | None:
        return await info.context.quota_remaining(self.name)

    @strawberry.field(description="ITA's `sources_used`: freshness of each lead source (ita only; one ITA call).")
    async def lead_sources(self, info: strawberry.Info[LeadSourcesLoading, None]) -> list[LeadSourceMetadata] | None:
        if self.name != "ita":
            return None
        return [LeadSourceMetadata.from_model(meta) for meta in await info.context.load_lead_sources()]
