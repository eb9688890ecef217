"""The recorded Canadian procurement data: raw BuyAndSell CSV rows and the responses recorded in the docs.

The CSV files are read the way the original loader read them (`bas/input.py`): tender EN+FR row pairs merged by
`reference_number`, regions mapped to codes, GSIN codes cut out of `gsin`; contract rows with hyphenated columns,
a repeated contract number updating the earlier row except its expiry date (`on duplicate key update`).
The recorded JSON responses are served as the API emitted them (older tender responses lack some fields).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sandbox.canada_records import (
    CONTRACT_FIELDS,
    TENDER_FIELDS,
    ContractRecord,
    Searchable,
    TenderNotice,
    searchable_words,
)
from sandbox.canada_vocabulary import REGION_CODE_BY_NAME

SAMPLES_FOLDER = Path("canada-procurement") / "procurement-data-api"
RAW_TENDERS = Path("tests/files/tenders.csv")
RAW_CONTRACTS = Path("tests/files/contracts.csv")
RECORDED_TENDERS = (Path("examples/README.tenders.json"), Path("examples/FORMAT.tender.json"))
RECORDED_CONTRACTS = (Path("examples/README.contracts.json"), Path("examples/FORMAT.contract.json"))

_GSIN_CODE = re.compile(r"([A-Z][A-Z0-9]+):")
_CLOSING = re.compile(r"^(2\d{3}-\d{2}-\d{2})\s*(\d{2}:\d{2})\s*(.+)$")
_REGION_SEPARATOR = re.compile(r",\s*")


class SampleFormatError(ValueError):
    """A recorded sample does not have the shape the original loader expected."""


def samples_folder(samples_dir: Path) -> Path:
    """The procurement-data-api folder, given the samples root or the canada-procurement folder itself."""
    for candidate in (samples_dir / SAMPLES_FOLDER, samples_dir / SAMPLES_FOLDER.name, samples_dir):
        if (candidate / RAW_TENDERS).is_file():
            return candidate
    raise FileNotFoundError(f"no Canadian procurement samples under {samples_dir}")


def recorded_tenders(folder: Path) -> list[tuple[TenderNotice, Searchable]]:
    entries = {tender.tender: (tender, words) for tender, words in _raw_tenders(folder / RAW_TENDERS)}
    for path in RECORDED_TENDERS:
        for document in _json_objects(folder / path):
            tender = _recorded_tender(document)
            words = searchable_words(" ".join(filter(None, (tender.title_en, tender.title_fr))))
            entries.setdefault(tender.tender, (tender, words))
    return [(tender, _tender_searchable(tender, words)) for tender, words in entries.values()]


def recorded_contracts(folder: Path) -> list[tuple[ContractRecord, Searchable]]:
    entries = {contract.contract: contract for contract in _raw_contracts(folder / RAW_CONTRACTS)}
    for path in RECORDED_CONTRACTS:
        for document in _json_objects(folder / path):
            contract = _recorded_contract(document)
            entries.setdefault(contract.contract, contract)
    return [(contract, contract_searchable(contract)) for contract in entries.values()]


def contract_searchable(contract: ContractRecord) -> Searchable:
    text = " ".join(
        filter(
            None,
            (
                contract.title_en,
                contract.title_fr,
                contract.supplier,
                contract.supplier_city,
                contract.supplier_region,
                contract.buyer_en,
                contract.buyer_fr,
            ),
        )
    )
    return Searchable(contract.date_expires, (contract.gsin,) if contract.gsin else (), searchable_words(text), {})


def _tender_searchable(tender: TenderNotice, words: frozenset[str]) -> Searchable:
    regions = {"delivery": tender.regions_delivery, "opportunity": tender.regions_opportunity}
    return Searchable(tender.date_closing, tender.gsins, words, regions)


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        yield from csv.DictReader(stream)


def _raw_tenders(path: Path) -> Iterator[tuple[TenderNotice, frozenset[str]]]:
    group: list[dict[str, str]] = []
    for row in _csv_rows(path):
        if group and row["reference_number"] != group[0]["reference_number"]:
            yield _merged_tender(group)
            group = []
        group.append(row)
    if group:
        yield _merged_tender(group)


def _merged_tender(rows: list[dict[str, str]]) -> tuple[TenderNotice, frozenset[str]]:
    by_language = {"en" if row["language"] == "English" else "fr": row for row in rows}
    english, french = by_language.get("en", {}), by_language.get("fr", {})
    first = rows[0]
    tender = TenderNotice(
        tender=first["reference_number"],
        solicitation_number=first["solicitation_number"],
        title_en=english.get("title"),
        title_fr=french.get("title"),
        buyer_en=english.get("end_user_entity"),
        buyer_fr=french.get("end_user_entity"),
        date_closing=_closing_date(first["date_closing"]),
        gsins=_first_nonempty(rows, "gsin", _gsin_codes),
        regions_delivery=_first_nonempty(rows, "region_delivery", _region_codes),
        regions_opportunity=_first_nonempty(rows, "region_opportunity", _region_codes),
    )
    text = " ".join(row[column] for row in rows for column in ("title", "description"))
    return tender, searchable_words(text)


def _first_nonempty(
    rows: list[dict[str, str]], column: str, parse: Callable[[str], tuple[str, ...]]
) -> tuple[str, ...]:
    for row in rows:
        values = parse(row[column])
        if values:
            return values
    return ()


def _closing_date(value: str) -> str:
    found = _CLOSING.match(value)
    if found is None:
        raise SampleFormatError(f"unparseable closing date: {value!r}")
    return found.group(1)


def _gsin_codes(value: str) -> tuple[str, ...]:
    return tuple(sorted({code.upper() for code in _GSIN_CODE.findall(value)}))


def _region_codes(value: str) -> tuple[str, ...]:
    codes: set[str] = set()
    for name in _REGION_SEPARATOR.split(value):
        if not name:
            continue
        if name not in REGION_CODE_BY_NAME:
            raise SampleFormatError(f"unknown region name: {name!r}")
        code = REGION_CODE_BY_NAME[name]
        if code:
            codes.add(code)
    return tuple(sorted(codes))


def _raw_contracts(path: Path) -> Iterator[ContractRecord]:
    loaded: dict[str, ContractRecord] = {}
    for row in _csv_rows(path):
        contract = ContractRecord(
            contract=row["contract-number"],
            title_en=row.get("gsin-description_en"),
            title_fr=row.get("gsin-description_fr"),
            date_awarded=row.get("award-date"),
            date_expires=row.get("expiry-date"),
            value=row.get("total-contract-value"),
            supplier=(
                row.get("supplier-standardized-name")
                or row.get("supplier-operating-name")
                or row.get("supplier-legal-name")
            ),
            supplier_city=row.get("supplier-address-city"),
            supplier_region=row.get("supplier-address-prov-state"),
            buyer_en=row.get("end-user-entity_en"),
            buyer_fr=row.get("end-user-entity_fr"),
            gsin=row.get("gsin"),
        )
        earlier = loaded.get(contract.contract)
        loaded[contract.contract] = (
            contract if earlier is None else contract._replace(date_expires=earlier.date_expires)
        )
    yield from loaded.values()


def _json_objects(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    objects = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in objects):
        raise SampleFormatError(f"{path} holds no JSON objects")
    return objects


def _text(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    return value if isinstance(value, str) else None


def _codes(document: dict[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name) or []
    return tuple(str(item) for item in value)


def _emitted(document: dict[str, Any], fields: tuple[str, ...]) -> frozenset[str] | None:
    # URLs are generated from the id, so a record always had both (FORMAT.md's contract example lost `url_fr`).
    emitted = frozenset(document) | {"url_en", "url_fr"}
    return None if emitted >= set(fields) else emitted


def _recorded_tender(document: dict[str, Any]) -> TenderNotice:
    return TenderNotice(
        tender=str(document["tender"]),
        solicitation_number=_text(document, "solicitation_number"),
        title_en=_text(document, "title_en"),
        title_fr=_text(document, "title_fr"),
        buyer_en=_text(document, "buyer_en"),
        buyer_fr=_text(document, "buyer_fr"),
        date_closing=_text(document, "date_closing"),
        gsins=_codes(document, "gsins"),
        regions_delivery=_codes(document, "regions_delivery"),
        regions_opportunity=_codes(document, "regions_opportunity"),
        emitted=_emitted(document, TENDER_FIELDS),
    )


def _recorded_contract(document: dict[str, Any]) -> ContractRecord:
    gsins = _codes(document, "gsins")
    return ContractRecord(
        contract=str(document["contract"]),
        title_en=_text(document, "title_en"),
        title_fr=_text(document, "title_fr"),
        date_awarded=_text(document, "date_awarded"),
        date_expires=_text(document, "date_expires"),
        value=_text(document, "value"),
        supplier=_text(document, "supplier"),
        supplier_city=_text(document, "supplier_city"),
        supplier_region=_text(document, "supplier_region"),
        buyer_en=_text(document, "buyer_en"),
        buyer_fr=_text(document, "buyer_fr"),
        gsin=gsins[0] if gsins else None,
        emitted=_emitted(document, CONTRACT_FIELDS),
    )
