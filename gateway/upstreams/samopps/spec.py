"""SAM.gov Contract Opportunities, declared (stdlib and domain types only): a mirror, never asked per user query.

The key-free daily CSV extract (all current notices, with their full descriptions) is the primary path and is always
on; with a key whose daily quota allows it, API pulls of the day's postings keep the index current between extracts,
within their share of the key's quota (the key, and so its quota, is the one the Contract Awards upstream `sam` uses).
Every filter below is answered in SQL on the local index.

Notice types: Solicitation, Combined Synopsis/Solicitation, Presolicitation, Sources Sought and Special Notice are
served as tenders and as `FBO` leads (SAM.gov is the successor of FedBizOpps); Award Notices as contracts
(`ContractSource.SAMOPPS`, the award number as PIID). Other types (Justification, Sale of Surplus Property, Intent to
Bundle) are not served.

Fields this source leaves null (it does not publish them):
- Lead: `trade_regions`, `world_regions`, `ita_industries`, `categories`, `tags`, `publish_date_amended`,
  `start_date`, `project_number`, `procurement_method`, `funding_source`, `borrowing_entity`, `min_value`,
  `max_value`, `project_size`; `contract_value` and `contract_number` (open notices carry no award); `description`
  for a notice known only from an API pull until the next extract carries it (the API gives a link that costs a call
  per notice, which the gateway never follows). `industries` holds the notice's NAICS code (as ITA's FBO leads did).
- Tender: `gsins`, `delivery_regions`, `opportunity_regions`, and in `notice` the CanadaBuys-only fields (amendment,
  amended, procurement method, selection criteria, limited tendering reason, procurement categories, trade
  agreements, UNSPSCs, end users, contract period, instrument and amendment types).
- Contract: `modification_number`, `referenced_idv_piid`, `total_value`, `expiry_date`, `fiscal_year`,
  `award_type`, `gsins`, `last_modified`; `supplier` has the awardee's name (and from the API its UEI, CAGE code and
  location); the extract gives the awardee's name only.
"""

from __future__ import annotations

from gateway.upstreams.sam.spec import SPEC as SAM
from gateway.upstreams.spec import RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="samopps",
    title="SAM.gov Contract Opportunities",
    description=(
        "SAM.gov Contract Opportunities (US federal notices, the successor of FedBizOpps): open notices as tenders "
        "and FBO leads, award notices as contracts; mirrored locally from the daily public extract, kept current "
        "by API pulls of the day's postings when the SAM key allows them. Null for this source: Lead trade_regions, "
        "world_regions, ita_industries, categories, tags, publish_date_amended, start_date, project_number, "
        "procurement_method, funding_source, borrowing_entity, min/max_value, project_size; Tender gsins and regions; "
        "Contract modification_number, referenced_idv_piid, total_value, expiry_date, fiscal_year, award_type."
    ),
    docs_url="https://open.gsa.gov/api/get-opportunities-public-api/",
    licence="U.S. Government work (public domain)",
    attribution="Contract opportunity data from SAM.gov, U.S. General Services Administration",
    client="gateway.upstreams.samopps.adapter:SamOpportunitiesClient",
    mirror="gateway.upstreams.samopps.adapter:open_samopps_mirror",
    kinds=frozenset({RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}),
    criteria={
        # Countries: the place of performance's (ISO 3166-1 alpha-2). `ends`: the response deadline (else the archive
        # date). ITA's industries and trade/world regions are ITA's own taxonomy, which SAM does not use.
        RecordKind.LEAD: frozenset({"keywords", "sources", "countries", "published", "ends"}),
        # Buyer: a part of the organisation path (department, sub-tier, office). Notice types: SAM's type names.
        RecordKind.TENDER: frozenset({"keywords", "sources", "closing", "buyer", "notice_types"}),
        # Award notices: the award number is the PIID; agencies by a part of their organisation path.
        RecordKind.CONTRACT: frozenset(
            {
                "keywords",
                "sources",
                "piid",
                "naics",
                "product_or_service",
                "agency_name",
                "supplier_name",
                "supplier_uei",
                "awarded",
                "value",
                "place_of_performance_state",
            }
        ),
    },
    # Answers come from the local index, which changes only when a refresh or a pull writes to it.
    default_ttl_s={RecordKind.LEAD: 60, RecordKind.TENDER: 60, RecordKind.CONTRACT: 60},
    credential=SAM.credential,  # the same key and daily quota as Contract Awards (the quota guard splits it)
    call_cost=0,  # a query reads the local index: it makes no call to SAM.gov
    lead_codes=frozenset({"FBO"}),
)
