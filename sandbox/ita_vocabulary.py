"""Word banks for generated trade leads: sectors with each source's own industry vocabulary, agencies, places."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sector:
    """One line of business as each source names it (controlled terms, NAICS, GSIN, CPV)."""

    subjects: tuple[str, ...]
    uk_industry: str
    canada_industry: str
    fbo_industry: str
    fbo_classification: str
    australia_industry: str
    state_industry: str
    state_tags: str
    cpv_codes: tuple[str, ...]
    ita_industry: str


SECTORS: tuple[Sector, ...] = (
    Sector(
        ("medical equipment", "patient monitoring systems", "physician services", "dental clinic services"),
        "Health and Social",
        "G009E: Medical/Dental Clinic Services",
        "621111: Offices of Physicians (except Mental Health Specialists)",
        "Q",
        "Medical Equipment and Accessories and Supplies",
        "Health Care and Social Assistance",
        "Health; Construction",
        ("CPV/33100000", "CPV/85110000"),
        "Health Care Services",
    ),
    Sector(
        ("hospital construction", "office building renovation", "engineering services for buildings"),
        "Construction and Real Estate",
        "C119F: Engineering Services - Buildings",
        "236220: Commercial and Institutional Building Construction",
        "Y",
        "Building and Construction and Maintenance Services",
        "Construction",
        "Construction; Infrastructure",
        ("CPV/45000000", "CPV/45210000"),
        "Architecture, Construction and Engineering Services",
    ),
    Sector(
        ("water treatment plant upgrade", "drainage rehabilitation works", "septic tank servicing"),
        "Environment and Sanitation",
        "N4610: Water Purification Equipment",
        "562991: Septic Tank and Related Services",
        "W",
        "Water and wastewater treatment supply and disposal",
        "Utilities",
        "Water, Sanitation and flood protection",
        ("CPV/45232450", "CPV/45252100"),
        "Water and Wastewater Treatment",
    ),
    Sector(
        ("solar power generation", "electrical substation equipment", "hydropower feasibility study"),
        "Energy",
        "N6115: Generators and Generator Sets, Electrical",
        "221118: Other Electric Power Generation",
        "S",
        "Power generation and distribution machinery and accessories",
        "Energy",
        "Power; Renewable Energy",
        ("CPV/09300000", "CPV/31100000"),
        "Renewable Energy",
    ),
    Sector(
        ("case management software", "data centre hosting", "network security upgrade"),
        "Computer and Related Services",
        "D302A: Systems Development Services",
        "541512: Computer Systems Design Services",
        "D",
        "Computer services",
        "Information",
        "ICT; Software",
        ("CPV/72000000", "CPV/48000000"),
        "Information and Communication Technology",
    ),
    Sector(
        ("airport master planning", "road resurfacing", "rail signalling equipment"),
        "Transport and Logistics",
        "C211A: Engineering Services - Roads and Highways",
        "237310: Highway, Street, and Bridge Construction",
        "Z",
        "Transport operations",
        "Transportation and Warehousing",
        "Transport; Infrastructure",
        ("CPV/45233120", "CPV/71311000"),
        "Transportation Infrastructure",
    ),
    Sector(
        ("language training services", "teacher training programme", "school furniture"),
        "Education",
        "U099D: Language Training Services",
        "611710: Educational Support Services",
        "U",
        "Education and Training Services",
        "Educational Services",
        "Primary Education, Secondary Education",
        ("CPV/80000000", "CPV/39160000"),
        "Education and Training",
    ),
    Sector(
        ("irrigation equipment", "seeds and fertilizers", "grain storage facilities"),
        "Agriculture",
        "N3710: Soil Preparation Equipment",
        "111998: All Other Miscellaneous Crop Farming",
        "F",
        "Farming and Fishing and Forestry and Wildlife Machinery and Accessories",
        "Agriculture, Forestry, Fishing and Hunting",
        "Agriculture; Food Security",
        ("CPV/03130000", "CPV/24400000", "CPV/16100000"),
        "Agribusiness",
    ),
    Sector(
        ("fire fighting equipment", "protective clothing", "combat boots"),
        "Defence and security",
        "N8415: Clothing, Special Purpose",
        "316210: Footwear Manufacturing",
        "84",
        "Fire fighting equipment",
        "Public Administration",
        "Defense; Equipment",
        ("CPV/18800000", "CPV/35110000"),
        "Defense Equipment",
    ),
    Sector(
        ("security guard services", "perimeter fencing and CCTV", "laundry and linen services"),
        "Other Services",
        "S206A: Guard Services",
        "812320: Drycleaning and Laundry Services (except Coin-Operated)",
        "S",
        "Security and personal safety",
        "Administrative and Support Services",
        "Security; Facilities",
        ("CPV/79710000", "CPV/98310000"),
        "Safety and Security",
    ),
    Sector(
        ("fresh meat, poultry and fish", "catering services", "bottled water supply"),
        "Other Services",
        "N8905Z: Meat, Poultry and Fish",
        "311612: Meat Processed from Carcasses",
        "89",
        "Food and Beverage Products",
        "Accommodation and Food Services",
        "Food; Catering",
        ("CPV/15100000", "CPV/55520000"),
        "Processed Food",
    ),
    Sector(
        ("telecommunications towers", "radio communication equipment", "fibre optic backbone"),
        "Technology and Equipment",
        "N5820: Radio and Television Communication Equipment",
        "517919: All Other Telecommunications",
        "58",
        "Telecommunications media services",
        "Information",
        "Telecommunications; ICT",
        ("CPV/32500000", "CPV/64200000"),
        "Telecommunications Equipment",
    ),
    Sector(
        ("environmental impact assessment", "market survey consultancy", "climate resilience research"),
        "Research and Development",
        "B219A: Environmental Studies and Assessments",
        "541620: Environmental Consulting Services",
        "B",
        "Environmental Services",
        "Professional, Scientific, and Technical Services",
        "Environment; Research",
        ("CPV/90711000", "CPV/79310000"),
        "Environmental Technology",
    ),
)

ACTIONS = (
    "Supply of",
    "Provision of",
    "Procurement of",
    "Design and installation of",
    "Maintenance of",
    "Framework agreement for",
    "Tender for",
    "Consultancy for",
)
PURPOSES = (
    "to support regional service delivery",
    "for a base period of 12 months with two option years",
    "under a national modernisation programme",
    "to replace ageing infrastructure",
    "as part of a donor-funded investment project",
    "to meet growing demand in the capital",
)
PROCEDURES = (
    "All interested suppliers may submit a bid.",
    "Bids must be submitted electronically.",
    "A pre-bid conference will be held on site.",
    "Only pre-qualified suppliers will be invited.",
    "Evaluation is on the basis of best value for money.",
    "Lowest priced compliant bid will be selected.",
)

AUSTRALIA_AGENCIES = (
    "Defence Materiel Organisation",
    "Department of Health",
    "Department of Infrastructure",
    "Australian Taxation Office",
    "Bureau of Meteorology",
    "Department of Education",
    "CSIRO",
    "Department of Human Services",
)
AUSTRALIA_METHODS = ("Open tender", "Limited tender", "Prequalified tender")

CANADA_DEPARTMENTS = (
    "Public Works & Government Services Canada",
    "Correctional Service of Canada",
    "Department of National Defence",
    "Veterans Affairs Canada",
    "Health Canada",
    "Transport Canada",
    "Environment Canada",
    "Fisheries and Oceans Canada",
)
CANADA_PROVINCES = (
    "Alberta",
    "British Columbia",
    "Manitoba",
    "New Brunswick",
    "Nova Scotia",
    "Ontario",
    "Québec",
    "Saskatchewan",
    "National Capital Region",
)
CANADA_NOTICE_TYPES = ("APM-NPP", "DDP-RFP", "AO-ITT", "PAC-ACAN", "RFSO", "RFI")
CANADA_TRADE_AGREEMENTS = (
    "None",
    "Agreement on Internal Trade (AIT)",
    "North America Free Trade Agreement (NAFTA)",
    "WTO-AGP/NAFTA/AIT/Canada FTAs with Peru/Colombia/Panama",
)
CANADA_BID_TYPES = ("Open", "All interested suppliers may submit a bid", None)
CANADA_STRATEGIES = (None, "Lowest/Lower Bid", "Best Overall Proposal")
CANADA_FRENCH_NOTES = (
    "Lieu de livraison : Montréal (Québec).",
    "Séance d'information : montée St-François, Laval.",
    "Les soumissions doivent être présentées en français ou en anglais.",
    "",
)
CANADA_CONTACTS = (
    ("McDonald", "Shannon"),
    ("Elder", "Sylvie"),
    ("Paradis", "Mary"),
    ("Desrosiers", "Léna"),
    ("Souleiman", "Mohamed"),
    ("Tremblay", "Benoît"),
    ("Nguyen", "Linh"),
)

FBO_AGENCIES = (
    ("Department of the Army", "Army Contracting Command"),
    ("Department of the Air Force", "Air Mobility Command"),
    ("Department of the Navy", "Naval Facilities Engineering Command"),
    ("Department of State", "Office of Acquisitions Management"),
    ("Agency for International Development", "Overseas Missions"),
)
FBO_NOTICE_TYPES = ("PRESOL", "COMBINE", "SRCSGT", "MOD")
FBO_STRATEGIES = ("Total Small Business", "N/A", "Partial Small Business", None)
FBO_COUNTRIES = (
    "BR",
    "DE",
    "JP",
    "KR",
    "IT",
    "ES",
    "GB",
    "TR",
    "AE",
    "QA",
    "SA",
    "JO",
    "EG",
    "KE",
    "PH",
    "MX",
    "CO",
    "PE",
    "GH",
    "NG",
    "IN",
    "PK",
    "TH",
    "PL",
)

STATE_LEAD_SOURCES = (
    "World Bank",
    "Inter-American Development Bank",
    "African Development Bank",
    "Asian Development Bank",
    "Post Identified Project",
)
STATE_FUNDING = ("Development Banks", "Government", "Private", "Development Bank")
STATE_OFFICERS = (
    ("Asike, Chuka", "AsikeC@state.gov"),
    ("Hala Rharrit", "RharritH@state.gov"),
    ("Dela Cruz, Maria", "DelaCruzM@state.gov"),
    ("Okafor, Emeka", "OkaforE@state.gov"),
)
STATE_COUNTRIES = (
    "CO",
    "PH",
    "QA",
    "KE",
    "NG",
    "GH",
    "TZ",
    "ET",
    "VN",
    "ID",
    "IN",
    "BD",
    "PK",
    "EG",
    "MA",
    "PE",
    "CL",
    "MX",
    "GT",
    "DO",
    "SA",
    "AE",
    "ZA",
    "UA",
)

UK_BUYERS = (
    ("National Measurement & Regulation Office", "nmro.gov.uk"),
    ("British Library", "bl.uk"),
    ("University Of Leeds", "leeds.ac.uk"),
    ("Public Health England", "phe.gov.uk"),
    ("UNIVERSITY COLLEGE LONDON", "ucl.ac.uk"),
    ("Norfolk Constabulary", "norfolk.pnn.police.uk"),
    ("Crown Commercial Service", "crowncommercial.gov.uk"),
    ("NHS Supply Chain", "supplychain.nhs.uk"),
)
UK_LOCATIONS = (None, "Any region", "London", "East of England", "South East", "North West", "Scotland", "Wales")

MCA_COUNTRIES = ("SN", "ZM", "MA", "GH", "TZ", "BJ", "MW", "NE", "MN", "PH", "GE", "SV", "JO", "ID")

USTDA_COUNTRIES = ("CR", "RW", "VN", "IN", "NG", "KE", "MX", "PE", "PH", "ID", "GH", "ET", "TR", "UA", "BR", "CL")
