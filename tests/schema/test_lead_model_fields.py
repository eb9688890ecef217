"""`Lead.model_fields`: the model fields each GraphQL field of Lead is made from, so that a `leads` page reads only
those from the upstream: every field shows the same value from a lead that holds only them."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import date
from decimal import Decimal

import pytest
from strawberry.types.base import get_object_definition

from gateway import models
from schema.leads import Lead

FULL = models.Lead(
    id="lead-1",
    source="UK",
    title="Road works",
    description="Resurfacing",
    url=None,  # `url` then falls back to the first of `urls`
    urls=("https://example.org/a", "https://example.org/b"),
    country=models.Country("GB", "United Kingdom"),
    specific_location="Leeds",
    trade_regions=("European Union",),
    world_regions=("Europe",),
    industries=("Construction",),
    ita_industries=("Infrastructure",),
    categories=("CPV/45233141",),
    tags=("roads",),
    publish_date=date(2026, 1, 2),
    publish_date_amended=date(2026, 1, 3),
    start_date=date(2026, 2, 1),
    end_date=date(2026, 3, 1),
    status="Open",
    notice_type="Contract",
    reference_number="R-1",
    contract_number="C-1",
    project_number="P-1",
    procurement_organization="Leeds City Council",
    procurement_office="Highways",
    procurement_method="Open",
    agency="Roads agency",
    contact="roads@example.org",
    funding_source="Council",
    borrowing_entity="Council",
    classification_code="Y1",
    min_value=models.Money(Decimal("100"), "GBP"),
    max_value=models.Money(Decimal("200"), "GBP"),
    contract_value=models.Money(Decimal("150"), "GBP"),
    project_size=models.Money(Decimal("300"), "GBP"),
)
GRAPHQL_FIELDS = [field.python_name for field in get_object_definition(Lead, strict=True).fields]


def test_the_full_lead_sets_every_model_field() -> None:
    empty = models.Lead(id="", source="", title=None)
    unset = [f.name for f in dataclasses.fields(FULL) if getattr(FULL, f.name) == getattr(empty, f.name)]
    assert unset == ["url"]  # on purpose: see FULL


def shown(lead: Lead, name: str) -> object:
    """The value of the GraphQL field `name` (snake_case) of `lead`: its attribute, or what its resolver answers."""
    value = getattr(lead, name)
    return value() if inspect.ismethod(value) else value


@pytest.mark.parametrize("name", GRAPHQL_FIELDS)
def test_each_field_is_made_from_the_model_fields_it_names(name: str) -> None:
    kept = Lead.model_fields([name]) | {"id", "source", "title"}
    partial = models.Lead(**{f.name: getattr(FULL, f.name) for f in dataclasses.fields(FULL) if f.name in kept})
    assert shown(Lead.from_model(partial, upstream="ita"), name) == shown(Lead.from_model(FULL, upstream="ita"), name)
