"""The Canadian procurement imitation over HTTP, against the recorded responses and the rules of UPSTREAMS §2."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_harness import RunningSandbox

EXAMPLES = Path("canada-procurement/procurement-data-api/examples")
TENDER_CSV_HEADER = (
    "tender,title_en,title_fr,buyer_en,buyer_fr,gsins,regions_delivery,regions_opportunity,url_en,url_fr,date_closing"
)
CONTRACT_CSV_HEADER = (
    "contract,title_en,title_fr,date_awarded,date_expires,value,supplier,supplier_city,supplier_region,"
    "buyer_en,buyer_fr,gsins,url_en,url_fr"
)
LIST_FIELDS = {"gsins", "regions_delivery", "regions_opportunity"}


def recorded(samples_dir: Path, name: str) -> Any:
    return json.loads((samples_dir / EXAMPLES / name).read_text(encoding="utf-8"))


def recorded_lines(samples_dir: Path, name: str) -> list[str]:
    return (samples_dir / EXAMPLES / name).read_text(encoding="utf-8").splitlines()


async def get(sandbox: RunningSandbox, path: str) -> tuple[int, dict[str, str], str]:
    async with sandbox.session.get(sandbox.url(path)) as response:
        return response.status, dict(response.headers), await response.text()


async def get_json(sandbox: RunningSandbox, path: str) -> list[dict[str, Any]]:
    status, headers, body = await get(sandbox, path)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    data = json.loads(body)
    assert isinstance(data, list)
    return data


async def get_csv(sandbox: RunningSandbox, path: str) -> list[list[str]]:
    status, headers, body = await get(sandbox, path)
    assert status == 200, body
    assert headers["Content-Type"] == "text/csv;charset=UTF-8"
    return list(csv.reader(io.StringIO(body)))


def shape(record: dict[str, Any]) -> dict[str, str]:
    """Each key with the JSON type of its value (list items included)."""
    return {
        key: f"list[{','.join(sorted({type(item).__name__ for item in value}))}]"
        if isinstance(value, list)
        else type(value).__name__
        for key, value in record.items()
    }


def today() -> date:
    return datetime.now(UTC).date()


# --- recorded samples -----------------------------------------------------------------------------------------


async def test_readme_tender_query_answers_the_recorded_response(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    served = await get_json(sample_sandbox, "tenders.json?gsins=N76,V2&delivery=ON,QC,NCR,CAN")
    assert served == recorded(samples_dir, "README.tenders.json")


async def test_readme_contract_query_answers_the_recorded_response(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    served = await get_json(sample_sandbox, "contracts.json?keywords=baking")
    assert served == recorded(samples_dir, "README.contracts.json")


async def test_readme_contract_csv_matches_the_recorded_csv_apart_from_its_later_capture(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    served = await get_csv(sample_sandbox, "contracts.csv?keywords=baking")
    recorded_rows = list(csv.reader(recorded_lines(samples_dir, "README.contracts.csv")))
    assert served[0] == recorded_rows[0]
    supplier = recorded_rows[0].index("supplier")
    assert len(served) == 6  # the JSON capture had 5 contracts, the later CSV capture 9
    for served_row, recorded_row in zip(served[1:], recorded_rows[1:], strict=False):
        # Suppliers were renamed between the two captures ("Mil-Quip Groupe Tulmar Inc." -> upper case).
        assert served_row[supplier].upper().rstrip(".") == recorded_row[supplier].upper().rstrip(".")
        assert (
            served_row[:supplier] + served_row[supplier + 1 :] == recorded_row[:supplier] + recorded_row[supplier + 1 :]
        )


async def test_format_tender_example_is_served_as_documented(sample_sandbox: RunningSandbox, samples_dir: Path) -> None:
    assert await get_json(sample_sandbox, "tenders.json?gsins=C219DA") == [recorded(samples_dir, "FORMAT.tender.json")]
    status, _, body = await get(sample_sandbox, "tenders.csv?gsins=C219DA")
    assert status == 200
    assert body.splitlines() == recorded_lines(samples_dir, "FORMAT.tender.csv")


async def test_format_contract_example_is_served_as_documented(
    sample_sandbox: RunningSandbox, samples_dir: Path
) -> None:
    example = recorded(samples_dir, "FORMAT.contract.json")
    assert "url_fr" not in example  # FORMAT.md lost this line; the API always generated it
    expected_fr = "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/contrats-octroyes/21K01-022267-001-PQ"
    assert await get_json(sample_sandbox, "contracts.json?gsins=N7110") == [{**example, "url_fr": expected_fr}]
    status, _, body = await get(sample_sandbox, "contracts.csv?gsins=N7110")
    assert status == 200
    assert body.splitlines() == recorded_lines(samples_dir, "FORMAT.contract.csv")


async def test_raw_tender_rows_are_merged_like_the_peer_test(sample_sandbox: RunningSandbox) -> None:
    [tender] = await get_json(sample_sandbox, "tenders.json?gsins=D302A")
    assert tender == {
        "tender": "PW-$$ZT-009-27511",
        "solicitation_number": "E60ZT-120001/E",
        "title_en": "ProServices/ProServices (E60ZT-120001/E)",
        "title_fr": "Services Pro (E60ZT-120001/E)",
        "buyer_en": "Public Works and Government Services Canada",
        "buyer_fr": "Travaux publics et Services gouvernementaux Canada",
        "date_closing": "2016-12-30",
        "gsins": ["D302A", "R019BF"],
        "regions_delivery": ["AB", "BC", "MB", "NB", "NCR", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"],
        "regions_opportunity": ["ON", "QC"],
        "url_en": "https://buyandsell.gc.ca/procurement-data/tender-notice/PW-ZT-009-27511",
        "url_fr": "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/appels-d-offres/PW-ZT-009-27511",
    }


async def test_raw_contract_rows_are_read_like_the_peer_test(sample_sandbox: RunningSandbox) -> None:
    [contract] = await get_json(sample_sandbox, "contracts.json?gsins=D302A")
    assert contract == {
        "contract": "W2213-050347/077/ZM",
        "title_en": "Informatics Professional Services",
        "title_fr": "Services professionnels, informatique",
        "date_awarded": "2012-02-08",
        "date_expires": "2016-09-17",
        "value": "0.00",
        "supplier": "TEAM ACT",
        "supplier_city": "Ottawa",
        "supplier_region": "Ontario",
        "buyer_en": "Department of National Defence",
        "buyer_fr": "Ministère de la défense nationale",
        "gsins": ["D302A"],
        "url_en": "https://buyandsell.gc.ca/procurement-data/contract-history/W2213-050347-077-ZM",
        "url_fr": "https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/contrats-octroyes/W2213-050347-077-ZM",
    }


async def test_recorded_data_is_never_filtered_by_today(sample_sandbox: RunningSandbox) -> None:
    tenders = await get_json(sample_sandbox, "tenders.json")
    contracts = await get_json(sample_sandbox, "contracts.json")
    assert len(tenders) == 7  # 1 merged raw tender, 5 README records, 1 FORMAT record
    assert len(contracts) == 14  # 8 raw contracts (one repeated), 5 README records, 1 FORMAT record
    assert contracts[0]["contract"] == "W0142-10B121/001/STN"  # expired in 2009
    assert [c["contract"] for c in contracts].count("W3931-110059/001/PV") == 1
    # MySQL sorts null closing dates first: the README records carried none.
    assert [t.get("date_closing") for t in tenders] == [None] * 5 + ["2015-11-16", "2016-12-30"]
    expiries = [c["date_expires"] for c in contracts]
    assert expiries == sorted(expiries)


async def test_recorded_records_have_the_recorded_key_sets(sample_sandbox: RunningSandbox, samples_dir: Path) -> None:
    tender_keys = set(recorded(samples_dir, "FORMAT.tender.json"))
    old_tender_keys = set(recorded(samples_dir, "README.tenders.json")[0])
    contract_keys = set(recorded(samples_dir, "README.contracts.json")[0])
    for tender in await get_json(sample_sandbox, "tenders.json"):
        assert set(tender) in (tender_keys, old_tender_keys)
    for contract in await get_json(sample_sandbox, "contracts.json"):
        assert set(contract) == contract_keys


# --- generated data: shapes -----------------------------------------------------------------------------------


async def test_generated_tenders_have_the_recorded_keys_and_types(sandbox: RunningSandbox, samples_dir: Path) -> None:
    example = shape(recorded(samples_dir, "FORMAT.tender.json"))
    example["regions_opportunity"] = "list[str]"  # empty in the example
    tenders = await get_json(sandbox, "tenders.json")
    assert len(tenders) == 100
    assert {key for t in tenders for key in t} == set(example)
    for tender in tenders:
        observed = shape(tender)
        for key in LIST_FIELDS:
            if not tender[key]:
                observed[key] = "list[str]"
        assert observed == example
    assert all(len(t["gsins"]) >= 1 for t in tenders)


async def test_generated_contracts_have_the_recorded_keys_and_types(sandbox: RunningSandbox, samples_dir: Path) -> None:
    example = shape(recorded(samples_dir, "README.contracts.json")[0])
    assert set(recorded(samples_dir, "FORMAT.contract.json")) < set(example)
    contracts = await get_json(sandbox, "contracts.json")
    assert len(contracts) == 100
    for contract in contracts:
        assert shape(contract) == example
        assert len(contract["gsins"]) == 1
        assert re.fullmatch(r"\d+\.\d{2}", contract["value"])


async def test_csv_headers_are_those_of_the_format_spec(sandbox: RunningSandbox, samples_dir: Path) -> None:
    tenders = await get_csv(sandbox, "tenders.csv")
    contracts = await get_csv(sandbox, "contracts.csv")
    assert ",".join(tenders[0]) == TENDER_CSV_HEADER == recorded_lines(samples_dir, "FORMAT.tender.csv")[0]
    assert ",".join(contracts[0]) == CONTRACT_CSV_HEADER == recorded_lines(samples_dir, "FORMAT.contract.csv")[0]
    assert "solicitation_number" not in tenders[0]


@pytest.mark.parametrize(("resource", "header"), [("tenders", TENDER_CSV_HEADER), ("contracts", CONTRACT_CSV_HEADER)])
async def test_csv_rows_carry_the_json_values_with_lists_joined_by_commas(
    sandbox: RunningSandbox, resource: str, header: str
) -> None:
    records = await get_json(sandbox, f"{resource}.json?gsins=N")
    rows = await get_csv(sandbox, f"{resource}.csv?gsins=N")
    columns = header.split(",")
    assert len(rows) == len(records) + 1
    for record, row in zip(records, rows[1:], strict=True):
        expected = [",".join(record[c]) if isinstance(record[c], list) else record[c] for c in columns]
        assert row == expected
    _status, _, body = await get(sandbox, f"{resource}.csv?gsins=N")
    joined = next(",".join(r["gsins"]) for r in records if len(r["gsins"]) > 1) if resource == "tenders" else None
    if joined is not None:
        assert f'"{joined}"' in body  # a list cell is one quoted CSV cell


# --- generated data: filters, order, cap ----------------------------------------------------------------------


async def test_tenders_are_open_and_ordered_by_closing_date(sandbox: RunningSandbox) -> None:
    tenders = await get_json(sandbox, "tenders.json")
    closing = [t["date_closing"] for t in tenders]
    assert closing == sorted(closing)
    assert closing[0] >= today().isoformat()


async def test_contracts_are_current_and_ordered_by_expiry(sandbox: RunningSandbox) -> None:
    contracts = await get_json(sandbox, "contracts.json")
    expiries = [c["date_expires"] for c in contracts]
    assert expiries == sorted(expiries)
    assert expiries[0] > today().isoformat()
    assert all(c["date_awarded"] <= today().isoformat() for c in contracts)


async def test_closed_tenders_drop_out_as_the_clock_moves(sandbox: RunningSandbox) -> None:
    later = today() + timedelta(days=30)
    await sandbox.set_clock(f"{later.isoformat()}T12:00:00+00:00")
    tenders = await get_json(sandbox, "tenders.json")
    assert tenders
    assert min(t["date_closing"] for t in tenders) == later.isoformat()


async def test_the_result_is_capped_at_100_rows_without_paging(sandbox: RunningSandbox) -> None:
    assert len(await get_json(sandbox, "tenders.json")) == 100
    assert len(await get_json(sandbox, "contracts.json?keywords=services")) == 100
    assert len(await get_csv(sandbox, "tenders.csv")) == 101
    assert await get_json(sandbox, "tenders.json?offset=100") == await get_json(sandbox, "tenders.json")


async def test_gsins_match_by_prefix_after_trimming_and_upper_casing(sandbox: RunningSandbox) -> None:
    tenders = await get_json(sandbox, "tenders.json?gsins=%20n76%20")
    assert tenders
    assert all(any(g.startswith("N76") for g in t["gsins"]) for t in tenders)
    assert {g for t in tenders for g in t["gsins"] if g.startswith("N76")} >= {"N7610AA", "N7610D", "N7690"}


async def test_tokens_are_ored_within_a_parameter_and_anded_across(sandbox: RunningSandbox) -> None:
    either = await get_json(sandbox, "contracts.json?gsins=N7110,R109")
    assert {c["gsins"][0] for c in either} == {"N7110", "R109D"}
    both = await get_json(sandbox, "tenders.json?gsins=N&delivery=QC")
    assert both
    assert all(any(g.startswith("N") for g in t["gsins"]) and "QC" in t["regions_delivery"] for t in both)
    three = await get_json(sandbox, "tenders.json?gsins=D3&delivery=ON,NCR&opportunity=CAN")
    assert three
    for tender in three:
        assert any(g.startswith("D3") for g in tender["gsins"])
        assert {"ON", "NCR"} & set(tender["regions_delivery"])
        assert "CAN" in tender["regions_opportunity"]


@pytest.mark.parametrize(
    ("parameter", "field"), [("delivery", "regions_delivery"), ("opportunity", "regions_opportunity")]
)
@pytest.mark.parametrize("code", ["NU", "NCR", "CAN", "INT"])
async def test_region_filters_match_region_codes(
    sandbox: RunningSandbox, parameter: str, field: str, code: str
) -> None:
    tenders = await get_json(sandbox, f"tenders.json?{parameter}={code.lower()}")
    assert tenders
    assert all(code in t[field] for t in tenders)


async def test_keywords_match_words_of_buyer_title_and_description(sandbox: RunningSandbox) -> None:
    tenders = await get_json(sandbox, "tenders.json?keywords=correctional,parks")
    assert {t["buyer_en"] for t in tenders} == {"Correctional Service of Canada", "Parks Canada"}
    contracts = await get_json(sandbox, "contracts.json?keywords=BAKING")
    assert contracts
    assert {c["title_en"] for c in contracts} == {"Food, Cooking, Baking and Serving Equipment"}


async def test_keywords_ignore_accents_and_case_and_search_french_text(sandbox: RunningSandbox) -> None:
    contracts = await get_json(sandbox, "contracts.json?keywords=deneigement")
    assert contracts
    assert {c["title_fr"] for c in contracts} == {"Services de déneigement"}
    suppliers = await get_json(sandbox, "contracts.json?keywords=tundra")
    assert suppliers
    assert {c["supplier"] for c in suppliers} == {"TUNDRA TELECOM INC"}


async def test_keywords_are_anded_with_gsins(sandbox: RunningSandbox) -> None:
    contracts = await get_json(sandbox, "contracts.json?keywords=ottawa&gsins=N7110")
    assert contracts
    assert all(c["supplier_city"] == "Ottawa" and c["gsins"] == ["N7110"] for c in contracts)


@pytest.mark.parametrize(
    "path",
    [
        "tenders.json?gsins=ZZZ",
        "tenders.json?keywords=xylophone",
        "tenders.json?delivery=ATLANTIS",
        "contracts.json?keywords=the",
        "contracts.json?gsins=N7110&keywords=deneigement",
    ],
)
async def test_no_match_answers_an_empty_array(sandbox: RunningSandbox, path: str) -> None:
    status, _, body = await get(sandbox, path)
    assert status == 200
    assert body == "[]"


async def test_unknown_parameters_and_empty_tokens_are_ignored(sandbox: RunningSandbox) -> None:
    everything = await get_json(sandbox, "tenders.json")
    assert await get_json(sandbox, "tenders.json?foo=bar&size=5&gsins=,%20,") == everything
    assert await get_json(sandbox, "contracts.json?delivery=NU") == await get_json(sandbox, "contracts.json")


async def test_json_is_indented_by_two_spaces(sandbox: RunningSandbox) -> None:
    _, _, body = await get(sandbox, "tenders.json?gsins=N7110")
    assert body.startswith('[\n  {\n    "tender": ')


# --- routes, errors, headers ----------------------------------------------------------------------------------


async def test_deprecated_tender_notices_alias_answers_like_tenders(sandbox: RunningSandbox) -> None:
    assert await get_json(sandbox, "tender-notices.json?gsins=R") == await get_json(sandbox, "tenders.json?gsins=R")
    assert await get_csv(sandbox, "tender-notices.csv") == await get_csv(sandbox, "tenders.csv")


@pytest.mark.parametrize("path", ["tenders.xml", "contracts.pdf", "tender-notices.txt", "tenders.JSON"])
async def test_unsupported_format_is_a_500_without_traceback(sandbox: RunningSandbox, path: str) -> None:
    status, headers, body = await get(sandbox, path)
    assert status == 500
    assert "Internal Server Error" in body
    assert "Traceback" not in body
    assert "File " not in body
    assert headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "path",
    [
        "tenders.json",
        "tenders.csv",
        "tenders.html",
        "contracts.json",
        "contracts.csv",
        "contracts.html",
        "tender-notices.json",
        "tenders.json?gsins=ZZZ",
    ],
)
async def test_every_answer_carries_the_cors_header(sandbox: RunningSandbox, path: str) -> None:
    status, headers, _ = await get(sandbox, path)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_no_authentication_is_needed(sandbox: RunningSandbox) -> None:
    async with sandbox.session.get(sandbox.url("contracts.json"), headers={"Authorization": "nonsense"}) as response:
        assert response.status == 200


async def test_urls_are_generated_from_the_ids(sandbox: RunningSandbox) -> None:
    tenders = await get_json(sandbox, "tenders.json")
    assert any("$" in t["tender"] for t in tenders)
    for tender in tenders:
        url_id = re.sub(r"[^A-Z0-9-]", "", tender["tender"])
        assert tender["url_en"] == f"https://buyandsell.gc.ca/procurement-data/tender-notice/{url_id}"
        assert tender["url_fr"] == (
            f"https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/appels-d-offres/{url_id}"
        )
    for contract in await get_json(sandbox, "contracts.json"):
        url_id = re.sub(r"[^A-Z0-9-]", "-", contract["contract"])
        assert "/" in contract["contract"]
        assert "/" not in url_id
        assert contract["url_en"] == f"https://buyandsell.gc.ca/procurement-data/contract-history/{url_id}"
        assert contract["url_fr"] == (
            f"https://achatsetventes.gc.ca/donnees-sur-l-approvisionnement/contrats-octroyes/{url_id}"
        )


async def test_html_is_a_table_in_the_asked_language(sandbox: RunningSandbox) -> None:
    [first, *_] = await get_json(sandbox, "tenders.json?gsins=N7110")
    status, headers, english = await get(sandbox, "tenders.html?gsins=N7110")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert '<html lang="en">' in english
    assert "<table>" in english
    assert "<th>Closing date</th>" in english
    assert f'<a href="{first["url_en"]}">' in english
    _, _, french = await get(sandbox, "tenders.html?gsins=N7110&lang=fr")
    assert '<html lang="fr">' in french
    assert "<th>Date de clôture</th>" in french
    assert f'<a href="{first["url_fr"]}">' in french
    _, _, contracts = await get(sandbox, "contracts.html?lang=fr&gsins=R109D")
    assert "<th>Fournisseur</th>" in contracts
    assert "Services de traduction" in contracts


async def test_html_says_when_nothing_matches(sandbox: RunningSandbox) -> None:
    _, _, english = await get(sandbox, "tenders.html?gsins=ZZZ")
    _, _, french = await get(sandbox, "contracts.html?gsins=ZZZ&lang=fr")
    assert "No tenders found." in english
    assert "<table>" not in english
    assert "Aucun contrat trouvé." in french


async def test_html_escapes_recorded_text(sample_sandbox: RunningSandbox) -> None:
    _, _, page = await get(sample_sandbox, "tenders.html?gsins=C219DA&lang=fr")
    assert "l&#x27;Édifice commémoratif" in page
