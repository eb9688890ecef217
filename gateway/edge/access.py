"""In front of /graphql (a step of `gateway.edge.pipeline`; `AccessMiddleware` alone): who is calling (API key or
the anonymous tier), and may they call now.

A key arrives as `Authorization: Bearer <key>` or `X-API-Key: <key>`. No key: the anonymous tier when it is enabled
(metered per client address), else 401. A key that is unknown, wrong or revoked: 401 even when anonymous calls are
allowed (a caller who sends a key wants to know it does not work). Malformed credentials headers: 400. The key store
unreachable: 503. The process overloaded: 503 SERVER_OVERLOADED with `Retry-After`, decided before the limiter is
asked (`gateway.edge.shedding`). Over the tier's request rate: 429 with `Retry-After`. Admitted requests carry their
deadline, a `Metering` and their place in the process in `scope["state"]` ("deadline", "metering", "place"). Every
answer to a known caller carries `RateLimit-Policy` and `RateLimit` (IETF httpapi draft), also while Redis is away
(then this replica's share and counts). Refusals are written by `gateway.edge.refusals` (GraphQL-shaped, with
`extensions.code`); no key ever appears in a body or a log line.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.protocol import GRAPHQL_RESPONSE, JSON
from gateway.edge.refusals import Refusal, Refused
from gateway.edge.shedding import RETRY_AFTER_S, LoadShedder, Place, SheddingLimits, overloaded
from gateway.errors import GatewayError, RateLimited, Unauthenticated
from gateway.limits.keys import ApiKeyRecord, ApiKeys, FileKeyStore, MalformedCredentials, extract_api_key
from gateway.limits.limiter import Budget, Decision, RateLimiter, ratelimit_header_fields, ratelimit_headers
from gateway.limits.metering import ANONYMOUS_KEY_PREFIX, Caller, Metering
from gateway.redis import redis_errors
from gateway.request_record import RequestRecord, current_record
from gateway.settings import ANONYMOUS_TIER, Settings, Tier
from gateway.upstreams.deadline import Deadline

log = logging.getLogger(__name__)

GRAPHQL_PATHS = frozenset({"/graphql", "/graphql/"})
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")
WWW_AUTHENTICATE = 'Bearer realm="procurement-gateway"'
KEY_STORE_RETRY_AFTER_S = 1
WARM_UP_TIER, WARM_UP_KEY_ID = "warm-up", "warm-up-probe"


class AccessControl:
    """The key store, the per-caller limiter and the load shedder of one process: opened in the lifespan, read per
    request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.shedder = LoadShedder(SheddingLimits.from_settings(settings))
        self._keys: ApiKeys | None = None
        self._limiter: RateLimiter | None = None
        self._storage_gate: asyncio.Semaphore | None = None

    async def open(self, stack: AsyncExitStack) -> None:
        """Opens both (inside the running loop: the limiter starts its heartbeat) and closes them with `stack`."""
        keys = ApiKeys.from_settings(self.settings)
        stack.push_async_callback(keys.aclose)
        limiter = RateLimiter.from_settings(self.settings)
        stack.push_async_callback(limiter.aclose)
        self._keys, self._limiter = keys, limiter
        self._storage_gate = asyncio.Semaphore(self.settings.redis_pool_size)
        stack.callback(self._close)
        await limiter.start()  # the replicas counted before the first caller: the share is right from the start
        await self._warm_up(limiter)

    async def _warm_up(self, limiter: RateLimiter) -> None:
        """One uncounted round trip before the first caller: a cold pool (connects, script loads) under a burst of
        requests would otherwise time out, and a timed-out limiter holds every caller to this replica's share of
        their limits until Redis answers again."""
        probe = Tier(WARM_UP_TIER, requests_per_minute=1, burst=1, cost_per_hour=1, max_query_cost=1)
        await limiter.peek(WARM_UP_KEY_ID, probe)

    def _close(self) -> None:
        self._keys = self._limiter = None
        self._storage_gate = None

    def metering(self, caller: Caller) -> Metering:
        limiter = self.limiter
        # The gate bounds calls to the limiter's storage: a limiter counting in this process's memory needs none.
        return Metering(caller, limiter, storage_gate=self._storage_gate if limiter.shared else None)

    def known_budget(self, caller: Caller) -> Budget:
        """The caller's budget as this replica last knew it, without a call to Redis (for answers under overload):
        the shared windows as Redis last described them, less what this replica admitted since."""
        limiter = self.limiter
        if limiter.degraded:
            return limiter.local.budget(caller.key_id, caller.tier, replicas=limiter.replicas(), degraded=True)
        return limiter.local.budget(caller.key_id, caller.tier)

    async def authenticate(self, presented: str) -> ApiKeyRecord | None:
        """The key's live record; the lookup waits its turn at the same gate as the limiter (see Metering)."""
        if self._storage_gate is None or isinstance(self.keys.store, FileKeyStore):  # a file: no pool to wait for
            return await self.keys.authenticate(presented)
        async with self._storage_gate:
            return await self.keys.authenticate(presented)

    def guards(self, scope: Scope) -> bool:
        """The request needs a caller admitted: /graphql, but for CORS preflights and the GraphiQL page."""
        return scope["path"] in GRAPHQL_PATHS and not _needs_no_key(scope)

    async def admit(self, scope: Scope, record: RequestRecord | None) -> Admission:
        """The caller identified, given a place in the process and counted against its request rate (raises
        Refused); its deadline, meter and place in `scope["state"]`."""
        state = scope.setdefault("state", {})
        state["deadline"] = Deadline.after(self.settings.request_deadline_s)  # the caller's, from now on
        caller = await self._identify(scope)
        if record is not None:  # the stored key's public id (never the key); none for anonymous callers
            record.caller(None if caller.anonymous else caller.key_id, caller.tier.name)
        place = self._place(caller)
        metering = self.metering(caller)
        try:
            decision = await metering.check_request()
            if not decision.allowed:
                raise await self._rate_limited(metering, decision)
        except BaseException:
            place.leave()
            raise
        state["metering"], state["place"] = metering, place
        return Admission(self, caller, place, metering)

    @property
    def keys(self) -> ApiKeys:
        if self._keys is None:
            raise RuntimeError("access control is not open (lifespan not run)")
        return self._keys

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            raise RuntimeError("access control is not open (lifespan not run)")
        return self._limiter

    def _place(self, caller: Caller) -> Place:
        """A place in this process, before the limiter is asked: refused without a call to Redis while too many
        requests wait for the process's capacity (`gateway.edge.shedding`)."""
        place = self.shedder.admit()
        if place is None:
            headers = ratelimit_headers(self.known_budget(caller))
            headers["Retry-After"] = str(RETRY_AFTER_S)
            error = overloaded("the gateway is overloaded: too many requests are waiting; retry shortly")
            raise Refused(Refusal.of(503, error, headers))
        return place

    async def _identify(self, scope: Scope) -> Caller:
        settings = self.settings
        try:
            presented = extract_api_key(_credential_headers(scope))
        except MalformedCredentials as exc:
            raise Refused(Refusal.of(400, exc)) from None
        except Unauthenticated as exc:
            raise Refused(Refusal.of(401, exc, {"WWW-Authenticate": WWW_AUTHENTICATE})) from None
        if presented is None:
            anonymous = settings.tier_table.get(ANONYMOUS_TIER)
            if settings.anonymous_tier_enabled and anonymous is not None:
                client = scope.get("client")
                address = client[0] if client else "unknown"
                return Caller(f"{ANONYMOUS_KEY_PREFIX}{address}", owner="anonymous", tier=anonymous)
            raise Refused(
                Refusal.of(
                    401,
                    Unauthenticated("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"),
                    {"WWW-Authenticate": WWW_AUTHENTICATE},
                )
            )
        try:
            record = await self.authenticate(presented)
        except _key_store_errors() as exc:
            log.warning("API key store unreachable, refusing keyed requests: %s", type(exc).__name__)
            raise Refused(
                Refusal.of(
                    503,
                    KeyStoreUnavailable("the API key store is unreachable; retry shortly"),
                    {"Retry-After": str(KEY_STORE_RETRY_AFTER_S)},
                )
            ) from None
        if record is None:
            raise Refused(
                Refusal.of(
                    401,
                    Unauthenticated("the API key is unknown or revoked"),
                    {"WWW-Authenticate": f'{WWW_AUTHENTICATE}, error="invalid_token"'},
                )
            )
        tier = settings.tier_table.get(record.tier)
        if tier is None:
            log.warning("API key %s names tier %r, which this gateway does not configure", record.key_id, record.tier)
            raise Refused(Refusal.of(401, Unauthenticated("the API key's tier is not served by this gateway")))
        return Caller(record.key_id, owner=record.owner, tier=tier)

    async def _rate_limited(self, metering: Metering, decision: Decision) -> Refused:
        budget = await metering.current_budget()
        retry_after_s = decision.retry_after_s or 1
        error = RateLimited(
            f"over the {decision.limit} requests per {decision.policy} window of tier {metering.caller.tier.name}",
            retryAfter=retry_after_s,
            policy=decision.policy,
        )
        headers = ratelimit_headers(budget, decision)
        headers["Retry-After"] = str(retry_after_s)
        return Refused(Refusal.of(429, error, headers))


class Admission:
    """One admitted request, until it is answered: its caller, its place in the process and its meter."""

    def __init__(self, control: AccessControl, caller: Caller, place: Place, metering: Metering) -> None:
        self._control = control
        self.caller = caller
        self.place = place
        self.metering = metering

    async def header_fields(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Policy` and `RateLimit` for the answer's start (without Retry-After: the endpoint sets it on
        the answers it refuses)."""
        # Shed after admission: its unit was given back; no call to Redis while the process is overloaded.
        shed = self.place.shed
        budget = self._control.known_budget(self.caller) if shed else await self.metering.current_budget()
        return ratelimit_header_fields(budget, self.metering.refused)

    def leave(self, record: RequestRecord | None) -> None:
        """Answered: its place given up, its cost recorded."""
        self.place.leave()
        if record is not None:
            record.cost = self.metering.charged_cost


class AccessMiddleware:
    def __init__(self, app: ASGIApp, control: AccessControl) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.control.guards(scope):
            await self.app(scope, receive, send)
            return
        record = current_record()
        try:
            admission = await self.control.admit(scope, record)
        except Refused as refused:
            await refused.refusal.send(send, refusal_media_type(scope))
            return

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *await admission.header_fields()]
            await send(message)

        try:
            await self.app(scope, receive, send_with_budget)
        finally:
            admission.leave(record)


def _key_store_errors() -> tuple[type[BaseException], ...]:
    """What a key lookup raises when its store cannot answer: the Redis key store's errors, a broken key file's."""
    return (*redis_errors(), ValueError)


class KeyStoreUnavailable(GatewayError):
    code = "KEY_STORE_UNAVAILABLE"


def _needs_no_key(scope: Scope) -> bool:
    """CORS preflights and the GraphiQL page (a browser GET for HTML without a query) do no work for anyone."""
    if scope["method"] == "OPTIONS":
        return True
    if scope["method"] != "GET":
        return False
    accept = b", ".join(value for name, value in scope["headers"] if name == b"accept")
    if b"text/html" not in accept:
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return "query" not in query


def _credential_headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in CREDENTIAL_HEADERS:
            key = name.decode("ascii")
            if key in found:
                raise MalformedCredentials(f"the {key} header is sent more than once")
            found[key] = value.decode("latin-1")
    return found


def refusal_media_type(scope: Scope) -> str:
    """Refused before the endpoint negotiates: the GraphQL response type unless the client accepts only JSON."""
    accept = b", ".join(value for name, value in scope["headers"] if name == b"accept").decode("latin-1")
    return JSON if JSON in accept and GRAPHQL_RESPONSE not in accept else GRAPHQL_RESPONSE
