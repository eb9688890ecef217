"""Global ids name their upstream; `node`, `lead`, `tender` and `contract` route by it; ids issued before still
resolve; an id of the wrong type, an unknown or an unconfigured upstream is refused before any upstream is asked."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from schema.node import GlobalId, InvalidGlobalId, from_global_id, to_global_id
from tests.schema.fakes import FakeUpstreams, execute, standard_upstreams


def legacy_id(*fields: str) -> str:
    """An id as 0.1.0 issued it: base64url of the fields joined by U+001F, unpadded."""
    return base64.urlsafe_b64encode("\x1f".join(fields).encode()).decode().rstrip("=")


def new_id(*fields: str) -> str:
    return base64.urlsafe_b64encode(("v2:" + json.dumps(list(fields))).encode()).decode().rstrip("=")


async def first_ids(upstreams: FakeUpstreams) -> dict[str, str]:
    outcome = await execute(
        upstreams,
        """{ leads(first: 1) { nodes { id } } tenders(first: 1) { nodes { id } }
             sam: contracts(first: 1, filter: {sources: [SAM]}) { nodes { id } }
             canada: contracts(first: 1, filter: {sources: [CANADA]}) { nodes { id } } }""",
    )
    data: dict[str, Any] = outcome.data  # type: ignore[assignment]
    return {name: data[name]["nodes"][0]["id"] for name in ("leads", "tenders", "sam", "canada")}


def test_new_ids_name_type_upstream_key_and_hint() -> None:
    assert from_global_id(to_global_id("Contract", "canada", "C1", "N7610")) == GlobalId(
        "Contract", "canada", "C1", "N7610"
    )
    assert from_global_id(to_global_id("Lead", "ita", "L\x1f1|é")) == GlobalId("Lead", "ita", "L\x1f1|é")
    assert "=" not in to_global_id("Tender", "canada", "PW-$$FE-176-68065")


@pytest.mark.parametrize(
    "key",
    ["P1|0||", "PW-$$FE-176-68065", "L\x1f1", 'say "hi"', "back\\slash", "tab\there", "é \u2013 ü 中", "\x7f", "a/b+c"],
)
@pytest.mark.parametrize("hint", [None, "N7610", 'N"1'])
def test_an_id_is_base64url_of_the_json_that_json_writes(key: str, hint: str | None) -> None:
    fields = ["Contract", "sam", key, *([hint] if hint else [])]
    raw = "v2:" + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    assert to_global_id("Contract", "sam", key, hint) == base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_an_id_of_fields_needing_no_escape_is_written_without_json(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("json.dumps called for fields that need no escape")

    monkeypatch.setattr(json, "dumps", refuse)  # schema.node calls json.dumps through the module
    assert from_global_id(to_global_id("Tender", "canada", "PW-$$FE-176-68065", "N7610")) == GlobalId(
        "Tender", "canada", "PW-$$FE-176-68065", "N7610"
    )


def test_ids_issued_before_name_their_upstream_by_type() -> None:
    assert from_global_id(legacy_id("Lead", "L7")) == GlobalId("Lead", "ita", "L7")
    assert from_global_id(legacy_id("Tender", "T1", "N7610")) == GlobalId("Tender", "canada", "T1", "N7610")
    assert from_global_id(legacy_id("Tender", "T1", "")) == GlobalId("Tender", "canada", "T1")
    assert from_global_id(legacy_id("Contract", "SAM", "P1|0||", "")) == GlobalId("Contract", "sam", "P1|0||")
    assert from_global_id(legacy_id("Contract", "CANADA", "C1", "N7610")) == GlobalId(
        "Contract", "canada", "C1", "N7610"
    )


@pytest.mark.parametrize(
    "text",
    [
        "bm9wZQ",  # "nope"
        "%%%",
        legacy_id("Contract", "MARS", "x"),
        legacy_id("Contract", "SAM"),
        legacy_id("Lead", ""),
        new_id("Lead", "ita"),
        new_id("Lead", "ITA!", "x"),
        new_id("Lead", "ita", ""),
        base64.urlsafe_b64encode(b'v2:{"type": "Lead"}').decode(),
    ],
)
def test_anything_else_is_no_global_id(text: str) -> None:
    with pytest.raises(InvalidGlobalId):
        from_global_id(text)


async def test_every_id_resolves_through_node_and_its_own_field() -> None:
    upstreams = standard_upstreams()
    ids = await first_ids(upstreams)
    outcome = await execute(
        upstreams,
        """query($l: ID!, $t: ID!, $s: ID!, $c: ID!) {
            lead(id: $l) { leadId } tender(id: $t) { reference } sam: contract(id: $s) { source piid }
            canada: contract(id: $c) { source piid }
            n1: node(id: $l) { __typename id } n2: node(id: $t) { __typename } n3: node(id: $c) { __typename } }""",
        {"l": ids["leads"], "t": ids["tenders"], "s": ids["sam"], "c": ids["canada"]},
    )
    assert outcome.errors == []
    assert outcome.data == {
        "lead": {"leadId": "L0"},
        "tender": {"reference": "T0"},
        "sam": {"source": "SAM", "piid": "P0"},
        "canada": {"source": "CANADA", "piid": "C0"},
        "n1": {"__typename": "Lead", "id": ids["leads"]},
        "n2": {"__typename": "Tender"},
        "n3": {"__typename": "Contract"},
    }
    assert [r[1]["hint"] for r in upstreams.client("canada").requests if r[0] == "contract"] == ["N7610", "N7610"]
    assert [r[1]["hint"] for r in upstreams.client("canada").requests if r[0] == "tender"] == ["N7600", "N7600"]


async def test_ids_issued_before_still_resolve() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(
        upstreams,
        """query($l: ID!, $t: ID!, $s: ID!, $c: ID!) {
            lead(id: $l) { leadId } tender(id: $t) { reference } s: node(id: $s) { ... on Contract { piid } }
            c: contract(id: $c) { piid } }""",
        {
            "l": legacy_id("Lead", "L3"),
            "t": legacy_id("Tender", "T2", "N7602"),
            "s": legacy_id("Contract", "SAM", "P1|0||", ""),
            "c": legacy_id("Contract", "CANADA", "C2", "N7610"),
        },
    )
    assert outcome.errors == []
    assert outcome.data == {
        "lead": {"leadId": "L3"},
        "tender": {"reference": "T2"},
        "s": {"piid": "P1"},
        "c": {"piid": "C2"},
    }


async def test_lead_takes_a_plain_string_as_itas_own_lead_id() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, '{ a: lead(id: "L4") { leadId } b: lead(id: "no-such-lead") { leadId } }')
    assert outcome.errors == []
    assert outcome.data == {"a": {"leadId": "L4"}, "b": None}
    assert [r[1]["key"] for r in upstreams.client("ita").requests] == ["L4", "no-such-lead"]


async def test_lead_given_another_types_id_is_bad_user_input_and_asks_nobody() -> None:
    upstreams = standard_upstreams()
    ids = await first_ids(upstreams)
    before = upstreams.total_calls()
    for other in (ids["tenders"], ids["sam"], legacy_id("Tender", "T1", "N7601"), legacy_id("Contract", "SAM", "P1")):
        outcome = await execute(upstreams, "query($id: ID!) { lead(id: $id) { leadId } }", {"id": other})
        assert outcome.codes == ["BAD_USER_INPUT"]
        assert outcome.data == {"lead": None}
        assert "not of a Lead" in outcome.errors[0].message
    assert upstreams.total_calls() == before


async def test_tender_and_contract_refuse_ids_of_other_types() -> None:
    upstreams = standard_upstreams()
    ids = await first_ids(upstreams)
    before = upstreams.total_calls()
    outcome = await execute(
        upstreams,
        "query($l: ID!, $t: ID!) { tender(id: $l) { reference } contract(id: $t) { piid } }",
        {"l": ids["leads"], "t": ids["tenders"]},
    )
    assert outcome.codes == ["BAD_USER_INPUT", "BAD_USER_INPUT"]
    assert upstreams.total_calls() == before


@pytest.mark.parametrize(
    ("global_id", "code", "message"),
    [
        (new_id("Tender", "mars", "T1"), "BAD_USER_INPUT", "does not know"),
        (new_id("Tender", "sam", "T1"), "BAD_USER_INPUT", "has no Tender"),
        (new_id("Contract", "ita", "P1"), "BAD_USER_INPUT", "has no Contract"),
        (new_id("Widget", "sam", "W1"), "NOT_FOUND", "no object of type 'Widget'"),
        (legacy_id("Widget", "W1"), "NOT_FOUND", "no object of type 'Widget'"),
        ("%%%", "BAD_USER_INPUT", "not a global id"),
    ],
)
async def test_ids_naming_what_cannot_be_asked_are_refused(global_id: str, code: str, message: str) -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
    assert outcome.codes == [code]
    assert message in outcome.errors[0].message
    assert upstreams.total_calls() == 0


async def test_an_id_naming_an_upstream_not_configured_is_not_found() -> None:
    ids = await first_ids(standard_upstreams())
    upstreams = standard_upstreams(unconfigured=("canada", "ita"))
    for query, global_id in (
        ("query($id: ID!) { tender(id: $id) { reference } }", ids["tenders"]),
        ("query($id: ID!) { node(id: $id) { id } }", ids["canada"]),
        ("query($id: ID!) { lead(id: $id) { leadId } }", "L1"),
    ):
        outcome = await execute(upstreams, query, {"id": global_id})
        assert outcome.codes == ["NOT_FOUND"]
        assert "not configured" in outcome.errors[0].message
    assert upstreams.total_calls() == 0


async def test_award_family_root_field() -> None:
    upstreams = standard_upstreams()
    outcome = await execute(upstreams, '{ awardFamily(piid: " P2 ") { piid count } }')
    assert outcome.data == {"awardFamily": {"piid": "P2", "count": 3}}
    outcome = await execute(upstreams, '{ awardFamily(piid: "  ") { piid } }')
    assert outcome.codes == ["BAD_USER_INPUT"]
    assert upstreams.client("sam").calls["award_family"] == 1
    unconfigured = standard_upstreams(unconfigured=("sam",))
    outcome = await execute(unconfigured, '{ awardFamily(piid: "P2") { piid } }')
    assert outcome.codes == ["NOT_FOUND"]
