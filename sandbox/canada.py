"""The Canadian procurement API imitation: Megginson's Procurement API over BuyAndSell data (UPSTREAMS.md §2).

`GET /tenders.<fmt>` (alias `/tender-notices.<fmt>`) and `GET /contracts.<fmt>`, fmt json | csv | html; params
gsins, keywords, delivery, opportunity (comma-separated, trimmed, upper-cased; OR within, AND across; anything
else ignored); at most 100 rows, no paging; an unknown format answers 500 like the original; CORS on every answer.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from aiohttp import web

from sandbox.canada_data import dataset_for
from sandbox.canada_records import CONTRACT_FIELDS, Filters, JsonValue
from sandbox.control import CLOCK
from sandbox.settings import SandboxSettings

MAX_ROWS = 100
CORS_HEADERS: Mapping[str, str] = {"Access-Control-Allow-Origin": "*"}
JSON_CONTENT_TYPE = "application/json"
CSV_CONTENT_TYPE = "text/csv;charset=UTF-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
TENDER_CSV_HEADER = (
    "tender",
    "title_en",
    "title_fr",
    "buyer_en",
    "buyer_fr",
    "gsins",
    "regions_delivery",
    "regions_opportunity",
    "url_en",
    "url_fr",
    "date_closing",
)
CONTRACT_CSV_HEADER = CONTRACT_FIELDS
# What Flask answers when a view raises and debug pages are off; the original raised on an unknown format.
INTERNAL_SERVER_ERROR_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request.  "
    "Either the server is overloaded or there is an error in the application.</p>\n"
)


class Record(Protocol):
    def to_json(self) -> dict[str, JsonValue]: ...


class HtmlColumn(NamedTuple):
    heading_en: str
    heading_fr: str
    field: str  # `{lang}` stands for en or fr


class HtmlPage(NamedTuple):
    title_en: str
    title_fr: str
    nothing_found_en: str
    nothing_found_fr: str
    columns: tuple[HtmlColumn, ...]


TENDERS_PAGE = HtmlPage(
    "Tenders",
    "Appels d'offres",
    "No tenders found.",
    "Aucun appel d'offres trouvé.",
    (
        HtmlColumn("Title", "Titre", "title_{lang}"),
        HtmlColumn("Closing date", "Date de clôture", "date_closing"),
        HtmlColumn("Purchaser", "Acheteur", "buyer_{lang}"),
        HtmlColumn("GSINs", "NIBS", "gsins"),
        HtmlColumn("Delivery", "Livraison", "regions_delivery"),
        HtmlColumn("Opportunity", "Opportunité", "regions_opportunity"),
    ),
)
CONTRACTS_PAGE = HtmlPage(
    "Contracts",
    "Contrats",
    "No contracts found.",
    "Aucun contrat trouvé.",
    (
        HtmlColumn("Title", "Titre", "title_{lang}"),
        HtmlColumn("Supplier", "Fournisseur", "supplier"),
        HtmlColumn("City", "Ville", "supplier_city"),
        HtmlColumn("Region", "Région", "supplier_region"),
        HtmlColumn("Value", "Valeur", "value"),
        HtmlColumn("Awarded", "Attribué", "date_awarded"),
        HtmlColumn("Expires", "Expire", "date_expires"),
        HtmlColumn("Purchaser", "Acheteur", "buyer_{lang}"),
        HtmlColumn("GSINs", "NIBS", "gsins"),
    ),
)


def query_tokens(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    """The original's `_split_tokens`: comma-separated, trimmed, upper-cased; empty tokens add no condition."""
    tokens = (token.strip().upper() for token in query.get(name, "").split(","))
    return tuple(token for token in tokens if token)


def tender_filters(query: Mapping[str, str]) -> Filters:
    return Filters(
        gsins=query_tokens(query, "gsins"),
        keywords=query_tokens(query, "keywords"),
        regions={"delivery": query_tokens(query, "delivery"), "opportunity": query_tokens(query, "opportunity")},
    )


def contract_filters(query: Mapping[str, str]) -> Filters:
    return Filters(gsins=query_tokens(query, "gsins"), keywords=query_tokens(query, "keywords"))


def _answer(body: str, content_type: str, status: int = 200) -> web.Response:
    return web.Response(
        body=body.encode("utf-8"), status=status, headers={"Content-Type": content_type, **CORS_HEADERS}
    )


def _cell(value: JsonValue) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


def render_json(records: Sequence[Record]) -> str:
    return json.dumps([record.to_json() for record in records], indent=2)


def render_csv(records: Sequence[Record], header: Sequence[str]) -> str:
    with io.StringIO() as output:
        writer = csv.writer(output)
        writer.writerow(header)
        for record in records:
            document = record.to_json()
            writer.writerow([_cell(document.get(name)) for name in header])
        return output.getvalue()


def render_html(records: Sequence[Record], page: HtmlPage, lang: str) -> str:
    french = lang == "fr"
    title = page.title_fr if french else page.title_en
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if not records:
        lines.append(f"<p>{html.escape(page.nothing_found_fr if french else page.nothing_found_en)}</p>")
    else:
        headings = "".join(f"<th>{html.escape(c.heading_fr if french else c.heading_en)}</th>" for c in page.columns)
        lines += ["<table>", f"<thead><tr>{headings}</tr></thead>", "<tbody>"]
        for record in records:
            document = record.to_json()
            cells = []
            for column in page.columns:
                text = html.escape(_cell(document.get(column.field.format(lang=lang))).replace(",", ", "))
                if column.field == "title_{lang}" and document.get(f"url_{lang}"):
                    text = f'<a href="{html.escape(_cell(document.get(f"url_{lang}")))}">{text}</a>'
                cells.append(f"<td>{text}</td>")
            lines.append(f"<tr>{''.join(cells)}</tr>")
        lines += ["</tbody>", "</table>"]
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


def _respond(
    request: web.Request, records: Sequence[Record], csv_header: Sequence[str], page: HtmlPage
) -> web.Response:
    output_format = request.match_info["format"]
    if output_format == "json":
        return _answer(render_json(records), JSON_CONTENT_TYPE)
    if output_format == "csv":
        return _answer(render_csv(records, csv_header), CSV_CONTENT_TYPE)
    if output_format == "html":
        lang = "fr" if request.query.get("lang", "en").strip().lower() == "fr" else "en"
        return _answer(render_html(records, page, lang), HTML_CONTENT_TYPE)
    return _answer(INTERNAL_SERVER_ERROR_PAGE, HTML_CONTENT_TYPE, status=500)


def add_routes(app: web.Application, settings: SandboxSettings) -> None:
    dataset = dataset_for(settings)

    def open_on(request: web.Request) -> str | None:
        """Tenders still open today (the original served the daily *active* file); recorded ones are all kept."""
        if dataset.recorded:
            return None
        if settings.today is not None:
            return settings.today.isoformat()
        clock = request.app.get(CLOCK)
        return (clock.today() if clock is not None else datetime.now(UTC).date()).isoformat()

    async def tenders(request: web.Request) -> web.Response:
        found = dataset.tenders.find(tender_filters(request.query), limit=MAX_ROWS, not_before=open_on(request))
        return _respond(request, found, TENDER_CSV_HEADER, TENDERS_PAGE)

    async def contracts(request: web.Request) -> web.Response:
        found = dataset.contracts.find(contract_filters(request.query), limit=MAX_ROWS)
        return _respond(request, found, CONTRACT_CSV_HEADER, CONTRACTS_PAGE)

    app.router.add_get("/tenders.{format}", tenders, name="canada.tenders")
    app.router.add_get("/tender-notices.{format}", tenders, name="canada.tender_notices")  # deprecated alias
    app.router.add_get("/contracts.{format}", contracts, name="canada.contracts")
