"""What the comparison sends: one GraphQL request per system and scenario, and how to read the items it answers.

A body is a JSON template; `MARKER` in it is replaced by a number unique within the run (wrk's Lua does it per
request), so that no request repeats another's upstream request or response-cache key (a miss stays a miss, at any
cache setting). The upstream ignores the query string, so every request gets the same captured bytes, and both
systems answer the same items: `items_ours` and `items_hive` turn each system's answer into comparable tuples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MARKER = "__N__"
KEYWORD = "BENCH" + MARKER

# Our gateway's configurations (one process each) and Hive Gateway's.
OURS_CACHES_OFF = "caches-off"
OURS_DEFAULTS = "defaults"
HIVE_PLAIN = "plain"
HIVE_RESPONSE_CACHE = "response-cache"

Item = tuple[str, ...]
Items = Callable[[Mapping[str, Any]], list[Item]]

FAN_OUT_OURS = (
    "query FanOut($q: String, $words: [String!]) {"
    " leads(first: 10, filter: {keywords: $q}) { edges { node { leadId title publishDate } } }"
    " tenders(first: 10, filter: {keywords: $words}) { edges { node { reference title closingDate } } }"
    " contracts(first: 10, filter: {sources: [SAM], keywords: $q}) { edges { node { piid title awardDate } } } }"
)
# The same three upstream calls through the composed REST sources: the same page sizes, keywords and SAM sections.
SAM_SECTIONS = "contractId,awardDetails"
FAN_OUT_HIVE = (
    "query FanOut($q: String) {"
    " itaTradeLeadsSearch(size: 10, offset: 0, q: $q) { results { id title publish_date } }"
    " canadaTenders(keywords: $q) { tender title_en date_closing }"
    f' samContractAwards(limit: 10, offset: 0, q: $q, includeSections: "{SAM_SECTIONS}") {{ awardSummary {{'
    " contractId { piid } awardDetails { dates { dateSigned }"
    " productOrServiceInformation { descriptionOfContractRequirement } } } } }"
)
LEADS_OURS = (
    "query Leads($q: String) {"
    " leads(first: 10, filter: {keywords: $q}) { edges { node { leadId title publishDate } } } }"
)
LEADS_HIVE = (
    "query Leads($q: String) { itaTradeLeadsSearch(size: 10, offset: 0, q: $q) { results { id title publish_date } } }"
)
TRIVIAL = "{ __typename }"
SEARCH_OURS = (
    "query Search($q: String!) { search(keywords: $q, first: 10) { nodes { __typename"
    " ... on Lead { leadId title publishDate } ... on Tender { reference title closingDate }"
    " ... on Contract { piid title awardDate } } } }"
)


def body(query: str, variables: Mapping[str, object] | None = None) -> str:
    payload: dict[str, object] = {"query": query}
    if variables is not None:
        payload["variables"] = dict(variables)
    return json.dumps(payload, separators=(",", ":"))


def render(template: str, number: int) -> bytes:
    """The body wrk sends as request `number` (what its Lua does)."""
    return template.replace(MARKER, str(number)).encode()


def _edges(connection: object) -> list[Mapping[str, Any]]:
    edges = connection.get("edges") if isinstance(connection, Mapping) else None
    return [edge["node"] for edge in edges or () if isinstance(edge, Mapping) and isinstance(edge.get("node"), dict)]


def _rows(value: object) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def _day(value: object) -> str:
    return str(value)[:10] if value is not None else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _dig(row: Mapping[str, Any], *path: str) -> object:
    value: object = row
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def lead_items_ours(data: Mapping[str, Any]) -> list[Item]:
    return [
        ("lead", _text(n.get("leadId")), _text(n.get("title")), _day(n.get("publishDate")))
        for n in _edges(data.get("leads"))
    ]


def lead_items_hive(data: Mapping[str, Any]) -> list[Item]:
    search = data.get("itaTradeLeadsSearch")
    results = search.get("results") if isinstance(search, Mapping) else None
    return [("lead", _text(r.get("id")), _text(r.get("title")), _day(r.get("publish_date"))) for r in _rows(results)]


def fan_out_items_ours(data: Mapping[str, Any]) -> list[Item]:
    tenders = [
        ("tender", _text(n.get("reference")), _text(n.get("title")), _day(n.get("closingDate")))
        for n in _edges(data.get("tenders"))
    ]
    contracts = [
        ("contract", _text(n.get("piid")), _text(n.get("title")), _day(n.get("awardDate")))
        for n in _edges(data.get("contracts"))
    ]
    return lead_items_ours(data) + tenders + contracts


def fan_out_items_hive(data: Mapping[str, Any]) -> list[Item]:
    tenders = [
        ("tender", _text(r.get("tender")), _text(r.get("title_en")), _day(r.get("date_closing")))
        for r in _rows(data.get("canadaTenders"))
    ]
    awards = _dig(data, "samContractAwards", "awardSummary")
    contracts = [
        (
            "contract",
            _text(_dig(r, "contractId", "piid")),
            _text(_dig(r, "awardDetails", "productOrServiceInformation", "descriptionOfContractRequirement")),
            _day(_dig(r, "awardDetails", "dates", "dateSigned")),
        )
        for r in _rows(awards)
    ]
    return lead_items_hive(data) + tenders + contracts


def search_items_ours(data: Mapping[str, Any]) -> list[Item]:
    found = data.get("search")
    nodes = found.get("nodes") if isinstance(found, Mapping) else None
    keys = {"Lead": "leadId", "Tender": "reference", "Contract": "piid"}
    return [
        (
            _text(r.get("__typename")).lower(),
            _text(r.get(keys.get(_text(r.get("__typename")), ""))),
            _text(r.get("title")),
        )
        for r in _rows(nodes)
    ]


def typename_items(data: Mapping[str, Any]) -> list[Item]:
    return [("typename", _text(data.get("__typename")))]


@dataclass(frozen=True)
class Scenario:
    """One workload, sent to our gateway (configuration `ours_config`) and, unless None, to Hive Gateway."""

    name: str
    what: str
    ours_config: str
    ours_body: str
    items_ours: Items
    hive_config: str | None = None
    hive_body: str | None = None
    items_hive: Items | None = None
    concurrency: tuple[int, ...] = (1, 16, 64)
    upstream_latency_ms: int = 0
    # Our request for the capture: the scenario's document with no varying keyword (the sandbox then answers full
    # pages); None: the scenario needs no upstream answer of its own.
    capture_body: str | None = None
    # Sent as Accept-Encoding when set: our answers then come compressed (wrk's count of answers carrying GraphQL
    # errors cannot read them; the equality check, which decodes them, still holds the items equal).
    accept_encoding: str = ""

    @property
    def compared(self) -> bool:
        return self.hive_config is not None

    def systems(self) -> tuple[str, ...]:
        return ("ours", "hive") if self.compared else ("ours",)

    def config(self, system: str) -> str:
        config = self.ours_config if system == "ours" else self.hive_config
        assert config is not None
        return config

    def template(self, system: str) -> str:
        template = self.ours_body if system == "ours" else self.hive_body
        assert template is not None
        return template

    def items(self, system: str) -> Items:
        items = self.items_ours if system == "ours" else self.items_hive
        assert items is not None
        return items


_FAN_OUT_OURS_BODY = body(FAN_OUT_OURS, {"q": KEYWORD, "words": [KEYWORD]})
_FAN_OUT_HIVE_BODY = body(FAN_OUT_HIVE, {"q": KEYWORD})
FAN_OUT_LATENCY_MS = 50


def _fan_out(
    name: str,
    what: str,
    ours_config: str,
    *,
    concurrency: tuple[int, ...] = (1, 16, 64),
    upstream_latency_ms: int = 0,
    capture_body: str | None = None,
) -> Scenario:
    return Scenario(
        name,
        what,
        ours_config,
        _FAN_OUT_OURS_BODY,
        fan_out_items_ours,
        HIVE_PLAIN,
        _FAN_OUT_HIVE_BODY,
        fan_out_items_hive,
        concurrency=concurrency,
        upstream_latency_ms=upstream_latency_ms,
        capture_body=capture_body,
    )


SCENARIOS: tuple[Scenario, ...] = (
    _fan_out(
        "fan-out miss, caches off",
        "leads + tenders + SAM contracts in one query, 10 each; every request a new keyword; our caches off",
        OURS_CACHES_OFF,
        capture_body=body(FAN_OUT_OURS, {"q": None, "words": None}),
    ),
    _fan_out(
        "fan-out miss, caches at defaults",
        "the same; our response and upstream caches at their defaults (every lookup misses, every answer is stored)",
        OURS_DEFAULTS,
    ),
    Scenario(
        "single upstream",
        "leads(first: 10) only (one ITA call); every request a new keyword; our caches off",
        OURS_CACHES_OFF,
        body(LEADS_OURS, {"q": KEYWORD}),
        lead_items_ours,
        HIVE_PLAIN,
        body(LEADS_HIVE, {"q": KEYWORD}),
        lead_items_hive,
    ),
    Scenario(
        "response-cache hit",
        "the fan-out document with the same variables every time: our response cache at its defaults; Hive's "
        "responseCaching plugin on (one public cache)",
        OURS_DEFAULTS,
        body(FAN_OUT_OURS, {"q": "BENCHHIT", "words": ["BENCHHIT"]}),
        fan_out_items_ours,
        HIVE_RESPONSE_CACHE,
        body(FAN_OUT_HIVE, {"q": "BENCHHIT"}),
        fan_out_items_hive,
    ),
    Scenario(
        "response-cache hit, gzip (ours only)",
        "the response-cache hit with Accept-Encoding: gzip: each hit appends its own extensions to the answer's head, "
        "compressed once (gateway/edge/compression.py); against the plain hit, what compression costs",
        OURS_DEFAULTS,
        body(FAN_OUT_OURS, {"q": "BENCHHIT", "words": ["BENCHHIT"]}),
        fan_out_items_ours,
        accept_encoding="gzip",
    ),
    Scenario(
        "trivial { __typename }",
        "no upstream, no resolver of ours: the HTTP and GraphQL layers alone",
        OURS_DEFAULTS,
        body(TRIVIAL),
        typename_items,
        HIVE_PLAIN,
        body(TRIVIAL),
        typename_items,
    ),
    _fan_out(
        f"fan-out at {FAN_OUT_LATENCY_MS} ms upstream latency",
        f"the fan-out miss, every upstream answer {FAN_OUT_LATENCY_MS} ms late; one client (c=1): latency over the "
        "upstream's",
        OURS_CACHES_OFF,
        concurrency=(1,),
        upstream_latency_ms=FAN_OUT_LATENCY_MS,
    ),
    Scenario(
        "search, all sources (ours only)",
        "search(keywords, first: 10): one connection over leads, tenders and contracts (ITA, Canada tenders and "
        "contracts, SAM), merged; a composition of REST sources cannot merge, so absolute figures only",
        OURS_CACHES_OFF,
        body(SEARCH_OURS, {"q": KEYWORD}),
        search_items_ours,
        capture_body=body(SEARCH_OURS, {"q": "services"}),
    ),
)


def by_name(names: Sequence[str]) -> tuple[Scenario, ...]:
    """The scenarios whose name contains any of `names` (all when empty)."""
    return tuple(s for s in SCENARIOS if not names or any(name in s.name for name in names))
