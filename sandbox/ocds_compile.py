"""Compiled and versioned releases for Find a Tender's record packages (OCDS 1.1 merge, the subset these releases use).

Merge rules (the 1.1 merging page, as ocdsmerge applies them with the 1.1.5 schema): objects merge key by key; in
arrays of objects, an object merges into the earlier one with the same `id` and an object without `id` is added;
any other value (strings, numbers, arrays of strings, the schema's `wholeListMerge` arrays) replaces the earlier one;
`id`, `date` and `tag` of a release are not merged (the compiled release has its own). The versioned release lists,
for each value, every change with the release that made it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

_NOT_MERGED = frozenset({"id", "date", "tag"})
_WHOLE_LIST = frozenset({"additionalIdentifiers", "additionalClassifications"})  # wholeListMerge in the schema


def _objects(key: str, value: object) -> bool:
    """An array merged object by object."""
    return (
        key not in _WHOLE_LIST
        and isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _merge(target: dict[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in source.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            earlier = target.get(key)
            target[key] = _merge(earlier if isinstance(earlier, dict) else {}, value)
        elif _objects(key, value):
            earlier = target.get(key)
            items: list[dict[str, Any]] = earlier if isinstance(earlier, list) and _objects(key, earlier) else []
            for item in value:
                same = next((known for known in items if "id" in item and known.get("id") == item["id"]), None)
                if same is None:
                    items.append(_merge({}, item))
                else:
                    _merge(same, item)
            target[key] = items
        else:
            target[key] = copy.deepcopy(value)
    return target


def compiled_release(releases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The releases (oldest first) of one ocid merged into one."""
    merged: dict[str, Any] = {}
    for release in releases:
        _merge(merged, {k: v for k, v in release.items() if k not in _NOT_MERGED})
    last = releases[-1]
    return {"tag": ["compiled"], "id": f"{last['ocid']}-{last['date']}", "date": last["date"], **merged}


def _versions(target: dict[str, Any], source: Mapping[str, Any], origin: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping):
            _versions(target.setdefault(key, {}), value, origin)
        elif _objects(key, value):
            entries: list[dict[str, Any]] = target.setdefault(key, [])
            for item in value:
                entry = next((known for known in entries if "id" in item and known.get("id") == item["id"]), None)
                if entry is None:
                    entry = {"id": item["id"]} if "id" in item else {}
                    entries.append(entry)
                _versions(entry, {k: v for k, v in item.items() if k != "id"}, origin)
        else:
            history: list[dict[str, Any]] = target.setdefault(key, [])
            if not history or history[-1]["value"] != value:
                history.append({**origin, "value": copy.deepcopy(value)})


def versioned_release(releases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    versioned: dict[str, Any] = {"ocid": releases[0]["ocid"]}
    for release in releases:
        origin = {"releaseID": release["id"], "releaseDate": release["date"], "releaseTag": release["tag"]}
        _versions(versioned, {k: v for k, v in release.items() if k not in _NOT_MERGED | {"ocid"}}, origin)
    return versioned
