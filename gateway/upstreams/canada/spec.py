"""The Canadian procurement data API (tenders and contract history), declared (stdlib and domain types only)."""

from __future__ import annotations

from gateway.upstreams.spec import RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="canada",
    title="Canadian procurement data API",
    description="Canadian procurement data API (tender notices and contract history)",
    docs_url="https://buyandsell.gc.ca/procurement-data",
    licence="Open Government Licence - Canada (http://data.gc.ca/eng/open-government-licence-canada)",
    attribution="Contains information licensed under the Open Government Licence - Canada",
    client="gateway.upstreams.canada.adapter:CanadaClient",
    kinds=frozenset({RecordKind.TENDER, RecordKind.CONTRACT}),
    criteria={
        RecordKind.TENDER: frozenset({"keywords", "gsins", "delivery_regions", "opportunity_regions", "closing"}),
        # Contract history rows carry a contract number (read as the PIID), GSINs, buyer, supplier, date and value.
        RecordKind.CONTRACT: frozenset(
            {"keywords", "sources", "piid", "gsins", "agency_name", "supplier_name", "awarded", "value"}
        ),
    },
    default_ttl_s={RecordKind.TENDER: 15 * 60, RecordKind.CONTRACT: 60 * 60},
    retired=True,
)
