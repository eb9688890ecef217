"""Every field of the domain records (gateway/models.py) is exposed in GraphQL, under its camelCase name or a declared
other name, or is listed, with its reason, among the fields deliberately hidden."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
import strawberry
from graphql import GraphQLObjectType

from gateway import models
from resolvers.query import Query
from schema import contracts, leads, tenders

SCHEMA = strawberry.Schema(query=Query)._schema

# domain record -> (GraphQL type, domain fields exposed under another name, domain fields hidden on purpose)
VIEWS: Mapping[type, tuple[str, Mapping[str, str], Mapping[str, str]]] = {
    models.Lead: ("Lead", leads.RENAMED_DOMAIN_FIELDS, {}),
    models.Tender: ("Tender", {}, tenders.HIDDEN_DOMAIN_FIELDS),
    models.Contract: ("Contract", {}, contracts.HIDDEN_DOMAIN_FIELDS),
    models.AwardFamily: ("AwardFamilySummary", {}, {}),
    models.FamilyCounts: ("FamilyCounts", {}, {}),
    models.Agency: ("Agency", {}, {}),
    models.Supplier: ("Supplier", {}, {}),
    models.Money: ("Money", {}, {}),
    models.Country: ("Country", {}, {}),
    models.CodeName: ("CodeName", {}, {}),
    models.SourceMetadata: ("LeadSourceMetadata", {}, {}),
    models.NoticeDetails: ("NoticeDetails", {}, {}),
    models.Classification: ("Classification", {}, {}),
    models.Contact: ("Contact", {}, {}),
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("record", list(VIEWS), ids=lambda record: record.__name__)
def test_every_domain_field_is_exposed_or_declared_hidden(record: type) -> None:
    type_name, renamed, hidden = VIEWS[record]
    graphql_type = SCHEMA.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    domain = {field.name for field in dataclasses.fields(record)}
    assert set(renamed) | set(hidden) <= domain, "declared names must be fields of the record"
    assert all(reason.strip() for reason in hidden.values()), "say why a field is hidden"
    missing = sorted(name for name in domain - set(hidden) if renamed.get(name, camel(name)) not in graphql_type.fields)
    assert missing == [], f"{record.__name__} fields with no GraphQL field on {type_name}: {missing}"
    exposed_anyway = sorted(name for name in hidden if camel(name) in graphql_type.fields)
    assert exposed_anyway == [], f"declared hidden but exposed: {exposed_anyway}"
