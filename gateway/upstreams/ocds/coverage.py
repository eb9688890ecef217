"""What the OCDS normaliser leaves null, said once for every OCDS upstream's spec (stdlib only: specs import it)."""

from __future__ import annotations

NULL_FIELDS = (
    "Always null from this source: on Lead, industries, itaIndustries, tradeRegions, worldRegions, tags, "
    "fundingSource, borrowingEntity, projectNumber, projectSize, procurementOffice, agency and contractNumber; on "
    "Tender, gsins, deliveryRegions, opportunityRegions and notice (the whole compiled release is in `ocds`); on "
    "Contract, modificationNumber, referencedIdvPiid, fiscalYear, awardType, naics, productOrService, gsins, setAside, "
    "placeOfPerformance, notice, and the supplier's uniqueEntityId and cageCode."
)


def description(publisher: str) -> str:
    """A spec's description: what the mirror holds, how it maps, what stays null."""
    return (
        f"{publisher} notices: OCDS release packages pulled in update windows, compiled per contracting process "
        "(ocdsmerge, OCDS 1.1.5) and mirrored locally. A process with a planning or tender release is a tender and a "
        "lead (source UK); each award is a contract; both carry `ocid` and the compiled release (`ocds`). "
        "A process with no release for GATEWAY_<NAME>_RETENTION_DAYS (400) is deleted; over "
        "GATEWAY_MIRROR_MAX_DISK_BYTES the mirror stops pulling and says so in its status. " + NULL_FIELDS
    )
