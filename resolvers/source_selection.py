"""Which upstreams a query asks: the configured ones serving its record kind that can answer every criterion it sets.

A source that cannot answer a criterion (its spec's `unanswerable`) could only return non-matches, so it is not asked.
A query may name the sources to ask (`sources`: upstream names for tenders; for contracts a `ContractSource` value,
lower-cased, is the name of its upstream); when it names none, every configured source serving the kind is asked but a
retired one whose successor serves the kind (a configured upstream declaring it in `succeeds`): both would answer the
same records, so the retired one is asked only when named.
"""

from __future__ import annotations

import dataclasses

from gateway.models import ContractQuery, ContractSource, TenderQuery
from gateway.upstreams.spec import Query, RecordKind
from resolvers.context import RegisteredUpstream, UpstreamRegistry


def upstream_name(source: ContractSource) -> str:
    return source.value.lower()


def named_sources(query: Query) -> tuple[str, ...]:
    """The upstreams `query` names, in its order (empty: it names none)."""
    if isinstance(query, ContractQuery):
        return tuple(upstream_name(source) for source in query.sources)
    if isinstance(query, TenderQuery):
        return query.sources
    return ()


def asked_by_default(upstreams: UpstreamRegistry, kind: RecordKind) -> tuple[RegisteredUpstream, ...]:
    """The configured upstreams serving `kind` but the retired ones a configured successor serving it replaces."""
    serving = upstreams.serving(kind)
    succeeded = {name for upstream in serving for name in upstream.spec.succeeds}
    return tuple(upstream for upstream in serving if not (upstream.spec.retired and upstream.name in succeeded))


def sources_to_ask(upstreams: UpstreamRegistry, kind: RecordKind, query: Query) -> tuple[RegisteredUpstream, ...]:
    """In the order the query names them; else in catalog order, contracts in `ContractSource` order (SAM first, the
    first is merged first on ties)."""
    named = named_sources(query)
    if named:
        candidates = sorted((u for u in upstreams.serving(kind) if u.name in named), key=lambda u: named.index(u.name))
    else:
        candidates = list(asked_by_default(upstreams, kind))
        if isinstance(query, ContractQuery):
            order = [upstream_name(source) for source in ContractSource]
            candidates.sort(key=lambda u: order.index(u.name) if u.name in order else len(order))
    criteria = _criteria(query)
    return tuple(upstream for upstream in candidates if not upstream.spec.unanswerable(kind, criteria))


def _criteria(query: Query) -> Query:
    """The query without the choice of sources (which is no criterion an upstream answers)."""
    if isinstance(query, ContractQuery) and query.sources:
        return dataclasses.replace(query, sources=())
    if isinstance(query, TenderQuery) and query.sources:
        return dataclasses.replace(query, sources=())
    return query


def check_contract_query(upstreams: UpstreamRegistry, query: ContractQuery, *, limit: int) -> None:
    """BAD_USER_INPUT for a query any source to be asked would refuse, before any upstream is asked."""
    for upstream in sources_to_ask(upstreams, RecordKind.CONTRACT, query):
        upstreams.contracts(upstream.name).check_contract_query(query, limit=limit)


def declared_names(upstreams: UpstreamRegistry, kind: RecordKind) -> tuple[str, ...]:
    """Every declared upstream serving `kind`, configured or not: the keys a cursor of its lists may hold."""
    return tuple(upstream.name for upstream in upstreams.all() if upstream.spec.serves(kind))
