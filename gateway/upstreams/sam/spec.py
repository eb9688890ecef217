"""SAM.gov Contract Awards v1, declared (stdlib and domain types only)."""

from __future__ import annotations

from gateway.upstreams.spec import CredentialSpec, RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="sam",
    title="SAM.gov Contract Awards API v1",
    description="SAM.gov Contract Awards API v1 (US federal contract awards and award families)",
    docs_url="https://open.gsa.gov/api/contract-awards/",
    licence="U.S. Government work (public domain); some awardee fields are D&B data with use limitations",
    attribution="Contract award data from SAM.gov, U.S. General Services Administration",
    client="gateway.upstreams.sam.adapter:ContractAwardsClient",
    kinds=frozenset({RecordKind.CONTRACT, RecordKind.AWARD_FAMILY}),
    criteria={
        # Every ContractQuery field but `gsins` (Canadian goods and services codes, which SAM records do not carry).
        RecordKind.CONTRACT: frozenset(
            {
                "keywords",
                "sources",
                "piid",
                "modification_number",
                "referenced_idv_piid",
                "naics",
                "product_or_service",
                "agency_code",
                "agency_name",
                "supplier_name",
                "supplier_uei",
                "awarded",
                "value",
                "fiscal_year",
                "award_or_idv",
                "place_of_performance_state",
            }
        ),
        RecordKind.AWARD_FAMILY: frozenset({"piid", "referenced_idv_piid"}),
    },
    default_ttl_s={RecordKind.CONTRACT: 60 * 60, RecordKind.AWARD_FAMILY: 6 * 60 * 60},
    # One key and one daily quota for every SAM.gov API (Contract Awards, Opportunities).
    credential=CredentialSpec(name="sam", sent_as="query", parameter="api_key", default_daily_quota=1000),
)
