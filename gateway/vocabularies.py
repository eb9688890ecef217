"""Controlled vocabularies of the filters (stdlib only): a value outside them is refused before any upstream call.

A country or region an upstream does not know would quietly match nothing; these lists let the gateway say so, naming
the accepted values (BAD_USER_INPUT, `extensions.accepted`). They ship with the gateway; nothing is fetched.

- Countries: ISO 3166-1 (alpha-2 codes, with alpha-3 to read SAM's codes), from Debian's iso-codes 3166-1 list.
- Canadian regions: the region codes of the Canadian procurement data (13 provinces and territories, NCR, CAN, ABL,
  USA, MEX, INT, X-INT), from its formats document (`bas/input.py: REGION_MAP`) and the CanadaBuys region names.
- ITA trade and world regions: the names ITA's taxonomy gives a lead's country (`trade_regions`, `world_regions` of
  the Trade Leads API, matched exactly by ITA), as its recorded fixtures and the sandbox's taxonomy hold them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.errors import BadUserInput

MAX_LISTED_IN_MESSAGE = 25


@dataclass(frozen=True)
class Vocabulary:
    """Accepted values (canonical spelling -> label), matched case-insensitively."""

    name: str
    labels: Mapping[str, str]
    _by_folded: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_folded", {value.casefold(): value for value in self.labels})

    def canonical(self, given: str) -> str | None:
        return self._by_folded.get(given.strip().casefold())

    def check(self, given: Iterable[str], *, argument: str) -> tuple[str, ...]:
        """The values in their canonical spelling; BAD_USER_INPUT naming the unknown and the accepted ones."""
        values = tuple(given)
        unknown = [value for value in values if self.canonical(value) is None]
        if unknown:
            accepted = list(self.labels)
            shown = ", ".join(accepted[:MAX_LISTED_IN_MESSAGE]) + (
                f", ... ({len(accepted)} in all, listed in `extensions.accepted`)"
                if len(accepted) > MAX_LISTED_IN_MESSAGE
                else ""
            )
            raise BadUserInput(
                f"`{argument}`: unknown {self.name} {', '.join(repr(value) for value in unknown)}; accepted: {shown}",
                argument=argument,
                accepted=accepted,
            )
        return tuple(dict.fromkeys(value for given_value in values if (value := self.canonical(given_value))))


# ISO 3166-1: (alpha-2, alpha-3, short name).
_COUNTRY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("AD", "AND", "Andorra"),
    ("AE", "ARE", "United Arab Emirates"),
    ("AF", "AFG", "Afghanistan"),
    ("AG", "ATG", "Antigua and Barbuda"),
    ("AI", "AIA", "Anguilla"),
    ("AL", "ALB", "Albania"),
    ("AM", "ARM", "Armenia"),
    ("AO", "AGO", "Angola"),
    ("AQ", "ATA", "Antarctica"),
    ("AR", "ARG", "Argentina"),
    ("AS", "ASM", "American Samoa"),
    ("AT", "AUT", "Austria"),
    ("AU", "AUS", "Australia"),
    ("AW", "ABW", "Aruba"),
    ("AX", "ALA", "Åland Islands"),
    ("AZ", "AZE", "Azerbaijan"),
    ("BA", "BIH", "Bosnia and Herzegovina"),
    ("BB", "BRB", "Barbados"),
    ("BD", "BGD", "Bangladesh"),
    ("BE", "BEL", "Belgium"),
    ("BF", "BFA", "Burkina Faso"),
    ("BG", "BGR", "Bulgaria"),
    ("BH", "BHR", "Bahrain"),
    ("BI", "BDI", "Burundi"),
    ("BJ", "BEN", "Benin"),
    ("BL", "BLM", "Saint Barthélemy"),
    ("BM", "BMU", "Bermuda"),
    ("BN", "BRN", "Brunei Darussalam"),
    ("BO", "BOL", "Bolivia"),
    ("BQ", "BES", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "BRA", "Brazil"),
    ("BS", "BHS", "Bahamas"),
    ("BT", "BTN", "Bhutan"),
    ("BV", "BVT", "Bouvet Island"),
    ("BW", "BWA", "Botswana"),
    ("BY", "BLR", "Belarus"),
    ("BZ", "BLZ", "Belize"),
    ("CA", "CAN", "Canada"),
    ("CC", "CCK", "Cocos (Keeling) Islands"),
    ("CD", "COD", "Congo, The Democratic Republic of the"),
    ("CF", "CAF", "Central African Republic"),
    ("CG", "COG", "Congo"),
    ("CH", "CHE", "Switzerland"),
    ("CI", "CIV", "Côte d'Ivoire"),
    ("CK", "COK", "Cook Islands"),
    ("CL", "CHL", "Chile"),
    ("CM", "CMR", "Cameroon"),
    ("CN", "CHN", "China"),
    ("CO", "COL", "Colombia"),
    ("CR", "CRI", "Costa Rica"),
    ("CU", "CUB", "Cuba"),
    ("CV", "CPV", "Cabo Verde"),
    ("CW", "CUW", "Curaçao"),
    ("CX", "CXR", "Christmas Island"),
    ("CY", "CYP", "Cyprus"),
    ("CZ", "CZE", "Czechia"),
    ("DE", "DEU", "Germany"),
    ("DJ", "DJI", "Djibouti"),
    ("DK", "DNK", "Denmark"),
    ("DM", "DMA", "Dominica"),
    ("DO", "DOM", "Dominican Republic"),
    ("DZ", "DZA", "Algeria"),
    ("EC", "ECU", "Ecuador"),
    ("EE", "EST", "Estonia"),
    ("EG", "EGY", "Egypt"),
    ("EH", "ESH", "Western Sahara"),
    ("ER", "ERI", "Eritrea"),
    ("ES", "ESP", "Spain"),
    ("ET", "ETH", "Ethiopia"),
    ("FI", "FIN", "Finland"),
    ("FJ", "FJI", "Fiji"),
    ("FK", "FLK", "Falkland Islands (Malvinas)"),
    ("FM", "FSM", "Micronesia, Federated States of"),
    ("FO", "FRO", "Faroe Islands"),
    ("FR", "FRA", "France"),
    ("GA", "GAB", "Gabon"),
    ("GB", "GBR", "United Kingdom"),
    ("GD", "GRD", "Grenada"),
    ("GE", "GEO", "Georgia"),
    ("GF", "GUF", "French Guiana"),
    ("GG", "GGY", "Guernsey"),
    ("GH", "GHA", "Ghana"),
    ("GI", "GIB", "Gibraltar"),
    ("GL", "GRL", "Greenland"),
    ("GM", "GMB", "Gambia"),
    ("GN", "GIN", "Guinea"),
    ("GP", "GLP", "Guadeloupe"),
    ("GQ", "GNQ", "Equatorial Guinea"),
    ("GR", "GRC", "Greece"),
    ("GS", "SGS", "South Georgia and the South Sandwich Islands"),
    ("GT", "GTM", "Guatemala"),
    ("GU", "GUM", "Guam"),
    ("GW", "GNB", "Guinea-Bissau"),
    ("GY", "GUY", "Guyana"),
    ("HK", "HKG", "Hong Kong"),
    ("HM", "HMD", "Heard Island and McDonald Islands"),
    ("HN", "HND", "Honduras"),
    ("HR", "HRV", "Croatia"),
    ("HT", "HTI", "Haiti"),
    ("HU", "HUN", "Hungary"),
    ("ID", "IDN", "Indonesia"),
    ("IE", "IRL", "Ireland"),
    ("IL", "ISR", "Israel"),
    ("IM", "IMN", "Isle of Man"),
    ("IN", "IND", "India"),
    ("IO", "IOT", "British Indian Ocean Territory"),
    ("IQ", "IRQ", "Iraq"),
    ("IR", "IRN", "Iran"),
    ("IS", "ISL", "Iceland"),
    ("IT", "ITA", "Italy"),
    ("JE", "JEY", "Jersey"),
    ("JM", "JAM", "Jamaica"),
    ("JO", "JOR", "Jordan"),
    ("JP", "JPN", "Japan"),
    ("KE", "KEN", "Kenya"),
    ("KG", "KGZ", "Kyrgyzstan"),
    ("KH", "KHM", "Cambodia"),
    ("KI", "KIR", "Kiribati"),
    ("KM", "COM", "Comoros"),
    ("KN", "KNA", "Saint Kitts and Nevis"),
    ("KP", "PRK", "North Korea"),
    ("KR", "KOR", "South Korea"),
    ("KW", "KWT", "Kuwait"),
    ("KY", "CYM", "Cayman Islands"),
    ("KZ", "KAZ", "Kazakhstan"),
    ("LA", "LAO", "Laos"),
    ("LB", "LBN", "Lebanon"),
    ("LC", "LCA", "Saint Lucia"),
    ("LI", "LIE", "Liechtenstein"),
    ("LK", "LKA", "Sri Lanka"),
    ("LR", "LBR", "Liberia"),
    ("LS", "LSO", "Lesotho"),
    ("LT", "LTU", "Lithuania"),
    ("LU", "LUX", "Luxembourg"),
    ("LV", "LVA", "Latvia"),
    ("LY", "LBY", "Libya"),
    ("MA", "MAR", "Morocco"),
    ("MC", "MCO", "Monaco"),
    ("MD", "MDA", "Moldova"),
    ("ME", "MNE", "Montenegro"),
    ("MF", "MAF", "Saint Martin (French part)"),
    ("MG", "MDG", "Madagascar"),
    ("MH", "MHL", "Marshall Islands"),
    ("MK", "MKD", "North Macedonia"),
    ("ML", "MLI", "Mali"),
    ("MM", "MMR", "Myanmar"),
    ("MN", "MNG", "Mongolia"),
    ("MO", "MAC", "Macao"),
    ("MP", "MNP", "Northern Mariana Islands"),
    ("MQ", "MTQ", "Martinique"),
    ("MR", "MRT", "Mauritania"),
    ("MS", "MSR", "Montserrat"),
    ("MT", "MLT", "Malta"),
    ("MU", "MUS", "Mauritius"),
    ("MV", "MDV", "Maldives"),
    ("MW", "MWI", "Malawi"),
    ("MX", "MEX", "Mexico"),
    ("MY", "MYS", "Malaysia"),
    ("MZ", "MOZ", "Mozambique"),
    ("NA", "NAM", "Namibia"),
    ("NC", "NCL", "New Caledonia"),
    ("NE", "NER", "Niger"),
    ("NF", "NFK", "Norfolk Island"),
    ("NG", "NGA", "Nigeria"),
    ("NI", "NIC", "Nicaragua"),
    ("NL", "NLD", "Netherlands"),
    ("NO", "NOR", "Norway"),
    ("NP", "NPL", "Nepal"),
    ("NR", "NRU", "Nauru"),
    ("NU", "NIU", "Niue"),
    ("NZ", "NZL", "New Zealand"),
    ("OM", "OMN", "Oman"),
    ("PA", "PAN", "Panama"),
    ("PE", "PER", "Peru"),
    ("PF", "PYF", "French Polynesia"),
    ("PG", "PNG", "Papua New Guinea"),
    ("PH", "PHL", "Philippines"),
    ("PK", "PAK", "Pakistan"),
    ("PL", "POL", "Poland"),
    ("PM", "SPM", "Saint Pierre and Miquelon"),
    ("PN", "PCN", "Pitcairn"),
    ("PR", "PRI", "Puerto Rico"),
    ("PS", "PSE", "Palestine, State of"),
    ("PT", "PRT", "Portugal"),
    ("PW", "PLW", "Palau"),
    ("PY", "PRY", "Paraguay"),
    ("QA", "QAT", "Qatar"),
    ("RE", "REU", "Réunion"),
    ("RO", "ROU", "Romania"),
    ("RS", "SRB", "Serbia"),
    ("RU", "RUS", "Russian Federation"),
    ("RW", "RWA", "Rwanda"),
    ("SA", "SAU", "Saudi Arabia"),
    ("SB", "SLB", "Solomon Islands"),
    ("SC", "SYC", "Seychelles"),
    ("SD", "SDN", "Sudan"),
    ("SE", "SWE", "Sweden"),
    ("SG", "SGP", "Singapore"),
    ("SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "SVN", "Slovenia"),
    ("SJ", "SJM", "Svalbard and Jan Mayen"),
    ("SK", "SVK", "Slovakia"),
    ("SL", "SLE", "Sierra Leone"),
    ("SM", "SMR", "San Marino"),
    ("SN", "SEN", "Senegal"),
    ("SO", "SOM", "Somalia"),
    ("SR", "SUR", "Suriname"),
    ("SS", "SSD", "South Sudan"),
    ("ST", "STP", "Sao Tome and Principe"),
    ("SV", "SLV", "El Salvador"),
    ("SX", "SXM", "Sint Maarten (Dutch part)"),
    ("SY", "SYR", "Syria"),
    ("SZ", "SWZ", "Eswatini"),
    ("TC", "TCA", "Turks and Caicos Islands"),
    ("TD", "TCD", "Chad"),
    ("TF", "ATF", "French Southern Territories"),
    ("TG", "TGO", "Togo"),
    ("TH", "THA", "Thailand"),
    ("TJ", "TJK", "Tajikistan"),
    ("TK", "TKL", "Tokelau"),
    ("TL", "TLS", "Timor-Leste"),
    ("TM", "TKM", "Turkmenistan"),
    ("TN", "TUN", "Tunisia"),
    ("TO", "TON", "Tonga"),
    ("TR", "TUR", "Türkiye"),
    ("TT", "TTO", "Trinidad and Tobago"),
    ("TV", "TUV", "Tuvalu"),
    ("TW", "TWN", "Taiwan"),
    ("TZ", "TZA", "Tanzania"),
    ("UA", "UKR", "Ukraine"),
    ("UG", "UGA", "Uganda"),
    ("UM", "UMI", "United States Minor Outlying Islands"),
    ("US", "USA", "United States"),
    ("UY", "URY", "Uruguay"),
    ("UZ", "UZB", "Uzbekistan"),
    ("VA", "VAT", "Holy See (Vatican City State)"),
    ("VC", "VCT", "Saint Vincent and the Grenadines"),
    ("VE", "VEN", "Venezuela"),
    ("VG", "VGB", "Virgin Islands, British"),
    ("VI", "VIR", "Virgin Islands, U.S."),
    ("VN", "VNM", "Vietnam"),
    ("VU", "VUT", "Vanuatu"),
    ("WF", "WLF", "Wallis and Futuna"),
    ("WS", "WSM", "Samoa"),
    ("YE", "YEM", "Yemen"),
    ("YT", "MYT", "Mayotte"),
    ("ZA", "ZAF", "South Africa"),
    ("ZM", "ZMB", "Zambia"),
    ("ZW", "ZWE", "Zimbabwe"),
)
# (code, English name, French name)
_CANADIAN_REGION_ROWS: tuple[tuple[str, str, str], ...] = (
    ("AB", "Alberta", "Alberta"),
    ("BC", "British Columbia", "Colombie-Britannique"),
    ("MB", "Manitoba", "Manitoba"),
    ("NB", "New Brunswick", "Nouveau-Brunswick"),
    ("NL", "Newfoundland and Labrador", "Terre-Neuve-et-Labrador"),
    ("NS", "Nova Scotia", "Nouvelle-Écosse"),
    ("NT", "Northwest Territories", "Territoires du Nord-Ouest"),
    ("NU", "Nunavut", "Nunavut"),
    ("ON", "Ontario", "Ontario"),
    ("PE", "Prince Edward Island", "Île-du-Prince-Édouard"),
    ("QC", "Quebec", "Québec"),
    ("SK", "Saskatchewan", "Saskatchewan"),
    ("YT", "Yukon", "Yukon"),
    ("NCR", "National Capital Region", "Région de la capitale nationale"),
    ("CAN", "Canada", "Canada"),
    ("ABL", "Aboriginal Lands", "Terres autochtones"),
    ("USA", "United States", "États-Unis"),
    ("MEX", "Mexico", "Mexique"),
    ("INT", "World", "Monde"),
    ("X-INT", "Foreign", "Étranger"),
)

COUNTRIES = Vocabulary(
    "ISO 3166-1 alpha-2 country code(s)", MappingProxyType({alpha2: name for alpha2, _, name in _COUNTRY_ROWS})
)
CANADIAN_REGIONS = Vocabulary(
    "Canadian region code(s)", MappingProxyType({code: english for code, english, _ in _CANADIAN_REGION_ROWS})
)
CANADIAN_REGION_NAMES_FR: Mapping[str, str] = MappingProxyType(
    {code: french for code, _, french in _CANADIAN_REGION_ROWS}
)
ITA_TRADE_REGIONS = Vocabulary(
    "ITA trade region(s)",
    MappingProxyType(
        {
            name: name
            for name in (
                "African Growth and Opportunity Act",
                "Andean Community",
                "Asia Pacific Economic Cooperation",
                "Association of Southeast Asian Nations",
                "CAFTA-DR",
                "Common Market for Eastern and Southern Africa",
                "Economic Community of West African States",
                "European Union - 28",
                "Global System of Trade Preferences among Developing Countries",
                "Gulf Cooperation Council",
                "NAFTA",
                "Organization of the Petroleum Exporting Countries",
                "South African Development Community",
                "Southern Common Market",
                "Trans Pacific Partnership",
                "West African Economic and Monetary Union",
            )
        }
    ),
)
ITA_WORLD_REGIONS = Vocabulary(
    "ITA world region(s)",
    MappingProxyType(
        {
            name: name
            for name in (
                "Africa",
                "Asia",
                "Asia Pacific",
                "Caribbean",
                "Central America",
                "East Africa",
                "East Asia",
                "Eurasia",
                "Europe",
                "Latin America",
                "Middle East",
                "North Africa",
                "North America",
                "Oceania",
                "Pacific Rim",
                "Persian Gulf Region",
                "South America",
                "South Asia",
                "Southeast Asia",
                "Southern Africa",
                "Sub-Saharan Africa",
                "West Africa",
                "Western Hemisphere",
            )
        }
    ),
)
# The source codes of ITA's trade leads (`Lead.source`): the publishers ITA aggregated, each served today by ITA (an
# ITA-compatible service) or by the live successors that declare it (`UpstreamSpec.lead_codes`).
ITA_LEAD_SOURCES = Vocabulary(
    "ITA lead source code(s)",
    MappingProxyType(
        {
            "AUSTRALIA": "AusTender (Australian Government)",
            "CANADA": "Canadian federal tenders (today CanadaBuys)",
            "FBO": "US federal opportunities (FedBizOpps, today SAM.gov Contract Opportunities)",
            "STATE": "US Department of State business opportunities",
            "UK": "UK public contracts (today Contracts Finder and Find a Tender)",
            "MCA": "Millennium Challenge Corporation",
            "USTDA": "US Trade and Development Agency",
        }
    ),
)
_ALPHA2_OF_ALPHA3: Mapping[str, str] = MappingProxyType({alpha3: alpha2 for alpha2, alpha3, _ in _COUNTRY_ROWS})


def country_code(code: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of an alpha-2 or alpha-3 code (SAM sends alpha-3), or None when it is neither."""
    if not code:
        return None
    text = code.strip().upper()
    if len(text) == 3:
        return _ALPHA2_OF_ALPHA3.get(text)
    return COUNTRIES.canonical(text)
