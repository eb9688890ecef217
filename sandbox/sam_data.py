"""The SAM award dataset: a seeded generator of award families, or the recorded doc examples, plus family aggregates.

Generated rows stay compact (one slotted dataclass per transaction, sharing reference-table objects); the nested
JSON sections are rendered per response by `sam_document`. `load_dataset` is memoised on (seed, scale, today, samples).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sandbox import sam_reference as ref
from sandbox.sam_records import Awardee, AwardRecord, GeneratedAward, SampleAward
from sandbox.settings import RECORDS_PER_SCALE, SandboxSettings

FamilyKey = tuple[str, str]
"""(piid, referenced IDV piid or "")."""

SAMPLE_FOLDER = Path("sam-contract-awards") / "examples"
DUMMY_SAMPLE = "sam-getList-Contracts-api.md@3508ebff.sample-response.DUMMY.json"
# Facts the doc examples' requests imply about records whose answer omitted the sections holding them.
LIVE_SAMPLES: Mapping[str, Mapping[str, str]] = {
    "contract-awards.md.example1.search.json": {},
    "contract-awards.md.example2.search.json": {},
    "contract-awards.md.example3.search-includeSections-contractId.json": {
        "awardOrIDV": "IDV",
        "contractingDepartmentCode": "4700",
        "closedDate": "2025-01-01",
    },
    "contract-awards.md.example4.search-includeSections-contractId-awardDetails-awardeeData.json": {
        "coBusSizeDeterminationCode": "S",
        "placeOfPerformStateCode": "VA",
        "fiscalYear": "2025",
        "productOrServiceType": "SERVICE",
    },
    DUMMY_SAMPLE: {},
}
DELETED_SAMPLES: Mapping[str, Mapping[str, str]] = {
    "contract-awards.md.example5.search-deletedStatus.json": {"lastModifiedDate": "2025-10-01"},
}


@dataclass(frozen=True, slots=True)
class FamilyTotals:
    count: int
    base_count: int
    cents: int
    is_idv: bool
    is_fss: bool


@dataclass(frozen=True)
class SamDataset:
    awards: tuple[AwardRecord, ...]
    deleted: tuple[AwardRecord, ...]
    families: Mapping[FamilyKey, FamilyTotals]
    families_by_piid: Mapping[str, tuple[FamilyKey, ...]]
    referencing: Mapping[FamilyKey, tuple[FamilyKey, ...]]
    awards_by_piid: Mapping[str, tuple[int, ...]]
    """Positions in `awards` per upper-cased PIID, for the common piid lookup."""
    recorded_aggregations: Mapping[FamilyKey, Mapping[str, Any]] = field(default_factory=dict)


def family_key(record: AwardRecord) -> FamilyKey:
    return (record.piid, record.referenced_idv_piid)


def index_families(
    awards: tuple[AwardRecord, ...],
) -> tuple[dict[FamilyKey, FamilyTotals], dict[str, tuple[FamilyKey, ...]], dict[FamilyKey, tuple[FamilyKey, ...]]]:
    counts: dict[FamilyKey, list[int]] = {}
    kinds: dict[FamilyKey, tuple[bool, bool]] = {}
    for award in awards:
        key = family_key(award)
        totals = counts.setdefault(key, [0, 0, 0])
        totals[0] += 1
        totals[1] += award.modification_number == "0"
        totals[2] += award.obligation_cents
        if key not in kinds or award.modification_number == "0":
            kinds[key] = (award.is_idv, award.is_fss)
    families = {key: FamilyTotals(c, min(b, 1), cents, *kinds[key]) for key, (c, b, cents) in counts.items()}
    by_piid: defaultdict[str, list[FamilyKey]] = defaultdict(list)
    for key in families:
        by_piid[key[0].upper()].append(key)
    referencing: defaultdict[FamilyKey, list[FamilyKey]] = defaultdict(list)
    for key in families:
        parents = by_piid.get(key[1].upper(), []) if key[1] else []
        if len(parents) == 1:
            referencing[parents[0]].append(key)
    return (
        families,
        {piid: tuple(keys) for piid, keys in by_piid.items()},
        {key: tuple(children) for key, children in referencing.items()},
    )


def _dataset(
    awards: tuple[AwardRecord, ...],
    deleted: tuple[AwardRecord, ...],
    recorded: Mapping[FamilyKey, Mapping[str, Any]] | None = None,
) -> SamDataset:
    families, by_piid, referencing = index_families(awards)
    positions: defaultdict[str, list[int]] = defaultdict(list)
    for position, award in enumerate(awards):
        positions[award.piid.upper()].append(position)
    awards_by_piid = {piid: tuple(found) for piid, found in positions.items()}
    return SamDataset(awards, deleted, families, by_piid, referencing, awards_by_piid, recorded or {})


def dataset_for(settings: SandboxSettings) -> SamDataset:
    """Dates are relative to settings.today or the real UTC date (not the test clock, which only moves quota days)."""
    today = settings.today or datetime.now(UTC).date()
    return load_dataset(settings.seed, settings.scale, today, settings.samples_dir)


@lru_cache(maxsize=8)
def load_dataset(seed: int, scale: int, today: date, samples_dir: Path | None) -> SamDataset:
    if samples_dir is not None:
        return load_samples(samples_dir)
    generator = AwardGenerator(random.Random(f"sam:{seed}"), today)
    count = RECORDS_PER_SCALE * scale
    return _dataset(generator.awards(count), generator.deleted(max(5, count // 100)))


def load_samples(samples_dir: Path) -> SamDataset:
    folder = samples_dir / SAMPLE_FOLDER

    def records(files: Mapping[str, Mapping[str, str]]) -> tuple[AwardRecord, ...]:
        found: list[AwardRecord] = []
        for name, facts in files.items():
            payload = json.loads((folder / name).read_text(encoding="utf-8"))
            found.extend(SampleAward(item, facts) for item in payload["awardSummary"])
        return tuple(found)

    awards = records(LIVE_SAMPLES)
    dummy = json.loads((folder / DUMMY_SAMPLE).read_text(encoding="utf-8"))
    dummy_award = SampleAward(dummy["awardSummary"][0], {})
    return _dataset(awards, records(DELETED_SAMPLES), {family_key(dummy_award): dummy["piidAggregation"]})


_UEI_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # SAM UEIs avoid O and I
_SEQ_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class AwardGenerator:
    """Award families: standalone awards, IDVs with delivery orders, FSS with BPAs and BPA calls, BPAs with calls."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self._sequence = 0
        self.awardees = tuple(self._awardee() for _ in range(300))

    def awards(self, count: int) -> tuple[GeneratedAward, ...]:
        rows: list[GeneratedAward] = []
        while len(rows) < count:
            roll = self.rng.random()
            if roll < 0.35:
                kind = ref.PURCHASE_ORDER if self.rng.random() < 0.5 else ref.DEFINITIVE_CONTRACT
                rows += self._family(kind, self._office(), None, self._start_date())
            elif roll < 0.75:
                rows += self._idv_with_orders(self.rng.choice((ref.IDC, ref.IDC, ref.GWAC, ref.BOA)))
            elif roll < 0.87:
                rows += self._fss_with_bpas()
            else:
                office = self._office()
                bpa = self._family(ref.BPA, office, None, self._start_date())
                rows += bpa + self._orders(bpa[0], ref.BPA_CALL, office)
        return tuple(rows[:count])

    def deleted(self, count: int) -> tuple[GeneratedAward, ...]:
        rows: list[GeneratedAward] = []
        while len(rows) < count:
            kind = ref.PURCHASE_ORDER if self.rng.random() < 0.5 else ref.DEFINITIVE_CONTRACT
            for row in self._family(kind, self._office(), None, self.today - timedelta(self.rng.randint(30, 170))):
                deleted_at = self._moment(self.today - timedelta(self.rng.randint(0, 150)))
                rows.append(_replace_modified(row, max(deleted_at, row.last_modified)))
        return tuple(rows[:count])

    def _idv_with_orders(self, kind: ref.AwardKind) -> list[GeneratedAward]:
        office = self._office()
        idv = self._family(kind, office, None, self._start_date())
        return idv + self._orders(idv[0], ref.DELIVERY_ORDER, office, numbered=kind is ref.BOA)

    def _fss_with_bpas(self) -> list[GeneratedAward]:
        schedule_office = self.rng.choice(ref.OFFICES[6:8])
        fss = self._family(ref.FSS, schedule_office, None, self._start_date(1500, 1825))
        rows = list(fss)
        for _ in range(self.rng.randint(1, 3)):
            office = self._office()
            bpa = self._family(ref.BPA, office, fss[0], self._after(fss[0].date_signed))
            rows += bpa + self._orders(bpa[0], ref.BPA_CALL, office)
        return rows

    def _orders(
        self, idv: GeneratedAward, kind: ref.AwardKind, office: ref.Office, *, numbered: bool = False
    ) -> list[GeneratedAward]:
        rows: list[GeneratedAward] = []
        for number in range(1, self.rng.randint(1, 6) + 1):
            piid = f"{number:04d}" if numbered else None
            rows += self._family(kind, office, idv, self._after(idv.date_signed), piid=piid, awardee=idv.awardee)
        return rows

    def _family(
        self,
        kind: ref.AwardKind,
        office: ref.Office,
        referenced: GeneratedAward | None,
        signed: date,
        *,
        piid: str | None = None,
        awardee: Awardee | None = None,
    ) -> list[GeneratedAward]:
        rng = self.rng
        piid = piid or self._piid(kind, office, signed)
        awardee = awardee or rng.choice(self.awardees)
        industry = referenced.industry if referenced is not None else rng.choice(ref.INDUSTRIES)
        place = awardee.place if rng.random() < 0.6 else rng.choice(ref.PLACES)
        set_aside = rng.choice(ref.SET_ASIDES if awardee.small_business else ref.SET_ASIDES[:3])
        extent, pricing = rng.choice(ref.EXTENT_COMPETED), rng.choice(ref.PRICING)
        created_by = rng.choice(ref.CREATED_BY)
        options = _cents(rng, 3.0, 8.0 if kind.is_idv else 6.5)
        first = 0 if kind.is_idv else min(options, _cents(rng, 2.0, 6.5))
        completion = signed + timedelta(rng.randint(30, 720))
        ultimate = completion + timedelta(rng.choice((0, 0, 365, 730, 1460)))
        rows: list[GeneratedAward] = []
        total = 0
        mod_dates = sorted(self._after(signed) for _ in range(_modification_count(rng, kind)))
        for index, when in enumerate([signed, *mod_dates]):
            obligation = first if index == 0 else (0 if kind.is_idv else _modification_cents(rng, first))
            total += obligation
            created = self._moment(when)
            modified = self._moment(self._after(when, 400))
            closed = None
            if ultimate < self.today and rng.random() < 0.6:
                closed = self._moment(min(self.today, ultimate + timedelta(rng.randint(1, 120))))
                modified = max(modified, closed)
            rows.append(
                GeneratedAward(
                    piid=piid,
                    modification_number="0" if index == 0 else f"P{index:05d}",
                    kind=kind,
                    office=office,
                    referenced_idv=referenced,
                    industry=industry,
                    awardee=awardee,
                    place=place,
                    set_aside=set_aside,
                    extent_competed=extent,
                    pricing=pricing,
                    reason_for_modification=rng.choice(ref.REASONS_FOR_MODIFICATION) if index else None,
                    date_signed=when,
                    solicitation_date=signed - timedelta(rng.randint(10, 90)),
                    created=created,
                    approved=created + timedelta(minutes=rng.randint(5, 600)),
                    last_modified=modified,
                    completion_date=completion,
                    ultimate_completion_date=ultimate,
                    closed=closed,
                    obligation_cents=obligation,
                    total_obligation_cents=total,
                    options_value_cents=options,
                    total_options_value_cents=options,
                    created_by=created_by,
                    offers=rng.randint(1, 9),
                )
            )
        return rows

    def _office(self) -> ref.Office:
        return self.rng.choice(ref.OFFICES)

    def _start_date(self, newest_days: int = 0, oldest_days: int = 1825) -> date:
        return self.today - timedelta(self.rng.randint(newest_days, oldest_days))

    def _after(self, start: date, within_days: int = 900) -> date:
        room = max(0, min(within_days, (self.today - start).days))
        return start + timedelta(self.rng.randint(0, room))

    def _moment(self, day: date) -> datetime:
        return datetime.combine(day, time(), UTC) + timedelta(seconds=self.rng.randint(6 * 3600, 20 * 3600))

    def _piid(self, kind: ref.AwardKind, office: ref.Office, signed: date) -> str:
        self._sequence += 1
        number, tag = divmod(self._sequence, len(_SEQ_ALPHABET))
        serial = f"{number:03d}{_SEQ_ALPHABET[tag]}"
        if kind is ref.FSS:
            return f"GS{self.rng.randint(2, 35):02d}F{serial}"
        return f"{office.piid_prefix}{signed.year % 100:02d}{kind.piid_letter}{serial}"

    def _awardee(self) -> Awardee:
        rng = self.rng
        name = f"{rng.choice(ref.NAME_FIRST)} {rng.choice(ref.NAME_SECOND)} {rng.choice(ref.NAME_SUFFIX)}"
        uei = rng.choice(_UEI_ALPHABET[:24]) + "".join(rng.choices(_UEI_ALPHABET, k=11))
        cage = "".join(rng.choices(_UEI_ALPHABET, k=5))
        subsidiary = rng.random() < 0.2
        return Awardee(
            name=name,
            uei=uei,
            cage=cage,
            street=f"{rng.randint(10, 9999)} {rng.choice(ref.STREETS)}",
            place=rng.choice(ref.PLACES),
            phone=f"{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
            registered=self.today - timedelta(rng.randint(400, 9000)),
            small_business=rng.random() < 0.55,
            parent_uei=("".join(rng.choices(_UEI_ALPHABET[:24], k=12)) if subsidiary else uei),
            parent_name=f"{rng.choice(ref.NAME_FIRST)} HOLDINGS {rng.choice(ref.NAME_SUFFIX)}" if subsidiary else name,
        )


def _cents(rng: random.Random, low_exponent: float, high_exponent: float) -> int:
    return round(10 ** rng.uniform(low_exponent, high_exponent) * 100)


def _modification_count(rng: random.Random, kind: ref.AwardKind) -> int:
    return min(int(rng.expovariate(0.6 if kind.is_idv else 1.0)), 8)


def _modification_cents(rng: random.Random, base_cents: int) -> int:
    roll = rng.random()
    if roll < 0.3:
        return 0
    if roll < 0.45:
        return -round(base_cents * rng.uniform(0.01, 0.3))
    return round(base_cents * rng.uniform(0.05, 0.5))


def _replace_modified(row: GeneratedAward, modified: datetime) -> GeneratedAward:
    return replace(row, last_modified=modified)
