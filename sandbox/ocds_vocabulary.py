"""What the UK OCDS generator draws from: fictional buyers and suppliers, real CPV codes, regions, people.

Buyers, suppliers and people are invented; CPV codes and descriptions are the EU's (public), NUTS region codes the
UK's ITL1 codes the publishers still use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    code: str  # the buyer's own reference prefix (tender.id) and its GB-GOR style identifier
    street: str
    locality: str
    region: str  # NUTS/ITL1 code
    region_name: str
    postcode: str
    domain: str


@dataclass(frozen=True, slots=True)
class Cpv:
    code: str
    description: str
    category: str  # mainProcurementCategory: goods, services or works
    subjects: tuple[str, ...]


BUYERS: tuple[Buyer, ...] = (
    Buyer("Eastbridge Borough Council", "EBC", "1 Civic Square", "Eastbridge", "UKH", "East of England", "CB9 4QT",
          "eastbridge.example.gov.uk"),
    Buyer("Northmoor NHS Foundation Trust", "NMT", "Moorside Hospital, Fell Road", "Northmoor", "UKC", "North East",
          "NE46 2BX", "northmoor.example.nhs.uk"),
    Buyer("Department for Coastal Affairs", "DCA", "22 Marsham Row", "London", "UKI", "London", "SW1P 4DF",
          "coastal.example.gov.uk"),
    Buyer("Westvale City Council", "WCC", "Guildhall, Market Street", "Westvale", "UKK", "South West", "BS48 1AA",
          "westvale.example.gov.uk"),
    Buyer("Highfield University", "HFU", "University Road", "Highfield", "UKE", "Yorkshire and The Humber",
          "LS29 8HF", "highfield.example.ac.uk"),
    Buyer("Severn Valley Police", "SVP", "Headquarters, Orchard Lane", "Kidderford", "UKG", "West Midlands",
          "WR11 3PL", "severnvalley.example.police.uk"),
    Buyer("Glenmarran Council", "GMC", "Council Buildings, High Street", "Glenmarran", "UKM", "Scotland", "PH21 1LD",
          "glenmarran.example.gov.scot"),
    Buyer("Afon Teg County Borough Council", "ATC", "Civic Centre", "Pontafon", "UKL", "Wales", "CF47 8AN",
          "afonteg.example.gov.wales"),
    Buyer("Lough Erne Housing Executive", "LEH", "2 Quay Street", "Ennisford", "UKN", "Northern Ireland", "BT74 6AA",
          "lougherne.example.gov.uk"),
    Buyer("Midshire County Council", "MCC", "County Hall, Castle Hill", "Midbury", "UKF", "East Midlands",
          "LE65 1HP", "midshire.example.gov.uk"),
    Buyer("Kentmere Fire and Rescue Service", "KFR", "Station Road", "Kentmere", "UKJ", "South East", "TN27 0AG",
          "kentmerefire.example.gov.uk"),
    Buyer("Pennine Water Authority", "PWA", "Reservoir House", "Calderbrook", "UKD", "North West", "OL14 7QW",
          "penninewater.example.gov.uk"),
    Buyer("Office for National Archives Digitisation", "NAD", "Ruskin Avenue", "Kew", "UKI", "London", "TW9 4DU",
          "archives-digital.example.gov.uk"),
    Buyer("Thamesmead Schools Academy Trust", "TSA", "Academy House, 9 Wharf Lane", "Thamesmead", "UKI", "London",
          "SE28 0LW", "tsat.example.sch.uk"),
)  # fmt: skip

CPVS: tuple[Cpv, ...] = (
    Cpv("72000000", "IT services: consulting, software development, Internet and support", "services",
        ("Digital case management system", "Cloud hosting and support", "Website redevelopment")),
    Cpv("48000000", "Software package and information systems", "goods",
        ("Licences for data analytics software", "Finance system replacement")),
    Cpv("45233130", "Construction work for highways", "works",
        ("Cycle lane improvements", "Resurfacing of the inner ring road")),
    Cpv("45000000", "Construction work", "works", ("Refurbishment of the main reception", "New sports pavilion")),
    Cpv("79710000", "Security services", "services", ("Manned guarding services", "Event stewarding services")),
    Cpv("90910000", "Cleaning services", "services", ("Office cleaning services", "Window cleaning framework")),
    Cpv("85000000", "Health and social work services", "services",
        ("Community wellbeing service", "Domiciliary care framework")),
    Cpv("33100000", "Medical equipments", "goods", ("Ultrasound scanners", "Patient monitoring equipment")),
    Cpv("34144000", "Special-purpose motor vehicles", "goods", ("Refuse collection vehicles", "Gully emptiers")),
    Cpv("71000000", "Architectural, construction, engineering and inspection services", "services",
        ("Multi-disciplinary design team", "Structural surveys of bridges")),
    Cpv("80500000", "Training services", "services", ("Leadership development programme", "First aid training")),
    Cpv("55520000", "Catering services", "services", ("School meals service", "Staff restaurant catering")),
    Cpv("77310000", "Planting and maintenance services of green areas", "services",
        ("Grounds maintenance contract", "Tree surgery and arboricultural works")),
    Cpv("09310000", "Electricity", "goods", ("Supply of renewable electricity",)),
    Cpv("66000000", "Financial and insurance services", "services",
        ("Insurance brokerage services", "Treasury management advice")),
)  # fmt: skip

SUPPLIER_FIRST = ("Bytes", "Harbour", "Oakleaf", "Northgate", "Brightwater", "Keystone", "Redbrick", "Fenland",
                  "Silverbirch", "Castlegate", "Meridian", "Thistle")  # fmt: skip
SUPPLIER_SECOND = ("Software Services", "Facilities", "Construction", "Care", "Consulting", "Engineering",
                   "Security", "Catering", "Vehicles", "Energy")  # fmt: skip
SUPPLIER_SUFFIX = ("Limited", "Ltd", "LLP", "plc", "Ltd.")
FIRST_NAMES = ("Victoria", "Siân", "Niamh", "Oluwaseun", "Rhys", "Aoife", "Mohammed", "Chloé", "Eilidh", "Tomás",
               "Harriet", "Dev", "Zoë", "Callum")  # fmt: skip
LAST_NAMES = ("Stone", "O\u2019Brien", "Okonkwo", "Pritchard", "MacLeod", "Nowak", "Hussain", "Dubois", "Fletcher",
              "Ó Súilleabháin", "Evans", "Chaudhry")  # fmt: skip
PROCEDURES: tuple[tuple[str, str], ...] = (
    ("open", "Open procedure"),
    ("open", "Open procedure (below threshold)"),
    ("selective", "Restricted procedure"),
    ("selective", "Call-off from a framework agreement"),
    ("limited", "Direct award"),
)
CF_EXTENSIONS = (
    "https://standard.open-contracting.org/profiles/eu/master/en/extension.json",
    "https://raw.githubusercontent.com/portaledcahn/ocds_tenderDatePublished_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_budget_breakdown_extension/master/extension.json",
    "https://raw.githubusercontent.com/Crown-Commercial-Service/ocds_awards_datePublished_extension/main/extension.json",
    "https://raw.githubusercontent.com/Crown-Commercial-Service/ocds_partyDetails_vcse_extension/main/extension.json",
    "https://raw.githubusercontent.com/Crown-Commercial-Service/ocds_tender_suitability_extension/main/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json",
)
FTS_EXTENSIONS = (
    "https://standard.open-contracting.org/profiles/eu/latest/en/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_amendment_rationale_classifications_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_budget_breakdown_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_contract_completion_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_documentation_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_suitability_extension/master/extension.json",
    "https://raw.githubusercontent.com/portaledcahn/ocds_Links_extension/main/extension.json",
    "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json",
)  # fmt: skip
PUBLISHER = {
    "name": "Cabinet Office",
    "scheme": "GB-GOR",
    "uid": "D2",
    "uri": "https://www.gov.uk/government/organisations/cabinet-office",
}
LICENSE = "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
PUBLICATION_POLICY = "https://www.gov.uk/government/publications/open-contracting"
