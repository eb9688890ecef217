"""The SAM imitation's dataset, filters, sections and quota, without sockets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox import sam_errors
from sandbox.clock import SandboxClock
from sandbox.sam_aggregation import piid_aggregation
from sandbox.sam_data import load_dataset
from sandbox.sam_document import money, render_award
from sandbox.sam_errors import SamError
from sandbox.sam_filters import RecordView, document_values, parse_condition
from sandbox.sam_parameters import FILTERS, Kind
from sandbox.sam_quota import DailyQuota
from sandbox.sam_records import GeneratedAward
from sandbox.sam_sections import parse_sections, select_sections

TODAY = date(2026, 9, 1)


def generated(seed: int = 1729, scale: int = 1) -> tuple[GeneratedAward, ...]:
    awards = load_dataset(seed, scale, TODAY, None).awards
    assert all(isinstance(award, GeneratedAward) for award in awards)
    return awards  # type: ignore[return-value]


def test_generation_is_deterministic_and_memoised() -> None:
    first = load_dataset(1729, 1, TODAY, None)
    assert load_dataset(1729, 1, TODAY, None) is first
    again = load_dataset.__wrapped__(1729, 1, TODAY, None)
    assert [render_award(a) for a in again.awards[:50] if isinstance(a, GeneratedAward)] == [
        render_award(a) for a in generated()[:50]
    ]
    assert [a.piid for a in generated(seed=7)[:50]] != [a.piid for a in generated()[:50]]
    assert len(first.awards) == 3000


def test_records_look_like_upstream_records() -> None:
    for award in generated():
        assert len(award.awardee.uei) == 12
        assert len(award.awardee.cage) == 5
        assert award.date_signed <= TODAY
        assert award.last_modified.date() <= TODAY
        assert award.solicitation_date < award.date_signed or award.modification_number != "0"
        expected_year = award.date_signed.year + (award.date_signed.month >= 10)
        assert award.fiscal_year == expected_year
        if award.referenced_idv is not None:
            assert award.referenced_idv.is_idv
            assert award.referenced_idv.modification_number == "0"


def test_family_aggregates_are_precomputed_from_the_records() -> None:
    dataset = load_dataset(1729, 1, TODAY, None)
    for key, family in list(dataset.families.items())[:200]:
        members = [a for a in dataset.awards if (a.piid, a.referenced_idv_piid) == key]
        assert family.count == len(members)
        assert family.cents == sum(a.obligation_cents for a in members)
    fss = next(key for key, family in dataset.families.items() if family.is_fss)
    assert set(piid_aggregation(dataset, fss)) == {"awardFamilySummary", "bpaSummary", "bpaCallSummary"}


def test_fast_getters_agree_with_the_rendered_documents() -> None:
    for award in generated()[::7]:
        document = render_award(award)
        view = RecordView(award)
        for name, spec in FILTERS.items():
            if spec.getter is None:
                continue
            from_getter = view.values(name, spec)
            from_document = document_values(document, spec.paths)
            if spec.kind is Kind.DATE:
                from_document = [value[:10] for value in from_document]
            assert from_getter == from_document, name


def test_sample_mode_loads_the_doc_examples(samples_dir: Path) -> None:
    dataset = load_dataset(1729, 1, TODAY, samples_dir)
    assert [a.piid for a in dataset.awards][:2] == ["SPE3SU25F97V0", "15B61524P00000105"]
    assert len(dataset.deleted) == 5
    assert ("NN1234567", "IDV123456") in dataset.recorded_aggregations


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("dateSigned", "2025-01-01", "Dates must be specified"),
        ("dateSigned", "[01/01/2025]", "Dates must be specified"),
        ("dateSigned", "02/30/2025", "Dates must be specified"),
        ("dollarsObligated", "1,000", "Dollars must be specified"),
        ("dollarsObligated", "[1,2,3]", "Dollars must be specified"),
        ("naicsCode", "~".join(["111111"] * 101), "More than 100 NAICS Codes"),
    ],
)
def test_bad_values_raise_the_documented_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(SamError) as raised:
        parse_condition(name, value)
    assert raised.value.status == 400
    assert raised.value.body["message"].startswith(message)


def test_condition_syntax() -> None:
    award = generated()[0]
    view = RecordView(award)
    signed = award.date_signed.strftime("%m/%d/%Y")
    assert parse_condition("dateSigned", signed).matches(view)  # type: ignore[union-attr]
    assert parse_condition("dateSigned", f"[,{signed}]").matches(view)  # type: ignore[union-attr]
    assert not parse_condition("dateSigned!", f"[{signed},]").matches(view)  # type: ignore[union-attr]
    assert parse_condition("piid", f"NOPE~{award.piid.lower()}").matches(view)  # type: ignore[union-attr]
    assert not parse_condition("piid", f"!{award.piid}").matches(view)  # type: ignore[union-attr]
    assert parse_condition("nonGovernmentDollars", "null").matches(view)  # type: ignore[union-attr]
    assert parse_condition("awardeeUniqueEntityId", "!null").matches(view)  # type: ignore[union-attr]
    cents = Decimal(award.obligation_cents) / 100
    assert parse_condition("dollarsObligated", f"[{cents},{cents}]").matches(view)  # type: ignore[union-attr]
    assert parse_condition("naicsCode", "") is None


def test_money_is_rendered_like_the_upstream() -> None:
    assert [money(c) for c in (20239, 15000000, 0, -5, -120050)] == ["202.39", "150000", "0", "-0.05", "-1200.50"]


def test_sections_select_and_narrow() -> None:
    document = render_award(next(a for a in generated() if a.office.department[0] == "8000"))
    assert select_sections(document, None) == document
    assert set(select_sections(document, parse_sections("contractId"))) == {"contractId"}
    narrowed = select_sections(document, parse_sections("contractId,contract,entityInformation"))
    assert narrowed["awardDetails"] == {"awardeeData": document["awardDetails"]["awardeeData"]}
    assert set(select_sections(document, parse_sections("nasaSpecific,awardeeData"))["awardDetails"]) == {
        "awardeeData",
        "nasaSpecificData",
    }
    with pytest.raises(SamError):
        parse_sections("contractId,everything")


def test_quota_counts_per_utc_day() -> None:
    clock = SandboxClock()
    clock.set(datetime(2030, 1, 1, 23, 0, tzinfo=UTC))
    quota = DailyQuota({"k": 2}, clock)
    assert [quota.try_spend("k") for _ in range(3)] == [True, True, False]
    assert quota.used("k") == 2
    assert quota.seconds_until_reset() == 3600
    assert quota.next_reset() == datetime(2030, 1, 2, tzinfo=UTC)
    assert not quota.try_spend("unknown")
    clock.set(datetime(2030, 1, 2, 0, 0, 1, tzinfo=UTC))
    assert quota.try_spend("k")
    quota.reset()
    assert quota.used("k") == 0


def test_error_bodies_keep_the_documented_keys() -> None:
    assert set(sam_errors.extract_not_ready().body) == {"message", "details"}
    assert sam_errors.forbidden(sam_errors.MISSING_KEY).status == 403
