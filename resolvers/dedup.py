"""Duplicates across sources: the same opportunity or award published by two upstreams, and which one is preferred.

Two records of two upstreams are the same when they share a duplicate key:
- an ITA `CANADA` lead and a Canadian tender notice: the lead's reference or contract number is the tender's reference
  or solicitation number (`ca-notice:`);
- an award notice (an `FBO` lead whose notice type is an award, or a SAM.gov Contract Opportunities award notice as a
  contract, upstream `samopps`) and the SAM Contract Awards record of its base award (modification 0): the notice's
  award number is the record's PIID (`us-award:`);
- a Canadian contract published by two Canadian upstreams (the retired API and the CanadaBuys mirror): the contract
  number (`ca-contract:`).

The preferred record is the primary publisher's (a tender or contract before a lead an aggregator republished; among
upstreams, `PREFERRED_UPSTREAMS` order: SAM's Contract Awards record, richer, before the award notice). Identifiers are
compared upper-cased, without spaces. `contracts` passes over the twins of one page (`contract_twins`); `search`
shows each opportunity once with every origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.models import Contract, ContractSource, Lead, Tender
from gateway.upstreams.spec import RecordKind
from resolvers.merge import SourcePage
from schema.node import to_global_id

Record = Lead | Tender | Contract
# The primary publishers first: the Canadian sources, then SAM's Contract Awards before SAM's award notices, the UK
# sources, then ITA (which republished others' notices).
PREFERRED_UPSTREAMS = ("canadabuys", "canada", "sam", "samopps", "contractsfinder", "findatender", "ita")
KIND_PREFERENCE = {RecordKind.TENDER: 0, RecordKind.CONTRACT: 0, RecordKind.LEAD: 1}
AWARD_NOTICE_WORDS = ("award",)


@dataclass(frozen=True)
class Origin:
    """One upstream that published a record, and the record's global id there."""

    upstream: str
    id: str


def origin_of(upstream: str, record: Record) -> Origin:
    """The upstream and the global id of `record` there (as `Lead`, `Tender`, `Contract` give it)."""
    if isinstance(record, Lead):
        return Origin(upstream, to_global_id("Lead", upstream, record.id))
    if isinstance(record, Tender):
        return Origin(upstream, to_global_id("Tender", upstream, record.reference, next(iter(record.gsins), None)))
    return Origin(upstream, to_global_id("Contract", upstream, record.key, next(iter(record.gsins), None)))


def _normalised(identifier: str | None) -> str | None:
    if identifier is None:
        return None
    text = "".join(identifier.split()).upper()
    return text or None


def _keys(prefix: str, *identifiers: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{prefix}:{value}" for given in identifiers if (value := _normalised(given))))


def duplicate_keys(record: Record) -> tuple[str, ...]:
    """The keys under which another source may publish the same record (empty: none known)."""
    if isinstance(record, Tender):
        return _keys("ca-notice", record.reference, record.solicitation_number)
    if isinstance(record, Lead):
        if record.source == "CANADA":
            return _keys("ca-notice", record.reference_number, record.contract_number)
        notice_type = (record.notice_type or "").casefold()
        if record.source == "FBO" and any(word in notice_type for word in AWARD_NOTICE_WORDS):
            return _keys("us-award", record.contract_number)
        return ()
    if record.source is ContractSource.SAM:
        base = record.modification_number in (None, "", "0")
        return _keys("us-award", record.piid) if base and record.referenced_idv_piid is None else ()
    if record.source is ContractSource.SAMOPPS:
        return _keys("us-award", record.piid)
    if record.source in (ContractSource.CANADA, ContractSource.CANADABUYS):
        return _keys("ca-contract", record.piid)
    return ()


def contract_keys(record: Contract) -> tuple[str, ...]:
    """The keys under which another source may publish the same contract in a `contracts` answer: those of
    `duplicate_keys`, and a SAM.gov award notice's award number against every SAM record of that PIID, modifications
    included (`us-piid:`), so that an award notice is never counted beside SAM's records of its award."""
    if record.source in (ContractSource.SAM, ContractSource.SAMOPPS):
        return duplicate_keys(record) + _keys("us-piid", record.piid)
    return duplicate_keys(record)


def preference(kind: RecordKind, upstream: str) -> tuple[int, int]:
    """The smaller, the more preferred."""
    rank = PREFERRED_UPSTREAMS.index(upstream) if upstream in PREFERRED_UPSTREAMS else len(PREFERRED_UPSTREAMS)
    return KIND_PREFERENCE[kind], rank


def contract_twins(pages: Mapping[str, SourcePage[Contract]]) -> dict[str, frozenset[int]]:
    """Per upstream, the indexes of the contracts of its page that a preferred upstream's page (fetched for the same
    answer) publishes too: a SAM.gov award notice (`samopps`) beside SAM's Contract Awards record of its PIID, a
    contract of the retired Canadian API beside CanadaBuys' record of it. The preferred record stays."""
    if len(pages) < 2:  # a page has no twin of its own upstream
        return dict.fromkeys(pages, frozenset())
    ranks = {upstream: preference(RecordKind.CONTRACT, upstream) for upstream in pages}
    keys = {upstream: [contract_keys(record) for record in page.items] for upstream, page in pages.items()}
    best: dict[str, tuple[int, int]] = {}
    for upstream, keys_of_page in keys.items():
        rank = ranks[upstream]
        for record_keys in keys_of_page:
            for key in record_keys:
                if key not in best or rank < best[key]:
                    best[key] = rank
    return {
        upstream: frozenset(
            index
            for index, record_keys in enumerate(keys_of_page)
            if any(best[key] < ranks[upstream] for key in record_keys)
        )
        for upstream, keys_of_page in keys.items()
    }
