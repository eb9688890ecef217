"""UK Find a Tender, declared (stdlib and domain types only): a mirror of its OCDS release packages API.

`GATEWAY_FINDATENDER_URL` is the site (`https://www.find-tender.service.gov.uk/`): the packages are
`api/1.0/ocdsReleasePackages` on it. No key is needed. Pace, windows, backfill and retention:
`GATEWAY_FINDATENDER_*`.
"""

from __future__ import annotations

from gateway.upstreams.contractsfinder.spec import (
    CONTRACT_CRITERIA,
    LEAD_CRITERIA,
    OGL,
    OGL_ATTRIBUTION,
    TENDER_CRITERIA,
)
from gateway.upstreams.ocds.coverage import description
from gateway.upstreams.spec import RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="findatender",
    title="UK Find a Tender",
    description=description("UK Find a Tender"),
    docs_url="https://www.find-tender.service.gov.uk/apidocumentation/1.0/GET-ocdsReleasePackages",
    licence=OGL,
    attribution=OGL_ATTRIBUTION,
    client="gateway.upstreams.findatender.adapter:FindATenderClient",
    mirror="gateway.upstreams.findatender.adapter:open_findatender_mirror",
    kinds=frozenset({RecordKind.LEAD, RecordKind.TENDER, RecordKind.CONTRACT}),
    criteria={
        RecordKind.LEAD: LEAD_CRITERIA,
        RecordKind.TENDER: TENDER_CRITERIA,
        RecordKind.CONTRACT: CONTRACT_CRITERIA,
    },
    default_ttl_s={RecordKind.LEAD: 60, RecordKind.TENDER: 60, RecordKind.CONTRACT: 60},
    call_cost=0,  # a query reads the local store: it makes no call to Find a Tender
    lead_codes=frozenset({"UK"}),
)
