"""UK Contracts Finder, declared (stdlib and domain types only): a mirror of its OCDS Search API.

`GATEWAY_CONTRACTSFINDER_URL` is the site (`https://www.contractsfinder.service.gov.uk/`): the search is
`Published/Notices/OCDS/Search` on it. No key is needed. Pace, windows, backfill and retention:
`GATEWAY_CONTRACTSFINDER_*`.
"""

from __future__ import annotations

from gateway.upstreams.ocds.coverage import description
from gateway.upstreams.spec import RecordKind, UpstreamSpec

OGL = "Open Government Licence v3.0 (https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)"
OGL_ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
# What every UK OCDS mirror answers in SQL on its store (criteria not listed exclude it from a query).
LEAD_CRITERIA = frozenset({"keywords", "sources", "countries", "published", "ends"})
TENDER_CRITERIA = frozenset({"keywords", "sources", "closing", "buyer"})
CONTRACT_CRITERIA = frozenset({"keywords", "sources", "piid", "agency_name", "supplier_name", "awarded", "value"})

SPEC = UpstreamSpec(
    name="contractsfinder",
    title="UK Contracts Finder",
    description=description("UK Contracts Finder"),
    docs_url="https://www.contractsfinder.service.gov.uk/apidocumentation/Notices/1/GET-Published-Notice-OCDS-Search",
    licence=OGL,
    attribution=OGL_ATTRIBUTION,
    client="gateway.upstreams.contractsfinder.adapter:ContractsFinderClient",
    mirror="gateway.upstreams.contractsfinder.adapter:open_contractsfinder_mirror",
    kinds=frozenset({RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}),
    criteria={
        # Countries: every lead is in the United Kingdom (GB). ITA's industries and regions are its own taxonomy.
        RecordKind.LEAD: LEAD_CRITERIA,
        RecordKind.TENDER: TENDER_CRITERIA,
        # PIID: the award id or the id of its signed contract; agency: a part of the buyer's name.
        RecordKind.CONTRACT: CONTRACT_CRITERIA,
    },
    # Answers come from the local store, which changes when a refresh writes a window.
    default_ttl_s={RecordKind.LEAD: 60, RecordKind.TENDER: 60, RecordKind.CONTRACT: 60},
    call_cost=0,  # a query reads the local store: it makes no call to Contracts Finder
    lead_codes=frozenset({"UK"}),
)
