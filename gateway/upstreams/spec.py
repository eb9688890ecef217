"""What declares an upstream: one `UpstreamSpec` per adapter, stdlib and domain types only.

Everything the gateway needs to know about an upstream besides its wire format lives in its spec: settings
(`GATEWAY_<NAME>_URL`, `GATEWAY_<NAME>_TTL_<KIND>_S`, and per credential `GATEWAY_<CREDENTIAL>_API_KEY` and
`GATEWAY_<CREDENTIAL>_DAILY_QUOTA`), the client the registry opens, the `sources` field, the query costs and which
sources a query may ask are all derived from the list of specs in `gateway.upstreams.catalog`.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from gateway.models import ContractQuery, LeadQuery, TenderQuery

_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
UNANSWERABLE_MEMO_SIZE = 256  # per spec: the (kind, criteria set) pairs whose unanswerable ones are remembered


class RecordKind(Enum):
    """The kinds of record the gateway serves; each upstream serves one or more of them."""

    LEAD = "lead"
    TENDER = "tender"
    CONTRACT = "contract"
    AWARD_FAMILY = "award_family"

    @property
    def setting_stem(self) -> str:
        return self.value.upper()


Query = LeadQuery | TenderQuery | ContractQuery


@dataclass(frozen=True)
class CredentialSpec:
    """A key an upstream is called with. Several upstreams may share one (SAM's APIs share one key and its quota).

    `sent_as` says where the transport puts it: a query parameter or a header named `parameter`.
    """

    name: str
    sent_as: Literal["query", "header"]
    parameter: str
    default_daily_quota: int = 0  # calls per UTC day the gateway allows itself with this key; 0 = no quota


@dataclass(frozen=True)
class UpstreamSpec:
    """One upstream, declared.

    `criteria` names, per record kind, the fields of that kind's query (`LeadQuery`, `TenderQuery`, `ContractQuery`)
    the upstream can answer; a query that sets any other field is not sent to it (it could only return non-matches).
    `call_cost` is what one call to it counts in a query's estimated cost. `client` is the dotted path
    (`package.module:Class`) of its client class, which the registry opens with `(spec, fetch)`.

    A source that publishes files rather than a query API is a mirror: `mirror` is the dotted path
    (`package.module:function`) of the function that opens it (`gateway.upstreams.mirror.opening.MirrorOpener`), and
    the registry opens its client with `(spec, mirror)`. `succeeds` names the `retired` upstreams whose records this
    one serves today: while it is configured, they are asked for the kinds it serves only when a query names them (in
    `sources`), since both would answer the same records.
    """

    name: str
    title: str
    description: str
    docs_url: str
    licence: str
    attribution: str
    client: str
    kinds: frozenset[RecordKind]
    criteria: Mapping[RecordKind, frozenset[str]]
    default_ttl_s: Mapping[RecordKind, int]
    credential: CredentialSpec | None = None
    call_cost: int = 1
    retired: bool = False  # the public service is gone; kept for any compatible service
    mirror: str | None = None  # "package.module:function" opening the mirror of a source of files; None: an API
    succeeds: frozenset[str] = frozenset()  # retired upstreams whose records this one serves today
    # ITA lead source codes (`LeadQuery.sources`) whose leads this upstream serves today, as their successor
    lead_codes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"upstream name {self.name!r} must match {_NAME.pattern}")
        if set(self.criteria) - self.kinds or set(self.default_ttl_s) != self.kinds:
            raise ValueError(f"upstream {self.name}: criteria and TTLs must cover exactly its kinds")
        if ":" not in self.client:
            raise ValueError(f"upstream {self.name}: client must be 'package.module:Class'")
        if self.lead_codes and RecordKind.LEAD not in self.kinds:
            raise ValueError(f"upstream {self.name}: lead_codes needs the lead kind")
        if self.mirror is not None and ":" not in self.mirror:
            raise ValueError(f"upstream {self.name}: mirror must be 'package.module:function'")

    def serves(self, kind: RecordKind) -> bool:
        return kind in self.kinds

    def unanswerable(self, kind: RecordKind, query: Query) -> tuple[str, ...]:
        """The criteria set in `query` that this upstream cannot answer for `kind` (empty: it can answer it)."""
        return self.cannot_answer(kind, criteria_set(query))

    def cannot_answer(self, kind: RecordKind, criteria: tuple[str, ...]) -> tuple[str, ...]:
        """Those of `criteria` (names of fields of `kind`'s query, as `criteria_set` gives them) this upstream cannot
        answer for `kind`, in their order; remembered per spec (the last `UNANSWERABLE_MEMO_SIZE` pairs)."""
        remembered = self._cannot_answer
        key = (kind, criteria)
        found = remembered.get(key)
        if found is None:
            answerable = self.criteria.get(kind, frozenset())
            found = tuple(name for name in criteria if name not in answerable)
            if len(remembered) >= UNANSWERABLE_MEMO_SIZE:
                del remembered[next(iter(remembered))]
            remembered[key] = found
        return found

    @functools.cached_property
    def _cannot_answer(self) -> dict[tuple[RecordKind, tuple[str, ...]], tuple[str, ...]]:
        return {}


def criteria_set(query: Query) -> tuple[str, ...]:
    """The fields `query` sets (neither empty nor at their default), in the order of its fields."""
    fields = _FIELDS.get(type(query)) or _FIELDS.setdefault(type(query), _QueryFields.of(type(query)))
    values = fields.values_of(query)
    if values == fields.default_values:  # nothing set (the most common query by far)
        return ()
    return tuple(
        name for (name, default), value in zip(fields.defaults, values, strict=True) if _is_set(value, default)
    )


@dataclass(frozen=True)
class _QueryFields:
    """The values of a query's fields in one call, and each field's name and default (worked out once per type)."""

    values_of: Callable[[object], tuple[object, ...]]
    defaults: tuple[tuple[str, object], ...]
    default_values: tuple[object, ...]

    @classmethod
    def of(cls, query_type: type) -> _QueryFields:
        fields = dataclasses.fields(query_type)
        getter = operator.attrgetter(*(field.name for field in fields))
        values_of = getter if len(fields) > 1 else lambda query: (getter(query),)
        defaults = tuple((field.name, field.default) for field in fields)
        return cls(values_of, defaults, tuple(default for _, default in defaults))


_FIELDS: dict[type, _QueryFields] = {}


def _is_set(value: object, default: object) -> bool:
    if value in (None, "", ()):
        return False
    return value != default or default is dataclasses.MISSING
