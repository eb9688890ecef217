"""The cost table handed to the estimator (`schema.cost`), derived from the upstream specs.

Each field that calls upstreams is declared once here with the record kind it asks for and whom it asks: every source
serving the kind (a list: their `call_cost`s add up), or one of them (a lookup by id or PIID: the dearest counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway.upstreams.spec import RecordKind, UpstreamSpec
from schema.cost import CostTable, FieldKey

# Fields that ask every source serving their kind.
ASK_EVERY_SOURCE: Mapping[FieldKey, RecordKind] = {
    ("Query", "leads"): RecordKind.LEAD,
    ("Query", "tenders"): RecordKind.TENDER,
    ("Query", "contracts"): RecordKind.CONTRACT,
    # One entry of `sources` per upstream: each serving leads asks its own.
    ("SourceStatus", "leadSources"): RecordKind.LEAD,
}
# Fields that ask one source of one of their kinds (the one an id names, or the first serving the kind).
ASK_ONE_SOURCE: Mapping[FieldKey, frozenset[RecordKind]] = {
    ("Query", "lead"): frozenset({RecordKind.LEAD}),
    ("Query", "tender"): frozenset({RecordKind.TENDER}),
    ("Query", "contract"): frozenset({RecordKind.CONTRACT}),
    ("Query", "node"): frozenset({RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}),
    ("Query", "awardFamily"): frozenset({RecordKind.AWARD_FAMILY}),
    ("Contract", "awardFamily"): frozenset({RecordKind.AWARD_FAMILY}),
}
# Fields that ask, per field selected under them, every source of that field's kind.
ASK_BY_SELECTED_FIELD: Mapping[FieldKey, Mapping[str, RecordKind]] = {
    ("Query", "searchByKind"): {
        "leads": RecordKind.LEAD,
        "tenders": RecordKind.TENDER,
        "contracts": RecordKind.CONTRACT,
    },
}
# Fields that ask every source of several kinds (`search`: one connection over leads, tenders and contracts).
ASK_EVERY_SOURCE_OF_KINDS: Mapping[FieldKey, tuple[RecordKind, ...]] = {
    ("Query", "search"): (RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT),
}


def _every_source(specs: Sequence[UpstreamSpec], kind: RecordKind) -> int:
    return sum(spec.call_cost for spec in specs if spec.serves(kind))


def _one_source(specs: Sequence[UpstreamSpec], kinds: frozenset[RecordKind]) -> int:
    return max((spec.call_cost for spec in specs if spec.kinds & kinds), default=0)


def cost_table(specs: Sequence[UpstreamSpec]) -> CostTable:
    calls = {key: _every_source(specs, kind) for key, kind in ASK_EVERY_SOURCE.items()}
    calls |= {key: _one_source(specs, kinds) for key, kinds in ASK_ONE_SOURCE.items()}
    calls |= {
        key: sum(_every_source(specs, kind) for kind in kinds) for key, kinds in ASK_EVERY_SOURCE_OF_KINDS.items()
    }
    by_selected = {
        key: {name: _every_source(specs, kind) for name, kind in kinds.items()}
        for key, kinds in ASK_BY_SELECTED_FIELD.items()
    }
    return CostTable(
        calls={key: count for key, count in calls.items() if count},
        calls_by_selected_field={key: {n: c for n, c in by_name.items() if c} for key, by_name in by_selected.items()},
    )
