"""The one client contract: what resolvers may ask of an upstream client, per record kind it serves.

Every client class is opened by the registry as `Client(spec, fetch)` (`fetch` is the shared fetch path, see
`gateway.upstreams.fetch`) and implements the protocol of each kind in its spec's `kinds`. Resolvers call only
these methods, so a new upstream that serves a kind joins every field of that kind without resolver changes.

`selection` is the set of domain field names (snake_case, e.g. `award_date`, `supplier`) a query selects on the
records, so a client fetches only what they need (SAM's `includeSections`). `hint` is the lookup hint a global id
carries beside the key (Canada: a GSIN), or None.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gateway.models import (
    AwardFamily,
    Contract,
    ContractQuery,
    KeysetPage,
    Lead,
    LeadQuery,
    Page,
    SourceMetadata,
    Tender,
    TenderQuery,
)
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.spec import RecordKind


@runtime_checkable
class LeadClient(Protocol):
    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        """`fields`: the Lead fields the caller reads; a client may leave the others at their defaults (None: every
        field, and the upstream's facets)."""
        ...

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None: ...

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """When each publisher behind the leads was last updated (empty when the upstream does not say)."""
        ...


@runtime_checkable
class TenderClient(Protocol):
    async def search_tenders(
        self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline
    ) -> Page[Tender]: ...

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None: ...


@runtime_checkable
class ContractClient(Protocol):
    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        """Raise BadUserInput for a query this upstream would refuse, before any upstream is asked."""
        ...

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]: ...

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None: ...


@runtime_checkable
class AwardFamilyClient(Protocol):
    async def award_family(
        self, piid: str, *, referenced_idv_piid: str | None, deadline: Deadline
    ) -> AwardFamily | None: ...


# Optional capabilities: a client offering one is used through it (resolvers check with isinstance).


@runtime_checkable
class KeysetTenderClient(Protocol):
    """Tenders paged on an opaque keyset cursor (`after`: a position this client made; None: the first page), so
    that paging across a refresh of the source never repeats a tender. `KeysetPage.positions`: after each tender."""

    async def tenders_after(
        self, query: TenderQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Tender]: ...


@runtime_checkable
class KeysetContractClient(Protocol):
    """Contracts paged on an opaque keyset cursor, as `KeysetTenderClient` pages tenders."""

    async def contracts_after(
        self, query: ContractQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Contract]: ...


@runtime_checkable
class KeysetLeadClient(Protocol):
    """Leads paged on an opaque keyset cursor, newest publication first (the order `leads` merges in), as
    `KeysetTenderClient` pages tenders: paging across a refresh of a mirror never repeats a lead."""

    async def leads_after(
        self, query: LeadQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Lead]: ...


@runtime_checkable
class TenderAwardLinks(Protocol):
    """A source whose tenders and contract awards name each other (CanadaBuys: the solicitation number)."""

    async def awards_of(self, tender: Tender, *, deadline: Deadline) -> tuple[Contract, ...]:
        """The awards of the tender, latest first (empty when none is known)."""
        ...

    async def tender_of(self, contract: Contract, *, deadline: Deadline) -> Tender | None: ...


PROTOCOL_OF_KIND: dict[RecordKind, type] = {
    RecordKind.LEAD: LeadClient,
    RecordKind.TENDER: TenderClient,
    RecordKind.CONTRACT: ContractClient,
    RecordKind.AWARD_FAMILY: AwardFamilyClient,
}
