"""What differs between OCDS publishers: where their search is, how its update window is named and written, which
answers mean "too many requests", which quirks their bodies have, and where a notice is read by people."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.models import ContractSource


@dataclass(frozen=True)
class Publisher:
    """One OCDS publisher's API.

    `search_path` (relative to the upstream's base URL) answers release packages updated or published within
    [`from_parameter`, `to_parameter`] (UTC moments written with `time_format`), `stages` (empty: not sent) and `limit`
    (`page_size`); the next page is the full URL in `links.next`. `throttled_statuses` mean "too many requests".
    A release id matching `notice_id` (its `notice` group) names the notice published at `notice_url`.
    """

    name: str
    search_path: str
    from_parameter: str
    to_parameter: str
    time_format: str
    stages: str
    throttled_statuses: frozenset[int]
    mojibake: bool
    contract_source: ContractSource
    notice_id: re.Pattern[str]
    notice_url: str
    page_size: int = 100

    def window_parameters(self, start: datetime, end: datetime) -> dict[str, str]:
        parameters = {
            self.from_parameter: start.astimezone(UTC).strftime(self.time_format),
            self.to_parameter: end.astimezone(UTC).strftime(self.time_format),
        }
        if self.stages:
            parameters["stages"] = self.stages
        parameters["limit"] = str(self.page_size)
        return parameters

    def notice_page(self, release_id: str | None) -> str | None:
        """The notice page of the release, when its id names one."""
        found = self.notice_id.fullmatch(release_id.strip()) if release_id else None
        return self.notice_url.format(notice=found.group("notice")) if found else None
