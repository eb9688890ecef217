"""SAM.gov Contract Opportunities as a mirror: the client over its index, and the opener of its mirror.

Leads, tenders and contracts are answered from the local index (`search`), never by a call to SAM.gov: offset pages
for the client protocols, keyset pages (`leads_after`, `tenders_after`, `contracts_after`) that never repeat a
record across a refresh. Tenders and award notices of one solicitation number link each other (`awards_of`,
`tender_of`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import TypeVar
from urllib.parse import urljoin

import aiohttp

from gateway.clock import GatewayClock
from gateway.errors import BadUserInput
from gateway.limits.quota import QuotaGuard
from gateway.models import (
    Contract,
    ContractQuery,
    KeysetPage,
    Lead,
    LeadQuery,
    Page,
    SourceMetadata,
    Tender,
    TenderQuery,
)
from gateway.redis import redis_client
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.mirror.disk import MirrorDirectory
from gateway.upstreams.mirror.download import Downloader, DownloadPolicy, browser_user_agent, open_download_session
from gateway.upstreams.mirror.opening import MirrorSettings, host_of
from gateway.upstreams.mirror.query import Position
from gateway.upstreams.samopps import notice as notices
from gateway.upstreams.samopps import search
from gateway.upstreams.samopps.extract import EXTRACT_PATH, REAL_EXTRACT_URL
from gateway.upstreams.samopps.index import identifier
from gateway.upstreams.samopps.mirror import EXTRACT, NAME, OpportunitiesMirror, PullPlan, http_date
from gateway.upstreams.samopps.notice import AWARD, NOTICE_ID, OPEN, Notice
from gateway.upstreams.samopps.pulls import PulledPages
from gateway.upstreams.samopps.records import LEAD_SOURCE, contract_of, lead_of, tender_of
from gateway.upstreams.spec import RecordKind, UpstreamSpec

_log = logging.getLogger(__name__)
Item = TypeVar("Item")
Q = TypeVar("Q", LeadQuery, TenderQuery, ContractQuery)
MAX_PAGE_SIZE = 100
LINKED_KEPT = 50  # award notices of one solicitation read for `Tender.award`
PULL_BODY_BYTES = 64 * 1024 * 1024  # a page of 1,000 notices is a few MB


def _notice(row: tuple[bytes, str | None]) -> Notice | None:
    found = notices.decode(row[0])
    return None if found is None else replace(found, description=row[1])


def _size(limit: int) -> int:
    return min(max(limit, 0), MAX_PAGE_SIZE)


class SamOpportunitiesClient:
    """Leads (FBO), tenders and contracts (award notices) from the SAM opportunities mirror; opened as
    `SamOpportunitiesClient(spec, mirror)`. `total` is the real number of matches in the index."""

    def __init__(self, spec: UpstreamSpec, mirror: OpportunitiesMirror) -> None:
        self.spec = spec
        self.mirror = mirror

    # -- leads

    async def search_leads(
        self, query: LeadQuery, *, limit: int, offset: int, deadline: Deadline, fields: frozenset[str] | None = None
    ) -> Page[Lead]:
        del fields  # every field is read (the records are local)
        return await self._offset_page(
            self._listing(RecordKind.LEAD, query, search.lead_listing), limit, offset, deadline, lead_of
        )

    async def leads_after(
        self, query: LeadQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Lead]:
        return await self._keyset_page(
            self._listing(RecordKind.LEAD, query, search.lead_listing), limit, after, deadline, lead_of
        )

    async def lead(self, key: str, *, deadline: Deadline) -> Lead | None:
        found = await self._by_id(key, OPEN, deadline)
        return None if found is None else lead_of(found)

    async def lead_sources(self, *, deadline: Deadline) -> tuple[SourceMetadata, ...]:
        """FBO's freshness: when the extract was last published (its Last-Modified) and last read into the index."""
        del deadline
        extract = next(status for status in self.mirror.statuses() if status.name == EXTRACT)
        latest = max((status.last_success for status in self.mirror.statuses() if status.last_success), default=None)
        published = http_date(extract.last_modified)
        return (SourceMetadata(LEAD_SOURCE, last_updated=published, last_imported=latest),)

    # -- tenders

    async def search_tenders(self, query: TenderQuery, *, limit: int, offset: int, deadline: Deadline) -> Page[Tender]:
        return await self._offset_page(
            self._listing(RecordKind.TENDER, query, search.tender_listing), limit, offset, deadline, tender_of
        )

    async def tenders_after(
        self, query: TenderQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Tender]:
        return await self._keyset_page(
            self._listing(RecordKind.TENDER, query, search.tender_listing), limit, after, deadline, tender_of
        )

    async def tender(self, key: str, *, hint: str | None, deadline: Deadline) -> Tender | None:
        del hint
        found = await self._by_id(key, OPEN, deadline)
        return None if found is None else tender_of(found)

    async def awards_of(self, tender: Tender, *, deadline: Deadline) -> tuple[Contract, ...]:
        """The award notices of the tender's solicitation number, latest first."""
        return tuple(
            found
            for notice in await self._linked(tender.solicitation_number, AWARD, LINKED_KEPT, deadline)
            if (found := contract_of(notice)) is not None
        )

    # -- contracts

    def check_contract_query(self, query: ContractQuery, *, limit: int) -> None:
        """Nothing to refuse: every criterion this source answers is answered locally, at any page size."""
        del query, limit

    async def search_contracts(
        self, query: ContractQuery, *, limit: int, offset: int, selection: frozenset[str], deadline: Deadline
    ) -> Page[Contract]:
        del selection
        return await self._offset_page(
            self._listing(RecordKind.CONTRACT, query, search.contract_listing), limit, offset, deadline, contract_of
        )

    async def contracts_after(
        self, query: ContractQuery, *, limit: int, after: str | None, deadline: Deadline
    ) -> KeysetPage[Contract]:
        return await self._keyset_page(
            self._listing(RecordKind.CONTRACT, query, search.contract_listing), limit, after, deadline, contract_of
        )

    async def contract(
        self, key: str, *, hint: str | None, selection: frozenset[str], deadline: Deadline
    ) -> Contract | None:
        del hint, selection
        found = await self._by_id(key, AWARD, deadline)
        return None if found is None else contract_of(found)

    async def tender_of(self, contract: Contract, *, deadline: Deadline) -> Tender | None:
        """The open notice of the award's solicitation number, when the index holds it."""
        solicitation = contract.notice.solicitation_number if contract.notice else None
        found = await self._linked(solicitation, OPEN, 1, deadline)
        return tender_of(found[0]) if found else None

    # -- reading

    def _listing(
        self, kind: RecordKind, query: Q, listing: Callable[[Q], search.Listing | None]
    ) -> search.Listing | None:
        """The query's listing; None (no match) when it sets a criterion this source cannot answer."""
        return None if self.spec.unanswerable(kind, query) else listing(query)

    async def _offset_page(
        self,
        listing: search.Listing | None,
        limit: int,
        offset: int,
        deadline: Deadline,
        record: Callable[[Notice], Item | None],
    ) -> Page[Item]:
        if listing is None:
            return Page(items=(), total=0, offset=max(offset, 0))
        found = await self.mirror.read(
            lambda connection: search.page(connection, listing, limit=_size(limit), offset=max(offset, 0)),
            timeout_s=deadline.remaining_s(),
        )
        return Page(_records(found.rows, record), found.total, max(offset, 0))

    async def _keyset_page(
        self,
        listing: search.Listing | None,
        limit: int,
        after: str | None,
        deadline: Deadline,
        record: Callable[[Notice], Item | None],
    ) -> KeysetPage[Item]:
        position = None
        if after:
            position = Position.decode(after)
            if position is None:
                raise BadUserInput("The cursor was not made by this source", argumentName="after")
        if listing is None:
            return KeysetPage(items=(), total=0, after=None)
        size = _size(limit)
        found = await self.mirror.read(
            lambda connection: search.page(connection, listing, limit=size + 1, after=position),
            timeout_s=deadline.remaining_s(),
        )
        kept = [
            (item, spot.encode())
            for row, spot in zip(found.rows[:size], found.positions, strict=False)
            if (notice := _notice(row)) is not None and (item := record(notice)) is not None
        ]
        following = found.positions[size - 1].encode() if size and len(found.rows) > size else None
        return KeysetPage(
            tuple(item for item, _ in kept), found.total, following, positions=tuple(spot for _, spot in kept)
        )

    async def _by_id(self, key: str, group: str, deadline: Deadline) -> Notice | None:
        if not NOTICE_ID.match(key.strip()):
            return None
        row = await self.mirror.read(
            lambda connection: search.by_id(connection, key, group), timeout_s=deadline.remaining_s()
        )
        return None if row is None else _notice(row)

    async def _linked(self, solicitation: str | None, group: str, limit: int, deadline: Deadline) -> list[Notice]:
        link = identifier(solicitation)
        if link is None:
            return []
        found = await self.mirror.read(
            lambda connection: search.linked(connection, link, group, limit=limit), timeout_s=deadline.remaining_s()
        )
        return [notice for row in found.rows if (notice := _notice(row)) is not None]


def _records(rows: Sequence[tuple[bytes, str | None]], record: Callable[[Notice], Item | None]) -> tuple[Item, ...]:
    return tuple(item for row in rows if (notice := _notice(row)) is not None and (item := record(notice)) is not None)


# -- opening ---------------------------------------------------------------------------------------------------------


def extract_url(gateway: Settings, base_url: str) -> str:
    """GATEWAY_SAMOPPS_EXTRACT_URL, else the extract's path on GATEWAY_SAMOPPS_URL (the sandbox serves both)."""
    return gateway.samopps_extract_url or urljoin(base_url, EXTRACT_PATH)


async def open_samopps_mirror(
    settings: MirrorSettings,
    stack: AsyncExitStack,
    *,
    session: aiohttp.ClientSession | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> OpportunitiesMirror:
    """The SAM opportunities mirror of this replica, open and closed by `stack` (`MirrorOpener`).

    `settings.base_url` is the API's base (`GATEWAY_SAMOPPS_URL`, `https://api.sam.gov/`); the extract is at
    `extract_url`. API pulls are set up only in the process that refreshes the mirror, when `samopps_pull_calls`
    says they run: a transport sending the SAM key (its calls counted by the quota guard on the pulls' share), and
    with Redis the pages shared between replicas.
    """
    gateway = settings.gateway_settings or Settings()
    clock = GatewayClock.from_settings(gateway)
    url = extract_url(gateway, settings.base_url)
    if not gateway.samopps_extract_url and host_of(settings.base_url).endswith("sam.gov"):
        _log.warning(
            "%s: GATEWAY_SAMOPPS_EXTRACT_URL is not set: the extract is asked at %s (SAM.gov publishes it at %s)",
            NAME,
            url,
            REAL_EXTRACT_URL,
        )
    if session is None:
        session = await stack.enter_async_context(open_download_session())
    downloader = Downloader(
        session,
        DownloadPolicy(
            user_agent=browser_user_agent(settings.product, settings.version, settings.contact),
            allowed_host=host_of(url),
            retries=settings.retries,
            backoff_s=settings.backoff_s,
            head_first=False,  # S3 answers a conditional GET with 304: one request when unchanged
        ),
        sleep=sleep,
    )
    plan, transport, quota, pages = None, None, None, None
    calls = gateway.samopps_pull_calls()
    spec_credential = next(spec.credential for spec in gateway.specs if spec.name == NAME)
    if calls != 0 and spec_credential is not None:
        plan = PullPlan(
            credential=spec_credential.name,
            calls_per_day=calls,
            interval_s=gateway.samopps_pull_interval_s,
            timeout_s=gateway.samopps_pull_timeout_s,
        )
        if settings.writer:
            quota = settings.quota_guard
            if quota is None:  # `python -m gateway mirror refresh`: a guard of its own (with Redis, the same counters)
                quota = QuotaGuard.from_settings(gateway)
                stack.push_async_callback(quota.aclose)
            pulling = replace(
                gateway,
                upstream_timeout_s=gateway.samopps_pull_timeout_s,
                max_upstream_body_bytes=max(gateway.max_upstream_body_bytes, PULL_BODY_BYTES),
            )
            api_session = await stack.enter_async_context(open_session(pulling))
            key = gateway.credential(spec_credential.name).api_key
            transport = UpstreamHttp(
                NAME,
                settings.base_url,
                api_session,
                pulling,
                credentials=Credentials(query={spec_credential.parameter: key}, name=spec_credential.name),
                quota_guard=quota,
            )
            if gateway.redis_url:
                redis = redis_client(gateway.redis_url, timeout_s=gateway.redis_timeout_s, pool_size=4)
                stack.callback(redis.connection_pool.disconnect)
                pages = PulledPages(
                    redis,
                    gateway.redis_prefix(f"{NAME}:"),
                    ttl_s=gateway.samopps_page_ttl_s,
                    timeout_s=gateway.redis_timeout_s,
                )
    mirror = OpportunitiesMirror(
        MirrorDirectory(settings.directory(NAME), max_bytes=settings.max_disk_bytes),
        extract_url=url,
        downloader=downloader,
        clock=clock,
        extract_interval_s=gateway.samopps_extract_interval_s,
        max_file_bytes=settings.max_file_bytes,
        query_threads=settings.query_threads,
        writer=settings.writer,
        plan=plan,
        transport=transport,
        quota=quota,
        pages=pages,
    )
    await mirror.open()
    stack.push_async_callback(mirror.close)
    return mirror
