"""Who answers `leads`: per ITA source code, ITA or the code's live successors, and the sources a query skips.

ITA only aggregated other publishers; three of its seven sources live on (CANADA: CanadaBuys, FBO: SAM.gov Contract
Opportunities, UK: Contracts Finder and Find a Tender). A successor declares the codes it serves in its spec
(`lead_codes`); an upstream serving leads that declares none is an ITA-compatible service (upstream `ita`), serving
every code. Per code, `GATEWAY_LEADS_<CODE>_FROM` chooses: `auto` (the configured successors, else ITA), `successor`
or `ita`. Each upstream is then asked once, for the codes it serves (ITA through its `sources` parameter, unchanged
when it serves them all), and the lists are merged.

A source that cannot answer a criterion of the query (its spec's `criteria`; ITA's own industry taxonomy, for one)
could only return non-matches: it is skipped, and the answer says so (`SkippedSource`). A code the query names that
nothing serves here is BAD_USER_INPUT naming the served ones; without `sources`, such codes are listed as skipped.

The route depends only on the specs of the upstreams serving leads, the setting, the codes named and the criteria
set: it is worked out once for them and remembered (`ServingMemo`); only the queries sent are made per request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gateway.errors import BadUserInput
from gateway.models import LeadQuery
from gateway.settings import LeadsFrom
from gateway.upstreams.spec import RecordKind, UpstreamSpec, criteria_set
from gateway.vocabularies import ITA_LEAD_SOURCES
from resolvers.context import RegisteredUpstream, UpstreamRegistry
from resolvers.source_selection import ServingMemo

ITA_CODES: tuple[str, ...] = tuple(ITA_LEAD_SOURCES.labels)
SOURCES_ARGUMENT = "filter.sources"


class SkipReason(Enum):
    UNANSWERABLE_CRITERIA = "UNANSWERABLE_CRITERIA"  # the source cannot answer a criterion the query sets
    NOT_CONFIGURED = "NOT_CONFIGURED"  # nothing serving the code is configured on this gateway


@dataclass(frozen=True)
class SkippedSource:
    """A source code the answer leaves out, the upstream that would have served it (None: none is configured), why,
    and the criteria (fields of `LeadQuery`) it cannot answer."""

    source: str
    upstream: str | None
    reason: SkipReason
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadRoute:
    """The upstreams to ask, each with the query it is sent (in catalog order: the first wins ties in the merge), and
    the sources skipped."""

    queries: Mapping[str, LeadQuery]
    skipped: tuple[SkippedSource, ...]


def is_ita_compatible(spec: UpstreamSpec) -> bool:
    """An upstream serving leads for every code (ITA's own API, or a compatible service), not as a successor."""
    return spec.serves(RecordKind.LEAD) and not spec.lead_codes


def servers_of(upstreams: UpstreamRegistry, code: str) -> tuple[RegisteredUpstream, ...]:
    """The configured upstreams serving the leads of `code`, as its setting chooses."""
    return _servers_of(upstreams.serving(RecordKind.LEAD), upstreams.leads_from, code)


def _servers_of(
    serving: tuple[RegisteredUpstream, ...], leads_from: Mapping[str, LeadsFrom], code: str
) -> tuple[RegisteredUpstream, ...]:
    successors = tuple(upstream for upstream in serving if code in upstream.spec.lead_codes)
    ita = tuple(upstream for upstream in serving if is_ita_compatible(upstream.spec))
    choice = leads_from.get(code, "auto")
    if choice == "successor":
        return successors
    if choice == "ita":
        return ita
    return successors or ita


def served_codes(upstreams: UpstreamRegistry) -> tuple[str, ...]:
    """The codes some configured upstream serves here."""
    return tuple(code for code in ITA_CODES if servers_of(upstreams, code))


@dataclass(frozen=True)
class _Plan:
    """A route without its queries: the position in `serving` of each upstream asked, with the codes it is asked
    for (None: the query without `sources`, every code), and the sources skipped."""

    asked: tuple[tuple[int, tuple[str, ...] | None], ...]
    skipped: tuple[SkippedSource, ...]


_plans: ServingMemo[_Plan] = ServingMemo()


def route_leads(upstreams: UpstreamRegistry, query: LeadQuery) -> LeadRoute:
    """Whom `query` asks and with what; BAD_USER_INPUT (before any upstream is asked) when it names a code nothing
    serves here."""
    serving, leads_from = upstreams.serving(RecordKind.LEAD), upstreams.leads_from
    named = tuple(dict.fromkeys(query.sources))
    criteria = tuple(name for name in criteria_set(query) if name != "sources")  # the choice of sources is routing
    plan = _plans.get(
        serving, (tuple(leads_from.items()), named, criteria), lambda: _plan(serving, leads_from, named, criteria)
    )
    unrouted = dataclasses.replace(query, sources=()) if query.sources else query
    queries: dict[str, LeadQuery] = {}
    for position, codes in plan.asked:
        if codes is None:
            sent = unrouted
        elif codes == query.sources:
            sent = query
        else:
            sent = dataclasses.replace(query, sources=codes)
        queries[serving[position].name] = sent
    return LeadRoute(queries, plan.skipped)


def _plan(
    serving: tuple[RegisteredUpstream, ...],
    leads_from: Mapping[str, LeadsFrom],
    named: tuple[str, ...],
    criteria: tuple[str, ...],
) -> _Plan:
    unknown = [code for code in named if code not in ITA_CODES]
    if unknown:
        raise BadUserInput(
            f"`{SOURCES_ARGUMENT}`: unknown lead source(s) {', '.join(unknown)}; known: {', '.join(ITA_CODES)}",
            argument=SOURCES_ARGUMENT,
            accepted=list(ITA_CODES),
        )
    wanted = named or ITA_CODES
    servers = {code: _servers_of(serving, leads_from, code) for code in wanted}
    unserved = [code for code, found in servers.items() if not found]
    if named and unserved:
        served = tuple(code for code in ITA_CODES if _servers_of(serving, leads_from, code))
        raise BadUserInput(
            f"`{SOURCES_ARGUMENT}`: nothing serves {', '.join(unserved)} leads on this gateway; served here: "
            f"{', '.join(served) or 'none'}",
            argument=SOURCES_ARGUMENT,
            accepted=list(served),
        )
    skipped = [SkippedSource(code, None, SkipReason.NOT_CONFIGURED) for code in unserved]
    codes_of: dict[str, list[str]] = {}
    for code in wanted:
        for upstream in servers[code]:
            codes_of.setdefault(upstream.name, []).append(code)
    asked: list[tuple[int, tuple[str, ...] | None]] = []
    for position, upstream in enumerate(serving):
        codes = codes_of.get(upstream.name)
        if not codes:
            continue
        unanswerable = upstream.spec.cannot_answer(RecordKind.LEAD, criteria)
        if unanswerable:
            skipped += [
                SkippedSource(code, upstream.name, SkipReason.UNANSWERABLE_CRITERIA, unanswerable) for code in codes
            ]
            continue
        every_code = is_ita_compatible(upstream.spec) and not named and len(codes) == len(ITA_CODES)
        asked.append((position, None if every_code else tuple(codes)))
    order = {code: position for position, code in enumerate(ITA_CODES)}
    skipped.sort(key=lambda skip: order[skip.source])
    return _Plan(tuple(asked), tuple(skipped))
