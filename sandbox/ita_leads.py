"""The record model of the ITA imitation: sources, each source's fixed field order (§1.5 of UPSTREAMS.md), a lead.

A lead is a compact tuple of its values in the source's field order, so that the dataset stays small at scale 40
and a lead renders to the upstream's JSON object without any reshaping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

SOURCES: tuple[str, ...] = ("AUSTRALIA", "CANADA", "FBO", "STATE", "UK", "MCA", "USTDA")

FIELDS: dict[str, tuple[str, ...]] = {
    "AUSTRALIA": (
        "agency",
        "contract_value",
        "description",
        "parent_id",
        "procurement_method",
        "publish_date_amended",
        "status",
        "industry",
        "ita_industries",
        "project_number",
        "publish_date",
        "start_date",
        "end_date",
        "country",
        "country_name",
        "url",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "CANADA": (
        "country",
        "country_name",
        "title",
        "reference_number",
        "contract_number",
        "publish_date",
        "end_date",
        "publish_date_amended",
        "status",
        "industry",
        "ita_industries",
        "specific_location",
        "notice_type",
        "trade_agreement",
        "bid_type",
        "competitive_procurement_strategy",
        "non_competitive_procurement_strategy",
        "procurement_organization",
        "implementing_entity",
        "description",
        "contact",
        "urls",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "FBO": (
        "notice_type",
        "publish_date",
        "procurement_organization",
        "procurement_office",
        "procurement_organization_address",
        "classification_code",
        "industry",
        "ita_industries",
        "procurement_office_address",
        "title",
        "contract_number",
        "end_date",
        "contact",
        "description",
        "competitive_procurement_strategy",
        "url",
        "country",
        "country_name",
        "specific_address",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "STATE": (
        "lead_source",
        "country",
        "country_name",
        "specific_location",
        "title",
        "project_number",
        "industry",
        "ita_industries",
        "project_size",
        "description",
        "tags",
        "publish_date",
        "end_date",
        "funding_source",
        "borrowing_entity",
        "procurement_organization",
        "contact",
        "comments",
        "submitting_officer",
        "submitting_officer_contact",
        "url",
        "status",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "UK": (
        "country",
        "country_name",
        "reference_number",
        "publish_date",
        "min_contract_value",
        "max_contract_value",
        "status",
        "url",
        "procurement_organization",
        "contact",
        "title",
        "description",
        "notice_type",
        "industry",
        "ita_industries",
        "specific_location",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "MCA": (
        "country",
        "country_name",
        "publish_date",
        "url",
        "categories",
        "title",
        "description",
        "funding_source",
        "source",
        "trade_regions",
        "world_regions",
    ),
    "USTDA": (
        "title",
        "publish_date",
        "end_date",
        "description",
        "url",
        "source",
        "country",
        "country_name",
        "trade_regions",
        "world_regions",
    ),
}
FIELD_POSITIONS: dict[str, dict[str, int]] = {
    source: {name: position for position, name in enumerate(names)} for source, names in FIELDS.items()
}

# A field value as upstream renders it: strings, STATE's integer project_size, lists (as tuples), or null.
FieldValue = str | int | tuple[str, ...] | None


class Lead(NamedTuple):
    id: str
    source: str
    values: tuple[FieldValue, ...]

    def get(self, field: str) -> FieldValue:
        position = FIELD_POSITIONS[self.source].get(field)
        return None if position is None else self.values[position]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **dict(zip(FIELDS[self.source], self.values, strict=True))}


class SourceMetadata(NamedTuple):
    """A source's `sources_used` entry after `source`: strings, '' when never imported."""

    source_last_updated: str
    last_imported: str
    import_rate: str


class LeadSet(NamedTuple):
    leads: tuple[Lead, ...]
    metadata: dict[str, SourceMetadata]


def iso_timestamp(moment: datetime) -> str:
    """ActiveSupport 4.0's JSON time format: `2017-01-23T17:01:02+00:00` (UTC, seconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
