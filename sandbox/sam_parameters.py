"""The SAM Contract Awards API's search parameters: every name the doc and openapi list, and for each filter its kind,
the JSON paths of its value in a rendered record, an optional fast getter on generated records, and its 100-value cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from sandbox.sam_document import money
from sandbox.sam_records import GeneratedAward


class Kind(Enum):
    CODE = "code"  # exact, case-insensitive
    NAME = "name"  # partial or complete, case-insensitive
    DATE = "date"
    DOLLARS = "dollars"


Getter = Callable[[GeneratedAward], str | None]


@dataclass(frozen=True)
class Filter:
    kind: Kind
    paths: tuple[str, ...]
    getter: Getter | None = None
    too_many: str | None = None  # the plural named in the ">100 values" error


CONTROL_PARAMETERS = frozenset(
    {
        "api_key",
        "limit",
        "offset",
        "format",
        "emailId",
        "includeSections",
        "q",
        "piidAggregation",
        "deletedStatus",
        "documentStatus",
    }
)

_CI = "coreData.federalOrganization.contractingInformation."
_FI = "coreData.federalOrganization.fundingInformation."
_POP = "coreData.principalPlaceOfPerformance."
_AQ = "coreData.acquisitionData."
_LM = "coreData.legislativeMandates."
_CC = "coreData.competitionInformation."
_DC = "awardDetails.competitionInformation."
_AW = "awardDetails.awardeeData."
_TX = "awardDetails.transactionData."


def _pair(prefix: str, path: str, code: Getter | None = None, name: Getter | None = None) -> dict[str, Filter]:
    return {
        f"{prefix}Code": Filter(Kind.CODE, (f"{path}.code",), code),
        f"{prefix}Name": Filter(Kind.NAME, (f"{path}.name",), name),
    }


def _code(*paths: str, getter: Getter | None = None, too_many: str | None = None) -> Filter:
    return Filter(Kind.CODE, paths, getter, too_many)


def _name(*paths: str, getter: Getter | None = None) -> Filter:
    return Filter(Kind.NAME, paths, getter)


def _date(*paths: str, getter: Getter | None = None) -> Filter:
    return Filter(Kind.DATE, paths, getter)


def _dollars(*paths: str, getter: Getter | None = None) -> Filter:
    return Filter(Kind.DOLLARS, paths, getter)


def _idv_piid(award: GeneratedAward) -> str | None:
    return award.referenced_idv.piid if award.referenced_idv else None


FILTERS: Mapping[str, Filter] = {
    "piid": _code("contractId.piid", getter=lambda a: a.piid),
    "referencedIdvPiid": _code("contractId.referencedIDVPiid", getter=_idv_piid),
    "modificationNumber": _code("contractId.modificationNumber", getter=lambda a: a.modification_number),
    "transactionNumber": _code("contractId.transactionNumber", getter=lambda a: "0"),
    **_pair(
        "piidSubtier", "contractId.subtier", lambda a: a.office.piid_subtier[0], lambda a: a.office.piid_subtier[1]
    ),
    **_pair("referencedIdvPIIDSubtier", "contractId.referencedIDVSubtier"),
    **_pair("reasonForModification", "contractId.reasonForModification"),
    "solicitationID": _code("coreData.solicitationId"),
    "solicitationDate": _date("coreData.solicitationDate"),
    "documentVersion": _code("awardDetails.transactionData.version"),
    "awardOrIDV": _code("coreData.awardOrIDV", getter=lambda a: a.kind.award_or_idv),
    **_pair("awardOrIDVType", "coreData.awardOrIDVType", lambda a: a.kind.type[0], lambda a: a.kind.type[1]),
    **_pair(
        "contractingDepartment",
        _CI + "contractingDepartment",
        lambda a: a.office.department[0],
        lambda a: a.office.department[1],
    ),
    **_pair(
        "contractingSubtier", _CI + "contractingSubtier", lambda a: a.office.subtier[0], lambda a: a.office.subtier[1]
    ),
    "contractingOfficeCode": _code(_CI + "contractingOffice.code", getter=lambda a: a.office.office[0]),
    **_pair(
        "fundingDepartment",
        _FI + "fundingDepartment",
        lambda a: a.office.department[0],
        lambda a: a.office.department[1],
    ),
    **_pair("fundingSubtier", _FI + "fundingSubtier", lambda a: a.office.subtier[0], lambda a: a.office.subtier[1]),
    "fundingOfficeCode": _code(_FI + "fundingOffice.code", getter=lambda a: a.office.office[0]),
    **_pair("typeOfContractPricing", _AQ + "typeOfContractPricing", lambda a: a.pricing[0], lambda a: a.pricing[1]),
    "multiyearContractName": _name(_AQ + "multiyearContract", _AQ + "multiyearContract.name"),
    **_pair("nationalInterestAction", _AQ + "nationalInterestAction"),
    **_pair("clingerCohenAct", _LM + "clingerCohenAct"),
    **_pair("materialsSuppliesArticlesAndEquip", _LM + "materialsSuppliesArticlesEquipment"),
    **_pair("laborStandards", _LM + "laborStandards"),
    **_pair("constructionWageRateRequirements", _LM + "constructionWageRateRequirements"),
    "placeOfPerformCityName": _name(_POP + "city.name", getter=lambda a: a.place.city),
    **_pair(
        "placeOfPerformState",
        _POP + "state",
        lambda a: a.place.state[0] if a.place.state else None,
        lambda a: a.place.state[1] if a.place.state else None,
    ),
    **_pair("placeOfPerformCountry", _POP + "country", lambda a: a.place.country[0], lambda a: a.place.country[1]),
    "placeOfPerformZipCode": _code(_POP + "zipCode", getter=lambda a: a.place.zip_code),
    "placeOfPerformCongressionalDistrict": _code(_POP + "congressionalDistrict", getter=lambda a: a.place.district),
    "productOrServiceCode": _code(
        "coreData.productOrServiceInformation.productOrService.code",
        getter=lambda a: a.industry.psc[0],
        too_many="Product or Service Codes",
    ),
    "productOrServiceType": _code(
        "coreData.productOrServiceInformation.productOrService.type", getter=lambda a: a.industry.psc_type
    ),
    "naicsCode": _code(
        "coreData.productOrServiceInformation.principalNaics.code",
        getter=lambda a: a.industry.naics[0],
        too_many="NAICS Codes",
    ),
    **_pair("extentCompeted", _CC + "extentCompeted", lambda a: a.extent_competed[0], lambda a: a.extent_competed[1]),
    **_pair("solicitationProcedures", _CC + "solicitationProcedures"),
    "typeOfSetAsideCode": _code(
        _CC + "typeOfSetAside.code", _DC + "idvTypeOfSetAside.code", getter=lambda a: a.set_aside[0]
    ),
    "typeOfSetAsideName": _name(
        _CC + "typeOfSetAside.name", _DC + "idvTypeOfSetAside.name", getter=lambda a: a.set_aside[1]
    ),
    "localAreaSetAsideName": _name(_CC + "localAreaSetAside.name"),
    **_pair("sourceSelectionProcess", _CC + "sourceSelectionProcess"),
    **_pair("contractOpportunitiesNotice", _DC + "contractOpportunitiesNotice"),
    "numberOfOffersReceived": _code(_DC + "numberOfOffersReceived", _DC + "idvNumberOfOffersReceived"),
    "dateSigned": _date("awardDetails.dates.dateSigned", getter=lambda a: a.date_signed.isoformat()),
    "periodOfPerformanceStartDate": _date(
        "awardDetails.dates.periodOfPerformanceStartDate", getter=lambda a: a.date_signed.isoformat()
    ),
    "currentCompletionDate": _date(
        "awardDetails.dates.currentCompletionDate", getter=lambda a: a.completion_date.isoformat()
    ),
    "ultimateCompletionDate": _date(
        "awardDetails.dates.ultimateCompletionDate", getter=lambda a: a.ultimate_completion_date.isoformat()
    ),
    "fiscalYear": _code("awardDetails.dates.fiscalYear", getter=lambda a: str(a.fiscal_year)),
    "dollarsObligated": _dollars("awardDetails.dollars.actionObligation", getter=lambda a: money(a.obligation_cents)),
    "totalDollarsObligated": _dollars(
        "awardDetails.totalContractDollars.totalActionObligation", getter=lambda a: money(a.total_obligation_cents)
    ),
    "ultimateContractValue": _dollars(
        "awardDetails.dollars.baseAndAllOptionsValue", getter=lambda a: money(a.options_value_cents)
    ),
    "totalUltimateContractValue": _dollars(
        "awardDetails.totalContractDollars.totalBaseAndAllOptionsValue",
        getter=lambda a: money(a.total_options_value_cents),
    ),
    "nonGovernmentDollars": _dollars("awardDetails.dollars.nonGovernmentDollars"),
    "totalNonGovernmentDollars": _dollars("awardDetails.totalContractDollars.totalNonGovernmentDollars"),
    "coBusSizeDeterminationCode": _code(
        "awardDetails.preferenceProgramsInformation.contractingOfficerBusinessSizeDetermination.code",
        getter=lambda a: "S" if a.awardee.small_business else "O",
    ),
    "coBusSizeDeterminationName": _name(
        "awardDetails.preferenceProgramsInformation.contractingOfficerBusinessSizeDetermination.name",
        getter=lambda a: "SMALL BUSINESS" if a.awardee.small_business else "OTHER THAN SMALL BUSINESS",
    ),
    **_pair(
        "referencedIdvType",
        "awardDetails.contractData.referencedIDVType",
        lambda a: a.referenced_idv.kind.type[0] if a.referenced_idv else None,
        lambda a: a.referenced_idv.kind.type[1] if a.referenced_idv else None,
    ),
    **_pair("referencedIdvMultipleOrSingle", "awardDetails.contractData.referencedIDVMultipleOrSingle"),
    "awardeeLegalBusinessName": _name(_AW + "awardeeHeader.legalBusinessName", getter=lambda a: a.awardee.name),
    "awardeeDoingBusinessAsName": _name(_AW + "awardeeHeader.awardeeDoingBusinessAsName"),
    "awardeeUniqueEntityId": _code(
        _AW + "awardeeUEIInformation.uniqueEntityId", getter=lambda a: a.awardee.uei, too_many="Unique Entity IDs"
    ),
    "awardeeCageCode": _code(
        _AW + "awardeeUEIInformation.cageCode", getter=lambda a: a.awardee.cage, too_many="CAGE Codes"
    ),
    "ultimateParentUniqueEntityId": _code(
        _AW + "awardeeUEIInformation.awardeeUltimateParentUniqueEntityId",
        getter=lambda a: a.awardee.parent_uei,
        too_many="Parent Unique Entity IDs",
    ),
    "ultimateParentLegalBusinessName": _name(
        _AW + "awardeeUEIInformation.awardeeUltimateParentName", getter=lambda a: a.awardee.parent_name
    ),
    "awardeeCityName": _name(_AW + "awardeeLocation.city", getter=lambda a: a.awardee.place.city),
    **_pair(
        "awardeeState",
        _AW + "awardeeLocation.state",
        lambda a: a.awardee.place.state[0] if a.awardee.place.state else None,
        lambda a: a.awardee.place.state[1] if a.awardee.place.state else None,
    ),
    **_pair(
        "awardeeCountry",
        _AW + "awardeeLocation.country",
        lambda a: a.awardee.place.country[0],
        lambda a: a.awardee.place.country[1],
    ),
    "awardeeZipCode": _code(_AW + "awardeeLocation.zip", getter=lambda a: a.awardee.place.zip_code),
    "awardeeCongressionalDistrict": _code(
        _AW + "awardeeLocation.congressionalDistrict", getter=lambda a: a.awardee.place.district
    ),
    "createdDate": _date(_TX + "createdDate", getter=lambda a: a.created.date().isoformat()),
    "createdBy": _code(_TX + "createdBy", getter=lambda a: a.created_by),
    "approvedDate": _date(_TX + "approvedDate", getter=lambda a: a.approved.date().isoformat()),
    "approvedBy": _code(_TX + "approvedBy", getter=lambda a: a.created_by),
    "lastModifiedDate": _date(_TX + "lastModifiedDate", getter=lambda a: a.last_modified.date().isoformat()),
    "lastModifiedBy": _code(_TX + "lastModifiedBy"),
    "closedDate": _date(_TX + "closedDate", getter=lambda a: a.closed.date().isoformat() if a.closed else None),
    "closedBy": _code(_TX + "closedBy"),
    "closedStatus": _code(_TX + "closedStatus", getter=lambda a: "Y" if a.closed else "N"),
    # Accepted but not modelled by the imitation's records: they match what the records hold (nothing).
    "consortiaUEI": _code("awardDetails.consortia.consortiaUEI", too_many="Consortia Unique Entity IDs"),
    "consortiaLegalBusinessName": _name("awardDetails.consortia.consortiaLegalBusinessName"),
    **_pair("awardeeBusinessType", _AW + "awardeeBusinessTypes.businessType"),
    **_pair("nonTraditionalGovernmentEntityParticipation", "coreData.nonTraditionalGovernmentEntityParticipation"),
    "typeOfAgreementName": _name("coreData.typeOfAgreement.name"),
    **_pair("far1102Exception", "coreData.far1102Exception"),
    "referencedIdvPart8OrPart13": _code("awardDetails.contractData.referencedIdvPart8OrPart13"),
}
KNOWN_PARAMETERS = CONTROL_PARAMETERS | FILTERS.keys()
