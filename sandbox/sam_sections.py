"""`includeSections`: which parts of each award record an answer carries.

Sections are contractId, coreData, awardDetails, awardeeData and nasaSpecific (the doc's older names `contract` and
`entityInformation` are accepted for awardDetails and awardeeData). awardeeData and nasaSpecificData live inside
awardDetails; naming either narrows awardDetails to just those blocks (doc example 4: `contractId,awardDetails,
awardeeData` answers `awardDetails: {awardeeData}`). Without includeSections every section is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox import sam_errors

SECTION_NAMES: Mapping[str, str] = {
    "contractid": "contractId",
    "coredata": "coreData",
    "awarddetails": "awardDetails",
    "contract": "awardDetails",
    "awardeedata": "awardeeData",
    "entityinformation": "awardeeData",
    "nasaspecific": "nasaSpecific",
    "nasaspecificdata": "nasaSpecific",
}
AWARD_DETAIL_BLOCKS: Mapping[str, str] = {"awardeeData": "awardeeData", "nasaSpecific": "nasaSpecificData"}


def parse_sections(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    sections: set[str] = set()
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in SECTION_NAMES:
            raise sam_errors.unknown_section(name)
        sections.add(SECTION_NAMES[name.lower()])
    return frozenset(sections)


def select_sections(document: Mapping[str, Any], sections: frozenset[str] | None) -> dict[str, Any]:
    if sections is None:
        return dict(document)
    selected: dict[str, Any] = {}
    if "contractId" in sections:
        for key in ("contractId", "oldContractId"):
            if key in document:
                selected[key] = document[key]
    if "coreData" in sections and "coreData" in document:
        selected["coreData"] = document["coreData"]
    details = document.get("awardDetails")
    if isinstance(details, Mapping):
        blocks = [block for section, block in AWARD_DETAIL_BLOCKS.items() if section in sections]
        if blocks:
            narrowed = {block: details[block] for block in blocks if block in details}
            if narrowed:
                selected["awardDetails"] = narrowed
        elif "awardDetails" in sections:
            selected["awardDetails"] = details
    return selected
