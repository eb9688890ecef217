"""Fake upstreams for the schema layer: a registry shaped like `gateway.upstreams.registry.Upstreams` whose clients
implement the client protocols in memory (no HTTP), count their calls, and fail or refuse on demand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from gateway.errors import BadUserInput, GatewayError, UpstreamUnavailable
from gateway.models import (
    AwardFamily,
    Contract,
    ContractQuery,
    ContractSource,
    KeysetPage,
    Lead,
    LeadQuery,
    LocalizedText,
    Money,
    Page,
    SourceMetadata,
    Tender,
    TenderQuery,
)
from gateway.settings import LeadsFrom
from gateway.upstreams.breaker import BreakerState
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.mirror import FeedStatus
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from resolvers.context import RequestContext
from resolvers.query import Query


@dataclass
class FakeBreaker:
    state: BreakerState = BreakerState.CLOSED
    last_success: datetime | None = None
    last_failure: datetime | None = None


@dataclass
class FakeHttp:
    breaker: FakeBreaker = field(default_factory=FakeBreaker)
    pause_s: int | None = None

    def pause_remaining_s(self) -> int | None:
        return self.pause_s


@dataclass
class FakeMirror:
    """A mirror's feeds as `sources` reads them."""

    feeds: tuple[FeedStatus, ...] = ()

    def statuses(self) -> tuple[FeedStatus, ...]:
        return self.feeds


@dataclass
class FakeClient:
    """One upstream's records of every kind it serves; `calls` counts each method called."""

    name: str
    leads: list[Lead] = field(default_factory=list)
    tenders: list[Tender] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    families: dict[str, AwardFamily] = field(default_factory=dict)
    lead_metadata: tuple[SourceMetadata, ...] = ()
    failing: bool = False
    refused_keywords: str | None = None  # check_contract_query refuses keywords holding this text
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _call(self, method: str, **arguments: Any) -> None:
        self.calls[method] += 1
        self.requests.append((method, arguments))
        if self.failing:
            raise UpstreamUnavailable(self.name, f"{self.name} is down (fake)", status=503)

    def _leads_of(self, query: LeadQuery) -> list[Lead]:
        """The leads of the codes the query names (ITA's `sources`), newest first as stored."""
        return [lead for lead in self.leads if not query.sources or lead.source in query.sources]

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        del fields
        self._call("search_leads", query=query, limit=limit, offset=offset)
        found = self._leads_of(query)
        return Page(tuple(found[offset : offset + limit]), len(found), offset)

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None:
        self._call("lead", key=key)
        return next((lead for lead in self.leads if lead.id == key), None)

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        self._call("lead_sources")
        return self.lead_metadata

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        self._call("search_tenders", query=query, limit=limit, offset=offset)
        return Page(tuple(self.tenders[offset : offset + limit]), len(self.tenders), offset)

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        self._call("tender", key=key, hint=hint)
        return next((tender for tender in self.tenders if tender.reference == key), None)

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        self.calls["check_contract_query"] += 1
        if self.refused_keywords and self.refused_keywords in (query.keywords or ""):
            raise BadUserInput(f"{self.name} refuses {self.refused_keywords!r} in keywords (fake)")

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        self._call("search_contracts", query=query, limit=limit, offset=offset, selection=selection)
        return Page(tuple(self.contracts[offset : offset + limit]), len(self.contracts), offset)

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        self._call("contract", key=key, hint=hint, selection=selection)
        return next((contract for contract in self.contracts if contract.key == key), None)

    async def award_family(
        self, piid: str, *, referenced_idv_piid: str | None, deadline: Deadline
    ) -> AwardFamily | None:
        self._call("award_family", piid=piid, referenced_idv_piid=referenced_idv_piid)
        return self.families.get(piid)


@dataclass
class FakeKeysetLeadClient(FakeClient):
    """A lead source paging on its own positions (`KeysetLeadClient`, as a mirror does): `k<index>`."""

    async def leads_after(
        self, query: LeadQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Lead]:
        self._call("leads_after", query=query, limit=limit, after=after)
        found = self._leads_of(query)
        start = int(after.removeprefix("k")) + 1 if after else 0
        items = found[start : start + limit]
        positions = tuple(f"k{start + index}" for index in range(len(items)))
        more = start + limit < len(found)
        return KeysetPage(tuple(items), len(found), positions[-1] if more and positions else None, positions)


@dataclass(frozen=True)
class FakeUpstream:
    spec: UpstreamSpec
    client: FakeClient | None
    http: FakeHttp | None
    mirror: FakeMirror | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def configured(self) -> bool:
        return self.client is not None


class FakeQuotaGuard:
    def __init__(self, remaining: dict[str, int]) -> None:
        self._remaining = remaining
        self.asked: list[str] = []

    async def remaining(self, credential: str, *, consumer: str | None = None) -> int | None:
        self.asked.append(credential)
        return self._remaining.get(credential)


class FakeUpstreams:
    """Every spec declared; those with a client are configured."""

    def __init__(
        self,
        specs: Sequence[UpstreamSpec],
        clients: dict[str, FakeClient],
        quota_guard: FakeQuotaGuard | None = None,
        mirrors: dict[str, FakeMirror] | None = None,
        leads_from: dict[str, LeadsFrom] | None = None,
    ) -> None:
        """An upstream with a client is configured; one also in `mirrors` is a mirror (no transport). `leads_from`:
        who serves each ITA lead source code (absent: auto)."""
        mirrors = mirrors or {}
        self._upstreams = tuple(
            FakeUpstream(
                spec,
                clients.get(spec.name),
                FakeHttp() if spec.name in clients and spec.name not in mirrors else None,
                mirrors.get(spec.name) if spec.name in clients else None,
            )
            for spec in specs
        )
        self.quota_guard = quota_guard
        self.leads_from: dict[str, LeadsFrom] = dict(leads_from or {})

    def all(self) -> tuple[FakeUpstream, ...]:
        return self._upstreams

    def get(self, name: str) -> FakeUpstream | None:
        return next((upstream for upstream in self._upstreams if upstream.name == name), None)

    def serving(self, kind: RecordKind) -> tuple[FakeUpstream, ...]:
        return tuple(u for u in self._upstreams if u.configured and u.spec.serves(kind))

    def client(self, name: str) -> FakeClient:
        found = self.get(name)
        assert found is not None
        assert found.client is not None
        return found.client

    def _serving_client(self, name: str, kind: RecordKind) -> FakeClient:
        found = self.get(name)
        if found is None or found.client is None or not found.spec.serves(kind):
            raise KeyError(name)
        return found.client

    def leads(self, name: str) -> FakeClient:
        return self._serving_client(name, RecordKind.LEAD)

    def tenders(self, name: str) -> FakeClient:
        return self._serving_client(name, RecordKind.TENDER)

    def contracts(self, name: str) -> FakeClient:
        return self._serving_client(name, RecordKind.CONTRACT)

    def award_families(self, name: str) -> FakeClient:
        return self._serving_client(name, RecordKind.AWARD_FAMILY)

    def calls(self) -> dict[str, Counter[str]]:
        return {u.name: u.client.calls for u in self._upstreams if u.client is not None}

    def total_calls(self) -> int:
        """Calls that would reach an upstream (checks of a query do not)."""
        return sum(
            count
            for calls in self.calls().values()
            for method, count in calls.items()
            if method != "check_contract_query"
        )


# -- records ---------------------------------------------------------------------------------------------------------


def lead(lead_id: str, published: date | None = None, **fields: Any) -> Lead:
    return Lead(
        id=lead_id, source=fields.pop("source", "FBO"), title=f"lead {lead_id}", publish_date=published, **fields
    )


def tender(reference: str, closing: date | None = None, gsins: tuple[str, ...] = ()) -> Tender:
    return Tender(
        reference=reference,
        solicitation_number=None,
        title=LocalizedText(f"tender {reference}", f"appel {reference}"),
        buyer=LocalizedText("buyer"),
        url=LocalizedText(f"https://example.test/en/{reference}", f"https://example.test/fr/{reference}"),
        gsins=gsins,
        closing_date=closing,
    )


def contract(source: ContractSource, key: str, awarded: date | None = None, **fields: Any) -> Contract:
    currency = "USD" if source is ContractSource.SAM else "CAD"
    return Contract(
        source=source,
        key=key,
        piid=fields.pop("piid", key.split("|", maxsplit=1)[0]),
        title=LocalizedText(f"contract {key}"),
        award_date=awarded,
        value=Money(Decimal("100.00"), currency),
        **fields,
    )


def family(piid: str, count: int = 3) -> AwardFamily:
    return AwardFamily(piid=piid, count=count, total_dollars=Money(Decimal("300.00"), "USD"))


# -- the standard fake world ------------------------------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def standard_clients() -> dict[str, FakeClient]:
    """ITA with 25 leads, Canada with 12 tenders and 6 contracts, SAM with 8 contracts and award families."""
    return {
        "ita": FakeClient(
            "ita",
            leads=[lead(f"L{n}", date(2025, 5, 30 - n)) for n in range(25)],
            lead_metadata=(SourceMetadata("FBO", NOW, NOW),),
        ),
        "canada": FakeClient(
            "canada",
            tenders=[tender(f"T{n}", date(2025, 7, 1 + n), gsins=(f"N{7600 + n}",)) for n in range(12)],
            contracts=[
                contract(ContractSource.CANADA, f"C{n}", date(2025, 5, 28 - 3 * n), gsins=("N7610",)) for n in range(6)
            ],
        ),
        "sam": FakeClient(
            "sam",
            contracts=[contract(ContractSource.SAM, f"P{n}|0||", date(2025, 5, 29 - 2 * n)) for n in range(8)],
            families={f"P{n}": family(f"P{n}", count=n + 1) for n in range(8)},
            refused_keywords="&",
        ),
    }


def standard_upstreams(
    *,
    unconfigured: Iterable[str] = (),
    specs: Sequence[UpstreamSpec] = SPECS,
    mirrors: dict[str, FakeMirror] | None = None,
    **extra: FakeClient,
) -> FakeUpstreams:
    """The standard clients (but `unconfigured`) and `extra` ones; those in `mirrors` are mirrors."""
    clients = {name: client for name, client in standard_clients().items() if name not in set(unconfigured)}
    return FakeUpstreams(specs, {**clients, **extra}, FakeQuotaGuard({"sam": 997}), mirrors)


SCHEMA = strawberry.Schema(query=Query)


@dataclass
class Outcome:
    data: dict[str, Any] | None
    errors: list[Any]
    context: RequestContext

    @property
    def codes(self) -> list[str]:
        return [error_code(error) for error in self.errors]

    @property
    def reported(self) -> list[tuple[str, str | None, tuple[str | int, ...]]]:
        return [(r.error.code, getattr(r.error, "upstream", None), r.path) for r in self.context.reported]


def error_code(error: Any) -> str:
    original = error.original_error
    return original.code if isinstance(original, GatewayError) else "GRAPHQL_ERROR"


async def execute(upstreams: FakeUpstreams, query: str, variables: dict[str, Any] | None = None) -> Outcome:
    context = RequestContext(upstreams=upstreams, deadline=Deadline.after(5.0), request_id="schema-test")  # type: ignore[arg-type]
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    for error in result.errors or []:
        if error.original_error is not None and not isinstance(error.original_error, GatewayError):
            raise error.original_error  # a bug, not an answer: fail the test with it
    return Outcome(result.data, list(result.errors or []), context)
