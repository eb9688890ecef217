"""What is measured: the GraphQL documents, the request bodies per workload, and the gateway configurations.

Every workload maps a request number n to a body, so a run is reproducible and "distinct" is exact: a miss workload
never repeats an upstream request within one gateway process (n keeps counting across warm-up and concurrencies).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from bench.load import BodyFactory

UPSTREAM_LATENCY_MS = 20.0
FAN_OUT_LATENCY_MS = 100.0
UPSTREAMS = ("ita", "canada", "sam")
SANDBOX_RECORDS = 3000  # per source at --scale 1; offsets stay inside the data so every page is a full one
LEAD_OFFSETS = SANDBOX_RECORDS - 10

LEAD_FIELDS = "edges { node { id title publishDate } }"
LEADS_FIRST_PAGE = "{ leads(first: 10) { " + LEAD_FIELDS + " } }"
LEADS_ALIASED = "{ l%d: leads(first: 10) { " + LEAD_FIELDS + " } }"
LEADS = "query Leads($first: Int!, $after: String) { leads(first: $first, after: $after) { " + LEAD_FIELDS + " } }"
TENDERS_ALIASED = "{ t%d: tenders(first: 10) { edges { node { reference title closingDate } } } }"
FLOOD_SHARED = (
    "query Flood($first: Int!, $after: String) { leads(first: $first, after: $after) { edges { node { id } } } }"
)
# A new document costs ~2.5 ms of parsing and validation: one in four keeps the flood short.
FLOOD_NEW_DOCUMENT_EVERY = 4
FLOOD = "query Flood%d($first: Int!, $after: String) { leads(first: $first, after: $after) { edges { node { id } } } }"
FAN_OUT = (
    "query FanOut($lead: String, $tenderWords: [String!], $contractsFirst: Int!, $contract: String) {"
    " leads(first: 10, after: $lead) { edges { node { id title publishDate } } }"
    " tenders(first: 10, filter: {keywords: $tenderWords}) { edges { node { reference title closingDate } } }"
    " contracts(first: $contractsFirst, after: $contract, filter: {sources: [SAM]})"
    " { edges { node { piid awardDate title } } } }"
)


def cursor(position: Mapping[str, int]) -> str:
    """The gateway's opaque cursor (resolvers/pagination.py): unpadded urlsafe base64 of sorted compact JSON."""
    raw = json.dumps(dict(position), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _body(query: str, variables: Mapping[str, object] | None = None) -> bytes:
    payload: dict[str, object] = {"query": query}
    if variables is not None:
        payload["variables"] = dict(variables)
    return json.dumps(payload, separators=(",", ":")).encode()


def _lead_page(n: int) -> dict[str, object]:
    """A distinct (first, offset) page of leads for each n < 29,900: ITA is asked size=first, offset=offset."""
    return {"first": 10 + (n // LEAD_OFFSETS) % 10, "after": cursor({"o": n % LEAD_OFFSETS})}


@cache
def _sam_pages() -> tuple[tuple[int, int], ...]:
    """Distinct (limit, offset) SAM pages (offset a multiple of limit, so one upstream call each): ~5,400 of them."""
    return tuple((size, index * size) for size in range(10, 61) for index in range(SANDBOX_RECORDS // size))


_FIRST_PAGE_BODY = _body(LEADS_FIRST_PAGE)


def identical_leads(n: int) -> bytes:
    return _FIRST_PAGE_BODY


def aliased_leads(n: int) -> bytes:
    """A new document every time (the alias differs), one and the same ITA request."""
    return _body(LEADS_ALIASED % n)


def aliased_tenders(n: int) -> bytes:
    """A new document every time, one and the same Canada request (which answers up to 100 rows)."""
    return _body(TENDERS_ALIASED % n)


def distinct_leads(n: int) -> bytes:
    """One document (the document caches hit), a distinct ITA request every time."""
    return _body(LEADS, _lead_page(n))


def fan_out(n: int) -> bytes:
    """Leads, tenders and SAM contracts, each a distinct upstream request."""
    size, offset = _sam_pages()[n % len(_sam_pages())]
    return _body(
        FAN_OUT,
        {
            "lead": cursor({"o": n % LEAD_OFFSETS}),
            "tenderWords": ["SERVICES", f"BENCH{n}"],  # OR within keywords: full pages, a distinct upstream request
            "contractsFirst": size,
            "contract": cursor({"sam": offset, "canada": 0}),
        },
    )


def _small_lead_page(n: int) -> dict[str, object]:
    """Distinct for each n < 29,900, with page sizes 1..10 mixed evenly over n (cache entries do not grow with n)."""
    return {"first": 1 + n % 10, "after": cursor({"o": (n // 10) % LEAD_OFFSETS})}


def flood(n: int) -> bytes:
    """A distinct upstream request (and response-cache key) every time, a distinct document one time in four."""
    document = FLOOD % n if n % FLOOD_NEW_DOCUMENT_EVERY == 0 else FLOOD_SHARED
    return _body(document, _small_lead_page(n))


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    make_body: BodyFactory
    distinct_requests: int | None = None  # how many distinct upstream requests it can make, None: unbounded


@dataclass(frozen=True)
class GatewayRun:
    """One fresh gateway process, its cache configuration, the sandbox's latency, and the workloads it serves."""

    name: str
    backend: str  # memory | redis
    response_cache: bool
    upstream_latency_ms: float
    workloads: tuple[Workload, ...]
    env: Mapping[str, str] = field(default_factory=dict)


RESPONSE_HIT = Workload("response-hit", "one identical leads query; the whole-response cache answers", identical_leads)
UPSTREAM_HIT_VARIED = Workload(
    "upstream-hit",
    "response cache off; a new document each time (alias varies): parse, validate, execute; the ITA answer is cached",
    aliased_leads,
)
UPSTREAM_HIT_SAME = Workload(
    "upstream-hit-same-doc",
    "response cache off; one identical document: parse/validation caches hit, execute runs, the ITA answer is cached",
    identical_leads,
)
UPSTREAM_HIT_TENDERS = Workload(
    "upstream-hit-tenders",
    "as upstream-hit, on tenders: Canada cannot page, so every hit re-reads its cached 100-row answer",
    aliased_tenders,
)
MISS = Workload(
    "miss",
    "response cache off; one document, a distinct ITA page each time: gateway overhead plus the upstream's latency",
    distinct_leads,
    distinct_requests=LEAD_OFFSETS * 10,
)
FAN_OUT_MISS = Workload(
    "fan-out",
    "leads + tenders + SAM contracts in one query, all misses: latency ~ max, not sum, of the upstreams' latencies",
    fan_out,
    distinct_requests=len(_sam_pages()),
)
FLOOD_WORKLOAD = Workload(
    "flood",
    "distinct upstream requests (1 in 4 a new document too) at the default cache bounds: RSS must level off",
    flood,
    distinct_requests=LEAD_OFFSETS * 10,
)


def plan(*, redis: bool) -> tuple[GatewayRun, ...]:
    runs = [
        GatewayRun("memory: response cache", "memory", True, UPSTREAM_LATENCY_MS, (RESPONSE_HIT,)),
        GatewayRun(
            "memory: upstream cache",
            "memory",
            False,
            UPSTREAM_LATENCY_MS,
            (UPSTREAM_HIT_VARIED, UPSTREAM_HIT_SAME, UPSTREAM_HIT_TENDERS),
        ),
        GatewayRun("memory: misses", "memory", False, UPSTREAM_LATENCY_MS, (MISS,)),
        GatewayRun("memory: fan-out", "memory", False, FAN_OUT_LATENCY_MS, (FAN_OUT_MISS,)),
    ]
    if redis:
        runs += [
            GatewayRun("redis: response cache", "redis", True, UPSTREAM_LATENCY_MS, (RESPONSE_HIT,)),
            GatewayRun("redis: upstream cache", "redis", False, UPSTREAM_LATENCY_MS, (UPSTREAM_HIT_VARIED,)),
            GatewayRun("redis: misses", "redis", False, UPSTREAM_LATENCY_MS, (MISS,)),
        ]
    return tuple(runs)
