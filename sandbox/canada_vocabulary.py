"""Bilingual vocabulary of the Canadian procurement imitation: regions, GSINs, departments, suppliers, title shapes.

Region names and codes are those of the original loader (`bas/input.py: REGION_MAP`, UPSTREAMS.md §2.2); GSIN
codes and descriptions follow the Goods and Services Identification Number list as it appears in BuyAndSell data.
Supplier names are invented.
"""

from __future__ import annotations

from typing import NamedTuple


class Region(NamedTuple):
    code: str
    name_en: str
    name_fr: str
    cities: tuple[str, ...]


PROVINCES_AND_TERRITORIES: tuple[Region, ...] = (
    Region("AB", "Alberta", "Alberta", ("Edmonton", "Calgary", "Cold Lake", "Wainwright")),
    Region("BC", "British Columbia", "Colombie-Britannique", ("Vancouver", "Victoria", "Esquimalt", "Comox")),
    Region("MB", "Manitoba", "Manitoba", ("Winnipeg", "Brandon", "Churchill")),
    Region("NB", "New Brunswick", "Nouveau-Brunswick", ("Fredericton", "Moncton", "Gagetown", "Saint John")),
    Region("NL", "Newfoundland and Labrador", "Terre-Neuve-et-Labrador", ("St. John's", "Goose Bay", "Gander")),
    Region("NS", "Nova Scotia", "Nouvelle-Écosse", ("Halifax", "Dartmouth", "Greenwood", "Sydney")),
    Region("NT", "Northwest Territories", "Territoires du Nord-Ouest", ("Yellowknife", "Inuvik")),
    Region("NU", "Nunavut", "Nunavut", ("Iqaluit", "Cambridge Bay", "Resolute")),
    Region("ON", "Ontario", "Ontario", ("Toronto", "Kingston", "Petawawa", "Trenton", "Borden", "Sudbury")),
    Region("PE", "Prince Edward Island", "Île-du-Prince-Édouard", ("Charlottetown", "Summerside")),
    Region("QC", "Quebec", "Québec", ("Montréal", "Québec", "Valcartier", "Bagotville", "Sherbrooke")),
    Region("SK", "Saskatchewan", "Saskatchewan", ("Regina", "Saskatoon", "Moose Jaw")),
    Region("YT", "Yukon", "Yukon", ("Whitehorse", "Dawson City")),
)
NATIONAL_CAPITAL_REGION = Region(
    "NCR", "National Capital Region", "Région de la capitale nationale", ("Ottawa", "Gatineau")
)
WIDER_REGIONS: tuple[Region, ...] = (
    Region("CAN", "Canada", "Canada", ()),
    Region("ABL", "Aboriginal Lands", "Terres autochtones", ()),
    Region("USA", "United States", "États-Unis", ()),
    Region("MEX", "Mexico", "Mexique", ()),
    Region("INT", "World", "Monde", ()),
    Region("X-INT", "Foreign", "Étranger", ()),
)
REGIONS: tuple[Region, ...] = (*PROVINCES_AND_TERRITORIES, NATIONAL_CAPITAL_REGION, *WIDER_REGIONS)
REGION_BY_CODE = {region.code: region for region in REGIONS}
REGION_CODES = frozenset(REGION_BY_CODE)

# The region names of the raw BuyAndSell tender file (EN and FR rows) and their codes; None = not a region.
REGION_CODE_BY_NAME: dict[str, str | None] = {
    "Aboriginal Lands": "ABL",
    "Alberta": "AB",
    "British Columbia": "BC",
    "Canada": "CAN",
    "Colombie-Britannique": "BC",
    "États-Unis": "USA",
    "Foreign": "X-INT",
    "Île-du-Prince-Édouard": "PE",
    "Internationale": "INT",
    "Manitoba": "MB",
    "Mexico": "MEX",
    "Mexique": "MEX",
    "Monde": "INT",
    "National Capital Region": "NCR",
    "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL",
    "Non spécifiée": None,
    "Northwest Territories": "NT",
    "Nouveau-Brunswick": "NB",
    "Nouvelle-Écosse": "NS",
    "Nova Scotia": "NS",
    "Nunavut": "NU",
    "Ontario": "ON",
    "Prince Edward Island": "PE",
    "Quebec": "QC",
    "Québec": "QC",
    "Région de la capitale nationale": "NCR",
    "Saskatchewan": "SK",
    "Terre-Neuve-et-Labrador": "NL",
    "Terres autochtones": "ABL",
    "Territoires du Nord-Ouest": "NT",
    "United States": "USA",
    "Unspecified": None,
    "World": "INT",
    "Yukon": "YT",
}


class Gsin(NamedTuple):
    code: str
    description_en: str
    description_fr: str


GSINS: tuple[Gsin, ...] = (
    Gsin("B505A", "Environmental Studies", "Études environnementales"),
    Gsin("C211A", "Architectural Services", "Services d'architecture"),
    Gsin("C211B", "Engineering Services", "Services d'ingénierie"),
    Gsin("C219DA", "Environmental Consulting Services", "Services de consultation en environnement"),
    Gsin("D302A", "Informatics Professional Services", "Services professionnels, informatique"),
    Gsin("D312A", "Optical Scanning Services", "Services de lecture optique"),
    Gsin("D399A", "Telecommunications Services", "Services de télécommunications"),
    Gsin("H399A", "Inspection Services", "Services d'inspection"),
    Gsin("J015A", "Repair and Overhaul of Aircraft", "Réparation et révision d'aéronefs"),
    Gsin("J059A", "Maintenance of Electrical Equipment", "Entretien de l'équipement électrique"),
    Gsin(
        "JX7030",
        "ADP Software Maintenance - Other than Microcomputer",
        "Maintenance de logiciels ADP - autres que micro-ordinateurs",
    ),
    Gsin("K100A", "Cleaning and Maintenance, Janitorial", "Nettoyage et entretien, conciergerie"),
    Gsin("N1560", "Airframe Structural Components", "Composants structuraux de cellules"),
    Gsin("N2090", "Ship and Marine Miscellaneous Equipment", "Équipement divers pour navires et marine"),
    Gsin("N2310", "Passenger Motor Vehicles", "Véhicules automobiles de tourisme"),
    Gsin("N2320", "Trucks and Truck Tractors, Wheeled", "Camions et tracteurs routiers à roues"),
    Gsin(
        "N2530",
        "Vehicular Brake, Steering, Axle, Wheel and Track Components",
        "Composants de freins, de direction, d'essieux, de roues et de chenilles de véhicules",
    ),
    Gsin("N2915", "Engine Fuel System Components, Aircraft", "Composants du circuit de carburant, aéronefs"),
    Gsin("N3510", "Laundry and Dry Cleaning Equipment", "Équipement de buanderie et de nettoyage à sec"),
    Gsin("N4110", "Refrigeration Equipment", "Équipement de réfrigération"),
    Gsin("N5410", "Prefabricated and Portable Buildings", "Bâtiments préfabriqués et transportables"),
    Gsin("N5820", "Radio and Television Communication Equipment", "Équipement de communication radio et télévision"),
    Gsin("N6505", "Drugs and Biologicals", "Médicaments et produits biologiques"),
    Gsin(
        "N6515",
        "Medical and Surgical Instruments, Equipment and Supplies",
        "Instruments, équipements et approvisionnements médicaux et chirurgicaux",
    ),
    Gsin("N6640", "Laboratory Equipment and Supplies", "Équipement et fournitures de laboratoire"),
    Gsin("N7021", "Computers", "Ordinateurs"),
    Gsin("N7030", "ADP Software", "Logiciels ADP"),
    Gsin("N7110", "Office Furniture", "Meubles de bureau"),
    Gsin(
        "N7310",
        "Food, Cooking, Baking and Serving Equipment",
        "Équipement pour la cuisson, la cuisson au four et le service des aliments",
    ),
    Gsin("N7520", "Office Devices and Accessories", "Appareils et accessoires de bureau"),
    Gsin("N7610AA", "Printing of Books and Pamphlets", "Impression de livres et de brochures"),
    Gsin("N7610D", "Printing of Forms", "Impression de formulaires"),
    Gsin("N7690", "Miscellaneous Printed Matter", "Imprimés divers"),
    Gsin("N8405", "Outerwear, Men's", "Vêtements de dessus pour hommes"),
    Gsin("N8415", "Clothing, Special Purpose", "Vêtements à usage spécial"),
    Gsin("N8910", "Dairy Foods and Eggs", "Produits laitiers et oeufs"),
    Gsin(
        "N9130", "Liquid Propellants and Fuels, Petroleum Base", "Propergols liquides et carburants à base de pétrole"
    ),
    Gsin("N9515A", "Steel Plates, Sheets and Strips", "Tôles, feuilles et feuillards d'acier"),
    Gsin("R019AA", "Management Consulting Services", "Services de conseils en gestion"),
    Gsin("R019BF", "Human Resource Services", "Services aux ressources humaines"),
    Gsin("R109D", "Translation Services", "Services de traduction"),
    Gsin("R199A", "Security Guard Services", "Services de gardiennage"),
    Gsin("S201A", "Custodial Janitorial Services", "Services de conciergerie"),
    Gsin("S206A", "Snow Removal Services", "Services de déneigement"),
    Gsin("U006A", "Training Services", "Services de formation"),
    Gsin("V201A", "Air Charter Services", "Services d'affrètement aérien"),
    Gsin("V204B", "Mail Transportation Services", "Services de transport du courrier"),
    Gsin("V204IA", "Aircraft Rental with Pilot", "Location d'aéronefs avec pilote"),
)


class Department(NamedTuple):
    name_en: str
    name_fr: str
    weight: int


DEPARTMENTS: tuple[Department, ...] = (
    Department("Public Works and Government Services Canada", "Travaux publics et Services gouvernementaux Canada", 12),
    Department("Department of National Defence", "Ministère de la défense nationale", 12),
    Department("Correctional Service of Canada", "Service correctionnel du Canada", 3),
    Department("Health Canada", "Santé Canada", 3),
    Department("Fisheries and Oceans Canada", "Pêches et Océans Canada", 3),
    Department("Canadian Coast Guard", "Garde côtière canadienne", 2),
    Department("Royal Canadian Mounted Police", "Gendarmerie royale du Canada", 4),
    Department("Environment Canada", "Environnement Canada", 2),
    Department("Transport Canada", "Transports Canada", 2),
    Department("Agriculture and Agri-Food Canada", "Agriculture et Agroalimentaire Canada", 2),
    Department("Natural Resources Canada", "Ressources naturelles Canada", 2),
    Department("Parks Canada", "Parcs Canada", 2),
    Department("Statistics Canada", "Statistique Canada", 1),
    Department("Canada Border Services Agency", "Agence des services frontaliers du Canada", 2),
    Department("Employment and Social Development Canada", "Emploi et Développement social Canada", 1),
    Department("Industry Canada", "Industrie Canada", 1),
    Department("Shared Services Canada", "Services partagés Canada", 3),
    Department("Canadian Food Inspection Agency", "Agence canadienne d'inspection des aliments", 1),
    Department("Public Health Agency of Canada", "Agence de la santé publique du Canada", 1),
    Department("Library and Archives Canada", "Bibliothèque et Archives Canada", 1),
    Department("Canadian Space Agency", "Agence spatiale canadienne", 1),
    Department("Citizenship and Immigration Canada", "Citoyenneté et Immigration Canada", 1),
    Department("National Research Council Canada", "Conseil national de recherches Canada", 1),
    Department("Veterans Affairs Canada", "Anciens Combattants Canada", 1),
    Department("Canada Revenue Agency", "Agence du revenu du Canada", 1),
)


class Supplier(NamedTuple):
    name: str
    city: str
    region: str


SUPPLIERS: tuple[Supplier, ...] = (
    Supplier("BOREAL DATA SYSTEMS INC", "Ottawa", "Ontario"),
    Supplier("RIDEAU INFORMATICS CORPORATION", "Ottawa", "Ontario"),
    Supplier("MAPLE RIDGE CONSULTING INC", "Gatineau", "Quebec"),
    Supplier("LAURENTIAN OFFICE INTERIORS LTD", "Québec", "Quebec"),
    Supplier("SAINT-LAURENT TECHNOLOGIES INC", "Montréal", "Quebec"),
    Supplier("LES ENTREPRISES BEAUCE-NORD INC", "Saint-Georges", "Quebec"),
    Supplier("CHAMPLAIN ENGINEERING INC", "Sherbrooke", "Quebec"),
    Supplier("TRANSPORTS GASPESIE INC", "Rimouski", "Quebec"),
    Supplier("PRAIRIE FLEET SERVICES LTD", "Regina", "Saskatchewan"),
    Supplier("STRATHCONA UNIFORMS LTD", "Saskatoon", "Saskatchewan"),
    Supplier("ATLANTIC MARINE SUPPLY INC", "Halifax", "Nova Scotia"),
    Supplier("BLUENOSE SHIP REPAIR LTD", "DARTMOUTH", "Nova Scotia"),
    Supplier("COASTAL TRANSLATION GROUP", "Vancouver", "British Columbia"),
    Supplier("PACIFIC RIM AVIATION LTD", "Richmond", "British Columbia"),
    Supplier("ORCA MARINE ELECTRONICS LTD", "Victoria", "British Columbia"),
    Supplier("OKANAGAN LAB SUPPLIES LTD", "Penticton", "British Columbia"),
    Supplier("CARIBOU VEHICLE SOLUTIONS LTD", "Prince George", "British Columbia"),
    Supplier("NORTHERN AIR CHARTER LTD", "Yellowknife", "Northwest Territories"),
    Supplier("IQALUIT LOGISTICS INC", "Iqaluit", "Nunavut"),
    Supplier("KLONDIKE ENVIRONMENTAL LTD", "Whitehorse", "Yukon"),
    Supplier("CHINOOK JANITORIAL SERVICES LTD", "Calgary", "Alberta"),
    Supplier("TUNDRA TELECOM INC", "Edmonton", "Alberta"),
    Supplier("RED RIVER MEDICAL SUPPLY INC", "Winnipeg", "Manitoba"),
    Supplier("HUDSON BAY PROVISIONS LTD", "Thompson", "Manitoba"),
    Supplier("HARBOURSIDE PRINTING LTD", "Saint John", "New Brunswick"),
    Supplier("MIRAMICHI DIESEL & TURBINE INC", "Miramichi", "New Brunswick"),
    Supplier("ACADIA ARCHITECTS INC", "Moncton", "New Brunswick"),
    Supplier("ISLAND CATERING EQUIPMENT INC", "Charlottetown", "Prince Edward Island"),
    Supplier("AVALON SECURITY SERVICES INC", "St. John's", "Newfoundland and Labrador"),
    Supplier("GREAT LAKES STEEL PRODUCTS INC", "Hamilton", "Ontario"),
    Supplier("CAPITAL SNOW CLEARING LTD", "Nepean", "Ontario"),
    Supplier("FRONTENAC TRAINING GROUP INC", "Kingston", "Ontario"),
    Supplier("TRILLIUM FOOD SERVICE EQUIPMENT LTD", "Toronto", "Ontario"),
    Supplier("POLARIS OPTICAL SCANNING INC", "Mississauga", "Ontario"),
    Supplier("ALGONQUIN PHARMACEUTICALS INC", "North Bay", "Ontario"),
    Supplier("LAKESHORE FURNITURE CO", "GREEN BAY", "Wisconsin"),
    Supplier("MIDWEST SCIENTIFIC INC", "Minneapolis", "Minnesota"),
    Supplier("BUFFALO PRECISION PARTS INC", "Buffalo", "New York"),
    Supplier("MONTERREY INDUSTRIAL SUPPLY SA DE CV", "Monterrey", "Nuevo León"),
)

# Title shapes of BuyAndSell notices, EN and FR; every title ends with the solicitation number in brackets.
TITLE_SHAPES: tuple[tuple[str, str], ...] = (
    ("{item} ({solicitation})", "{item_fr} ({solicitation})"),
    ("{item} for {buyer} ({solicitation})", "{item_fr} pour {buyer_fr} ({solicitation})"),
    (
        "Supply and Delivery of {item} - {city} ({solicitation})",
        "Fourniture et livraison : {item_fr} - {city} ({solicitation})",
    ),
    ("Standing Offer for {item} ({solicitation})", "Offre à commandes : {item_fr} ({solicitation})"),
    (
        "Supply Arrangement - {item} ({solicitation})",
        "Arrangement en matière d'approvisionnement - {item_fr} ({solicitation})",
    ),
    ("{item} - {city} ({solicitation})", "{item_fr} - {city} ({solicitation})"),
    ("Request for Information: {item} ({solicitation})", "Demande de renseignements : {item_fr} ({solicitation})"),
)
# The words of the (unpublished) tender descriptions, searched by `keywords` like the original's full-text index.
DESCRIPTION_WORDS_EN = "requirement for the delivery of goods and services to"
DESCRIPTION_WORDS_FR = "besoin pour la livraison de biens et services à"

# Office codes of BuyAndSell reference numbers (`PW-$$FE-…`, `PW-$KIN-…`) and the parts of solicitation and
# contract numbers (`EH900-160791/A`, `21K01-022267/001/PQ`).
TENDER_OFFICES_SHORT = ("FE", "ZT", "ZL", "ZM", "ZF", "EE", "QF", "HN", "PV", "XL", "QD", "ZG")
TENDER_OFFICES_LONG = ("KIN", "HAL", "EDM", "VAN", "WPG", "TOR", "QUE", "MTB", "SJN", "PWU")
SOLICITATION_PREFIXES = (
    "EH900",
    "W8486",
    "E60ZT",
    "F5211",
    "W2037",
    "E60SQ",
    "EN578",
    "W3931",
    "M7594",
    "T8080",
    "W0105",
    "EP947",
    "W8482",
    "F6855",
    "H4003",
    "21K01",
    "E60ZM",
    "W7701",
    "K7A21",
    "39903",
)
CONTRACT_OFFICES = (
    "PR",
    "PQ",
    "ZM",
    "ZF",
    "PV",
    "STN",
    "QCN",
    "WPG",
    "OLZ",
    "MCT",
    "EDM",
    "HAL",
    "VAN",
    "TOR",
    "XLZ",
    "ZG",
)
