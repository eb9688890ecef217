"""The Canadian procurement dataset: generation, recorded samples, the catalogue's search rules, rendering."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from sandbox import canada_vocabulary as vocab
from sandbox.canada import TENDERS_PAGE, query_tokens, render_csv, render_html, render_json, tender_filters
from sandbox.canada_data import dataset_for, generate_contracts, generate_tenders
from sandbox.canada_records import Catalogue, ContractRecord, Filters, Searchable, TenderNotice, searchable_words
from sandbox.canada_samples import SampleFormatError, recorded_contracts, recorded_tenders, samples_folder
from sandbox.settings import SandboxSettings

TODAY = date(2026, 5, 1)
SETTINGS = SandboxSettings(seed=7, today=TODAY)
TENDER_ID = re.compile(r"PW-(\$\$[A-Z]{2}-\d{3}-\d{5}|\$[A-Z]{3}-\d{3}-\d{4}|\d{2}-\d{8})")
SOLICITATION = re.compile(r"[A-Z0-9]{5}-\d{6}/[A-H]")
CONTRACT_ID = re.compile(r"[A-Z0-9]{5}-\d{6}/\d{3}/[A-Z]{2,3}")
GSIN_CODES = {g.code for g in vocab.GSINS}
DEPARTMENTS = {(d.name_en, d.name_fr) for d in vocab.DEPARTMENTS}


# --- generation -----------------------------------------------------------------------------------------------


def test_the_dataset_is_memoised_per_settings() -> None:
    assert dataset_for(SETTINGS) is dataset_for(SandboxSettings(seed=7, today=TODAY))
    assert dataset_for(SETTINGS) is not dataset_for(replace(SETTINGS, seed=8))
    assert dataset_for(SETTINGS) is not dataset_for(replace(SETTINGS, today=TODAY + timedelta(days=1)))


def test_generation_is_deterministic_per_seed() -> None:
    first = [t for t, _ in generate_tenders(7, 200, TODAY)]
    assert first == [t for t, _ in generate_tenders(7, 200, TODAY)]
    assert first != [t for t, _ in generate_tenders(8, 200, TODAY)]
    contracts = [c for c, _ in generate_contracts(7, 200, TODAY)]
    assert contracts == [c for c, _ in generate_contracts(7, 200, TODAY)]


@pytest.mark.parametrize("scale", [1, 2])
def test_each_resource_has_records_per_source_records(scale: int) -> None:
    dataset = dataset_for(replace(SETTINGS, scale=scale))
    assert len(dataset.tenders) == len(dataset.contracts) == 3000 * scale
    assert not dataset.recorded


def test_generated_tenders_look_like_buyandsell_notices() -> None:
    tenders = dataset_for(SETTINGS).tenders.records
    assert len({t.tender for t in tenders}) == len(tenders)
    latest = (TODAY + timedelta(days=75)).isoformat()
    for tender in tenders:
        assert TENDER_ID.fullmatch(tender.tender), tender.tender
        assert tender.solicitation_number
        assert SOLICITATION.fullmatch(tender.solicitation_number)
        assert tender.title_en
        assert tender.title_en.endswith(f"({tender.solicitation_number})")
        assert tender.title_fr
        assert tender.title_fr.endswith(f"({tender.solicitation_number})")
        assert (tender.buyer_en, tender.buyer_fr) in DEPARTMENTS
        assert tender.date_closing
        assert TODAY.isoformat() <= tender.date_closing <= latest
        assert tender.gsins
        assert set(tender.gsins) <= GSIN_CODES
        assert list(tender.gsins) == sorted(tender.gsins)
        assert tender.regions_delivery
        assert set(tender.regions_delivery) <= vocab.REGION_CODES
        assert set(tender.regions_opportunity) <= vocab.REGION_CODES
    assert {t.tender[:4] for t in tenders} >= {"PW-$", "PW-2"}
    assert sum(len(t.gsins) > 1 for t in tenders) > 300
    assert sum(t.title_en != t.title_fr for t in tenders) > 2900
    assert {code for t in tenders for code in t.regions_delivery} == vocab.REGION_CODES


def test_generated_contracts_look_like_contract_history() -> None:
    contracts = dataset_for(SETTINGS).contracts.records
    gsins = {g.code: g for g in vocab.GSINS}
    suppliers = {(s.name, s.city, s.region) for s in vocab.SUPPLIERS}
    assert len({c.contract for c in contracts}) == len(contracts)
    for contract in contracts:
        assert CONTRACT_ID.fullmatch(contract.contract), contract.contract
        assert contract.gsin in gsins
        assert (contract.title_en, contract.title_fr) == (
            gsins[contract.gsin].description_en,
            gsins[contract.gsin].description_fr,
        )
        assert (contract.buyer_en, contract.buyer_fr) in DEPARTMENTS
        assert (contract.supplier, contract.supplier_city, contract.supplier_region) in suppliers
        assert contract.date_awarded
        assert contract.date_expires
        assert contract.date_awarded <= TODAY.isoformat() < contract.date_expires
        assert contract.value
        assert re.fullmatch(r"\d+\.\d{2}", contract.value)
    assert any(c.value == "0.00" for c in contracts)
    assert max(float(c.value or 0) for c in contracts) > 1_000_000


# --- recorded samples -----------------------------------------------------------------------------------------


def test_samples_folder_is_found_from_the_root_or_the_upstream_folder(samples_dir: Path, tmp_path: Path) -> None:
    folder = samples_folder(samples_dir)
    assert folder == samples_dir / "canada-procurement" / "procurement-data-api"
    assert samples_folder(samples_dir / "canada-procurement") == folder
    with pytest.raises(FileNotFoundError):
        samples_folder(tmp_path)


def test_raw_tender_rows_merge_like_the_peer_test(samples_dir: Path) -> None:
    tenders = {t.tender: t for t, _ in recorded_tenders(samples_folder(samples_dir))}
    merged = tenders["PW-$$ZT-009-27511"]
    assert merged.solicitation_number == "E60ZT-120001/E"
    assert set(merged.gsins) == {"D302A", "R019BF"}
    assert set(merged.regions_delivery) == {
        "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT", "NCR"
    }  # fmt: skip
    assert set(merged.regions_opportunity) == {"ON", "QC"}
    assert merged.date_closing == "2016-12-30"
    assert (merged.buyer_en, merged.buyer_fr) == (
        "Public Works and Government Services Canada",
        "Travaux publics et Services gouvernementaux Canada",
    )
    assert merged.emitted is None
    assert tenders["PW-$$ZL-102-25299"].emitted == frozenset(
        {"tender", "title_en", "title_fr", "gsins", "regions_delivery", "regions_opportunity", "url_en", "url_fr"}
    )


def test_raw_contract_rows_read_like_the_peer_test(samples_dir: Path) -> None:
    contracts = [c for c, _ in recorded_contracts(samples_folder(samples_dir))]
    first = contracts[0]
    assert first == ContractRecord(
        contract="W2213-050347/077/ZM",
        title_en="Informatics Professional Services",
        title_fr="Services professionnels, informatique",
        date_awarded="2012-02-08",
        date_expires="2016-09-17",
        value="0.00",
        supplier="TEAM ACT",
        supplier_city="Ottawa",
        supplier_region="Ontario",
        buyer_en="Department of National Defence",
        buyer_fr="Ministère de la défense nationale",
        gsin="D302A",
    )
    repeated = [c for c in contracts if c.contract == "W3931-110059/001/PV"]
    assert len(repeated) == 1
    assert repeated[0].value == "22594.00"  # the later row updates all but the expiry date


def test_recorded_samples_words_include_descriptions(samples_dir: Path) -> None:
    dataset = dataset_for(SandboxSettings(samples_dir=samples_dir))
    assert dataset.recorded
    [found] = dataset.tenders.find(Filters(keywords=["DESCRIPTION"]), limit=100)
    assert found.tender == "PW-$$ZT-009-27511"  # '<Description française>' is only in the raw rows


def test_an_unknown_region_name_in_the_raw_tenders_fails_loudly(samples_dir: Path, tmp_path: Path) -> None:
    source = samples_folder(samples_dir) / "tests/files/tenders.csv"
    folder = tmp_path / "procurement-data-api"
    (folder / "tests/files").mkdir(parents=True)
    (folder / "tests/files/tenders.csv").write_text(
        source.read_text(encoding="utf-8-sig").replace("Ontario,Quebec", "Ontario,Atlantis"), encoding="utf-8"
    )
    with pytest.raises(SampleFormatError, match="Atlantis"):
        recorded_tenders(folder)


# --- catalogue search rules -----------------------------------------------------------------------------------


def _tender(
    tender: str, closing: str | None, gsins: tuple[str, ...], delivery: tuple[str, ...], title: str
) -> tuple[TenderNotice, Searchable]:
    notice = TenderNotice(tender, None, title, None, None, None, closing, gsins, delivery, ())
    return notice, Searchable(closing, gsins, searchable_words(title), {"delivery": delivery, "opportunity": ()})


CATALOGUE = Catalogue(
    [
        _tender("C", "2026-05-03", ("N7610AA", "V201A"), ("ON",), "Printing of books"),
        _tender("A", "2026-05-01", ("N7110",), ("QC",), "Office Furniture for Québec"),
        _tender("N", None, ("R109D",), ("NCR",), "Translation services"),
        _tender("B", "2026-05-02", ("N7690",), ("ON", "QC"), "Printed matter, l'Édifice"),
    ]
)


def _ids(filters: Filters, *, limit: int = 100, not_before: str | None = None) -> list[str]:
    return [t.tender for t in CATALOGUE.find(filters, limit=limit, not_before=not_before)]


def test_records_are_ordered_by_date_with_nulls_first_and_capped() -> None:
    assert _ids(Filters()) == ["N", "A", "B", "C"]
    assert _ids(Filters(), limit=2) == ["N", "A"]
    assert _ids(Filters(), not_before="2026-05-02") == ["B", "C"]
    assert _ids(Filters(gsins=["N"]), not_before="2026-05-02") == ["B", "C"]


def test_gsins_match_by_prefix_and_or_within() -> None:
    assert _ids(Filters(gsins=["N76"])) == ["B", "C"]
    assert _ids(Filters(gsins=["N7610AA"])) == ["C"]
    assert _ids(Filters(gsins=["N71", "R"])) == ["N", "A"]
    assert _ids(Filters(gsins=["7610"])) == []  # a prefix, not a substring


def test_conditions_are_anded_across_parameters() -> None:
    assert _ids(Filters(gsins=["N"], regions={"delivery": ["QC"]})) == ["A", "B"]
    assert _ids(Filters(gsins=["N"], regions={"delivery": ["QC"]}, keywords=["printed"])) == ["B"]
    assert _ids(Filters(regions={"delivery": ["NCR", "ON"], "opportunity": []})) == ["N", "B", "C"]
    assert _ids(Filters(regions={"opportunity": ["CAN"]})) == []


def test_keywords_match_whole_words_without_accents_or_case() -> None:
    assert _ids(Filters(keywords=["QUEBEC"])) == ["A"]
    assert _ids(Filters(keywords=["edifice"])) == ["B"]
    assert _ids(Filters(keywords=["PRINT"])) == []  # whole words only
    assert _ids(Filters(keywords=["BOOKS TRANSLATION"])) == ["N", "C"]  # any word of a keyword
    assert _ids(Filters(keywords=["FURNITURE", "MATTER"])) == ["A", "B"]
    assert _ids(Filters(keywords=["OF", "THE", "L"])) == []  # short words and stopwords are not indexed


def test_searchable_words_fold_accents_and_drop_short_words_and_stopwords() -> None:
    assert searchable_words("Équipement d'affrètement for the Île") == {"EQUIPEMENT", "AFFRETEMENT", "ILE"}
    assert searchable_words("EH900-160791/A") == {"EH900", "160791"}


# --- query parsing and rendering ------------------------------------------------------------------------------


def test_query_tokens_are_trimmed_upper_cased_and_empties_dropped() -> None:
    assert query_tokens({"gsins": " n76 , v2,,"}, "gsins") == ("N76", "V2")
    assert query_tokens({}, "gsins") == ()
    filters = tender_filters({"delivery": "on,x-int", "opportunity": "", "lang": "fr"})
    assert filters.regions == {"delivery": ("ON", "X-INT"), "opportunity": ()}
    assert filters.gsins == filters.keywords == ()


def test_csv_joins_lists_in_one_quoted_cell_and_leaves_missing_values_empty() -> None:
    full = TenderNotice("PW-$$FE-1", "S", "T", "U", "B", "C", "2026-05-01", ("A1", "B2"), ("ON", "QC"), ())
    old = full._replace(tender="PW-2", emitted=frozenset({"tender", "gsins"}))
    header = ("tender", "gsins", "regions_opportunity", "date_closing")
    text = render_csv([full, old], header)
    assert text.splitlines() == [
        "tender,gsins,regions_opportunity,date_closing",
        'PW-$$FE-1,"A1,B2",,2026-05-01',
        'PW-2,"A1,B2",,',
    ]
    assert list(csv.reader(io.StringIO(text)))[1] == ["PW-$$FE-1", "A1,B2", "", "2026-05-01"]


def test_json_is_a_bare_indented_array() -> None:
    assert render_json([]) == "[]"
    contract = ContractRecord("21K01-022267/001/PQ", "T", "U", "2013-04-29", "2015-10-30", "1.00", "S", "C", "R",
                              "B", "D", "N7110")  # fmt: skip
    text = render_json([contract])
    assert text.startswith('[\n  {\n    "contract": "21K01-022267/001/PQ",')
    assert '"url_en": "https://buyandsell.gc.ca/procurement-data/contract-history/21K01-022267-001-PQ"' in text


def test_html_escapes_text_and_links_titles() -> None:
    tender = TenderNotice("PW-$$FE-1", "S", "A <b> & c", "l'été", "B", "C", None, ("A1",), (), ())
    page = render_html([tender], TENDERS_PAGE, "en")
    assert '<a href="https://buyandsell.gc.ca/procurement-data/tender-notice/PW-FE-1">A &lt;b&gt; &amp; c</a>' in page
    assert "l&#x27;été" in render_html([tender], TENDERS_PAGE, "fr")
