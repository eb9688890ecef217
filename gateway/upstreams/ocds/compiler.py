"""Releases compiled into one compiled release per contracting process (`ocid`), with `ocdsmerge` and the OCDS 1.1.5
release schema shipped in this package (`schema/1.1.5/release-schema.json`, Apache-2.0, its licence beside it).

The merge rules are derived once from the shipped schema (a dict: nothing is fetched, ever). Releases are merged in
the order of their `date` read as moments: publishers mix `Z` and `+01:00`, which ordering as text gets wrong.
`ocdsmerge` (and the `requests` stack it imports) is loaded by the first compilation, not by importing this module:
a gateway with no OCDS upstream configured never loads it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_VERSION = "1.1.5"
SCHEMA_ID = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
_OLDEST = datetime.min.replace(tzinfo=UTC)

Release = dict[str, Any]


class CompileError(Exception):
    """The releases of one process cannot be merged (a field that is an object in one release, a list in another)."""


@cache
def release_schema() -> Mapping[str, Any]:
    """The shipped OCDS 1.1.5 release schema (read once)."""
    text = resources.files("gateway.upstreams.ocds").joinpath("schema", SCHEMA_VERSION, "release-schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    if schema.get("id") != SCHEMA_ID:
        raise RuntimeError(f"the shipped release schema is not OCDS {SCHEMA_VERSION}")
    return schema


@cache
def merge_rules() -> Mapping[tuple[str, ...], str]:
    """ocdsmerge's rules (omitted fields, lists merged whole) from the shipped schema, given as a dict."""
    from ocdsmerge.rules import get_merge_rules  # noqa: PLC0415  # see the module doc

    rules: dict[tuple[str, ...], str] = get_merge_rules(json.loads(json.dumps(release_schema())))
    return rules


def moment(value: object) -> datetime | None:
    """An OCDS date-time as a moment (a time without an offset is read as UTC); None when it is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def release_order(release: Mapping[str, Any]) -> tuple[datetime, str]:
    """Oldest first by `date` as a moment; releases of one moment by id."""
    return (moment(release.get("date")) or _OLDEST, str(release.get("id", "")))


def compile_releases(releases: Iterable[Mapping[str, Any]]) -> Release:
    """The compiled release of one process's releases (in any order); CompileError when they cannot be merged."""
    from ocdsmerge import CompiledRelease  # noqa: PLC0415  # see the module doc
    from ocdsmerge.exceptions import DuplicateIdValueWarning, OCDSMergeError  # noqa: PLC0415

    ordered = sorted(releases, key=release_order)
    if not ordered:
        raise CompileError("no release to compile")
    compiled = CompiledRelease(merge_rules=dict(merge_rules()))
    try:
        with warnings.catch_warnings():
            # Two objects of one list sharing an `id` are merged into one, as OCDS says; nothing to report.
            warnings.simplefilter("ignore", DuplicateIdValueWarning)
            for release in ordered:
                compiled.append(dict(release))
            result: Release = compiled.asdict()
    except (OCDSMergeError, TypeError, ValueError, KeyError, AttributeError) as failure:
        # The library's message quotes the values it met (a contact's e-mail, say): only its kind is kept.
        raise CompileError(type(failure).__name__) from None
    return result
