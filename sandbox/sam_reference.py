"""Reference tables the SAM award generator draws from: agencies, industries, places, award kinds, code lists."""

from __future__ import annotations

from dataclasses import dataclass

CodeName = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Office:
    department: CodeName
    subtier: CodeName
    office: CodeName
    piid_prefix: str
    region_code: str | None = None

    @property
    def piid_subtier(self) -> CodeName:
        """DoD records name the department as the PIID's subtier (doc example 1); civilian ones the subtier."""
        return self.department if self.department[0] == "9700" else self.subtier


@dataclass(frozen=True, slots=True)
class Industry:
    naics: CodeName
    psc: CodeName
    psc_type: str
    description: str


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    state: CodeName | None
    zip_code: str
    country: CodeName
    county: CodeName | None
    district: str | None


@dataclass(frozen=True, slots=True)
class AwardKind:
    award_or_idv: str
    type: CodeName
    piid_letter: str

    @property
    def is_idv(self) -> bool:
        return self.award_or_idv == "IDV"

    @property
    def is_fss(self) -> bool:
        return self.is_idv and self.type[0] == "C"


BPA_CALL = AwardKind("AWARD", ("A", "BPA CALL"), "F")
PURCHASE_ORDER = AwardKind("AWARD", ("B", "PURCHASE ORDER"), "P")
DELIVERY_ORDER = AwardKind("AWARD", ("C", "DELIVERY ORDER"), "F")
DEFINITIVE_CONTRACT = AwardKind("AWARD", ("D", "DEFINITIVE CONTRACT"), "C")
GWAC = AwardKind("IDV", ("A", "GWAC"), "D")
IDC = AwardKind("IDV", ("B", "IDC"), "D")
FSS = AwardKind("IDV", ("C", "FSS"), "F")
BOA = AwardKind("IDV", ("D", "BOA"), "G")
BPA = AwardKind("IDV", ("E", "BPA"), "A")

DOD = ("9700", "DEPT OF DEFENSE")
GSA = ("4700", "GENERAL SERVICES ADMINISTRATION")
DOJ = ("1500", "JUSTICE, DEPARTMENT OF")
HHS = ("7500", "HEALTH AND HUMAN SERVICES, DEPARTMENT OF")
VA = ("3600", "VETERANS AFFAIRS, DEPARTMENT OF")
NASA = ("8000", "NATIONAL AERONAUTICS AND SPACE ADMINISTRATION")
DHS = ("7000", "HOMELAND SECURITY, DEPARTMENT OF")

DLA = ("97AS", "DEFENSE LOGISTICS AGENCY")
NAVY = ("1700", "DEPT OF THE NAVY")
ARMY = ("2100", "DEPT OF THE ARMY")
FAS = ("4732", "FEDERAL ACQUISITION SERVICE")

OFFICES: tuple[Office, ...] = (
    Office(DOD, DLA, ("SPE3SU", "DLA TROOP SUPPORT"), "SPE3SU"),
    Office(DOD, DLA, ("SPE4A6", "DLA AVIATION"), "SPE4A6"),
    Office(DOD, DLA, ("SPE7M5", "DLA LAND AND MARITIME"), "SPE7M5"),
    Office(DOD, NAVY, ("N40085", "NAVFAC MID-ATLANTIC"), "N40085"),
    Office(DOD, NAVY, ("N00024", "NAVAL SEA SYSTEMS COMMAND"), "N00024"),
    Office(DOD, ARMY, ("W912DY", "W072 ENDIST HUNTSVILLE"), "W912DY"),
    Office(GSA, FAS, ("47QSWA", "GSA/FAS ADMIN SVCS ACQUISITION BR(2"), "47QSWA"),
    Office(GSA, FAS, ("47QTCA", "GSA/FAS CENTER FOR IT SCHEDULE PROG"), "47QTCA"),
    Office(GSA, ("4740", "PUBLIC BUILDINGS SERVICE"), ("47PB00", "PBS R11 ACQUISITION DIVISION"), "47PB00"),
    Office(DOJ, ("1544", "U.S. MARSHALS SERVICE"), ("DJM", "U.S. DEPT OF JUSTICE, USMS"), "DJMS"),
    Office(DOJ, ("1540", "FEDERAL PRISON SYSTEM / BUREAU OF PRISONS"), ("15B615", "FCC TUCSON"), "15B615", "6"),
    Office(HHS, ("7529", "NATIONAL INSTITUTES OF HEALTH"), ("75N980", "NATIONAL INSTITUTES OF HEALTH NIAID"), "75N980"),
    Office(HHS, ("7524", "FOOD AND DRUG ADMINISTRATION"), ("75F401", "FDA OFFICE OF ACQ GRANT SVCS"), "75F401"),
    Office(VA, VA, ("36C776", "PCAC (36C776)"), "36C776"),
    Office(NASA, NASA, ("80GSFC", "NASA GODDARD SPACE FLIGHT CENTER"), "80GSFC"),
    Office(DHS, ("7022", "FEDERAL EMERGENCY MANAGEMENT AGENCY"), ("70FA20", "FEMA-CPOD CONTRACTING OFFICE"), "70FA20"),
)

INDUSTRIES: tuple[Industry, ...] = (
    Industry(("311812", "COMMERCIAL BAKERIES"), ("8915", "FRUITS AND VEGETABLES"), "PRODUCT", "SALAD MIX, CHL"),
    Industry(
        ("541512", "COMPUTER SYSTEMS DESIGN SERVICES"),
        ("DA01", "IT AND TELECOM - BUSINESS APPLICATION/APPLICATION DEVELOPMENT SUPPORT SERVICES (LABOR)"),
        "SERVICE",
        "APPLICATION DEVELOPMENT SUPPORT",
    ),
    Industry(
        ("513210", "SOFTWARE PUBLISHERS"),
        ("7A21", "IT AND TELECOM - BUSINESS APPLICATION SOFTWARE (PERPETUAL LICENSE SOFTWARE)"),
        "PRODUCT",
        "SOFTWARE LICENSES AND MAINTENANCE",
    ),
    Industry(
        ("541330", "ENGINEERING SERVICES"),
        ("R425", "SUPPORT- PROFESSIONAL: ENGINEERING/TECHNICAL"),
        "SERVICE",
        "ENGINEERING AND TECHNICAL SUPPORT",
    ),
    Industry(
        ("236220", "COMMERCIAL AND INSTITUTIONAL BUILDING CONSTRUCTION"),
        ("Z2AA", "REPAIR OR ALTERATION OF OFFICE BUILDINGS"),
        "SERVICE",
        "RENOVATE BUILDING INTERIOR",
    ),
    Industry(
        ("336413", "OTHER AIRCRAFT PARTS AND AUXILIARY EQUIPMENT MANUFACTURING"),
        ("1560", "AIRFRAME STRUCTURAL COMPONENTS"),
        "PRODUCT",
        "PANEL, STRUCTURAL",
    ),
    Industry(
        (
            "334511",
            "SEARCH, DETECTION, NAVIGATION, GUIDANCE, AERONAUTICAL, AND NAUTICAL SYSTEM AND INSTRUMENT MANUFACTURING",
        ),
        ("5841", "RADAR EQUIPMENT, AIRBORNE"),
        "PRODUCT",
        "RADAR SET SPARES",
    ),
    Industry(
        ("325412", "PHARMACEUTICAL PREPARATION MANUFACTURING"),
        ("6505", "DRUGS AND BIOLOGICALS"),
        "PRODUCT",
        "PHARMACEUTICALS",
    ),
    Industry(
        ("561210", "FACILITIES SUPPORT SERVICES"),
        ("S216", "HOUSEKEEPING- FACILITIES OPERATIONS SUPPORT"),
        "SERVICE",
        "BASE OPERATIONS SUPPORT",
    ),
    Industry(
        ("541611", "ADMINISTRATIVE MANAGEMENT AND GENERAL MANAGEMENT CONSULTING SERVICES"),
        ("R408", "SUPPORT- PROFESSIONAL: PROGRAM MANAGEMENT/SUPPORT"),
        "SERVICE",
        "PROGRAM MANAGEMENT SUPPORT",
    ),
    Industry(
        ("488190", "OTHER SUPPORT ACTIVITIES FOR AIR TRANSPORTATION"),
        ("J016", "MAINT/REPAIR/REBUILD OF EQUIPMENT- AIRCRAFT COMPONENTS AND ACCESSORIES"),
        "SERVICE",
        "AIRCRAFT COMPONENT OVERHAUL",
    ),
    Industry(
        ("332994", "SMALL ARMS, ORDNANCE, AND ORDNANCE ACCESSORIES MANUFACTURING"),
        ("1005", "GUNS, THROUGH 30MM"),
        "PRODUCT",
        "RIFLE SPARE PARTS",
    ),
    Industry(
        ("423430", "COMPUTER AND COMPUTER PERIPHERAL EQUIPMENT AND SOFTWARE MERCHANT WHOLESALERS"),
        (
            "7B21",
            "IT AND TELECOM - END USER: HELP DESK; TIER 1-2, WORKSPACE, PRINT, OUTPUT, PRODUCTIVITY TOOLS (HW/PERP SW)",
        ),
        "PRODUCT",
        "LAPTOPS AND DOCKING STATIONS",
    ),
    Industry(
        ("541715", "RESEARCH AND DEVELOPMENT IN THE PHYSICAL, ENGINEERING, AND LIFE SCIENCES"),
        ("AR12", "SPACE R&D SERVICES; SPACE FLIGHT, RESEARCH AND SUPPORTING ACTIVITIES; APPLIED RESEARCH"),
        "R&D",
        "SPACE FLIGHT RESEARCH SUPPORT",
    ),
    Industry(
        ("513310", "WIRED TELECOMMUNICATIONS CARRIERS"),
        ("DG11", "IT AND TELECOM - NETWORK AS A SERVICE"),
        "SERVICE",
        "CIRCUITS AND TELECOM SERVICES",
    ),
)

PLACES: tuple[Place, ...] = (
    Place("MORTON", ("IL", "ILLINOIS"), "615509058", ("USA", "UNITED STATES"), ("179", "TAZEWELL"), "16"),
    Place("DANVILLE", ("IL", "ILLINOIS"), "618326351", ("USA", "UNITED STATES"), ("183", "VERMILION"), "15"),
    Place("NORFOLK", ("VA", "VIRGINIA"), "235111234", ("USA", "UNITED STATES"), ("710", "NORFOLK"), "03"),
    Place("RESTON", ("VA", "VIRGINIA"), "201904321", ("USA", "UNITED STATES"), ("059", "FAIRFAX"), "11"),
    Place("ARLINGTON", ("VA", "VIRGINIA"), "222021234", ("USA", "UNITED STATES"), ("013", "ARLINGTON"), "08"),
    Place("HUNTSVILLE", ("AL", "ALABAMA"), "358051122", ("USA", "UNITED STATES"), ("089", "MADISON"), "05"),
    Place("SAN DIEGO", ("CA", "CALIFORNIA"), "921014402", ("USA", "UNITED STATES"), ("073", "SAN DIEGO"), "50"),
    Place("AUSTIN", ("TX", "TEXAS"), "787011234", ("USA", "UNITED STATES"), ("453", "TRAVIS"), "37"),
    Place("TUCSON", ("AZ", "ARIZONA"), "857061234", ("USA", "UNITED STATES"), ("019", "PIMA"), "06"),
    Place("GREENBELT", ("MD", "MARYLAND"), "207712400", ("USA", "UNITED STATES"), ("033", "PRINCE GEORGE'S"), "05"),
    Place("BETHESDA", ("MD", "MARYLAND"), "208921234", ("USA", "UNITED STATES"), ("031", "MONTGOMERY"), "08"),
    Place("PHILADELPHIA", ("PA", "PENNSYLVANIA"), "191115092", ("USA", "UNITED STATES"), ("101", "PHILADELPHIA"), "02"),
    Place("COLUMBUS", ("OH", "OHIO"), "432131234", ("USA", "UNITED STATES"), ("049", "FRANKLIN"), "03"),
    Place("RALEIGH", ("NC", "NORTH CAROLINA"), "276011234", ("USA", "UNITED STATES"), ("183", "WAKE"), "02"),
    Place("SEATTLE", ("WA", "WASHINGTON"), "981011234", ("USA", "UNITED STATES"), ("033", "KING"), "07"),
    Place("DENVER", ("CO", "COLORADO"), "802021234", ("USA", "UNITED STATES"), ("031", "DENVER"), "01"),
    Place(
        "WASHINGTON",
        ("DC", "DISTRICT OF COLUMBIA"),
        "204050001",
        ("USA", "UNITED STATES"),
        ("001", "DISTRICT OF COLUMBIA"),
        "98",
    ),
    Place("OTTAWA", None, "K1A0B1", ("CAN", "CANADA"), None, None),
    Place("KAISERSLAUTERN", None, "67657", ("DEU", "GERMANY"), None, None),
)

SET_ASIDES: tuple[CodeName, ...] = (
    ("NONE", "NO SET ASIDE USED."),
    ("NONE", "NO SET ASIDE USED."),
    ("NONE", "NO SET ASIDE USED."),
    ("SBA", "SMALL BUSINESS SET ASIDE - TOTAL"),
    ("8AN", "8(A) SOLE SOURCE"),
    ("HZC", "HUBZONE SET-ASIDE"),
    ("SDVOSBC", "SERVICE DISABLED VETERAN OWNED SMALL BUSINESS SET-ASIDE"),
    ("WOSB", "WOMEN OWNED SMALL BUSINESS SET ASIDE"),
    ("BI", "BUY INDIAN"),
)

EXTENT_COMPETED: tuple[CodeName, ...] = (
    ("A", "FULL AND OPEN COMPETITION"),
    ("A", "FULL AND OPEN COMPETITION"),
    ("C", "NOT COMPETED"),
    ("D", "FULL AND OPEN COMPETITION AFTER EXCLUSION OF SOURCES"),
    ("F", "COMPETED UNDER SAP"),
)

PRICING: tuple[CodeName, ...] = (
    ("J", "FIRM FIXED PRICE"),
    ("J", "FIRM FIXED PRICE"),
    ("U", "COST PLUS FIXED FEE"),
    ("Y", "TIME AND MATERIALS"),
)

REASONS_FOR_MODIFICATION: tuple[CodeName, ...] = (
    ("C", "FUNDING ONLY ACTION"),
    ("M", "OTHER ADMINISTRATIVE ACTION"),
    ("B", "SUPPLEMENTAL AGREEMENT FOR WORK WITHIN SCOPE"),
    ("G", "EXERCISE AN OPTION"),
    ("K", "CLOSE OUT"),
)

SMALL_BUSINESS: CodeName = ("S", "SMALL BUSINESS")
OTHER_THAN_SMALL: CodeName = ("O", "OTHER THAN SMALL BUSINESS")

NAME_FIRST = (
    "VERMILION",
    "BLUE RIDGE",
    "PATRIOT",
    "SUMMIT",
    "LIBERTY",
    "CASCADE",
    "IRONWOOD",
    "GRANITE",
    "NORTHSTAR",
    "PINNACLE",
    "REDSTONE",
    "ATLANTIC",
    "PRAIRIE",
    "HARBOR",
    "SILVERLINE",
    "KEYSTONE",
)
NAME_SECOND = (
    "VALLEY",
    "SYSTEMS",
    "TECHNOLOGIES",
    "SOLUTIONS",
    "LOGISTICS",
    "DEFENSE",
    "PRODUCE",
    "ENGINEERING",
    "FEDERAL",
    "AEROSPACE",
    "HEALTH",
    "CONSTRUCTION",
    "ANALYTICS",
    "SUPPLY",
)
NAME_SUFFIX = ("INC.", "LLC", "CORPORATION", "CO.", "GROUP, INC.", "PARTNERS LLC")
STREETS = ("SOUTH ST", "MAIN ST", "COMMERCE DR", "INDUSTRIAL PKWY", "MARKET ST", "RESEARCH BLVD", "FREEDOM WAY")
CREATED_BY = (
    "EBS.SYSADMIN.DLA.MIL",
    "NAVSUP.SYS@NAVY.MIL",
    "JANE.DOE@GSA.GOV",
    "ORDERS.SYSTEM@VA.GOV",
    "CONTRACTS@NIH.GOV",
    "PRISM.USER@NASA.GOV",
)
