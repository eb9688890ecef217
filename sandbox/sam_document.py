"""Render a generated award as the upstream's nested JSON (the shape of doc example 1), every scalar a string.

Dates come in the three shapes the upstream mixes within one record: `2025-02-20T00:00:00Z` (dateSigned, approvedDate,
lastModifiedDate), `2025-02-20T19:13:54.000Z` (createdDate) and `2025-02-20 00:00:00.000` (the rest).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandbox.sam_records import Awardee, GeneratedAward
from sandbox.sam_reference import CodeName, Place

Document = dict[str, Any]

NO = "NO"
NOT_APPLICABLE: CodeName = ("X", "NOT APPLICABLE")


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def zulu_day(day: date) -> str:
    return day.strftime("%Y-%m-%dT00:00:00Z")


def zulu_millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def plain(moment: date | datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.000")


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}" if fraction else f"{sign}{whole}"


def code_name(pair: CodeName) -> dict[str, str]:
    return {"code": pair[0], "name": pair[1]}


def render_award(award: GeneratedAward) -> Document:
    document: Document = {
        "contractId": contract_id(award),
        "coreData": core_data(award),
        "awardDetails": award_details(award),
    }
    return document


def contract_id(award: GeneratedAward) -> Document:
    section: Document = {
        "subtier": code_name(award.office.piid_subtier),
        "piid": award.piid,
        "modificationNumber": award.modification_number,
        "transactionNumber": "0",
    }
    idv = award.referenced_idv
    if idv is not None:
        section["referencedIDVSubtier"] = code_name(idv.office.piid_subtier)
        section["referencedIDVPiid"] = idv.piid
        section["referencedIDVModificationNumber"] = "0"
    if award.reason_for_modification is not None:
        section["reasonForModification"] = code_name(award.reason_for_modification)
    return section


def _place_of_performance(place: Place) -> Document:
    section: Document = {"city": {"name": place.city}}
    if place.county is not None:
        section["county"] = code_name(place.county)
    if place.state is not None:
        section["state"] = code_name(place.state)
    section["zipCode"] = place.zip_code
    if place.district is not None:
        section["congressionalDistrict"] = place.district
    section["country"] = code_name(place.country)
    return section


def core_data(award: GeneratedAward) -> Document:
    office, industry = award.office, award.industry
    organization = {"code": office.office[0], "name": office.office[1]}
    if office.region_code is not None:
        organization["regionCode"] = office.region_code
    competition: Document = {
        "extentCompeted": code_name(award.extent_competed),
        "solicitationProcedures": {"code": "NP", "name": "NEGOTIATED PROPOSAL/QUOTE"},
    }
    if award.referenced_idv is None:
        competition["typeOfSetAside"] = code_name(award.set_aside)
    competition |= {
        "localAreaSetAside": {"name": "N"},
        "a76Action": {"code": "N", "name": NO},
        "sourceSelectionProcess": {"code": "O", "name": "Other"},
        "preAwardSynopsisRequirement": {"code": "N", "name": "No"},
        "smallBusinessCompetitivenessDemonstrationProgram": {"name": NO},
        "numberOfOffersSource": {"code": "B", "name": "IDC"}
        if award.referenced_idv
        else {"code": "F", "name": "This Action"},
    }
    return {
        "coreVersionId": "1.5",
        "solicitationDate": plain(award.solicitation_date),
        "awardOrIDV": award.kind.award_or_idv,
        "awardOrIDVType": code_name(award.kind.type),
        "federalOrganization": {
            "contractingInformation": {
                "contractingDepartment": code_name(office.department),
                "contractingSubtier": code_name(office.subtier),
                "contractingOffice": organization,
            },
            "fundingInformation": {
                "fundingDepartment": code_name(office.department),
                "fundingSubtier": code_name(office.subtier),
                "fundingOffice": code_name(office.office),
                "foreignFunding": code_name(NOT_APPLICABLE),
            },
        },
        "acquisitionData": {
            "typeOfContractPricing": code_name(award.pricing),
            "multiyearContract": NO,
            "programAcronym": "N/A",
            "performanceBasedServiceContract": code_name(NOT_APPLICABLE),
            "consolidatedContract": {"code": "D", "name": "NOT CONSOLIDATED"},
            "typeOfIdc": {"code": "B" if award.kind.type[0] == "B" and award.kind.is_idv else "N/A"},
            "reasonForInterAgencyContracting": code_name(NOT_APPLICABLE),
            "contractFinancing": {"code": "Z", "name": "NOT APPLICABLE"},
        },
        "legislativeMandates": {
            "clingerCohenAct": {"code": "NO", "name": "N"},
            "materialsSuppliesArticlesEquipment": code_name(NOT_APPLICABLE),
            "laborStandards": code_name(NOT_APPLICABLE),
            "constructionWageRateRequirements": code_name(NOT_APPLICABLE),
            "interagencyContractingAuthority": code_name(NOT_APPLICABLE),
        },
        "principalPlaceOfPerformance": _place_of_performance(award.place),
        "productOrServiceInformation": {
            "recoveredMaterialClauses": {"code": "C", "name": "NO CLAUSES INCLUDED AND NO SUSTAINABILITY INCLUDED"},
            "productOrService": {"type": industry.psc_type, "code": industry.psc[0], "name": industry.psc[1]},
            "principalNaics": [code_name(industry.naics)],
            "contractBundling": {"code": "H", "name": "NOT BUNDLED"},
            "dodAcquisitionProgram": {"code": "000", "name": "NONE"},
            "gfeGfp": {"code": "N", "name": "TRANSACTION DOES NOT USE GFE/GFP"},
            "informationTechnologyCommercialItemCategory": {"code": "Z", "name": "Z"},
            "countryOfOrigin": code_name(("USA", "UNITED STATES")),
        },
        "competitionInformation": competition,
        "acquisitionMarketingData": {"whoCanUse": {"code": "N/A"}, "emailAddress": "N/A"},
    }


def award_details(award: GeneratedAward) -> Document:
    idv = award.referenced_idv
    size = ("S", "SMALL BUSINESS") if award.awardee.small_business else ("O", "OTHER THAN SMALL BUSINESS")
    contract_data: Document = {
        "costOrPricingData": {"code": "N", "name": "No"},
        "purchaseCardAsPaymentMethod": {"name": NO},
        "undefinitizedAction": {"code": "X", "name": NO},
        "costAccountingStandardsClause": {"code": "X", "name": "NOT APPLICABLE EXEMPT FROM CAS"},
        "emergencyAcquisition": code_name(NOT_APPLICABLE),
        "numberOfActions": "1",
    }
    competition: Document = {
        "commercialProductsAndServicesAcquisitionProcedures": {"code": "A", "name": "COMMERCIAL PRODUCTS/SERVICES"},
        "commercialItemTestProgram": {"code": "N", "name": NO},
    }
    if idv is not None:
        contract_data["referencedIDVType"] = code_name(idv.kind.type)
        contract_data["referencedIDVMultipleOrSingle"] = {"code": "S", "name": "SINGLE AWARD"}
        competition |= {
            "extentCompetedForReferencedIdv": code_name(idv.extent_competed),
            "evaluatedPreference": {"code": "NONE", "name": "NO PREFERENCE USED"},
            "idvTypeOfSetAside": code_name(award.set_aside),
            "typeOfSetAsideSource": {"code": "B", "name": "IDC"},
            "idvNumberOfOffersReceived": str(idv.offers),
        }
    else:
        competition |= {
            "evaluatedPreference": {"code": "NONE", "name": "NO PREFERENCE USED"},
            "typeOfSetAsideSource": {"code": "F", "name": "This Action"},
            "numberOfOffersReceived": str(award.offers),
        }
    competition |= {
        "numberOfOffersSource": {"code": "B", "name": "IDC"} if idv else {"code": "F", "name": "This Action"},
        "contractOpportunitiesNotice": {"code": "Y", "name": "YES"},
        "alternativeAdvertising": {"code": "N", "name": NO},
        "synopsisWaiverException": {"code": "N", "name": "NOT APPLICABLE."},
    }
    dates: Document = {
        "dateSigned": zulu_day(award.date_signed),
        "periodOfPerformanceStartDate": plain(award.date_signed),
        "currentCompletionDate": plain(award.completion_date),
        "ultimateCompletionDate": plain(award.ultimate_completion_date),
        "fiscalYear": str(award.fiscal_year),
    }
    preference: Document = {"contractingOfficerBusinessSizeDetermination": [code_name(size)]}
    if idv is not None:
        preference["idvContractingOfficerBusinessSizeDetermination"] = code_name(size)
    preference["subcontractPlan"] = {"code": "B", "name": "PLAN NOT REQUIRED "}
    details: Document = {
        "dates": dates,
        "dollars": {
            "actionObligation": money(award.obligation_cents),
            "baseDollarsObligated": money(award.obligation_cents),
            "baseAndExercisedOptionsValue": money(award.options_value_cents),
            "baseAndAllOptionsValue": money(award.options_value_cents),
            "feePaidForUseOfService": "0",
        },
        "totalContractDollars": {
            "totalActionObligation": money(award.total_obligation_cents),
            "totalBaseAndExercisedOptionsValue": money(award.total_options_value_cents),
            "totalBaseAndAllOptionsValue": money(award.total_options_value_cents),
        },
        "contractData": contract_data,
        "productOrServiceInformation": {
            "idvNAICS": code_name(award.industry.naics),
            "descriptionOfContractRequirement": f"{award.industry.description} {award.piid}",
            "useOfEpaDesignatedProducts": {"code": "E", "name": "NOT REQUIRED"},
            "placeOfManufacture": {"code": "C", "name": "NOT A MANUFACTURED END PRODUCT"},
            "domesticOrForeignEntity": {"code": "A", "name": "U.S. OWNED BUSINESS"},
        },
        "competitionInformation": competition,
        "preferenceProgramsInformation": preference,
        "legislativeMandates": {"additionalReporting": {"code": "NONE", "name": "NONE OF THE ABOVE"}},
        "contractMarketingData": {"typeOfFeeForUseOfService": {"code": "N/A"}, "orderingProcedure": "N/A"},
        "awardeeData": awardee_data(award.awardee),
        "transactionData": transaction_data(award),
    }
    if award.office.department[0] == "8000":
        details["nasaSpecificData"] = nasa_specific_data(award)
    return details


def transaction_data(award: GeneratedAward) -> Document:
    section: Document = {
        "status": {"code": "F", "name": "FINAL"},
        "version": "1.5",
        "createdBy": award.created_by,
        "createdDate": zulu_millis(award.created),
        "lastModifiedBy": "DOD_CLOSEOUT" if award.closed is not None else award.created_by,
        "lastModifiedDate": zulu(award.last_modified),
        "approvedBy": award.created_by,
        "approvedDate": zulu(award.approved),
    }
    if award.closed is not None:
        section |= {"closedBy": "DOD_CLOSEOUT", "closedDate": plain(award.closed), "closedStatus": "Y"}
    else:
        section["closedStatus"] = "N"
    return section


def nasa_specific_data(award: GeneratedAward) -> Document:
    return {
        "prNumber": "0",
        "buyerCode": "GAZ",
        "organizationCode": "700",
        "contractFundCode": "N/A",
        "accountingInstallation": "51",
        "fieldOfScienceOrEngineering": "N/A",
        "isPhysicallyComplete": "Y" if award.closed is not None else "N",
    }


def _flags(*names: str, yes: tuple[str, ...] = ()) -> dict[str, str]:
    return {name: "YES" if name in yes else NO for name in names}


def awardee_data(awardee: Awardee) -> Document:
    place = awardee.place
    location: Document = {"streetAddress1": awardee.street, "city": place.city}
    if place.state is not None:
        location["state"] = code_name(place.state)
    location |= {"zip": place.zip_code, "country": code_name(place.country)}
    if place.district is not None:
        location["congressionalDistrict"] = place.district
    location |= {"phoneNumber": awardee.phone, "faxNumber": awardee.phone[:-4] + "9404", "awardeeDataSource": "D&B"}
    small = ("womenOwnedBusiness",) if awardee.small_business else ()
    return {
        "awardeeHeader": {
            "awardeeName": awardee.name,
            "awardeeAlternateName": awardee.name.split(" ")[0],
            "legalBusinessName": awardee.name,
            "awardeeNameFromContract": awardee.name,
        },
        "awardeeUEIInformation": {
            "uniqueEntityId": awardee.uei,
            "cageCode": awardee.cage,
            "awardeeUltimateParentUniqueEntityId": awardee.parent_uei,
            "awardeeUltimateParentName": awardee.parent_name,
        },
        "awardeeLocation": location,
        "awardeeAlternateSiteCode": place.zip_code[:5],
        "awardeeRegistrationDetails": {
            "registrationDate": plain(awardee.registered),
            "renewalDate": plain(awardee.registered.replace(year=2025, day=1)),
        },
        "awardeeBusinessTypes": {
            "isUsFederalGovernment": _flags(
                "usFederalGovernment", "federalAgency", "federallyFundedResearchAndDevelopmentCorp"
            ),
            **_flags(
                "usStateGovernment",
                "foreignGovernment",
                "usTribalGovernment",
                "communityDevelopmentCorporationOwnedConcern",
            ),
            "isUsLocalGovernment": _flags(
                "usLocalGovernment",
                "city",
                "county",
                "intermunicipal",
                "localGovernmentOwned",
                "municipality",
                "schooldistrict",
                "township",
            ),
            **_flags("usGovernmentEntity", "laborSurplusAreaFirm"),
            "businessOrOrganization": _flags(
                "corporateEntityNotTaxExempt",
                "corporateEntityTaxExempt",
                "partnershipOrLimitedLiabilityPartnership",
                "soleProprietorship",
                "smallAgriculturalCooperative",
                "internationalOrganization",
                yes=("corporateEntityNotTaxExempt",),
            ),
        },
        "socioEconomicData": {
            **_flags(
                "alaskanNativeCorporationOwnedFirm",
                "americanIndianOwned",
                "indianTribeFederallyRecognized",
                "nativeHawaiianOrganizationOwnedFirm",
                "triballyOwnedFirm",
                "veteranOwnedBusiness",
                "serviceDisabledVeteranOwnedBusiness",
                "serviceDisabledVeteranOwnedBusinessJointVenture",
            ),
            "isMinorityOwnedBusiness": _flags(
                "minorityOwnedBusiness",
                "asianPacificAmericanOwned",
                "blackAmericanOwned",
                "hispanicAmericanOwned",
                "nativeAmericanOwned",
                "subcontinentAsianAsianIndianAmericanOwned",
                "individualOrConcernOtherThanOneOfThePreceding",
            ),
            **_flags(
                "womenOwnedBusiness",
                "womenOwnedSmallBusiness",
                "economicallyDisadvantagedWomenOwnedSmallBusiness",
                "womenOwnedSmallBusinessJointVenture",
                "economicallyDisadvantagedWomenOwnedSmallBusinessJointVenture",
                "emergingSmallBusiness",
                "smallBusinessJointVenture",
                "VerySmallBusiness",
                yes=small,
            ),
        },
        "lineOfBusiness": _flags(
            "communityDevelopmentCorporation",
            "domesticShelter",
            "educationalInstitution",
            "foundation",
            "hospital",
            "manufacturerOfGoods",
            "veterinaryHospital",
            "hispanicServicingInstitution",
        ),
        "relationshipWithFederalGovernment": _flags(
            "contracts", "federalassistanceawards", "allawards", yes=("contracts",)
        ),
        "otherGovernmentalEntities": _flags(
            "airportAuthority",
            "councilOfGovernments",
            "housingAuthoritiesPublicTribal",
            "interstateEntity",
            "planningCommission",
            "portAuthority",
            "transitAuthority",
        ),
        "organizationFactors": {
            **_flags(
                "subchapterSCorporation",
                "limitedLiabilityCorporation",
                "foreignOwned",
                "theAbilityOneProgram",
                yes=("limitedLiabilityCorporation",) if "LLC" in awardee.name else (),
            ),
            "profitStructure": _flags(
                "forProfitOrganization",
                "nonProfitOrganization",
                "otherNotForProfitOrganization",
                yes=("forProfitOrganization",),
            ),
            "organizationType": "CORPORATE NOT TAX EXEMPT",
            "stateOfIncorporation": code_name(place.state or ("", "")),
            "countryOfIncorporation": code_name(place.country),
        },
        "educationalEntities": _flags(
            "historicallyBlackCollegeOrUniversity",
            "minorityInstitution",
            "privateUniversityOrCollege",
            "schoolOfForestry",
            "stateControlledInstitutionOfHigherLearning",
            "tribalCollege",
            "veterinaryCollege",
            "alaskanNativeServicingInstitution",
            "nativeHawaiianServicingInstitution",
            "1862LandGrantCollege",
            "1890LandGrantCollege",
            "1994LandGrantCollege",
        ),
        "certifications": _flags(
            "sbaCertified8aProgramParticipant",
            "sbaCertified8aJointVenture",
            "selfCertifiedHubZoneJointVenture",
            "sbaCertifiedSmallDisadvantagedBusiness",
            "sbaCertifiedHubZoneFirm",
            "sbaCertifiedEconomicallyDisadvantagedWomenOwnedSmallBusiness",
            "selfCertifiedSmallDisadvantagedBusiness",
            "dotCertifiedDisadvantagedBusinessEnterprise",
            "sbaCertifiedWomenOwnedSmallBusiness",
        ),
    }
