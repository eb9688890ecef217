"""ITA Trade Leads v2, declared (stdlib and domain types only)."""

from __future__ import annotations

from gateway.upstreams.spec import CredentialSpec, RecordKind, UpstreamSpec

SPEC = UpstreamSpec(
    name="ita",
    title="ITA Trade Leads API v2",
    description="ITA Trade Leads API v2 (trade leads)",
    docs_url="https://developer.trade.gov/",
    licence="U.S. Government work (public domain); the API's code is CC0",
    attribution="Trade leads from the International Trade Administration (ITA), U.S. Department of Commerce",
    client="gateway.upstreams.ita.adapter:TradeLeadsClient",
    kinds=frozenset({RecordKind.LEAD}),
    criteria={
        RecordKind.LEAD: frozenset(
            {
                "keywords",
                "sources",
                "countries",
                "industries",
                "trade_regions",
                "world_regions",
                "published",
                "ends",
                "amended",
            }
        ),
    },
    default_ttl_s={RecordKind.LEAD: 15 * 60},
    credential=CredentialSpec(name="ita", sent_as="header", parameter="Api-Key"),
    retired=True,
)
