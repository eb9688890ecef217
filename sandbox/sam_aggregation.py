"""`piidAggregation=yes`: the award family summary of one PIID, plus its referencing orders when it is an IDV.

awardFamilySummary counts the family's records (base + modifications) and sums their obligations. A non-FSS IDV
adds referencingDosOrBpaCallsSummary (orders or BPA calls referencing it); an FSS adds bpaSummary (BPAs referencing
it) and bpaCallSummary (calls referencing those BPAs). Blocks that do not apply are absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox import sam_errors
from sandbox.sam_data import FamilyKey, SamDataset
from sandbox.sam_document import money
from sandbox.sam_filters import Condition


def family_for(dataset: SamDataset, piid: Condition | None, referenced: Condition | None) -> FamilyKey | None:
    """The one family the request names; 400 without a piid or when the piid is shared by several families."""
    if piid is None or piid.negated or piid.null:
        raise sam_errors.aggregation_without_piid()
    keys = [key for text in piid.texts for key in dataset.families_by_piid.get(text, ())]
    if referenced is not None and not referenced.negated:
        keys = [key for key in keys if key[1].upper() in referenced.texts or (referenced.null and not key[1])]
    if len(keys) > 1:
        raise sam_errors.aggregation_piid_not_unique()
    return keys[0] if keys else None


def _summary(dataset: SamDataset, keys: Iterable[FamilyKey]) -> dict[str, str]:
    families = [dataset.families[key] for key in keys]
    return {
        "baseCount": str(sum(family.base_count for family in families)),
        "totalCount": str(sum(family.count for family in families)),
        "totalDollars": money(sum(family.cents for family in families)),
    }


def piid_aggregation(dataset: SamDataset, key: FamilyKey) -> dict[str, Any]:
    if key in dataset.recorded_aggregations:
        return dict(dataset.recorded_aggregations[key])
    family = dataset.families[key]
    answer: dict[str, Any] = {"awardFamilySummary": {"count": str(family.count), "totalDollars": money(family.cents)}}
    children = dataset.referencing.get(key, ())
    if family.is_fss:
        answer["bpaSummary"] = _summary(dataset, children)
        calls = [call for bpa in children for call in dataset.referencing.get(bpa, ())]
        answer["bpaCallSummary"] = _summary(dataset, calls)
    elif family.is_idv:
        answer["referencingDosOrBpaCallsSummary"] = _summary(dataset, children)
    return answer
