"""CanadaBuys open data, declared (stdlib and domain types only): a mirror of the CSV files CanadaBuys publishes.

It serves the tenders and contracts the retired Canadian procurement API used to serve (which was itself a server
over downloaded files), from today's files, and as ITA's successor the `CANADA` trade leads (its open tender notices,
`leads.lead_of`: fields CanadaBuys does not publish, such as ITA's trade and world regions and industries, stay
empty). Every filter below is answered in SQL on the local index; a lead's country is always CA and its source CANADA,
so `countries` and `sources` are answered without it.
`GATEWAY_CANADABUYS_URL` is the site (`https://canadabuys.canada.ca/`): the files are under `opendata/pub/` on it.
"""

from __future__ import annotations

from gateway.upstreams.spec import RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="canadabuys",
    title="CanadaBuys open data",
    description="CanadaBuys tender notices, award notices and contract history (CSV files, mirrored locally); its "
    "open tender notices are also the CANADA trade leads",
    docs_url="https://open.canada.ca/data/en/dataset/6abd20d4-7a1c-4b38-baa2-9525d0bb2fd2",
    licence="Open Government Licence \u2013 Canada (https://open.canada.ca/en/open-government-licence-canada)",
    attribution="Contains information licensed under the Open Government Licence \u2013 Canada.",
    client="gateway.upstreams.canadabuys.adapter:CanadaBuysClient",
    mirror="gateway.upstreams.canadabuys.adapter:open_canadabuys_mirror",
    kinds=frozenset({RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}),
    criteria={
        # Not answered: ITA's own taxonomy (industries, trade and world regions) and the amendment date.
        RecordKind.LEAD: frozenset({"keywords", "sources", "countries", "published", "ends"}),
        RecordKind.TENDER: frozenset(
            {
                "keywords",
                "sources",
                "gsins",
                "unspscs",
                "delivery_regions",
                "opportunity_regions",
                "closing",
                "buyer",
                "notice_types",
                "procurement_categories",
                "trade_agreements",
            }
        ),
        # Award notices and contract history: contract numbers are matched as PIIDs, buyers as agency names.
        RecordKind.CONTRACT: frozenset(
            {
                "keywords",
                "sources",
                "piid",
                "gsins",
                "unspscs",
                "agency_name",
                "supplier_name",
                "awarded",
                "value",
                "notice_types",
                "procurement_categories",
                "trade_agreements",
            }
        ),
    },
    # Answers come from the local index, which changes only when a refresh swaps a snapshot in.
    default_ttl_s={RecordKind.LEAD: 60, RecordKind.TENDER: 60, RecordKind.CONTRACT: 60},
    call_cost=0,  # a query reads the local index: it makes no call to CanadaBuys
    succeeds=frozenset({"canada"}),  # the retired Canadian API served the same notices: asked only when named
    lead_codes=frozenset({"CANADA"}),  # ITA's CANADA leads were these federal notices
)
