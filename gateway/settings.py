"""Settings: one frozen dataclass; `Settings.from_env()` is the only reader of the environment (GATEWAY_ prefix).

The variables are derived, never listed by hand: `GATEWAY_<FIELD>` for each field of `Settings`, and from the upstream
specs (`gateway.upstreams.catalog.SPECS`) for each upstream `GATEWAY_<NAME>_URL` and `GATEWAY_<NAME>_TTL_<KIND>_S`, for
each credential `GATEWAY_<CREDENTIAL>_API_KEY` and `GATEWAY_<CREDENTIAL>_DAILY_QUOTA`. An upstream whose URL is not set
is not configured: it is never asked. Any other `GATEWAY_*` variable stops the start-up: a renamed one (`ALIASES`) is
still read and logged as deprecated, a removed one (`REMOVED`) says why, an unknown one names the closest valid one.

The one exception: tracing is configured by the standard OpenTelemetry variables (OTEL_TRACES_EXPORTER,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME...), which the OpenTelemetry SDK reads itself (`gateway.tracing`,
docs/operations.md); they are not settings and are not checked here.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from gateway.upstreams.catalog import SPECS
from gateway.upstreams.spec import RecordKind, UpstreamSpec
from gateway.vocabularies import ITA_LEAD_SOURCES

Profile = Literal["dev", "prod"]
# Who serves the leads of one ITA source code: `auto` (its successors when one is configured, else ITA), only its
# `successor`s (the upstreams whose spec declares the code in `lead_codes`), or only `ita` (an ITA-compatible service).
LeadsFrom = Literal["auto", "successor", "ita"]
LEADS_FROM_CHOICES: tuple[LeadsFrom, ...] = ("auto", "successor", "ita")

LogFormat = Literal["auto", "json", "text"]
LogLevel = Literal["debug", "info", "warning", "error"]

PREFIX = "GATEWAY_"
OCDS_PUBLISHERS = ("contractsfinder", "findatender")  # the OCDS mirrors, whose pace and windows are settings below
SAMOPPS = "samopps"  # the SAM opportunities mirror, whose API pulls have a share of the SAM key's daily quota
SHUTDOWN_GRACE_MARGIN_S = 5.0  # the default grace period is the request deadline and this
COMPRESSION_CODINGS = ("br", "gzip")  # the content codings the gateway can write
_log = logging.getLogger(__name__)

# Renamed settings: the old name is still read for the new one(s) and logged as deprecated; the new name wins.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "GATEWAY_CACHE_TTL_LEADS_S": ("GATEWAY_ITA_TTL_LEAD_S",),
    "GATEWAY_CACHE_TTL_TENDERS_S": ("GATEWAY_CANADA_TTL_TENDER_S",),
    "GATEWAY_CACHE_TTL_CONTRACTS_S": ("GATEWAY_SAM_TTL_CONTRACT_S", "GATEWAY_CANADA_TTL_CONTRACT_S"),
    "GATEWAY_CACHE_TTL_AWARD_FAMILIES_S": ("GATEWAY_SAM_TTL_AWARD_FAMILY_S",),
}
# Removed settings: setting one is a start-up error that says why, or what to use instead.
REMOVED: Mapping[str, str] = {
    "GATEWAY_MAX_PAGE_SIZE": "removed: `first` is always 1..100",
    "GATEWAY_CANADA_DAILY_QUOTA": "removed: the canada upstream uses no key; quotas are per credential",
    "GATEWAY_SAMPLES_DIR": "removed, use UPSTREAM_SAMPLES_DIR (the tests' samples folder, outside the GATEWAY_ prefix)",
    "GATEWAY_TEST_REDIS_URL": "removed, use TEST_REDIS_URL (the tests' Redis, outside the GATEWAY_ prefix)",
}


class SettingsError(ValueError):
    """A GATEWAY_* variable the gateway does not know (or no longer reads), or a value it cannot use."""


ANONYMOUS_TIER = "anonymous"
_TIER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_REDIS_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
_MIRROR_REPLICA = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UTC_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def parse_utc_offset(text: str) -> timedelta:
    """`-05:00` -> -5 h; SettingsError for anything but a sign, hours and minutes within +-14:00."""
    found = _UTC_OFFSET.fullmatch(text.strip())
    if found is None or int(found.group(3)) >= 60 or int(found.group(2)) * 60 + int(found.group(3)) > 14 * 60:
        raise SettingsError(f"GATEWAY_MIRROR_CLOSING_TIME_OFFSET must be a UTC offset such as -05:00, not {text!r}")
    sign = -1 if found.group(1) == "-" else 1
    return sign * timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))


@dataclass(frozen=True)
class Tier:
    """What one API key may spend: requests per minute (burst: how many at once), cost points per hour."""

    name: str
    requests_per_minute: int
    burst: int
    cost_per_hour: int
    max_query_cost: int


DEFAULT_TIERS: Mapping[str, Tier] = {
    tier.name: tier
    for tier in (
        Tier(ANONYMOUS_TIER, requests_per_minute=30, burst=10, cost_per_hour=500, max_query_cost=100),
        Tier("free", requests_per_minute=60, burst=20, cost_per_hour=2_000, max_query_cost=200),
        Tier("standard", requests_per_minute=300, burst=60, cost_per_hour=10_000, max_query_cost=500),
        Tier("partner", requests_per_minute=1_200, burst=200, cost_per_hour=50_000, max_query_cost=1_000),
    )
}
_TIER_FIELDS = ("requests_per_minute", "burst", "cost_per_hour", "max_query_cost")


def parse_tiers(raw: str) -> dict[str, Tier]:
    """DEFAULT_TIERS with the JSON object `raw` merged over them (per tier, per field)."""
    tiers = dict(DEFAULT_TIERS)
    if not raw.strip():
        return tiers
    try:
        given = json.loads(raw)
    except ValueError as exc:
        raise SettingsError("GATEWAY_TIERS must be a JSON object") from exc
    if not isinstance(given, dict):
        raise SettingsError("GATEWAY_TIERS must be a JSON object of tier name -> limits")
    for name, limits in given.items():
        if not _TIER_NAME.match(name):
            raise SettingsError(f"GATEWAY_TIERS: tier name {name!r} must match {_TIER_NAME.pattern}")
        if not isinstance(limits, dict):
            raise SettingsError(f"GATEWAY_TIERS[{name!r}] must be an object")
        unknown = sorted(set(limits) - set(_TIER_FIELDS))
        if unknown:
            raise SettingsError(f"GATEWAY_TIERS[{name!r}]: unknown fields {unknown}; known: {list(_TIER_FIELDS)}")
        base = tiers.get(name)
        values: dict[str, int] = {}
        for spec in _TIER_FIELDS:
            value = limits.get(spec, getattr(base, spec) if base else None)
            if value is None:
                raise SettingsError(f"GATEWAY_TIERS[{name!r}] is new and needs {spec}")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000_000:
                raise SettingsError(f"GATEWAY_TIERS[{name!r}].{spec} must be an integer in 1..10000000")
            values[spec] = value
        tiers[name] = Tier(name, **values)
    return tiers


@dataclass(frozen=True)
class UpstreamSettings:
    """Where one upstream is (`url` ends with "/"; empty: not configured, never asked) and how long its records stay
    fresh in the cache, per record kind."""

    url: str = ""
    ttl_s: Mapping[RecordKind, int] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class CredentialSettings:
    """The gateway's own key for a credential (a secret: never logged, never in cache keys or errors) and the calls
    per UTC day it allows itself with it (0: no quota)."""

    api_key: str = field(default="", repr=False)
    daily_quota: int = 0


def default_upstreams(specs: tuple[UpstreamSpec, ...] = SPECS, url: str = "") -> dict[str, UpstreamSettings]:
    """Every upstream at `url` (empty: none configured) with its spec's default TTLs."""
    return {spec.name: UpstreamSettings(url, dict(spec.default_ttl_s)) for spec in specs}


def default_credentials(specs: tuple[UpstreamSpec, ...] = SPECS) -> dict[str, CredentialSettings]:
    return {
        spec.credential.name: CredentialSettings(daily_quota=spec.credential.default_daily_quota)
        for spec in specs
        if spec.credential is not None
    }


@dataclass(frozen=True)
class Settings:
    profile: Profile = "prod"  # prod, or dev: GraphiQL, introspection and field suggestions on
    host: str = "127.0.0.1"  # the address it listens on (0.0.0.0 in a container)
    port: int = 8000  # the port it listens on

    # Upstreams, derived from their specs (see the module docstring); `specs` is the registry's list.
    specs: tuple[UpstreamSpec, ...] = SPECS
    upstreams: Mapping[str, UpstreamSettings] = field(default_factory=default_upstreams)
    credentials: Mapping[str, CredentialSettings] = field(default_factory=default_credentials, repr=False)

    # Upstream calls (DESIGN.md §6).
    upstream_connect_timeout_s: float = 2.0  # connecting to an upstream
    upstream_timeout_s: float = 8.0  # one upstream call in all (connect, send, read)
    request_deadline_s: float = 10.0  # a whole GraphQL request, every upstream call and retry included
    upstream_retries: int = 1  # retries on a 5xx or connection error, within the deadline
    retry_backoff_min_s: float = 0.1  # the full-jitter wait before a retry, from
    retry_backoff_max_s: float = 1.0  # the full-jitter wait before a retry, up to
    upstream_pool_size: int = 100  # open connections per upstream
    breaker_failure_threshold: int = 5  # consecutive failures that open an upstream's circuit breaker
    breaker_reset_s: float = 30.0  # how long an open breaker waits before a probe call
    max_upstream_body_bytes: int = 20_000_000  # an upstream body over this is refused as UPSTREAM_BAD_RESPONSE

    # Cache (TTLs are per upstream and record kind, above; stale-if-error window).
    cache_stale_for_s: int = 24 * 60 * 60  # how long past its TTL an answer may still serve when the upstream fails
    cache_max_entries: int = 10_000  # the memory cache's bound in entries (per replica, without Redis)
    cache_max_bytes: int = 256 * 1024 * 1024  # the memory cache's bound in bytes (per replica, without Redis)
    # Whole responses of identical operations (same document, variables and operation name), per replica;
    # 0 turns it off. Kept well under the upstream TTLs so that it never hides fresher upstream data for long.
    response_cache_ttl_s: int = 30  # how long a whole response is kept
    response_cache_max_entries: int = 2_000  # the response cache's bound in entries
    response_cache_max_bytes: int = 64 * 1024 * 1024  # the response cache's bound in bytes

    # Redis, shared by the replicas: the upstream cache, rate-limit and quota counters, API keys, APQ documents.
    redis_url: str = field(default="", repr=False)  # redis://host:port/db shared by the replicas; empty: no Redis
    # Every Redis key the gateway writes starts with "<redis_namespace>:" (cache, API keys, persisted documents,
    # rate-limit and quota counters), so that deployments sharing one Redis (staging, production) never share state.
    redis_namespace: str = "gateway"  # the prefix of every Redis key the gateway writes
    cache_redis_namespace: str = ""  # empty: "<redis_namespace>:cache"
    cache_lock_ttl_s: float = 5.0  # the cross-replica fetch lock (SET NX PX)
    cache_lock_wait_s: float = 5.0  # how long a replica waits for another's fetch before fetching itself
    cache_lock_poll_s: float = 0.05  # how often a waiting replica looks for the other's answer
    redis_pool_wait_s: float = 5.0  # waiting for a free pooled connection
    redis_probe_every_s: float = 1.0  # while Redis is down

    # HTTP edge and query limits.
    max_body_bytes: int = 100_000  # a request body over this is refused (413) from its Content-Length

    # Query safety (schema/limits.py, schema/cost.py), checked before execution; GraphQL over HTTP at the edge.
    max_header_bytes: int = 16_384  # request headers over this are refused (431)
    max_tokens: int = 2000  # GraphQL tokens in a document
    max_depth: int = 10  # selection depth
    max_aliases: int = 15  # aliases in a document
    max_directives: int = 50  # directives in a document
    max_root_fields: int = 10  # root fields in an operation
    max_query_cost: int = 1000  # per query, whatever the tier (tiers may set lower maxima)
    cors_allowed_origins: str = ""  # comma-separated origins allowed by CORS, "*" for any; empty: no CORS
    persisted_documents: str = "apq"  # off | apq (automatic persisted queries) | trusted (manifest only)
    persisted_documents_manifest: str = ""  # {sha256: document} JSON, see gateway/edge/persisted.py
    persisted_documents_max_entries: int = 10_000  # APQ registrations kept in memory (LRU)
    # With redis_url set, APQ registrations live in Redis (shared by every replica) instead of memory, each kept
    # this long after its last use; documents longer than max_body_bytes are not stored.
    persisted_documents_redis_namespace: str = ""  # empty: "<redis_namespace>:apq"
    persisted_documents_ttl_s: int = 7 * 24 * 60 * 60  # how long a registration is kept in Redis after its last use

    # API keys (gateway.limits.keys): "file" (the embedded default) or "redis" (keys_redis_url, else redis_url).
    keys_store: str = "file"  # file | redis
    keys_file: str = "var/keys.json"  # the JSON key store (keys_store=file), relative to the working directory
    keys_redis_url: str = field(default="", repr=False)  # the key store's Redis (keys_store=redis); empty: redis_url
    keys_pepper: str = field(default="", repr=False)  # HMAC secret for the stored key hashes; empty: plain SHA-256

    # Tiers and the per-caller limiter (gateway.limits.limiter): GATEWAY_TIERS is JSON merged over DEFAULT_TIERS, e.g.
    # `{"free": {"requests_per_minute": 60, "burst": 20, "cost_per_hour": 2000, "max_query_cost": 200}}`.
    tiers: str = ""  # JSON merged over DEFAULT_TIERS (see above)
    anonymous_tier_enabled: bool = False  # from_env turns it on for the dev profile unless set explicitly
    redis_timeout_s: float = 0.5  # each Redis call is abandoned after this long
    redis_pool_size: int = 50  # pooled connections per Redis user (cache, limiter, keys, quotas, documents)

    # Overload (gateway/edge/shedding.py, sizing in docs/keys-and-limits.md): per process, a request past its caller's
    # checks waits for one of the execution slots; beyond the queue, or after waiting too long, 503 SERVER_OVERLOADED.
    max_concurrent_executions: int = 8  # GraphQL operations this process executes at once
    max_queued_requests: int = 1024  # requests waiting for capacity (document checks, a slot) before others are refused
    max_queue_wait_s: float = 5.0  # the longest a request waits for an execution slot (never past its deadline)
    # While Redis is away each replica holds its share of every limit: the limit divided by the replicas counted.
    limiter_fallback_replicas: int = 2  # replicas assumed while Redis was never reached (the share divides by it)
    limiter_heartbeat_s: float = 5.0  # how often a replica tells Redis it is alive (replicas are counted from it)
    limiter_probe_every_s: float = 1.0  # while Redis is away, how often the limiter tries it again

    # Mirrors (gateway.upstreams.mirror): sources of files (CanadaBuys), downloaded on a schedule into a local index,
    # one directory per mirror and replica: <mirror_data_dir>/<upstream>-<replica>/.
    mirror_data_dir: str = "var/mirrors"  # where mirrors keep their files and snapshots (relative: to the working dir)
    mirror_max_disk_bytes: int = 4 * 1024**3  # the most one mirror's directory may hold (files, snapshots, a build)
    mirror_max_file_bytes: int = 512 * 1024**2  # the largest file a mirror downloads
    mirror_replica: str = ""  # this replica's name in its mirror directories; empty: the host name
    mirror_contact: str = ""  # an e-mail address or URL sent in the mirrors' User-Agent, so publishers can reach you
    mirror_refresh_in_process: bool = True  # false: only `python -m gateway mirror refresh` refreshes the mirrors
    mirror_prime_cookies: bool = True  # after a 403, fetch the source's data page for its cookies and ask again once
    mirror_closing_time_offset: str = "-05:00"  # the UTC offset at which CanadaBuys closing times are read
    mirror_query_threads: int = 4  # threads per mirror answering queries (never the event loop)

    # SAM.gov Contract Opportunities (samopps, a mirror): the daily public extract is always read; API pulls of the
    # day's postings run only with a SAM key (GATEWAY_SAM_API_KEY) whose daily quota (GATEWAY_SAM_DAILY_QUOTA, 0: none)
    # is at least samopps_min_daily_calls, within samopps_quota_share of it; the rest stays for Contract Awards (sam).
    # Empty: GATEWAY_SAMOPPS_URL + falextracts/Contract%20Opportunities/datagov/ContractOpportunitiesFullCSV.csv. The
    # real file: https://s3.amazonaws.com/falextracts/Contract%20Opportunities/datagov/ContractOpportunitiesFullCSV.csv
    samopps_extract_url: str = ""  # the full URL of the daily extract (empty: derived from GATEWAY_SAMOPPS_URL)
    samopps_extract_interval_s: int = 6 * 60 * 60  # how often the extract is asked for (a conditional GET)
    samopps_pull_interval_s: int = 2 * 60 * 60  # how often the day's postings are pulled from the API (one replica)
    samopps_min_daily_calls: int = 100  # the least daily quota of the SAM key for API pulls to run (10/day: none)
    samopps_quota_share: float = 0.5  # the share of the SAM key's daily quota API pulls may spend (0..1)
    samopps_page_ttl_s: int = 6 * 60 * 60  # how long a pulled page stays in Redis for the other replicas to index
    samopps_pull_timeout_s: float = 60.0  # one API page of up to 1,000 notices, at most

    # UK OCDS publishers (contractsfinder, findatender: mirrors of their release packages, gateway/upstreams/ocds/):
    # one request at a time, at least `<name>_request_interval_s` apart; after "too many requests" (Contracts Finder:
    # HTTP 403; Find a Tender: 429 or 503) the publisher's Retry-After, else `<name>_throttled_wait_s`. Every
    # `<name>_refresh_interval_s` the releases from the watermark to now are pulled, in update windows of
    # `<name>_window_s`; the first refresh goes `<name>_backfill_days` back. Processes whose latest release is older
    # than `<name>_retention_days` are deleted as windows are written; over mirror_max_disk_bytes no window is written.
    # With redis_url the replicas share the publisher's pace (the next request's earliest start, in Redis).
    contractsfinder_request_interval_s: float = 1.0  # the least time between two requests to Contracts Finder
    contractsfinder_throttled_wait_s: float = 300.0  # the wait after its 403 "too many requests" (5 minutes)
    contractsfinder_window_s: int = 24 * 60 * 60  # one update window (publishedFrom..publishedTo)
    contractsfinder_backfill_days: int = 30  # how far back the first refresh of Contracts Finder goes
    contractsfinder_refresh_interval_s: int = 60 * 60  # how often Contracts Finder's new releases are pulled
    contractsfinder_max_page_bytes: int = 32 * 1024**2  # a larger page is refused (the window is tried again later)
    contractsfinder_retention_days: int = 400  # processes with no release for this long are deleted (0: kept forever)
    findatender_request_interval_s: float = 10.0  # the least time between two requests (about 12 in 2 minutes)
    findatender_throttled_wait_s: float = 60.0  # the wait after its 429 or 503 when it sends no Retry-After
    findatender_window_s: int = 6 * 60 * 60  # one update window (updatedFrom..updatedTo; longer ones miss releases)
    findatender_backfill_days: int = 30  # how far back the first refresh of Find a Tender goes
    findatender_refresh_interval_s: int = 60 * 60  # how often Find a Tender's new releases are pulled
    findatender_max_page_bytes: int = 32 * 1024**2  # a larger page is refused (the window is tried again later)
    findatender_retention_days: int = 400  # processes with no release for this long are deleted (0: kept forever)

    # A simulated clock, FOR TESTS ONLY (process tests run a day of scheduled pulls in seconds): the gateway's now is
    # `real epoch seconds x clock_speed + clock_offset_s`, the same in every process given the same values; it dates
    # the upstream quota counters (their UTC day) and schedules the samopps pulls and refreshes. Refused in the prod
    # profile unless clock_allowed_in_prod is set.
    clock_speed: float = 1.0  # simulated seconds per real second (tests only)
    clock_offset_s: float = 0.0  # added to the scaled epoch seconds (tests only)
    clock_allowed_in_prod: bool = False  # let clock_speed / clock_offset_s apply in the prod profile too

    # Leads per ITA source code (`leads`, `lead`, `search`): `auto` asks the live successors of the code when one is
    # configured (CANADA: canadabuys; FBO: samopps; UK: contractsfinder and findatender), else an ITA-compatible
    # service (`GATEWAY_ITA_URL`); `successor` asks only the successors, `ita` only ITA. A code that nothing serves is
    # refused when a query names it (BAD_USER_INPUT naming the served ones) and listed in `skippedSources` otherwise.
    leads_australia_from: LeadsFrom = "auto"  # who serves AUSTRALIA leads: auto, successor or ita (no successor today)
    leads_canada_from: LeadsFrom = "auto"  # who serves CANADA leads: auto, successor (canadabuys) or ita
    leads_fbo_from: LeadsFrom = "auto"  # who serves FBO leads: auto, successor (samopps) or ita
    leads_state_from: LeadsFrom = "auto"  # who serves STATE leads: auto, successor or ita (no successor today)
    leads_uk_from: LeadsFrom = "auto"  # who serves UK leads: auto, successor (contractsfinder, findatender) or ita
    leads_mca_from: LeadsFrom = "auto"  # who serves MCA leads: auto, successor or ita (no successor today)
    leads_ustda_from: LeadsFrom = "auto"  # who serves USTDA leads: auto, successor or ita (no successor today)

    # Browser clients (docs/frontend.md): GraphiQL, the explorer page at /, and apps served from other origins (CORS).
    graphiql_demo_key: str = field(default="", repr=False)  # pre-filled in GraphiQL's Headers; dev profile only
    explorer_enabled: bool = True  # the explorer page at / (search without writing GraphQL), in both profiles
    cors_allowed_origin_regex: str = ""  # origins matching it are allowed by CORS too, e.g. local dev servers
    cors_allowed_headers: str = ""  # comma-separated request headers CORS allows beyond the built-in list

    # Observability (docs/operations.md): every log line on stderr, one access line per request, Prometheus metrics.
    # Logs never hold API keys, Authorization headers, query variables or contact details.
    log_format: LogFormat = "auto"  # json (one object per line), text, or auto: json in the prod profile, text in dev
    log_level: LogLevel = "info"  # the least severe level logged: debug, info, warning or error
    access_log_enabled: bool = True  # one line per request (logger gateway.access): id, key id, tier, status, time
    metrics_enabled: bool = True  # Prometheus metrics at GET /metrics: no key, unmetered, never cached
    metrics_port: int = 0  # 0: /metrics on the main port; else served on this port (same host) and not on the main

    # Operations (docs/operations.md): readiness (GET /readyz), graceful shutdown, response compression. Tracing is no
    # setting: the standard OTEL_* variables configure it, read by the OpenTelemetry SDK itself (docs/operations.md).
    # On SIGTERM the process answers /readyz 503 ("draining") and keeps serving for the drain delay, so that load
    # balancers stop sending it requests; then it stops accepting, lets the requests in flight finish within the
    # grace period (which must be longer than the request deadline), and closes its sessions and Redis.
    shutdown_drain_delay_s: float = 0.0  # keep serving this long after SIGTERM, /readyz 503 (e.g. the LB's check time)
    shutdown_grace_s: float = 0.0  # how long requests in flight may finish after that; 0: request deadline + 5 s
    # Responses are compressed when the client accepts it (Accept-Encoding) and the body is at least the minimum size:
    # JSON, HTML, CSS, JavaScript and SVG only, never a body that already has a Content-Encoding.
    compression_encodings: str = "br,gzip"  # the codings offered, preferred first (br, gzip); empty: never compress
    compression_min_bytes: int = 1024  # smaller bodies go as they are (0: compress every compressible body)

    @cached_property
    def tier_table(self) -> Mapping[str, Tier]:
        return parse_tiers(self.tiers)

    def upstream(self, name: str) -> UpstreamSettings:
        """The settings of upstream `name` (not configured when unknown to these settings)."""
        found = self.upstreams.get(name)
        if found is not None:
            return found
        spec = next((spec for spec in self.specs if spec.name == name), None)
        return UpstreamSettings("", dict(spec.default_ttl_s) if spec else {})

    def credential(self, name: str) -> CredentialSettings:
        return self.credentials.get(name) or CredentialSettings()

    def upstream_options(self, upstream: str) -> dict[str, object]:
        """The upstream's own settings (the fields `<upstream>_*`) without the prefix: what its mirror opener reads."""
        prefix = f"{upstream}_"
        return {
            setting.name.removeprefix(prefix): getattr(self, setting.name)
            for setting in fields(self)
            if setting.name.startswith(prefix)
        }

    def samopps_pull_calls(self) -> int | None:
        """Calls a day the samopps API pulls may spend of their key's quota: 0 when they do not run (samopps or its
        key not configured, a quota under samopps_min_daily_calls, a share under one call), None without a quota."""
        spec = next((spec for spec in self.specs if spec.name == SAMOPPS), None)
        if spec is None or spec.credential is None or not self.upstream(SAMOPPS).configured:
            return 0
        credential = self.credential(spec.credential.name)
        if not credential.api_key or self.samopps_quota_share <= 0:
            return 0
        if credential.daily_quota == 0:
            return None
        if credential.daily_quota < self.samopps_min_daily_calls:
            return 0
        return int(credential.daily_quota * self.samopps_quota_share)

    def quota_shares(self) -> dict[str, dict[str, int]]:
        """Calls a day reserved per credential for a background consumer of it (the quota guard keeps them apart):
        the samopps API pulls' share of the SAM key, when they run."""
        spec = next((spec for spec in self.specs if spec.name == SAMOPPS), None)
        calls = self.samopps_pull_calls()
        if spec is None or spec.credential is None or not calls:
            return {}
        return {spec.credential.name: {SAMOPPS: calls}}

    @property
    def simulated_clock(self) -> bool:
        return self.clock_speed != 1.0 or self.clock_offset_s != 0.0

    def daily_quotas(self) -> dict[str, int]:
        """Calls per UTC day per credential name (the quota guard's counters)."""
        return {name: credential.daily_quota for name, credential in self.credentials.items()}

    def leads_from(self) -> dict[str, LeadsFrom]:
        """Who serves the leads of each ITA source code (`GATEWAY_LEADS_<CODE>_FROM`)."""
        return {code: getattr(self, leads_from_field(code)) for code in ITA_LEAD_SOURCES.labels}

    def keys_redis(self) -> str:
        return self.keys_redis_url or self.redis_url

    def redis_prefix(self, part: str) -> str:
        """`<redis_namespace>:<part>`: where one Redis user of the gateway keeps its keys."""
        return f"{self.redis_namespace}:{part}"

    @property
    def cache_namespace(self) -> str:
        return self.cache_redis_namespace or self.redis_prefix("cache")

    @property
    def persisted_documents_namespace(self) -> str:
        return self.persisted_documents_redis_namespace or self.redis_prefix("apq")

    @property
    def dev(self) -> bool:
        return self.profile == "dev"

    @property
    def introspection_enabled(self) -> bool:
        return self.dev

    @property
    def field_suggestions_enabled(self) -> bool:
        """ "Did you mean ...?" in validation messages: they reveal the schema, so only in the dev profile."""
        return self.dev

    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, specs: tuple[UpstreamSpec, ...] = SPECS) -> Settings:
        """The settings the `GATEWAY_*` variables of `environ` (default: this process's environment) give, checked.

        Raises SettingsError, one line naming every problem, for an unknown, removed or badly valued variable.
        """
        given = _read_environment(os.environ if environ is None else environ, specs)
        values: dict[str, Any] = {}
        for setting in fields(cls):
            if setting.name in _DERIVED or (value := given.get(field_variable(setting.name))) is None:
                continue
            values[setting.name] = _convert(value, setting.default)
        values["specs"] = specs
        values["upstreams"], values["credentials"] = _upstream_settings(given, specs)
        if values.get("profile") == "dev":
            values.setdefault("anonymous_tier_enabled", True)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.profile not in ("dev", "prod"):
            raise SettingsError("GATEWAY_PROFILE must be 'dev' or 'prod'")
        self._validate_upstreams()
        if self.request_deadline_s <= 0 or self.upstream_timeout_s <= 0:
            raise SettingsError("timeouts must be positive")
        if not _REDIS_NAMESPACE.fullmatch(self.redis_namespace):
            raise SettingsError("GATEWAY_REDIS_NAMESPACE must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")
        if self.keys_store not in ("file", "redis"):
            raise SettingsError("GATEWAY_KEYS_STORE must be 'file' or 'redis'")
        if self.keys_store == "redis" and not self.keys_redis():
            raise SettingsError("GATEWAY_KEYS_STORE=redis needs GATEWAY_KEYS_REDIS_URL or GATEWAY_REDIS_URL")
        if self.redis_timeout_s <= 0 or self.redis_pool_size <= 0:
            raise SettingsError("GATEWAY_REDIS_TIMEOUT_S and GATEWAY_REDIS_POOL_SIZE must be positive")
        query_limits = (
            self.max_header_bytes,
            self.max_body_bytes,
            self.max_tokens,
            self.max_depth,
            self.max_aliases,
            self.max_directives,
            self.max_root_fields,
            self.max_query_cost,
        )
        if min(query_limits) <= 0:
            raise SettingsError("request and query limits (GATEWAY_MAX_*) must be positive")
        if self.persisted_documents not in ("off", "apq", "trusted"):
            raise SettingsError("GATEWAY_PERSISTED_DOCUMENTS must be 'off', 'apq' or 'trusted'")
        if self.persisted_documents == "trusted" and not self.persisted_documents_manifest:
            raise SettingsError("GATEWAY_PERSISTED_DOCUMENTS=trusted needs GATEWAY_PERSISTED_DOCUMENTS_MANIFEST")
        if self.persisted_documents_ttl_s <= 0:
            raise SettingsError("GATEWAY_PERSISTED_DOCUMENTS_TTL_S must be positive")
        self.tier_table  # noqa: B018 - parses GATEWAY_TIERS now, so a bad value fails at start-up
        self._validate_overload()
        self._validate_mirrors()
        self._validate_samopps()
        self._validate_browser_clients()
        self._validate_observability()
        self._validate_operations()
        for code, choice in self.leads_from().items():
            if choice not in LEADS_FROM_CHOICES:
                variable = field_variable(leads_from_field(code))
                raise SettingsError(f"{variable} must be one of {', '.join(LEADS_FROM_CHOICES)}, not {choice!r}")

    def _validate_operations(self) -> None:
        if self.shutdown_drain_delay_s < 0:
            raise SettingsError("GATEWAY_SHUTDOWN_DRAIN_DELAY_S must be >= 0")
        if self.shutdown_grace_s < 0 or (self.shutdown_grace_s and self.shutdown_grace_s <= self.request_deadline_s):
            raise SettingsError(
                f"GATEWAY_SHUTDOWN_GRACE_S ({self.shutdown_grace_s:g}) must be longer than GATEWAY_REQUEST_DEADLINE_S "
                f"({self.request_deadline_s:g}), or 0 for the deadline + {SHUTDOWN_GRACE_MARGIN_S:g} s"
            )
        unknown = [coding for coding in self.compression_codings() if coding not in COMPRESSION_CODINGS]
        if unknown:
            raise SettingsError(
                f"GATEWAY_COMPRESSION_ENCODINGS: {', '.join(unknown)} not offered; choose from "
                f"{', '.join(COMPRESSION_CODINGS)} (empty: never compress)"
            )
        if self.compression_min_bytes < 0:
            raise SettingsError("GATEWAY_COMPRESSION_MIN_BYTES must be >= 0")

    @property
    def shutdown_grace_period_s(self) -> float:
        """How long requests in flight may finish once the process stops accepting."""
        return self.shutdown_grace_s or self.request_deadline_s + SHUTDOWN_GRACE_MARGIN_S

    def compression_codings(self) -> tuple[str, ...]:
        """The content codings offered, preferred first."""
        codings = (coding.strip().lower() for coding in self.compression_encodings.split(","))
        return tuple(dict.fromkeys(coding for coding in codings if coding))

    def _validate_observability(self) -> None:
        if self.log_format not in get_args(LogFormat):
            raise SettingsError(f"GATEWAY_LOG_FORMAT must be one of {', '.join(get_args(LogFormat))}")
        if self.log_level not in get_args(LogLevel):
            raise SettingsError(f"GATEWAY_LOG_LEVEL must be one of {', '.join(get_args(LogLevel))}")
        if not 0 <= self.metrics_port <= 65535 or (self.metrics_port and self.metrics_port == self.port):
            raise SettingsError("GATEWAY_METRICS_PORT must be 0 (the main port) or another port, 1-65535")

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and not self.dev)

    def _validate_browser_clients(self) -> None:
        if self.graphiql_demo_key and not self.dev:
            raise SettingsError(
                "GATEWAY_GRAPHIQL_DEMO_KEY is for the dev profile only: GraphiQL would hand the key to every visitor"
            )
        try:
            re.compile(self.cors_allowed_origin_regex)
        except re.error as exc:
            raise SettingsError(f"GATEWAY_CORS_ALLOWED_ORIGIN_REGEX is not a regular expression: {exc}") from None
        headers = [header.strip() for header in self.cors_allowed_headers.split(",") if header.strip()]
        if not all(_HEADER_NAME.fullmatch(header) for header in headers):
            raise SettingsError("GATEWAY_CORS_ALLOWED_HEADERS must be comma-separated HTTP header names")

    def _validate_samopps(self) -> None:
        if not 0 <= self.samopps_quota_share <= 1:
            raise SettingsError("GATEWAY_SAMOPPS_QUOTA_SHARE must be between 0 and 1")
        intervals = (self.samopps_extract_interval_s, self.samopps_pull_interval_s, self.samopps_page_ttl_s)
        if min(intervals) <= 0 or self.samopps_pull_timeout_s <= 0 or self.samopps_min_daily_calls < 0:
            raise SettingsError(
                "GATEWAY_SAMOPPS_EXTRACT_INTERVAL_S, _PULL_INTERVAL_S, _PAGE_TTL_S and _PULL_TIMEOUT_S must be positive"
            )
        if self.samopps_extract_url and not _is_url(self.samopps_extract_url):
            raise SettingsError("GATEWAY_SAMOPPS_EXTRACT_URL must be an http(s) URL with a host")
        if not 0 < self.clock_speed <= 1_000_000:
            raise SettingsError("GATEWAY_CLOCK_SPEED must be above 0 and at most 1000000")
        if self.simulated_clock and not self.dev and not self.clock_allowed_in_prod:
            raise SettingsError(
                "GATEWAY_CLOCK_SPEED and GATEWAY_CLOCK_OFFSET_S are for tests: refused in the prod profile unless "
                "GATEWAY_CLOCK_ALLOWED_IN_PROD=true"
            )

    def _validate_mirrors(self) -> None:
        if not self.mirror_data_dir.strip():
            raise SettingsError("GATEWAY_MIRROR_DATA_DIR must not be empty")
        if min(self.mirror_max_disk_bytes, self.mirror_max_file_bytes, self.mirror_query_threads) <= 0:
            raise SettingsError("GATEWAY_MIRROR_MAX_DISK_BYTES, _MAX_FILE_BYTES and _QUERY_THREADS must be positive")
        if self.mirror_replica and not _MIRROR_REPLICA.fullmatch(self.mirror_replica):
            raise SettingsError("GATEWAY_MIRROR_REPLICA must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")
        parse_utc_offset(self.mirror_closing_time_offset)
        for publisher in OCDS_PUBLISHERS:
            options = self.upstream_options(publisher)
            if min(float(value) for value in options.values() if isinstance(value, int | float)) < 0 or any(
                not options[name] for name in ("window_s", "refresh_interval_s", "max_page_bytes")
            ):
                raise SettingsError(
                    f"GATEWAY_{publisher.upper()}_* must be >= 0, and its WINDOW_S, REFRESH_INTERVAL_S and "
                    "MAX_PAGE_BYTES positive"
                )

    def _validate_overload(self) -> None:
        if min(self.max_concurrent_executions, self.max_queued_requests, self.limiter_fallback_replicas) < 1:
            raise SettingsError(
                "GATEWAY_MAX_CONCURRENT_EXECUTIONS, GATEWAY_MAX_QUEUED_REQUESTS and GATEWAY_LIMITER_FALLBACK_REPLICAS "
                "must be at least 1"
            )
        if min(self.max_queue_wait_s, self.limiter_heartbeat_s, self.limiter_probe_every_s) <= 0:
            raise SettingsError(
                "GATEWAY_MAX_QUEUE_WAIT_S, GATEWAY_LIMITER_HEARTBEAT_S and GATEWAY_LIMITER_PROBE_EVERY_S "
                "must be positive"
            )

    def _validate_upstreams(self) -> None:
        specs = {spec.name: spec for spec in self.specs}
        for name, upstream in self.upstreams.items():
            spec = specs.get(name)
            if spec is None:
                raise SettingsError(f"upstream settings for {name!r}, which no spec declares")
            if upstream.url and not _is_base_url(upstream.url):
                raise SettingsError(f"{url_variable(name)} must be an http(s) URL with a host, ending with '/'")
            for kind, ttl_s in upstream.ttl_s.items():
                if kind not in spec.kinds:
                    raise SettingsError(f"upstream {name} has a TTL for {kind.value} records, which it does not serve")
                if ttl_s < 0:
                    raise SettingsError(f"{ttl_variable(name, kind)} must be >= 0")
        declared = {spec.credential.name for spec in self.specs if spec.credential is not None}
        for name, credential in self.credentials.items():
            if name not in declared:
                raise SettingsError(f"credential settings for {name!r}, which no spec declares")
            if credential.daily_quota < 0:
                raise SettingsError(f"{daily_quota_variable(name)} must be >= 0 (0: no quota)")


_DERIVED = frozenset({"specs", "upstreams", "credentials"})


def field_variable(field_name: str) -> str:
    return f"{PREFIX}{field_name.upper()}"


def leads_from_field(code: str) -> str:
    """The field choosing who serves the leads of ITA source code `code` (`leads_canada_from`)."""
    return f"leads_{code.lower()}_from"


def url_variable(upstream: str) -> str:
    return f"{PREFIX}{upstream.upper()}_URL"


def ttl_variable(upstream: str, kind: RecordKind) -> str:
    return f"{PREFIX}{upstream.upper()}_TTL_{kind.setting_stem}_S"


def api_key_variable(credential: str) -> str:
    return f"{PREFIX}{credential.upper()}_API_KEY"


def daily_quota_variable(credential: str) -> str:
    return f"{PREFIX}{credential.upper()}_DAILY_QUOTA"


def setting_variables(specs: tuple[UpstreamSpec, ...] = SPECS) -> tuple[str, ...]:
    """Every environment variable the settings read, in declaration order (fields, then upstreams, then credentials).

    Raises SettingsError when two settings would share a variable (an upstream named like a field's prefix).
    """
    names = [field_variable(setting.name) for setting in fields(Settings) if setting.name not in _DERIVED]
    credentials: list[str] = []
    for spec in specs:
        names += [url_variable(spec.name), *(ttl_variable(spec.name, kind) for kind in _in_order(spec.kinds))]
        if spec.credential is not None and spec.credential.name not in credentials:
            credentials.append(spec.credential.name)
    for credential in credentials:
        names += [api_key_variable(credential), daily_quota_variable(credential)]
    if len(set(names)) != len(names):
        shared = sorted({name for name in names if names.count(name) > 1})
        raise SettingsError(f"two settings share the variable(s) {', '.join(shared)}: rename an upstream or credential")
    return tuple(names)


@dataclass(frozen=True)
class _Given:
    """The raw value of a setting, and the variable it was given as (the setting's own, or a deprecated alias)."""

    raw: str
    variable: str


def _read_environment(environ: Mapping[str, str], specs: tuple[UpstreamSpec, ...]) -> dict[str, _Given]:
    """Every valid setting `environ` gives, by variable (deprecated aliases resolved); refuses any other GATEWAY_*."""
    valid = setting_variables(specs)
    known = set(valid)
    given = {name: _Given(raw, name) for name, raw in environ.items() if name in known}
    problems: list[str] = []
    for name in sorted(name for name in environ if name.startswith(PREFIX) and name not in known):
        targets = [target for target in ALIASES.get(name, ()) if target in known]
        if targets:
            for target in targets:
                given.setdefault(target, _Given(environ[name], name))
            overridden = [target for target in targets if given[target].variable != name]
            ignored = f" ({' and '.join(overridden)} also set: the new name wins)" if overridden else ""
            _log.warning("%s is deprecated: use %s%s", name, " and ".join(targets), ignored)
        elif name in REMOVED:
            problems.append(f"{name} is {REMOVED[name]}")
        else:
            closest = difflib.get_close_matches(name, valid, n=1, cutoff=0.0)
            problems.append(f"unknown setting {name}" + (f" (did you mean {closest[0]}?)" if closest else ""))
    if problems:
        raise SettingsError("; ".join(problems))
    return given


def _upstream_settings(
    given: Mapping[str, _Given], specs: tuple[UpstreamSpec, ...]
) -> tuple[dict[str, UpstreamSettings], dict[str, CredentialSettings]]:
    upstreams: dict[str, UpstreamSettings] = {}
    credentials: dict[str, CredentialSettings] = {}
    for spec in specs:
        ttl_s = {
            kind: _count(value) if (value := given.get(ttl_variable(spec.name, kind))) is not None else default
            for kind, default in spec.default_ttl_s.items()
        }
        url = given.get(url_variable(spec.name))
        upstreams[spec.name] = UpstreamSettings(url.raw.strip() if url else "", ttl_s)
        credential = spec.credential
        if credential is not None and credential.name not in credentials:
            api_key = given.get(api_key_variable(credential.name))
            quota = given.get(daily_quota_variable(credential.name))
            credentials[credential.name] = CredentialSettings(
                api_key=api_key.raw.strip() if api_key else "",
                daily_quota=_count(quota) if quota is not None else credential.default_daily_quota,
            )
    return upstreams, credentials


def _in_order(kinds: frozenset[RecordKind]) -> list[RecordKind]:
    return [kind for kind in RecordKind if kind in kinds]


def _is_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url == url.strip()


def _is_base_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url.endswith("/") and url == url.strip()


def _count(given: _Given) -> int:
    """A whole number >= 0 (a TTL in seconds, a daily quota)."""
    try:
        value = int(given.raw)
    except ValueError as exc:
        raise SettingsError(f"{given.variable} must be a whole number") from exc
    if value < 0:
        raise SettingsError(f"{given.variable} must be >= 0")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _convert(given: _Given, default: object) -> object:
    """`given.raw` as the type of the field's default (bool, int, float; else the string itself)."""
    raw = given.raw.strip()
    if isinstance(default, bool):
        if raw.lower() not in _TRUE | _FALSE:
            raise SettingsError(f"{given.variable} must be true or false (or 1/0, yes/no, on/off)")
        return raw.lower() in _TRUE
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{given.variable} must be a number") from exc
    return given.raw
