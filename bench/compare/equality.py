"""Before timing: both gateways must answer each scenario's request with the same items, and without errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.compare.scenarios import Item, Scenario, render

REQUEST_TIMEOUT_S = 30.0


class NotEqual(RuntimeError):
    """The gateways answered a scenario differently: timing them would compare different work."""


@dataclass(frozen=True)
class Checked:
    scenario: str
    items: int
    kinds: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "items": self.items, "kinds": self.kinds}


def items_of(answer: object, scenario: Scenario, system: str) -> list[Item]:
    """The items of one answer; NotEqual when it carries errors or no data."""
    if not isinstance(answer, Mapping) or answer.get("errors") or not isinstance(answer.get("data"), Mapping):
        raise NotEqual(f"{scenario.name}: {system} answered {str(answer)[:1500]}")
    return scenario.items(system)(answer["data"])


def compare(scenario: Scenario, answers: Mapping[str, object]) -> Checked:
    """The items of each system's answer, which must be equal (and not empty) when the scenario is compared."""
    found = {system: items_of(answer, scenario, system) for system, answer in answers.items()}
    ours = found["ours"]
    if not ours:
        raise NotEqual(f"{scenario.name}: our gateway answered no items")
    if "hive" in found and found["hive"] != ours:
        only_ours = [item for item in ours if item not in found["hive"]]
        only_hive = [item for item in found["hive"] if item not in ours]
        raise NotEqual(
            f"{scenario.name}: the gateways answered different items ({len(ours)} ours, {len(found['hive'])} Hive's);"
            f" only ours: {only_ours[:3]}; only Hive's: {only_hive[:3]}"
        )
    kinds: dict[str, int] = {}
    for item in ours:
        kinds[item[0]] = kinds.get(item[0], 0) + 1
    return Checked(scenario.name, len(ours), kinds)


async def check(scenario: Scenario, urls: Mapping[str, str], authorization: str, number: int) -> Checked:
    """Sends request `number` of the scenario to each system (`urls`: system -> GraphQL URL) and compares."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": authorization}
    if scenario.accept_encoding:  # aiohttp decodes the answer (gzip; br with the brotli package)
        headers["Accept-Encoding"] = scenario.accept_encoding
    answers: dict[str, object] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as session:
        for system, url in urls.items():
            async with session.post(url, data=render(scenario.template(system), number), headers=headers) as response:
                answers[system] = await response.json(content_type=None)
    return compare(scenario, answers)
