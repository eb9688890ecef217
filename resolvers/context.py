"""The per-request context: the upstream registry, the request's deadline, its loaders and its partial errors.

`UpstreamRegistry` is what resolvers ask of `gateway.upstreams.registry.Upstreams` (and what a test's fake provides):
every declared upstream, the configured ones serving a record kind, and each one's client, typed by record kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from strawberry.dataloader import DataLoader

from gateway.errors import GatewayError
from gateway.limits.metering import Metering
from gateway.models import AwardFamily, Contract, SourceMetadata, Tender
from gateway.settings import LeadsFrom
from gateway.upstreams.breaker import BreakerState
from gateway.upstreams.client import AwardFamilyClient, ContractClient, LeadClient, TenderAwardLinks, TenderClient
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.mirror import FeedStatus
from gateway.upstreams.spec import RecordKind, UpstreamSpec


class BreakerReading(Protocol):
    @property
    def state(self) -> BreakerState: ...

    @property
    def last_success(self) -> datetime | None: ...

    @property
    def last_failure(self) -> datetime | None: ...


class TransportReading(Protocol):
    @property
    def breaker(self) -> BreakerReading: ...

    def pause_remaining_s(self) -> int | None: ...


class MirrorReading(Protocol):
    def statuses(self) -> tuple[FeedStatus, ...]: ...


class RegisteredUpstream(Protocol):
    @property
    def spec(self) -> UpstreamSpec: ...

    @property
    def name(self) -> str: ...

    @property
    def configured(self) -> bool: ...

    @property
    def http(self) -> TransportReading | None: ...

    @property
    def mirror(self) -> MirrorReading | None:
        """A configured mirror's feeds (None for an API upstream, or one not configured)."""
        ...


class QuotaCounting(Protocol):
    async def remaining(self, credential: str, *, consumer: str | None = None) -> int | None: ...


class UpstreamRegistry(Protocol):
    @property
    def quota_guard(self) -> QuotaCounting | None: ...

    @property
    def leads_from(self) -> Mapping[str, LeadsFrom]:
        """Who serves the leads of each ITA source code (`GATEWAY_LEADS_<CODE>_FROM`; a code absent: auto)."""
        ...

    def all(self) -> tuple[RegisteredUpstream, ...]: ...

    def get(self, name: str) -> RegisteredUpstream | None: ...

    def serving(self, kind: RecordKind) -> tuple[RegisteredUpstream, ...]: ...

    def leads(self, name: str) -> LeadClient: ...

    def tenders(self, name: str) -> TenderClient: ...

    def contracts(self, name: str) -> ContractClient: ...

    def award_families(self, name: str) -> AwardFamilyClient: ...


@dataclass(frozen=True)
class ReportedError:
    """An upstream failure that did not null its field (another source still answered)."""

    error: GatewayError
    path: tuple[str | int, ...]


FamilyKey = tuple[str, str, str | None]  # (upstream, PIID, referenced IDV PIID)


@dataclass
class RequestContext:
    upstreams: UpstreamRegistry
    deadline: Deadline
    request_id: str
    reported: list[ReportedError] = field(default_factory=list)
    metering: Metering | None = None  # the caller and its budget; None when the request is not metered
    _families: DataLoader[FamilyKey, AwardFamily | None] | None = None

    async def load_lead_sources(self, upstream: str) -> tuple[SourceMetadata, ...]:
        return await self.upstreams.leads(upstream).lead_sources(deadline=self.deadline)

    async def quota_remaining(self, upstream: str) -> int | None:
        """Calls left today to `upstream` on the credential it is called with: its share of the credential's quota
        when it has one (samopps' API pulls), else what the shares leave (shared by the other upstreams using it)."""
        guard = self.upstreams.quota_guard
        found = self.upstreams.get(upstream)
        if guard is None or found is None or not found.configured or found.spec.credential is None:
            return None
        return await guard.remaining(found.spec.credential.name, consumer=found.name)

    def report(self, error: GatewayError, path: Sequence[str | int]) -> None:
        self.reported.append(ReportedError(error, tuple(path)))

    def report_all(self, errors: Iterable[GatewayError], path: Sequence[str | int]) -> None:
        for error in errors:
            self.report(error, path)

    def award_family_source(self, upstream: str | None = None) -> str | None:
        """`upstream` when it is configured and serves award families; without one, the first that does."""
        if upstream is None:
            return next((found.name for found in self.upstreams.serving(RecordKind.AWARD_FAMILY)), None)
        found = self.upstreams.get(upstream)
        serves = found is not None and found.configured and found.spec.serves(RecordKind.AWARD_FAMILY)
        return upstream if serves else None

    def _links(self, upstream: str, kind: RecordKind) -> TenderAwardLinks | None:
        found = self.upstreams.get(upstream)
        if found is None or not found.configured or not found.spec.serves(kind):
            return None
        client = self.upstreams.tenders(upstream) if kind is RecordKind.TENDER else self.upstreams.contracts(upstream)
        return client if isinstance(client, TenderAwardLinks) else None

    async def load_awards_of(self, upstream: str, tender: Tender) -> tuple[Contract, ...]:
        """The awards of a tender from `upstream` (its own), latest first; empty when that upstream links none."""
        links = self._links(upstream, RecordKind.CONTRACT)
        return () if links is None else await links.awards_of(tender, deadline=self.deadline)

    async def load_tender_of(self, upstream: str, contract: Contract) -> Tender | None:
        """The tender a contract from `upstream` (its own) was awarded on; None when that upstream links none."""
        links = self._links(upstream, RecordKind.TENDER)
        return None if links is None else await links.tender_of(contract, deadline=self.deadline)

    async def load_award_family(
        self, piid: str, referenced_idv_piid: str | None = None, *, upstream: str | None = None
    ) -> AwardFamily | None:
        """The award family of a PIID, fetched at most once per (upstream, PIID, referenced IDV) in this request;
        None when `upstream` (None: the first configured one) serves no award families.

        PIIDs of orders are unique only under their IDV, so the IDV is part of the key when known.
        """
        source = self.award_family_source(upstream)
        if source is None:
            return None
        if self._families is None:
            self._families = DataLoader(load_fn=self._fetch_award_families)
        return await self._families.load((source, piid, referenced_idv_piid))

    async def _fetch_award_families(self, keys: Sequence[FamilyKey]) -> Sequence[AwardFamily | BaseException | None]:
        results = await asyncio.gather(
            *(
                self.upstreams.award_families(source).award_family(
                    piid, referenced_idv_piid=idv, deadline=self.deadline
                )
                for source, piid, idv in keys
            ),
            return_exceptions=True,
        )
        return list(results)
