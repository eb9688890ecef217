"""Which upstreams a query asks: the configured ones serving its record kind that can answer every criterion it sets.

A source that cannot answer a criterion (its spec's `unanswerable`) could only return non-matches, so it is not asked.
A query may name the sources to ask (`sources`: upstream names for tenders; for contracts a `ContractSource` value,
lower-cased, is the name of its upstream); when it names none, every configured source serving the kind is asked but a
retired one whose successor serves the kind (a configured upstream declaring it in `succeeds`): both would answer the
same records, so the retired one is asked only when named.

Which sources a query asks depends only on the specs of the upstreams serving its kind, the sources it names and the
criteria it sets: that is worked out once and remembered (`ServingMemo`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.models import ContractQuery, ContractSource, TenderQuery
from gateway.upstreams.spec import Query, RecordKind, UpstreamSpec, criteria_set
from resolvers.context import RegisteredUpstream, UpstreamRegistry

T = TypeVar("T")
MEMO_SIZE = 256  # per memo: the (serving specs, query shape) pairs remembered


@dataclass(frozen=True)
class _Remembered(Generic[T]):
    specs: tuple[UpstreamSpec, ...]  # held, so that no other spec takes their ids while remembered
    value: T


class ServingMemo(Generic[T]):
    """What is worked out from the specs of some upstreams (those serving a kind, or every declared one: an upstream
    is named by its spec) and from a hashable `shape` of the query, remembered: the last `size`. The specs are keyed
    by identity and held."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._size = size
        self._remembered: OrderedDict[tuple[Hashable, ...], _Remembered[T]] = OrderedDict()

    def get(self, serving: tuple[RegisteredUpstream, ...], shape: Hashable, work: Callable[[], T]) -> T:
        """`work()` (which reads only the specs of `serving` and `shape`), or what it gave before; an exception it
        raises is not remembered."""
        specs = tuple(upstream.spec for upstream in serving)
        key = (tuple(map(id, specs)), shape)
        found = self._remembered.get(key)
        if found is not None:
            self._remembered.move_to_end(key)
            return found.value
        value = work()
        self._remembered[key] = _Remembered(specs, value)
        if len(self._remembered) > self._size:
            self._remembered.popitem(last=False)
        return value

    def clear(self) -> None:
        self._remembered.clear()


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
    return _asked_by_default(upstreams.serving(kind))


def _asked_by_default(serving: tuple[RegisteredUpstream, ...]) -> tuple[RegisteredUpstream, ...]:
    succeeded = {name for upstream in serving for name in upstream.spec.succeeds}
    return tuple(upstream for upstream in serving if not (upstream.spec.retired and upstream.name in succeeded))


_asked: ServingMemo[tuple[int, ...]] = ServingMemo()


def sources_to_ask(upstreams: UpstreamRegistry, kind: RecordKind, query: Query) -> tuple[RegisteredUpstream, ...]:
    """In the order the query names them; else in catalog order, contracts in `ContractSource` order (SAM first, the
    first is merged first on ties)."""
    serving = upstreams.serving(kind)
    named, criteria, is_contract = named_sources(query), _criteria(query), isinstance(query, ContractQuery)
    asked = _asked.get(
        serving,
        (kind, named, criteria, is_contract),
        lambda: _sources_to_ask(serving, kind, named, criteria, is_contract),
    )
    return tuple(serving[position] for position in asked)


def _sources_to_ask(
    serving: tuple[RegisteredUpstream, ...],
    kind: RecordKind,
    named: tuple[str, ...],
    criteria: tuple[str, ...],
    is_contract: bool,
) -> tuple[int, ...]:
    """The positions in `serving` of the sources to ask, in the order they are asked."""
    if named:
        candidates = sorted((u for u in serving if u.name in named), key=lambda u: named.index(u.name))
    else:
        candidates = list(_asked_by_default(serving))
        if is_contract:
            order = [upstream_name(source) for source in ContractSource]
            candidates.sort(key=lambda u: order.index(u.name) if u.name in order else len(order))
    position = {id(upstream): at for at, upstream in enumerate(serving)}
    return tuple(position[id(u)] for u in candidates if not u.spec.cannot_answer(kind, criteria))


def _criteria(query: Query) -> tuple[str, ...]:
    """The criteria the query sets but the choice of sources (which is no criterion an upstream answers)."""
    criteria = criteria_set(query)
    if isinstance(query, ContractQuery | TenderQuery) and query.sources:
        return tuple(name for name in criteria if name != "sources")
    return criteria


def check_contract_query(upstreams: UpstreamRegistry, query: ContractQuery, *, limit: int) -> None:
    """BAD_USER_INPUT for a query any source to be asked would refuse, before any upstream is asked."""
    for upstream in sources_to_ask(upstreams, RecordKind.CONTRACT, query):
        upstreams.contracts(upstream.name).check_contract_query(query, limit=limit)


_declared: ServingMemo[tuple[str, ...]] = ServingMemo()


def declared_names(upstreams: UpstreamRegistry, kind: RecordKind) -> tuple[str, ...]:
    """Every declared upstream serving `kind`, configured or not: the keys a cursor of its lists may hold."""
    declared = upstreams.all()
    return _declared.get(
        declared, kind, lambda: tuple(upstream.name for upstream in declared if upstream.spec.serves(kind))
    )
