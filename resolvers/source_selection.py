"""Which upstreams a query asks: the configured ones serving its record kind that can answer every criterion it sets.

A source that cannot answer a criterion (its spec's `unanswerable`) could only return non-matches, so it is not asked.
For contracts, `ContractQuery.sources` also names the sources to ask (a `ContractSource` value, lower-cased, is the
name of its upstream).
"""

from __future__ import annotations

from gateway.models import ContractQuery, ContractSource
from gateway.upstreams.spec import Query, RecordKind
from resolvers.context import RegisteredUpstream, UpstreamRegistry


def upstream_name(source: ContractSource) -> str:
    return source.value.lower()


def sources_to_ask(upstreams: UpstreamRegistry, kind: RecordKind, query: Query) -> tuple[RegisteredUpstream, ...]:
    """In catalog order; for contracts, in the order of `query.sources` (the first is merged first on ties)."""
    asked = tuple(upstream for upstream in upstreams.serving(kind) if not upstream.spec.unanswerable(kind, query))
    if isinstance(query, ContractQuery):
        listed = [upstream_name(source) for source in query.sources]
        asked = tuple(sorted((u for u in asked if u.name in listed), key=lambda u: listed.index(u.name)))
    return asked


def check_contract_query(upstreams: UpstreamRegistry, query: ContractQuery, *, limit: int) -> None:
    """BAD_USER_INPUT for a query any source to be asked would refuse, before any upstream is asked."""
    for upstream in sources_to_ask(upstreams, RecordKind.CONTRACT, query):
        upstreams.contracts(upstream.name).check_contract_query(query, limit=limit)


def declared_names(upstreams: UpstreamRegistry, kind: RecordKind) -> tuple[str, ...]:
    """Every declared upstream serving `kind`, configured or not: the keys a cursor of its lists may hold."""
    return tuple(upstream.name for upstream in upstreams.all() if upstream.spec.serves(kind))
