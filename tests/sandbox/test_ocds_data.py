"""The UK publishers' generated OCDS data: valid OCDS 1.1.5 releases, process lifecycles over time, mixed date
offsets, publisher identifiers, determinism, and records compiled as ocdsmerge compiles them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
import ocdsmerge
import pytest

from sandbox.ocds_compile import compiled_release, versioned_release
from sandbox.ocds_data import CONTRACTS_FINDER, FIND_A_TENDER, OcdsDataset, Publisher, load_ocds

TODAY = date(2026, 6, 15)
DATE_KEYS = {"date", "startDate", "endDate", "datePublished", "dateSigned"}
LIFECYCLE = ["planning", "tender", "tenderAmendment", "tenderCancellation", "award", "contract"]


def dataset(publisher: Publisher, seed: int = 1729) -> OcdsDataset:
    return load_ocds(publisher, seed, 240, TODAY)


def dates(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DATE_KEYS and isinstance(value, str):
                yield value
            else:
                yield from dates(value)
    elif isinstance(node, list):
        for item in node:
            yield from dates(item)


@pytest.mark.parametrize("publisher", [CONTRACTS_FINDER, FIND_A_TENDER], ids=lambda p: p.name)
def test_every_release_and_compiled_release_is_valid_ocds(
    publisher: Publisher, ocds_release_schema: dict[str, Any]
) -> None:
    validator = jsonschema.Draft4Validator(ocds_release_schema)
    data = dataset(publisher)
    for release in data.releases:
        errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(release.document)]
        assert not errors, (release.release_id, errors[:3])
    for releases in data.by_ocid.values():
        compiled = compiled_release([release.document for release in releases])
        assert not list(validator.iter_errors(compiled)), compiled["ocid"]


@pytest.mark.parametrize("publisher", [CONTRACTS_FINDER, FIND_A_TENDER], ids=lambda p: p.name)
def test_dates_are_rfc3339_with_z_or_plus_one_hour_and_in_the_past(publisher: Publisher) -> None:
    offsets: Counter[bool] = Counter()
    midnight = datetime.combine(TODAY, datetime.min.time(), UTC)
    for release in dataset(publisher).releases:
        for text in dates(release.document):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|\+01:00)", text), text
            offsets[text[-1] == "Z"] += 1
        assert datetime.fromisoformat(release.document["date"]) == release.moment < midnight
    assert offsets[True] > 500
    assert offsets[False] > 500


@pytest.mark.parametrize("publisher", [CONTRACTS_FINDER, FIND_A_TENDER], ids=lambda p: p.name)
def test_each_process_moves_through_its_stages_over_time(publisher: Publisher) -> None:
    data = dataset(publisher)
    assert len(data.by_ocid) == 240
    sizes = Counter(len(releases) for releases in data.by_ocid.values())
    assert sum(count for size, count in sizes.items() if size >= 3) > 50
    for releases in data.by_ocid.values():
        tags = [release.tag for release in releases]
        assert tags == sorted(tags, key=LIFECYCLE.index), tags
        moments = [release.moment for release in releases]
        assert moments == sorted(moments)
        assert tags[0] in {"planning", "tender"}  # planned procurements whose tender is not published yet too
    per_tag = Counter(release.tag for release in data.releases)
    assert all(per_tag[tag] >= 5 for tag in LIFECYCLE), per_tag
    keys = [release.key for release in data.releases]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_identifiers_follow_each_publisher() -> None:
    cf, fts = dataset(CONTRACTS_FINDER), dataset(FIND_A_TENDER)
    uuid = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    for release in cf.releases:
        assert re.fullmatch(f"ocds-b5fd17-{uuid}", release.ocid)
        assert re.fullmatch(f"{uuid}-\\d{{6}}", release.release_id)
        assert release.release_id.startswith(release.notice_id)
    for release in fts.releases:
        assert re.fullmatch(r"ocds-h6vhtk-[0-9a-f]{6}", release.ocid)
        assert re.fullmatch(r"\d{6}-\d{4}", release.release_id)
        assert release.release_id == release.notice_id
        assert release.release_id.endswith(str(release.moment.year))
    assert len({release.release_id for release in fts.releases}) == len(fts.releases)
    for data in (cf, fts):
        buyer = data.releases[0].document["parties"][0]
        assert buyer["roles"] == ["buyer"]
        assert {"name", "email", "telephone"} <= buyer["contactPoint"].keys()


def test_the_text_carries_the_characters_contracts_finder_garbles() -> None:
    text = " ".join(release.document["tender"]["description"] + release.document["tender"]["title"]
                    for release in dataset(CONTRACTS_FINDER).releases)  # fmt: skip
    assert "\u2019" in text
    assert "£" in text
    assert "\u202f" in text


def test_the_same_seed_gives_the_same_data() -> None:
    first = load_ocds(FIND_A_TENDER, 99, 30, TODAY)
    load_ocds.cache_clear()
    again = load_ocds(FIND_A_TENDER, 99, 30, TODAY)
    assert [r.document for r in first.releases] == [r.document for r in again.releases]
    other = load_ocds(FIND_A_TENDER, 100, 30, TODAY)
    assert [r.document for r in first.releases] != [r.document for r in other.releases]


def test_a_revision_amends_open_tenders_at_its_stamp() -> None:
    stamp = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
    base = load_ocds(CONTRACTS_FINDER, 1729, 240, TODAY)
    revised = load_ocds(CONTRACTS_FINDER, 1729, 240, TODAY, (stamp,))
    new = [release for release in revised.releases if release.moment >= stamp]
    assert len(revised.releases) - len(base.releases) == len(new) == 12
    assert [release.document for release in revised.releases[: len(base.releases)]] == [
        release.document for release in base.releases
    ]
    for release in new:
        assert release.tag == "tenderAmendment"
        earlier = revised.by_ocid[release.ocid][-2].document["tender"]["tenderPeriod"]["endDate"]
        later = release.document["tender"]["tenderPeriod"]["endDate"]
        assert (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).days == 7
        assert release.document["tender"]["amendments"][-1]["releaseID"] == release.release_id


@pytest.mark.parametrize("publisher", [CONTRACTS_FINDER, FIND_A_TENDER], ids=lambda p: p.name)
def test_records_compile_as_ocdsmerge_compiles_them(publisher: Publisher, ocds_release_schema: dict[str, Any]) -> None:
    merger = ocdsmerge.Merger(schema=ocds_release_schema)
    for releases in dataset(publisher).by_ocid.values():
        documents = [release.document for release in releases]
        assert compiled_release(documents) == merger.create_compiled_release(documents)
        assert versioned_release(documents) == merger.create_versioned_release(documents)
