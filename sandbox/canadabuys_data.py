"""The CanadaBuys files the sandbox serves, generated from the Canadian imitation's seeded dataset in the live format.

The tender notices are the legacy imitation's tenders (same seed, same reference numbers, titles, buyers, GSINs,
regions and closing dates), written as CanadaBuys rows: the 67 bilingual columns, region names instead of codes,
`*`-prefixed multi-value cells, HTML entities in descriptions, closing times without an offset (UTC-05:00). Their
descriptions hold exactly the words the legacy imitation searches, so both answer one-word keyword filters alike.
Award notices (one file per fiscal year) and contract history rows come from the legacy contracts; one award in four
shares its solicitation number with a tender. Files start with a BOM and quote every field, like the live ones.

`revision` stands for a later publication: every twentieth notice and contract is amended (amendment `revision`).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from sandbox import canada_vocabulary as vocab
from sandbox.canada_data import generate_contracts, generate_tenders
from sandbox.canada_records import ContractRecord, TenderNotice, searchable_words

TENDER_HEADER: tuple[str, ...] = (
    "title-titre-eng",
    "title-titre-fra",
    "referenceNumber-numeroReference",
    "amendmentNumber-numeroModification",
    "solicitationNumber-numeroSollicitation",
    "publicationDate-datePublication",
    "tenderClosingDate-appelOffresDateCloture",
    "amendmentDate-dateModification",
    "expectedContractStartDate-dateDebutContratPrevue",
    "expectedContractEndDate-dateFinContratPrevue",
    "tenderStatus-appelOffresStatut-eng",
    "tenderStatus-appelOffresStatut-fra",
    "gsin-nibs",
    "gsinDescription-nibsDescription-eng",
    "gsinDescription-nibsDescription-fra",
    "unspsc",
    "unspscDescription-eng",
    "unspscDescription-fra",
    "procurementCategory-categorieApprovisionnement",
    "noticeType-avisType-eng",
    "noticeType-avisType-fra",
    "procurementMethod-methodeApprovisionnement-eng",
    "procurementMethod-methodeApprovisionnement-fra",
    "selectionCriteria-criteresSelection-eng",
    "selectionCriteria-criteresSelection-fra",
    "limitedTenderingReason-raisonAppelOffresLimite-eng",
    "limitedTenderingReason-raisonAppelOffresLimite-fra",
    "tradeAgreements-accordsCommerciaux-eng",
    "tradeAgreements-accordsCommerciaux-fra",
    "regionsOfOpportunity-regionAppelOffres-eng",
    "regionsOfOpportunity-regionAppelOffres-fra",
    "regionsOfDelivery-regionsLivraison-eng",
    "regionsOfDelivery-regionsLivraison-fra",
    "contractingEntityName-nomEntitContractante-eng",
    "contractingEntityAddressLine-ligneAdresseEntiteContractante-eng",
    "contractingEntityAddressCity-entiteContractanteAdresseVille-eng",
    "contractingEntityAddressProvince-entiteContractanteAdresseProvince-eng",
    "contractingEntityAddressPostalCode-entiteContractanteAdresseCodePostal",
    "contractingEntityAddressCountry-entiteContractanteAdressePays-eng",
    "contractingEntityName-nomEntitContractante-fra",
    "contractingEntityAddressLine-ligneAdresseEntiteContractante-fra",
    "contractingEntityAddressCity-entiteContractanteAdresseVille-fra",
    "contractingEntityAddressProvince-entiteContractanteAdresseProvince-fra",
    "contractingEntityAddressCountry-entiteContractanteAdressePays-fra",
    "endUserEntitiesName-nomEntitesUtilisateurFinal-eng",
    "endUserEntitiesAddress-adresseEntitesUtilisateurFinal-eng",
    "endUserEntitiesName-nomEntitesUtilisateurFinal-fra",
    "endUserEntitiesAddress-adresseEntitesUtilisateurFinal-fra",
    "contactInfoName-informationsContactNom",
    "contactInfoEmail-informationsContactCourriel",
    "contactInfoPhone-contactInfoTelephone",
    "contactInfoFax",
    "contactInfoAddressLine-contactInfoAdresseLigne-eng",
    "contactInfoCity-contacterInfoVille-eng",
    "contactInfoProvince-contacterInfoProvince-eng",
    "contactInfoPostalcode",
    "contactInfoCountry-contactInfoPays-eng",
    "contactInfoAddressLine-contactInfoAdresseLigne-fra",
    "contactInfoCity-contacterInfoVille-fra",
    "contactInfoProvince-contacterInfoProvince-fra",
    "contactInfoCountry-contactInfoPays-fra",
    "noticeURL-URLavis-eng",
    "noticeURL-URLavis-fra",
    "attachment-piecesJointes-eng",
    "attachment-piecesJointes-fra",
    "tenderDescription-descriptionAppelOffres-eng",
    "tenderDescription-descriptionAppelOffres-fra",
)
_AWARD_ONLY_FRONT = (
    "contractNumber-numeroContrat",
    "publicationDate-datePublication",
    "contractAwardDate-dateAttributionContrat",
    "amendmentDate-dateModification",
    "contractStartDate-contratDateDebut",
    "contractEndDate-dateFinContrat",
    "contractAmount-montantContrat",
    "totalContractValue-valeurTotaleContrat",
    "contractCurrency-contratMonnaie",
    "awardStatus-attributionStatut-eng",
    "awardStatus-attributionStatut-fra",
    "instrumentType-typeInstrument-eng",
    "instrumentType-typeInstrument-fra",
    "amendmentType-typeModification-eng",
    "amendmentType-typeModification-fra",
)
_SUPPLIER_COLUMNS = (
    "supplierLegalName-nomLegalFournisseur-eng",
    "supplierAddressLine-ligneAdresseFournisseur-eng",
    "supplierAddressCity-fournisseurAdresseVille-eng",
    "supplierAddressProvince-fournisseurAdresseProvince-eng",
    "supplierAddressPostalCode-fournisseurAdresseCodePostal",
    "supplierAddressCountry-fournisseurAdressePays-eng",
    "supplierLegalName-nomLegalFournisseur-fra",
    "supplierAddressLine-ligneAdresseFournisseur-fra",
    "supplierAddressCity-fournisseurAdresseVille-fra",
    "supplierAddressProvince-fournisseurAdresseProvince-fra",
    "supplierAddressCountry-fournisseurAdressePays-fra",
)
# The 80 columns of the award-notice files since the 2026 restructuring, in the live order.
AWARD_HEADER: tuple[str, ...] = (
    *TENDER_HEADER[:5],
    *_AWARD_ONLY_FRONT,
    *TENDER_HEADER[12:29],
    *TENDER_HEADER[31:33],
    *_SUPPLIER_COLUMNS,
    *TENDER_HEADER[33:61],
    "awardDescription-descriptionAttribution-eng",
    "awardDescription-descriptionAttribution-fra",
)
# Contract history adds columns of its own (91 in the live file, whose exact header is not known offline); the ones
# the documentation names are imitated.
CONTRACT_HISTORY_HEADER: tuple[str, ...] = (
    *AWARD_HEADER,
    "procurementNumber-numeroApprovisionnement",
    "numberOfRecords-nombreEnregistrements",
    "contractStatus-statutContrat-eng",
    "contractStatus-statutContrat-fra",
    "supplierStandardizedName-nomNormaliseFournisseur-eng",
    "supplierOperatingName-nomCommercialFournisseur-eng",
)

NEW_TENDERS_FILE = "newTenderNotice-nouvelAvisAppelOffres.csv"
OPEN_TENDERS_FILE = "openTenderNotice-ouvertAvisAppelOffres.csv"
AWARDS_FILE = "{fiscal_year}-awardNotice-avisAttribution.csv"
CONTRACT_HISTORY_FILE = "contractHistoryComplete-contratsOctroyesComplet.csv"
PUBLISHED_AT = time(12, 30, tzinfo=UTC)  # 07:30 in UTC-05:00, inside the daily 07:00-08:30 build of the open file
EASTERN_STANDARD_TIME = timedelta(hours=-5)

# CanadaBuys' region names for the legacy codes that it names differently (the rest keep the legacy names).
REGION_NAMES: Mapping[str, tuple[str, str]] = {
    "NCR": ("National Capital Region (NCR)", "Région de la capitale nationale (RCN)"),
    "ON": ("Ontario (except NCR)", "Ontario (sauf RCN)"),
    "QC": ("Quebec (except NCR)", "Québec (sauf RCN)"),
    "NU": ("Nunavut Territory", "Territoire du Nunavut"),
    "X-INT": ("Foreign", "À l'étranger"),
}
UNSPSCS: tuple[tuple[str, str, str], ...] = (
    ("43211500", "Computers", "Ordinateurs"),
    ("43232300", "Data management and query software", "Logiciels de gestion et d'interrogation de données"),
    ("81111500", "Software or hardware engineering", "Génie logiciel ou matériel"),
    ("80101500", "Business and corporate management consultation services", "Services de conseil en gestion"),
    ("81101500", "Civil engineering", "Génie civil"),
    ("72101500", "Building support services", "Services de soutien aux bâtiments"),
    ("76111500", "General building and office cleaning and maintenance services", "Nettoyage de bâtiments"),
    ("25101500", "Passenger motor vehicles", "Véhicules automobiles de tourisme"),
    ("42000000", "Medical equipment and accessories and supplies", "Équipement et fournitures médicaux"),
    ("56101700", "Office furniture", "Meubles de bureau"),
    ("78111500", "Passenger air transportation", "Transport aérien de passagers"),
    ("92121500", "Guard services", "Services de gardiennage"),
)
TRADE_AGREEMENTS: tuple[tuple[str, str], ...] = (
    ("Canadian Free Trade Agreement (CFTA)", "Accord de libre-échange canadien (ALEC)"),
    (
        "World Trade Organization Agreement on Government Procurement (WTO GPA)",
        "Accord sur les marchés publics de l'Organisation mondiale du commerce (AMP-OMC)",
    ),
    (
        "Canada-European Union Comprehensive Economic and Trade Agreement (CETA)",
        "Accord économique et commercial global (AECG) entre le Canada et l\u2019Union européenne (UE)",
    ),
    (
        "Comprehensive and Progressive Agreement for Trans-Pacific Partnership (CPTPP)",
        "Accord de Partenariat transpacifique global et progressiste (PTPGP)",
    ),
    ("Canada-Korea Free Trade Agreement (CKFTA)", "Accord de libre-échange Canada-Corée"),
    ("Canada-Chile Free Trade Agreement (CCFTA)", "Accord de libre-échange Canada-Chili (ALECC)"),
)
NOTICE_TYPES: Mapping[str, tuple[str, str]] = {
    "rfp": ("Request for Proposal", "Demande de propositions"),
    "standing offer": ("Request for Standing Offer", "Demande d\u2019offre à commandes"),
    "supply arrangement": (
        "Request for Supply Arrangement",
        "Demande pour un arrangement en matière d\u2019approvisionnement",
    ),
    "information": ("Request for Information", "Demande de renseignements"),
}
AWARD_NOTICE_TYPE = ("Contract Award Notice", "Avis d\u2019attribution de contrat")
OPEN_BIDDING = ("Competitive - Open bidding", "Concurrentielle - Invitation ouverte à soumissionner")
SELECTION_CRITERIA = (
    ("Lowest Price", "Prix le plus bas"),
    (
        "Highest Combined Rating of Technical Merit and Price",
        "Cote combinée la plus élevée du mérite technique et du prix",
    ),
    ("", ""),
)
INSTRUMENTS = (("Contract", "Contrat"), ("Standing Offer", "Offre à commandes"), ("Call-up", "Commande subséquente"))
CONTACTS = ("Marie Tremblay", "Jean Gagnon", "Priya Singh", "Robert MacDonald", "Chantal Roy", "Ahmed Hassan")
# Countries as the live files write them: the same country in several spellings.
CANADA_SPELLINGS = ("CA", "Canada", "CANADA")
FOREIGN_COUNTRIES = {"Wisconsin": "US", "Minnesota": "USA", "New York": "US", "Nuevo León": "MX"}
_ENTITIES = {"é": "&eacute;", "è": "&egrave;", "à": "&agrave;", "'": "&rsquo;", "\u2019": "&rsquo;"}


def fiscal_year(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{start + 1}"


def award_file(fiscal: str) -> str:
    return AWARDS_FILE.format(fiscal_year=fiscal)


def multi(values: Iterable[str]) -> str:
    """The live multi-value cell: `*`-prefixed values, one a line."""
    return "\n".join(f"*{value}" for value in values)


def with_entities(text: str) -> str:
    """French text as CanadaBuys' descriptions often carry it: accents and apostrophes as HTML entities."""
    for character, entity in _ENTITIES.items():
        text = text.replace(character, entity)
    return text


def region_name(code: str) -> tuple[str, str]:
    if code in REGION_NAMES:
        return REGION_NAMES[code]
    region = vocab.REGION_BY_CODE[code]
    return region.name_en, region.name_fr


def _category(gsins: Sequence[str]) -> tuple[str, ...]:
    kinds = {"GD" if gsin.startswith("N") else "CNST" if gsin.startswith("C2") else "SRV" for gsin in gsins}
    return tuple(sorted(kinds))


def _notice_type(title: str, rng: random.Random) -> tuple[str, str]:
    for marker, names in NOTICE_TYPES.items():
        if marker in title.lower():
            return names
    return NOTICE_TYPES["rfp"] if rng.random() < 0.85 else ("", "")  # noticeType is empty on ~13 % of live rows


def _agreements(rng: random.Random) -> tuple[tuple[str, str], ...]:
    return tuple(agreement for agreement in TRADE_AGREEMENTS if agreement is TRADE_AGREEMENTS[0] or rng.random() < 0.5)


def _amended(index: int, revision: int) -> bool:
    return revision > 0 and index % 20 == 0


def _closing_time(closing: str, rng: random.Random) -> str:
    return f"{closing}T{rng.choice(('11:00:00', '14:00:00', '14:00:00', '15:00:00'))}"


def _gsin_descriptions(codes: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found = [next(g for g in vocab.GSINS if g.code == code) for code in codes]
    return tuple(g.description_en for g in found), tuple(g.description_fr for g in found)


def tender_row(
    tender: TenderNotice, words: frozenset[str], index: int, rng: random.Random, *, today: date, revision: int
) -> dict[str, str]:
    """One open tender notice, from a tender of the legacy imitation (`rng` draws what the legacy one lacks)."""
    assert tender.date_closing is not None
    closing = date.fromisoformat(tender.date_closing)
    # Published before it closes, never after today (a notice closing far ahead was published already).
    earliest = today - timedelta(365)
    published = today if index % 15 == 0 else min(max(closing - timedelta(days=rng.randrange(10, 45)), earliest), today)
    gsin_en, gsin_fr = _gsin_descriptions(tender.gsins)
    delivery = [region_name(code) for code in tender.regions_delivery]
    opportunity = [region_name(code) for code in tender.regions_opportunity]
    city = _cities_of(tender, words)
    unspsc = [rng.choice(UNSPSCS)] if rng.random() < 0.84 else []
    agreements = _agreements(rng)
    notice_type = _notice_type(tender.title_en or "", rng)
    selection = rng.choice(SELECTION_CRITERIA)
    amendment = revision if _amended(index, revision) else 0
    title_en, title_fr = tender.title_en or "", tender.title_fr or ""
    contact = CONTACTS[index % len(CONTACTS)]
    description_en = (
        f"Requirement for the delivery of goods and services to {city}, "
        f"{', '.join(vocab.REGION_BY_CODE[code].name_en for code in tender.regions_delivery)}:\n\t{'; '.join(gsin_en)}."
    )
    description_fr = (
        f"Besoin pour la livraison de biens et services à {city}, "
        f"{', '.join(vocab.REGION_BY_CODE[code].name_fr for code in tender.regions_delivery)}&nbsp;:\n\t"
        f"{'; '.join(gsin_fr)}."
    )
    row = dict.fromkeys(TENDER_HEADER, "")
    row.update(
        {
            "title-titre-eng": title_en,
            "title-titre-fra": title_fr,
            "referenceNumber-numeroReference": tender.tender,
            "amendmentNumber-numeroModification": f"{amendment:03d}",
            "solicitationNumber-numeroSollicitation": tender.solicitation_number or "",
            "publicationDate-datePublication": published.isoformat(),
            "tenderClosingDate-appelOffresDateCloture": _closing_time(tender.date_closing, rng),
            "amendmentDate-dateModification": today.isoformat() if amendment else "",
            "tenderStatus-appelOffresStatut-eng": "Open",
            "tenderStatus-appelOffresStatut-fra": "Ouvert",
            "gsin-nibs": multi(tender.gsins),
            "gsinDescription-nibsDescription-eng": multi(gsin_en),
            "gsinDescription-nibsDescription-fra": multi(gsin_fr),
            "unspsc": multi(code for code, _, _ in unspsc),
            "unspscDescription-eng": multi(en for _, en, _ in unspsc),
            "unspscDescription-fra": multi(fr for _, _, fr in unspsc),
            "procurementCategory-categorieApprovisionnement": multi(_category(tender.gsins)),
            "noticeType-avisType-eng": notice_type[0],
            "noticeType-avisType-fra": notice_type[1],
            "procurementMethod-methodeApprovisionnement-eng": OPEN_BIDDING[0],
            "procurementMethod-methodeApprovisionnement-fra": OPEN_BIDDING[1],
            "selectionCriteria-criteresSelection-eng": selection[0],
            "selectionCriteria-criteresSelection-fra": selection[1],
            "tradeAgreements-accordsCommerciaux-eng": multi(en for en, _ in agreements),
            "tradeAgreements-accordsCommerciaux-fra": multi(fr for _, fr in agreements),
            "regionsOfOpportunity-regionAppelOffres-eng": multi(en for en, _ in opportunity),
            "regionsOfOpportunity-regionAppelOffres-fra": multi(fr for _, fr in opportunity),
            "regionsOfDelivery-regionsLivraison-eng": multi(en for en, _ in delivery),
            "regionsOfDelivery-regionsLivraison-fra": multi(fr for _, fr in delivery),
            "contractingEntityName-nomEntitContractante-eng": tender.buyer_en or "",
            "contractingEntityName-nomEntitContractante-fra": tender.buyer_fr or "",
            "contractingEntityAddressCity-entiteContractanteAdresseVille-eng": "Gatineau",
            "contractingEntityAddressCity-entiteContractanteAdresseVille-fra": "Gatineau",
            "contractingEntityAddressProvince-entiteContractanteAdresseProvince-eng": "Quebec",
            "contractingEntityAddressProvince-entiteContractanteAdresseProvince-fra": "Québec",
            "contractingEntityAddressCountry-entiteContractanteAdressePays-eng": "Canada",
            "contractingEntityAddressCountry-entiteContractanteAdressePays-fra": "Canada",
            "contactInfoName-informationsContactNom": contact,
            "contactInfoEmail-informationsContactCourriel": contact.lower().replace(" ", ".") + "@tpsgc-pwgsc.gc.ca",
            "contactInfoPhone-contactInfoTelephone": f"819-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
            "tenderDescription-descriptionAppelOffres-eng": description_en,
            "tenderDescription-descriptionAppelOffres-fra": with_entities(description_fr)
            if index % 2
            else description_fr,
        }
    )
    return row


def _cities_of(tender: TenderNotice, words: frozenset[str]) -> str:
    """The city the legacy imitation drew for the tender (it searches the city's words): the cities of its first
    delivery region whose words it searches (the drawn one, and any other its words happen to cover)."""
    cities = vocab.REGION_BY_CODE[tender.regions_delivery[0]].cities or vocab.NATIONAL_CAPITAL_REGION.cities
    return ", ".join(city for city in cities if searchable_words(city) <= words)


def _supplier_country(region: str, rng: random.Random) -> str:
    return FOREIGN_COUNTRIES.get(region) or rng.choice(CANADA_SPELLINGS)


def award_row(
    contract: ContractRecord, index: int, rng: random.Random, solicitation: str, amendment: int
) -> dict[str, str]:
    """One award-notice (or contract-history) row, from a contract of the legacy imitation."""
    gsin_en, gsin_fr = _gsin_descriptions((contract.gsin,) if contract.gsin else ())
    value = float(contract.value or 0)
    total = value * (1 + 0.1 * amendment)
    instrument = INSTRUMENTS[index % len(INSTRUMENTS)]
    unspsc = rng.choice(UNSPSCS)
    supplier = contract.supplier or ""
    region = contract.supplier_region or ""
    row = dict.fromkeys(CONTRACT_HISTORY_HEADER, "")
    row.update(
        {
            "title-titre-eng": contract.title_en or "",
            "title-titre-fra": contract.title_fr or "",
            "referenceNumber-numeroReference": f"cb-{100 + index % 900}-{(index * 7919 + 4242) % 10**8:08d}",
            "amendmentNumber-numeroModification": f"{amendment:03d}",
            "solicitationNumber-numeroSollicitation": solicitation,
            "contractNumber-numeroContrat": contract.contract,
            "publicationDate-datePublication": contract.date_awarded or "",
            "contractAwardDate-dateAttributionContrat": contract.date_awarded or "",
            "contractStartDate-contratDateDebut": contract.date_awarded or "",
            "contractEndDate-dateFinContrat": contract.date_expires or "",
            "contractAmount-montantContrat": f"{value if amendment == 0 else value * 0.1:.2f}",
            "totalContractValue-valeurTotaleContrat": f"{total:.2f}",
            "contractCurrency-contratMonnaie": "CAD",
            "awardStatus-attributionStatut-eng": "Awarded",
            "awardStatus-attributionStatut-fra": "Attribué",
            "instrumentType-typeInstrument-eng": instrument[0],
            "instrumentType-typeInstrument-fra": instrument[1],
            "amendmentType-typeModification-eng": "Administrative" if amendment else "",
            "amendmentType-typeModification-fra": "Administrative" if amendment else "",
            "gsin-nibs": multi((contract.gsin,) if contract.gsin else ()),
            "gsinDescription-nibsDescription-eng": multi(gsin_en),
            "gsinDescription-nibsDescription-fra": multi(gsin_fr),
            "unspsc": multi((unspsc[0],)),
            "unspscDescription-eng": multi((unspsc[1],)),
            "unspscDescription-fra": multi((unspsc[2],)),
            "procurementCategory-categorieApprovisionnement": multi(_category((contract.gsin or "S",))),
            "noticeType-avisType-eng": AWARD_NOTICE_TYPE[0],
            "noticeType-avisType-fra": AWARD_NOTICE_TYPE[1],
            "procurementMethod-methodeApprovisionnement-eng": OPEN_BIDDING[0],
            "procurementMethod-methodeApprovisionnement-fra": OPEN_BIDDING[1],
            "tradeAgreements-accordsCommerciaux-eng": multi(en for en, _ in _agreements(rng)),
            "regionsOfDelivery-regionsLivraison-eng": multi(("Canada",)),
            "regionsOfDelivery-regionsLivraison-fra": multi(("Canada",)),
            "supplierLegalName-nomLegalFournisseur-eng": supplier,
            "supplierLegalName-nomLegalFournisseur-fra": supplier,
            "supplierAddressCity-fournisseurAdresseVille-eng": contract.supplier_city or "",
            "supplierAddressProvince-fournisseurAdresseProvince-eng": region,
            "supplierAddressCountry-fournisseurAdressePays-eng": _supplier_country(region, rng),
            "contractingEntityName-nomEntitContractante-eng": contract.buyer_en or "",
            "contractingEntityName-nomEntitContractante-fra": contract.buyer_fr or "",
            "contactInfoName-informationsContactNom": CONTACTS[index % len(CONTACTS)],
            "awardDescription-descriptionAttribution-eng": f"Contract awarded to {supplier}: {contract.title_en}.",
            "awardDescription-descriptionAttribution-fra": with_entities(
                f"Contrat attribué à {supplier} : {contract.title_fr}."
            ),
            "procurementNumber-numeroApprovisionnement": contract.contract.split("/")[0],
            "numberOfRecords-nombreEnregistrements": "1",
            "contractStatus-statutContrat-eng": "Active",
            "contractStatus-statutContrat-fra": "Actif",
            "supplierStandardizedName-nomNormaliseFournisseur-eng": supplier.upper(),
        }
    )
    return row


@dataclass(frozen=True, eq=False)  # hashed by identity: `feed_files` memoises one object per publication
class FeedFiles:
    """Every file of one publication, as rows, and when it was published."""

    tables: Mapping[str, tuple[tuple[str, ...], tuple[dict[str, str], ...]]]
    last_modified: datetime


@lru_cache(maxsize=4)
def feed_files(seed: int, count: int, today: date, revision: int) -> FeedFiles:
    """The files of the publication `revision` of `today`, from the first `count` tenders and contracts."""
    generated = list(generate_tenders(seed, count, today))
    tenders = [tender for tender, _ in generated]
    tender_rng = random.Random(f"{seed}:canadabuys:tenders")
    tender_rows = tuple(
        tender_row(tender, searchable.words, i, tender_rng, today=today, revision=revision)
        for i, (tender, searchable) in enumerate(generated)
    )
    new_rows = tuple(row for row in tender_rows if row["publicationDate-datePublication"] == today.isoformat())
    award_rng = random.Random(f"{seed}:canadabuys:awards")
    current, previous = fiscal_year(today), fiscal_year(today - timedelta(days=366))
    awards: dict[str, list[dict[str, str]]] = {current: [], previous: []}
    history: list[dict[str, str]] = []
    for index, (contract, _) in enumerate(generate_contracts(seed, count, today)):
        solicitation = (
            tenders[(index // 4) % len(tenders)].solicitation_number or ""
            if tenders and index % 4 == 0
            else f"{contract.contract.split('/')[0]}/A"
        )
        latest = revision if _amended(index, revision) else 0
        fiscal = fiscal_year(date.fromisoformat(contract.date_awarded or today.isoformat()))
        for amendment in range(latest + 1):  # contract history: one row per amendment; award notices: the latest
            row = award_row(contract, index, award_rng, solicitation, amendment)
            reference = row["referenceNumber-numeroReference"]
            history.append({**row, "referenceNumber-numeroReference": f"ch-{reference[3:]}"})
            if amendment == latest and fiscal in awards:
                awards[fiscal].append(row)
    tables: dict[str, tuple[tuple[str, ...], tuple[dict[str, str], ...]]] = {
        NEW_TENDERS_FILE: (TENDER_HEADER, new_rows),
        OPEN_TENDERS_FILE: (TENDER_HEADER, tender_rows),
        award_file(previous): (AWARD_HEADER, tuple(awards[previous])),
        award_file(current): (AWARD_HEADER, tuple(awards[current])),
        CONTRACT_HISTORY_FILE: (CONTRACT_HISTORY_HEADER, tuple(history)),
    }
    published = datetime.combine(today, PUBLISHED_AT) + timedelta(hours=revision)
    return FeedFiles(tables, published)


def render(header: Sequence[str], rows: Iterable[Mapping[str, str]], *, drop_column: str | None = None) -> bytes:
    """A file as CanadaBuys publishes it: UTF-8 with a BOM, every field quoted, CRLF between records."""
    columns = [column for column in header if column != drop_column]
    with io.StringIO() as output:
        writer = csv.writer(output, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
        return ("\ufeff" + output.getvalue()).encode("utf-8")


def tender_feed(seed: int, count: int, today: date, *, revision: int = 0) -> bytes:
    """The open tender notices file of a generated dataset (e.g. a 2,000-row feed for tests)."""
    header, rows = feed_files(seed, count, today, revision).tables[OPEN_TENDERS_FILE]
    return render(header, rows)
