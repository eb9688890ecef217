"""Objects by global id: the id names the type and the upstream, which is asked for the key through its client."""

from __future__ import annotations

from gateway import formats
from gateway.errors import BadUserInput, NotFound
from gateway.upstreams.spec import RecordKind
from resolvers.context import RequestContext
from schema.contracts import Contract
from schema.leads import Lead
from schema.node import LEGACY_UPSTREAM_OF_TYPE, GlobalId, InvalidGlobalId, from_global_id
from schema.tenders import Tender

KIND_OF_TYPE = {"Lead": RecordKind.LEAD, "Tender": RecordKind.TENDER, "Contract": RecordKind.CONTRACT}


def decode_id(global_id: str, expected_type: str | None = None) -> GlobalId:
    """What a global id names; BAD_USER_INPUT when it is none, or the id of another type than `expected_type`."""
    try:
        decoded = from_global_id(global_id)
    except InvalidGlobalId as exc:
        raise BadUserInput(str(exc), argument="id") from None
    if expected_type is not None and decoded.type_name != expected_type:
        raise BadUserInput(f"`id` is the id of a {decoded.type_name}, not of a {expected_type}", argument="id")
    return decoded


def decode_lead_id(text: str) -> GlobalId:
    """A Lead's global id, or any string that is no global id, taken as ITA's own lead id (as `lead(id:)` always
    has); the global id of another type is BAD_USER_INPUT."""
    try:
        from_global_id(text)
    except InvalidGlobalId:
        return GlobalId("Lead", LEGACY_UPSTREAM_OF_TYPE["Lead"], text)
    return decode_id(text, "Lead")


def source_of(context: RequestContext, decoded: GlobalId) -> str:
    """The configured upstream that `decoded` names and that serves its type; else BAD_USER_INPUT or NOT_FOUND.

    What an id carries to its upstream is checked first (`gateway.formats`): the key must be printable and at most
    512 characters, the hint (a GSIN of the record, which the Canadian API is asked for) a GSIN. A client checks the
    parts of its own keys (a SAM key's PIID) itself.
    """
    formats.RECORD_KEY.check(decoded.key, argument="id")
    formats.GSIN_PREFIX.check(decoded.hint, argument="id")
    kind = KIND_OF_TYPE.get(decoded.type_name)
    if kind is None or decoded.upstream is None:
        raise NotFound(f"no object of type {decoded.type_name!r}")
    name = decoded.upstream
    upstream = context.upstreams.get(name)
    if upstream is None:
        raise BadUserInput(f"`id` names the upstream {name!r}, which this gateway does not know", argument="id")
    if not upstream.spec.serves(kind):
        raise BadUserInput(f"`id` names the upstream {name!r}, which has no {decoded.type_name}", argument="id")
    if not upstream.configured:
        raise NotFound(f"the upstream {name!r} that `id` names is not configured on this gateway", upstream=name)
    return name


async def find_lead(context: RequestContext, decoded: GlobalId) -> Lead | None:
    name = source_of(context, decoded)
    found = await context.upstreams.leads(name).lead(decoded.key, deadline=context.deadline)
    return None if found is None else Lead.from_model(found, upstream=name)


async def find_tender(context: RequestContext, decoded: GlobalId) -> Tender | None:
    name = source_of(context, decoded)
    found = await context.upstreams.tenders(name).tender(decoded.key, hint=decoded.hint, deadline=context.deadline)
    return None if found is None else Tender.from_model(found, upstream=name)


async def find_contract(context: RequestContext, decoded: GlobalId, selection: frozenset[str]) -> Contract | None:
    """`selection`: the domain field names selected on the contract (the client fetches only what they need)."""
    name = source_of(context, decoded)
    client = context.upstreams.contracts(name)
    found = await client.contract(decoded.key, hint=decoded.hint, selection=selection, deadline=context.deadline)
    return None if found is None else Contract.from_model(found, upstream=name)


async def find_node(
    context: RequestContext, decoded: GlobalId, selection: frozenset[str]
) -> Lead | Tender | Contract | None:
    if decoded.type_name == "Lead":
        return await find_lead(context, decoded)
    if decoded.type_name == "Tender":
        return await find_tender(context, decoded)
    if decoded.type_name == "Contract":
        return await find_contract(context, decoded, selection)
    raise NotFound(f"no object of type {decoded.type_name!r}")
