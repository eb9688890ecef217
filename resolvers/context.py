"""The per-request context: upstream clients, the request's deadline, its loaders and its partial errors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from gateway.errors import GatewayError
from gateway.limits.metering import Metering
from gateway.models import AwardFamily, SourceMetadata
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.registry import Upstreams


@dataclass(frozen=True)
class ReportedError:
    """An upstream failure that did not null its field (the other source still answered)."""

    error: GatewayError
    path: tuple[str | int, ...]


@dataclass
class RequestContext:
    upstreams: Upstreams
    deadline: Deadline
    request_id: str
    reported: list[ReportedError] = field(default_factory=list)
    metering: Metering | None = None  # the caller and its budget; None when the request is not metered
    _families: DataLoader[tuple[str, str | None], AwardFamily | None] | None = None

    async def load_lead_sources(self) -> tuple[SourceMetadata, ...]:
        return await self.upstreams.leads.sources(deadline=self.deadline)

    async def quota_remaining(self, upstream: str) -> int | None:
        guard = self.upstreams.quota_guard
        return None if guard is None else await guard.remaining(upstream)

    def report(self, error: GatewayError, path: Sequence[str | int]) -> None:
        self.reported.append(ReportedError(error, tuple(path)))

    async def load_award_family(self, piid: str, referenced_idv_piid: str | None = None) -> AwardFamily | None:
        """SAM's award family of a PIID, fetched at most once per (PIID, referenced IDV) in this request.

        PIIDs of orders are unique only under their IDV, so the IDV is part of the key when known.
        """
        if self._families is None:
            self._families = DataLoader(load_fn=self._fetch_award_families)
        return await self._families.load((piid, referenced_idv_piid))

    async def _fetch_award_families(
        self, keys: Sequence[tuple[str, str | None]]
    ) -> Sequence[AwardFamily | BaseException | None]:
        results = await asyncio.gather(
            *(
                self.upstreams.sam.award_family(piid, referenced_idv_piid=idv, deadline=self.deadline)
                for piid, idv in keys
            ),
            return_exceptions=True,
        )
        return list(results)
