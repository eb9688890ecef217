"""The award records the SAM imitation serves: compact generated transactions and verbatim recorded samples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sandbox import sam_reference as ref


class AwardRecord(Protocol):
    @property
    def piid(self) -> str: ...
    @property
    def referenced_idv_piid(self) -> str: ...
    @property
    def modification_number(self) -> str: ...
    @property
    def is_idv(self) -> bool: ...
    @property
    def is_fss(self) -> bool: ...
    @property
    def obligation_cents(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Awardee:
    name: str
    uei: str
    cage: str
    street: str
    place: ref.Place
    phone: str
    registered: date
    small_business: bool
    parent_uei: str
    parent_name: str


@dataclass(frozen=True, slots=True)
class GeneratedAward:
    piid: str
    modification_number: str
    kind: ref.AwardKind
    office: ref.Office
    referenced_idv: GeneratedAward | None
    industry: ref.Industry
    awardee: Awardee
    place: ref.Place
    set_aside: ref.CodeName
    extent_competed: ref.CodeName
    pricing: ref.CodeName
    reason_for_modification: ref.CodeName | None
    date_signed: date
    solicitation_date: date
    created: datetime
    approved: datetime
    last_modified: datetime
    completion_date: date
    ultimate_completion_date: date
    closed: datetime | None
    obligation_cents: int
    total_obligation_cents: int
    options_value_cents: int
    total_options_value_cents: int
    created_by: str
    offers: int

    @property
    def referenced_idv_piid(self) -> str:
        return self.referenced_idv.piid if self.referenced_idv is not None else ""

    @property
    def is_idv(self) -> bool:
        return self.kind.is_idv

    @property
    def is_fss(self) -> bool:
        return self.kind.is_fss

    @property
    def fiscal_year(self) -> int:
        return self.date_signed.year + (1 if self.date_signed.month >= 10 else 0)


@dataclass(frozen=True)
class SampleAward:
    """One award record of a doc example, served verbatim; `facts` holds what the example's request implies."""

    document: Mapping[str, Any]
    facts: Mapping[str, str]

    def _contract_id(self, name: str) -> str:
        value = self.document.get("contractId", {}).get(name, "")
        return value if isinstance(value, str) else ""

    @property
    def piid(self) -> str:
        return self._contract_id("piid")

    @property
    def referenced_idv_piid(self) -> str:
        return self._contract_id("referencedIDVPiid")

    @property
    def modification_number(self) -> str:
        return self._contract_id("modificationNumber")

    @property
    def is_idv(self) -> bool:
        core = self.document.get("coreData", {})
        return str(core.get("awardOrIDV", self.facts.get("awardOrIDV", ""))).upper() == "IDV"

    @property
    def is_fss(self) -> bool:
        return self.is_idv and self.document.get("coreData", {}).get("awardOrIDVType", {}).get("code") == "C"

    @property
    def obligation_cents(self) -> int:
        amount = self.document.get("awardDetails", {}).get("dollars", {}).get("actionObligation", "0")
        try:
            return round(float(amount) * 100)
        except ValueError:
            return 0
