"""ContractAwardsClient over a real UpstreamHttp against the sandbox: search, paging, lookups, award families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import timedelta
from decimal import Decimal

import pytest

from gateway.cache.store import Cached, CacheStatus, Fetch, StoreIf
from gateway.errors import BadUserInput
from gateway.models import Contract, ContractQuery, DateRange, Page, ValueRange
from gateway.settings import Settings
from gateway.upstreams._http import Credentials, UpstreamHttp, open_session
from gateway.upstreams.deadline import Deadline
from gateway.upstreams.fetch import UpstreamFetch
from gateway.upstreams.sam import adapter as sam
from gateway.upstreams.sam.spec import SPEC
from tests.sandbox_harness import RunningSandbox

ROUTE = "sam.search"
API_KEY = "sam-sandbox-key"
SETTINGS = Settings(retry_backoff_min_s=0.01, retry_backoff_max_s=0.02)
EVERY_FIELD = frozenset(f.name for f in fields(Contract))  # every section
NO_SECTION = frozenset[str]()  # contractId only


class RecordingCache:
    """Asks the upstream every time and remembers the keys it was given."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def get_or_fetch(
        self, key: str, fetch: Fetch, *, ttl_s: int, stale_for_s: int, store_if: StoreIf | None = None
    ) -> Cached:
        self.keys.append(key)
        return Cached(await fetch(), CacheStatus.MISS)


class Sam:
    def __init__(self, client: sam.ContractAwardsClient, cache: RecordingCache) -> None:
        self.client = client
        self.cache = cache

    async def search(
        self,
        query: ContractQuery | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
        selection: frozenset[str] = EVERY_FIELD,
    ) -> Page[Contract]:
        return await self.client.search_contracts(
            query or ContractQuery(), limit=limit, offset=offset, selection=selection, deadline=deadline()
        )


def deadline() -> Deadline:
    return Deadline.after(10)


async def open_sam(base_url: str) -> AsyncIterator[Sam]:
    async with open_session(SETTINGS) as session:
        http = UpstreamHttp("sam", base_url, session, SETTINGS, credentials=Credentials(query={"api_key": API_KEY}))
        cache = RecordingCache()
        yield Sam(sam.ContractAwardsClient(SPEC, UpstreamFetch.from_settings(SPEC, http, cache, SETTINGS)), cache)


@pytest.fixture
async def sam_client(sandbox: RunningSandbox) -> AsyncIterator[Sam]:
    async for client in open_sam(sandbox.base_url):
        yield client


@pytest.fixture
async def sample_sam_client(sample_sandbox: RunningSandbox) -> AsyncIterator[Sam]:
    async for client in open_sam(sample_sandbox.base_url):
        yield client


def keys(page: Page[Contract]) -> list[str]:
    return [contract.key for contract in page.items]


async def test_search_with_every_section(sandbox: RunningSandbox, sam_client: Sam) -> None:
    page = await sam_client.search(limit=10)
    assert len(page.items) == 10
    assert page.total is not None
    assert page.total >= 10
    assert page.offset == 0
    for contract in page.items:
        assert contract.value is not None
        assert contract.value.currency == "USD"
        assert contract.award_date is not None
        assert contract.supplier is not None
        assert contract.supplier.unique_entity_id is not None
        assert contract.buyer is not None
    assert await sandbox.hits(ROUTE) == 1


async def test_cache_keys_never_hold_the_api_key(sam_client: Sam) -> None:
    await sam_client.search(ContractQuery(naics=("541512",)), limit=5)
    (key,) = sam_client.cache.keys
    assert key.startswith("sam:contract-awards/v1/search?")
    assert "naicsCode=541512" in key
    assert API_KEY not in key
    assert "api_key" not in key


@pytest.mark.parametrize(
    ("selection", "present", "absent"),
    [
        (NO_SECTION, [], ["buyer", "value", "supplier"]),
        # naics comes in buyer's section (coreData) but is not read: not selected
        (frozenset({"piid", "buyer"}), ["buyer"], ["value", "supplier", "naics"]),
        (frozenset({"supplier"}), ["supplier"], ["buyer", "value", "award_date"]),
        (frozenset({"value", "supplier"}), ["value", "award_date", "supplier"], []),
    ],
)
async def test_only_the_sections_of_the_selected_fields_come_back(
    sam_client: Sam, selection: frozenset[str], present: list[str], absent: list[str]
) -> None:
    page = await sam_client.search(limit=5, selection=selection)
    assert len(page.items) == 5
    for contract in page.items:
        assert contract.piid
        assert all(getattr(contract, name) is not None for name in present)
        assert all(getattr(contract, name) is None for name in absent)


async def test_an_unaligned_window_is_one_larger_page(sandbox: RunningSandbox, sam_client: Sam) -> None:
    wide = await sam_client.search(limit=20, selection=NO_SECTION)
    await sandbox.reset()
    window = await sam_client.search(limit=10, offset=5, selection=NO_SECTION)
    assert keys(window) == keys(wide)[5:15]
    assert window.offset == 5
    assert window.total == wide.total
    assert await sandbox.hits(ROUTE) == 1


async def test_a_full_unaligned_window_is_two_pages(sandbox: RunningSandbox, sam_client: Sam) -> None:
    first = await sam_client.search(limit=100, offset=0, selection=NO_SECTION)
    second = await sam_client.search(limit=100, offset=100, selection=NO_SECTION)
    await sandbox.reset()
    window = await sam_client.search(limit=100, offset=50, selection=NO_SECTION)
    assert keys(window) == (keys(first) + keys(second))[50:150]
    assert await sandbox.hits(ROUTE) == 2


async def test_limit_zero_counts_without_records(sam_client: Sam) -> None:
    everything = await sam_client.search(limit=1)
    counted = await sam_client.search(limit=0, offset=40)
    assert counted.items == ()
    assert (counted.total, counted.offset) == (everything.total, 40)


async def test_filters_narrow_the_search(sam_client: Sam) -> None:
    (sample,) = (await sam_client.search(limit=1)).items
    assert sample.naics is not None
    assert sample.naics.code is not None
    assert sample.award_date is not None
    assert sample.supplier is not None
    assert sample.supplier.unique_entity_id is not None
    assert sample.value is not None

    by_naics = await sam_client.search(ContractQuery(naics=(sample.naics.code, "000000")), limit=20)
    assert by_naics.items
    assert all(c.naics is not None and c.naics.code == sample.naics.code for c in by_naics.items)

    day = sample.award_date
    by_date = await sam_client.search(ContractQuery(awarded=DateRange(day - timedelta(days=3), day)), limit=50)
    assert sample.key in keys(by_date)
    assert all(c.award_date is not None and day - timedelta(days=3) <= c.award_date <= day for c in by_date.items)

    amount = sample.value.amount
    by_value = await sam_client.search(ContractQuery(value=ValueRange(amount, amount + Decimal("0.01"))), limit=50)
    assert sample.key in keys(by_value)

    by_supplier = await sam_client.search(ContractQuery(supplier_uei=(sample.supplier.unique_entity_id,)), limit=50)
    assert by_supplier.items
    assert all(
        c.supplier is not None and c.supplier.unique_entity_id == sample.supplier.unique_entity_id
        for c in by_supplier.items
    )

    idvs = await sam_client.search(ContractQuery(award_or_idv="IDV"), limit=20, selection=frozenset({"award_type"}))
    assert idvs.items
    assert all(c.award_type is not None for c in idvs.items)


async def test_nothing_found_is_an_empty_page(sam_client: Sam) -> None:
    page = await sam_client.search(ContractQuery(piid="NO-SUCH-PIID-ANYWHERE"))
    assert page == Page((), 0, 0)


async def test_forbidden_characters_never_leave_the_gateway(sandbox: RunningSandbox, sam_client: Sam) -> None:
    with pytest.raises(BadUserInput):
        await sam_client.search(ContractQuery(supplier_name="AT&T"))
    assert await sandbox.hits(ROUTE) == 0


async def test_a_contract_found_by_its_key(sam_client: Sam) -> None:
    found = await sam_client.search(limit=30)
    for contract in found.items[::7]:
        again = await sam_client.client.contract(contract.key, hint=None, selection=EVERY_FIELD, deadline=deadline())
        assert again == contract


async def test_an_unknown_contract_is_none(sam_client: Sam) -> None:
    missing = await sam_client.client.contract("NO-SUCH-PIID|||", hint=None, selection=NO_SECTION, deadline=deadline())
    assert missing is None


async def test_award_family_of_an_idv(sandbox: RunningSandbox, sam_client: Sam) -> None:
    idvs = await sam_client.search(ContractQuery(award_or_idv="IDV", modification_number="0"), limit=5)
    piid = idvs.items[0].piid
    await sandbox.reset()
    family = await sam_client.client.award_family(piid, deadline=deadline())
    assert family is not None
    assert family.piid == piid
    assert family.count >= 1
    assert family.total_dollars.currency == "USD"
    assert (family.referencing_orders is None) != (family.bpa is None)  # an IDV or an FSS, never both
    assert await sandbox.hits(ROUTE) == 1


async def test_award_family_of_a_shared_piid(sandbox: RunningSandbox, sam_client: Sam) -> None:
    with pytest.raises(BadUserInput, match="not unique"):
        await sam_client.client.award_family("0001", deadline=deadline())
    assert await sandbox.hits(ROUTE) == 2  # the refused aggregation, then the referenced IDVs it lists
    calls = await sam_client.search(ContractQuery(piid="0001"), limit=1, selection=NO_SECTION)
    referenced = calls.items[0].referenced_idv_piid
    assert referenced is not None
    family = await sam_client.client.award_family("0001", referenced_idv_piid=referenced, deadline=deadline())
    assert family is not None
    assert family.count >= 1


async def test_award_family_of_an_unknown_piid_is_none(sam_client: Sam) -> None:
    assert await sam_client.client.award_family("NO-SUCH-PIID", deadline=deadline()) is None


async def test_recorded_example_1_through_the_whole_client(sample_sam_client: Sam) -> None:
    found = await sample_sam_client.client.contract(
        "SPE3SU25F97V0|||", hint=None, selection=EVERY_FIELD, deadline=deadline()
    )
    assert found is not None
    assert found.value is not None
    assert found.value.amount == Decimal("202.39")
    assert found.supplier is not None
    assert found.supplier.unique_entity_id == "HKK3H54PK7C3"


async def test_recorded_dummy_aggregation_through_the_whole_client(sample_sam_client: Sam) -> None:
    family = await sample_sam_client.client.award_family("NN1234567", deadline=deadline())
    assert family is not None
    assert (family.count, family.total_dollars.amount) == (3, Decimal("150000"))
