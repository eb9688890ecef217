"""The generic merge: each source's order kept, the kind's order between heads, cursors that never skip or repeat,
and one source failing without failing the list."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta

import pytest

from gateway.errors import BadUserInput, UpstreamTimeout, UpstreamUnavailable
from gateway.models import Contract, ContractSource, KeysetPage, Lead, LocalizedText, Page, Tender
from gateway.upstreams.catalog import SPECS
from gateway.upstreams.client import KeysetContractClient, KeysetLeadClient, KeysetTenderClient
from gateway.upstreams.registry import client_class
from resolvers.lists import paged, pages_on_keyset
from resolvers.merge import (
    Position,
    SourcePage,
    merge,
    merge_sources,
    newest_award_first,
    newest_publish_first,
    soonest_closing_first,
)
from tests.schema.fakes import FakeClient, FakeKeysetLeadClient

DAY = date(2025, 3, 1)


def contract(key: str, awarded: date | None) -> Contract:
    return Contract(source=ContractSource.SAM, key=key, piid=key, title=LocalizedText(None), award_date=awarded)


def tender(reference: str, closing: date | None) -> Tender:
    return Tender(reference, None, LocalizedText(None), LocalizedText(None), LocalizedText(None), closing_date=closing)


def lead(lead_id: str, published: date | None) -> Lead:
    return Lead(id=lead_id, source="FBO", title=None, publish_date=published)


def page(*items: object, total: int | None = None, offset: int = 0) -> Page[object]:
    return Page(tuple(items), len(items) if total is None else total, offset)


def keys(taken: Sequence[object]) -> list[str]:
    return [t.source + ":" + _key(t.record) for t in taken]


def _key(record: object) -> str:
    for name in ("key", "reference", "id"):
        if hasattr(record, name):
            return str(getattr(record, name))
    raise AssertionError(record)


def test_contracts_newer_award_of_the_heads_first_each_source_kept_in_its_own_order() -> None:
    # SAM's own order is not by date: the merge must not reorder it, only choose between heads.
    sam = page(contract("s1", DAY), contract("s2", DAY + timedelta(9)), contract("s3", DAY - timedelta(5)))
    canada = page(contract("c1", DAY + timedelta(3)), contract("c2", DAY - timedelta(1)))
    taken = merge({"sam": sam, "canada": canada}, {}, 10, newest_award_first)
    assert keys(taken) == ["canada:c1", "sam:s1", "sam:s2", "canada:c2", "sam:s3"]


def test_ties_go_to_the_source_named_first_and_undated_records_come_last() -> None:
    sam = page(contract("s1", DAY), contract("s2", None))
    canada = page(contract("c1", DAY), contract("c2", DAY - timedelta(1)))
    assert keys(merge({"sam": sam, "canada": canada}, {}, 10, newest_award_first)) == [
        "sam:s1",
        "canada:c1",
        "canada:c2",
        "sam:s2",
    ]
    assert keys(merge({"canada": canada, "sam": sam}, {}, 2, newest_award_first)) == ["canada:c1", "sam:s1"]


def test_tenders_closing_soonest_first_and_leads_newest_first() -> None:
    tenders = merge(
        {
            "canada": page(tender("a", DAY + timedelta(2)), tender("b", DAY + timedelta(8))),
            "other": page(tender("x", DAY + timedelta(1)), tender("y", None), tender("z", DAY)),
        },
        {},
        10,
        soonest_closing_first,
    )
    # "other" keeps its own order: its undated head holds back its later, dated record.
    assert keys(tenders) == ["other:x", "canada:a", "canada:b", "other:y", "other:z"]
    leads = merge(
        {"ita": page(lead("1", DAY), lead("2", DAY - timedelta(3))), "more": page(lead("9", DAY - timedelta(1)))},
        {},
        10,
        newest_publish_first,
    )
    assert keys(leads) == ["ita:1", "more:9", "ita:2"]


def test_each_record_carries_the_positions_after_it() -> None:
    taken = merge(
        {"sam": page(contract("s1", DAY)), "canada": page(contract("c1", DAY - timedelta(1)))},
        {"sam": 4, "canada": 7, "gone": 2},
        10,
        newest_award_first,
    )
    assert [dict(t.positions) for t in taken] == [
        {"sam": 5, "canada": 7, "gone": 2},
        {"sam": 5, "canada": 8, "gone": 2},
    ]


def sources_over(
    records: dict[str, list[object]], asked: list[tuple[str, int, int]] | None = None
) -> dict[str, Callable[[int], Awaitable[Page[object]]]]:
    """Searches over in-memory lists, as an upstream pages them: [offset, offset + limit), total known."""

    def search(name: str, limit: int) -> Callable[[int], Awaitable[Page[object]]]:
        async def at(offset: int) -> Page[object]:
            if asked is not None:
                asked.append((name, offset, limit))
            items = records[name]
            return Page(tuple(items[offset : offset + limit]), len(items), offset)

        return at

    return {name: search(name, LIMIT) for name in records}


LIMIT = 4


async def test_paging_with_the_cursors_visits_every_record_once() -> None:
    records: dict[str, list[object]] = {
        "sam": [contract(f"s{n}", DAY - timedelta(n * 2)) for n in range(7)],
        "canada": [contract(f"c{n}", DAY - timedelta(n * 3 + 1)) for n in range(5)],
        "third": [contract(f"t{n}", None if n % 2 else DAY - timedelta(n)) for n in range(3)],
    }
    asked: list[tuple[str, int, int]] = []
    seen: list[str] = []
    positions: dict[str, int] = {}
    for _ in range(10):
        merged = await merge_sources(sources_over(records, asked), positions, LIMIT, newest_award_first)  # type: ignore[arg-type]
        seen += keys(merged.taken)
        assert merged.total == 15
        assert merged.has_previous == bool(positions)
        if not merged.has_next:
            break
        positions = dict(merged.taken[-1].positions)
    assert len(seen) == len(set(seen)) == 15
    assert sorted(seen) == sorted(f"{name}:{_key(r)}" for name, rs in records.items() for r in rs)
    for name, own in records.items():  # each source's own order is kept across pages
        assert [key for key in seen if key.startswith(f"{name}:")] == [f"{name}:{_key(r)}" for r in own]
    assert ("sam", 0, LIMIT) in asked
    assert all(limit == LIMIT for _, _, limit in asked)


async def test_has_next_when_totals_are_unknown_is_records_fetched_and_not_taken() -> None:
    async def unknown_total(offset: int) -> Page[object]:
        return Page((contract("u1", DAY), contract("u2", DAY - timedelta(1))), None, offset)

    merged = await merge_sources({"u": unknown_total}, {}, 1, newest_award_first)  # type: ignore[dict-item]
    assert merged.has_next is True
    assert merged.total is None
    merged = await merge_sources({"u": unknown_total}, {}, 2, newest_award_first)  # type: ignore[dict-item]
    assert merged.has_next is False


async def test_one_source_failing_leaves_the_others_records_and_its_error() -> None:
    async def failing(offset: int) -> Page[object]:
        raise UpstreamUnavailable("sam", "down")

    async def answering(offset: int) -> Page[object]:
        return page(contract("c1", DAY), total=1, offset=offset)

    merged = await merge_sources(
        {"sam": failing, "canada": answering},
        {},
        5,
        newest_award_first,  # type: ignore[dict-item]
    )
    assert keys(merged.taken) == ["canada:c1"]
    assert [error.upstream for error in merged.failures] == ["sam"]
    assert merged.total is None  # one source could not say
    assert dict(merged.taken[0].positions) == {"sam": 0, "canada": 1}  # the failed source is asked again next page


async def test_every_source_failing_raises_the_first_error() -> None:
    async def down(offset: int) -> Page[object]:
        raise UpstreamUnavailable("sam", "down")

    async def slow(offset: int) -> Page[object]:
        raise UpstreamTimeout("canada", "slow")

    with pytest.raises(UpstreamUnavailable):
        await merge_sources({"sam": down, "canada": slow}, {}, 5, newest_award_first)  # type: ignore[dict-item]


async def test_an_error_that_is_not_an_upstreams_is_raised() -> None:
    async def refused(offset: int) -> Page[object]:
        raise BadUserInput("offset too far")

    async def answering(offset: int) -> Page[object]:
        return page(contract("c1", DAY))

    with pytest.raises(BadUserInput):
        await merge_sources({"sam": refused, "canada": answering}, {}, 5, newest_award_first)  # type: ignore[dict-item]


async def test_no_source_gives_an_empty_page() -> None:
    merged = await merge_sources({}, {"sam": 3}, 5, newest_award_first)
    assert merged.taken == ()
    assert merged.total == 0
    assert merged.has_next is False
    assert merged.has_previous is True


# -- sources that keep positions of their own (keyset cursors) ---------------------------------------------------


def keyset_source(records: list[object], limit: int) -> Callable[[Position], Awaitable[SourcePage[object]]]:
    """A source paging on its own positions (`k<n>` after its n-th record), as a keyset source does."""

    async def at(position: Position) -> SourcePage[object]:
        start = int(position[1:]) if isinstance(position, str) else 0
        items = records[start : start + limit]
        after = tuple(f"k{start + n}" for n in range(1, len(items) + 1))
        return SourcePage(tuple(items), after, len(records), start + len(items) < len(records))

    return at


async def test_a_source_keeping_its_own_positions_merges_with_offset_sources() -> None:
    keyset = [contract(f"m{n}", DAY - timedelta(n * 2 + 1)) for n in range(9)]
    by_offset = [contract(f"s{n}", DAY - timedelta(n * 3)) for n in range(6)]
    searches = {**sources_over({"sam": by_offset}), "canadabuys": keyset_source(keyset, LIMIT)}
    positions: dict[str, Position] = {}
    seen: list[str] = []
    cursors = []
    for _ in range(10):
        merged = await merge_sources(searches, positions, LIMIT, newest_award_first)  # type: ignore[arg-type]
        seen += keys(merged.taken)
        assert merged.total == 15
        if not merged.has_next:
            break
        positions = dict(merged.taken[-1].positions)
        cursors.append(positions)
    assert len(seen) == len(set(seen)) == 15
    assert all(isinstance(p["sam"], int) for p in cursors)
    assert any(isinstance(p.get("canadabuys"), str) for p in cursors)


async def test_paged_reads_a_keyset_source_after_its_own_position_and_an_old_offset_by_offset() -> None:
    asked: list[tuple[str, object]] = []

    async def by_offset(offset: int) -> Page[object]:
        asked.append(("offset", offset))
        return page(contract("o", DAY), total=5, offset=offset)

    async def after(position: str | None) -> KeysetPage[object]:
        asked.append(("after", position))
        return KeysetPage((contract("k", DAY),), 5, "next", positions=("p1",))

    keyset, plain = paged(by_offset, after), paged(by_offset)
    first = await keyset(0)
    assert isinstance(first, SourcePage)
    assert (first.after, first.more, first.total) == (("p1",), True, 5)
    await keyset("p1")
    await keyset(3)  # a cursor issued when the source paged by offset
    await plain(2)
    assert asked == [("after", None), ("after", "p1"), ("offset", 3), ("offset", 2)]
    with pytest.raises(BadUserInput, match="not a cursor of this list"):
        await plain("p1")


# -- records passed over (twins), against the merge as first written -------------------------------------------------


def reference_merge(
    pages: dict[str, Page[object]],
    positions: dict[str, Position],
    limit: int,
    passed_over: dict[str, frozenset[int]],
) -> list[tuple[str, str, dict[str, Position]]]:
    """The merge as first written (every head's order asked again at each pick): what the merge must still answer."""
    start = {**positions, **{source: positions.get(source, 0) for source in pages}}
    read = {source: SourcePage.of(page, start[source]) for source, page in pages.items()}  # type: ignore[arg-type]
    heads = dict.fromkeys(read, 0)
    position = dict(start)
    taken: list[tuple[str, str, dict[str, Position]]] = []
    while True:
        waiting = [source for source, page in read.items() if heads[source] < len(page.items)]
        source = min(
            waiting,
            key=lambda name: newest_award_first(read[name].items[heads[name]]),
            default=None,  # type: ignore[arg-type]
        )
        if source is None:
            break
        hidden = heads[source] in passed_over.get(source, frozenset())
        if len(taken) == limit and not hidden:
            break
        record, position[source] = read[source].items[heads[source]], read[source].after[heads[source]]
        heads[source] += 1
        if not hidden:
            taken.append((source, _key(record), dict(position)))
        elif taken:
            taken[-1] = (taken[-1][0], taken[-1][1], dict(position))
    return taken


@pytest.mark.parametrize("seed", range(40))
def test_the_merge_answers_as_first_written_with_records_passed_over(seed: int) -> None:
    chooser = random.Random(seed)
    pages: dict[str, Page[object]] = {}
    passed_over: dict[str, frozenset[int]] = {}
    for name in ("sam", "samopps", "canada")[: chooser.randint(1, 3)]:
        count = chooser.randint(0, 6)
        dates = [None if chooser.random() < 0.2 else DAY - timedelta(chooser.randint(0, 4)) for _ in range(count)]
        pages[name] = page(*(contract(f"{name[:2]}{n}", day) for n, day in enumerate(dates)), total=20)
        passed_over[name] = frozenset(n for n in range(count) if chooser.random() < 0.3)
    positions: dict[str, Position] = {name: chooser.choice([0, 3]) for name in pages}
    limit = chooser.randint(1, 8)
    taken = merge(pages, positions, limit, newest_award_first, passed_over)  # type: ignore[arg-type]
    assert [(t.source, _key(t.record), dict(t.positions)) for t in taken] == reference_merge(
        pages, positions, limit, passed_over
    )


def test_records_passed_over_are_not_shown_and_the_cursor_is_past_them() -> None:
    sam = page(contract("s1", DAY), contract("s2", DAY - timedelta(2)))
    notices = page(contract("n1", DAY - timedelta(1)), contract("n2", DAY - timedelta(3)))
    taken = merge({"sam": sam, "samopps": notices}, {}, 2, newest_award_first, {"samopps": frozenset({0, 1})})
    assert keys(taken) == ["sam:s1", "sam:s2"]
    # n1 came between s1 and s2: s1's cursor is past it; n2 comes right after s2: s2's cursor is past it too.
    assert [dict(t.positions) for t in taken] == [{"sam": 1, "samopps": 1}, {"sam": 2, "samopps": 2}]


def test_each_records_order_is_asked_once() -> None:
    asked: list[str] = []

    def counted(record: Contract) -> tuple[int, int]:
        asked.append(record.key)
        return newest_award_first(record)

    sam = page(*(contract(f"s{n}", DAY - timedelta(n * 2)) for n in range(5)))
    canada = page(*(contract(f"c{n}", DAY - timedelta(n * 2 + 1)) for n in range(5)))
    merge({"sam": sam, "canada": canada}, {}, 10, counted)  # type: ignore[dict-item]
    assert sorted(asked) == sorted(f"{name}{n}" for name in "sc" for n in range(5))  # each record once


# -- which sources page on their own positions -----------------------------------------------------------------------

KEYSET_PROTOCOLS = (KeysetLeadClient, KeysetTenderClient, KeysetContractClient)


@pytest.mark.parametrize("client", [FakeClient("plain"), FakeKeysetLeadClient("keyset")], ids=lambda c: c.name)
def test_a_client_pages_on_its_keyset_as_isinstance_says(client: FakeClient) -> None:
    for protocol in KEYSET_PROTOCOLS:
        assert pages_on_keyset(type(client), protocol) is isinstance(client, protocol)


def test_every_catalog_client_class_is_known_by_its_keyset_methods() -> None:
    for spec in SPECS:
        found = client_class(spec)
        for protocol in KEYSET_PROTOCOLS:
            methods = [name for name in vars(protocol) if name.endswith("_after")]
            assert pages_on_keyset(found, protocol) is all(callable(getattr(found, m, None)) for m in methods)


def test_the_keyset_check_is_made_once_per_client_type() -> None:
    pages_on_keyset.cache_clear()
    for _ in range(3):
        pages_on_keyset(FakeKeysetLeadClient, KeysetLeadClient)
    assert (pages_on_keyset.cache_info().misses, pages_on_keyset.cache_info().hits) == (1, 2)
