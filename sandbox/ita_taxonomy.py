"""The slice of the ITA taxonomy the trade-leads imitation needs: countries with their trade and world regions.

Upstream derives a lead's regions from its country name (`ItaTaxonomy.search_related_terms`), so regions are a pure
function of the country. The pairs seen in the recorded fixtures are reproduced exactly (order included); the others
follow the same taxonomy.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

APEC = "Asia Pacific Economic Cooperation"
TPP = "Trans Pacific Partnership"
EU = "European Union - 28"
AGOA = "African Growth and Opportunity Act"
GSTP = "Global System of Trade Preferences among Developing Countries"
COMESA = "Common Market for Eastern and Southern Africa"
WAEMU = "West African Economic and Monetary Union"
SADC = "South African Development Community"
ECOWAS = "Economic Community of West African States"
ASEAN = "Association of Southeast Asian Nations"
GCC = "Gulf Cooperation Council"
OPEC = "Organization of the Petroleum Exporting Countries"
MERCOSUR = "Southern Common Market"
ANDEAN = "Andean Community"


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    trade_regions: tuple[str, ...]
    world_regions: tuple[str, ...]


_COUNTRY_ROWS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # Exactly as in the recorded fixtures.
    ("AU", "Australia", (TPP, APEC), ("Oceania", "Asia Pacific", "Pacific Rim")),
    ("BR", "Brazil", (GSTP, MERCOSUR), ("South America", "Latin America", "Western Hemisphere")),
    ("CA", "Canada", ("NAFTA", TPP, APEC), ("North America", "Pacific Rim", "Western Hemisphere")),
    ("CO", "Colombia", (GSTP, ANDEAN), ("Western Hemisphere", "South America", "Pacific Rim", "Latin America")),
    ("CR", "Costa Rica", ("CAFTA-DR",), ("Western Hemisphere", "Central America", "Pacific Rim", "Latin America")),
    ("GB", "United Kingdom", (EU,), ("Europe",)),
    ("KE", "Kenya", (AGOA, COMESA), ("Sub-Saharan Africa", "Africa")),
    ("PH", "Philippines", (GSTP, APEC, ASEAN), ("Asia Pacific", "Southeast Asia", "Asia")),
    ("QA", "Qatar", (GCC, OPEC), ("Persian Gulf Region", "Middle East")),
    ("RW", "Rwanda", (AGOA, COMESA), ("Sub-Saharan Africa", "Africa")),
    ("SN", "Senegal", (AGOA, WAEMU), ("West Africa", "Africa", "Sub-Saharan Africa")),
    ("ZM", "Zambia", (COMESA, AGOA, SADC), ("Sub-Saharan Africa", "Africa")),
    # The rest of the sandbox's world.
    ("AE", "United Arab Emirates", (GCC, OPEC), ("Persian Gulf Region", "Middle East")),
    ("AR", "Argentina", (GSTP, MERCOSUR), ("South America", "Latin America", "Western Hemisphere")),
    ("BD", "Bangladesh", (GSTP,), ("South Asia", "Asia")),
    ("BJ", "Benin", (AGOA, WAEMU, ECOWAS), ("West Africa", "Africa", "Sub-Saharan Africa")),
    ("CL", "Chile", (TPP, APEC, GSTP), ("South America", "Latin America", "Pacific Rim", "Western Hemisphere")),
    ("CN", "China", (APEC,), ("East Asia", "Asia Pacific", "Pacific Rim", "Asia")),
    ("DE", "Germany", (EU,), ("Europe",)),
    ("DO", "Dominican Republic", ("CAFTA-DR",), ("Caribbean", "Latin America", "Western Hemisphere")),
    ("EG", "Egypt", (GSTP, COMESA), ("North Africa", "Middle East", "Africa")),
    ("ES", "Spain", (EU,), ("Europe",)),
    ("ET", "Ethiopia", (AGOA, COMESA), ("East Africa", "Sub-Saharan Africa", "Africa")),
    ("FR", "France", (EU,), ("Europe",)),
    ("GE", "Georgia", (), ("Eurasia", "Europe")),
    ("GH", "Ghana", (AGOA, GSTP, ECOWAS), ("West Africa", "Africa", "Sub-Saharan Africa")),
    ("GT", "Guatemala", ("CAFTA-DR",), ("Central America", "Latin America", "Western Hemisphere")),
    ("ID", "Indonesia", (GSTP, APEC, ASEAN), ("Asia Pacific", "Southeast Asia", "Pacific Rim", "Asia")),
    ("IN", "India", (GSTP,), ("South Asia", "Asia")),
    ("IT", "Italy", (EU,), ("Europe",)),
    ("JO", "Jordan", (), ("Middle East",)),
    ("JP", "Japan", (TPP, APEC), ("East Asia", "Asia Pacific", "Pacific Rim", "Asia")),
    ("KR", "South Korea", (APEC, GSTP), ("East Asia", "Asia Pacific", "Pacific Rim", "Asia")),
    ("MA", "Morocco", (GSTP,), ("North Africa", "Middle East", "Africa")),
    ("MN", "Mongolia", (), ("East Asia", "Asia")),
    ("MW", "Malawi", (AGOA, COMESA, SADC), ("Sub-Saharan Africa", "Africa")),
    (
        "MX",
        "Mexico",
        ("NAFTA", TPP, APEC, GSTP),
        ("North America", "Latin America", "Pacific Rim", "Western Hemisphere"),
    ),
    ("NE", "Niger", (AGOA, WAEMU, ECOWAS), ("West Africa", "Africa", "Sub-Saharan Africa")),
    ("NG", "Nigeria", (AGOA, GSTP, ECOWAS, OPEC), ("West Africa", "Africa", "Sub-Saharan Africa")),
    ("PE", "Peru", (ANDEAN, TPP, APEC, GSTP), ("South America", "Latin America", "Pacific Rim", "Western Hemisphere")),
    ("PK", "Pakistan", (GSTP,), ("South Asia", "Asia")),
    ("PL", "Poland", (EU,), ("Europe",)),
    ("SA", "Saudi Arabia", (GCC, OPEC), ("Persian Gulf Region", "Middle East")),
    ("SV", "El Salvador", ("CAFTA-DR",), ("Central America", "Latin America", "Western Hemisphere")),
    ("TH", "Thailand", (GSTP, APEC, ASEAN), ("Asia Pacific", "Southeast Asia", "Asia")),
    ("TR", "Turkey", (), ("Europe", "Middle East")),
    ("TZ", "Tanzania", (AGOA, GSTP, SADC), ("East Africa", "Sub-Saharan Africa", "Africa")),
    ("UA", "Ukraine", (), ("Eurasia", "Europe")),
    ("VN", "Vietnam", (TPP, APEC, ASEAN), ("Asia Pacific", "Southeast Asia", "Pacific Rim", "Asia")),
    ("ZA", "South Africa", (AGOA, SADC), ("Southern Africa", "Sub-Saharan Africa", "Africa")),
)

COUNTRIES: dict[str, Country] = {row[0]: Country(*row) for row in _COUNTRY_ROWS}
WORLD_REGIONS: frozenset[str] = frozenset(region for c in COUNTRIES.values() for region in c.world_regions)
TRADE_REGIONS: frozenset[str] = frozenset(region for c in COUNTRIES.values() for region in c.trade_regions)

_SPECIAL_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "\u0131": "i",
        "þ": "th",
        "Þ": "TH",
    }
)


def fold(text: str) -> str:
    """Lower-case and ASCII-fold text the way upstream's asciifolding analyzer does (`Montée` -> `montee`)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def country_by_name(name: str) -> Country | None:
    return _countries_by_folded_name().get(fold(name))


@cache
def _countries_by_folded_name() -> dict[str, Country]:
    return {fold(country.name): country for country in COUNTRIES.values()}


@cache
def _world_regions_by_folded_name() -> dict[str, str]:
    return {fold(region): region for region in WORLD_REGIONS}


@cache
def place_pattern() -> re.Pattern[str]:
    """Whole-word country names and world regions in folded text, longest first ('south africa' before 'africa')."""
    names = sorted({*_countries_by_folded_name(), *_world_regions_by_folded_name()}, key=lambda n: (-len(n), n))
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(name) for name in names) + r")(?![a-z0-9])")


def places_in(folded_query: str) -> tuple[str, list[str], list[str]]:
    """Split a folded `q` into (remaining text, country codes named in it, world regions named in it)."""
    countries: list[str] = []
    regions: list[str] = []
    for match in place_pattern().finditer(folded_query):
        name = match.group(1)
        country = _countries_by_folded_name().get(name)
        if country is not None:
            countries.append(country.code)
        else:
            regions.append(_world_regions_by_folded_name()[name])
    return place_pattern().sub(" ", folded_query), countries, regions
