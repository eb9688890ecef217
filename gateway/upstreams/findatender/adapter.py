"""Find a Tender as an OCDS mirror: its publisher declaration, its default pace and windows, its client.

The packages (`api/1.0/ocdsReleasePackages`) are filtered by last update (`updatedFrom`/`updatedTo`, written
`YYYY-MM-DDTHH:MM:SS`, UTC); it allows about 12 requests in 2 minutes and answers 429 or 503 with `Retry-After` past
that. Windows longer than 6 hours were seen to miss releases. Its bodies occasionally hold number literals strict JSON
refuses (`1e9999`, `000`), patched when read. A notice id is `nnnnnn-yyyy`, read at `Notice/<id>`.
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from typing import Any

from gateway.models import ContractSource
from gateway.upstreams.mirror.opening import MirrorSettings
from gateway.upstreams.ocds.client import OcdsClient
from gateway.upstreams.ocds.mirror import OcdsMirror
from gateway.upstreams.ocds.opening import OcdsOptions, open_ocds_mirror
from gateway.upstreams.ocds.publisher import Publisher

PUBLISHER = Publisher(
    name="findatender",
    search_path="api/1.0/ocdsReleasePackages",
    from_parameter="updatedFrom",
    to_parameter="updatedTo",
    time_format="%Y-%m-%dT%H:%M:%S",
    stages="planning,tender,award",
    throttled_statuses=frozenset({429, 503}),
    mojibake=False,
    contract_source=ContractSource.FINDATENDER,
    notice_id=re.compile(r"(?:.*-)?(?P<notice>\d{6}-\d{4})"),
    notice_url="https://www.find-tender.service.gov.uk/Notice/{notice}",
)
# The settings' defaults (`GATEWAY_FINDATENDER_*`): a request every 10 s (12 in 2 minutes), a minute after a 429/503
# without Retry-After, 6-hour windows, 30 days at first.
DEFAULTS = OcdsOptions(
    request_interval_s=10.0,
    throttled_wait_s=60.0,
    window_s=6 * 3600,
    backfill_days=30,
    refresh_interval_s=3600,
)


class FindATenderClient(OcdsClient):
    """Leads (source UK), tenders and contracts of Find a Tender, from its mirror."""


async def open_findatender_mirror(settings: MirrorSettings, stack: AsyncExitStack, **injected: Any) -> OcdsMirror:
    """The mirror of this replica (`gateway.upstreams.mirror.opening.MirrorOpener`); `injected`: a transport, clocks
    and sleep for tests (see `open_ocds_mirror`)."""
    return await open_ocds_mirror(PUBLISHER, DEFAULTS, settings, stack, **injected)
