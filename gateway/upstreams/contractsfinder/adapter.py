"""Contracts Finder as an OCDS mirror: its publisher declaration, its default pace and windows, its client.

The search (`Published/Notices/OCDS/Search`) is filtered by publication date (`publishedFrom`/`publishedTo`: the
latest edit, or the first publication in the current stage); "too many requests" is HTTP 403, after which it wants
5 minutes of quiet. Its bodies carry mojibake (UTF-8 read as Windows-1252: `â€¯`, `â€™`, `Â£`), repaired when read.
A release id is the notice's id and a serial number (`<uuid>-581847`); the notice is read at `Notice/<uuid>`.
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from typing import Any

from gateway.models import ContractSource
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.ocds.client import OcdsClient
from gateway.upstreams.ocds.mirror import OcdsMirror
from gateway.upstreams.ocds.opening import DAY_S, OcdsOptions, open_ocds_mirror
from gateway.upstreams.ocds.publisher import Publisher

PUBLISHER = Publisher(
    name="contractsfinder",
    search_path="Published/Notices/OCDS/Search",
    from_parameter="publishedFrom",
    to_parameter="publishedTo",
    time_format="%Y-%m-%dT%H:%M:%SZ",
    stages="planning,tender,award,implementation",
    throttled_statuses=frozenset({403, 429, 503}),
    mojibake=True,
    contract_source=ContractSource.CONTRACTSFINDER,
    notice_id=re.compile(r"(?P<notice>[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})(?:-\d+)?"),
    notice_url="https://www.contractsfinder.service.gov.uk/Notice/{notice}",
)
# The settings' defaults (`GATEWAY_CONTRACTSFINDER_*`): one request a second at most, 5 minutes after a 403, daily
# windows (Kingfisher Collect asks for 15 days at once; a day keeps a window's pages few), 30 days at first.
DEFAULTS = OcdsOptions(
    request_interval_s=1.0,
    throttled_wait_s=300.0,
    window_s=DAY_S,
    backfill_days=30,
    refresh_interval_s=3600,
)


class ContractsFinderClient(OcdsClient):
    """Leads (source UK), tenders and contracts of Contracts Finder, from its mirror."""


async def open_contractsfinder_mirror(settings: MirrorSettings, stack: AsyncExitStack, **injected: Any) -> OcdsMirror:
    """The mirror of this replica (`gateway.upstreams.mirror.opening.MirrorOpener`); `injected`: a transport, clocks
    and sleep for tests (see `open_ocds_mirror`)."""
    return await open_ocds_mirror(PUBLISHER, DEFAULTS, settings, stack, **injected)
