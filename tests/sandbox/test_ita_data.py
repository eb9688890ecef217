"""The ITA imitation's dataset: deterministic, memoised, fast, fresh, and shaped like upstream's records."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sandbox.ita_data import leads_for, recorded_leads
from sandbox.ita_generator import generated_leads
from sandbox.ita_leads import FIELDS, SOURCES
from sandbox.ita_taxonomy import COUNTRIES

TODAY = date(2025, 3, 14)


def test_generation_is_deterministic_per_seed() -> None:
    first = generated_leads(11, 700, TODAY)
    assert first == generated_leads(11, 700, TODAY)
    assert first.leads != generated_leads(12, 700, TODAY).leads


def test_generation_is_memoised() -> None:
    assert leads_for(5, 1, TODAY, None) is leads_for(5, 1, TODAY, None)


def test_generated_leads_fill_every_source_with_unique_ids() -> None:
    leads = leads_for(5, 1, TODAY, None).leads
    assert len(leads) == 3000
    assert {lead.source for lead in leads} == set(SOURCES)
    assert len({lead.id for lead in leads}) == 3000


def test_generated_leads_are_fresh_and_mostly_open() -> None:
    leads = leads_for(5, 1, TODAY, None).leads
    oldest = (TODAY - timedelta(days=90)).isoformat()
    assert all(oldest <= str(lead.get("publish_date")) <= TODAY.isoformat() for lead in leads)
    end_dates = [str(lead.get("end_date")) for lead in leads if lead.get("end_date") is not None]
    assert sum(end > TODAY.isoformat() for end in end_dates) > 0.8 * len(end_dates)


def test_generated_regions_follow_the_country() -> None:
    for lead in leads_for(5, 1, TODAY, None).leads:
        country = COUNTRIES[str(lead.get("country"))]
        assert lead.get("country_name") == country.name
        assert lead.get("trade_regions") == country.trade_regions
        assert lead.get("world_regions") == country.world_regions


def test_fixture_country_region_pairs_are_in_the_taxonomy(samples_dir: Path) -> None:
    for lead in recorded_leads(samples_dir).leads:
        country = COUNTRIES[str(lead.get("country"))]
        assert (lead.get("country_name"), lead.get("trade_regions"), lead.get("world_regions")) == (
            country.name,
            country.trade_regions,
            country.world_regions,
        )


def test_leads_render_in_source_field_order() -> None:
    for lead in leads_for(5, 1, TODAY, None).leads[:200]:
        assert list(lead.to_json()) == ["id", *FIELDS[lead.source]]
